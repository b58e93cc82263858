//! One patient: simulation, closed-form concentrations, exposure metrics.

use super::error::{parse, to_py};
use super::library::PyLibrary;
use crate::engine::events::StepObserver;
use crate::engine::model::Model;
use crate::engine::solver::{LinearPk, SolverOptions};
use crate::error::ModelError as CoreError;
use crate::params::Overrides;
use crate::sim::outputs::{output_names, output_value};
use crate::sim::residual::{check_error_models, observe_rows};
use crate::sim::{exposure as core_exposure, simulate as core_sim};
use crate::spec::covariate_steps::PatientSteps;
use crate::spec::dataset::CovariateFill;
use crate::spec::grading::ctcae_grade;
use crate::spec::patient::Patient;
use crate::spec::platelet_model::PlateletModel;
use crate::spec::regimen::Regimen;
use crate::spec::residual::ErrorModel;
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

struct Inputs {
    regimen: Regimen,
    patient: Patient,
    over: Overrides,
    model: PlateletModel,
    opts: SolverOptions,
}

/// Error models from Python's `(output, add, prop)` tuples.
pub(super) fn error_models(v: Option<Vec<(String, f64, f64)>>) -> Vec<ErrorModel> {
    v.unwrap_or_default()
        .into_iter()
        .map(|(output, add, prop)| ErrorModel { output, add, prop })
        .collect()
}

/// The `linear_pk` option: "exact" or "ode".
pub fn parse_linear_pk(s: &str) -> PyResult<LinearPk> {
    match s {
        "exact" => Ok(LinearPk::Exact),
        "ode" => Ok(LinearPk::Ode),
        other => Err(to_py(CoreError::new(
            "linear_pk",
            format!("must be \"exact\" or \"ode\", got {other:?}"),
        ))),
    }
}

fn inputs(
    regimen: &str,
    patient: &str,
    params: &str,
    platelet_model: &str,
    rtol: f64,
    atol: f64,
    linear_pk: &str,
) -> PyResult<Inputs> {
    let linear_pk = parse_linear_pk(linear_pk)?;
    Ok(Inputs {
        regimen: parse(regimen, "regimen")?,
        patient: parse(patient, "patient")?,
        over: parse(params, "params")?,
        model: PlateletModel::parse(platelet_model).map_err(to_py)?,
        opts: SolverOptions {
            rtol,
            atol,
            linear_pk,
            ..Default::default()
        },
    })
}

/// Simulates one patient; returns columns TIME, C_<drug>, AUC_<drug> and, with a platelet
/// model, X, PLT, TPO, GRADE.
#[pyfunction(name = "simulate")]
#[pyo3(signature = (lib, regimen, patient, params, days, times, platelet_model="tpo", rtol=1e-6, atol=1e-9, linear_pk="exact", covariates=None, covariate_fill="locf", errors=None, seed=0))]
#[allow(clippy::too_many_arguments)]
pub fn simulate_py<'py>(
    py: Python<'py>,
    lib: &PyLibrary,
    regimen: &str,
    patient: &str,
    params: &str,
    days: f64,
    times: PyReadonlyArray1<'py, f64>,
    platelet_model: &str,
    rtol: f64,
    atol: f64,
    linear_pk: &str,
    covariates: Option<&str>,
    covariate_fill: &str,
    errors: Option<Vec<(String, f64, f64)>>,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let errors = error_models(errors);
    let inp = inputs(
        regimen,
        patient,
        params,
        platelet_model,
        rtol,
        atol,
        linear_pk,
    )?;
    let times = times.as_slice()?.to_vec();
    let steps = match covariates {
        None => PatientSteps::constant(inp.patient.clone()),
        Some(text) => {
            let table: BTreeMap<String, Vec<(f64, f64)>> = parse(text, "covariates")?;
            let fill = CovariateFill::parse(covariate_fill).map_err(to_py)?;
            PatientSteps::new(&inp.patient, &table, fill).map_err(to_py)?
        }
    };
    let lib = &lib.inner;
    let mut signals = SignalCheck::new();
    let sim = py.detach(|| {
        core_sim::simulate_steps(
            lib,
            &inp.regimen,
            &steps,
            &inp.over,
            days * 24.0,
            &times,
            inp.model,
            &inp.opts,
            &mut signals,
        )
    });
    let sim = signals.result(sim)?;
    let out = PyDict::new(py);
    out.set_item("TIME", sim.times.clone().into_pyarray(py))?;
    let rows: Vec<(&Model, &[f64])> = sim
        .states
        .iter()
        .enumerate()
        .map(|(i, y)| (sim.model_at(i), &y[..]))
        .collect();
    state_columns(py, &out, &sim.model, &rows)?;
    if !errors.is_empty() {
        check_error_models(&errors, &sim.model).map_err(to_py)?;
        for (e, col) in errors.iter().zip(observe_rows(&errors, &rows, seed, 0)) {
            out.set_item(format!("DV_{}", e.output), col.into_pyarray(py))?;
        }
    }
    out.set_item("_rhs_evals", sim.stats.rhs_evals)?;
    out.set_item("_steps", sim.stats.accepted_steps)?;
    Ok(out)
}

/// The output columns of states `rows` (each with its model; all share `layout`'s drugs and
/// states): C_<drug>, AUC_<drug> and, with a platelet model, X, E, GRADE, PLT, TPO, PROL.
pub(super) fn state_columns<'py>(
    py: Python<'py>,
    out: &Bound<'py, PyDict>,
    layout: &Model,
    rows: &[(&Model, &[f64])],
) -> PyResult<()> {
    for name in output_names(layout) {
        let col: Vec<f64> = rows
            .iter()
            .map(|(m, y)| output_value(m, y, &name).unwrap_or(f64::NAN))
            .collect();
        if name == "PLT" {
            let grade: Vec<i64> = col.iter().map(|&p| i64::from(ctcae_grade(p))).collect();
            out.set_item("GRADE", grade.into_pyarray(py))?;
        }
        out.set_item(name, col.into_pyarray(py))?;
    }
    Ok(())
}

/// Closed-form concentrations (mg/L) of every linear drug of a regimen at `times`.
#[pyfunction]
pub fn closed_form<'py>(
    py: Python<'py>,
    lib: &PyLibrary,
    regimen: &str,
    patient: &str,
    params: &str,
    days: f64,
    times: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let inp = inputs(regimen, patient, params, "none", 1e-6, 1e-9, "exact")?;
    let times = times.as_slice()?.to_vec();
    core_sim::check_times(&times).map_err(to_py)?;
    lib.inner
        .check_overrides(&inp.over, "params")
        .map_err(to_py)?;
    let events = inp
        .regimen
        .expand(&inp.patient, days * 24.0, &|d| lib.inner.default_route(d))
        .map_err(to_py)?;
    let out = PyDict::new(py);
    out.set_item("TIME", times.clone().into_pyarray(py))?;
    for d in inp.regimen.drugs() {
        let spec = lib.inner.drug(&d).map_err(to_py)?;
        let pk = spec
            .resolve(&d, &inp.patient, inp.over.get(&d), None)
            .map_err(to_py)?;
        let ev: Vec<_> = events.iter().filter(|e| e.drug == d).cloned().collect();
        let c = crate::pk::closed_form::concentrations(&pk, &ev, &times)
            .map_err(|e| to_py(e.within(&d)))?;
        out.set_item(format!("C_{d}"), c.into_pyarray(py))?;
    }
    Ok(out)
}

/// Exposure metrics of `drug` over windows (start_h, end_h) on a grid of spacing `dt_h`.
#[pyfunction(name = "exposure")]
#[pyo3(signature = (lib, regimen, patient, params, days, drug, starts, ends, dt_h=0.05, rtol=1e-8, atol=1e-12))]
#[allow(clippy::too_many_arguments)]
pub fn exposure_py<'py>(
    py: Python<'py>,
    lib: &PyLibrary,
    regimen: &str,
    patient: &str,
    params: &str,
    days: f64,
    drug: &str,
    starts: Vec<f64>,
    ends: Vec<f64>,
    dt_h: f64,
    rtol: f64,
    atol: f64,
) -> PyResult<Bound<'py, PyDict>> {
    // AUC_ode is the integrated AUC state of the ODE path, checked against AUC_exact (closed
    // form): this solve integrates every compartment.
    let inp = inputs(regimen, patient, params, "none", rtol, atol, "ode")?;
    if starts.len() != ends.len() {
        return Err(to_py(CoreError::new(
            "windows",
            "starts and ends differ in length",
        )));
    }
    let windows: Vec<(f64, f64)> = starts.into_iter().zip(ends).collect();
    let lib = &lib.inner;
    let mut signals = SignalCheck::new();
    let rows = py.detach(|| -> crate::Result<_> {
        let grid = core_exposure::window_grid(&windows, dt_h)?;
        // Dosing stops at `days`; the grid may run past it (washout).
        let horizon = days * 24.0;
        let sim = core_sim::simulate_observed(
            lib,
            &inp.regimen,
            &inp.patient,
            &inp.over,
            horizon,
            &grid,
            inp.model,
            &inp.opts,
            &mut signals,
        )?;
        core_exposure::metrics(&sim, drug, &windows)
    });
    let rows = signals.result(rows)?;
    let out = PyDict::new(py);
    let col =
        |f: &dyn Fn(&core_exposure::WindowMetrics) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    out.set_item("start_h", col(&|m| m.start).into_pyarray(py))?;
    out.set_item("end_h", col(&|m| m.end).into_pyarray(py))?;
    out.set_item("Cmax", col(&|m| m.cmax).into_pyarray(py))?;
    out.set_item("Tmax", col(&|m| m.tmax).into_pyarray(py))?;
    out.set_item("Cmin", col(&|m| m.cmin).into_pyarray(py))?;
    out.set_item("AUC_trapz", col(&|m| m.auc_trapz).into_pyarray(py))?;
    out.set_item("AUC_ode", col(&|m| m.auc_ode).into_pyarray(py))?;
    out.set_item("AUC_exact", col(&|m| m.auc_exact).into_pyarray(py))?;
    Ok(out)
}

/// Checks for Ctrl-C (Python's pending signals) at the solver's segment ends, at most every
/// 50 ms, so that a long single-patient run stops promptly with `KeyboardInterrupt`.
pub(super) struct SignalCheck {
    last: Instant,
    err: Option<PyErr>,
}

impl SignalCheck {
    pub(super) fn new() -> Self {
        Self {
            last: Instant::now(),
            err: None,
        }
    }

    /// The run's result, or the signal's exception if one stopped it.
    pub(super) fn result<T>(self, r: crate::Result<T>) -> PyResult<T> {
        match self.err {
            Some(e) => Err(e),
            None => r.map_err(to_py),
        }
    }
}

impl StepObserver for SignalCheck {
    fn step(&mut self, _: f64, _: &[f64], _: &[f64]) {}
    fn active(&self) -> bool {
        false
    }
    fn interrupted(&mut self) -> bool {
        if self.last.elapsed() < Duration::from_millis(50) {
            return false;
        }
        self.last = Instant::now();
        self.err = Python::attach(|py| py.check_signals().err());
        self.err.is_some()
    }
}
