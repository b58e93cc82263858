"""The shipped defaults reproduce the training targets of MODEL.md section 7 (see docs/calibration.md).

Each training arm is simulated as calibration/calibrate.py simulates it (regimen preset, label dose
rules, population preset with its time on treatment, grading on the lab visits) with the shipped
defaults and no overrides, and every lab-based incidence must lie inside the exact (Clopper-Pearson)
95% interval of the observed proportion. The typical patient on 80 mg BIW must reach the nadir in
weeks 3-6 without overshooting 1.2 x baseline within 12 weeks (MODEL.md section 3).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import selinexor_pkpd as sp

SEED = 4242  # not the calibration seed
N = 500

# arm: (regimen, dose rules, population, days simulated)
ARMS = {
    "storm": ("xd_80_biw", "label_biw", "rrmm_heavily_pretreated", 182.0),
    "svd": ("svd_100_qw", "label_qw", "rrmm_early_relapse", 280.0),
    "vd": ("vd_boston", None, "rrmm_early_relapse", 280.0),
}

# (arm, summary key or "any_te_lab", k, n, what): observed counts, MODEL.md section 7
TARGETS = [
    ("storm", "g3plus_lab", 72, 123, "STORM grade 3-4 58-59% (Chari 2019)"),
    ("storm", "g3_lab", 31, 123, "STORM grade 3 25%"),
    ("storm", "g4_lab", 41, 123, "STORM grade 4 33%"),
    ("storm", "g3plus_lab", 123, 202, "XPOVIO label pool grade 3-4 61%"),
    ("storm", "any_te_lab", 149, 202, "XPOVIO label pool any grade 74% (treatment-emergent on lab visits)"),
    ("svd", "g3plus_lab", 77, 195, "BOSTON SVd grade 3-4 39% (Grosicki 2020)"),
    ("vd", "g3plus_lab", 35, 207, "BOSTON Vd grade 3-4 17%"),
]


def clopper_pearson(k: int, n: int) -> tuple[float, float]:
    return float(stats.beta.ppf(0.025, k, n - k + 1)), float(stats.beta.ppf(0.975, k + 1, n - k))


def lab_days(regimen: sp.Regimen, days: float) -> np.ndarray:
    """The regimen's lab visits (days after the first dose), as the engine schedules them."""
    spec = regimen.to_dict()
    labs = spec.get("labs") or {"cycle1": [1, 8, 15, 22], "later": [1, 15]}
    blocks = spec["blocks"]
    out, start, k, b = [], 0.0, 0, 0
    left = blocks[0].get("cycles")
    while start < days:
        length = blocks[b]["cycle_days"]
        for d in labs["cycle1"] if k == 0 else labs["later"]:
            if d <= length and start + d - 1 < days:
                out.append(start + d - 1)
        start += length
        k += 1
        if left is not None:
            left -= 1
            if left == 0 and b + 1 < len(blocks):
                b += 1
                left = blocks[b].get("cycles")
    return np.array(sorted(out))


def grade(p: np.ndarray) -> np.ndarray:
    return (p < 150).astype(int) + (p < 75) + (p < 50) + (p < 25)


@pytest.fixture(scope="module")
def arms() -> dict[str, dict[str, float]]:
    out = {}
    for key, (reg, rules, pop, days) in ARMS.items():
        labs = lab_days(sp.regimen(reg), days)
        res = sp.simulate_population(reg, sp.population(pop, N), days=days, seed=SEED, dose_rules=rules, observe=labs)
        s = res.subjects
        summ = dict(res.summary())
        g = grade(res.trajectories)
        on = (labs[None, :] <= s["days_on_treatment"].to_numpy()[:, None] + 1e-9) & (labs[None, :] > 0)
        # the observed lab values are the engine's lab visits
        assert (np.where(on | (labs[None, :] == 0), g, 0).max(axis=1) == s["worst_grade_lab"].to_numpy()).all()
        te = (g > grade(s["P0"].to_numpy())[:, None]) & on
        summ["any_te_lab"] = float(te.any(axis=1).mean())
        out[key] = summ
    return out


@pytest.mark.parametrize("arm,key,k,n,what", TARGETS, ids=[f"{t[0]}-{t[1]}-{t[2]}of{t[3]}" for t in TARGETS])
def test_training_target_within_observed_ci(arms, arm, key, k, n, what):
    lo, hi = clopper_pearson(k, n)
    sim = arms[arm][key]
    assert lo <= sim <= hi, f"{what}: simulated {sim:.3f} (n={N}) outside the observed 95% CI [{lo:.3f}, {hi:.3f}] ({k}/{n})"


def test_time_on_treatment(arms):
    # STORM: median 9 weeks (Chari 2019); BOSTON: much longer (about 30 weeks, ASSUMPTION)
    assert 49 <= arms["storm"]["days_on_treatment_median"] <= 77
    assert arms["svd"]["days_on_treatment_median"] > 150
    assert arms["vd"]["days_on_treatment_median"] > 150


def test_typical_patient_nadir_weeks_3_to_6_without_overshoot():
    df = sp.simulate("xd_80_biw", days=84)
    p = df["PLT"].to_numpy()
    day_nadir = float(df["DAY"].iloc[int(np.argmin(p))])
    assert 14.0 <= day_nadir <= 42.0, f"nadir on day {day_nadir:.1f}, not in weeks 3-6"
    assert p.max() <= 1.2 * p[0], f"overshoot to {p.max() / p[0]:.2f} x baseline within 12 weeks"
    assert p.min() < 0.75 * p[0]  # the typical patient does respond
