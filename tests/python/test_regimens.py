"""Regimens: every REGIMENS.md arm expands to the dose events its protocol text states; the
regimen building blocks (ranges, weekly patterns, per-size doses, patient rules, schedules that
change by cycle, infusions); round trips through JSON and TOML files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import selinexor_pkpd as sp
from conftest import capture, mosteller

COLUMNS = ["ID", "TIME", "DAY", "CYCLE", "CYCLE_DAY", "DRUG", "AMT", "ROUTE", "CMT", "RATE", "DUR", "EVID"]

PRESETS_IN_SPEC = [
    "xd_100_qw", "xd_80_qw", "xd_60_qw", "xd_80_biw", "xd_60_biw", "xd_40_biw",
    "svd_100_qw", "vd_boston", "trial000_arm1", "trial000_arm2", "trial000_exploratory", "trial001",
]


# --- helpers --------------------------------------------------------------------------------------

def study_days(cycle_days: int, days_in_cycle, n_cycles: int, first_day: int = 1) -> list[int]:
    """Study days (1-based) of `days_in_cycle` repeated over `n_cycles` cycles of `cycle_days`."""
    return [first_day + c * cycle_days + d - 1 for c in range(n_cycles) for d in days_in_cycle]


def drug_rows(ev: pd.DataFrame, drug: str) -> pd.DataFrame:
    return ev[ev["DRUG"] == drug].reset_index(drop=True)


def check_common(ev: pd.DataFrame, days: float) -> None:
    """Invariants of every event table."""
    assert list(ev.columns) == COLUMNS
    assert (ev["ID"] == 1).all()
    assert (ev["EVID"] == 1).all()
    t = ev["TIME"].to_numpy()
    assert np.all(np.diff(t) >= 0), "events must be sorted by time"
    assert np.all(t >= 0) and np.all(t < days * 24.0)
    assert (ev["DAY"] == (ev["TIME"] // 24).astype(int) + 1).all()
    assert (ev["AMT"] > 0).all()
    assert not ev[["TIME", "AMT", "RATE", "DUR"]].isna().any().any()


def check_line(ev: pd.DataFrame, drug: str, days: list[int], amount: float, *, route: str,
               dur: float = 0.0, hour: float = 0.0) -> pd.DataFrame:
    """The events of `drug` are exactly `days` (study days), each `amount` mg by `route`."""
    d = drug_rows(ev, drug)
    assert d["DAY"].tolist() == days, f"{drug}: days {d['DAY'].tolist()} != {days}"
    np.testing.assert_allclose(d["TIME"].to_numpy(), (np.array(days, dtype=float) - 1) * 24.0 + hour, rtol=0, atol=1e-9)
    np.testing.assert_allclose(d["AMT"].to_numpy(), amount, rtol=1e-12)
    assert (d["ROUTE"] == route).all(), d["ROUTE"].unique()
    assert (d["CMT"] == ("central" if route == "iv" else "depot")).all()
    np.testing.assert_allclose(d["DUR"].to_numpy(), dur, rtol=1e-12)
    np.testing.assert_allclose(d["RATE"].to_numpy(), amount / dur if dur > 0 else 0.0, rtol=1e-12)
    return d


def cycle_and_day(days: list[int], cycle_days: int) -> tuple[list[int], list[int]]:
    return [(d - 1) // cycle_days + 1 for d in days], [(d - 1) % cycle_days + 1 for d in days]


# --- presets --------------------------------------------------------------------------------------

def test_every_named_preset_exists():
    names = sp.presets()
    for n in PRESETS_IN_SPEC:
        assert n in names
        r = sp.regimen(n)
        assert isinstance(r, sp.Regimen)
        assert r == sp.Regimen.preset(n)


def test_mosteller_bsa(patient):
    assert patient.bsa == pytest.approx(mosteller(176.0, 82.0), rel=1e-14)
    assert sp.Patient().bsa == pytest.approx(mosteller(170.0, 70.0), rel=1e-14)


@pytest.mark.parametrize("age, dex", [(60.0, 40.0), (74.9, 40.0), (75.0, 20.0), (80.0, 20.0)])
def test_trial000_arm1(age, dex):
    """Carfilzomib 56 mg/m2 IV (0.5 h) days 1, 8, 15; dexamethasone 40 mg weekly (20 mg at age
    >= 75); selinexor 80 mg days 1, 8, 15; 28-day cycles."""
    p = sp.Patient(weight=82.0, height=176.0, age=age)
    ev = sp.regimen("trial000_arm1").events(p, days=3 * 28)
    check_common(ev, 3 * 28)
    cfz = check_line(ev, "carfilzomib", study_days(28, [1, 8, 15], 3), 56.0 * mosteller(176.0, 82.0),
                     route="iv", dur=0.5)
    check_line(ev, "dexamethasone", study_days(28, [1, 8, 15, 22], 3), dex, route="oral")
    check_line(ev, "selinexor", study_days(28, [1, 8, 15], 3), 80.0, route="oral")
    assert sorted(ev["DRUG"].unique()) == ["carfilzomib", "dexamethasone", "selinexor"]
    assert len(ev) == 3 * (3 + 4 + 3)
    assert cfz["CYCLE"].tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert cfz["CYCLE_DAY"].tolist() == [1, 8, 15] * 3
    # 56 mg/m2 for a 1.9 m2 patient
    p2 = sp.Patient(weight=90.0, height=144.4)
    ev2 = sp.regimen("trial000_arm1").events(p2, days=1)
    assert drug_rows(ev2, "carfilzomib")["AMT"].iloc[0] == pytest.approx(56.0 * 1.9, rel=1e-12)


@pytest.mark.parametrize("age, dex", [(65.0, 40.0), (75.0, 20.0)])
def test_trial000_arm2(age, dex):
    """Pomalidomide 4 mg po daily days 1-21; dexamethasone 40 mg weekly (20 mg at >= 75);
    selinexor 60 mg days 1, 8, 15; 28-day cycles."""
    ev = sp.regimen("trial000_arm2").events(sp.Patient(age=age), days=2 * 28)
    check_common(ev, 2 * 28)
    pom = check_line(ev, "pomalidomide", study_days(28, range(1, 22), 2), 4.0, route="oral")
    check_line(ev, "dexamethasone", study_days(28, [1, 8, 15, 22], 2), dex, route="oral")
    check_line(ev, "selinexor", study_days(28, [1, 8, 15], 2), 60.0, route="oral")
    assert len(ev) == 2 * (21 + 4 + 3)
    assert pom["CYCLE_DAY"].tolist() == list(range(1, 22)) * 2
    assert pom["CYCLE"].tolist() == [1] * 21 + [2] * 21


@pytest.mark.parametrize("age, dex", [(65.0, 40.0), (76.0, 20.0)])
def test_trial000_exploratory(age, dex):
    """Daratumumab 16 mg/kg IV days 1, 8, 15, 22 in cycles 1-2, days 1 and 15 in cycles 3-6, day 1
    from cycle 7; dexamethasone 40 mg weekly (20 at >= 75); selinexor 100 mg once weekly."""
    p = sp.Patient(weight=82.0, height=176.0, age=age)
    n = 9
    ev = sp.regimen("trial000_exploratory").events(p, days=n * 28)
    check_common(ev, n * 28)
    dara_cd = {1: [1, 8, 15, 22], 2: [1, 8, 15, 22], 3: [1, 15], 4: [1, 15], 5: [1, 15], 6: [1, 15],
               7: [1], 8: [1], 9: [1]}
    days = [(c - 1) * 28 + d for c in range(1, n + 1) for d in dara_cd[c]]
    assert days[:12] == [1, 8, 15, 22, 29, 36, 43, 50, 57, 71, 85, 99]
    d = drug_rows(ev, "daratumumab")
    assert d["DAY"].tolist() == days
    np.testing.assert_allclose(d["AMT"], 16.0 * 82.0, rtol=1e-12)
    assert (d["ROUTE"] == "iv").all() and (d["CMT"] == "central").all()
    assert (d["DUR"] > 0).all()
    np.testing.assert_allclose(d["RATE"] * d["DUR"], d["AMT"], rtol=1e-12)
    assert d["CYCLE"].tolist() == [c for c in range(1, n + 1) for _ in dara_cd[c]]
    check_line(ev, "dexamethasone", study_days(28, [1, 8, 15, 22], n), dex, route="oral")
    check_line(ev, "selinexor", study_days(28, [1, 8, 15, 22], n), 100.0, route="oral")


def test_trial001():
    """Selinexor 60 mg days 1, 8, 15, 22; lenalidomide 10 mg daily days 1-21; dexamethasone 40 mg
    once weekly by default; labs cycle 1 days 1, 8, 15, 22, then days 1 and 22."""
    ev = sp.regimen("trial001").events(sp.Patient(), days=3 * 28)
    check_common(ev, 3 * 28)
    check_line(ev, "selinexor", study_days(28, [1, 8, 15, 22], 3), 60.0, route="oral")
    check_line(ev, "lenalidomide", study_days(28, range(1, 22), 3), 10.0, route="oral")
    check_line(ev, "dexamethasone", study_days(28, [1, 8, 15, 22], 3), 40.0, route="oral")
    assert len(ev) == 3 * (4 + 21 + 4)
    labs = sp.regimen("trial001").to_dict()["labs"]
    assert labs == {"cycle1": [1, 8, 15, 22], "later": [1, 22]}


def test_svd_100_qw(patient):
    """BOSTON SVd: selinexor 100 mg QW + bortezomib 1.3 mg/m2 SC days 1, 8, 15, 22 of 35-day
    cycles + dexamethasone 20 mg twice weekly (days 1 and 2 of each week)."""
    ev = sp.regimen("svd_100_qw").events(patient, days=2 * 35)
    check_common(ev, 70)
    check_line(ev, "selinexor", study_days(35, [1, 8, 15, 22, 29], 2), 100.0, route="oral")
    btz = check_line(ev, "bortezomib", study_days(35, [1, 8, 15, 22], 2), 1.3 * mosteller(176.0, 82.0), route="sc")
    assert btz["CYCLE"].tolist() == [1] * 4 + [2] * 4
    assert btz["CYCLE_DAY"].tolist() == [1, 8, 15, 22] * 2
    check_line(ev, "dexamethasone", study_days(35, [1, 2, 8, 9, 15, 16, 22, 23, 29, 30], 2), 20.0, route="oral")


def test_vd_boston(patient):
    """BOSTON Vd: bortezomib 1.3 mg/m2 SC days 1, 4, 8, 11 of 21-day cycles x8, then days 1, 8, 15,
    22 of 35-day cycles; dexamethasone 20 mg on the day of and after each bortezomib dose."""
    days = 8 * 21 + 2 * 35
    ev = sp.regimen("vd_boston").events(patient, days=days)
    check_common(ev, days)
    btz_days = study_days(21, [1, 4, 8, 11], 8) + study_days(35, [1, 8, 15, 22], 2, first_day=169)
    btz = check_line(ev, "bortezomib", btz_days, 1.3 * mosteller(176.0, 82.0), route="sc")
    assert btz_days[32:] == [169, 176, 183, 190, 204, 211, 218, 225]
    assert btz["CYCLE_DAY"].tolist() == [1, 4, 8, 11] * 8 + [1, 8, 15, 22] * 2
    assert btz["CYCLE"].tolist()[:32] == [c for c in range(1, 9) for _ in range(4)]
    dex_days = (study_days(21, [1, 2, 4, 5, 8, 9, 11, 12], 8)
                + study_days(35, [1, 2, 8, 9, 15, 16, 22, 23], 2, first_day=169))
    check_line(ev, "dexamethasone", dex_days, 20.0, route="oral")
    assert sorted(ev["DRUG"].unique()) == ["bortezomib", "dexamethasone"]


def test_vd_boston_cycle_numbers_count_across_blocks():
    ev = sp.regimen("vd_boston").events(sp.Patient(), days=8 * 21 + 2 * 35)
    btz = drug_rows(ev, "bortezomib")
    assert btz["CYCLE"].tolist()[32:] == [9] * 4 + [10] * 4


@pytest.mark.parametrize("name, amount, weekdays", [
    ("xd_100_qw", 100.0, [1]), ("xd_80_qw", 80.0, [1]), ("xd_60_qw", 60.0, [1]),
    ("xd_80_biw", 80.0, [1, 3]), ("xd_60_biw", 60.0, [1, 3]), ("xd_40_biw", 40.0, [1, 3]),
])
def test_xd_presets(name, amount, weekdays, old_patient):
    """Selinexor QW (day 1 of each week) or BIW (days 1 and 3) + dexamethasone 20 mg with each
    selinexor dose, at any age."""
    n_weeks = 8
    ev = sp.regimen(name).events(old_patient, days=7 * n_weeks)
    check_common(ev, 7 * n_weeks)
    days = study_days(7, weekdays, n_weeks)
    sel = check_line(ev, "selinexor", days, amount, route="oral")
    dex = check_line(ev, "dexamethasone", days, 20.0, route="oral")
    assert sel["TIME"].tolist() == dex["TIME"].tolist()
    assert len(ev) == 2 * len(days)
    c, cd = cycle_and_day(days, 28)
    assert sel["CYCLE"].tolist() == c and sel["CYCLE_DAY"].tolist() == cd
    assert sum(sel["AMT"][sel["DAY"] <= 7]) == amount * len(weekdays)


def test_xd_presets_share_the_backbone():
    """The six xd_* arms differ only in selinexor's dose and schedule."""
    base = sp.regimen("xd_80_qw").to_dict()["blocks"]
    for name in ["xd_100_qw", "xd_60_qw", "xd_80_biw", "xd_60_biw", "xd_40_biw"]:
        blocks = sp.regimen(name).to_dict()["blocks"]
        assert len(blocks) == len(base) == 1
        assert blocks[0]["cycle_days"] == base[0]["cycle_days"]
        sel = [d for d in blocks[0]["doses"] if d["drug"] == "selinexor"]
        dex = [d for d in blocks[0]["doses"] if d["drug"] == "dexamethasone"]
        assert len(sel) == 1 and len(dex) == 1
        assert dex[0]["amount"] == 20.0
        assert dex[0].get("weekdays") == sel[0].get("weekdays")


def test_horizon_is_exclusive():
    r = sp.regimen("xd_80_qw")
    assert drug_rows(r.events(days=28), "selinexor")["DAY"].tolist() == [1, 8, 15, 22]
    assert drug_rows(r.events(days=28.01), "selinexor")["DAY"].tolist() == [1, 8, 15, 22, 29]
    assert drug_rows(r.events(days=21), "selinexor")["DAY"].tolist() == [1, 8, 15]


# --- the building blocks --------------------------------------------------------------------------

def test_docstring_example():
    r = sp.Regimen.weekly("selinexor", 80, weekdays=[1, 3]).add(sp.dose("dexamethasone", 20, weekdays=[1, 3]))
    assert r.events(days=7)[["TIME", "DRUG", "AMT"]].values.tolist() == [
        [0.0, "selinexor", 80.0], [0.0, "dexamethasone", 20.0],
        [48.0, "selinexor", 80.0], [48.0, "dexamethasone", 20.0]]


def test_single_dose():
    ev = sp.Regimen.single_dose("selinexor", 80).events(days=10)
    assert len(ev) == 1
    row = ev.iloc[0]
    assert (row["TIME"], row["AMT"], row["ROUTE"], row["CMT"]) == (0.0, 80.0, "oral", "depot")
    ev = sp.Regimen.single_dose("bortezomib", 2.0, route="iv", hour=6.0).events(days=3)
    assert ev[["TIME", "DAY", "AMT", "ROUTE", "CMT", "RATE", "DUR"]].values.tolist() == [
        [6.0, 1, 2.0, "iv", "central", 0.0, 0.0]]


def test_day_lists_and_ranges():
    r = sp.Regimen.cycle(14, [sp.dose("lenalidomide", 10, days=["1-3", 10, "12-14"])], cycles=2)
    ev = r.events(days=40)
    assert ev["DAY"].tolist() == [1, 2, 3, 10, 12, 13, 14, 15, 16, 17, 24, 26, 27, 28]
    assert ev["CYCLE_DAY"].tolist() == [1, 2, 3, 10, 12, 13, 14] * 2
    assert ev["CYCLE"].tolist() == [1] * 7 + [2] * 7


def test_open_ended_range_runs_to_cycle_end():
    ev = sp.Regimen.cycle(7, [sp.dose("lenalidomide", 10, days=["5-"])], cycles=1).events(days=7)
    assert ev["DAY"].tolist() == [5, 6, 7]


def test_weekly_patterns_in_a_35_day_cycle():
    ev = sp.Regimen.weekly("selinexor", 60, weekdays=[1, 3], cycle_days=35).events(days=70)
    assert ev["DAY"].tolist() == study_days(35, [1, 3, 8, 10, 15, 17, 22, 24, 29, 31], 2)
    ev = sp.Regimen.weekly("selinexor", 60, weekdays=[2], cycle_days=10).events(days=20)
    assert ev["CYCLE_DAY"].tolist() == [2, 9, 2, 9]
    assert ev["DAY"].tolist() == [2, 9, 12, 19]


def test_duplicate_days_are_one_dose():
    ev = sp.Regimen.cycle(28, [sp.dose("selinexor", 60, days=[1, "1-2", 8], weekdays=[1])], cycles=1).events(days=28)
    assert ev["DAY"].tolist() == [1, 2, 8, 15, 22]


def test_schedule_changes_by_cycle():
    r = sp.Regimen.cycle(7, [
        sp.dose("selinexor", 80, days=[1, 3], cycles="1-2"),
        sp.dose("selinexor", 60, days=[1], cycles="3-4"),
        sp.dose("selinexor", 40, days=[1], cycles=5),
        sp.dose("dexamethasone", 20, days=[1], cycles="6-"),
    ])
    ev = r.events(days=8 * 7)
    assert ev[["DAY", "DRUG", "AMT"]].values.tolist() == [
        [1, "selinexor", 80.0], [3, "selinexor", 80.0], [8, "selinexor", 80.0], [10, "selinexor", 80.0],
        [15, "selinexor", 60.0], [22, "selinexor", 60.0], [29, "selinexor", 40.0],
        [36, "dexamethasone", 20.0], [43, "dexamethasone", 20.0], [50, "dexamethasone", 20.0]]


def test_blocks_follow_each_other():
    r = sp.Regimen.cycle(21, [sp.dose("bortezomib", 1.3, unit="mg/m2", days=[1, 4])], cycles=2).then(
        sp.Regimen.cycle(14, [sp.dose("bortezomib", 1.3, unit="mg/m2", days=[1])]))
    ev = r.events(sp.Patient(weight=50, height=160), days=42 + 28)
    assert ev["DAY"].tolist() == [1, 4, 22, 25, 43, 57]
    assert ev["CYCLE_DAY"].tolist() == [1, 4, 1, 4, 1, 1]
    np.testing.assert_allclose(ev["AMT"], 1.3 * mosteller(160, 50), rtol=1e-12)
    assert (ev["ROUTE"] == "sc").all()  # bortezomib's default route


def test_block_with_fixed_cycles_stops():
    ev = sp.Regimen.cycle(7, [sp.dose("selinexor", 80, days=[1])], cycles=3).events(days=70)
    assert ev["DAY"].tolist() == [1, 8, 15]


def test_per_size_doses(patient):
    r = sp.Regimen.cycle(28, [
        sp.dose("bortezomib", 1.3, unit="mg/m2", days=[1]),
        sp.dose("daratumumab", 16, unit="mg/kg", days=[1], duration_h=4.0),
        sp.dose("selinexor", 80, unit="mg", days=[1]),
    ], cycles=1)
    for p in [patient, sp.Patient(weight=120.0, height=190.0), {"weight": 45.0, "height": 150.0}]:
        w, h = (p.weight, p.height) if isinstance(p, sp.Patient) else (p["weight"], p["height"])
        ev = r.events(p, days=1)
        amt = dict(zip(ev["DRUG"], ev["AMT"]))
        assert amt["bortezomib"] == pytest.approx(1.3 * mosteller(h, w), rel=1e-12)
        assert amt["daratumumab"] == pytest.approx(16.0 * w, rel=1e-12)
        assert amt["selinexor"] == 80.0


def test_infusions_by_duration_and_by_rate():
    r = sp.Regimen.cycle(28, [
        sp.dose("carfilzomib", 100, route="iv", duration_h=0.5, days=[1]),
        sp.dose("daratumumab", 1000, route="iv", rate_mg_h=200, days=[2]),
        sp.dose("bortezomib", 2.0, route="iv", days=[3]),
    ], cycles=1)
    ev = r.events(days=3)
    rows = {d: ev[ev["DRUG"] == d].iloc[0] for d in ev["DRUG"]}
    assert (rows["carfilzomib"]["RATE"], rows["carfilzomib"]["DUR"]) == (200.0, 0.5)
    assert (rows["daratumumab"]["RATE"], rows["daratumumab"]["DUR"]) == (200.0, 5.0)
    assert (rows["bortezomib"]["RATE"], rows["bortezomib"]["DUR"], rows["bortezomib"]["CMT"]) == (0.0, 0.0, "central")


def test_route_override_and_defaults():
    r = sp.Regimen.cycle(7, [sp.dose("bortezomib", 1.0, days=[1]), sp.dose("bortezomib", 1.0, days=[2], route="iv"),
                             sp.dose("selinexor", 20, days=[3])], cycles=1)
    ev = r.events(days=7)
    assert ev["ROUTE"].tolist() == ["sc", "iv", "oral"]
    assert ev["CMT"].tolist() == ["depot", "central", "depot"]


def test_clock_hour():
    ev = sp.Regimen.cycle(7, [sp.dose("selinexor", 80, days=[1, 3], hour=8.5)], cycles=1).events(days=7)
    assert ev["TIME"].tolist() == [8.5, 56.5]
    assert ev["DAY"].tolist() == [1, 3]


def test_age_rule_applies_to_its_line_only():
    r = sp.Regimen.cycle(7, [sp.dose("dexamethasone", 40, days=[1], adjust=[{"min_age": 75, "amount": 20}]),
                             sp.dose("selinexor", 80, days=[1])], cycles=1)
    young = dict(zip(*r.events({"age": 50}, days=7)[["DRUG", "AMT"]].T.values))
    old = dict(zip(*r.events({"age": 90}, days=7)[["DRUG", "AMT"]].T.values))
    assert young == {"dexamethasone": 40.0, "selinexor": 80.0}
    assert old == {"dexamethasone": 20.0, "selinexor": 80.0}


def test_events_do_not_depend_on_weight_for_flat_doses():
    a = sp.regimen("xd_80_biw").events({"weight": 50.0}, days=28)
    b = sp.regimen("xd_80_biw").events({"weight": 110.0}, days=28)
    assert_frame_equal(a, b)


def test_dict_spec_and_json_constructor():
    spec = {"description": "mine", "blocks": [{"cycle_days": 7, "doses": [
        {"drug": "selinexor", "amount": 80, "weekdays": [1, 3]}]}]}
    a = sp.Regimen(spec)
    b = sp.Regimen.from_json(json.dumps(spec))
    c = sp.Regimen.from_dict(spec)
    assert a == b == c
    assert_frame_equal(a.events(days=14), b.events(days=14))
    assert a.drugs == ["selinexor"]
    spec["blocks"][0]["cycle_days"] = 14  # the regimen keeps its own copy
    assert a.to_dict()["blocks"][0]["cycle_days"] == 7


# --- round trips ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PRESETS_IN_SPEC)
@pytest.mark.parametrize("ext", ["json", "toml"])
def test_preset_round_trip(name, ext, tmp_path, patient, old_patient):
    r = sp.regimen(name)
    path = tmp_path / f"{name}.{ext}"
    r.to_file(path)
    back = sp.Regimen.from_file(path)
    assert back == r
    assert back.to_dict() == r.to_dict()
    for p in (patient, old_patient):
        assert_frame_equal(r.events(p, days=300), back.events(p, days=300))
    # and a second trip is a fixed point
    path2 = tmp_path / f"again.{ext}"
    back.to_file(path2)
    assert path2.read_text() == path.read_text()


CUSTOM = {
    "description": 'custom: "quoted", back\\slash, >= 75, unicode \u00e9\u2265',
    "blocks": [
        {"cycle_days": 21, "cycles": 2, "doses": [
            sp.dose("selinexor", 60.5, days=["1-3", 10], hour=8.25),
            sp.dose("dexamethasone", 40, weekdays=[1, 4], adjust=[{"min_age": 75, "amount": 20}]),
            sp.dose("carfilzomib", 27, unit="mg/m2", route="iv", duration_h=0.1666, days=[1, 2]),
        ]},
        {"cycle_days": 28, "doses": [
            sp.dose("daratumumab", 16, unit="mg/kg", rate_mg_h=300, days=[1, 15], cycles="1-2"),
            sp.dose("daratumumab", 16, unit="mg/kg", rate_mg_h=300, days=[1], cycles="3-"),
            sp.dose("bortezomib", 1.3, unit="mg/m2", route="sc", days=[1, 8, 15, 22]),
            sp.dose("selinexor", 1e-3, days=["1-"], hour=23.5),
        ]},
    ],
    "labs": {"cycle1": [1, 8], "later": [1]},
}


@pytest.mark.parametrize("ext", ["json", "toml", "JSON", "TOML"])
def test_custom_regimen_round_trip(ext, tmp_path, patient, old_patient):
    r = sp.Regimen(CUSTOM)
    path = tmp_path / f"custom.{ext}"
    r.to_file(path)
    back = sp.Regimen.from_file(path)
    assert back == r
    for p in (patient, old_patient):
        a, b = r.events(p, days=200), back.events(p, days=200)
        assert len(a) > 100
        assert_frame_equal(a, b)


def test_hand_written_toml_file(tmp_path):
    """The layout of data/regimens.toml, as a user would write it."""
    path = tmp_path / "my_regimen.toml"
    path.write_text(
        'description = "selinexor 60 mg QW + pomalidomide 4 mg days 1-21"\n'
        "[[blocks]]\n"
        "cycle_days = 28\n"
        "doses = [\n"
        '  { drug = "selinexor", amount = 60, weekdays = [1] },\n'
        '  { drug = "pomalidomide", amount = 4, days = ["1-21"] },\n'
        "]\n")
    r = sp.Regimen.from_file(path)
    assert r.name == "my_regimen"
    ev = r.events(days=28)
    check_line(ev, "selinexor", [1, 8, 15, 22], 60.0, route="oral")
    check_line(ev, "pomalidomide", list(range(1, 22)), 4.0, route="oral")


def test_hand_written_json_file(tmp_path):
    path = tmp_path / "my_regimen.json"
    path.write_text(json.dumps({"blocks": [{"cycle_days": 35, "doses": [
        {"drug": "bortezomib", "amount": 1.3, "unit": "mg/m2", "days": [1, 8, 15, 22]}]}]}))
    ev = sp.Regimen.from_file(path).events({"weight": 70, "height": 170}, days=35)
    check_line(ev, "bortezomib", [1, 8, 15, 22], 1.3 * mosteller(170, 70), route="sc")


def test_toml_round_trip_non_bmp_text(tmp_path):
    r = sp.Regimen({"description": "selinexor \U0001F48A weekly",
                    "blocks": [{"cycle_days": 7, "doses": [sp.dose("selinexor", 80, weekdays=[1])]}]})
    path = tmp_path / "emoji.toml"
    r.to_file(path)
    assert sp.Regimen.from_file(path) == r


@pytest.mark.parametrize("ext, text", [("toml", "[[blocks]]\ncycle_days = \n"), ("json", '{"blocks": [')])
def test_malformed_regimen_file_raises_model_error(ext, text, tmp_path):
    path = tmp_path / f"bad.{ext}"
    path.write_text(text)
    exc = capture(sp.Regimen.from_file, path)
    assert isinstance(exc, sp.ModelError), f"{type(exc).__name__}: {exc}"
