"""Validation against published arms (sp.validate) and the visual predictive check of compare:
exact references (scipy beta and binomial quantiles, direct binomial simulation, numpy quantiles
of the per-visit counts), thread invariance, bad input. No test depends on today's predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import selinexor_pkpd as sp
import selinexor_pkpd._core as core
from conftest import expect_model_error

stats = pytest.importorskip("scipy.stats", reason="scipy is in the [test] extra")

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "data" / "validation" / "validation_arms.csv"


# --- Clopper-Pearson and the binomial prediction interval -------------------------------------

@pytest.mark.parametrize("k,n", [(0, 1), (1, 1), (0, 12), (6, 12), (24, 82), (1, 30), (61, 202), (49, 134),
                                 (300, 1000), (999, 1000)])
@pytest.mark.parametrize("level", [0.95, 0.9])
def test_clopper_pearson_equals_the_beta_quantiles(k, n, level):
    a = 1.0 - level
    lo_ref = 0.0 if k == 0 else stats.beta.ppf(a / 2, k, n - k + 1)
    hi_ref = 1.0 if k == n else stats.beta.ppf(1 - a / 2, k + 1, n - k)
    lo, hi = core.clopper_pearson(k, n, level)
    assert lo == pytest.approx(lo_ref, rel=1e-10, abs=1e-14)
    assert hi == pytest.approx(hi_ref, rel=1e-10, abs=1e-14)


def test_clopper_pearson_reproduces_a_published_interval():
    # MARCH: "ORR was 29.3% (95% CI 19.7, 40.4)" with 82 patients (BMC Med 2022;20:108): 24/82.
    lo, hi = core.clopper_pearson(24, 82)
    assert (round(100 * lo, 1), round(100 * hi, 1)) == (19.7, 40.4)


@pytest.mark.parametrize("n,p", [(12, 0.33), (82, 0.261), (123, 0.59), (30, 0.05), (200, 0.5)])
def test_binomial_quantiles_equal_scipy(n, p):
    for q in (0.025, 0.5, 0.975):
        assert core.binomial_quantile(n, p, q) == int(stats.binom.ppf(q, n, p))


@pytest.mark.parametrize("n,p", [(12, 0.33), (82, 0.261), (40, 0.6)])
def test_prediction_interval_matches_direct_binomial_simulation(n, p):
    """The prediction interval of a trial of n patients equals the 2.5-97.5% range of the
    proportion over many directly simulated trials of n (numpy's binomial generator)."""
    draws = np.random.default_rng(7).binomial(n, p, size=400_000)
    lo_sim, hi_sim = np.quantile(draws, [0.025, 0.975], method="inverted_cdf")
    sim_n = 10_000
    k = round(p * sim_n)
    subjects = {"worst_grade_lab": np.where(np.arange(sim_n) < k, 3, 0).astype(np.int64),
                "responder": np.zeros(sim_n, dtype=bool), "vgpr_or_better": np.zeros(sim_n, dtype=bool)}
    c = core.check_arm("g3plus", n, 0, subjects["worst_grade_lab"], subjects["responder"],
                       subjects["vgpr_or_better"])
    assert c["simulated"] == k / sim_n
    assert c["predicted_lo"] * n == pytest.approx(lo_sim, abs=1e-9)
    assert c["predicted_hi"] * n == pytest.approx(hi_sim, abs=1e-9)


def test_coverage_is_the_observed_count_inside_the_interval():
    g = np.array([3] * 30 + [0] * 70, dtype=np.int64)
    z = np.zeros(100, dtype=bool)
    lo, hi = (int(stats.binom.ppf(q, 20, 0.3)) for q in (0.025, 0.975))
    for events in range(21):
        c = core.check_arm("g3plus", 20, events, g, z, z)
        assert c["covers"] == (lo <= events <= hi)
        olo, ohi = core.clopper_pearson(events, 20)
        assert c["ci_contains_simulated"] == (olo <= 0.3 <= ohi)


@pytest.mark.parametrize("endpoint,expected", [("g3plus", 2), ("g4", 1), ("any_grade", 3), ("orr", 2),
                                               ("vgpr_plus", 1)])
def test_endpoints_count_the_per_subject_columns(endpoint, expected):
    g = np.array([0, 1, 3, 4], dtype=np.int64)
    responder = np.array([True, False, True, False])
    vgpr = np.array([True, False, False, False])
    c = core.check_arm(endpoint, 4, 0, g, responder, vgpr)
    assert c["sim_events"] == expected and c["sim_n"] == 4


# --- sp.validate end to end ---------------------------------------------------------------------

ARMS = [
    {"arm_id": "a", "regimen": "xd_80_biw", "population": "rrmm_heavily_pretreated", "dose_rules": "label",
     "days": 28, "n": 20, "events": 9, "endpoint": "g3plus", "study": "test"},
    {"arm_id": "a", "regimen": "xd_80_biw", "population": "rrmm_heavily_pretreated", "dose_rules": "label",
     "days": 28, "n": 20, "events": 2, "endpoint": "g4", "study": "test"},
    {"arm_id": "b", "regimen": "xd_100_qw", "population": "rrmm_heavily_pretreated", "dose_rules": None,
     "days": 28, "n": 15, "events": 3, "endpoint": "orr"},
]


@pytest.fixture(scope="module")
def small():
    return sp.validate(ARMS, n_sim=60, seed=3, threads=1)


def test_validate_table_is_the_check_of_the_simulated_subjects(small):
    t = small.table
    assert list(t["arm_id"]) == ["a", "a", "b"]
    assert list(t["endpoint"]) == ["g3plus", "g4", "orr"]
    for _, r in t.iterrows():
        spec = next(a for a in ARMS if a["arm_id"] == r["arm_id"] and a["endpoint"] == r["endpoint"])
        s = sp.simulate_population(spec["regimen"], sp.population(spec["population"], n=60), days=spec["days"],
                                   seed=3, dose_rules=spec["dose_rules"], threads=1).subjects
        col = {"g3plus": s["worst_grade_lab"] >= 3, "g4": s["worst_grade_lab"] >= 4, "orr": s["responder"]}
        k = int(col[r["endpoint"]].sum())
        assert r["sim_events"] == k and r["sim_n"] == 60 and r["simulated"] == k / 60
        assert r["observed"] == spec["events"] / spec["n"]
        assert (r["observed_lo"], r["observed_hi"]) == core.clopper_pearson(spec["events"], spec["n"])
        lo = stats.binom.ppf(0.025, spec["n"], k / 60)
        hi = stats.binom.ppf(0.975, spec["n"], k / 60)
        assert (r["predicted_lo"], r["predicted_hi"]) == (lo / spec["n"], hi / spec["n"])
        assert r["covers"] == (lo <= spec["events"] <= hi)
    assert t.loc[0, "study"] == "test"
    assert small.coverage() == (int(t["covers"].sum()), 3)


def test_validate_does_not_depend_on_threads(small):
    other = sp.validate(ARMS, n_sim=60, seed=3, threads=2)
    pd.testing.assert_frame_equal(small.table, other.table)


def test_validate_reads_dataframes_and_csv(small, tmp_path):
    pd.testing.assert_frame_equal(sp.validate(pd.DataFrame(ARMS), n_sim=60, seed=3, threads=1).table, small.table)
    path = tmp_path / "arms.csv"
    pd.DataFrame(ARMS).to_csv(path, index=False)
    from_csv = sp.validate(path, n_sim=60, seed=3, threads=1).table
    cols = ["arm_id", "endpoint", "n", "events", "sim_events", "predicted_lo", "predicted_hi", "covers"]
    pd.testing.assert_frame_equal(from_csv[cols], small.table[cols])
    assert from_csv["dose_rules"].tolist() == ["label", "label", None]


def test_validate_forest_plot(small, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    ax = small.plot(tmp_path / "forest.png")
    assert (tmp_path / "forest.png").stat().st_size > 1000
    assert len(ax.get_yticklabels()) == 3
    md = small.to_markdown()
    assert md.count("\n") == 4 and "9/20 = 45.0" in md


@pytest.mark.parametrize("change,field,value", [
    ({"endpoint": "g5"}, "arms[0].endpoint", "g5"),
    ({"n": 0}, "arms[0].n", "0"),
    ({"n": -3}, "arms[0].n", "-3"),
    ({"n": 2.5}, "arms[0].n", "2.5"),
    ({"events": 21}, "arms[0].events", "21"),
    ({"events": None}, "arms[0].events", "None"),
    ({"days": 0}, "arms[0].days", "0"),
    ({"days": "long"}, "arms[0].days", "long"),
    ({"regimen": "xd_81_biw"}, "arms[0].regimen", "xd_81_biw"),
    ({"population": "rrmm_unknown"}, "arms[0].population", "rrmm_unknown"),
    ({"dose_rules": "label_daily"}, "arms[0].dose_rules", "label_daily"),
    ({"dose_rules": 3}, "arms[0].dose_rules", "3"),
])
def test_validate_bad_input_names_field_and_value(change, field, value):
    arm = {**ARMS[0], **change}
    expect_model_error(sp.validate, [arm], n_sim=2, threads=1, field=field, contains=[value])


def test_validate_bad_input_shapes():
    expect_model_error(sp.validate, [], field="arms")
    expect_model_error(sp.validate, {"arm_id": "a"}, field="arms")
    expect_model_error(sp.validate, ["a"], field="arms[0]")
    expect_model_error(sp.validate, "no/such/file.csv", field="arms", contains=["no/such/file.csv"])
    expect_model_error(sp.validate, [{k: v for k, v in ARMS[0].items() if k != "endpoint"}],
                       field="arms[0].endpoint")
    expect_model_error(sp.validate, ARMS, n_sim=0, field="n_sim")
    expect_model_error(sp.validate, ARMS, level=1.5, field="level", contains=["1.5"])
    # a regimen the engine refuses to simulate with the rules given: named at the arm's dose_rules
    expect_model_error(sp.validate, [{**ARMS[0], "regimen": "sd_45mgm2_biw"}], n_sim=2, threads=1,
                       field="arms[0].dose_rules", contains=["label"])
    expect_model_error(core.clopper_pearson, 3, 2, field="events")
    expect_model_error(core.clopper_pearson, -1, 2, field="events", contains=["-1"])
    expect_model_error(core.clopper_pearson, 1, 2, 1.5, field="level")
    expect_model_error(core.binomial_quantile, 10, 1.5, 0.5, field="p")
    z = np.zeros(3, dtype=bool)
    expect_model_error(core.check_arm, "orr", 5, 1, np.zeros(2, dtype=np.int64), z, z, field="subjects")
    expect_model_error(core.check_arm, "orr", 5, 1, np.zeros(0, dtype=np.int64), z[:0], z[:0], field="n_sim")


def test_shipped_table_is_valid_and_has_its_sources():
    t = pd.read_csv(TABLE)
    assert len(t) >= 1
    for col in ("study", "source", "url", "quote"):
        assert t[col].notna().all() and (t[col].str.len() > 10).all(), col
    assert set(t["endpoint"]) <= set(core.validation_endpoints())
    training = {"STORM part 2", "BOSTON", "SADAL"}
    assert not any(any(w in s for w in training) for s in t["study"])
    res = sp.validate(t.head(1), n_sim=20, threads=1)
    assert len(res.table) == 1


def test_shipped_table_uses_library_presets_once_per_arm_and_endpoint():
    t = pd.read_csv(TABLE)
    assert not t.duplicated(["arm_id", "endpoint"]).any()
    assert set(t["regimen"]) <= set(sp.presets())
    assert set(t["population"]) <= {"rrmm_heavily_pretreated", "rrmm_early_relapse"}
    assert ((t["events"] >= 0) & (t["events"] <= t["n"])).all()


def test_coverage_summary_counts_families_and_names_the_side_of_each_miss():
    from selinexor_pkpd.validation import _coverage_summary

    t = pd.DataFrame({
        "arm_id": ["a", "a", "b", "c"], "endpoint": ["g3plus", "g4", "orr", "orr"],
        "observed": [0.6, 0.1, 0.2, 0.5], "predicted_lo": [0.3, 0.15, 0.1, 0.2],
        "predicted_hi": [0.5, 0.3, 0.4, 0.6], "covers": [False, False, True, True]})
    text = _coverage_summary(t)
    assert "Thrombocytopenia (the platelet model): 0 of 2 arm-endpoints covered (1 arm; endpoints `g3plus`, `g4`)" in text
    assert "Response (the M-protein model): 2 of 2 arm-endpoints covered (2 arms; endpoints `orr`)" in text
    assert "`a` (g3plus): observed 60.0% lies above" in text and "too few events" in text
    assert "`a` (g4): observed 10.0% lies below" in text and "too many events" in text
    none = _coverage_summary(t[t["endpoint"] == "orr"])
    assert "Thrombocytopenia (the platelet model): no arm-endpoint" in none and "Misses: none." in none


def test_docs_generator_writes_the_page(tmp_path):
    from selinexor_pkpd.validation import main

    table = tmp_path / "arms.csv"
    pd.DataFrame(ARMS[:1]).to_csv(table, index=False)
    docs, fig = tmp_path / "validation.md", tmp_path / "forest.png"
    args = ["--table", str(table), "--n-sim", "20", "--threads", "1", "--write-docs", "--docs", str(docs),
            "--figure", str(fig)]
    assert main(args) == 0
    text = docs.read_text()
    assert "Coverage:" in text and "forest.png" in text and fig.stat().st_size > 1000
    main(args)
    assert docs.read_text() == text


# --- VPC of compare --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cmp():
    pop = sp.population("rrmm_heavily_pretreated", n=40)
    return sp.compare({"80 BIW": "xd_80_biw", "100 QW": "xd_100_qw"}, pop, days=56, seed=5, threads=1,
                      progress=False)


def test_vpc_quantiles_equal_numpy_quantiles_of_the_counts_at_lab_visits(cmp):
    pop = sp.population("rrmm_heavily_pretreated", n=40)
    for arm, preset in (("80 BIW", "xd_80_biw"), ("100 QW", "xd_100_qw")):
        v = cmp.vpc(arm)
        # the same daily observation grid as compare (output times cut the solver's steps)
        r = sp.simulate_population(preset, pop, days=56, seed=5, dose_rules="label", threads=1, observe=True)
        assert v["DAY"].tolist() == r.lab_days.tolist() == sp.regimen(preset).lab_days(56).tolist()
        assert r.lab_counts.shape == (40, len(r.lab_days))
        for j in range(len(r.lab_days)):
            counts = r.lab_counts[~np.isnan(r.lab_counts[:, j]), j]
            assert v.loc[j, "n"] == counts.size
            np.testing.assert_array_equal(v.loc[j, ["PLT_p05", "PLT_p50", "PLT_p95"]].to_numpy(dtype=float),
                                          np.quantile(counts, [0.05, 0.5, 0.95]))
    assert set(cmp.vpc()["arm"]) == {"80 BIW", "100 QW"}


def test_lab_counts_are_the_trajectory_at_the_visits_of_patients_on_treatment():
    """Without lab error, the count read at a visit is the simulated count that day; every patient
    still on treatment has the visit, and nobody has a visit after the end of their run."""
    pop = sp.population("rrmm_heavily_pretreated", n=30)
    r = sp.simulate_population("xd_80_biw", pop, days=84, seed=2, dose_rules="label", threads=1, observe=True)
    on = r.subjects["days_on_treatment"].to_numpy()
    for j, day in enumerate(r.lab_days):
        k = list(r.times_days).index(day)
        seen = ~np.isnan(r.lab_counts[:, j])
        np.testing.assert_allclose(r.lab_counts[seen, j], r.trajectories[seen, k], rtol=1e-12)
        assert seen[day < on].all()
    assert np.isnan(r.lab_counts).any(), "some patients stop before day 84"
    # scheduled visits until discontinuation: each patient's visits are a prefix of the schedule
    seen = ~np.isnan(r.lab_counts)
    assert (seen[:, :-1] >= seen[:, 1:]).all()
    # the grading reads these counts (and rechecks): no row's worst scheduled-visit grade exceeds it
    worst = np.array([sp.ctcae_grade(np.array([np.nanmin(row)]))[0] for row in r.lab_counts])
    assert (worst <= r.subjects["worst_grade_lab"].to_numpy()).all()


def test_vpc_reads_the_noisy_lab_counts():
    pop = sp.population("rrmm_heavily_pretreated", n=30)
    kw = dict(days=56, seed=4, threads=1, progress=False)
    exact = sp.compare(["xd_80_biw"], pop, **kw).vpc()
    noisy = sp.compare(["xd_80_biw"], pop, lab_error={"prop": 0.2}, **kw).vpc()
    assert (noisy["PLT_p50"] != exact["PLT_p50"]).any()
    r = sp.simulate_population("xd_80_biw", pop, days=56, seed=4, dose_rules="label", threads=1, observe=True,
                               lab_error={"prop": 0.2})
    counts = r.lab_counts[~np.isnan(r.lab_counts[:, 2]), 2]
    assert noisy.loc[2, "PLT_p50"] == np.quantile(counts, 0.5)


def test_vpc_plot_and_csv(cmp, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    axes = cmp.plot_vpc(tmp_path / "vpc.png")
    assert len(axes) == 2 and (tmp_path / "vpc.png").stat().st_size > 1000
    written = cmp.to_csv(tmp_path / "out")
    assert tmp_path / "out" / "vpc.csv" in written


def test_vpc_refused_without_counts_at_the_lab_visits():
    pop = sp.population("rrmm_heavily_pretreated", n=10)
    s = sp.compare(["xd_80_biw"], pop, days=28, threads=1, progress=False, summary_only=True)
    expect_model_error(s.vpc, field="observe", contains=["summary-only"])
    expect_model_error(s.plot_vpc, field="observe")
    none = sp.compare(["xd_80_biw"], pop, days=28, threads=1, progress=False, observe=False)
    expect_model_error(none.vpc, field="observe", contains=["observe=False"])
    sparse = sp.compare(["xd_80_biw"], pop, days=28, threads=1, progress=False, observe=[0.5, 27.5])
    assert sparse.vpc()["DAY"].tolist() == sp.regimen("xd_80_biw").lab_days(28).tolist()
    expect_model_error(sp.compare(["xd_80_biw"], pop, days=28, threads=1, progress=False).vpc, "xd_100_qw",
                       field="arm")
