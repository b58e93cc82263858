"""Simon's two-stage designs from Python: the published designs, and the operating
characteristics against exact enumeration."""

from __future__ import annotations

import itertools
import math

import pytest
from conftest import expect_model_error

import selinexor_pkpd as sp


def test_simon_1989_table_design():
    # Simon (Control Clin Trials 1989;10:1), Table 1: p0 = 0.10, p1 = 0.30, alpha 0.05, beta 0.20.
    t = sp.simon_design(0.10, 0.30, alpha=0.05, beta=0.20, n_max=60)
    assert tuple(t.loc["optimal", ["r1", "n1", "r", "n"]]) == (1, 10, 5, 29)
    assert tuple(t.loc["minimax", ["r1", "n1", "r", "n"]]) == (1, 15, 5, 25)
    assert round(t.loc["optimal", "en_p0"], 1) == 15.0 and round(t.loc["optimal", "pet_p0"], 2) == 0.74
    assert round(t.loc["minimax", "en_p0"], 1) == 19.5 and round(t.loc["minimax", "pet_p0"], 2) == 0.55
    assert (t["alpha"] <= 0.05).all() and (t["power"] >= 0.80).all()


def test_oc_equals_the_enumeration_of_every_outcome():
    r1, n1, r, n, p = 3, 13, 12, 43, 0.3  # protocol 000's first stage (3 of 13), 43 in all
    pet = active = 0.0
    # enumerate responses patient by patient would be 2^43; enumerate counts instead
    for x1 in range(n1 + 1):
        b1 = math.comb(n1, x1) * p**x1 * (1 - p) ** (n1 - x1)
        if x1 <= r1:
            pet += b1
            continue
        for x2 in range(n - n1 + 1):
            if x1 + x2 > r:
                active += b1 * math.comb(n - n1, x2) * p**x2 * (1 - p) ** (n - n1 - x2)
    oc = sp.simon_oc(r1, n1, r, n, p)
    assert oc["pet"] == pytest.approx(pet, abs=1e-13)
    assert oc["p_active"] == pytest.approx(active, abs=1e-13)
    assert oc["en"] == pytest.approx(n1 + (1 - pet) * (n - n1), abs=1e-12)


def test_small_design_by_brute_force_over_patients():
    r1, n1, r, n, p = 0, 3, 2, 6, 0.4
    pet = active = 0.0
    for outcome in itertools.product([0, 1], repeat=n):
        w = math.prod(p if y else 1 - p for y in outcome)
        if sum(outcome[:n1]) <= r1:
            pet += w
        elif sum(outcome) > r:
            active += w
    oc = sp.simon_oc(r1, n1, r, n, p)
    assert oc["pet"] == pytest.approx(pet, abs=1e-14) and oc["p_active"] == pytest.approx(active, abs=1e-14)


def test_simulated_trials_agree_with_the_exact_figures():
    exact = sp.simon_oc(3, 13, 12, 43, 0.25)
    sim = sp.simon_simulate(3, 13, 12, 43, 0.25, trials=20_000, seed=3)
    for k in ("pet", "p_active"):
        se = math.sqrt(exact[k] * (1 - exact[k]) / 20_000)
        assert abs(sim[k] - exact[k]) < 4 * se, (k, sim[k], exact[k])


@pytest.mark.parametrize("call,field", [
    (lambda: sp.simon_design(0.3, 0.1), "p1"),
    (lambda: sp.simon_design(0.1, 0.3, alpha=0.7), "alpha"),
    (lambda: sp.simon_design(0.1, 0.3, n_max=1000), "n_max"),
    (lambda: sp.simon_oc(5, 4, 6, 10, 0.3), "simon"),
    (lambda: sp.simon_oc(1, 10, 5, 29, 1.5), "p"),
])
def test_bad_designs_are_named_errors(call, field):
    expect_model_error(call, field=field)
