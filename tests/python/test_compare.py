"""The main job: compare() of once- vs twice-weekly selinexor, its result object, files, figures
and the ``selinexor-pkpd compare`` command line.

Small runs only (40 patients, 8 weeks): the whole file takes well under a minute on 2 cores.
Tests of known bugs are marked ``xfail(strict=True)``: they describe the intended behaviour and
start failing (XPASS) once the bug is fixed, so the marker can be removed.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import selinexor_pkpd as sp
from conftest import expect_model_error

N = 40
DAYS = 56.0
ARMS = list(sp.DEFAULT_ARMS)  # 100/80/60 mg QW, 80/60/40 mg BIW
INCIDENCES = ["g3plus_lab", "g3_lab", "g4_lab", "g3plus", "g3", "g4", "any_grade", "interrupted", "reduced",
              "modified"]
INCIDENCE_COLS = ["n"] + [f"{k}{s}" for k in INCIDENCES for s in ("", "_lo", "_hi")]
OUTPUT_FILES = ["summary.csv", "differences.csv", "subjects.csv", "bands.csv", "vpc.csv", "inputs.json", "compare.png",
                "vpc.png"]
compare_module = importlib.import_module("selinexor_pkpd.compare")  # the module (sp.compare is the function)


@pytest.fixture(scope="module")
def pop():
    return sp.population("rrmm_heavily_pretreated", n=N)


@pytest.fixture(scope="module")
def res(pop):
    """The default six arms with the label's dose rules, full mode."""
    return sp.compare(population=pop, days=DAYS, progress=False)


@pytest.fixture(scope="module")
def res_summary_only(pop):
    return sp.compare(population=pop, days=DAYS, progress=False, summary_only=True)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _png_shape(path: Path) -> tuple[int, ...]:
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    return img.shape


def _assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 10_000, path
    shape = _png_shape(path)
    assert len(shape) == 3 and shape[2] in (3, 4), shape
    assert shape[0] >= 600 and shape[1] >= 1000, f"small multiples and two panels expected, got {shape}"


# --------------------------------------------------------------------------------------------------
# (a) the command line, end to end
# --------------------------------------------------------------------------------------------------

def _cli() -> list[str]:
    """The installed console script of this interpreter's environment, else ``python -m``."""
    scripts = Path(sys.executable).parent
    for name in ("selinexor-pkpd", "selinexor-pkpd.exe"):
        if (scripts / name).is_file():
            return [str(scripts / name)]
    return [sys.executable, "-m", "selinexor_pkpd.cli"]


def _run(args: list[str], cmd: list[str] | None = None, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run((cmd or _cli()) + args, capture_output=True, text=True, timeout=300, env=env, **kw)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "out"
    p = _run(["compare", "--n", str(N), "--days", f"{DAYS:g}", "--out", str(out), "--quiet"])
    return p, out


def test_cli_compare_exit_code_and_table(cli_run):
    p, _ = cli_run
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    for arm in ARMS:
        assert arm in p.stdout
    for col in ("G3 % (95% CI)", "G4 % (95% CI)", "G3+ % (95% CI)", "nadir med (p5-p95), 10^9/L", "mg/wk",
                "AUC/wk, mg.h/L", "on tx, d"):
        assert col in p.stdout, f"column {col!r} missing from the printed table"
    assert f"{N} patients" in p.stdout
    assert "compare:" not in p.stderr, "--quiet must not draw a progress bar"


def test_cli_compare_files(cli_run, res):
    p, out = cli_run
    assert p.returncode == 0, p.stderr
    for f in OUTPUT_FILES:
        assert (out / f).is_file(), f"{f} not written"
        assert f in p.stdout, f"{f} not listed in the output"
    summary = pd.read_csv(out / "summary.csv", index_col="arm")
    assert list(summary.index) == ARMS
    assert (summary["n"] == N).all()
    assert list(summary["regimen"]) == list(sp.DEFAULT_ARMS.values())
    # the CLI runs the same comparison as the API with the same defaults (seed, label rules)
    for col in INCIDENCE_COLS + ["nadir_median", "dose_intensity_mg_week_mean"]:
        np.testing.assert_array_equal(summary[col].to_numpy(float), res.summary[col].to_numpy(float), err_msg=col)
    diff = pd.read_csv(out / "differences.csv")
    assert set(diff.columns) >= {"arm", "reference", "metric", "difference", "lo", "hi", "n"}
    assert list(dict.fromkeys(diff["arm"])) == ARMS[1:], "no reference-vs-itself rows"
    assert set(diff["unit"]) == {"fraction", "10^9/L", "mg/week", "mg.h/L", "days"}
    subjects = pd.read_csv(out / "subjects.csv")
    assert len(subjects) == N * len(ARMS)
    assert {"arm", "ID", "nadir", "worst_grade_lab", "dose_intensity_mg_week"} <= set(subjects.columns)
    bands = pd.read_csv(out / "bands.csv")
    assert list(bands.columns) == ["arm", "DAY", "PLT_p05", "PLT_p50", "PLT_p95", "PLT_on_p05", "PLT_on_p50",
                                   "PLT_on_p95", "n_on_treatment", "on_treatment"]
    assert len(bands) == len(ARMS) * (int(DAYS) + 1)
    assert (bands["PLT_p05"] <= bands["PLT_p50"]).all() and (bands["PLT_p50"] <= bands["PLT_p95"]).all()
    inputs = json.loads((out / "inputs.json").read_text(encoding="utf-8"))
    assert inputs["population"]["n"] == N and inputs["days"] == DAYS and inputs["dose_rules"] == "label"
    assert list(inputs["arms"]) == ARMS
    _assert_png(out / "compare.png")
    _assert_png(out / "vpc.png")
    vpc = pd.read_csv(out / "vpc.csv")
    assert list(vpc.columns) == ["arm", "DAY", "n", "PLT_p05", "PLT_p50", "PLT_p95"]
    assert list(dict.fromkeys(vpc["arm"])) == ARMS
    assert (vpc["PLT_p05"] <= vpc["PLT_p50"]).all() and (vpc["PLT_p50"] <= vpc["PLT_p95"]).all()


def test_cli_help():
    for args in (["--help"], ["compare", "--help"]):
        p = _run(args)
        assert p.returncode == 0, p.stderr
        assert "usage: selinexor-pkpd" in p.stdout
    p = _run(["compare", "--help"])
    for opt in ("--n", "--days", "--arms", "--population", "--platelets-median", "--seed", "--rules", "--no-rules",
                "--summary-only", "--out", "--quiet", "--threads"):
        assert opt in p.stdout, opt
    # python -m works too
    p = _run(["--help"], cmd=[sys.executable, "-m", "selinexor_pkpd.cli"])
    assert p.returncode == 0 and "compare" in p.stdout


def test_cli_help_of_every_subcommand_shows_defaults():
    p = _run(["compare", "--help"])
    assert "--seed SEED" in p.stdout and "(default: 20261121)" in p.stdout
    assert "(default: 1000)" in p.stdout and "(default: label)" in p.stdout and "(default: png)" in p.stdout
    assert "--format" in p.stdout
    p = _run(["simulate", "--help"])
    assert p.returncode == 0
    for text in ("--every HOURS", "(default: 1.0)", "--out", "(default: 28.0)", "PROL", "10^9/L", "C_<drug>", "mg/L"):
        assert text in p.stdout, text
    for sub in ("escalate", "presets"):
        p = _run([sub, "--help"])
        assert p.returncode == 0 and "usage: selinexor-pkpd " + sub in p.stdout
    p = _run(["escalate", "--help"])
    assert "(default: 20261207)" in p.stdout and "(default: 3+3)" in p.stdout
    # every option of every subcommand has a help text
    from selinexor_pkpd import cli

    parser_text = Path(cli.__file__).read_text(encoding="utf-8")
    assert parser_text.count("add_argument(") == parser_text.count("help=") - parser_text.count("add_parser(")


def test_cli_simulate_units_every_and_out(tmp_path):
    p = _run(["simulate", "xd_80_biw", "--days", "2", "--every", "6"])
    assert p.returncode == 0, p.stderr
    header = p.stdout.splitlines()[0]
    for col in ("TIME (h)", "DAY (d)", "C_selinexor (mg/L)", "PLT (10^9/L)", "TPO (ratio)", "PROL (10^9/L)"):
        assert col in header, col
    assert len(p.stdout.splitlines()) == 1 + 2 * 24 // 6 + 1
    out = tmp_path / "typical.csv"
    p = _run(["simulate", "xd_80_biw", "--days", "1", "--every", "0.5", "--out", str(out)])
    assert p.returncode == 0, p.stderr
    df = pd.read_csv(out)
    assert len(df) == 49 and "C_selinexor (mg/L)" in df.columns
    # hourly rows catch the peak, not only the pre-dose troughs
    assert df["C_selinexor (mg/L)"].max() > 0.4
    p = _run(["simulate", "xd_80_biw", "--every", "0"])
    assert p.returncode == 2 and "--every" in p.stderr and "Traceback" not in p.stderr


def test_cli_presets_have_descriptions():
    p = _run(["presets"])
    assert p.returncode == 0, p.stderr
    lib = sp.Library().to_dict()
    lines = p.stdout.splitlines()
    for name in ("xd_80_biw", "xd_100_qw", "rrmm_heavily_pretreated", "label_biw", "selinexor"):
        line = next(l for l in lines if l.strip().startswith(name + " "))
        assert len(line.split(None, 1)[1]) > 20, line
    desc = lib["regimens"]["xd_100_qw"]["description"]
    assert any(desc[:40] in l for l in lines)


def test_cli_figure_formats(tmp_path):
    out = tmp_path / "o"
    p = _run(["compare", "--arms", "xd_80_qw,xd_40_biw", "--n", "10", "--days", "28", "--out", str(out), "--quiet",
              "--format", "png,svg"])
    assert p.returncode == 0, p.stderr
    assert (out / "compare.png").is_file() and (out / "compare.svg").is_file()
    assert "Finding:" in p.stdout and "Paired differences against xd_80_qw" in p.stdout
    p = _run(["compare", "--n", "5", "--out", str(out), "--format", "gif"])
    assert p.returncode == 2 and "--format" in p.stderr


def test_cli_bad_arm_is_a_clean_error(tmp_path):
    p = _run(["compare", "--arms", "xd_80_biw,nope", "--n", "5", "--days", "14", "--out", str(tmp_path / "o"), "--quiet"])
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "error:" in p.stderr and "nope" in p.stderr
    assert "Traceback" not in p.stderr


def test_cli_per_arm_rules(tmp_path):
    """``--arms PRESET=RULES``: each arm with its own rule sets, the same run as compare's per-arm dict."""
    out = tmp_path / "o"
    p = _run(["compare", "--arms", "xd_80_biw=none,xd_100_qw=label+transfuse_below_10", "--n", "40", "--days", "84",
              "--out", str(out), "--quiet", "--threads", "1"])
    assert p.returncode == 0, p.stderr
    cli = pd.read_csv(out / "subjects.csv")
    api = sp.compare(["xd_80_biw", "xd_100_qw"], sp.population("rrmm_heavily_pretreated", n=40), days=84,
                     dose_rules={"xd_80_biw": None, "xd_100_qw": ["label", "transfuse_below_10"]}, threads=1).subjects
    for col in ("n_interruptions", "n_reductions", "n_transfusions", "days_g4"):
        np.testing.assert_allclose(cli[col].to_numpy(), api[col].to_numpy(), rtol=1e-12, err_msg=col)
    per_arm = cli.groupby("arm")[["n_interruptions", "n_reductions"]].sum().sum(axis=1)
    assert per_arm["xd_80_biw"] == 0 and per_arm["xd_100_qw"] > 0
    for bad, words in [("xd_80_biw=,xd_100_qw", "'=RULES'"), ("xd_80_biw,xd_80_biw=label", "more than once")]:
        p = _run(["compare", "--arms", bad, "--n", "5", "--days", "14", "--out", str(out), "--quiet"])
        assert p.returncode == 2 and "--arms" in p.stderr and words in p.stderr, p.stderr


# --------------------------------------------------------------------------------------------------
# (b) identical arms: exactly zero differences
# --------------------------------------------------------------------------------------------------

def test_identical_arms_zero_differences(pop):
    r = sp.compare({"a": "xd_80_biw", "b": "xd_80_biw"}, pop, days=DAYS, progress=False)
    for d in (r.differences(include_reference=True), r.differences(reference="b", include_reference=True)):
        assert len(d) == 2 * len(compare_module.PAIRED)
        assert set(d["metric"]) == set(compare_module.PAIRED)
        for col in ("difference", "lo", "hi"):
            assert (d[col] == 0.0).all(), d[d[col] != 0.0]
        assert (d["n"] == N).all()
    cols = [c for c in r.summary.columns if c != "regimen"]
    np.testing.assert_array_equal(r.summary.loc["a", cols].to_numpy(float), r.summary.loc["b", cols].to_numpy(float))
    sa = r.subjects[r.subjects["arm"] == "a"].drop(columns="arm").reset_index(drop=True)
    sb = r.subjects[r.subjects["arm"] == "b"].drop(columns="arm").reset_index(drop=True)
    pd.testing.assert_frame_equal(sa, sb, check_exact=True)


def test_differences_against_the_reference_arm(res):
    d = res.differences(reference="80 mg BIW")
    assert (d["reference"] == "80 mg BIW").all()
    assert "80 mg BIW" not in set(d["arm"]), "the reference against itself is left out"
    own = res.differences(reference="80 mg BIW", include_reference=True)
    own = own[own["arm"] == "80 mg BIW"]
    assert len(own) == len(compare_module.PAIRED)
    assert (own[["difference", "lo", "hi"]] == 0.0).all().all()
    row = d[(d["arm"] == "100 mg QW") & (d["metric"] == "g3plus_lab")].iloc[0]
    s = res.summary
    assert row["difference"] == pytest.approx(s.loc["100 mg QW", "g3plus_lab"] - s.loc["80 mg BIW", "g3plus_lab"], abs=1e-12)
    assert row["lo"] <= row["difference"] <= row["hi"]
    # the default reference is the first arm
    assert (res.differences()["reference"] == ARMS[0]).all()


def test_differences_do_not_depend_on_how_the_reference_was_chosen(pop):
    """Computed while streaming (reference= at compare) or afterwards from the subject table."""
    arms = {"100 mg QW": "xd_100_qw", "80 mg BIW": "xd_80_biw"}
    a = sp.compare(arms, pop, days=DAYS, progress=False, reference="80 mg BIW").differences()
    b = sp.compare(arms, pop, days=DAYS, progress=False).differences(reference="80 mg BIW")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------------------
# (c) dose-response on the same patients
# --------------------------------------------------------------------------------------------------

def test_common_random_numbers(res):
    s = res.subjects
    for col in ("weight", "age", "P0", "platelets.kon", "selinexor.CL"):
        piv = s.pivot(index="ID", columns="arm", values=col)
        assert (piv.nunique(axis=1) == 1).all(), f"{col} differs between arms"
    # Time on treatment is shared too, except where an arm's dose rules stopped selinexor.
    never_stopped = ~s.groupby("ID")["stopped_by_rule"].any()
    piv = s.pivot(index="ID", columns="arm", values="days_on_treatment")[never_stopped]
    assert len(piv) > 0 and (piv.nunique(axis=1) == 1).all()


@pytest.mark.parametrize("higher, lower", [("100 mg QW", "80 mg QW"), ("80 mg QW", "60 mg QW"),
                                           ("80 mg BIW", "60 mg BIW"), ("60 mg BIW", "40 mg BIW")])
def test_higher_dose_not_less_grade3(res, higher, lower):
    s = res.summary
    for k in ("g3plus_lab", "g3plus"):
        assert s.loc[higher, k] >= s.loc[lower, k], (k, s.loc[[higher, lower], k].to_dict())
    # the paired difference says the same
    d = res.differences(reference=lower)
    g = d[(d["arm"] == higher) & (d["metric"] == "g3plus_lab")].iloc[0]
    assert g["difference"] >= 0.0


def test_stop_by_the_rules_ends_treatment(pop):
    r = sp.compare({"40 mg BIW": "xd_40_biw"}, pop, days=168, progress=False)  # ladder 40 BIW -> 60 QW -> stop
    s = r.subjects
    stopped = s[s["stopped_by_rule"]]
    assert len(stopped) > 0
    # stopped early (received under half the plan) yet "on treatment" until the last day of the run
    bad = stopped[(stopped["days_on_treatment"] >= 168.0) & (stopped["relative_dose_intensity"] < 0.5)]
    assert bad.empty, bad[["ID", "days_on_treatment", "relative_dose_intensity", "dose_intensity_mg_week"]]


def test_higher_dose_lower_nadir_for_every_patient_without_rules(pop):
    """Without dose modification the model is monotone patient by patient."""
    r = sp.compare(population=pop, days=DAYS, dose_rules=None, progress=False)
    nadir = r.subjects.pivot(index="ID", columns="arm", values="nadir")
    grade = r.subjects.pivot(index="ID", columns="arm", values="worst_grade")
    for higher, lower in [("100 mg QW", "80 mg QW"), ("80 mg QW", "60 mg QW"),
                          ("80 mg BIW", "60 mg BIW"), ("60 mg BIW", "40 mg BIW")]:
        assert (nadir[higher] <= nadir[lower]).all(), (higher, lower)
        assert (grade[higher] >= grade[lower]).all(), (higher, lower)
    assert (r.subjects["n_reductions"] == 0).all() and (r.subjects["n_interruptions"] == 0).all()


# --------------------------------------------------------------------------------------------------
# (d) figures
# --------------------------------------------------------------------------------------------------

def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def test_plot_renders_png_with_agg(res, tmp_path):
    import matplotlib
    from matplotlib.axes import Axes

    assert matplotlib.get_backend().lower() == "agg"
    path = tmp_path / "compare.png"
    axes = res.plot(path, formats=["svg", "pdf"])
    assert len(axes) == len(ARMS) + 2 and all(isinstance(ax, Axes) for ax in axes)
    _assert_png(path)
    assert (tmp_path / "compare.svg").stat().st_size > 10_000 and (tmp_path / "compare.pdf").stat().st_size > 5_000
    # small multiples: one platelet panel per arm, titled by the arm, on one y scale from 0
    assert [ax.get_title() for ax in axes[:len(ARMS)]] == ARMS
    assert all(ax.get_ylim() == axes[0].get_ylim() for ax in axes[:len(ARMS)])
    assert axes[0].get_ylim()[0] == 0.0
    # forest plot: one row per arm other than the reference, around zero
    forest, dose = axes[-2], axes[-1]
    assert [t.get_text() for t in forest.get_yticklabels()] == ARMS[1:]  # top to bottom
    lo, hi = forest.get_xlim()
    assert lo < 0 < hi and lo == pytest.approx(-hi)
    # incidence vs delivered dose: y from 0 to 100%, QW and BIW with different markers
    assert dose.get_ylim() == (0.0, 100.0) and dose.get_xlim()[0] == 0.0
    labels = [t.get_text() for t in dose.get_legend().get_texts()]
    assert "once weekly (QW)" in labels and "twice weekly (BIW)" in labels
    markers = {l.get_marker() for l in dose.get_lines() if l.get_marker() not in (None, "None", "")}
    assert {"o", "s"} <= markers
    # readable at 100% zoom: every text at least 10 pt
    fig = axes[0].figure
    small = [(t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < 10]
    assert not small, small
    assert res.plot() is not None


def test_plot_summary_only(res_summary_only, tmp_path):
    path = tmp_path / "so.png"
    axes = res_summary_only.plot(path)
    assert len(axes) == len(ARMS) + 2
    _assert_png(path)
    # the forest plot needs no subjects: the paired sums are streamed
    assert len(axes[-2].get_yticklabels()) == len(ARMS) - 1


# --------------------------------------------------------------------------------------------------
# (e) files and reproduction from inputs.json
# --------------------------------------------------------------------------------------------------

def test_to_csv_then_from_inputs_is_bit_identical(res, tmp_path):
    written = res.to_csv(tmp_path)
    assert {p.name for p in written} == {"summary.csv", "differences.csv", "subjects.csv", "bands.csv", "vpc.csv",
                                         "inputs.json"}
    again = sp.from_inputs(tmp_path / "inputs.json")
    pd.testing.assert_frame_equal(again.summary, res.summary, check_exact=True)
    pd.testing.assert_frame_equal(again.subjects, res.subjects, check_exact=True)
    pd.testing.assert_frame_equal(again.bands(), res.bands(), check_exact=True)
    pd.testing.assert_frame_equal(again.vpc(), res.vpc(), check_exact=True)
    # the CSV round trip is exact too
    back = pd.read_csv(tmp_path / "summary.csv", index_col="arm")
    np.testing.assert_array_equal(back.drop(columns="regimen").to_numpy(float),
                                  res.summary.drop(columns="regimen").to_numpy(float))
    # and from the dict
    again2 = sp.from_inputs(json.loads((tmp_path / "inputs.json").read_text(encoding="utf-8")))
    pd.testing.assert_frame_equal(again2.summary, res.summary, check_exact=True)


def test_table_is_readable(res):
    t = res.table()
    assert list(t.index) == ARMS
    for col in ("G3+ % (95% CI)", "G3 % (95% CI)", "G4 % (95% CI)", "interr % (95% CI)", "reduc % (95% CI)"):
        assert t[col].str.match(r"^\d+ \(\d+-\d+\)$").all(), col
    assert t["on tx, d"].str.match(r"^\d+$").all()
    assert t["mg/wk"].str.match(r"^\d+$").all()


def _parse_report(text: str) -> dict:
    """The printed report read back: incidence rows, difference rows, the finding."""
    lines = text.splitlines()
    inc = {}
    i = lines.index("Incidence, % of patients (95% CI):") + 2
    header = lines[i]
    assert "G3+ % (95% CI)" in header and "G4 % (95% CI)" in header
    for line in lines[i + 2:]:
        if not line.strip():
            break
        arm = next(a for a in ARMS if line.startswith(a))
        cells = re.findall(r"(\d+) \((\d+)-(\d+)\)", line[len(arm):])
        inc[arm] = [tuple(int(x) for x in c) for c in cells]
    start = next(k for k, l in enumerate(lines) if l.startswith("Paired differences against"))
    diffs = {}
    for line in lines[start + 4:]:
        if not line.strip():
            break
        arm = next(a for a in ARMS if line.startswith(a))
        diffs[arm] = re.findall(r"([+-]?[\d.]+) \(([+-]?[\d.]+) to ([+-]?[\d.]+)\)", line[len(arm):])
    finding = " ".join(lines[next(k for k, l in enumerate(lines) if l.startswith("Finding:")):])
    return {"incidence": inc, "differences": diffs, "finding": finding, "reference": lines[start]}


def test_printed_report(res):
    text = res.report()
    rep = _parse_report(text)
    # every incidence (G3+, G3, G4, interrupted, reduced) with its CI, matching the summary
    assert list(rep["incidence"]) == ARMS
    s = res.summary
    for arm, cells in rep["incidence"].items():
        assert len(cells) == 5, (arm, cells)
        for (p, lo, hi), key in zip(cells, ("g3plus_lab", "g3_lab", "g4_lab", "interrupted", "reduced")):
            assert lo <= p <= hi
            assert p == round(100 * s.loc[arm, key])
    # a legend defines the abbreviations of the headers
    for word in ("Legend:", "G3+:", "interr", "reduc", "recov:", "on tx:", "mg/wk:", "X>0.5:", "pp: percentage points"):
        assert word in text, word
    # paired differences against the reference, with CIs, without the reference itself
    assert "100 mg QW" in rep["reference"]
    assert list(rep["differences"]) == ARMS[1:]
    d = res.differences()
    for arm, cells in rep["differences"].items():
        # G3+, G4, dose modified, nadir, mg/wk, then (efficacy, added later) ORR and >=VGPR
        assert len(cells) == 7, (arm, cells)
        g3 = d[(d["arm"] == arm) & (d["metric"] == "g3plus_lab")].iloc[0]
        assert float(cells[0][0]) == pytest.approx(100 * g3["difference"], abs=0.051)
        assert float(cells[0][1]) <= float(cells[0][0]) <= float(cells[0][2])
        orr = d[(d["arm"] == arm) & (d["metric"] == "orr")].iloc[0]
        assert float(cells[5][0]) == pytest.approx(100 * orr["difference"], abs=0.051)
    # the closing line names the arm with the lowest grade 3+ incidence, as the table shows it
    lowest = min(rep["incidence"], key=lambda a: (rep["incidence"][a][0][0], ARMS.index(a)))
    best = s["g3plus_lab"].astype(float).idxmin()
    assert rep["finding"].startswith(f"Finding: Lowest grade 3+ incidence: {best},")
    assert rep["incidence"][best][0][0] == rep["incidence"][lowest][0][0]
    assert res.finding() in " ".join(text.split())


def test_finding_matched_dose_contrast(res):
    # 80 mg QW and 40 mg BIW both plan 80 mg/week... and deliver about the same
    sched = res.schedules()
    assert [sched[a] for a in ARMS] == ["QW", "QW", "QW", "BIW", "BIW", "BIW"]
    pair = res.matched_dose_pair()
    assert pair is not None
    q, b = pair
    di = res.summary["dose_intensity_mg_week_mean"]
    assert abs(di[q] - di[b]) <= 0.15 * (di[q] + di[b]) / 2
    f = res.finding()
    assert f"At matched delivered dose ({q} {di[q]:.0f} vs {b} {di[b]:.0f} mg/week)" in f
    d = res.differences(reference=b)
    g = d[(d["arm"] == q) & (d["metric"] == "g3plus_lab")].iloc[0]
    word = "less" if g["hi"] < 0 else "more" if g["lo"] > 0 else "no difference"
    assert word in f


def test_summary_only_report_equals_full_report(res, res_summary_only):
    assert res.report() == res_summary_only.report()
    pd.testing.assert_frame_equal(res_summary_only.differences(reference="80 mg BIW"),
                                  res.differences(reference="80 mg BIW"), check_exact=False, rtol=1e-3, atol=1e-2)


def test_from_inputs_keeps_regimen_names_of_regimen_objects(pop, tmp_path):
    custom = sp.Regimen.weekly("selinexor", 70, weekdays=[1]).add(sp.dose("dexamethasone", 20, weekdays=[1]))
    r = sp.compare({"70 mg QW": custom, "60 mg QW": sp.regimen("xd_60_qw")}, pop.with_n(10), days=28, progress=False)
    r.to_csv(tmp_path)
    again = sp.from_inputs(tmp_path / "inputs.json")
    assert list(again.summary["regimen"]) == list(r.summary["regimen"])  # [custom.name, "xd_60_qw"]
    pd.testing.assert_frame_equal(again.summary, r.summary, check_exact=True)


def test_from_inputs_with_a_patient_table(tmp_path):
    table = pd.DataFrame({"platelets": [80.0, 120.0, 200.0], "weight": [60.0, 70.0, 80.0]})
    r = sp.compare({"80 mg BIW": "xd_80_biw"}, sp.Population.from_table(table), days=28, progress=False)
    r.to_csv(tmp_path)
    again = sp.from_inputs(tmp_path / "inputs.json")
    assert list(again.subjects["P0"]) == [80.0, 120.0, 200.0]
    pd.testing.assert_frame_equal(again.summary, r.summary, check_exact=True)


@pytest.mark.parametrize("summary_only", [False, True])
def test_results_do_not_depend_on_chunk_size(pop, summary_only):
    a = sp.compare(population=pop, days=DAYS, progress=False, chunk_size=7, summary_only=summary_only)
    b = sp.compare(population=pop, days=DAYS, progress=False, chunk_size=N, summary_only=summary_only)
    pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)
    pd.testing.assert_frame_equal(a.differences(), b.differences(), check_exact=True)


# --------------------------------------------------------------------------------------------------
# (f) summary-only (streaming) mode
# --------------------------------------------------------------------------------------------------

def test_summary_only_same_incidences(res, res_summary_only):
    so = res_summary_only
    assert so.subjects is None
    assert list(so.summary.index) == ARMS
    assert set(so.summary.columns) == set(res.summary.columns)
    for col in INCIDENCE_COLS:
        np.testing.assert_array_equal(so.summary[col].to_numpy(float), res.summary[col].to_numpy(float), err_msg=col)
    assert list(so.summary["regimen"]) == list(res.summary["regimen"])
    # paired differences: incidences exactly, continuous metrics to solver accuracy
    d_so, d_full = so.differences(), res.differences()
    binary = d_full["metric"].isin(["g3plus_lab", "g4_lab", "g3plus", "modified"])
    np.testing.assert_array_equal(d_so.loc[binary, "difference"].to_numpy(), d_full.loc[binary, "difference"].to_numpy())
    np.testing.assert_allclose(d_so["difference"].to_numpy(), d_full["difference"].to_numpy(), rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(so.summary["dose_intensity_mg_week_mean"].to_numpy(float),
                               res.summary["dose_intensity_mg_week_mean"].to_numpy(float), rtol=1e-9)


def test_summary_only_and_full_runs_report_the_same_table(res, res_summary_only):
    """One summary computation for both modes: every column and the printed table identical."""
    pd.testing.assert_frame_equal(res.summary, res_summary_only.summary, check_exact=True)
    assert res.table().to_string() == res_summary_only.table().to_string()
    # the streamed medians are within half a histogram bin of the exact ones
    for a in ARMS:
        s = res.subjects[res.subjects["arm"] == a]
        assert abs(res.summary.loc[a, "nadir_median"] - np.quantile(s["nadir"], 0.5)) <= 0.125 + 1e-9


def test_summary_only_keeps_no_subjects_nor_bands(res_summary_only, tmp_path):
    so = res_summary_only
    assert so.subjects is None
    expect_model_error(so.bands, field="observe")
    expect_model_error(so.differences, reference="zz", field="reference", contains=["zz"])
    written = {p.name for p in so.to_csv(tmp_path)}
    assert written == {"summary.csv", "differences.csv", "inputs.json"}
    assert so.inputs["summary_only"] is True


def test_summary_only_nadir_percentiles_within_histogram_resolution(res, res_summary_only):
    for col in ("nadir_median", "nadir_p05", "nadir_p95"):
        diff = (res_summary_only.summary[col].astype(float) - res.summary[col].astype(float)).abs()
        assert (diff <= 0.25).all(), f"{col}: {diff.round(3).to_dict()}"


# --------------------------------------------------------------------------------------------------
# (g) parquet
# --------------------------------------------------------------------------------------------------

def test_to_parquet(res, res_summary_only, tmp_path):
    pytest.importorskip("pyarrow", reason="pyarrow is not installed: to_parquet is optional")
    written = res.to_parquet(tmp_path / "full")
    assert {p.name for p in written} == {"summary.parquet", "subjects.parquet"}
    summary = pd.read_parquet(tmp_path / "full" / "summary.parquet")
    pd.testing.assert_frame_equal(summary, res.summary.reset_index(), check_exact=True)
    subjects = pd.read_parquet(tmp_path / "full" / "subjects.parquet")
    pd.testing.assert_frame_equal(subjects, res.subjects, check_exact=True, check_dtype=False)
    written = res_summary_only.to_parquet(tmp_path / "so")
    assert [p.name for p in written] == ["summary.parquet"]


# --------------------------------------------------------------------------------------------------
# (h) bad inputs name the field
# --------------------------------------------------------------------------------------------------

def test_bad_inputs(pop):
    kw = {"days": 14, "progress": False}
    expect_model_error(sp.compare, {}, pop, field="arms", **kw)
    expect_model_error(sp.compare, [], pop, field="arms", **kw)
    e = expect_model_error(sp.compare, {"a": "xd_80_biw", "b": "nope"}, pop, contains=["nope"], **kw)
    assert e.field in ("regimen", "arms", "arms.b"), e.field
    expect_model_error(sp.compare, {"a": "xd_80_biw"}, pop, reference="zz", field="reference", contains=["zz"], **kw)
    expect_model_error(sp.population, "rrmm_heavily_pretreated", n=0, field="n", contains=["0"])
    expect_model_error(sp.population, "rrmm_heavily_pretreated", n=-3, field="n", contains=["-3"])
    expect_model_error(pop.with_n, 0, field="n")
    expect_model_error(sp.population, "nope", n=5, field="population", contains=["nope"])
    expect_model_error(sp.compare, {"a": "xd_80_biw"}, pop, threads=0, field="threads", contains=["0"], **kw)
    expect_model_error(sp.compare, {"a": "xd_80_biw"}, pop, seed=-1, field="seed", contains=["-1"], **kw)
    expect_model_error(sp.compare, {"a": "xd_80_biw"}, pop, dose_rules="nope", field="dose_rules", **kw)
    expect_model_error(sp.compare, {"a": "xd_80_biw"}, "rrmm_heavily_pretreated", field="population", **kw)
    expect_model_error(sp.compare, {"a": "xd_80_biw"}, pop, days=0, progress=False, field="days")


def test_bad_reference_after_the_run(res):
    expect_model_error(res.differences, reference="zz", field="reference", contains=["zz"])


def test_single_string_arm(pop):
    try:
        r = sp.compare("xd_80_biw", pop.with_n(5), days=14, progress=False)
    except sp.ModelError as e:  # rejecting it is fine too, if the error names arms
        assert e.field == "arms", str(e)
    else:
        assert r.arms == ["xd_80_biw"]


# --------------------------------------------------------------------------------------------------
# (i) progress bar
# --------------------------------------------------------------------------------------------------

class _SlowClock:
    """perf_counter advancing 0.6 s a call, so that compare() believes it is slow and shows its bar."""

    def __init__(self) -> None:
        self.t = 0.0

    def perf_counter(self) -> float:
        self.t += 0.6
        return self.t


def test_progress_false_and_true(pop, capsys, monkeypatch):
    arms = {"100 mg QW": "xd_100_qw", "80 mg BIW": "xd_80_biw"}
    quiet = sp.compare(arms, pop, days=28, progress=False)
    assert "compare" not in capsys.readouterr().err
    fast = sp.compare(arms, pop, days=28, progress=True)  # short run: no bar needed, must still work
    pd.testing.assert_frame_equal(fast.summary, quiet.summary, check_exact=True)
    capsys.readouterr()
    pytest.importorskip("tqdm")
    monkeypatch.setattr(compare_module, "time", _SlowClock())
    slow = sp.compare(arms, pop, days=28, progress=True, chunk_size=10)
    err = capsys.readouterr().err
    total = N * len(arms)
    assert "compare" in err and f"{total}/{total}" in err, err
    # the rate is the average since the start (the fake clock says > 1 s had passed when the bar
    # opened), not the first bulk update over a few microseconds
    rates = [float(x) for x in re.findall(r"([\d.]+)pt/s", err)]
    assert rates and max(rates) <= total / 1.0, err
    pd.testing.assert_frame_equal(slow.summary, quiet.summary, check_exact=True)


def test_time_on_treatment_per_arm_keeps_patients_paired():
    pop = sp.population("rrmm_heavily_pretreated", n=200)  # exponential discontinuation, median 62 days
    median = pop.spec["discontinuation"]["median_days"]
    arms = {"pop": "xd_80_biw", "short": "xd_80_biw", "all": "xd_80_biw"}
    res = sp.compare(arms, pop, days=84, dose_rules=None, progress=False,
                     time_on_treatment={"short": median / 2, "all": None})
    s = res.subjects
    dot = {a: s.loc[s["arm"] == a, "days_on_treatment"].to_numpy() for a in arms}
    stopped = dot["pop"] < 84
    # The same uniform draw per patient: half the median halves each patient's time on treatment.
    np.testing.assert_allclose(dot["short"][stopped], dot["pop"][stopped] / 2, rtol=1e-12)
    assert (dot["all"] == 84).all()
    g = res.summary["g3plus_lab"]
    assert g["short"] < g["pop"] < g["all"]
    again = sp.from_inputs(res.inputs)
    pd.testing.assert_frame_equal(res.subjects, again.subjects, check_exact=True)


@pytest.mark.parametrize("tot,field", [
    ({"nope": 30}, "time_on_treatment.nope"),
    ({"pop": -3}, "time_on_treatment.pop"),
    ({"pop": float("nan")}, "time_on_treatment.pop"),
    ([30], "time_on_treatment"),
])
def test_time_on_treatment_bad_input(tot, field):
    pop = sp.population("rrmm_heavily_pretreated", n=3)
    expect_model_error(sp.compare, {"pop": "xd_80_biw"}, pop, days=7, progress=False, time_on_treatment=tot,
                       field=field)
