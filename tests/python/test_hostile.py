"""Hostile input: every class of bad or extreme input found by trying the API and the CLI as a
hostile user would. Each case must end in a ``ModelError`` naming its field (or a sane result,
said so in the case), never a panic, another exception, a hang or silent nonsense."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from conftest import expect_model_error

import selinexor_pkpd as sp

POP = sp.population("rrmm_heavily_pretreated", n=3)


def _deep(n: int) -> dict:
    d: dict = {}
    x = d
    for _ in range(n):
        x["a"] = {}
        x = x["a"]
    return d


def _binary_file(tmp_path, name: str) -> str:
    p = tmp_path / name
    p.write_bytes(bytes(range(256)))
    return str(p)


def pop_run(**kw):
    return lambda: sp.simulate_population("xd_80_biw", kw.pop("pop", POP), days=kw.pop("days", 7), **kw)


# case: (callable, field, substrings of the message)
CASES = {
    # unbounded runs
    "threads far above the machine": (pop_run(threads=10_000), "threads", ["10000"]),
    "threads 2**40": (pop_run(threads=2**40), "threads", [str(2**40)]),
    "n of a billion": (lambda: sp.simulate_population("xd_80_biw", sp.population(n=10**9), days=168), "n",
                       ["h on", "max_hours"]),
    "n of 1e30": (lambda: sp.simulate_population("xd_80_biw", sp.population(n=10**30), days=168), "n", ["max_hours"]),
    "full compare that cannot fit in memory": (
        lambda: sp.compare(["xd_80_biw"], sp.population(n=10**9), days=168, max_hours=None, progress=False),
        "n", ["GiB", "summary_only"]),
    # silent nonsense
    "unknown unit of an override": (
        lambda: sp.Library().override({"drugs": {"selinexor": {"params": {"CL": {"value": 17.9, "unit": "furlong"}}}}}),
        "drugs.selinexor.params.CL.unit", ["furlong", "L/h"]),
    "two arms with the same name": (
        lambda: sp.compare(["xd_80_biw", "xd_80_biw"], POP, days=7, progress=False), "arms", ["xd_80_biw"]),
    "negative disc_days in a patient table": (
        lambda: sp.simulate_population("xd_80_biw", sp.Population.from_table(pd.DataFrame(
            {"weight": [70.0], "height": [170.0], "age": [60.0], "platelets": [150.0], "disc_days": [-5.0]})), days=7),
        "patients[0].disc_days", ["-5"]),
    "mg/m2 with a weight but no height": (
        lambda: sp.Regimen.weekly("selinexor", 45, unit="mg/m2").events({"weight": 80}), "regimen.blocks[0].doses[0]",
        ["mg/m2", "patient.height", "missing"]),
    "baseline P0 of a million": (
        lambda: sp.simulate("xd_80_biw", days=7, params={"platelets": {"P0": 1e6}}), "platelets.P0", ["2000"]),
    "bioavailability 2": (
        lambda: sp.simulate("xd_80_biw", days=7, params={"selinexor": {"F": 2}}), "drugs.selinexor.F", ["[0, 1]"]),
    "platelet median 1e-300": (
        pop_run(pop=POP.with_platelets(median=1e-300)), "population.covariates.platelets", ["1e-300"]),
    "IIV CV of a million": (pop_run(pop=POP.with_iiv({"selinexor.CL": 1e6})), "population.iiv.selinexor.CL", ["1000000"]),
    "a comparison over 1e-9 days": (
        lambda: sp.compare(["xd_80_biw"], POP, days=1e-9, progress=False), "days", ["1e-09"]),
    "2-D output times": (lambda: sp.simulate("xd_80_biw", days=7, times=[[1, 2], [3, 4]]), "times", ["(2, 2)"]),
    "2-D observation days": (pop_run(observe=[[1, 2], [3, 4]]), "observe", ["(2, 2)"]),
    "a dose of 1e300 mg": (lambda: sp.simulate(sp.Regimen.weekly("selinexor", 1e300), days=7),
                           "regimen.blocks[0].doses[0].amount", ["1e300"]),
    # not a ModelError before
    "seed 2**64": (pop_run(seed=2**64), "seed", [str(2**64)]),
    "negative chunk_size": (pop_run(chunk_size=-5), "chunk_size", ["-5"]),
    "fractional chunk_size": (pop_run(chunk_size=2.5), "chunk_size", ["2.5"]),
    "patient given as a word": (lambda: sp.simulate("xd_80_biw", days=7, patient="old"), "patient", ["old"]),
    "lab schedule given as a word": (lambda: sp.regimen("xd_80_biw").with_labs("weekly", [1]), "labs.cycle1", ["weekly"]),
    "weekdays given as a number": (lambda: sp.Regimen.weekly("selinexor", 80, weekdays=1), "weekdays", ["1"]),
    "library nested 5000 deep": (lambda: sp.Library().override(_deep(5000)), "library", ["nested"]),
    "regimen JSON nested 100000 deep": (lambda: sp.Regimen.from_json("[" * 100_000 + "]" * 100_000), "regimen",
                                        ["nested"]),
    "a non-numeric cell of a patient table": (
        lambda: sp.Population.from_table(pd.DataFrame({"weight": [70.0, "heavy"], "height": [170.0, 180.0],
                                                       "age": [60.0, 61.0]})),
        "patients[1].weight", ["heavy"]),
    "from_inputs without arms": (lambda: sp.from_inputs({"days": 28}), "inputs.population", ["missing"]),
    # messages about the user's fields, not the internal JSON
    "unknown unit value": (lambda: sp.simulate(sp.Regimen.weekly("selinexor", 80, unit="g"), days=7),
                           "regimen.blocks[0].doses[0].unit", ['"g"', "mg/m2"]),
    "null amount in a library regimen": (
        lambda: sp.Library().override({"regimens": {"x": {"blocks": [{"cycle_days": 28, "doses": [
            {"drug": "selinexor", "amount": None, "days": [1]}]}]}}}),
        "library.regimens.x.blocks[0].doses[0].amount", ["a number", "null"]),
    "library drug missing its compartments": (
        lambda: sp.Library().override({"drugs": {"newdrug": {"default_route": "oral", "params": {}}}}),
        "library.drugs.newdrug.compartments", ["missing"]),
    # solver failures name the stiff input; times in the user's unit
    "kon of 1e9 on the ODE path": (
        lambda: sp.simulate("xd_80_biw", days=28, params={"platelets": {"kon": 1e9}}, linear_pk="ode"),
        "solver", ["platelets.kon"]),
    "negative observation day": (pop_run(observe=[-5.0]), "observe.times[0]", ["-5"]),
    # dose rules
    "label rules on a per-size selinexor dose": (
        lambda: sp.simulate_population(sp.Regimen.weekly("selinexor", 45, unit="mg/m2", weekdays=[1, 3]), POP, days=7,
                                       dose_rules="label"), "dose_rules.ladder", ["mg/m2"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_is_a_named_error(case):
    fn, field, contains = CASES[case]
    expect_model_error(fn, field=field, contains=contains)


@pytest.mark.parametrize("name", ["x.toml", "x.json"])
def test_binary_files_are_named(tmp_path, name):
    path = _binary_file(tmp_path, name)
    expect_model_error(sp.Library().override, path, field="file", contains=[name, "UTF-8"])
    expect_model_error(sp.Regimen.from_file, path, field="file", contains=[name, "UTF-8"])


def test_unit_of_an_override_is_converted_not_ignored():
    lib = sp.Library().override({"drugs": {"selinexor": {"params": {"CL": {"value": 17.9 / 0.06, "unit": "mL/min"}}}}})
    assert lib.drug("selinexor")["params"]["CL"]["unit"] == "L/h"
    assert lib.drug("selinexor")["params"]["CL"]["value"] == pytest.approx(17.9, rel=1e-12)
    a = sp.simulate("xd_80_biw", days=7, library=lib)["C_selinexor"].to_numpy()
    b = sp.simulate("xd_80_biw", days=7, params={"selinexor": {"CL": 17.9}})["C_selinexor"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-9)


def test_biw_three_weeks_of_four_takes_the_biw_ladder():
    r = sp.Regimen.cycle(28, [sp.dose("selinexor", 80, days=[1, 3, 8, 10, 15, 17])])
    rules = sp.get_library()._native.dose_rules_json("label", r._json())
    assert '"amount":100' in rules.replace(" ", "")  # the BIW ladder's first reduction (80 BIW -> 100 QW)


def test_unnamed_regimens_stay_separate_arms():
    res = sp.compare([sp.Regimen.weekly("selinexor", 80), sp.Regimen.weekly("selinexor", 60)], POP, days=7,
                     progress=False)
    assert len(res.arms) == 2


# --- the command line: subprocesses with a timeout ---------------------------------------------

def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "selinexor_pkpd.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.mark.parametrize("args,needle", [
    (["compare", "--arms", "", "--n", "2", "--days", "7", "--quiet"], "--arms"),
    (["compare", "--arms", "xd_80_biw,,", "--n", "2", "--days", "7", "--quiet"], "--arms"),
    (["compare", "--arms", "xd_80_biw,xd_80_biw", "--n", "2", "--days", "7", "--quiet"], "more than once"),
    (["compare", "--out", "", "--n", "2", "--days", "7", "--quiet"], "--out"),
    (["compare", "--threads", "100000", "--n", "2", "--days", "7", "--quiet"], "threads"),
])
def test_cli_refuses_bad_arguments(tmp_path, args, needle):
    r = cli(*args, "--out", str(tmp_path / "o")) if "--out" not in args else cli(*args)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_cli_rules_and_no_rules_exclude_each_other():
    r = cli("compare", "--rules", "foo", "--no-rules", "--n", "2")
    assert r.returncode == 2 and "not allowed with" in r.stderr, r.stderr


def test_cli_checks_the_output_directory_before_computing(tmp_path):
    f = tmp_path / "a_file"
    f.write_text("x")
    t0 = time.perf_counter()
    r = cli("compare", "--n", "100000", "--out", str(f), "--quiet")
    assert r.returncode == 2 and "not a directory" in r.stderr, r.stderr
    assert time.perf_counter() - t0 < 30  # refused before the 600,000 patient-simulations


# --- Ctrl-C ------------------------------------------------------------------------------------

SCRIPT = textwrap.dedent("""
    import sys, time
    import selinexor_pkpd as sp
    pop = sp.population("rrmm_heavily_pretreated", n=100_000)
    print("start", flush=True)
    try:
        sp.simulate_population("xd_80_biw", pop, days=168, chunk_size=100_000, max_hours=None)
    except KeyboardInterrupt:
        print("interrupted", time.perf_counter(), flush=True)
        sys.exit(130)
""")


SIMULATE_SCRIPT = textwrap.dedent("""
    import sys, time
    import selinexor_pkpd as sp
    print("start", flush=True)
    try:  # about a minute of work: 100 years of SVd, every state integrated at rtol 1e-12
        sp.simulate("svd_100_qw", days=36500, linear_pk="ode", rtol=1e-12, atol=1e-14, times=[0.0, 876000.0])
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
""")


@pytest.mark.parametrize("script", [SCRIPT, SIMULATE_SCRIPT], ids=["population", "simulate"])
def test_ctrl_c_stops_native_work_within_a_second(script):
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "start"
    time.sleep(1.0)
    t_sent = time.perf_counter()
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("no exit within 30 s of SIGINT")
    elapsed = time.perf_counter() - t_sent
    assert p.returncode == 130, err
    assert "interrupted" in out and "PanicException" not in err and "pyo3" not in err, err
    assert elapsed < 1.5, f"exited {elapsed:.2f} s after SIGINT"


def test_cli_ctrl_c_exits_130():
    p = subprocess.Popen([sys.executable, "-m", "selinexor_pkpd.cli", "compare", "--n", "100000", "--quiet",
                          "--summary-only", "--arms", "xd_80_biw", "--out", os.devnull + "_never"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    time.sleep(3.0)
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("no exit within 30 s of SIGINT")
    assert p.returncode == 130, err
    assert "PanicException" not in err and "Traceback" not in err, err


def test_a_rule_on_transfused_platelets_needs_transfusions():
    pop = sp.population("rrmm_heavily_pretreated", n=3)
    rules = {"quantity": "PLT_TX", "ladder": [{"amount": 80, "weekdays": [1, 3]}],
             "rules": [{"below": 5, "action": "reduce"}]}
    expect_model_error(sp.simulate_population, "xd_80_biw", pop, days=14, dose_rules=rules,
                       field="dose_rules.quantity", contains=["PLT_TX"])
