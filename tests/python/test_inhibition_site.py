"""Where selinexor's inhibition acts (``platelets.downstream``, docs/model.md section 3): under a
constant selinexor concentration the platelet count must settle where the model's equations put
it, solved here independently (X from its binding equilibrium, the count by bisection), for
inhibition before the progenitors' response curve (0), after it (1) and shared (0.5), with
self-renewing, upstream-fed and mixed progenitor pools."""

from __future__ import annotations

import math

import pytest

import selinexor_pkpd as sp
from conftest import expect_model_error

DAYS = 1500
RATE_MG_H = 0.02  # selinexor IV infusion: C = RATE / CL at steady state


# Engagement and sensitivity of the test's own (not the calibrated library's: under these a
# steady state above zero exists for every combination checked)
FIXED = {"Imax": 0.7, "kon": 2.77, "koff": 0.0094, "gamma": 0.21}


def typical() -> dict[str, float]:
    lib = sp.Library().to_dict()
    return {**{k: lib["platelets"][k]["value"] for k in ("fP", "P0")}, **FIXED}


def expected_count(p: dict[str, float], x: float, downstream: float, renewal: float) -> float:
    """The steady-state count: growth G = (T s^(1-d))^gamma s^d with s = 1 - Imax X and
    T = 1 / ((1 - fP) + fP P/P0); the pool at (1 - r) Prol0 G / (1 - r G), so P/P0 equals that
    ratio; a self-renewing pool (r = 1) needs G = 1."""
    s = 1.0 - p["Imax"] * x

    def growth(rel: float) -> float:
        t = 1.0 / ((1.0 - p["fP"]) + p["fP"] * rel)
        return (t * s ** (1.0 - downstream)) ** p["gamma"] * s ** downstream

    def excess(rel: float) -> float:
        g = growth(rel)
        if renewal == 1.0:
            return g - 1.0
        return (1.0 - renewal) * g / (1.0 - renewal * g) - rel if renewal * g < 1.0 else math.inf

    lo, hi = 1e-9, 1.0  # excess falls with the count: positive at lo, negative at baseline
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if excess(mid) > 0.0 else (lo, mid)
    return 0.5 * (lo + hi) * p["P0"]


@pytest.mark.parametrize("renewal", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("downstream", [0.0, 0.5, 1.0])
def test_constant_exposure_settles_at_the_solved_steady_state(downstream, renewal):
    p = typical()
    reg = sp.Regimen({"blocks": [{"cycle_days": DAYS, "cycles": 1, "doses": [
        {"drug": "selinexor", "amount": RATE_MG_H * 24 * DAYS, "route": "iv", "duration_h": 24.0 * DAYS,
         "days": [1]}]}]})
    df = sp.simulate(reg, params={"platelets": {**FIXED, "downstream": downstream, "renewal": renewal}}, days=DAYS - 1,
                     dt_h=24.0 * 100)
    last = df.iloc[-1]
    c = last["C_selinexor"]
    x = p["kon"] * c / (p["kon"] * c + p["koff"])
    assert last["X"] == pytest.approx(x, rel=1e-6)
    assert last["PLT"] == pytest.approx(expected_count(p, x, downstream, renewal), rel=1e-4)


def test_the_site_matters_only_with_selinexor():
    """Without selinexor the share is irrelevant: the same counts to the bit."""
    reg = sp.Regimen({"blocks": [{"cycle_days": 28, "cycles": 1, "doses": [
        {"drug": "bortezomib", "amount": 1.3, "unit": "mg/m2", "route": "sc", "days": [1, 4, 8, 11]}]}]})
    a = sp.simulate(reg, days=28)
    b = sp.simulate(reg, params={"platelets": {"downstream": 1.0}}, days=28)
    assert (a["PLT"].to_numpy() == b["PLT"].to_numpy()).all()


def test_downstream_out_of_range_is_a_named_error():
    expect_model_error(sp.simulate, "xd_80_biw", params={"platelets": {"downstream": 1.5}}, days=7,
                       field_endswith="downstream", contains=("1.5",))
