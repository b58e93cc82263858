//! Python bindings (`selinexor_pkpd._core`): the only module that knows about Python. Inputs
//! arrive as JSON text (regimens, patients, overrides) and numpy arrays; outputs leave as dicts
//! of numpy arrays. Computation runs with the GIL released.

use crate::error::ModelError as CoreError;
use crate::exposure as core_exposure;
use crate::library::{parse_text, Library};
use crate::patient::Patient;
use crate::platelets::{ctcae_grade, PlateletModel};
use crate::regimen::Regimen;
use crate::simulate::{self as core_sim, Overrides};
use crate::solver::SolverOptions;
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(_core, ModelError, PyValueError, "Invalid model input; `.field` names the offending field.");

pub(crate) fn to_py(e: CoreError) -> PyErr {
    Python::attach(|py| {
        let err = ModelError::new_err(e.to_string());
        let _ = err.value(py).setattr("field", e.field.clone());
        err
    })
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> PyResult<T> {
    serde_json::from_str(text).map_err(|e| to_py(CoreError::new(what, format!("invalid {what}: {e}"))))
}

/// The model library (drugs, platelet parameters, presets). Immutable; overrides make a new one.
#[pyclass(module = "selinexor_pkpd._core", name = "Library", frozen)]
pub struct PyLibrary {
    pub(crate) inner: Library,
}

#[pymethods]
impl PyLibrary {
    /// The embedded default library.
    #[staticmethod]
    fn default() -> PyResult<Self> {
        Ok(Self { inner: Library::embedded().map_err(to_py)? })
    }

    /// A new library with `text` (TOML or JSON, a partial library) deep-merged over this one.
    fn with_overrides(&self, text: &str) -> PyResult<Self> {
        let v = parse_text(text, "library").map_err(to_py)?;
        Ok(Self { inner: self.inner.with_overrides(v).map_err(to_py)? })
    }

    fn to_json(&self) -> PyResult<String> {
        self.inner.to_json().map_err(to_py)
    }

    fn drug_names(&self) -> Vec<String> {
        self.inner.drugs.keys().cloned().collect()
    }

    fn preset_names(&self) -> Vec<String> {
        self.inner.regimens.keys().cloned().collect()
    }

    fn regimen_json(&self, name: &str) -> PyResult<String> {
        let r = self.inner.regimen(name).map_err(to_py)?;
        serde_json::to_string(r).map_err(|e| to_py(CoreError::new("regimen", e.to_string())))
    }

    fn drug_json(&self, name: &str) -> PyResult<String> {
        let d = self.inner.drug(name).map_err(to_py)?;
        serde_json::to_string(d).map_err(|e| to_py(CoreError::new("drug", e.to_string())))
    }
}

/// The embedded default files: list of (file name, text).
#[pyfunction]
fn default_files() -> Vec<(String, String)> {
    crate::library::DEFAULT_FILES.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// Validates a regimen (JSON) against a library; returns its normalised JSON.
#[pyfunction]
fn check_regimen(lib: &PyLibrary, regimen: &str) -> PyResult<String> {
    let r: Regimen = parse(regimen, "regimen")?;
    r.validate().map_err(to_py)?;
    for d in r.drugs() {
        lib.inner.drug(&d).map_err(|e| to_py(e.within("regimen")))?;
    }
    serde_json::to_string(&r).map_err(|e| to_py(CoreError::new("regimen", e.to_string())))
}

/// Expands a regimen into its dose-event table (NONMEM-style columns).
#[pyfunction]
fn expand_regimen<'py>(py: Python<'py>, lib: &PyLibrary, regimen: &str, patient: &str, days: f64) -> PyResult<Bound<'py, PyDict>> {
    let r: Regimen = parse(regimen, "regimen")?;
    let p: Patient = parse(patient, "patient")?;
    let events = r.expand(&p, days * 24.0, &|d| lib.inner.default_route(d)).map_err(to_py)?;
    let out = PyDict::new(py);
    let col = |f: &dyn Fn(&crate::regimen::DoseEvent) -> f64| events.iter().map(f).collect::<Vec<f64>>();
    out.set_item("TIME", col(&|e| e.time).into_pyarray(py))?;
    out.set_item("AMT", col(&|e| e.amount).into_pyarray(py))?;
    out.set_item("RATE", col(&|e| e.rate()).into_pyarray(py))?;
    out.set_item("DUR", col(&|e| e.duration).into_pyarray(py))?;
    out.set_item("CYCLE", events.iter().map(|e| i64::from(e.cycle)).collect::<Vec<_>>().into_pyarray(py))?;
    out.set_item("CYCLE_DAY", events.iter().map(|e| i64::from(e.day)).collect::<Vec<_>>().into_pyarray(py))?;
    out.set_item("DRUG", events.iter().map(|e| e.drug.clone()).collect::<Vec<_>>())?;
    out.set_item("ROUTE", events.iter().map(|e| e.route.name()).collect::<Vec<_>>())?;
    out.set_item(
        "CMT",
        events
            .iter()
            .map(|e| if e.route.to_depot() { "depot" } else { "central" })
            .collect::<Vec<_>>(),
    )?;
    Ok(out)
}

struct Inputs {
    regimen: Regimen,
    patient: Patient,
    over: Overrides,
    model: PlateletModel,
    opts: SolverOptions,
}

fn inputs(regimen: &str, patient: &str, params: &str, platelet_model: &str, rtol: f64, atol: f64) -> PyResult<Inputs> {
    Ok(Inputs {
        regimen: parse(regimen, "regimen")?,
        patient: parse(patient, "patient")?,
        over: parse(params, "params")?,
        model: PlateletModel::parse(platelet_model).map_err(to_py)?,
        opts: SolverOptions { rtol, atol, ..Default::default() },
    })
}

/// Simulates one patient; returns columns TIME, C_<drug>, AUC_<drug> and, with a platelet
/// model, X, PLT, TPO, GRADE.
#[pyfunction(name = "simulate")]
#[pyo3(signature = (lib, regimen, patient, params, days, times, platelet_model="tpo", rtol=1e-6, atol=1e-9))]
#[allow(clippy::too_many_arguments)]
fn simulate_py<'py>(
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
) -> PyResult<Bound<'py, PyDict>> {
    let inp = inputs(regimen, patient, params, platelet_model, rtol, atol)?;
    let times = times.as_slice()?.to_vec();
    let lib = &lib.inner;
    let sim = py
        .detach(|| core_sim::simulate(lib, &inp.regimen, &inp.patient, &inp.over, days * 24.0, &times, inp.model, &inp.opts))
        .map_err(to_py)?;
    let out = PyDict::new(py);
    let column = |i: usize| sim.states.iter().map(|y| y[i]).collect::<Vec<f64>>();
    out.set_item("TIME", sim.times.clone().into_pyarray(py))?;
    for d in &sim.model.drugs {
        out.set_item(format!("C_{}", d.name), sim.states.iter().map(|y| d.conc(y)).collect::<Vec<_>>().into_pyarray(py))?;
        out.set_item(format!("AUC_{}", d.name), column(d.auc).into_pyarray(py))?;
    }
    if let Some(pd) = sim.model.pd {
        if let Some(x) = pd.x {
            out.set_item("X", column(x).into_pyarray(py))?;
        }
        let plt = column(pd.plt);
        out.set_item("GRADE", plt.iter().map(|&p| i64::from(ctcae_grade(p))).collect::<Vec<_>>().into_pyarray(py))?;
        out.set_item("PLT", plt.into_pyarray(py))?;
        if let Some(t) = pd.tpo {
            out.set_item("TPO", column(t).into_pyarray(py))?;
        }
        out.set_item("PROL", column(pd.prol).into_pyarray(py))?;
    }
    out.set_item("_rhs_evals", sim.stats.rhs_evals)?;
    out.set_item("_steps", sim.stats.accepted_steps)?;
    Ok(out)
}

/// Closed-form concentrations (mg/L) of every linear drug of a regimen at `times`.
#[pyfunction]
fn closed_form<'py>(
    py: Python<'py>,
    lib: &PyLibrary,
    regimen: &str,
    patient: &str,
    params: &str,
    days: f64,
    times: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let inp = inputs(regimen, patient, params, "none", 1e-6, 1e-9)?;
    let times = times.as_slice()?.to_vec();
    core_sim::check_times(&times).map_err(to_py)?;
    core_sim::check_overrides(&lib.inner, &inp.over).map_err(to_py)?;
    let events = inp.regimen.expand(&inp.patient, days * 24.0, &|d| lib.inner.default_route(d)).map_err(to_py)?;
    let out = PyDict::new(py);
    out.set_item("TIME", times.clone().into_pyarray(py))?;
    for d in inp.regimen.drugs() {
        let spec = lib.inner.drug(&d).map_err(to_py)?;
        let pk = spec.resolve(&d, &inp.patient, inp.over.get(&d), None).map_err(to_py)?;
        let ev: Vec<_> = events.iter().filter(|e| e.drug == d).cloned().collect();
        let c = crate::pk::closed_form::concentrations(&pk, &ev, &times).map_err(|e| to_py(e.within(&d)))?;
        out.set_item(format!("C_{d}"), c.into_pyarray(py))?;
    }
    Ok(out)
}

/// Exposure metrics of `drug` over windows (start_h, end_h) on a grid of spacing `dt_h`.
#[pyfunction(name = "exposure")]
#[pyo3(signature = (lib, regimen, patient, params, days, drug, starts, ends, dt_h=0.05, rtol=1e-8, atol=1e-12))]
#[allow(clippy::too_many_arguments)]
fn exposure_py<'py>(
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
    let inp = inputs(regimen, patient, params, "none", rtol, atol)?;
    if starts.len() != ends.len() {
        return Err(to_py(CoreError::new("windows", "starts and ends differ in length")));
    }
    let windows: Vec<(f64, f64)> = starts.into_iter().zip(ends).collect();
    let lib = &lib.inner;
    let rows = py
        .detach(|| -> crate::Result<_> {
            let grid = core_exposure::window_grid(&windows, dt_h)?;
            let horizon = (days * 24.0).max(grid.last().copied().unwrap_or(0.0));
            let sim = core_sim::simulate(lib, &inp.regimen, &inp.patient, &inp.over, horizon, &grid, inp.model, &inp.opts)?;
            core_exposure::metrics(&sim, drug, &windows)
        })
        .map_err(to_py)?;
    let out = PyDict::new(py);
    let col = |f: &dyn Fn(&core_exposure::WindowMetrics) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
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

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ModelError", m.py().get_type::<ModelError>())?;
    m.add_class::<PyLibrary>()?;
    m.add_function(wrap_pyfunction!(default_files, m)?)?;
    m.add_function(wrap_pyfunction!(check_regimen, m)?)?;
    m.add_function(wrap_pyfunction!(expand_regimen, m)?)?;
    m.add_function(wrap_pyfunction!(simulate_py, m)?)?;
    m.add_function(wrap_pyfunction!(closed_form, m)?)?;
    m.add_function(wrap_pyfunction!(exposure_py, m)?)?;
    Ok(())
}
