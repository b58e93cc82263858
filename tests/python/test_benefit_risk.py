"""Benefit against risk in the compare finding: ORR and PFS differences with their intervals
weighed against grade 3+ thrombocytopenia (sim/benefit_risk.rs, CompareResult.finding)."""

from __future__ import annotations

import math

import pytest

import selinexor_pkpd as sp
from selinexor_pkpd import _core

NAN = math.nan


@pytest.mark.parametrize("orr,g3,pfs_arm,pfs_ref,want", [
    # nothing resolved
    ((-0.05, 0.04), (-0.03, 0.02), (3.0, 5.0), (3.5, 6.0), (0, 0, 0, "not_distinguishable")),
    # less toxicity, benefit not distinguishable
    ((-0.05, 0.04), (-0.12, -0.02), (3.0, 5.0), (3.5, 6.0), (0, 0, -1, "favours")),
    # more responses and more toxicity
    ((0.02, 0.15), (0.05, 0.20), (3.0, 5.0), (3.5, 6.0), (1, 0, 1, "trade_off_more_benefit")),
    # PFS intervals apart, ORR the other way
    ((-0.15, -0.02), (-0.02, 0.02), (10.0, 14.0), (6.0, 9.0), (-1, 1, 0, "mixed")),
    # a median not reached (NaN upper end) cannot be exceeded
    ((-0.02, 0.02), (0.01, 0.04), (10.0, 14.0), (6.0, NAN), (0, 0, 1, "disfavours")),
    # missing intervals are not distinguishable
    ((NAN, NAN), (NAN, NAN), (NAN, NAN), (NAN, NAN), (0, 0, 0, "not_distinguishable")),
])
def test_native_verdict_on_hand_made_intervals(orr, g3, pfs_arm, pfs_ref, want):
    assert _core.benefit_risk(orr, g3, pfs_arm, pfs_ref) == want


@pytest.fixture(scope="module")
def svd_vs_vd():
    pop = sp.population("rrmm_early_relapse", n=400)
    return sp.compare({"SVd": "svd_100_qw", "Vd": "vd_boston"}, pop, days=400, seed=3, threads=2,
                      dose_rules={"SVd": "label", "Vd": None}, progress=False, summary_only=True)


def test_finding_weighs_benefit_against_thrombocytopenia(svd_vs_vd):
    res = svd_vs_vd
    f = res.finding()
    s = res.summary
    # no QW/BIW pair here (Vd has no selinexor): the lowest-incidence arm against the reference
    assert res.matched_dose_pair() is None and res.reference == "SVd"
    best = str(s["g3plus_lab"].astype(float).idxmin())
    assert best == "Vd"
    d = res.differences(reference="SVd")
    row = lambda m: d[(d["arm"] == "Vd") & (d["metric"] == m)].iloc[0]  # noqa: E731
    o, p, g, verdict = _core.benefit_risk(
        (row("orr")["lo"], row("orr")["hi"]), (row("g3plus_lab")["lo"], row("g3plus_lab")["hi"]),
        (s.loc["Vd", "pfs_median_months_lo"], s.loc["Vd", "pfs_median_months_hi"]),
        (s.loc["SVd", "pfs_median_months_lo"], s.loc["SVd", "pfs_median_months_hi"]))
    # BOSTON-like: the doublet is far less thrombocytopenic and responds less often
    assert g == -1 and o == -1 and verdict == "trade_off_less_toxicity"
    assert "Benefit against risk, Vd vs SVd" in f
    assert "A trade-off: Vd gives less grade 3+ thrombocytopenia at less benefit" in f
    assert f"ORR {100 * s.loc['Vd', 'orr']:.0f}% (95% CI" in f
    if p == 0:
        assert "not distinguishable with 400 patients per arm: median PFS" in f


def test_finding_says_when_nothing_is_distinguishable():
    pop = sp.population("rrmm_heavily_pretreated", n=30)
    res = sp.compare({"80 mg QW": "xd_80_qw", "40 mg BIW": "xd_40_biw"}, pop, days=120, seed=2, threads=2,
                     dose_rules="label", progress=False, summary_only=True)
    f = res.finding()
    d = res.differences(reference=res.matched_dose_pair()[1])
    orr = d[d["metric"] == "orr"].iloc[0]
    g3 = d[d["metric"] == "g3plus_lab"].iloc[0]
    if orr["lo"] <= 0 <= orr["hi"] and g3["lo"] <= 0 <= g3["hi"]:
        assert "is distinguishable with 30 patients per arm" in f
    assert "Benefit against risk" in f
