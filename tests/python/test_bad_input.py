"""Bad input raises selinexor_pkpd.ModelError (a ValueError) naming the field and the bad value;
nothing else escapes (no pyo3 PanicException, no abort), and no NaN is returned silently."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import selinexor_pkpd as sp
from conftest import expect_model_error

NAN, INF = float("nan"), float("inf")


def one(drug="selinexor", amount=80.0, cycle_days=28, **kw):
    """A one-line, one-cycle regimen."""
    if "days" not in kw and "weekdays" not in kw:
        kw["days"] = [1]
    return sp.Regimen.cycle(cycle_days, [sp.dose(drug, amount, **kw)], cycles=1)


def events(reg, patient=None, days=28.0):
    return lambda: reg.events(patient, days=days)


def sim(reg="xd_80_qw", **kw):
    kw.setdefault("platelet_model", "none")
    kw.setdefault("days", 14)
    return lambda: sp.simulate(reg, **kw)


def cf(reg="xd_80_qw", **kw):
    kw.setdefault("days", 14)
    return lambda: sp.closed_form(reg, **kw)


def expo(reg="xd_80_qw", **kw):
    kw.setdefault("days", 14)
    return lambda: sp.exposure(reg, **kw)


DOSE = "regimen.blocks[0].doses[0]"

# id -> (callable, field (exact) or None, field suffix or None, substrings of the message)
CASES = {
    # --- doses: negative, zero, zero-length --------------------------------------------------------
    "negative dose": (events(one(amount=-80.0)), f"{DOSE}.amount", None, ["amount", "-80"]),
    "zero dose": (events(one(amount=0.0)), f"{DOSE}.amount", None, ["amount", "0"]),
    "negative dose in simulate": (sim(one(amount=-5.0)), f"{DOSE}.amount", None, ["amount", "-5"]),
    "negative dose in closed_form": (cf(one(amount=-5.0)), f"{DOSE}.amount", None, ["amount", "-5"]),
    "negative dose in exposure": (expo(one(amount=-5.0)), f"{DOSE}.amount", None, ["amount", "-5"]),
    "negative age-rule amount": (events(one(adjust=[{"min_age": 75, "amount": -20}])),
                                 f"{DOSE}.adjust[0].amount", None, ["amount", "-20"]),
    "zero-length infusion": (events(one("carfilzomib", 56, route="iv", duration_h=0.0)),
                             f"{DOSE}.duration_h", None, ["duration_h", "0"]),
    "negative infusion duration": (events(one("carfilzomib", 56, route="iv", duration_h=-0.5)),
                                   f"{DOSE}.duration_h", None, ["duration_h", "-0.5"]),
    "zero infusion rate": (events(one("carfilzomib", 56, route="iv", rate_mg_h=0.0)),
                           f"{DOSE}.rate_mg_h", None, ["rate_mg_h", "0"]),
    "negative dose hour": (events(one(hour=-1.0)), f"{DOSE}.hour", None, ["hour", "-1"]),
    "dose hour 24": (events(one(hour=24.0)), f"{DOSE}.hour", None, ["hour", "24"]),
    "infusion for an oral dose": (events(one(duration_h=1.0)), DOSE, None, ["infusion"]),
    # --- dose days -----------------------------------------------------------------------------
    "dose day outside its cycle": (events(one(days=[1, 29])), f"{DOSE}.days[1]", None, ["29", "28-day cycle"]),
    "dose range outside its cycle": (events(one(days=["15-30"], cycle_days=21)), f"{DOSE}.days[0]", None, ["30", "21"]),
    "dose day outside a 35-day cycle in a preset-like regimen": (
        events(sp.Regimen.cycle(35, [sp.dose("bortezomib", 1.3, unit="mg/m2", days=[1, 8, 15, 36])])),
        f"{DOSE}.days[3]", None, ["36", "35"]),
    "dose day 0": (events(one(days=[0])), f"{DOSE}.days[0]", None, ["0"]),
    "descending range": (events(one(days=["21-1"])), f"{DOSE}.days[0]", None, ["21-1"]),
    "garbage range": (events(one(days=["1..21"])), f"{DOSE}.days[0]", None, ["1..21"]),
    "weekday 8": (events(one(weekdays=[8])), f"{DOSE}.weekdays[0]", None, ["weekdays", "8"]),
    "weekday 0": (events(one(weekdays=[0])), f"{DOSE}.weekdays[0]", None, ["weekdays", "0"]),
    "no dose day": (events(sp.Regimen.cycle(28, [{"drug": "selinexor", "amount": 80}])), f"{DOSE}.days", None,
                    ["days"]),
    "bad cycles selector": (events(one(cycles="x")), f"{DOSE}.cycles", None, ["cycles", "x"]),
    "cycles from 0": (events(one(cycles="0-2")), f"{DOSE}.cycles", None, ["0-2"]),
    "cycle of zero days": (events(sp.Regimen.cycle(0, [sp.dose("selinexor", 80, days=[1])])),
                           "regimen.blocks[0].cycle_days", None, ["cycle_days"]),
    "no blocks": (events(sp.Regimen({"blocks": []})), "regimen.blocks", None, ["blocks"]),
    "open-ended block before another": (
        events(sp.regimen("xd_80_qw").then(sp.regimen("xd_60_qw"))), "regimen.blocks[0].cycles", None, ["cycles"]),
    # --- names --------------------------------------------------------------------------------
    "unknown drug in events": (events(one("selinexorr")), None, ".drug", ["selinexorr"]),
    "unknown drug in simulate": (sim(one("foo", route="oral")), None, "drug", ["foo"]),
    "unknown drug in closed_form": (cf(one("foo", route="oral")), None, "drug", ["foo"]),
    "unknown drug in drug()": (lambda: sp.drug("foo"), "drug", None, ["foo"]),
    "exposure of a drug not in the regimen": (expo(drug="bortezomib"), "drug", None, ["bortezomib"]),
    "exposure of an unknown drug": (expo(drug="foo", interval="week"), "drug", None, ["foo"]),
    "unknown preset": (lambda: sp.regimen("xd_90_qw"), "regimen", None, ["xd_90_qw"]),
    "unknown preset in Regimen.preset": (lambda: sp.Regimen.preset("trial003"), "regimen", None, ["trial003"]),
    "unknown preset in simulate": (sim("xd_90_qw"), "regimen", None, ["xd_90_qw"]),
    "unknown preset in closed_form": (cf("svd_200_qw"), "regimen", None, ["svd_200_qw"]),
    "unknown preset in exposure": (expo("vd_bostonn"), "regimen", None, ["vd_bostonn"]),
    "unknown route": (events(one(route="im")), "regimen.blocks[0].doses[0].route", None, ["im", "oral"]),
    "unknown unit": (events(one(unit="mg/lb")), "regimen.blocks[0].doses[0].unit", None, ["mg/lb", "mg/m2"]),
    "unknown dose key": (events(sp.Regimen({"blocks": [{"cycle_days": 7, "doses": [
        {"drug": "selinexor", "amout": 80, "days": [1]}]}]})), "regimen.blocks[0].doses[0].amout", None, ["amout"]),
    "unknown age-rule key": (events(one(adjust=[{"min_agee": 75, "amount": 20}])), "regimen.blocks[0].doses[0].adjust[0].min_agee", None, ["min_age"]),
    "unknown parameter": (sim(params={"selinexor": {"CLX": 1.0}}), "params.selinexor.CLX", None, ["CLX"]),
    "parameter of another structure": (sim(params={"selinexor": {"Q2": 1.0}}), "params.selinexor.Q2", None, ["Q2"]),
    "unknown parameter in closed_form": (cf(params={"selinexor": {"cl": 1.0}}), "params.selinexor.cl", None, ["cl"]),
    "unknown parameter in exposure": (expo(params={"selinexor": {"Vd": 1.0}}), "params.selinexor.Vd", None, ["Vd"]),
    "unknown parameter namespace": (sim(params={"selinexorr": {"CL": 1.0}}), None, None, ["selinexorr"]),
    "unknown platelet parameter": (sim(params={"platelets": {"MMT": 1.0}}, platelet_model="tpo"),
                                   "params.platelets.MMT", None, ["MMT"]),
    "unknown friberg parameter": (sim(params={"friberg": {"slop": 1.0}}, platelet_model="friberg_linear"),
                                  "params.friberg.slop", None, ["slop"]),
    "unknown patient field": (sim(patient={"wieght": 70}), "patient.wieght", None, ["wieght"]),
    "unknown sex": (sim(patient={"sex": "x"}), "patient.sex", None, ["x", "female"]),
    "unknown platelet model": (sim(platelet_model="fribergg"), "platelet_model", None, ["fribergg"]),
    "unknown exposure interval": (expo(interval="month"), "interval", None, ["month"]),
    # --- parameter values --------------------------------------------------------------------
    "negative clearance": (sim(params={"selinexor": {"CL": -17.9}}), "params.selinexor.CL", None, ["CL", "-17.9"]),
    "zero clearance": (sim(params={"selinexor": {"CL": 0.0}}), None, "CL", ["CL", "0"]),
    "negative central volume": (sim(params={"selinexor": {"Vc": -85.0}}), "params.selinexor.Vc", None, ["Vc", "-85"]),
    "zero central volume": (sim(params={"selinexor": {"Vc": 0.0}}), None, "Vc", ["Vc", "0"]),
    "zero central volume in closed_form": (cf(params={"selinexor": {"Vc": 0.0}}), None, "Vc", ["Vc", "0"]),
    "negative peripheral volume": (sim(params={"selinexor": {"Vp": -40.0}}), "params.selinexor.Vp", None,
                                   ["Vp", "-40"]),
    "zero peripheral volume": (sim(params={"dexamethasone": {"Vp": 0.0}}), None, "Vp", ["Vp", "0"]),
    "negative 3rd-cmt volume": (sim("svd_100_qw", params={"bortezomib": {"Vp2": -975.0}}), "params.bortezomib.Vp2",
                                None, ["Vp2", "-975"]),
    "negative intercompartmental clearance": (sim(params={"selinexor": {"Q": -6.0}}), "params.selinexor.Q", None,
                                              ["Q", "-6"]),
    "negative clearance in closed_form": (cf(params={"selinexor": {"CL": -1.0}}), "params.selinexor.CL", None,
                                          ["CL", "-1"]),
    "negative clearance in exposure": (expo(params={"selinexor": {"CL": -1.0}}), "params.selinexor.CL", None,
                                       ["CL", "-1"]),
    "negative ka": (sim(params={"selinexor": {"ka": -1.2}}), "params.selinexor.ka", None, ["ka", "-1.2"]),
    "negative lag": (sim("trial000_arm2", params={"pomalidomide": {"tlag": -0.2}}),
                     "params.pomalidomide.tlag", None, ["tlag", "-0.2"]),
    "oral dose without absorption": (sim(params={"selinexor": {"ka": 0.0}}), None, "route", ["ka"]),
    "NaN parameter": (sim(params={"selinexor": {"CL": NAN}}), "params.selinexor.CL", None, ["CL", "nan"]),
    "infinite parameter": (sim(params={"selinexor": {"CL": INF}}), "params.selinexor.CL", None, ["CL", "inf"]),
    "text parameter": (sim(params={"selinexor": {"CL": "fast"}}), "params.selinexor.CL", None, ["CL", "fast"]),
    "params not a dict": (sim(params=[("selinexor", 1)]), "params", None, ["params"]),
    "negative platelet parameter": (sim(params={"platelets": {"MTT": -130.0}}, platelet_model="tpo"),
                                    "params.platelets.MTT", None, ["MTT", "-130"]),
    "Imax above 1": (sim(params={"platelets": {"Imax": 2.0}}, platelet_model="tpo"), None, "Imax", ["Imax", "2"]),
    "NaN tolerance": (sim(rtol=NAN), "rtol", None, ["rtol", "nan"]),
    "zero tolerance": (sim(atol=0.0), "atol", None, ["atol", "0"]),
    # --- times ---------------------------------------------------------------------------------
    "negative time": (sim(times=[-1.0, 0.0, 1.0]), "times[0]", None, ["times", "-1"]),
    "NaN time": (sim(times=[0.0, NAN, 2.0]), "times[1]", None, ["times", "nan"]),
    "infinite time": (sim(times=[0.0, INF]), "times[1]", None, ["times", "inf"]),
    "unsorted times": (sim(times=[0.0, 5.0, 2.0]), "times[2]", None, ["times", "sorted", "2", "5"]),
    "empty times": (sim(times=[]), "times", None, ["times", "empty"]),
    "unsorted times in closed_form": (cf(times=[0.0, 5.0, 2.0]), "times[2]", None, ["times", "2", "5"]),
    "NaN time in closed_form": (cf(times=[NAN]), "times[0]", None, ["times", "nan"]),
    "negative time in closed_form": (cf(times=[-0.5]), "times[0]", None, ["times", "-0.5"]),
    "zero output step": (sim(dt_h=0.0), "dt_h", None, ["dt_h", "0"]),
    "negative output step": (sim(dt_h=-1.0), "dt_h", None, ["dt_h", "-1"]),
    "NaN output step": (sim(dt_h=NAN), "dt_h", None, ["dt_h", "nan"]),
    "zero exposure step": (expo(dt_h=0.0), "dt_h", None, ["dt_h", "0"]),
    "negative exposure window": (expo(interval=[(-1, 2)]), "interval[0]", None, ["window", "-1"]),
    # --- days ----------------------------------------------------------------------------------
    "zero days in simulate": (sim(days=0), "days", None, ["days", "0"]),
    "negative days in simulate": (sim(days=-7), "days", None, ["days", "-7"]),
    "NaN days in simulate": (sim(days=NAN), "days", None, ["days", "nan"]),
    "infinite days in simulate": (sim(days=INF), "days", None, ["days", "inf"]),
    "text days in simulate": (sim(days="four"), "days", None, ["days", "four"]),
    "zero days in closed_form": (cf(days=0), "days", None, ["days", "0"]),
    "negative days in closed_form": (cf(days=-1.5), "days", None, ["days", "-1.5"]),
    "zero days in exposure": (expo(days=0), "days", None, ["days", "0"]),
    "negative days in exposure": (expo(days=-28), "days", None, ["days", "-28"]),
    "negative days in events": (events(sp.regimen("xd_80_qw"), days=-1), "days", None, ["days"]),
    "NaN days in events": (events(sp.regimen("xd_80_qw"), days=NAN), "days", None, ["days", "nan"]),
    "infinite days in events": (events(sp.regimen("xd_80_qw"), days=INF), "days", None, ["days", "inf"]),
    # --- patients and per-size doses ---------------------------------------------------------------
    "mg/m2 with zero height": (events(sp.regimen("trial000_arm1"), {"height": 0.0}), None, None, ["height", "0"]),
    "mg/m2 with negative weight": (events(sp.regimen("trial000_arm1"), {"weight": -70.0}), None, None,
                                   ["weight", "-70"]),
    "mg/m2 with impossible height": (events(sp.regimen("svd_100_qw"), sp.Patient(height=1700.0)), None, None,
                                     ["height", "1700"]),
    "mg/m2 with impossible weight": (events(sp.regimen("vd_boston"), sp.Patient(weight=0.5)), None, None,
                                     ["weight", "0.5"]),
    "mg/m2 with NaN height": (events(sp.regimen("trial000_arm1"), {"height": NAN}), "patient.height", None,
                              ["height", "nan"]),
    "mg/m2 with text weight": (events(sp.regimen("trial000_arm1"), {"weight": "heavy"}), "patient.weight", None,
                               ["weight", "heavy"]),
    "mg/m2 in simulate with zero height": (sim("svd_100_qw", patient={"height": 0.0}), "patient.height", None,
                                           ["height", "0"]),
    "mg/m2 in closed_form with negative weight": (cf("svd_100_qw", patient={"weight": -1.0}), None, None,
                                                  ["weight", "-1"]),
    "mg/kg with zero weight": (events(sp.regimen("trial000_exploratory"), {"weight": 0.0}), None, None,
                               ["weight", "0"]),
    "negative weight in simulate": (sim(patient={"weight": -70.0}), "patient.weight", None, ["weight", "-70"]),
    "negative age in simulate": (sim(patient={"age": -5.0}), "patient.age", None, ["age", "-5"]),
    "zero baseline platelets": (sim(patient={"platelets": 0.0}, platelet_model="tpo"), "patient.platelets", None,
                                ["platelets", "0"]),
    # --- Michaelis-Menten has no closed form ----------------------------------------------------
    "closed form of daratumumab": (cf("trial000_exploratory"), None, "method", ["daratumumab"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_raises_model_error(case):
    fn, field, suffix, contains = CASES[case]
    expect_model_error(fn, field=field, field_endswith=suffix, contains=contains)


def test_model_error_is_a_value_error():
    assert issubclass(sp.ModelError, ValueError)
    assert sp.ModelError.__module__ == "selinexor_pkpd"
    with pytest.raises(ValueError):
        sp.regimen("nope")


def test_model_error_can_be_caught_by_field():
    exc = expect_model_error(sp.simulate, "xd_80_qw", params={"selinexor": {"CL": -1.0}})
    assert exc.field == "params.selinexor.CL"
    assert str(exc).startswith("params.selinexor.CL")


def test_mg_m2_error_names_the_dose_and_the_patient_field():
    exc = expect_model_error(sp.regimen("trial000_arm1").events, {"height": 12.0})
    assert exc.field.startswith("regimen.blocks[0].doses[0]")
    assert "mg/m2" in str(exc) and "patient.height" in str(exc) and "12" in str(exc)


# --- no NaN returned silently -------------------------------------------------------------------

@pytest.mark.parametrize("fn", ["simulate", "closed_form", "exposure"])
@pytest.mark.parametrize("params", [
    {"selinexor": {"Q": 0.0}},                   # decoupled peripheral compartment
    {"selinexor": {"ka": 17.9 / 85.0}},           # ka equal to k10
    {"selinexor": {"F": 0.0}},                    # nothing absorbed
    {"selinexor": {"tlag": 30.0}},                # lag longer than a day
    {"bortezomib": {"Q": 0.0}},                   # 3-cmt with one peripheral decoupled
    {"bortezomib": {"Q2": 0.0}},
])
def test_edge_parameters_give_finite_values(fn, params):
    reg = "svd_100_qw" if "bortezomib" in params else "xd_80_biw"
    drug = "bortezomib" if "bortezomib" in params else "selinexor"
    if fn == "simulate":
        df = sp.simulate(reg, days=14, dt_h=1.0, params=params, platelet_model="none")
    elif fn == "closed_form":
        df = sp.closed_form(reg, days=14, dt_h=1.0, params=params)
    else:
        df = sp.exposure(reg, drug=drug, days=14, interval="week", params=params)
    assert not df.isna().any().any(), df.columns[df.isna().any()].tolist()


def test_degenerate_three_compartment_closed_form_is_finite_and_correct():
    """Bortezomib with both peripherals decoupled is a 1-cmt model: C = dose/Vc exp(-CL/Vc t)."""
    t = np.array([0.5, 1.0, 2.0, 4.0])
    df = sp.closed_form(sp.Regimen.single_dose("bortezomib", 2.0, route="iv"), days=1, times=t,
                        params={"bortezomib": {"Q": 0.0, "Q2": 0.0}})
    cl = 9.59 * (sp.Patient().bsa / 1.30) ** 0.97
    np.testing.assert_allclose(df["C_bortezomib"], 2.0 / 10.0 * np.exp(-cl / 10.0 * t), rtol=1e-9)


# --- known bugs --------------------------------------------------------------------------------



@pytest.mark.parametrize("kw, name", [
    ({"amount": NAN}, "amount"), ({"amount": INF}, "amount"), ({"amount": -INF}, "amount"),
    ({"hour": NAN}, "hour"),
    ({"adjust": [{"min_age": NAN, "amount": 20}]}, "min_age"),
])
def test_nan_in_regimen_names_field_and_value(kw, name):
    reg = one(**kw)
    bad = [v for v in kw.values()][0]
    bad = bad[0]["min_age"] if isinstance(bad, list) else bad
    expect_model_error(reg.events, field_endswith=name, contains=[name, str(bad)])


def test_nan_deep_in_regimen_gets_its_full_path():
    # numpy floats too; the path is built only on failure (the check runs at every call)
    reg = sp.Regimen.cycle(28, [sp.dose("selinexor", 80, days=[1], adjust=[{"min_age": np.float64("nan"), "amount": 20}])])
    exc = expect_model_error(reg.events, contains=["nan"])
    assert exc.field == "regimen.blocks[0].doses[0].adjust[0].min_age"


def test_nan_infusion_duration_names_field_and_value():
    reg = one("carfilzomib", 56, route="iv", duration_h=NAN)
    expect_model_error(reg.events, field_endswith="duration_h", contains=["duration_h", "nan"])


@pytest.mark.parametrize("reg, name, value", [
    (lambda: one(days=[-1]), "days", "-1"),
    (lambda: one(days=[1.5]), "days", "1.5"),
    (lambda: one(weekdays=[-3]), "weekdays", "-3"),
    (lambda: sp.Regimen.cycle(-28, [sp.dose("selinexor", 80, days=[1])]), "cycle_days", "-28"),
])
def test_negative_dose_day_names_field_and_value(reg, name, value):
    exc = expect_model_error(reg().events, contains=[name, value])
    assert name in (exc.field or ""), exc.field


def test_unknown_drug_with_explicit_route_in_events():
    expect_model_error(one("selinexorr", route="oral").events, field_endswith="drug", contains=["selinexorr"])


def test_zero_days_in_events():
    expect_model_error(sp.regimen("xd_80_qw").events, days=0, field="days", contains=["days", "0"])


def test_mg_m2_without_height_and_weight():
    expect_model_error(sp.regimen("svd_100_qw").events, {"height": None, "weight": None}, contains=["height"])


@pytest.mark.parametrize("window", [(5.0, 2.0), (3.0, 3.0), (NAN, 7.0), (0.0, NAN)])
def test_bad_exposure_window(window):
    expect_model_error(sp.exposure, "xd_80_qw", days=14, interval=[window], contains=["window"])


@pytest.mark.parametrize("kw", [{"dt_h": 1e-300}, {"interval": [(0.0, 1e300)]}])
def test_exposure_grid_too_large(kw):
    expect_model_error(sp.exposure, "xd_80_qw", days=7, **kw)


def test_simulate_grid_too_large():
    expect_model_error(sp.simulate, "xd_80_qw", days=7, dt_h=1e-300, field="dt_h")


def test_closed_form_no_silent_nan_tiny_volume():
    try:
        df = sp.closed_form("xd_80_qw", days=2, times=[0.0, 1.0, 2.0], params={"selinexor": {"Vc": 1e-300}})
    except sp.ModelError:
        return
    assert not df["C_selinexor"].isna().any()


# --- crashes: run in a child process with a memory cap ----------------------------------------

def run_capped(code: str, mem_mb: int = 700) -> subprocess.CompletedProcess:
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (mem_mb * 2**20, mem_mb * 2**20))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          preexec_fn=cap, timeout=60)


CHILD = """
import selinexor_pkpd as sp
try:
    {call}
except sp.ModelError as e:
    print("MODELERROR", e.field)
else:
    print("NO ERROR")
"""


def test_child_process_harness_works():
    p = run_capped(CHILD.format(call="sp.regimen('xd_80_qw').events(days=-1)"))
    assert p.returncode == 0, p.stderr[-500:]
    assert "MODELERROR days" in p.stdout


@pytest.mark.parametrize("call", [
    "sp.regimen('xd_80_qw').events(days=1e300)",
    "sp.Regimen.cycle(4294967295, [sp.dose('selinexor', 80, weekdays=[1])]).events(days=7)",
])
def test_absurd_sizes_raise_instead_of_aborting(call):
    p = run_capped(CHILD.format(call=call))
    assert p.returncode == 0, f"child died with {p.returncode}: {p.stderr.strip().splitlines()[:1]}"
    assert "MODELERROR" in p.stdout
