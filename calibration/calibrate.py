#!/usr/bin/env python
"""Calibrate the free platelet-model parameters against the training targets of MODEL.md section 7.

Every training arm is simulated as its protocol ran it (regimen preset, label dose rules, lab-visit
schedule, time on treatment) and graded on the lab visits, as trials grade:

    STORM part 2 / XPOVIO label pool  xd_80_biw,  dose_rules="label_biw", rrmm_heavily_pretreated
    BOSTON SVd                        svd_100_qw, dose_rules="label_qw",  rrmm_early_relapse
    BOSTON Vd                         vd_boston,  no dose rules,          rrmm_early_relapse

The label pool's any-grade incidence and median time to onset count adverse-event reports: they are
compared with an observation model of reporting (AE_REPORTING, an ASSUMPTION with one fitted parameter,
q_report, written to calibration/ae_reporting.json); grade 3, grade 4 and grade 3-4 are lab-based.

The objective is the sum over targets of ((simulated - observed) / SE_observed)^2, plus weak priors
that keep poorly identified parameters near their (sourced or assumed) starting values, plus penalties
for the physiological constraints of MODEL.md section 3 (typical patient on continuous 80 mg BIW and
100 mg QW: nadir in weeks 3-6 and no overshoot above 1.2 x baseline within 12 weeks; bounded rebound and
recovery after 4 weeks of 80 mg BIW, a rebound within the normal range allowed (ASSUMPTION); bortezomib rebound). Candidates are passed
through the API (typical values as ``params=``, per-subject values and baselines as a patient table)
without rebuilding; the patients are common random numbers (fixed seed), so the objective is a smooth,
deterministic function of the parameters. Nelder-Mead runs on a bounded, transformed scale in three
stages (selinexor/platelet system on STORM; bortezomib on Vd; all parameters jointly on all arms).

    python calibration/calibrate.py                 # fit and print the report
    python calibration/calibrate.py --write         # ... and write data/*.toml, docs/calibration.md,
                                                    #     calibration/report.csv
    python calibration/calibrate.py --verify        # check the shipped defaults (no overrides)

Options: --n (subjects per arm in the search), --seed, --maxiter (evaluations per stage, scaled),
--check-n and --check-seed (final check), --quick (small smoke run).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

import selinexor_pkpd as sp

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
DOCS = ROOT / "docs"
DATE = "2026-11-22"
LN2 = math.log(2.0)

# ------------------------------------------------------------------------------------------------
# Trial arms and targets (MODEL.md section 7)
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    key: str
    regimen: str
    rules: str | None
    population: str
    days: float
    label: str


ARMS = {
    "storm": Arm("storm", "xd_80_biw", "label_biw", "rrmm_heavily_pretreated", 182.0,
                 "STORM part 2 / label pool: selinexor 80 mg BIW + dex (label_biw rules)"),
    "svd": Arm("svd", "svd_100_qw", "label_qw", "rrmm_early_relapse", 280.0,
               "BOSTON SVd: selinexor 100 mg QW + bortezomib SC QW + dex (label_qw rules)"),
    "vd": Arm("vd", "vd_boston", None, "rrmm_early_relapse", 280.0,
              "BOSTON Vd: bortezomib SC BIW x 8 cycles then QW + dex (no selinexor rules)"),
}


@dataclass(frozen=True)
class Target:
    key: str
    arm: str
    metric: str
    k: int | None
    n: int
    label: str
    source: str
    fit: bool = True
    value: float | None = None  # non-binomial targets (median onset, days)
    se: float | None = None

    @property
    def observed(self) -> float:
        return self.k / self.n if self.k is not None else float(self.value)

    @property
    def se_obs(self) -> float:
        if self.se is not None:
            return self.se
        p = self.observed
        return math.sqrt(p * (1 - p) / self.n)

    def ci(self) -> tuple[float, float]:
        """Exact (Clopper-Pearson) 95% interval of the observed proportion."""
        if self.k is None:
            return (self.observed - 1.96 * self.se_obs, self.observed + 1.96 * self.se_obs)
        return clopper_pearson(self.k, self.n)


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


CHARI = "Chari A et al., N Engl J Med 2019;381:727"
LABEL = "XPOVIO US label, section 5.1 (pool of 202 patients on 80 mg BIW + dex)"
GROSICKI = "Grosicki S et al., Lancet 2020;396:1563"

TARGETS = [
    Target("storm_g3", "storm", "g3_lab", 31, 123, "STORM grade 3 thrombocytopenia (25%)", CHARI),
    Target("storm_g4", "storm", "g4_lab", 41, 123, "STORM grade 4 thrombocytopenia (33%)", CHARI),
    Target("storm_g3plus", "storm", "g3plus_lab", 72, 123, "STORM grade 3-4 (58-59%; = grade 3 + grade 4, not fitted twice)",
           CHARI, fit=False),
    Target("label_g3plus", "storm", "g3plus_lab", 123, 202, "label pool grade 3-4 (61%)", LABEL),
    Target("label_any", "storm", "any_te_reported", 149, 202, "label pool any grade, treatment-emergent, reported (74%)", LABEL),
    Target("label_onset", "storm", "onset_te_reported_median", None, 202, "label pool median time to onset of the first reported event, study day (22)",
           LABEL, value=22.0, se=3.0),
    Target("svd_g3plus", "svd", "g3plus_lab", 77, 195, "BOSTON SVd grade 3-4 (77/195)", GROSICKI),
    Target("vd_g3plus", "vd", "g3plus_lab", 35, 207, "BOSTON Vd grade 3-4 (35/207)", GROSICKI),
]

# Median time on treatment (days). STORM: 9.0 weeks (range 1-60), Chari 2019. BOSTON: ASSUMPTION,
# see DISC_SOURCES.
TIME_ON_TREATMENT = {"storm": 63.0, "svd": 210.0, "vd": 224.0}
DISC_SOURCES = {
    "rrmm_heavily_pretreated": "STORM median duration of treatment 9.0 weeks (range 1-60), Chari A et al., N Engl J Med 2019;381:727",
    "rrmm_early_relapse": "ASSUMPTION: BOSTON median treatment duration about 30 weeks (SVd) and 32 weeks (Vd), "
                          "recalled from Grosicki S et al., Lancet 2020;396:1563 and not verified in the sources available here; "
                          "one median (31 weeks) for both arms",
}
# Exponential discontinuation medians (non-platelet reasons); solved by solve_discontinuation() so that the
# simulated median days on treatment (which also ends when the dose rules stop selinexor) matches
# TIME_ON_TREATMENT. Initial values: the observed medians.
DISC_MEDIAN = {"rrmm_heavily_pretreated": 63.0, "rrmm_early_relapse": 217.0}

# ------------------------------------------------------------------------------------------------
# Free parameters
# ------------------------------------------------------------------------------------------------


@dataclass
class Param:
    name: str          # internal name
    start: float
    lo: float
    hi: float
    scale: str         # "log" or "lin": the scale of the bounded transform and of the prior
    prior_sd: float | None  # SD of a normal prior centred on `start`, on `scale`; None: flat
    where: str         # where it is written
    note: str = ""

    def to_y(self, x: float) -> float:
        return math.log(x) if self.scale == "log" else x

    def from_y(self, y: float) -> float:
        return math.exp(y) if self.scale == "log" else y

    def to_u(self, x: float) -> float:
        a, b = self.to_y(self.lo), self.to_y(self.hi)
        f = (self.to_y(x) - a) / (b - a)
        f = min(max(f, 1e-6), 1 - 1e-6)
        return float(special.logit(f))

    def from_u(self, u: float) -> float:
        a, b = self.to_y(self.lo), self.to_y(self.hi)
        return self.from_y(a + (b - a) * float(special.expit(u)))

    def prior(self, x: float) -> float:
        if self.prior_sd is None:
            return 0.0
        return ((self.to_y(x) - self.to_y(self.start)) / self.prior_sd) ** 2


PARAMS = [
    Param("Imax", 0.9, 0.5, 0.999, "lin", 0.25, "platelets.Imax", "maximal TPO-signalling inhibition"),
    Param("kon", 1.0, 0.05, 20.0, "log", math.log(4), "platelets.kon", "XPO1 engagement rate, L/mg/h"),
    Param("koff", 0.02, 0.005, 0.1, "log", math.log(2), "platelets.koff", "XPO1 recovery rate, 1/h (t1/2 7-139 h)"),
    Param("gamma", 0.2, 0.05, 0.6, "log", math.log(2), "platelets.gamma", "feedback exponent"),
    Param("tpo_half", 30.0, 20.0, 46.0, "lin", 8.0, "platelets.tpo_half", "TPO half-life, h (20-46 h reported)"),
    Param("fP", 0.8, 0.3, 0.95, "lin", 0.15, "platelets.fP", "fraction of TPO cleared by platelets"),
    Param("cv_kon", 0.6, 0.1, 3.0, "log", math.log(2), "populations.*.iiv.platelets.kon", "IIV (CV) of kon"),
    Param("cv_Imax", 0.3, 0.02, 3.0, "log", math.log(4), "populations.*.iiv.platelets.Imax", "IIV of Imax (SD on the logit scale = sqrt(ln(1+CV^2)))"),
    Param("P0_heavy", 150.0, 100.0, 220.0, "lin", 25.0, "populations.rrmm_heavily_pretreated.covariates.platelets.median",
          "median baseline platelets, heavily pretreated (ASSUMPTION start)"),
    Param("P0_early", 197.0, 150.0, 250.0, "lin", 15.0, "populations.rrmm_early_relapse.covariates.platelets.median",
          "median baseline platelets, 1-3 prior lines (TOURMALINE-MM1 197)"),
    Param("P0_cv", 0.45, 0.25, 0.7, "lin", 0.1, "populations.*.covariates.platelets.cv", "CV of baseline platelets (MODEL.md 45%)"),
    Param("Emax_btz", 0.99, 0.5, 0.9999, "lin", None, "drugs.bortezomib.params.Emax", "bortezomib maximal release block"),
    Param("EC50_btz", 5e-5, 5e-6, 5e-3, "log", math.log(3), "drugs.bortezomib.params.EC50", "bortezomib EC50, mg/L"),
    Param("q_report", 0.5, 0.02, 1.0, "lin", None, "calibration/ae_reporting.json",
          "per-visit probability that a treatment-emergent grade 1-2 count is reported as an AE (ASSUMPTION; start 0.5, flat prior)"),
]

# ASSUMPTION (observation model): the label pool's "any grade" incidence and median time to onset count
# investigator-reported adverse events, not lab values. A treatment-emergent lab value of grade 3-4 is
# taken to be always reported; one of grade 1-2 is reported with probability q_report at each visit,
# independently (lab abnormalities of grade 1-2 are often not entered as adverse events). q_report is
# fitted with the platelet model, identified by the label's any-grade incidence and onset together; the
# grade 3, grade 4 and grade 3-4 targets are lab-based and do not depend on it. Written to AE_REPORTING.
AE_REPORTING = ROOT / "calibration" / "ae_reporting.json"


def load_q_report() -> float:
    """The fitted reporting probability shipped with the calibration (1.0 = every TE lab value reported)."""
    if not AE_REPORTING.exists():
        return 1.0
    return float(json.loads(AE_REPORTING.read_text(encoding="utf-8"))["q_report"])

PBYNAME = {p.name: p for p in PARAMS}
START = {p.name: p.start for p in PARAMS}

SEARCH_DAYS_BOSTON = 182.0  # BOSTON horizon in stages A and B (cheaper); stage C and the checks use the arm's days

STAGES = [
    # (name, parameters, arms, evaluations at --maxiter 100 (scaled), short BOSTON horizon)
    ("0: physiological constraints only (typical patient; priors + penalties)",
     ["gamma", "tpo_half", "fP", "EC50_btz"], [], 120, False),
    ("B: bortezomib on BOSTON Vd", ["EC50_btz", "Emax_btz", "P0_early"], ["vd"], 25, False),
    ("A: selinexor + platelet system on STORM / label pool and BOSTON SVd",
     ["Imax", "kon", "koff", "gamma", "tpo_half", "fP", "cv_kon", "cv_Imax", "P0_heavy", "P0_cv", "q_report"], ["storm", "svd"], 170, True),
    ("C: joint, all arms, full horizon", ["Imax", "kon", "koff", "cv_kon", "EC50_btz", "P0_early", "q_report"], ["storm", "svd", "vd"], 45, False),
]

# Physiological constraints (MODEL.md section 3), on the typical patient (platelets.P0):
OVERSHOOT_MAX = 1.2             # no overshoot above 1.2 x baseline within 12 weeks
NADIR_WINDOW = (16.0, 40.0)     # (penalty window inside the tested 15-42 days) typical patient, continuous 80 mg BIW and 100 mg QW, 12 weeks: nadir in weeks 3-6
OVERSHOOT_PEN = 1.15            # (soft penalty from 1.15 so that the shipped values stay below OVERSHOOT_MAX)
# ASSUMPTION (rebound rule): after withdrawal the typical patient's platelets may rebound (rebound
# thrombocytosis after myelosuppression is a known clinical phenomenon) but stay within the normal range,
# i.e. at most 450 x 10^9/L for platelets.P0 = 170 (2.65 x baseline; MODEL.md section 3 rules out overshoots
# above 500), and come back towards baseline by day 112. The tests (tests/platelet_model.rs,
# tests/python/test_calibration.py) ask max <= 450 and day 112 within [0.9, 1.5] x baseline; the penalties
# start inside those limits so that the shipped values keep a margin.
NORMAL_MAX = 450.0              # upper limit of the normal platelet range, 10^9/L
TYPICAL_P0 = 170.0              # platelets.P0 of the typical patient (library value, not fitted)
REBOUND_SOFT = 2.5              # soft penalty: typical patient on SVd or Vd above this x baseline (40 weeks; 425 for P0 170)
WITHDRAW_MAX = 2.5              # 4 weeks of 80 mg BIW then 12 weeks off: soft penalty above 2.5 x baseline (425; tests: 450 = 2.65 x),
WITHDRAW_LAST = (0.92, 1.4)     # ... and within 0.92-1.4 x baseline on day 112 (tests ask 0.9-1.5)
WITHDRAW_NADIR_DAYS = (29.0, 49.0)  # ... with its nadir after the last dose (tests ask days 29-55 and 21-49)
AMPLIFY_SOFT = 0.1              # soft penalty: late trough (days 150-280) deeper than the earlier one (days 0-150) by more than this

# ------------------------------------------------------------------------------------------------
# Common random numbers: fixed virtual patients per population
# ------------------------------------------------------------------------------------------------


def lab_days(regimen: sp.Regimen, days: float) -> np.ndarray:
    """Lab-visit times (days after the first dose) of a regimen preset, as the engine schedules them."""
    spec = regimen.to_dict()
    labs = spec.get("labs") or {"cycle1": [1, 8, 15, 22], "later": [1, 15]}
    out, start, k = [], 0.0, 0
    blocks = spec["blocks"]
    b = 0
    left = blocks[0].get("cycles")
    while start < days:
        blk = blocks[b]
        length = blk["cycle_days"]
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
    return np.array(sorted(out), dtype=float)


class Cohort:
    """Fixed virtual patients of one population: covariates from the engine's sampler, and the
    uniforms / normals behind baseline platelets, kon, Imax and time on treatment."""

    def __init__(self, population: str, n: int, seed: int) -> None:
        self.population = population
        self.n = n
        self.seed = seed
        base = sp.population(population, n)
        r = sp.simulate_population("xd_80_biw", base, days=1.0, seed=seed)
        self.covariates = r.subjects[["weight", "height", "age", "sex", "crcl"]].reset_index(drop=True)
        rng = np.random.default_rng([seed, 7919, len(population)])
        self.u_p0 = rng.random(n)
        self.z_kon = rng.standard_normal(n)
        self.z_imax = rng.standard_normal(n)
        self.u_disc = rng.random(n)
        self.base = base

    def table(self, x: dict[str, float]) -> pd.DataFrame:
        heavy = self.population == "rrmm_heavily_pretreated"
        med = x["P0_heavy"] if heavy else x["P0_early"]
        s = math.sqrt(math.log(1 + x["P0_cv"] ** 2))
        lo = stats.norm.cdf((math.log(75.0) - math.log(med)) / s)
        hi = stats.norm.cdf((math.log(700.0) - math.log(med)) / s)
        p0 = med * np.exp(s * stats.norm.ppf(lo + self.u_p0 * (hi - lo)))
        t = self.covariates.copy()
        t["platelets"] = p0
        sk = math.sqrt(math.log(1 + x["cv_kon"] ** 2))
        t["platelets.kon"] = x["kon"] * np.exp(sk * self.z_kon)
        si = math.sqrt(math.log(1 + x["cv_Imax"] ** 2))
        t["platelets.Imax"] = special.expit(special.logit(x["Imax"]) + si * self.z_imax)
        t["disc_days"] = self.disc_days(DISC_MEDIAN[self.population])
        return t

    def disc_days(self, median: float | None) -> np.ndarray:
        if median is None:
            return np.full(self.n, 1e6)
        return -np.log1p(-self.u_disc) * median / LN2


def typical_params(x: dict[str, float]) -> dict[str, dict[str, float]]:
    return {
        "platelets": {k: x[k] for k in ("Imax", "kon", "koff", "gamma", "tpo_half", "fP")},
        "bortezomib": {"Emax": x["Emax_btz"], "EC50": x["EC50_btz"]},
    }


# ------------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------------


def grade(p: np.ndarray) -> np.ndarray:
    """CTCAE v4.03 platelet count decreased."""
    p = np.asarray(p, dtype=float)
    return (p < 150).astype(int) + (p < 75) + (p < 50) + (p < 25)


def weighted_grouped_median(grid: np.ndarray, weights: np.ndarray) -> float:
    """Grouped median of events with `weights` (expected counts) on the sorted visit days `grid`."""
    total = weights.sum()
    if not total > 0:
        return math.nan
    cdf = np.cumsum(weights) / total
    k = int(np.searchsorted(cdf, 0.5 - 1e-12))
    if k == 0:
        return float(grid[0])
    g0, g1, c0, c1 = grid[k - 1], grid[k], cdf[k - 1], cdf[k]
    return float(g0 + (0.5 - c0) / (c1 - c0) * (g1 - g0))


def reported_events(te: np.ndarray, g: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Observation model of adverse-event reporting (ASSUMPTION, see AE_REPORTING): a treatment-emergent
    lab value of grade 3-4 is always reported, one of grade 1-2 with probability `q` at each visit,
    independently (q = 1: every treatment-emergent value). Returns, per patient, the probability that any
    event is reported and the probability that the first reported event is at each visit (expected values:
    smooth in `q`, no random draws)."""
    p = np.where(te, np.where(g >= 3, 1.0, q), 0.0)
    none_yet = np.cumprod(1.0 - p, axis=1)
    before = np.hstack([np.ones((p.shape[0], 1)), none_yet[:, :-1]])
    return 1.0 - none_yet[:, -1], p * before


def event_metrics(te: np.ndarray, g: np.ndarray, labs: np.ndarray, q: float) -> tuple[float, float, float]:
    """Fraction of patients with a reported event, and the grouped and plain medians of the study day
    (days after the first dose + 1) of the first one, under `reported_events`."""
    p_any, p_first = reported_events(te, g, q)
    w = p_first.sum(axis=0)
    if not w.sum() > 0:
        return float(p_any.mean()), math.nan, math.nan
    days = labs + 1.0
    plain = float(days[int(np.searchsorted(np.cumsum(w) / w.sum(), 0.5 - 1e-12))])
    return float(p_any.mean()), weighted_grouped_median(days, w), plain


def arm_metrics(res: sp.PopulationResult, labs: np.ndarray, q_report: float) -> dict[str, float]:
    s = res.subjects
    out = dict(res.summary())
    n = len(s)
    out["n"] = n
    # Treatment-emergent any grade on the lab visits: a post-baseline visit (while on treatment)
    # whose grade is worse than the baseline grade. Onset: study day (days after first dose + 1).
    traj = res.trajectories
    g0 = grade(s["P0"].to_numpy())
    on = labs[None, :] <= s["days_on_treatment"].to_numpy()[:, None] + 1e-9
    post = labs[None, :] > 0
    g = grade(traj)
    te = (g > g0[:, None]) & on & post
    # Every treatment-emergent lab value (q = 1), and the label's investigator-reported adverse
    # events (AE_REPORTING, q_report).
    for tag, q in (("lab", 1.0), ("reported", q_report)):
        out[f"any_te_{tag}"], out[f"onset_te_{tag}_median"], out[f"onset_te_{tag}_median_plain"] = \
            event_metrics(te, g, labs, q)
    out["any_grade_lab_incl_baseline"] = float((s["worst_grade_lab"] >= 1).mean())
    if "any_grade_lab" in out and abs(out["any_grade_lab"] - out["any_te_lab"]) > 1e-12:
        raise RuntimeError("treatment-emergent any grade differs from the package's any_grade_lab")
    # consistency with the engine's lab grading
    g_on = np.where(on, g, 0).max(axis=1)
    out["_lab_check"] = float((g_on == s["worst_grade_lab"].to_numpy()).mean())
    for key in ("t_onset_g1_days", "t_nadir_days", "nadir", "days_on_treatment"):
        out[f"{key}_median_all"] = float(s[key].median())
    return out


def typical_checks(x: dict[str, float] | None, library: Any = None, vd: bool = True) -> dict[str, float]:
    """Typical patient (library P0) on 80 mg BIW for 12 weeks, no dose rules; and on Vd for 24 weeks."""
    params = typical_params(x) if x is not None else None
    df = sp.simulate("xd_80_biw", days=84, dt_h=2.0, params=params, library=library)
    p = df["PLT"].to_numpy()
    p0 = p[0]
    i = int(np.argmin(p))
    out = {"biw_t_nadir_days": float(df["DAY"].iloc[i]), "biw_nadir_rel": float(p[i] / p0),
           "biw_max_rel": float(p.max() / p0), "biw_max_after_nadir_rel": float(p[i:].max() / p0),
           "biw_day84_rel": float(p[-1] / p0)}
    dq = sp.simulate("xd_100_qw", days=84, dt_h=2.0, params=params, library=library)
    q = dq["PLT"].to_numpy() / dq["PLT"].iloc[0]
    j = int(np.argmin(q))
    out.update({"qw_t_nadir_days": float(dq["DAY"].iloc[j]), "qw_nadir_rel": float(q[j]), "qw_max_rel": float(q.max()),
                "qw_day84_rel": float(q[-1])})
    four = sp.Regimen.weekly("selinexor", 80.0, weekdays=(1, 3), cycle_days=28, cycles=1)
    dw = sp.simulate(four, days=112, dt_h=2.0, params=params, library=library)
    w = dw["PLT"].to_numpy() / dw["PLT"].iloc[0]
    out.update({"withdraw_nadir_rel": float(w.min()), "withdraw_t_nadir_days": float(dw["DAY"].iloc[int(np.argmin(w))]),
                "withdraw_max_rel": float(w.max()), "withdraw_t_max_days": float(dw["DAY"].iloc[int(np.argmax(w))]),
                "withdraw_day112_rel": float(w[-1])})
    if not vd:
        return out
    for reg in ("vd_boston", "svd_100_qw"):
        dv = sp.simulate(reg, days=280, dt_h=2.0, params=params, library=library)
        q = dv["PLT"].to_numpy() / dv["PLT"].iloc[0]
        d = dv["DAY"].to_numpy()
        tag = reg.split("_")[0]
        out.update({f"{tag}_c1_nadir_rel": float(q[d <= 21].min()), f"{tag}_max_rel": float(q.max()),
                    f"{tag}_early_min_rel": float(q[d < 150].min()), f"{tag}_late_min_rel": float(q[d >= 150].min()),
                    f"{tag}_min_rel": float(q.min())})
    return out


def typical_penalty(chk: dict[str, float]) -> float:
    """Soft (quadratic) penalties of the typical-patient checks of MODEL.md section 3 (no dose rules)."""
    pen = 0.0
    for tag in ("biw", "qw"):
        # continuous 80 mg BIW / 100 mg QW for 12 weeks: nadir in weeks 3-6, no overshoot
        pen += (max(0.0, chk[f"{tag}_t_nadir_days"] - NADIR_WINDOW[1]) / 0.5) ** 2
        pen += (max(0.0, NADIR_WINDOW[0] - chk[f"{tag}_t_nadir_days"]) / 0.5) ** 2
        pen += (max(0.0, chk[f"{tag}_max_rel"] - OVERSHOOT_PEN) / 0.02) ** 2
    # 4 weeks of 80 mg BIW, then off: bounded rebound, recovery by day 112, nadir after the last dose
    pen += (max(0.0, chk["withdraw_max_rel"] - WITHDRAW_MAX) / 0.02) ** 2
    pen += (max(0.0, WITHDRAW_LAST[0] - chk["withdraw_day112_rel"]) / 0.01) ** 2
    pen += (max(0.0, chk["withdraw_day112_rel"] - WITHDRAW_LAST[1]) / 0.01) ** 2
    pen += (max(0.0, WITHDRAW_NADIR_DAYS[0] - chk["withdraw_t_nadir_days"]) / 1.0) ** 2
    pen += (max(0.0, chk["withdraw_t_nadir_days"] - WITHDRAW_NADIR_DAYS[1]) / 1.0) ** 2
    return pen


def stability_penalty(chk: dict[str, float]) -> float:
    pen = 0.0
    for tag in ("vd", "svd"):
        if f"{tag}_max_rel" in chk:
            pen += (max(0.0, chk[f"{tag}_max_rel"] - REBOUND_SOFT) / 0.25) ** 2
            pen += (max(0.0, chk[f"{tag}_early_min_rel"] - chk[f"{tag}_late_min_rel"] - AMPLIFY_SOFT) / 0.05) ** 2
    return pen


# ------------------------------------------------------------------------------------------------
# Evaluation and objective
# ------------------------------------------------------------------------------------------------


class Evaluator:
    def __init__(self, n: int, seed: int, n_boston: int | None = None, threads: int | None = None) -> None:
        self.seed = seed
        self.threads = threads
        nb = n_boston or n
        self.cohorts = {
            "rrmm_heavily_pretreated": Cohort("rrmm_heavily_pretreated", n, seed),
            "rrmm_early_relapse": Cohort("rrmm_early_relapse", nb, seed),
        }
        self.labs = {k: lab_days(sp.regimen(a.regimen), a.days) for k, a in ARMS.items()}
        self.short = False
        self.n_evals = 0
        self.history: list[dict[str, Any]] = []

    def days(self, arm: str) -> float:
        return SEARCH_DAYS_BOSTON if (self.short and arm != "storm") else ARMS[arm].days

    def simulate_arm(self, arm: str, x: dict[str, float]) -> dict[str, float]:
        a = ARMS[arm]
        c = self.cohorts[a.population]
        pop = sp.Population.from_table(c.table(x), base=c.base)
        days = self.days(arm)
        labs = self.labs[arm][self.labs[arm] < days]
        res = sp.simulate_population(a.regimen, pop, days=days, seed=self.seed, dose_rules=a.rules,
                                     params=typical_params(x), observe=labs, threads=self.threads)
        return arm_metrics(res, labs, x["q_report"])

    def rule_stops(self, arm: str, x: dict[str, float]) -> np.ndarray:
        """Days at which the dose rules stop selinexor for good (inf: never within the horizon), with no
        discontinuation for other reasons."""
        a = ARMS[arm]
        c = self.cohorts[a.population]
        t = c.table(x)
        t["disc_days"] = c.disc_days(None)
        pop = sp.Population.from_table(t, base=c.base)
        res = sp.simulate_population(a.regimen, pop, days=a.days, seed=self.seed, dose_rules=a.rules,
                                     params=typical_params(x), threads=self.threads)
        s = res.subjects
        return np.where(s["stopped_by_rule"].to_numpy(), s["days_on_treatment"].to_numpy(), np.inf)

    def objective(self, x: dict[str, float], arms: list[str], free: list[str]) -> tuple[float, dict[str, Any]]:
        self.n_evals += 1
        sims = {a: self.simulate_arm(a, x) for a in arms}  # none in stage 0
        terms: dict[str, float] = {}
        for t in TARGETS:
            if t.fit and t.arm in arms:
                v = sims[t.arm][t.metric]
                terms[t.key] = 25.0 if not math.isfinite(v) else ((v - t.observed) / t.se_obs) ** 2
        prior = sum(PBYNAME[k].prior(x[k]) for k in free)
        chk = typical_checks(x)
        pen = typical_penalty(chk)
        pen += stability_penalty(chk)
        total = sum(terms.values()) + prior + pen
        rec = {"eval": self.n_evals, "total": total, "fit": sum(terms.values()), "prior": prior, "penalty": pen,
               **{f"x.{k}": x[k] for k in free}, **{f"t.{k}": v for k, v in terms.items()},
               **{f"sim.{a}.{m}": sims[a][m] for a in arms for m in ("g3_lab", "g4_lab", "g3plus_lab", "any_te_reported", "onset_te_reported_median")},
               **{f"chk.{k}": v for k, v in chk.items()}}
        self.history.append(rec)
        return total, rec


def solve_discontinuation(ev: Evaluator, x: dict[str, float], log: Callable[[str], None]) -> dict[str, float]:
    """Choose the exponential discontinuation median of each population so that the simulated median
    days on treatment, min(discontinuation, stop by the dose rules, horizon), matches TIME_ON_TREATMENT.
    The rule-stop times come from one run without discontinuation (common random numbers); the early-
    relapse population serves both BOSTON arms, so its median minimises the squared log errors of both."""
    out = {}
    grid = np.exp(np.linspace(math.log(20.0), math.log(900.0), 400))
    for pop, arms in (("rrmm_heavily_pretreated", ["storm"]), ("rrmm_early_relapse", ["svd", "vd"])):
        c = ev.cohorts[pop]
        stops = {a: (ev.rule_stops(a, x) if ARMS[a].rules else np.full(c.n, np.inf)) for a in arms}
        def med(m: float, a: str) -> float:
            return float(np.median(np.minimum(np.minimum(c.disc_days(m), stops[a]), ARMS[a].days)))
        err = [sum(math.log(med(m, a) / TIME_ON_TREATMENT[a]) ** 2 for a in arms) for m in grid]
        m = float(grid[int(np.argmin(err))])
        out[pop] = float(round(m))
        DISC_MEDIAN[pop] = out[pop]
        log(f"  discontinuation median {pop}: {out[pop]:.0f} days -> median days on treatment "
            + ", ".join(f"{a} {med(out[pop], a):.0f} (observed {TIME_ON_TREATMENT[a]:.0f}; stopped by the rules "
                        f"{100 * np.isfinite(stops[a]).mean():.0f}% within {ARMS[a].days:.0f} days)" for a in arms))
    return out


def fit_stage(ev: Evaluator, x0: dict[str, float], free: list[str], arms: list[str], maxfev: int,
              name: str, log: Callable[[str], None]) -> dict[str, float]:
    ps = [PBYNAME[k] for k in free]
    u0 = np.array([p.to_u(x0[p.name]) for p in ps])
    best: dict[str, Any] = {"f": math.inf, "x": dict(x0), "rec": None}
    t0 = time.perf_counter()

    def unpack(u: np.ndarray) -> dict[str, float]:
        x = dict(x0)
        for p, ui in zip(ps, u):
            x[p.name] = p.from_u(float(ui))
        return x

    def f(u: np.ndarray) -> float:
        x = unpack(u)
        val, rec = ev.objective(x, arms, free)
        if val < best["f"]:
            best.update(f=val, x=x, rec=rec)
            sims = " ".join(f"{k[4:]}={v:.3f}" for k, v in rec.items() if k.startswith("sim.") and isinstance(v, (float, np.floating))
                            and not k.endswith("onset_te_reported_median") and (("g3plus" in k) or ("storm" in k and ("g3_lab" in k or "g4_lab" in k or "any" in k))))
            onset = rec.get("sim.storm.onset_te_reported_median")
            log(f"  [{name[:1]}] eval {ev.n_evals:4d}  t={time.perf_counter() - t0:6.1f}s  f={val:8.3f} (fit {rec['fit']:.2f} prior {rec['prior']:.2f} "
                f"pen {rec['penalty']:.2f})  {sims}" + (f" onset={onset:.1f}" if onset is not None else "")
                + f" | typ nadir d{rec['chk.biw_t_nadir_days']:.0f}/d{rec['chk.qw_t_nadir_days']:.0f} vd max {rec['chk.vd_max_rel']:.2f}"
                + f" withdraw max {rec['chk.withdraw_max_rel']:.2f} d112 {rec['chk.withdraw_day112_rel']:.2f}"
                + "  " + " ".join(f"{k}={x[k]:.4g}" for k in free))
        return val

    init = np.vstack([u0] + [u0 + 0.6 * np.eye(len(u0))[i] for i in range(len(u0))])
    log(f"Stage {name}: {len(free)} parameters, arms {arms}, up to {maxfev} evaluations")
    optimize.minimize(f, u0, method="Nelder-Mead",
                      options={"maxfev": maxfev, "initial_simplex": init, "xatol": 0.02, "fatol": 0.05, "adaptive": True})
    log(f"Stage {name} done: f={best['f']:.3f} after {time.perf_counter() - t0:.0f} s")
    return best["x"]


# ------------------------------------------------------------------------------------------------
# The calibrated library (as an override, and as edits of the shipped TOML files)
# ------------------------------------------------------------------------------------------------


def library_override(x: dict[str, float]) -> dict[str, Any]:
    """The calibrated values as a library override (the same values that --write puts in data/)."""
    pops = {}
    for name, med in (("rrmm_heavily_pretreated", x["P0_heavy"]), ("rrmm_early_relapse", x["P0_early"])):
        spec = sp.population(name, 1).spec
        spec["covariates"]["platelets"] = {**spec["covariates"]["platelets"], "median": rnd(med), "cv": rnd(x["P0_cv"])}
        spec["iiv"] = {**spec.get("iiv", {}), "platelets.kon": rnd(x["cv_kon"]), "platelets.Imax": rnd(x["cv_Imax"])}
        spec["discontinuation"] = {"dist": "exponential", "median_days": DISC_MEDIAN[name]}
        pops[name] = spec
    return {
        "platelets": {k: {"value": rnd(x[k])} for k in ("Imax", "kon", "koff", "gamma", "tpo_half", "fP")},
        "drugs": {"bortezomib": {"params": {"Emax": {"value": rnd(x["Emax_btz"])}, "EC50": {"value": rnd(x["EC50_btz"])}}}},
        "populations": pops,
    }


def rnd(v: float, sig: int = 4) -> float:
    """Round to 4 significant digits (the precision written to the files)."""
    if v == 0 or not math.isfinite(v):
        return v
    return float(f"{v:.{sig}g}")


def rounded(x: dict[str, float]) -> dict[str, float]:
    return {k: rnd(v) for k, v in x.items()}


def _fmt(v: float) -> str:
    s = f"{v:.4g}"
    if "e" in s:
        m, e = s.split("e")
        s = f"{float(m)}e{int(e)}"
    elif "." not in s:
        s += ".0"
    return s


def _set_value_line(text: str, section: str, key: str, value: float, source: str) -> str:
    """In TOML `text`, within [section], replace `key = { value = ..., ..., source = "..." }`."""
    m = re.search(rf"^\[{re.escape(section)}\]\s*$", text, flags=re.M)
    if not m:
        raise SystemExit(f"section [{section}] not found")
    end = re.search(r"^\[", text[m.end():], flags=re.M)
    stop = m.end() + (end.start() if end else len(text) - m.end())
    body = text[m.end():stop]
    pat = re.compile(rf'^({re.escape(key)}\s*=\s*\{{\s*value\s*=\s*)([^,]+)(,.*?source\s*=\s*")([^"]*)(".*)$', flags=re.M)
    if not pat.search(body):
        raise SystemExit(f"{section}.{key} not found")
    body = pat.sub(lambda mm: f"{mm.group(1)}{_fmt(value)}{mm.group(3)}{source}{mm.group(5)}", body, count=1)
    return text[:m.end()] + body + text[stop:]


def _set_population(text: str, name: str, median: float, cv: float, cv_kon: float, cv_imax: float,
                    disc: float, note: str) -> str:
    m = re.search(rf"^\[populations\.{re.escape(name)}\]\s*$", text, flags=re.M)
    if not m:
        raise SystemExit(f"population {name} not found")
    end = re.search(r"^\[", text[m.end():], flags=re.M)
    stop = m.end() + (end.start() if end else len(text) - m.end())
    body = text[m.end():stop]

    def sub(pattern: str, repl: Callable[[re.Match[str]], str]) -> None:
        nonlocal body
        new, k = re.subn(pattern, repl, body, count=1, flags=re.M)
        if k != 1:
            raise SystemExit(f"populations.{name}: pattern {pattern!r} not found")
        body = new

    sub(r"^(covariates\.platelets\s*=\s*\{.*?median\s*=\s*)([0-9.eE+-]+)(.*?cv\s*=\s*)([0-9.eE+-]+)(.*)$",
        lambda mm: f"{mm.group(1)}{_fmt(median)}{mm.group(3)}{_fmt(cv)}{mm.group(5)}")
    sub(r"^iiv\s*=.*$", lambda mm: f'iiv = {{ "platelets.kon" = {_fmt(cv_kon)}, "platelets.Imax" = {_fmt(cv_imax)} }}')
    sub(r"^(discontinuation\s*=\s*\{.*?median_days\s*=\s*)([0-9.eE+-]+)(.*)$",
        lambda mm: f"{mm.group(1)}{_fmt(disc)}{mm.group(3)}")
    # a comment line above the calibrated values, replaced on each run
    body = re.sub(r"^# calibrated: .*\n", "", body, flags=re.M)
    body = re.sub(r"^(covariates\.platelets\s*=)", f"# calibrated: {note}\n\\1", body, count=1, flags=re.M)
    return text[:m.end()] + body + text[stop:]


def write_files(x: dict[str, float], log: Callable[[str], None]) -> None:
    cal = (f"calibrated by calibration/calibrate.py on {DATE} against the MODEL.md section 7 targets "
           "(STORM, XPOVIO label pool, BOSTON SVd and Vd thrombocytopenia on lab visits; docs/calibration.md)")
    srcs = {
        "kon": f"XPO1 engagement rate; start 1.0 (MODEL.md section 2); {cal}",
        "koff": f"XPO1 recovery (Cys528 covalent, slowly reversible); start 0.02 (t1/2 about 35 h, MODEL.md section 2); {cal}",
        "Imax": f"maximal TPO-signalling inhibition by XPO1 engagement; start 0.9; {cal}",
        "gamma": f"sensitivity of progenitor proliferation to the TPO signal (gamma near 1 oscillates, MODEL.md section 3); start 0.2; {cal}",
        "tpo_half": f"TPO half-life, bounded to the reported 20-46 h (rhTPO 24-40 h); start 30 h (ASSUMPTION); {cal}",
        "fP": f"fraction of TPO cleared by platelets at baseline (c-MPL clearance dominates); start 0.8 (ASSUMPTION); {cal}",
    }
    path = DATA / "platelets.toml"
    text = path.read_text(encoding="utf-8")
    for k, s in srcs.items():
        text = _set_value_line(text, "platelets", k, x[k], s)
    path.write_text(text, encoding="utf-8")
    log(f"wrote {path.relative_to(ROOT)}")

    path = DATA / "drugs.toml"
    text = path.read_text(encoding="utf-8")
    text = _set_value_line(text, "drugs.bortezomib.params", "Emax", x["Emax_btz"],
                           f"release block (Lonial S et al., Blood 2005;106:3777 pattern); start 1.0 (ASSUMPTION); {cal}; identified mainly by BOSTON Vd")
    text = _set_value_line(text, "drugs.bortezomib.params", "EC50", x["EC50_btz"],
                           f"start 5e-5 mg/L (0.05 ng/mL, simulated ~60% fall of Lonial 2005, docs/research/partner_effects.md); {cal}; identified mainly by BOSTON Vd (17% grade 3-4)")
    path.write_text(text, encoding="utf-8")
    log(f"wrote {path.relative_to(ROOT)}")

    path = DATA / "populations.toml"
    text = path.read_text(encoding="utf-8")
    for name, med in (("rrmm_heavily_pretreated", x["P0_heavy"]), ("rrmm_early_relapse", x["P0_early"])):
        fitted = {k for _, free, *_ in STAGES for k in free}
        what = ["baseline-platelet median"] + (["cv"] if "P0_cv" in fitted else []) + ["IIV of kon and Imax"]
        note = (f"{', '.join(what)} {cal}"
                + ("" if "P0_cv" in fitted else "; baseline-platelet cv 0.45 from MODEL.md section 5 (not fitted)")
                + f"; discontinuation median: {DISC_SOURCES[name]}")
        text = _set_population(text, name, med, x["P0_cv"], x["cv_kon"], x["cv_Imax"], DISC_MEDIAN[name], note)
    path.write_text(text, encoding="utf-8")
    log(f"wrote {path.relative_to(ROOT)}")

    AE_REPORTING.write_text(json.dumps({
        "q_report": x["q_report"],
        "meaning": "per-visit probability that a treatment-emergent grade 1-2 platelet count is reported as an adverse "
                   "event; grade 3-4 always reported (ASSUMPTION, observation model of calibration/calibrate.py)",
        "source": cal}, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {AE_REPORTING.relative_to(ROOT)}")


# ------------------------------------------------------------------------------------------------
# Final check (engine sampler, n per arm) and report
# ------------------------------------------------------------------------------------------------


def check(library: Any, n: int, seed: int, q_report: float, days_override: dict[str, float] | None = None,
          threads: int | None = None) -> dict[str, dict[str, float]]:
    """Simulate every arm with the library's own populations (no patient table, no overrides)."""
    out = {}
    for key, a in ARMS.items():
        days = (days_override or {}).get(key, a.days)
        labs = lab_days(sp.regimen(a.regimen, library=library), days)
        pop = sp.population(a.population, n, library=library)
        res = sp.simulate_population(a.regimen, pop, days=days, seed=seed, dose_rules=a.rules, observe=labs,
                                     library=library, threads=threads)
        out[key] = arm_metrics(res, labs, q_report)
    return out


def report_rows(sims: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    rows = []
    for t in TARGETS:
        lo, hi = t.ci()
        v = sims[t.arm][t.metric]
        rows.append({
            "target": t.key, "description": t.label, "source": t.source, "arm": t.arm, "metric": t.metric,
            "observed": t.observed, "obs_k": t.k, "obs_n": t.n, "ci_lo": lo, "ci_hi": hi,
            "ci_kind": "Clopper-Pearson 95%" if t.k is not None else f"+/- 1.96 x assumed SE {t.se}",
            "simulated": v, "sim_n": int(sims[t.arm]["n"]), "within_ci": bool(lo <= v <= hi),
            "fitted": t.fit,
        })
    for arm, obs in TIME_ON_TREATMENT.items():
        rows.append({"target": f"{arm}_days_on_treatment", "description": f"{arm}: median days on treatment",
                     "source": CHARI if arm == "storm" else "ASSUMPTION (see DISC_SOURCES)", "arm": arm,
                     "metric": "days_on_treatment_median", "observed": obs, "obs_k": None, "obs_n": None,
                     "ci_lo": math.nan, "ci_hi": math.nan, "ci_kind": "", "simulated": sims[arm]["days_on_treatment_median"],
                     "sim_n": int(sims[arm]["n"]), "within_ci": None, "fitted": False})
    return rows


def print_table(rows: list[dict[str, Any]], log: Callable[[str], None]) -> None:
    for r in rows:
        if r["metric"] == "days_on_treatment_median":
            log(f"  {r['target']:<26} observed {r['observed']:7.1f}            simulated {r['simulated']:7.1f} (n={r['sim_n']})")
        elif r["obs_k"] is None:
            log(f"  {r['target']:<26} observed {r['observed']:7.1f} [{r['ci_lo']:.1f}, {r['ci_hi']:.1f}]  simulated {r['simulated']:7.2f} (n={r['sim_n']})  within: {'yes' if r['within_ci'] else 'NO'}")
        else:
            log(f"  {r['target']:<26} observed {r['observed']:6.3f} ({r['obs_k']}/{r['obs_n']}) [{r['ci_lo']:.3f}, {r['ci_hi']:.3f}]  "
                f"simulated {r['simulated']:6.3f} (n={r['sim_n']})  within: {'yes' if r['within_ci'] else 'NO'}")


def write_doc(x: dict[str, float], rows: list[dict[str, Any]], extra: dict[str, Any], log: Callable[[str], None]) -> None:
    L: list[str] = []
    a = L.append
    a("# Calibration of the default platelet model")
    a("")
    a(f"Generated by `calibration/calibrate.py` on {DATE} (wall time {extra['wall_s'] / 60:.1f} min; "
      f"command `{extra['command']}`). Raw results: `calibration/report.csv`.")
    a("")
    a("## What is calibrated, and against what")
    a("")
    a("The free parameters of MODEL.md section 7 (`platelets.Imax`, `kon`, `koff`, `gamma`, `tpo_half`, `fP`; the IIV of")
    a("drug sensitivity; the baseline-platelet distribution of each population; bortezomib `Emax`/`EC50`) are fitted to the")
    a("training targets of MODEL.md section 7. Everything else (PK, `MTT`, `lifespan`, `platelets.P0` of the typical patient)")
    a("keeps its sourced value. Each trial arm is simulated as its protocol ran it:")
    a("")
    a("| arm | regimen preset | dose rules | population | simulated days | lab visits (days after first dose) |")
    a("|---|---|---|---|---|---|")
    for k, arm in ARMS.items():
        labs = lab_days(sp.regimen(arm.regimen), arm.days)
        a(f"| {arm.label} | `{arm.regimen}` | {arm.rules or 'none'} | `{arm.population}` | {arm.days:.0f} | "
          f"{', '.join(f'{d:.0f}' for d in labs[:8])}, ... |")
    a("")
    a("Grades are read on the lab visits while on treatment (`worst_grade_lab`), as trials grade. Definitions:")
    a("")
    a("- grade 3, grade 4, grade 3-4: worst lab-visit grade (CTCAE v4.03) while on treatment (`g3_lab`, `g4_lab`, `g3plus_lab`);")
    a("- any grade (label 74%): **treatment-emergent** and **reported**. Treatment-emergent on the lab visits: a post-baseline")
    a("  visit whose grade is worse than the baseline grade (a patient starting at 75-150, already grade 1, counts once he")
    a("  falls below 75; `any_te_lab`). Counting every patient with a baseline below 150 as an event (`worst_grade_lab >= 1`)")
    a("  would make any grade almost 100% in any population whose median baseline is near 150; that number is reported too")
    a("  (`any_grade_lab_incl_baseline`). Reported (ASSUMPTION, observation model of the label's adverse-event counts): a")
    a("  treatment-emergent value of grade 3-4 is always reported as an adverse event, one of grade 1-2 with probability")
    a(f"  `q_report` at each visit, independently (fitted: {x['q_report']:.3g}; `calibration/ae_reporting.json`); the metric is the")
    a("  expected fraction of patients with a reported event (`any_te_reported`);")
    a("- median time to onset (label 22 days): study day (days after the first dose + 1) of the first reported event, median")
    a("  among patients with one (expected distribution under the reporting model); the fit uses the grouped median (events")
    a("  spread evenly between visits) so that the objective is smooth; the plain median (a visit day) is reported as well.")
    a("  Its SE is an ASSUMPTION (3 days; the label gives no interval);")
    a("- time on treatment: exponential discontinuation for non-platelet reasons (`discontinuation.median_days`); treatment")
    a("  also ends when the dose rules stop selinexor for good (past the last level), and the engine counts that in")
    a("  `days_on_treatment`. The median of each population is solved (grid search, common random numbers) so that the")
    a("  simulated median of min(discontinuation, rule stop, horizon) matches the observed median; the early-relapse")
    a("  population serves both BOSTON arms, so its median minimises the summed squared log errors of SVd and Vd.")
    a(f"  STORM: {DISC_SOURCES['rrmm_heavily_pretreated']}. BOSTON: {DISC_SOURCES['rrmm_early_relapse']}.")
    a("")
    a("## Method")
    a("")
    a(f"- Virtual patients are common random numbers: for each population {extra['n']} (STORM) / {extra['n_boston']} (BOSTON) subjects, seed "
      f"{extra['seed']}; covariates from the engine's sampler, and fixed uniforms/normals behind the baseline platelets")
    a("  (log-normal truncated to 75-700 by inverse CDF, the same distribution the engine samples by redrawing), kon")
    a("  (log-normal IIV), Imax (logit-normal IIV) and the discontinuation time. Candidates are passed through the API")
    a("  (`params=` for typical values, a patient table via `Population.from_table` for the per-subject values), never rebuilt.")
    a("- Objective: sum over fitted targets of ((simulated - observed) / SE_observed)^2, SE_observed = sqrt(p(1-p)/n_obs);")
    a("  plus normal priors (on the scale shown) centred on the starting values, which keep weakly identified parameters")
    a("  near them; plus penalties: typical patient (no dose rules) on continuous 80 mg BIW and on 100 mg QW for 12 weeks: nadir outside "
      f"days {NADIR_WINDOW[0]:.0f}-{NADIR_WINDOW[1]:.0f} (realism check: weeks 3-6, tested as days 15-42) and overshoot above {OVERSHOOT_PEN} x baseline "
      f"(tested: 1.2); typical patient on 80 mg BIW for 4 weeks "
      f"then 12 weeks off (ASSUMPTION: a rebound is allowed within the normal range, at most {NORMAL_MAX:.0f} x 10^9/L = "
      f"{NORMAL_MAX / TYPICAL_P0:.2f} x baseline in the tests): maximum above {WITHDRAW_MAX} x baseline, day-112 count outside "
      f"{WITHDRAW_LAST[0]}-{WITHDRAW_LAST[1]} x baseline (tests: 0.9-1.5) or nadir outside days "
      f"{WITHDRAW_NADIR_DAYS[0]:.0f}-{WITHDRAW_NADIR_DAYS[1]:.0f}; typical patient on SVd and on Vd "
      f"over 40 weeks: rebound above {REBOUND_SOFT} x baseline, and a late trough (days 150-280) deeper than the earlier one (days 0-150) by more than "
      f"{AMPLIFY_SOFT} x baseline (growing oscillation); all soft (quadratic).")
    a("- STORM grade 3-4 (58.5%) equals grade 3 + grade 4 and is reported, not fitted a second time; the label pool (n = 202)")
    a("  contains the STORM patients and is simulated with the same arm.")
    a("- Nelder-Mead (scipy, adaptive) on a bounded logit transform of each parameter (on log scale where marked), in stages:")
    for name, free, arms, fev, short in STAGES:
        a(f"  {name} ({', '.join(free)}; arms {', '.join(arms)}; up to {int(fev * extra['maxiter'] / 100)} evaluations"
          + (f"; BOSTON simulated for {SEARCH_DAYS_BOSTON:.0f} days" if short else "") + ");")
    a(f"  {extra['n_evals']} evaluations in all.")
    a(f"- Final check: the calibrated values as a library override, the engine's own population sampler (no patient table),")
    a(f"  n = {extra['check_n']} per arm, seed {extra['check_seed']} (not the fit seed). After the rebuild, "
      "`python calibration/calibrate.py --verify` repeats it with the shipped defaults and no override.")
    a("")
    a("## Fitted values")
    a("")
    a("| parameter | written to | start | bounds | prior SD (scale) | free in stages | fitted |")
    a("|---|---|---|---|---|---|---|")
    for p in PARAMS:
        pr = "flat" if p.prior_sd is None else (f"{p.prior_sd:.3g} ({'log' if p.scale == 'log' else 'linear'})")
        st = ", ".join(name.split(":")[0] for name, free, *_ in STAGES if p.name in free) or "held at start"
        a(f"| {p.name}: {p.note} | `{p.where}` | {_fmt(p.start)} | {_fmt(p.lo)} - {_fmt(p.hi)} | {pr} | {st} | **{_fmt(x[p.name])}** |")
    a(f"| discontinuation median (days), heavily pretreated | `populations.rrmm_heavily_pretreated.discontinuation.median_days` | 70 (previous default) | 20 - 900 | | solved before C and at the end | **{_fmt(DISC_MEDIAN['rrmm_heavily_pretreated'])}** |")
    a(f"| discontinuation median (days), early relapse | `populations.rrmm_early_relapse.discontinuation.median_days` | 210 (previous default) | 20 - 900 | | solved before C and at the end | **{_fmt(DISC_MEDIAN['rrmm_early_relapse'])}** |")
    a("")
    a("IIV of Imax is written as a CV like the other entries of `iiv`; bounded parameters vary on the logit scale with")
    a("SD sqrt(ln(1 + CV^2)).")
    a("")
    a("## Report: observed vs simulated")
    a("")
    a(f"Simulated with the calibrated library (engine sampler), n = {extra['check_n']} per arm, seed {extra['check_seed']}.")
    a("")
    a("| target | observed (k/n) | 95% CI (Clopper-Pearson) | simulated (n) | within CI | fitted |")
    a("|---|---|---|---|---|---|")
    for r in rows:
        if r["metric"] == "days_on_treatment_median":
            continue
        if r["obs_k"] is None:
            a(f"| {r['description']} ({r['source']}) | {r['observed']:.0f} days | {r['ci_lo']:.1f}-{r['ci_hi']:.1f} (assumed SE) | "
              f"{r['simulated']:.1f} days ({r['sim_n']}) | {'yes' if r['within_ci'] else '**no**'} | {'yes' if r['fitted'] else 'no'} |")
        else:
            a(f"| {r['description']} ({r['source']}) | {100 * r['observed']:.1f}% ({r['obs_k']}/{r['obs_n']}) | "
              f"{100 * r['ci_lo']:.1f}-{100 * r['ci_hi']:.1f}% | {100 * r['simulated']:.1f}% ({r['sim_n']}) | "
              f"{'yes' if r['within_ci'] else '**no**'} | {'yes' if r['fitted'] else 'no'} |")
    a("")
    a("Time on treatment (median days):")
    a("")
    a("| arm | observed | simulated (n) |")
    a("|---|---|---|")
    for r in rows:
        if r["metric"] == "days_on_treatment_median":
            a(f"| {r['arm']} | {r['observed']:.0f} ({'STORM 9.0 weeks' if r['arm'] == 'storm' else 'ASSUMPTION, see above'}) | {r['simulated']:.0f} ({r['sim_n']}) |")
    a("")
    a("Other simulated quantities (same runs):")
    a("")
    a("| arm | grade 3-4, continuous trajectory | any grade incl. baseline < 150 (lab) | any grade TE, every lab value (reported) | onset of the first TE lab value, grouped / plain median (study day) | onset of the first reported event, plain median | continuous onset < 150, median (days) | median nadir | modified (interrupted or reduced) |")
    a("|---|---|---|---|---|---|---|---|---|")
    for k, s in extra["check"].items():
        a(f"| {k} | {100 * s['g3plus']:.1f}% | {100 * s['any_grade_lab_incl_baseline']:.1f}% | {100 * s['any_te_lab']:.1f}% ({100 * s['any_te_reported']:.1f}%) | "
          f"{s['onset_te_lab_median']:.1f} / {s['onset_te_lab_median_plain']:.0f} | {s['onset_te_reported_median_plain']:.0f} | "
          f"{s['t_onset_g1_days_median']:.1f} | {s['nadir_median']:.0f} | {100 * s['modified']:.1f}% |")
    a("")
    c = extra["typical"]
    a("Physiological checks, typical patient (platelets.P0):")
    a("")
    for tag, what in (("biw", "80 mg BIW"), ("qw", "100 mg QW")):
        a(f"- {what}, continuous, no dose rules, 12 weeks: nadir {c[f'{tag}_nadir_rel']:.2f} x baseline on day {c[f'{tag}_t_nadir_days']:.1f} "
          f"(week {int(c[f'{tag}_t_nadir_days'] // 7) + 1}; required days 15-42), {c[f'{tag}_day84_rel']:.2f} x baseline on day 84; "
          f"maximum {c[f'{tag}_max_rel']:.2f} x baseline (required <= {OVERSHOOT_MAX}).")
    a(f"- 80 mg BIW for 4 weeks, then 12 weeks without drug: nadir {c['withdraw_nadir_rel']:.2f} x baseline on day "
      f"{c['withdraw_t_nadir_days']:.1f}; maximum {c['withdraw_max_rel']:.2f} x baseline ({c['withdraw_max_rel'] * TYPICAL_P0:.0f} x 10^9/L) on day "
      f"{c['withdraw_t_max_days']:.1f} (soft penalty above {WITHDRAW_MAX}; tests ask <= {NORMAL_MAX:.0f} x 10^9/L, {NORMAL_MAX / TYPICAL_P0:.2f} x); "
      f"day 112 {c['withdraw_day112_rel']:.2f} x baseline (soft penalty outside {WITHDRAW_LAST[0]}-{WITHDRAW_LAST[1]}; tests ask 0.9-1.5).")
    for tag, what in (("vd", "BOSTON Vd"), ("svd", "BOSTON SVd (no dose rules)")):
        a(f"- {what}, 40 weeks: cycle-1 nadir {c[f'{tag}_c1_nadir_rel']:.2f} x baseline"
          + (" (Lonial 2005: mean fall about 60% on twice-weekly bortezomib)" if tag == "vd" else "")
          + f"; maximum {c[f'{tag}_max_rel']:.2f} x baseline; minimum days 0-150 {c[f'{tag}_early_min_rel']:.2f}, days 150-280 {c[f'{tag}_late_min_rel']:.2f}.")
    if extra.get("horizon"):
        a("")
        a("Sensitivity to the BOSTON horizon (same seed, n as above, 364 days instead of 280):")
        a("")
        for k, s in extra["horizon"].items():
            a(f"- {k}: grade 3-4 {100 * s['g3plus_lab']:.1f}% (grade 3 {100 * s['g3_lab']:.1f}%, grade 4 {100 * s['g4_lab']:.1f}%), "
              f"median days on treatment {s['days_on_treatment_median']:.0f}")
    a("")
    a("## Notes and limitations")
    a("")
    for note in extra["notes"]:
        a(f"- {note}")
    a("")
    path = DOCS / "calibration.md"
    path.write_text("\n".join(L), encoding="utf-8")
    log(f"wrote {path.relative_to(ROOT)}")


# ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=400, help="subjects per arm in the search (STORM)")
    ap.add_argument("--n-boston", type=int, default=200, help="subjects per BOSTON arm in the search")
    ap.add_argument("--seed", type=int, default=20261121, help="seed of the virtual patients in the search")
    ap.add_argument("--maxiter", type=int, default=100, help="evaluation budget in percent of the default per stage")
    ap.add_argument("--check-n", type=int, default=1000, help="subjects per arm in the final check")
    ap.add_argument("--check-seed", type=int, default=777, help="seed of the final check (not the fit seed)")
    ap.add_argument("--threads", type=int, default=None, help="worker threads (all cores when omitted)")
    ap.add_argument("--write", action="store_true", help="write data/*.toml, docs/calibration.md, calibration/report.csv")
    ap.add_argument("--verify", action="store_true", help="only check the shipped defaults (no overrides)")
    ap.add_argument("--start", choices=["defaults", "spec"], default="spec",
                    help="start from MODEL.md's starting values (spec) or from the shipped defaults")
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny n and budget, no writing")
    ap.add_argument("--init", default=None,
                    help='JSON object of initial values for the search, e.g. \'{"kon": 1.2}\' (priors stay centred on the starting values)')
    args = ap.parse_args(argv)
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, flush=True)

    if args.verify:
        log(f"Verifying the shipped defaults: n={args.check_n} per arm, seed {args.check_seed}")
        q = load_q_report()
        log(f"  AE reporting: q_report = {q} ({AE_REPORTING.relative_to(ROOT)})")
        sims = check(sp.Library(), args.check_n, args.check_seed, q, threads=args.threads)
        rows = report_rows(sims)
        print_table(rows, log)
        chk = typical_checks(None, sp.Library())
        log("  typical: " + " ".join(f"{k}={v:.3f}" for k, v in chk.items()))
        bad = [r["target"] for r in rows if r["within_ci"] is False]
        log("all targets within their 95% CI" if not bad else f"OUTSIDE the 95% CI: {', '.join(bad)}")
        log(f"wall time {time.perf_counter() - t_start:.0f} s")
        return 0 if not bad else 1

    if args.quick:
        args.n, args.n_boston, args.maxiter, args.check_n = 120, 80, 8, 200
        args.write = False

    x = dict(START)
    if args.init:
        init = json.loads(args.init)
        unknown = sorted(set(init) - set(START))
        if unknown:
            ap.error(f"--init: unknown parameters {unknown}")
        x.update({k: float(v) for k, v in init.items()})
    log(f"Calibration: n={args.n} (STORM), {args.n_boston} (BOSTON), seed {args.seed}, budget {args.maxiter}%")
    ev = Evaluator(args.n, args.seed, args.n_boston, threads=args.threads)
    f0, rec0 = ev.objective(x, list(ARMS), [p.name for p in PARAMS])
    log(f"start: f={f0:.2f} " + " ".join(f"{k}={v:.3f}" for k, v in rec0.items() if k.startswith("sim.")))
    for name, free, arms, fev, short in STAGES:
        if name.startswith("C"):
            log("Time on treatment before stage C:")
            solve_discontinuation(ev, x, log)
        ev.short = short
        x = fit_stage(ev, x, free, arms, max(4, int(fev * args.maxiter / 100)), name, log)
    ev.short = False
    x = rounded(x)
    log("Time on treatment with the fitted values:")
    solve_discontinuation(ev, x, log)
    f1, rec1 = ev.objective(x, list(ARMS), [p.name for p in PARAMS])
    log(f"fitted (rounded): f={f1:.2f}  " + " ".join(f"{k}={_fmt(v)}" for k, v in x.items()))
    log(f"search done after {ev.n_evals} evaluations, {time.perf_counter() - t_start:.0f} s")

    lib = sp.Library().override(library_override(x))
    log(f"Final check with the engine's sampler: n={args.check_n} per arm, seed {args.check_seed}")
    args.q_report = x["q_report"]
    sims = check(lib, args.check_n, args.check_seed, x["q_report"], threads=args.threads)
    rows = report_rows(sims)
    print_table(rows, log)
    horizon = check_horizon(lib, args) if not args.quick else None
    typical = typical_checks(None, lib)
    log("typical: " + " ".join(f"{k}={v:.3f}" for k, v in typical.items()))
    bad = [r["target"] for r in rows if r["within_ci"] is False]
    log("all targets within their 95% CI" if not bad else f"OUTSIDE the 95% CI: {', '.join(bad)}")
    wall = time.perf_counter() - t_start
    log(f"wall time {wall / 60:.1f} min")

    if args.write:
        write_files(x, log)
        hist = pd.DataFrame(ev.history)
        rep = pd.DataFrame(rows)
        params = pd.DataFrame([{"target": f"param.{p.name}", "description": p.note, "source": p.where,
                                "observed": p.start, "ci_lo": p.lo, "ci_hi": p.hi, "simulated": x[p.name],
                                "metric": "parameter (observed = start, ci = bounds, simulated = fitted)"} for p in PARAMS])
        out = pd.concat([rep, params], ignore_index=True)
        out.to_csv(ROOT / "calibration" / "report.csv", index=False)
        hist.to_csv(ROOT / "calibration" / "history.csv", index=False)
        log("wrote calibration/report.csv, calibration/history.csv")
        extra = {"wall_s": wall, "command": "python " + " ".join(["calibration/calibrate.py"] + (argv if argv is not None else sys.argv[1:])),
                 "n": args.n, "n_boston": args.n_boston, "seed": args.seed, "maxiter": args.maxiter,
                 "n_evals": ev.n_evals, "check_n": args.check_n, "check_seed": args.check_seed, "check": sims,
                 "typical": typical, "horizon": horizon, "notes": NOTES}
        write_doc(x, rows, extra, log)
    return 0


def check_horizon(lib: Any, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    out = {}
    for key in ("svd", "vd"):
        a = ARMS[key]
        labs = lab_days(sp.regimen(a.regimen), 364.0)
        pop = sp.population(a.population, args.check_n, library=lib)
        res = sp.simulate_population(a.regimen, pop, days=364.0, seed=args.check_seed, dose_rules=a.rules,
                                     observe=labs, library=lib, threads=args.threads)
        out[key] = arm_metrics(res, labs, args.q_report)
        print(f"  horizon 364 d, {key}: g3plus_lab={out[key]['g3plus_lab']:.3f}", flush=True)
    return out


NOTES: list[str] = [
    'Realism check (issue 3) met: the typical patient (platelets.P0 170, typical values, no dose rules) on continuous 80 mg BIW has its 12-week nadir on day 39.9 (0.18 x baseline) and on 100 mg QW on day 36.5 (0.29 x baseline), then recovers in part (0.45 and 0.49 x baseline on day 84); maximum 1.00 x baseline. The constraint is a penalty on the nadir day (days 16-40 inside the tested 15-42) for both regimens; every fit so far drives the BIW nadir to the day-40 edge of that window, and the window is what keeps grade 3-4 from rising further.',
    'Rebound rule (ASSUMPTION, 2026-11-21): after 4 weeks of 80 mg BIW and withdrawal the typical patient may rebound above baseline but must stay within the normal platelet range (at most 450 x 10^9/L, 2.65 x the typical 170; MODEL.md section 3 rules out overshoots above 500, which patients do not show; rebound thrombocytosis after myelosuppression is a known clinical phenomenon) and must come back towards baseline (0.9-1.5 x baseline on day 112). tests/platelet_model.rs and tests/python/test_calibration.py check these limits; the fit penalises a maximum above 2.5 x and a day-112 count outside 0.92-1.4 x. With the shipped values the withdrawal maximum is 2.49 x baseline (423 x 10^9/L) on day 60 and 1.28 x baseline on day 112.',
    'Fitted values at or near their bounds: cv_Imax 2.94 (bound 3; the severe STORM tail comes from the variability of Imax), P0_heavy 103.8 (bound 100). tpo_half 24.0 h (bounds 20-46), fP 0.891 (bound 0.95) and koff 0.0094/h (XPO1 recovery half-life 74 h; bound 0.005) are inside.',
    'Adverse-event reporting (ASSUMPTION, 2026-11-22; `q_report` in calibration/ae_reporting.json): the label pool counts investigator-reported adverse events, so its any-grade incidence (74%) and its median time to onset of the first event (22 days) are compared with reported events, not with lab values: a treatment-emergent lab value of grade 3-4 is taken to be always reported, one of grade 1-2 with probability q_report at each visit, independently (expected values, no random draws, so the objective stays smooth). The fit gives q_report = 0.42. The grade 3, grade 4 and grade 3-4 targets are lab-based and unaffected. Before this (every treatment-emergent lab value an event) the onset was 13.0 days: most heavily pretreated patients start at grade 1 (81% with the shipped values: baseline 75-150), so their first treatment-emergent value is a grade 2 at the day-8 or day-15 lab, while their first grade 3-4 value comes at the day-22 lab (63% of those with one) or later; the median first reported event is now 17.0 days (grouped; plain median: the day-22 lab). The any-grade and onset targets together identify q_report, and with grade 1-2 values partly unreported the fit can raise grade 3-4 (55.7% instead of 54.3%) without overshooting any grade. Lab-based treatment-emergent any grade is reported as `any_te_lab` in calibration/report.csv for comparison. Earlier probes (session 4) that kept every lab value an event: weighting the onset 9 times more left it at 13.0-13.6 days; an effect compartment (`platelets.ke0`, shipped off) reached 14.8-18.3 days only with grade 3-4 leaving its interval.',
    'The fit cohort is now 1000 STORM and 500 BOSTON patients (patient table, seed 20261121): with 400 the fitted cohort gave STORM grade 3-4 about 4 points above the final check (sampling noise of a fitted cohort); now the fit cohort gives 56.0% and the final check (engine sampler, seed 777) 55.7%.',
    'Dose rules (data change, ASSUMPTION in data/dose_rules.toml): cooldown_days 28 instead of 14 for both label ladders, i.e. one reduction per thrombocytopenia episode. With the 14-day cooldown the label_qw rules walked most SVd patients off the ladder (62% stopped by the rules, median time on selinexor 91 days). With the new values the rules stop selinexor in about half of the SVd patients within 280 days, and the early-relapse discontinuation median solves to about 600 days (implausibly long for non-platelet reasons) to bring the SVd median to 210 days in the fit cohort (189 in the final check; about 210 observed, itself an ASSUMPTION); Vd then runs to the 280-day horizon (224 observed). The rule semantics in src/rules.rs are unchanged.',
    "Vd: the typical patient's cycle-1 nadir is 0.56 x baseline (Lonial 2005: about 60% falls) and grade 3-4 is inside its interval, but the rebound between cycles reaches 2.53 x baseline (431 x 10^9/L) in the typical patient, near the top of the normal range (soft penalty above 2.5 x), and the late trough (days 150-280, 0.37 x) is deeper than the early one (0.49 x): the fast TPO feedback that gives the early selinexor nadir also amplifies the bortezomib release-block oscillation. A bortezomib kill term may be needed; not attempted.",
    'Seed robustness (2026-11-22, `python calibration/calibrate.py --verify --threads 2 --check-n 2000 --check-seed S` for S = 1..6): all eight targets inside their intervals for every seed; label-pool grade 3-4 0.542-0.569 (interval from 0.538), median onset 16.6-16.9 days (from 16.1), any grade reported 0.697-0.722, BOSTON Vd 0.139-0.157. The two label-pool targets sit in the lower part of their intervals.',
    'The fit started from an earlier fit with q_report free (--init, shown in the command above; that one started from the previous shipped values with q_report 0.5); the priors stay centred on the MODEL.md starting values. Nelder-Mead in 10 dimensions is a local search.',
]

if __name__ == "__main__":
    sys.exit(main())
