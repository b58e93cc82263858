"""The myeloma efficacy model (docs/efficacy.md): the shipped defaults hit the training targets of
calibration/efficacy_targets.toml, more selinexor engagement never gives a worse response for the
same patients, the efficacy columns do not depend on threads or on the regimen's other draws, and
the Kaplan-Meier statistics are right on hand-computed examples."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import selinexor_pkpd as sp
from conftest import expect_model_error
from selinexor_pkpd.efficacy import DAYS_PER_MONTH, efficacy_summary, kaplan_meier, km_median, km_median_interpolated

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "calibration"))

import efficacy_fit  # noqa: E402

CFG = efficacy_fit.load_targets()
CHECK = CFG["check"]

#: Best response, worst first (as the engine orders it: not evaluable above progression).
RANK = {"PD": 0, "NE": 1, "SD": 2, "MR": 3, "PR": 4, "VGPR": 5, "CR": 6}

EFFICACY_COLUMNS = ["tumour_growth_rate", "tumour_resistance_rate", "tumour_sensitivity", "mprotein_baseline",
                    "mprotein_nadir", "best_response", "responder", "vgpr_or_better", "progressed",
                    "t_progression_days", "died_without_progression", "pfs_days", "pfs_event"]


@pytest.fixture(scope="module")
def training_arms():
    """The training arms with the shipped defaults, another seed than the fit's."""
    return efficacy_fit.simulate_arms(CFG, n=int(CHECK["subjects"]), seed=int(CHECK["seed"]))


@pytest.mark.parametrize("target", [t["key"] for t in CFG["targets"]])
def test_shipped_defaults_hit_the_training_targets(training_arms, target):
    t = next(x for x in CFG["targets"] if x["key"] == target)
    sim = efficacy_fit.arm_metrics(training_arms[t["arm"]], interpolated=False)[t["metric"]]
    if t["metric"] == "orr":
        k, n = t["k"], t["n"]
        lo = stats.beta.ppf(0.025, k, n - k + 1)
        hi = stats.beta.ppf(0.975, k + 1, n - k)
        assert lo <= sim <= hi, f"{target}: simulated ORR {sim:.3f} outside the 95% CI {lo:.3f}-{hi:.3f} of {k}/{n}"
    else:
        tol = max(float(CHECK["pfs_tolerance"]) * t["value"], float(CHECK["pfs_tolerance_days"]) / DAYS_PER_MONTH)
        assert abs(sim - t["value"]) <= tol, f"{target}: simulated median PFS {sim:.2f} months vs {t['value']} (tolerance {tol:.2f})"


def _run(regimen, *, n=300, days=400.0, seed=7, pop="rrmm_early_relapse", library=None, threads=None, **kw):
    p = sp.population(pop, n=n, library=library)
    return sp.simulate_population(regimen, p, days=days, seed=seed, library=library, threads=threads, **kw).subjects


def test_more_selinexor_engagement_never_gives_a_worse_response():
    # No dose rules: the 80 mg patient's concentration, hence X, is above the 60 mg one's at all
    # times; everything else (tumour, partners, discontinuation, death) is the same patient.
    lo = _run("xd_60_biw")
    hi = _run("xd_80_biw")
    assert (hi["x_max"] >= lo["x_max"]).all()
    r_lo, r_hi = lo["best_response"].map(RANK), hi["best_response"].map(RANK)
    worse = np.flatnonzero(r_hi < r_lo)
    assert worse.size == 0, f"patients with a worse response on more engagement: {worse[:10]}"
    assert (r_hi > r_lo).any(), "the comparison must be able to fail: no patient improved"
    t_lo = lo["t_progression_days"].fillna(np.inf)
    t_hi = hi["t_progression_days"].fillna(np.inf)
    assert (t_hi >= t_lo).all()


def test_a_stronger_selinexor_kill_helps_the_same_patients_and_leaves_vd_alone():
    strong = sp.Library().override({"efficacy": {"selinexor_kill": {"value": 0.5}}})
    base = _run("xd_80_biw", n=200)
    more = _run("xd_80_biw", n=200, library=strong)
    assert (more["best_response"].map(RANK) >= base["best_response"].map(RANK)).all()
    assert more["responder"].mean() > base["responder"].mean()
    vd, vd_strong = _run("vd_boston", n=100), _run("vd_boston", n=100, library=strong)
    pd.testing.assert_frame_equal(vd[EFFICACY_COLUMNS], vd_strong[EFFICACY_COLUMNS])


def test_efficacy_columns_do_not_depend_on_threads():
    if sp._core.max_threads() < 2:
        pytest.skip("one thread on this machine")
    one = _run("svd_100_qw", n=120, threads=1, dose_rules="label")
    two = _run("svd_100_qw", n=120, threads=2, dose_rules="label")
    pd.testing.assert_frame_equal(one[EFFICACY_COLUMNS], two[EFFICACY_COLUMNS])


def test_tumour_draws_are_the_patients_whatever_the_regimen():
    a = _run("xd_80_biw", n=50)
    b = _run("svd_100_qw", n=50)
    for c in ("tumour_growth_rate", "tumour_resistance_rate", "tumour_sensitivity", "mprotein_baseline"):
        np.testing.assert_array_equal(a[c].to_numpy(), b[c].to_numpy())
    # the population's sensitivity multiplier scales the draw
    h = _run("xd_80_biw", n=50, pop="rrmm_heavily_pretreated")
    factor = sp.population("rrmm_heavily_pretreated", n=1).spec["tumour_sensitivity"]["value"]
    np.testing.assert_allclose(h["tumour_sensitivity"].to_numpy(), factor * a["tumour_sensitivity"].to_numpy(), rtol=1e-12)


def test_response_columns_are_consistent():
    s = _run("svd_100_qw", n=200, dose_rules="label")
    assert set(s["best_response"]) <= set(RANK)
    np.testing.assert_array_equal(s["responder"], s["best_response"].isin(["PR", "VGPR", "CR"]))
    np.testing.assert_array_equal(s["vgpr_or_better"], s["best_response"].isin(["VGPR", "CR"]))
    np.testing.assert_array_equal(s["progressed"], s["t_progression_days"].notna())
    assert (s.loc[s["progressed"], "pfs_days"] == s.loc[s["progressed"], "t_progression_days"]).all()
    assert (s["pfs_event"] == (s["progressed"] | s["died_without_progression"])).all()
    assert (s["mprotein_nadir"] <= s["mprotein_baseline"]).all()
    assert (s["mprotein_baseline"] >= 0.5).all()


def test_bad_efficacy_values_name_their_field():
    expect_model_error(lambda: sp.Library().override({"efficacy": {"selinexor_kill": {"value": -1.0}}}),
                       field="efficacy.selinexor_kill.value")
    expect_model_error(lambda: sp.Library().override({"efficacy": {"partners": {"aspirin": {
        "kill": {"value": 1.0}, "reference_mg": {"value": 1.0}, "effect_half_life": {"value": 1.0}}}}}),
        field_endswith="drug")
    expect_model_error(lambda: sp.Library().override({"efficacy": {"growth_rate": {"median": float("nan")}}}),
                       field="library.efficacy.growth_rate.median")


def test_kaplan_meier_by_hand():
    # times 1, 2+, 3, 3, 4+ : S(1) = 4/5, S(3) = 4/5 * (1 - 2/3) = 4/15
    km = kaplan_meier([1, 2, 3, 3, 4], [True, False, True, True, False])
    np.testing.assert_allclose(km["time"], [0, 1, 3])
    np.testing.assert_allclose(km["survival"], [1, 0.8, 4 / 15])
    assert km_median([1, 2, 3, 3, 4], [True, False, True, True, False])[0] == 3
    rng = np.random.default_rng(1)
    t = rng.exponential(100.0, 400)
    med, lo, hi = km_median(t, t < 300)
    assert lo < med < hi and 50 < med < 90  # exponential median 69
    assert math.isnan(km_median([1, 2], [False, False])[0])
    # interpolated: from 0.8 at t=1 to 4/15 at t=3, 0.5 at 1 + 2 * 0.3 / (0.8 - 4/15)
    assert km_median_interpolated([1, 2, 3, 3, 4], [True, False, True, True, False]) == pytest.approx(1 + 0.6 / (0.8 - 4 / 15))


def test_efficacy_summary_counts():
    s = pd.DataFrame({"responder": [True, True, False, False], "vgpr_or_better": [True, False, False, False],
                      "best_response": ["CR", "PR", "SD", "PD"], "pfs_days": [100.0, 200.0, 50.0, 30.0],
                      "pfs_event": [True, True, True, True]})
    out = efficacy_summary(s)
    assert out["orr"] == 0.5 and out["vgpr_plus"] == 0.25 and out["cr"] == 0.25
    assert out["pfs_median_days"] == 50.0
    assert out["pfs_median_months"] == pytest.approx(50.0 / DAYS_PER_MONTH)


def test_without_efficacy_every_other_column_is_unchanged():
    import json

    from selinexor_pkpd import _core
    from selinexor_pkpd.simulate import params_json

    lib = sp.Library()
    reg = sp.Regimen.preset("xd_80_biw", library=lib).validated_json(lib)
    pop = json.dumps(sp.population("rrmm_heavily_pretreated", n=1).spec)
    on = _core.Trial(lib._native, reg, pop, "label", params_json(None), 120.0, 3, []).run(0, 40)
    off = _core.Trial(lib._native, reg, pop, "label", params_json(None), 120.0, 3, [], efficacy=False).run(0, 40)
    for k in on:
        if k in EFFICACY_COLUMNS[4:]:
            continue
        np.testing.assert_array_equal(np.asarray(on[k]), np.asarray(off[k]), err_msg=k)
    assert np.isnan(off["pfs_days"]).all() and set(off["best_response"]) == {"NE"}
    assert not off["responder"].any()


def test_simon_under_the_engine_agrees_with_the_exact_figures_at_its_response_rate():
    res = sp.simon("xd_80_biw", stage1=13, r1=3, total=43, r=12, trials=60, seed=11, days=112.0)
    assert 0.0 < res["orr"] < 1.0
    # 60 trials: Monte-Carlo SE of a probability is at most 0.065
    for k in ("pet", "p_active"):
        assert abs(res[k] - res[k + "_exact"]) < 4 * 0.065, (k, res[k], res[k + "_exact"])
    assert 13 <= res["en"] <= 43
    assert res["en"] == pytest.approx(13 + (1 - res["pet"]) * 30)


def test_simon_bad_design_is_refused_before_simulating():
    expect_model_error(lambda: sp.simon("xd_80_biw", stage1=13, r1=13, total=43, r=12, trials=2), field="simon")
    expect_model_error(lambda: sp.simon("xd_80_biw", r=12, trials=0), field="trials")


def test_simon_cli_prints_simulated_and_exact_figures(capsys):
    from selinexor_pkpd.cli import main

    assert main(["simon", "xd_80_biw", "--r", "12", "--trials", "5", "--days", "60", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "probability of early stopping" in out and "exact at that ORR" in out
    assert main(["simon", "--r", "12", "--rate", "0.3", "--trials", "2000"]) == 0
    out = capsys.readouterr().out
    assert "exact 0." in out and "simulated 0." in out


@pytest.fixture(scope="module")
def benefit_risk():
    pop = sp.population("rrmm_heavily_pretreated", n=150)
    arms = {"100 mg QW": "xd_100_qw", "80 mg BIW": "xd_80_biw"}
    full = sp.compare(arms, pop, days=240, progress=False, observe=False)
    lean = sp.compare(arms, pop, days=240, progress=False, observe=False, summary_only=True)
    return full, lean


def test_compare_reports_benefit_next_to_risk(benefit_risk):
    full, lean = benefit_risk
    s = full.summary
    for k in ("orr", "orr_lo", "orr_hi", "vgpr_plus", "cr", "progressed", "pfs_median_months", "pfs_median_months_lo",
              "pfs_median_months_hi", "g3plus_lab"):
        assert k in s.columns, k
    subj = full.subjects
    for arm in full.arms:
        one = subj[subj["arm"] == arm]
        assert s.loc[arm, "orr"] == pytest.approx(one["responder"].mean())
        med = km_median(one["pfs_days"], one["pfs_event"])[0]
        assert s.loc[arm, "pfs_median_days"] == pytest.approx(med, nan_ok=True)
        pd.testing.assert_frame_equal(full.kaplan_meier(arm), lean.kaplan_meier(arm))
    pd.testing.assert_frame_equal(full.summary, lean.summary)
    d = full.differences()
    orr = d[d["metric"] == "orr"].iloc[0]
    a, b = subj[subj["arm"] == "80 mg BIW"], subj[subj["arm"] == "100 mg QW"]
    assert orr["difference"] == pytest.approx(a["responder"].mean() - b["responder"].mean())
    t = full.table()
    assert {"ORR % (95% CI)", ">=VGPR % (95% CI)", "mPFS, mo (95% CI)", "G3+ % (95% CI)"} <= set(t.columns)
    rep = full.report()
    assert "Efficacy (IMWG" in rep and "ORR, pp (95% CI)" in rep


def test_benefit_risk_figure(benefit_risk, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    full, lean = benefit_risk
    for res, name in ((full, "full"), (lean, "lean")):
        axes = res.plot_benefit_risk(tmp_path / f"{name}.png", formats=["svg"])
        assert len(axes) == 2
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000 and (tmp_path / f"{name}.svg").exists()
        assert len(axes[1].get_lines()) >= len(res.arms)
    expect_model_error(lambda: full.kaplan_meier("no such arm"), field="arm")


def test_stop_at_progression_ends_treatment_there_and_keeps_the_efficacy():
    # One discontinuation for both runs (without the preset's other-reason split, which stopping
    # at progression would use instead: tests/python/test_discontinuation_split.py).
    pop = sp.population("rrmm_early_relapse", n=200).with_other_discontinuation(None)
    run = lambda **kw: sp.simulate_population("xd_80_biw", pop, days=300, seed=7, dose_rules="label",  # noqa: E731
                                              **kw).subjects
    base, stop = run(), run(stop_at_progression=True)
    pd.testing.assert_frame_equal(base[EFFICACY_COLUMNS], stop[EFFICACY_COLUMNS])
    assert (stop["days_on_treatment"] <= base["days_on_treatment"] + 1e-9).all()
    prog = stop["progressed"].to_numpy()
    assert (stop.loc[prog, "days_on_treatment"] <= stop.loc[prog, "t_progression_days"] + 1e-9).all()
    shortened = (stop["days_on_treatment"] < base["days_on_treatment"] - 1e-9).to_numpy()
    assert shortened.any(), "some patient must be on treatment at progression"
    assert not (shortened & ~prog).any()
    # a patient whose treatment did not change is the same patient to the bit
    same = ~shortened
    pd.testing.assert_frame_equal(base[same].reset_index(drop=True), stop[same].reset_index(drop=True))
    expect_model_error(lambda: _run("xd_80_biw", n=2, stop_at_progression="yes"), field="stop_at_progression")
