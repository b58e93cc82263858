"""Steady-state doses (``dose(..., ss=1|2, ii=...)``) against the limit of repeated dosing: the
closed form's superposition of 60 single doses (an independent code path: sums of exponentials
per dose, where the engine's steady state is a geometric series of the modes)."""

from __future__ import annotations

import numpy as np
import pytest

import selinexor_pkpd as sp
from conftest import capture

REPEATS = 60
REL = 1e-9


def ss_regimen(drug: str, amount: float, ii: float, ss: int = 1, **kw) -> sp.Regimen:
    return sp.Regimen({"blocks": [{"cycle_days": 1, "cycles": 1,
                                   "doses": [sp.dose(drug, amount, days=[1], ss=ss, ii=ii, **kw)]}]})


def repeated(drug: str, amount: float, ii: float, params=None, tau=None, **kw) -> np.ndarray:
    """Closed-form concentrations `tau` h (97 points over the interval by default) after the last
    of REPEATS doses every `ii` h (multiples of 24 h)."""
    assert ii % 24 == 0
    r = sp.Regimen.cycle(int(ii // 24), [sp.dose(drug, amount, days=[1], **kw)], cycles=REPEATS)
    tau = np.linspace(0.0, ii, 97) if tau is None else tau
    cf = sp.closed_form(r, days=REPEATS * ii / 24, times=(REPEATS - 1) * ii + tau, params=params)
    return cf[f"C_{drug}"].to_numpy()


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


CASES = {
    "selinexor oral (2-cmt)": ("selinexor", 80.0, 48.0, {}, None),
    "pomalidomide oral with lag": ("pomalidomide", 4.0, 24.0, {}, None),
    "pomalidomide, F 0.6 and lag 30 h > II": ("pomalidomide", 4.0, 24.0, {}, {"pomalidomide": {"F": 0.6, "tlag": 30.0}}),
    "lenalidomide oral (1-cmt), lag 2 h": ("lenalidomide", 10.0, 24.0, {}, {"lenalidomide": {"tlag": 2.0}}),
    "carfilzomib IV bolus": ("carfilzomib", 50.0, 24.0, {"route": "iv"}, None),
    "carfilzomib 0.5 h infusion": ("carfilzomib", 50.0, 24.0, {"route": "iv", "duration_h": 0.5}, None),
    "carfilzomib 30 h infusion > II": ("carfilzomib", 50.0, 24.0, {"route": "iv", "duration_h": 30.0}, None),
    "bortezomib IV bolus (3-cmt)": ("bortezomib", 2.0, 48.0, {"route": "iv"}, {"bortezomib": {"Q2": 20.0}}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_ss1_is_the_limit_of_repeated_dosing(name):
    drug, amount, ii, kw, params = CASES[name]
    tau = np.linspace(0.0, ii, 97)
    sim = sp.simulate(ss_regimen(drug, amount, ii, **kw), days=ii / 24, times=tau,
                      platelet_model="none", params=params)
    ref = repeated(drug, amount, ii, params=params, **kw)
    assert rel_err(sim[f"C_{drug}"].to_numpy(), ref) < REL, name


def test_ss1_resets_and_ss2_superposes():
    """A 200 mg dose at 0, then 80 mg at steady state every 48 h from 48 h on: SS=1 forgets the
    first dose, SS=2 adds the steady state on top of it."""
    drug, ii = "selinexor", 48.0
    first = sp.dose(drug, 200.0, days=[1])
    tau = np.linspace(0.0, ii, 49)
    single = sp.closed_form(sp.Regimen.single_dose(drug, 200.0), days=4, times=ii + tau)[f"C_{drug}"].to_numpy()
    limit = repeated(drug, 80.0, ii, tau=tau)
    for ss, want in [(1, limit), (2, single + limit)]:
        r = sp.Regimen({"blocks": [{"cycle_days": 2, "cycles": 1, "doses": [first]},
                                   {"cycle_days": 2, "cycles": 1,
                                    "doses": [sp.dose(drug, 80.0, days=[1], ss=ss, ii=ii)]}]})
        got = sp.simulate(r, days=4, times=ii + tau, platelet_model="none")[f"C_{drug}"].to_numpy()
        assert rel_err(got, want) < REL, ss


def test_only_the_first_administration_of_a_line_is_at_steady_state():
    """ss on a line of daily doses: the first is at steady state, the later ones are plain doses,
    so the profile from then on is the limit of repeated dosing (60 + k doses)."""
    drug = "lenalidomide"
    r = sp.Regimen.cycle(7, [sp.dose(drug, 10.0, days=["1-7"], ss=1, ii=24.0)], cycles=1)
    t = 72.0 + np.linspace(0.0, 24.0, 25)
    got = sp.simulate(r, days=7, times=t, platelet_model="none")[f"C_{drug}"].to_numpy()
    assert rel_err(got, repeated(drug, 10.0, 24.0, tau=t - 72.0)) < REL


def test_steady_state_with_the_platelet_model_keeps_pd_from_baseline():
    """PK at steady state, platelets from baseline: at the dose time the concentration is the
    trough of repeated dosing while the platelet count is still its baseline."""
    r = ss_regimen("selinexor", 80.0, 48.0)
    sim = sp.simulate(r, days=2, times=[0.0, 24.0])
    base = sp.simulate(sp.Regimen.single_dose("selinexor", 80.0), days=2, times=[0.0])
    assert sim["PLT"].iloc[0] == base["PLT"].iloc[0]
    assert sim["C_selinexor"].iloc[0] > 0
    assert sim["X"].iloc[0] == base["X"].iloc[0]


@pytest.mark.parametrize("kw, field", [
    ({"ss": 1}, "ii"),
    ({"ii": 24.0}, "ii"),
    ({"ss": 3, "ii": 24.0}, "ss"),
    ({"ss": 1, "ii": -1.0}, "ii"),
    ({"ss": 1, "ii": 1e-6}, "ii"),
])
def test_bad_steady_state_input_names_the_field(kw, field):
    r = sp.Regimen({"blocks": [{"cycle_days": 1, "cycles": 1,
                                "doses": [sp.dose("pomalidomide", 4.0, days=[1], **kw)]}]})
    exc = capture(sp.simulate, r, days=1, params={"pomalidomide": {"tlag": 30.0}})
    assert isinstance(exc, sp.ModelError), exc
    assert field in str(exc), str(exc)


def test_closed_form_refuses_a_steady_state_dose_rather_than_summing_it_once():
    exc = capture(sp.closed_form, ss_regimen("selinexor", 80.0, 48.0), days=2)
    assert isinstance(exc, sp.ModelError) and "ss" in str(exc), exc


def test_exposure_of_a_steady_state_regimen_has_no_closed_form_auc():
    """The ODE AUC over one interval at steady state is the dose over CL (F = 1 for selinexor),
    and the closed-form column, which superposes single doses, is NaN rather than wrong."""
    r = ss_regimen("selinexor", 80.0, 48.0)
    ex = sp.exposure(r, days=2, interval=[(0.0, 2.0)])
    assert np.isnan(ex["AUC_exact"]).all()
    assert ex["AUC_ode"].iloc[0] == pytest.approx(80.0 / 17.9, rel=1e-6)
