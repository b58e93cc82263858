//! Validation against published arms: exact intervals, binomial quantiles, arm checks.

use super::error::to_py;
use crate::error::ModelError as CoreError;
use crate::sim::validation::{self as v, Endpoint};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

fn count(field: &str, value: i64) -> PyResult<u32> {
    u32::try_from(value).map_err(|_| {
        to_py(CoreError::new(
            field,
            format!("must be a whole number >= 0, got {value}"),
        ))
    })
}

/// Clopper-Pearson exact interval `(lo, hi)` of `k` events in `n` at confidence `level`.
#[pyfunction]
#[pyo3(signature = (k, n, level=0.95))]
pub fn clopper_pearson(k: i64, n: i64, level: f64) -> PyResult<(f64, f64)> {
    v::clopper_pearson(count("events", k)?, count("n", n)?, level).map_err(to_py)
}

/// The smallest `k` with `P(X <= k) >= q` for `X ~ Binomial(n, p)`.
#[pyfunction]
pub fn binomial_quantile(n: i64, p: f64, q: f64) -> PyResult<u32> {
    v::binomial_quantile(count("n", n)?, p, q).map_err(to_py)
}

/// The endpoint names a validation table may use.
#[pyfunction]
pub fn validation_endpoints() -> Vec<&'static str> {
    Endpoint::NAMES.to_vec()
}

/// A published arm (`events` of `n`, `endpoint`) checked against simulated subjects.
#[pyfunction]
#[pyo3(signature = (endpoint, n, events, worst_grade_lab, responder, vgpr_or_better, level=0.95))]
#[allow(clippy::too_many_arguments)]
pub fn check_arm<'py>(
    py: Python<'py>,
    endpoint: &str,
    n: i64,
    events: i64,
    worst_grade_lab: PyReadonlyArray1<'py, i64>,
    responder: PyReadonlyArray1<'py, bool>,
    vgpr_or_better: PyReadonlyArray1<'py, bool>,
    level: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let ep = Endpoint::parse("endpoint", endpoint).map_err(to_py)?;
    let (n, events) = (count("n", n)?, count("events", events)?);
    let g = worst_grade_lab.as_slice()?;
    let r = responder.as_slice()?;
    let vg = vgpr_or_better.as_slice()?;
    let sim_events = v::count_events(ep, g, r, vg).map_err(to_py)?;
    let sim_n = count("n_sim", g.len() as i64)?;
    let c = v::check_arm(n, events, sim_events, sim_n, level).map_err(to_py)?;
    let out = PyDict::new(py);
    out.set_item("observed", c.observed)?;
    out.set_item("observed_lo", c.observed_lo)?;
    out.set_item("observed_hi", c.observed_hi)?;
    out.set_item("simulated", c.simulated)?;
    out.set_item("sim_events", c.sim_events)?;
    out.set_item("sim_n", c.sim_n)?;
    out.set_item("predicted_lo", c.predicted_lo)?;
    out.set_item("predicted_hi", c.predicted_hi)?;
    out.set_item("covers", c.covers)?;
    out.set_item("ci_contains_simulated", c.ci_contains_simulated)?;
    Ok(out)
}
