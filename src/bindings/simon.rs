//! Simon's two-stage designs: exact operating characteristics, design search, simulated trials.

use super::error::to_py;
use crate::sim::simon::{search, SimonDesign};
use pyo3::prelude::*;

fn design(r1: u32, n1: u32, r: u32, n: u32) -> PyResult<SimonDesign> {
    let d = SimonDesign { r1, n1, r, n };
    d.validate().map_err(to_py)?;
    Ok(d)
}

fn check_p(p: f64) -> PyResult<()> {
    crate::error::in_range("p", p, 0.0, 1.0).map_err(to_py)?;
    Ok(())
}

/// Exact (pet, p_active, en) of the design at response rate `p`.
#[pyfunction]
pub fn simon_oc(r1: u32, n1: u32, r: u32, n: u32, p: f64) -> PyResult<(f64, f64, f64)> {
    check_p(p)?;
    let oc = design(r1, n1, r, n)?.oc(p);
    Ok((oc.pet, oc.p_active, oc.en))
}

/// Monte-Carlo (pet, p_active, en) of the design over `trials` trials at response rate `p`.
#[pyfunction]
pub fn simon_simulate(
    r1: u32,
    n1: u32,
    r: u32,
    n: u32,
    p: f64,
    trials: u32,
    seed: u64,
) -> PyResult<(f64, f64, f64)> {
    check_p(p)?;
    Ok(design(r1, n1, r, n)?.simulate(p, trials, seed))
}

/// (pet, p_active, en) of the design's trials run on given responses (trial `i`: patients
/// `i n .. (i + 1) n`).
#[pyfunction]
pub fn simon_trials(
    r1: u32,
    n1: u32,
    r: u32,
    n: u32,
    responses: Vec<bool>,
) -> PyResult<(f64, f64, f64)> {
    design(r1, n1, r, n)?.run_on(&responses).map_err(to_py)
}

/// The optimal and minimax designs as (r1, n1, r, n), each None when none exists up to `n_max`.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn simon_search(
    py: Python<'_>,
    p0: f64,
    p1: f64,
    alpha: f64,
    beta: f64,
    n_max: u32,
) -> PyResult<(Option<(u32, u32, u32, u32)>, Option<(u32, u32, u32, u32)>)> {
    let (o, m) = py
        .detach(|| search(p0, p1, alpha, beta, n_max))
        .map_err(to_py)?;
    let t = |d: SimonDesign| (d.r1, d.n1, d.r, d.n);
    Ok((o.map(t), m.map(t)))
}
