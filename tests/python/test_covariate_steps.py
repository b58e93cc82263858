"""Time-varying covariates in sp.simulate against closed forms: a one-compartment IV drug whose
CL and V scale with weight, weight stepping down during the run (LOCF and NOCB)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import expect_model_error

import selinexor_pkpd as sp

CL, V = 5.0, 50.0
PROBE = {"drugs": {"probe": {
    "description": "test drug", "compartments": 1, "default_route": "iv",
    "params": {"CL": {"value": CL, "unit": "L/h", "source": "test"}, "Vc": {"value": V, "unit": "L", "source": "test"}},
    "covariates": [
        {"param": "CL", "covariate": "WT", "reference": 70.0, "exponent": 0.75, "source": "test"},
        {"param": "Vc", "covariate": "WT", "reference": 70.0, "exponent": 1.0, "source": "test"},
    ],
}}}


def _individual(w: float) -> tuple[float, float]:
    return CL * (w / 70.0) ** 0.75, V * (w / 70.0)


@pytest.fixture(scope="module")
def lib():
    return sp.Library().override(PROBE)


def _run(lib, fill, times):
    reg = sp.Regimen({"blocks": [{"cycle_days": 7, "doses": [{"drug": "probe", "amount": 100.0, "days": [1, 3]}]}]})
    return sp.simulate(reg, patient={"weight": 80.0, "height": 175.0}, days=4, times=times, library=lib,
                       platelet_model="none", covariates={"weight": [(0, 80.0), (1, 60.0)]}, covariate_fill=fill)


def test_locf_weight_step_matches_the_closed_form(lib):
    t = np.array([0.5, 12.0, 23.9, 24.0, 30.0, 47.9, 60.0, 95.0])
    df = _run(lib, "locf", t)
    (cl1, v1), (cl2, v2) = _individual(80.0), _individual(60.0)
    a24 = 100.0 * np.exp(-cl1 / v1 * 24.0)
    amount = np.where(t < 24.0, 100.0 * np.exp(-cl1 / v1 * t), a24 * np.exp(-cl2 / v2 * (t - 24.0)))
    amount = amount + np.where(t > 48.0, 100.0 * np.exp(-cl2 / v2 * (t - 48.0)), 0.0)
    conc = amount / np.where(t < 24.0, v1, v2)
    np.testing.assert_allclose(df["C_probe"].to_numpy(), conc, rtol=1e-9)


def test_nocb_takes_the_next_value_right_after_the_previous_step(lib):
    t = np.array([0.5, 12.0, 30.0, 60.0])
    df = _run(lib, "nocb", t)
    cl2, v2 = _individual(60.0)
    amount = 100.0 * np.exp(-cl2 / v2 * t) + np.where(t > 48.0, 100.0 * np.exp(-cl2 / v2 * (t - 48.0)), 0.0)
    np.testing.assert_allclose(df["C_probe"].to_numpy(), amount / v2, rtol=1e-9)


def test_per_size_doses_use_the_weight_in_effect(lib):
    reg = sp.Regimen({"blocks": [{"cycle_days": 7, "doses": [{"drug": "probe", "amount": 1.0, "unit": "mg/kg",
                                                              "days": [1, 4]}]}]})
    steps = {"weight": [(0, 80.0), (2, 60.0)]}
    df = sp.simulate(reg, patient={"weight": 80.0, "height": 175.0}, days=7, times=[1.0, 73.0], library=lib,
                     platelet_model="none", covariates=steps)
    (cl1, v1), (cl2, v2) = _individual(80.0), _individual(60.0)
    a48 = 80.0 * np.exp(-cl1 / v1 * 48.0)
    expected_73 = (a48 * np.exp(-cl2 / v2 * 25.0) + 60.0 * np.exp(-cl2 / v2 * 1.0)) / v2
    np.testing.assert_allclose(df["C_probe"].to_numpy(), [80.0 * np.exp(-cl1 / v1) / v1, expected_73], rtol=1e-9)


def test_constant_covariates_change_nothing():
    a = sp.simulate("xd_80_biw", patient={"weight": 70.0, "height": 170.0}, days=14)
    b = sp.simulate("xd_80_biw", patient={"weight": 70.0, "height": 170.0}, days=14,
                    covariates={"weight": [(0, 70.0)]})
    np.testing.assert_array_equal(a.to_numpy(dtype=float), b.to_numpy(dtype=float))


@pytest.mark.parametrize("cov,field", [
    ({"sex": [(0, 1)]}, "covariates.sex"),
    ({"weight": [(0, 80.0), (0, 70.0)]}, "covariates.weight[1]"),
    ({"weight": [(0, 5000.0)]}, "covariates.weight"),
    ({"weight": [1, 2, 3]}, "covariates.weight"),
    ({"weight": [(0, float("nan"))]}, "covariates.weight[0][1]"),
    ([("weight", 1)], "covariates"),
])
def test_bad_covariate_steps_are_named(cov, field):
    expect_model_error(sp.simulate, "xd_80_biw", days=7, covariates=cov, field=field)


def test_to_nonmem_refuses_time_varying_covariates():
    df = sp.simulate("xd_80_biw", days=7, covariates={"weight": [(0, 80.0), (3, 75.0)]})
    expect_model_error(sp.to_nonmem, df, field="sim")
