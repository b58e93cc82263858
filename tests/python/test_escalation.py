"""Dose-escalation trials: the 3+3 against the exact enumeration of its tree, BOIN against the
exact enumeration of the BOIN package's algorithm and its published boundaries, invariance to
threads and chunking, and bad inputs."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

import selinexor_pkpd as sp
from conftest import expect_model_error

PROBS = [0.05, 0.15, 0.30, 0.45, 0.60]


def binom(n: int, k: int, p: float) -> float:
    return math.comb(n, k) * p**k * (1 - p) ** (n - k)


# --- 3+3: exact enumeration of the tree (docs/escalation.md) -------------------------------------

def exact_3p3(p: list[float]) -> np.ndarray:
    """P(level j selected) for j in levels, and P(no MTD) last."""
    L = len(p)
    out = np.zeros(L + 1)

    def deescalate(below: int, n_at: list[int], dlt_at: list[int], w: float) -> None:
        # level `below`+1 was too toxic; walk down
        while below >= 0:
            if n_at[below] >= 6:
                out[below] += w  # already 6 with <= 1 DLT
                return
            # 3 more at `below` (which had 0/3)
            ok = sum(binom(3, k, p[below]) for k in (0, 1))
            out[below] += w * ok
            w *= 1 - ok
            below -= 1
        out[L] += w

    def go(d: int, n_at: list[int], dlt_at: list[int], w: float) -> None:
        for k in range(4):
            wk = w * binom(3, k, p[d])
            if k == 0 and d + 1 < L:
                go(d + 1, n_at[:d] + [3] + n_at[d + 1:], dlt_at, wk)
            elif k <= 1:
                for k2 in range(4):
                    w2 = wk * binom(3, k2, p[d])
                    n2 = n_at[:d] + [6] + n_at[d + 1:]
                    if k + k2 <= 1:
                        if d + 1 == L:
                            out[d] += w2
                        else:
                            go(d + 1, n2, dlt_at, w2)
                    else:
                        deescalate(d - 1, n2, dlt_at, w2)
            else:
                deescalate(d - 1, n_at[:d] + [3] + n_at[d + 1:], dlt_at, wk)

    go(0, [0] * L, [0] * L, 1.0)
    return out


@pytest.mark.parametrize("p", [PROBS, [0.1, 0.2, 0.35, 0.5], [0.4, 0.5, 0.6], [0.02, 0.04]])
def test_three_plus_three_matches_exact_enumeration(p):
    exact = exact_3p3(p)
    assert exact.sum() == pytest.approx(1.0, abs=1e-12)
    n = 20_000
    res = sp.escalate(dlt_probs=p, design="3+3", trials=n, seed=5)
    sim = np.append(res.levels["p_select"].to_numpy(), res.designs["p_no_mtd"].iloc[0])
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(sim - exact) <= 4 * se + 1e-9), (sim, exact)


# --- BOIN ---------------------------------------------------------------------------------------

def boin_tables(target: float, max_n: int):
    """get.boundary of the BOIN R package (Liu & Yuan 2015): escalate if y <= floor(lambda_e n),
    de-escalate if y >= ceil(lambda_d n) (capped by elimination), eliminate if
    P(p > target | Beta(y + 1, n - y + 1)) > 0.95 with n >= 3."""
    p1, p2 = 0.6 * target, 1.4 * target
    le = math.log((1 - p1) / (1 - target)) / math.log(target * (1 - p1) / (p1 * (1 - target)))
    ld = math.log((1 - target) / (1 - p2)) / math.log(p2 * (1 - target) / (target * (1 - p2)))
    esc, deesc, elim = {}, {}, {}
    for n in range(1, max_n + 1):
        e = None
        if n >= 3:
            e = next((y for y in range(1, n + 1) if beta.sf(target, y + 1, n - y + 1) > 0.95), None)
        d = math.ceil(ld * n)
        esc[n], deesc[n], elim[n] = math.floor(le * n), d if e is None else min(d, e), e
    return le, ld, esc, deesc, elim


def test_boin_boundaries_are_the_published_ones():
    # BOIN R package documentation, get.boundary(target = 0.3, ncohort = 10, cohortsize = 3):
    # lambda_e = 0.236, lambda_d = 0.359.
    le, ld, *_ = boin_tables(0.3, 30)
    assert round(le, 3) == 0.236 and round(ld, 3) == 0.359


def select_mtd(target, n, y):
    """select.mtd of the BOIN package: PAVA on (y + .05)/(n + .1), weights 1/var."""
    L = len(n)
    first_elim = next((j for j in range(L) if n[j] >= 3 and beta.sf(target, y[j] + 1, n[j] - y[j] + 1) > 0.95), L)
    adm = [j for j in range(first_elim) if n[j] > 0]
    if not adm:
        return None
    est = [(y[j] + 0.05) / (n[j] + 0.1) for j in adm]
    w = [1 / ((y[j] + 0.05) * (n[j] - y[j] + 0.05) / ((n[j] + 0.1) ** 2 * (n[j] + 1.1))) for j in adm]
    blocks = []  # PAVA
    for e, wt in zip(est, w):
        blocks.append([e, wt, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            b = blocks.pop()
            a = blocks.pop()
            blocks.append([(a[0] * a[1] + b[0] * b[1]) / (a[1] + b[1]), a[1] + b[1], a[2] + b[2]])
    iso = [b[0] for b in blocks for _ in range(b[2])]
    dist = [abs(v + (i + 1) * 1e-10 - target) for i, v in enumerate(iso)]
    return adm[int(np.argmin(dist))]


def exact_boin(p, target=0.3, cohort=3, ncohort=8):
    """Exact selection probabilities of get.oc's algorithm, by enumerating every cohort outcome."""
    L = len(p)
    _, _, esc, deesc, elim = boin_tables(target, cohort * ncohort)
    out = np.zeros(L + 1)

    @lru_cache(maxsize=None)
    def go(d, n, y, eliminated, cohorts_left):
        res = np.zeros(L + 1)
        if cohorts_left == 0:
            m = select_mtd(target, list(n), list(y))
            res[L if m is None else m] = 1
            return res
        for k in range(cohort + 1):
            w = binom(cohort, k, p[d])
            n2, y2 = list(n), list(y)
            n2[d] += cohort
            y2[d] += k
            el = eliminated
            nd, yd = n2[d], y2[d]
            if elim[nd] is not None and yd >= elim[nd]:
                el = min(el, d)
                if d == 0:
                    res[L] += w
                    continue
            d2 = d
            if yd <= esc[nd] and d + 1 < L:
                if d + 1 < el:
                    d2 = d + 1
            elif yd >= deesc[nd] and d > 0:
                d2 = d - 1
            res += w * go(d2, tuple(n2), tuple(y2), el, cohorts_left - 1)
        return res

    out = go(0, (0,) * L, (0,) * L, L, ncohort)
    return out


@pytest.mark.parametrize("p", [[0.05, 0.15, 0.30, 0.45], [0.3, 0.45, 0.6, 0.7], [0.02, 0.05, 0.1, 0.3]])
def test_boin_matches_exact_enumeration_of_the_package_algorithm(p):
    exact = exact_boin(p)
    assert exact.sum() == pytest.approx(1.0, abs=1e-9)
    n = 20_000
    res = sp.escalate(dlt_probs=p, design={"design": "boin", "max_n": 24}, trials=n, seed=9)
    sim = np.append(res.levels["p_select"].to_numpy(), res.designs["p_no_mtd"].iloc[0])
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(sim - exact) <= 4 * se + 1e-9), (sim, exact)


# --- common random numbers and invariance -------------------------------------------------------

LEVELS = ["xd_60_qw", "xd_80_qw", "xd_100_qw"]


def test_same_results_for_one_and_two_threads_and_with_a_callable():
    a = sp.escalate(LEVELS, ["3+3", "boin"], dlt="g3_lab", trials=60, reference_n=50, threads=1, seed=3)
    b = sp.escalate(LEVELS, ["3+3", "boin"], dlt="g3_lab", trials=60, reference_n=50, threads=2, seed=3)
    pd.testing.assert_frame_equal(a.levels, b.levels)
    pd.testing.assert_frame_equal(a.designs, b.designs)
    # The same rule as a callable on the subject row, resolved cohort by cohort from Python.
    c = sp.escalate(LEVELS, ["3+3", "boin"], dlt=lambda row: bool(row["worst_grade_lab"] >= 3), trials=60,
                    reference_n=50, threads=2, seed=3)
    pd.testing.assert_frame_equal(a.levels, c.levels)
    assert np.array_equal(a.raw["mtd"], c.raw["mtd"])


def test_probabilities_are_common_random_numbers_and_trials_do_not_depend_on_the_run():
    a = sp.escalate(dlt_probs=PROBS, design=["3+3", "boin"], trials=300, seed=4)
    b = sp.escalate(dlt_probs=PROBS, design="boin", trials=500, seed=4, threads=1)
    # trial r is the same whichever other designs run and however many trials follow it
    assert np.array_equal(a.raw["mtd"][1], b.raw["mtd"][0][:300])
    # the same uniform at every level: a single level's first cohort never has fewer DLTs
    # when that level is more toxic
    lo = sp.escalate(dlt_probs=[0.2], design="3+3", trials=300, seed=4)
    hi = sp.escalate(dlt_probs=[0.4], design="3+3", trials=300, seed=4)
    same_n = hi.raw["n"][0, :, 0] == lo.raw["n"][0, :, 0]
    assert same_n.sum() > 100
    assert np.all(hi.raw["dlt"][0, same_n, 0] >= lo.raw["dlt"][0, same_n, 0])


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,field", [
    ({"levels": []}, "levels"),
    ({"levels": None}, "levels"),
    ({"levels": LEVELS, "dlt": "g5_forever"}, "dlt"),
    ({"levels": LEVELS, "dlt": {"any": [{"kind": "lab_grade", "grade": 9}]}}, "dlt.any[0].grade"),
    ({"dlt_probs": PROBS, "target": 1.2}, "target"),
    ({"dlt_probs": PROBS, "target": 0.0}, "target"),
    ({"dlt_probs": PROBS, "design": {"design": "boin", "target": 1.5}}, "target"),
    ({"dlt_probs": PROBS, "trials": 0}, "trials"),
    ({"dlt_probs": PROBS, "trials": -3}, "trials"),
    ({"dlt_probs": [], "design": "3+3"}, "levels"),
    ({"dlt_probs": [0.1, 1.5]}, "dlt_probs[1]"),
    ({"dlt_probs": PROBS, "design": "crm"}, "design"),
    ({"levels": LEVELS, "dlt": "interruption"}, "dlt"),
    ({"levels": ["xd_60_qw", "no_such_preset"]}, None),
])
def test_bad_input_names_the_field(kwargs, field):
    kwargs.setdefault("trials", 5)
    exc = expect_model_error(sp.escalate, **kwargs)
    if field is not None:
        assert exc.field == field, exc
