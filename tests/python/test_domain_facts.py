"""Domain facts the engine owns, exposed once from Rust: CTCAE grading, lab-visit days, weekly dose."""

from __future__ import annotations

import math

import numpy as np
import pytest

import selinexor_pkpd as sp


def test_grades_by_enumeration_of_the_ctcae_table():
    # CTCAE v4.03 platelet count decreased: < LLN (150) grade 1, < 75 grade 2, < 50 grade 3, < 25 grade 4.
    table = [(150.0, 0), (149.999, 1), (75.0, 1), (74.999, 2), (50.0, 2), (49.999, 3), (25.0, 3), (24.999, 4),
             (0.0, 4), (1e6, 0)]
    counts = np.array([c for c, _ in table])
    assert sp.ctcae_grade(counts).tolist() == [g for _, g in table]
    for c, g in table:
        assert sp.ctcae_grade(c) == g and isinstance(sp.ctcae_grade(c), int)
    assert sp.GRADE_THRESHOLDS == (150.0, 75.0, 50.0, 25.0)
    assert sp.ctcae_grade(np.array([[10.0, 100.0], [60.0, 200.0]])).tolist() == [[4, 1], [2, 0]]
    assert sp.ctcae_grade(math.nan) == 0


def test_engine_grades_its_own_subjects_with_the_same_function():
    pop = sp.population("rrmm_heavily_pretreated", n=30)
    s = sp.simulate_population("xd_80_biw", pop, days=56, seed=3).subjects
    assert (sp.ctcae_grade(s["nadir"].to_numpy()) == s["worst_grade"].to_numpy()).all()


def test_lab_days_follow_the_cycles():
    # 28-day cycles: cycle 1 days 1, 8, 15, 22, then days 1 and 15 of each cycle.
    assert sp.regimen("xd_80_biw").lab_days(84).tolist() == [0, 7, 14, 21, 28, 42, 56, 70]
    # Vd (BOSTON): 8 cycles of 21 days (labs days 1, 4, 8, 11 in cycle 1, then 1, 8, 15), then 35-day cycles.
    vd = sp.regimen("vd_boston").lab_days(200).tolist()
    expect = [0, 3, 7, 10] + [21 * c + d for c in range(1, 8) for d in (0, 7, 14)] + [168 + d for d in (0, 7, 14)]
    assert vd == expect
    with pytest.raises(sp.ModelError):
        sp.regimen("xd_80_biw").lab_days(-1)


def test_the_dose_rules_act_at_the_scheduled_visits():
    pop = sp.population("rrmm_heavily_pretreated", n=20).with_discontinuation(None)
    s = sp.simulate_population("xd_80_biw", pop, days=84, seed=5).subjects
    assert (s["n_labs"] == len(sp.regimen("xd_80_biw").lab_days(84))).all()


@pytest.mark.parametrize("preset,drug,expected", [
    ("xd_80_biw", "selinexor", 160.0),      # 80 mg on 2 days a week
    ("xd_100_qw", "selinexor", 100.0),
    ("xd_80_biw", "dexamethasone", 40.0),   # 20 mg with each selinexor dose
    ("vd_boston", "selinexor", math.nan),   # not dosed
])
def test_weekly_dose(preset, drug, expected):
    got = sp.regimen(preset).weekly_dose(drug)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected, rel=1e-15)


def test_weekly_dose_of_a_three_week_cycle():
    r = sp.Regimen.cycle(21, [sp.dose("selinexor", 60, days=[1, 8])])
    assert r.weekly_dose() == pytest.approx(60 * 2 * 7 / 21, rel=1e-15)
