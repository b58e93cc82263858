"""Lab counts with observation error: the noise model against its closed form, invariance to
threads and chunking, and a run without it unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import expect_model_error
from scipy.stats import norm

import selinexor_pkpd as sp


def test_lab_grades_follow_the_error_model():
    # Dexamethasone has no platelet effect: every lab reads a count of exactly 60, so the worst
    # lab grade is >= 3 when any of the k visits reads below 50: 1 - (1 - Phi((50/60 - 1)/cv))^k.
    n, cv = 4000, 0.15
    pop = sp.Population.from_table(pd.DataFrame({"platelets": [60.0] * n})).with_discontinuation(None)
    s = sp.simulate_population(sp.Regimen.weekly("dexamethasone", 20), pop, days=28, dose_rules=None,
                               lab_error={"prop": cv}).subjects
    assert (s["nadir"] == 60.0).all()  # the model's counts are untouched
    k = int(s["n_labs"].iloc[0])
    expected = 1 - (1 - norm.cdf((50 / 60 - 1) / cv)) ** k
    se = np.sqrt(expected * (1 - expected) / n)
    assert abs((s["worst_grade_lab"] >= 3).mean() - expected) < 3 * se
    add = sp.simulate_population(sp.Regimen.weekly("dexamethasone", 20), pop, days=28, dose_rules=None,
                                 lab_error={"add": 9.0}).subjects
    expected = 1 - (1 - norm.cdf((50 - 60) / 9.0)) ** k
    assert abs((add["worst_grade_lab"] >= 3).mean() - expected) < 3 * np.sqrt(expected * (1 - expected) / n)


def test_noisy_labs_drive_the_rules_and_stay_thread_invariant():
    pop = sp.population("rrmm_heavily_pretreated", n=300)
    kw = dict(days=84, dose_rules="label", seed=5)
    exact = sp.simulate_population("xd_80_biw", pop, **kw).subjects
    noisy = sp.simulate_population("xd_80_biw", pop, lab_error={"prop": 0.15, "add": 5.0}, threads=1, **kw).subjects
    again = sp.simulate_population("xd_80_biw", pop, lab_error={"prop": 0.15, "add": 5.0}, threads=2,
                                   chunk_size=37, **kw).subjects
    pd.testing.assert_frame_equal(noisy, again, check_exact=True)
    assert (noisy["worst_grade_lab"] != exact["worst_grade_lab"]).any()
    assert (noisy["dose_intensity_mg_week"] != exact["dose_intensity_mg_week"]).any()  # the rules saw other counts
    res = sp.compare({"a": "xd_80_biw"}, pop, progress=False, lab_error={"prop": 0.15}, **kw)
    pd.testing.assert_frame_equal(res.subjects, sp.from_inputs(res.inputs).subjects, check_exact=True)


@pytest.mark.parametrize("lab_error,field", [
    ({"cv": 0.1}, "lab_error"),
    ({"prop": -0.1}, "lab_error.PLT.prop"),
    ({"prop": 0.0}, "lab_error.PLT"),
    ({"add": "x"}, "lab_error.add"),
    (0.1, "lab_error"),
])
def test_bad_lab_error_is_named(lab_error, field):
    pop = sp.population("rrmm_heavily_pretreated", n=3)
    expect_model_error(sp.simulate_population, "xd_80_biw", pop, days=7, lab_error=lab_error, field=field)


def test_cli_lab_error(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "o"
    p = subprocess.run([sys.executable, "-m", "selinexor_pkpd.cli", "compare", "--n", "20", "--days", "28", "--quiet",
                        "--arms", "xd_80_biw", "--lab-cv", "0.1", "--lab-sd", "4", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads((out / "inputs.json").read_text())["lab_error"] == {"prop": 0.1, "add": 4.0}


def test_simulate_dv_columns_follow_the_error_model():
    kw = dict(days=84, dt_h=0.25)
    exact = sp.simulate("xd_80_biw", **kw)
    df = sp.simulate("xd_80_biw", error={"PLT": {"prop": 0.1}, "C_selinexor": {"add": 0.01}}, seed=7, **kw)
    pd.testing.assert_frame_equal(exact, df.drop(columns=["DV_PLT", "DV_C_selinexor"]), check_exact=True)
    rel = (df["DV_PLT"] / df["PLT"] - 1.0).to_numpy()
    assert len(rel) > 8000 and abs(rel.std() - 0.1) < 0.005 and abs(rel.mean()) < 0.005
    res = (df["DV_C_selinexor"] - df["C_selinexor"]).to_numpy()
    assert abs(res.std() - 0.01) < 0.0005
    same = sp.simulate("xd_80_biw", error={"PLT": {"prop": 0.1}, "C_selinexor": {"add": 0.01}}, seed=7, **kw)
    pd.testing.assert_frame_equal(df, same, check_exact=True)
    other = sp.simulate("xd_80_biw", error={"PLT": {"prop": 0.1}}, seed=8, **kw)
    assert not np.array_equal(other["DV_PLT"], df["DV_PLT"])
    expect_model_error(sp.simulate, "xd_80_biw", days=7, error={"PLTX": {"prop": 0.1}}, field_endswith="PLTX")
    expect_model_error(sp.simulate, "xd_80_biw", days=7, error={"PLT": {"prop": 0.1}}, seed=-1, field="seed")
