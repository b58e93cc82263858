"""The calibration tooling (calibration/calib, calibration/calibrate.py): the targets file, the
objective against values of the script it replaced, the tomlkit writers, and the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomlkit

import selinexor_pkpd as sp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "calibration"))

from calib import fit, library, objective, targets, writers  # noqa: E402
from calib.physiology import occupancy_penalty, typical_checks  # noqa: E402
from calib.library import fmt  # noqa: E402
from calib.metrics import weighted_grouped_median  # noqa: E402

# The --init values of the shipped calibration (docs/calibration.md, command line).
SHIPPED_INIT = {"Imax": 0.6813, "kon": 2.361, "koff": 0.007966, "gamma": 0.1921, "tpo_half": 23.19, "fP": 0.9086,
                "cv_kon": 0.7268, "cv_Imax": 2.927, "P0_heavy": 102.5, "P0_early": 190.8, "P0_cv": 0.3567,
                "Emax_btz": 0.9995, "EC50_btz": 9.561e-5, "q_report": 0.5015}

# The objective of the 2026-11-22 targets file, pinned: computed with calib/ under the library of the
# shipped calibration (2026-12-08). (When calibrate.py was split into calib/, the same quantities
# under the 2026-11-22 library equalled those of the single-file script of commit d621d7e, plus the
# occupancy penalty; see git history.) They guard the objective, the discontinuation solve
# and a search stage against unintended changes.
FIT_2026_11_22 = ROOT / "calibration" / "experiments" / "fit_2026-11-22.toml"
OLD_SMALL = {  # Evaluator(n=30, seed=20261121, n_boston=20)
    "all arms, all params, shipped init": 121.13074953086289,
    "all arms, all params, start": 200.12500996158633,
    "short, storm + svd, 3 params, shipped init": 68.21659211310725,
    "no arms, stage-0 params, shipped init": 1.6003616963467948,
}
OLD_QUICK = {  # Evaluator(n=120, seed=20261121, n_boston=80), as --quick
    "start": 124.59203851834172,
    "disc_median": {"rrmm_heavily_pretreated": 56.0, "rrmm_early_relapse": 194.0},
    "start after solve_discontinuation": 124.45573590834101,
    "stage B, 6 evaluations": {"P0_early": 206.9510843613491, "EC50_btz": 2.2127471347564756e-05, "Emax_btz": 0.9932202194649937},
}


@pytest.fixture(scope="module")
def spec() -> targets.Spec:
    return targets.load()


@pytest.fixture(scope="module")
def old_spec() -> targets.Spec:
    return targets.load(FIT_2026_11_22)


def test_targets_file_loads_with_citations_and_starts_inside_bounds(spec):
    assert list(spec.arms) == ["storm", "svd", "vd", "dlbcl", "recovery"]
    assert len(spec.targets) == 14 and len({t.key for t in spec.targets}) == 14
    # storm_g3plus = grade 3 + grade 4; dlbcl_any is not among the training targets
    assert [t.key for t in spec.targets if not t.fit] == ["storm_g3plus", "dlbcl_any"]
    # fewer free parameters than fitted targets
    assert len(fit.fitted(spec)) < sum(t.fit for t in spec.targets)
    for t in spec.targets:
        assert t.source.strip(), f"{t.key} has no citation"
        assert t.arm in spec.arms
        assert (t.k is not None) != (t.value is not None), t.key
        assert t.se_obs > 0
    for a in spec.arms.values():
        assert a.population in spec.populations
        assert (a.time_on_treatment_days is None) == (a.observe == "daily")
        assert a.time_on_treatment_days is None or a.time_on_treatment_source.strip()
    for p in spec.populations.values():
        assert p.discontinuation_source.strip()
    assert len(spec.params) == 15
    for p in spec.params.values():
        assert p.lo < p.start < p.hi, p.name
        assert p.meaning.strip() and p.writes_to.strip()
        assert p.prior_sd is None or p.prior_sd > 0
    assert {name for _, free, *_ in fit.stages_of(spec) for name in free} <= set(spec.params)


def test_objective_equals_its_pinned_values(old_spec):
    spec = old_spec
    ev = objective.Evaluator(spec, 30, 20261121, 20)
    shipped = {**spec.start, **SHIPPED_INIT}
    everything, arms = list(spec.params), list(spec.arms)
    got = {"all arms, all params, shipped init": ev.objective(shipped, arms, everything)[0],
           "all arms, all params, start": ev.objective(spec.start, arms, everything)[0]}
    ev.short = True
    got["short, storm + svd, 3 params, shipped init"] = ev.objective(shipped, ["storm", "svd"], ["Imax", "kon", "q_report"])[0]
    got["no arms, stage-0 params, shipped init"] = ev.objective(shipped, [], fit.STAGES[0][1])[0]
    occ = {k: occupancy_penalty(typical_checks(spec.start if k.endswith("start") else shipped)) for k in got}
    assert occ["all arms, all params, shipped init"] > 0
    assert {k: v - occ[k] for k, v in got.items()} == pytest.approx(OLD_SMALL, rel=1e-10, abs=0)


def test_discontinuation_and_a_search_stage_equal_their_pinned_values(old_spec):
    spec = old_spec
    ev = objective.Evaluator(spec, 120, 20261121, 80)
    everything, arms = list(spec.params), list(spec.arms)
    occ = occupancy_penalty(typical_checks(spec.start))
    assert ev.objective(spec.start, arms, everything)[0] - occ == pytest.approx(OLD_QUICK["start"], rel=1e-10, abs=0)
    disc = fit.solve_discontinuation(ev, spec.start, lambda msg: None)
    assert {k: disc[k] for k in OLD_QUICK["disc_median"]} == OLD_QUICK["disc_median"]
    assert ev.objective(spec.start, arms, everything)[0] - occ == pytest.approx(
        OLD_QUICK["start after solve_discontinuation"], rel=1e-10, abs=0)
    x = fit.fit_stage(ev, spec.start, ["EC50_btz", "Emax_btz", "P0_early"], ["vd"], 6, "B: test", lambda msg: None)
    want = OLD_QUICK["stage B, 6 evaluations"]
    assert {k: x[k] for k in want} == pytest.approx(want, rel=1e-12, abs=0)


def changed_lines(before: str, after: str) -> list[int]:
    """Indices of the lines that differ (the files must have the same number of lines)."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(a) == len(b)
    return [i for i, (x, y) in enumerate(zip(a, b)) if x != y]


@pytest.mark.parametrize("file,path,value", [("platelets.toml", "platelets.kon", 3.142),
                                             ("drugs.toml", "drugs.bortezomib.params.EC50", 7.5e-5)])
def test_value_writer_changes_only_that_value_and_its_source(tmp_path, file, path, value):
    target = tmp_path / file
    shutil.copy(ROOT / "data" / file, target)
    before = target.read_text(encoding="utf-8")
    writers.edit_toml(target, lambda doc: writers.set_value(doc, path, value, "a new source"))
    after = target.read_text(encoding="utf-8")
    lines = changed_lines(before, after)
    assert len(lines) == 1
    *tables, key = path.split(".")
    old, new = tomlkit.parse(before).unwrap(), tomlkit.parse(after).unwrap()
    for k in tables:
        old, new = old[k], new[k]
    assert new[key] == {**old[key], "value": float(fmt(value)), "source": "a new source"}
    assert f"value = {fmt(value)}," in after.splitlines()[lines[0]]


def test_population_writer_changes_only_the_calibrated_lines(tmp_path):
    target = tmp_path / "populations.toml"
    shutil.copy(ROOT / "data" / "populations.toml", target)
    before = target.read_text(encoding="utf-8")
    pop = tomlkit.parse(before).unwrap()["populations"]["rrmm_early_relapse"]
    plt = pop["covariates"]["platelets"]

    def edit(doc):
        writers.set_population(doc["populations"]["rrmm_early_relapse"], 201.5, plt["cv"], pop["iiv"]["platelets.kon"],
                               pop["iiv"]["platelets.Imax"], pop["discontinuation"]["median_days"], "a new note")

    writers.edit_toml(target, edit)
    after = target.read_text(encoding="utf-8")
    lines = changed_lines(before, after)
    assert [after.splitlines()[i] for i in lines] == [
        "# calibrated: a new note",
        before.splitlines()[lines[1]].replace("median = 184.1,", "median = 201.5,"),
    ]
    assert tomlkit.parse(after).unwrap()["populations"]["rrmm_early_relapse"]["covariates"]["platelets"]["median"] == 201.5


def test_write_library_edits_only_the_calibrated_entries(tmp_path, spec):
    for file in ("platelets.toml", "drugs.toml", "populations.toml"):
        shutil.copy(ROOT / "data" / file, tmp_path / file)
    disc = {"rrmm_heavily_pretreated": 55.0, "rrmm_early_relapse": 444.0, "dlbcl_relapsed": 90.0}
    x = {**spec.start, "kon": 1.0, "EC50_btz": 5e-5, "P0_early": 197.0, "P0_cv": 0.45, "cv_kon": 0.6, "cv_Imax": 0.3,
         "Imax_heavy": 0.95}
    writers.write_library(tmp_path, spec, x, disc, fit.fitted(spec), lambda msg: None)
    for file in ("platelets.toml", "drugs.toml", "populations.toml"):
        before, after = (ROOT / "data" / file).read_text(encoding="utf-8"), (tmp_path / file).read_text(encoding="utf-8")
        for i in changed_lines(before, after):
            line = after.splitlines()[i]
            assert line.startswith(("# calibrated: ", "covariates.platelets =", "iiv =", "discontinuation =", "typical =")) or \
                line.split(" = ")[0] in {p.writes_to.split(".")[-1] for p in spec.params.values() if p.source}, line
    lib = {f: tomlkit.parse((tmp_path / f"{f}.toml").read_text(encoding="utf-8")).unwrap() for f in ("platelets", "drugs", "populations")}
    assert lib["platelets"]["platelets"]["kon"]["value"] == 1.0
    assert writers.calibrated_by() in lib["platelets"]["platelets"]["kon"]["source"]
    assert lib["drugs"]["drugs"]["bortezomib"]["params"]["EC50"]["value"] == 5e-5
    pops = lib["populations"]["populations"]
    early = pops["rrmm_early_relapse"]
    assert early["covariates"]["platelets"]["median"] == 197.0 and early["covariates"]["platelets"]["cv"] == 0.45
    assert early["iiv"] == {"platelets.kon": 0.6, "platelets.Imax": 0.3, "platelets.renewal": x["cv_renewal"]}
    assert early["discontinuation"]["median_days"] == 444.0
    # the population's own typical value, with its source; none in the others
    assert pops["rrmm_heavily_pretreated"]["typical"]["platelets.Imax"]["value"] == 0.95
    assert writers.calibrated_by() in pops["rrmm_heavily_pretreated"]["typical"]["platelets.Imax"]["source"]
    assert "typical" not in early


def test_ae_reporting_round_trip(tmp_path):
    path = tmp_path / "ae_reporting.json"
    assert writers.load_q_report(path) == 1.0
    writers.write_ae_reporting(0.4175, lambda msg: None, path=path)
    assert writers.load_q_report(path) == 0.4175


def test_command_line_help():
    out = subprocess.run([sys.executable, str(ROOT / "calibration" / "calibrate.py"), "--help"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    for flag in ("--write", "--verify", "--n", "--seed", "--maxiter", "--check-n", "--check-seed", "--quick", "--intervals"):
        assert flag in out


def test_experiment_targets_file_carries_its_own_stages():
    # calibration/experiments/marrow_reserve.toml: a structure experiment run with --targets
    exp = targets.load(ROOT / "calibration" / "experiments" / "marrow_reserve.toml")
    assert exp.stages and [s[0][0] for s in exp.stages] == ["0", "B", "A", "C"]
    free = fit.fitted(exp)
    assert {"renewal", "cv_renewal"} <= free <= set(exp.params)
    assert "tpo_half" not in exp.params  # held at the library value
    assert all(t.fit for t in exp.targets if t.key != "storm_g3plus")
    # the 2026-11-22 file has none: the default stages
    assert targets.load(FIT_2026_11_22).stages is None and fit.stages_of(targets.load(FIT_2026_11_22)) == fit.STAGES


def test_a_stage_naming_an_unknown_parameter_is_refused(tmp_path):
    text = (ROOT / "calibration" / "experiments" / "marrow_reserve.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('free = ["EC50_btz"]', 'free = ["EC50_btz", "nope"]'), encoding="utf-8")
    with pytest.raises(ValueError, match="nope"):
        targets.load(bad)


@pytest.mark.parametrize("path", sorted((ROOT / "calibration" / "experiments").glob("*.toml")), ids=lambda p: p.stem)
def test_every_free_platelet_parameter_of_an_experiment_reaches_the_engine(path):
    """A candidate's `platelets.*` values go to the simulation (``params=``): one that did not would
    leave the experiment running the library's value whatever the search tried."""
    exp = targets.load(path)
    x = {**exp.start}
    sent = library.typical_params(x)["platelets"]
    for name, p in exp.params.items():
        if p.writes_to.startswith("platelets."):
            assert sent[p.writes_to.split(".", 1)[1]] == x[name], name


def test_check_point_refuses_unknown_parameters_and_writing():
    cmd = [sys.executable, str(ROOT / "calibration" / "calibrate.py"), "--check-point"]
    out = subprocess.run(cmd + ['{"nope": 1}'], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode != 0 and "unknown parameters ['nope']" in out.stderr
    out = subprocess.run(cmd + ['{"kon": 1}', "--write"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode != 0 and "writes nothing" in out.stderr


def test_experiment_is_never_written():
    out = subprocess.run([sys.executable, str(ROOT / "calibration" / "calibrate.py"), "--targets",
                          str(ROOT / "calibration" / "experiments" / "marrow_reserve.toml"), "--write"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode != 0 and "--write needs the shipped targets file" in out.stderr


@pytest.mark.parametrize("path", sorted((ROOT / "calibration" / "experiments").glob("*.toml")), ids=lambda p: p.stem)
def test_every_free_iiv_of_an_experiment_reaches_its_populations(path):
    """An IIV written to one population (``populations.<name>.iiv.<param>``) or to all (``*``) is
    the one that population's library override and search cohort use; a population's own value
    takes precedence over the shared one."""
    exp = targets.load(path)
    disc = {name: 100.0 for name in library.BASELINE_MEDIAN}
    for name, p in exp.params.items():
        parts = p.writes_to.split(".")
        if parts[0] != "populations" or parts[2] != "iiv":
            continue
        x = {**exp.start, name: exp.start[name] * 1.5}
        iiv_key = ".".join(parts[3:])
        over = library.library_override(x, disc)["populations"]
        targeted = library.BASELINE_MEDIAN if parts[1] == "*" else [parts[1]]
        for pop in targeted:
            own = f"{name}_{library.POPULATION_SUFFIX[pop]}"
            expected = x[own] if parts[1] == "*" and own in x else x[name]
            assert over[pop]["iiv"][iiv_key] == library.rnd(expected), (name, pop)


def test_a_population_value_overrides_the_shared_one_in_the_search_cohort():
    import numpy as np
    from scipy import special

    from calib.cohort import Cohort
    x = {"P0_heavy": 110.0, "P0_early": 180.0, "P0_cv": 0.37, "kon": 2.0, "cv_kon": 0.5, "Imax": 0.8,
         "cv_Imax": 0.4, "cv_Imax_heavy": 2.0}
    for pop, cv in (("rrmm_heavily_pretreated", 2.0), ("rrmm_early_relapse", 0.4)):
        c = Cohort(pop, 40, 3)
        t = c.table(x, None)
        spread = (special.logit(t["platelets.Imax"].to_numpy()) - special.logit(0.8)) / c.z_imax
        np.testing.assert_allclose(spread, np.sqrt(np.log(1 + cv ** 2)), rtol=1e-9)
        assert library.population_value(x, "cv_Imax", pop) == cv


def test_a_population_typical_value_reaches_only_its_population_in_the_library_override():
    exp = targets.load(ROOT / "calibration" / "experiments" / "population_typical.toml")
    x = {**exp.start, "Imax_heavy": 0.9}
    pops = library.library_override(x, {name: 100.0 for name in library.BASELINE_MEDIAN})["populations"]
    assert pops["rrmm_heavily_pretreated"]["typical"]["platelets.Imax"]["value"] == 0.9
    assert all("typical" not in pops[p] for p in ("rrmm_early_relapse", "dlbcl_relapsed"))
    # the search sends each population's own typical values; the shared ones elsewhere
    assert library.typical_params(x, "rrmm_heavily_pretreated")["platelets"]["Imax"] == 0.9
    assert library.typical_params(x, "rrmm_early_relapse")["platelets"]["Imax"] == x["Imax"]
    # P0_heavy is the baseline-platelet median, not the population's platelets.P0
    assert "P0" not in library.typical_params(x, "rrmm_heavily_pretreated")["platelets"]


def test_shipped_values_read_a_population_typical_value(spec):
    x, _ = library.shipped_values(spec, 0.2)
    lib = sp.Library().to_dict()
    assert x["Imax_heavy"] == lib["populations"]["rrmm_heavily_pretreated"]["typical"]["platelets.Imax"]["value"]
    assert x["Imax"] == lib["platelets"]["Imax"]["value"] != x["Imax_heavy"]


def test_joint_profile_minimum_and_interval_of_a_known_parabola():
    import joint_baseline

    def rows(grid, centre=118.5, curvature=0.02, floor=42.0):
        return [{"P0_heavy": p, "total": floor + curvature * (p - centre) ** 2} for p in grid]

    best, (lo, hi) = joint_baseline.minimum(rows([100.0, 110.0, 120.0, 130.0, 140.0, 150.0]))
    assert best == pytest.approx(118.5, rel=1e-9)
    # 3.841 above the minimum: 118.5 -/+ 13.86 on the parabola, read off the grid by linear
    # interpolation (which, on a convex profile, lies inside those points)
    f = lambda p: 42.0 + 0.02 * (p - 118.5) ** 2  # noqa: E731
    assert lo == pytest.approx(100.0 + 10.0 * (f(100.0) - 45.841) / (f(100.0) - f(110.0)), rel=1e-12)
    assert hi == pytest.approx(130.0 + 10.0 * (45.841 - f(130.0)) / (f(140.0) - f(130.0)), rel=1e-12)
    assert 118.5 - 13.86 < lo < 118.5 and 118.5 < hi < 118.5 + 13.86
    best, (lo, hi) = joint_baseline.minimum(rows([110.0, 115.0, 120.0, 125.0, 130.0]))
    assert lo is None and hi is None  # the grid does not reach the interval's ends
    with pytest.raises(SystemExit, match="grid's edge"):
        joint_baseline.minimum(rows([120.0, 130.0, 140.0]))


def test_onset_median_dates_events_by_the_visit_that_observes_them():
    days = np.array([1.0, 8.0, 15.0, 22.0, 29.0, 43.0])
    # every event seen on day 15, between evenly spaced visits: day 15 (not a day before it)
    assert weighted_grouped_median(days, np.array([0.0, 0.0, 3.0, 0.0, 0.0, 0.0])) == pytest.approx(15.0)
    # a quarter on day 22, half on day 29: the median lies a half-way into day 29's class (25.5-36)
    assert weighted_grouped_median(days, np.array([0.0, 0.0, 0.0, 1.0, 2.0, 1.0])) == pytest.approx(30.75)
    # always inside the class of the plain median (the visit where the cumulative share reaches 1/2)
    edges = np.concatenate([[-2.5], 0.5 * (days[1:] + days[:-1]), [50.0]])
    for w in np.random.default_rng(5).random((200, len(days))) ** 3:
        plain = int(np.searchsorted(np.cumsum(w) / w.sum(), 0.5))
        assert edges[plain] - 1e-9 <= weighted_grouped_median(days, w) <= edges[plain + 1] + 1e-9
