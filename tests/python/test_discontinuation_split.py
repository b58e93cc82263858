"""Discontinuation split into progression (from the efficacy model) and other reasons
(``discontinuation_other``), used by runs that stop at progression (docs/efficacy.md section 2)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import selinexor_pkpd as sp
from conftest import expect_model_error

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "calibration"))

import discontinuation_split  # noqa: E402


def _subjects(pop, **kw):
    kw.setdefault("days", 300.0)
    return sp.simulate_population("xd_80_biw", pop, seed=5, threads=2, **kw).subjects


def test_stopping_at_progression_uses_the_other_reasons_time_of_the_same_draw():
    """Without dose rules, a patient who neither progresses nor reaches the end stops at the
    exponential draw: the same uniform under both medians, so the times are in the ratio of the
    medians (closed form), and the efficacy outcome is unchanged."""
    base = sp.population("rrmm_heavily_pretreated", n=300).with_discontinuation(40.0)
    split = base.with_other_discontinuation(100.0)
    a = _subjects(base)                                  # overall discontinuation, no stop at progression
    b = _subjects(split, stop_at_progression=True)       # other reasons + progression
    # the other-reason median is ignored by runs that do not stop at progression
    pd.testing.assert_frame_equal(a, _subjects(split))
    # and is the overall one of runs that do: the same patients to the bit
    pd.testing.assert_frame_equal(b, _subjects(base.with_discontinuation(100.0), stop_at_progression=True))
    free = (~b["progressed"] & (b["days_on_treatment"] < 300.0 - 1e-9) & ~b["stopped_by_rule"].astype(bool)).to_numpy()
    assert free.sum() > 20
    np.testing.assert_allclose(b.loc[free, "days_on_treatment"].to_numpy(),
                               a.loc[free, "days_on_treatment"].to_numpy() * 100.0 / 40.0, rtol=1e-9)
    # progression ends treatment: nobody is treated past it
    prog = b["progressed"].to_numpy()
    assert (b.loc[prog, "days_on_treatment"] <= b.loc[prog, "t_progression_days"] + 1e-9).all()


def test_explicit_discontinuation_wins_over_the_presets_split():
    pop = sp.population("rrmm_heavily_pretreated", n=5)
    assert "discontinuation_other" not in pop.with_discontinuation(30.0).spec
    assert "discontinuation_other" not in pop.with_discontinuation(None).spec
    assert "discontinuation_other" not in pop.with_other_discontinuation(None).spec
    assert pop.with_other_discontinuation(90).spec["discontinuation_other"]["median_days"] == 90.0


@pytest.mark.parametrize("bad", [0.0, -3.0])
def test_a_bad_other_reasons_median_is_refused_naming_the_field(bad):
    pop = sp.population("rrmm_heavily_pretreated", n=2).with_other_discontinuation(bad)
    expect_model_error(lambda: _subjects(pop, days=30.0, stop_at_progression=True),
                       field="population.discontinuation_other.median_days")


@pytest.mark.parametrize("name", ["rrmm_heavily_pretreated", "rrmm_early_relapse"])
def test_presets_keep_their_median_time_on_treatment_when_stopping_at_progression(name):
    """With the preset's split, a run that stops at progression keeps the population's median time
    on treatment (its discontinuation median, read from the library) on its calibration arms,
    another cohort than the derivation's, within 10%; where the split is an ASSUMPTION because the
    median cannot be kept, stopping at progression alone already ends treatment earlier."""
    spec = sp.population(name, n=1).spec
    other = spec["discontinuation_other"]
    observed = discontinuation_split.observed_median(name)
    seed = discontinuation_split.SEED + 1
    if other["source"].startswith("derived"):
        split = discontinuation_split.median_on_treatment(name, other["median_days"], n=1000, seed=seed)
        assert abs(split - observed) <= 0.10 * observed, f"{name}: {split:.1f} vs observed {observed}"
        assert "calibration/discontinuation_split.py" in other["source"]
    else:
        assert other["source"].startswith("ASSUMPTION") and "cannot be kept" in other["source"]
        alone = discontinuation_split.median_on_treatment(name, 1e9, n=1000, seed=seed)
        assert alone < observed
