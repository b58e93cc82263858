//! Python bindings (`selinexor_pkpd._core`): the only module that knows about Python. Inputs
//! arrive as JSON text (regimens, patients, overrides) and numpy arrays; outputs leave as dicts
//! of numpy arrays. Computation runs with the GIL released.

use crate::error::ModelError as CoreError;
use crate::exposure as core_exposure;
use crate::library::{parse_text, Library};
use crate::patient::Patient;
use crate::platelets::{ctcae_grade, PlateletModel};
use crate::population::PopulationSpec;
use crate::regimen::Regimen;
use crate::rules::DoseRules;
use crate::simulate::{self as core_sim, Overrides};
use crate::solver::{LinearPk, SolverOptions};
use crate::trial::{PatientRow, SubjectResult, TrialSetup};
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(
    _core,
    ModelError,
    PyValueError,
    "Invalid model input; `.field` names the offending field."
);

pub(crate) fn to_py(e: CoreError) -> PyErr {
    Python::attach(|py| {
        let err = ModelError::new_err(e.to_string());
        let _ = err.value(py).setattr("field", e.field.clone());
        err
    })
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> PyResult<T> {
    serde_json::from_str(text)
        .map_err(|e| to_py(CoreError::new(what, format!("invalid {what}: {e}"))))
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
        Ok(Self {
            inner: Library::embedded().map_err(to_py)?,
        })
    }

    /// A new library with `text` (TOML or JSON, a partial library) deep-merged over this one.
    fn with_overrides(&self, text: &str) -> PyResult<Self> {
        let v = parse_text(text, "library").map_err(to_py)?;
        Ok(Self {
            inner: self.inner.with_overrides(v).map_err(to_py)?,
        })
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

    fn population_names(&self) -> Vec<String> {
        self.inner.populations.keys().cloned().collect()
    }
    fn population_json(&self, name: &str) -> PyResult<String> {
        let p = self.inner.population(name).map_err(to_py)?;
        serde_json::to_string(p).map_err(|e| to_py(CoreError::new("population", e.to_string())))
    }
    fn dose_rules_names(&self) -> Vec<String> {
        self.inner.dose_rules.keys().cloned().collect()
    }
    fn dose_rules_json(&self, name: &str, regimen: &str) -> PyResult<String> {
        let r: Regimen = parse(regimen, "regimen")?;
        let d = self.inner.dose_rules_for(name, &r).map_err(to_py)?;
        serde_json::to_string(d).map_err(|e| to_py(CoreError::new("dose_rules", e.to_string())))
    }

    fn drug_json(&self, name: &str) -> PyResult<String> {
        let d = self.inner.drug(name).map_err(to_py)?;
        serde_json::to_string(d).map_err(|e| to_py(CoreError::new("drug", e.to_string())))
    }
}

/// The embedded default files: list of (file name, text).
#[pyfunction]
fn default_files() -> Vec<(String, String)> {
    crate::library::DEFAULT_FILES
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
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
fn expand_regimen<'py>(
    py: Python<'py>,
    lib: &PyLibrary,
    regimen: &str,
    patient: &str,
    days: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let r: Regimen = parse(regimen, "regimen")?;
    let p: Patient = parse(patient, "patient")?;
    let events = r
        .expand(&p, days * 24.0, &|d| lib.inner.default_route(d))
        .map_err(to_py)?;
    let out = PyDict::new(py);
    let col =
        |f: &dyn Fn(&crate::regimen::DoseEvent) -> f64| events.iter().map(f).collect::<Vec<f64>>();
    out.set_item("TIME", col(&|e| e.time).into_pyarray(py))?;
    out.set_item("AMT", col(&|e| e.amount).into_pyarray(py))?;
    out.set_item("RATE", col(&|e| e.rate()).into_pyarray(py))?;
    out.set_item("DUR", col(&|e| e.duration).into_pyarray(py))?;
    out.set_item(
        "CYCLE",
        events
            .iter()
            .map(|e| i64::from(e.cycle))
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    out.set_item(
        "CYCLE_DAY",
        events
            .iter()
            .map(|e| i64::from(e.day))
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    out.set_item(
        "DRUG",
        events.iter().map(|e| e.drug.clone()).collect::<Vec<_>>(),
    )?;
    out.set_item(
        "ROUTE",
        events.iter().map(|e| e.route.name()).collect::<Vec<_>>(),
    )?;
    out.set_item(
        "CMT",
        events
            .iter()
            .map(|e| {
                if e.route.to_depot() {
                    "depot"
                } else {
                    "central"
                }
            })
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

/// The `linear_pk` option: "exact" or "ode".
fn parse_linear_pk(s: &str) -> PyResult<LinearPk> {
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
#[pyo3(signature = (lib, regimen, patient, params, days, times, platelet_model="tpo", rtol=1e-6, atol=1e-9, linear_pk="exact"))]
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
    linear_pk: &str,
) -> PyResult<Bound<'py, PyDict>> {
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
    let lib = &lib.inner;
    let sim = py
        .detach(|| {
            core_sim::simulate(
                lib,
                &inp.regimen,
                &inp.patient,
                &inp.over,
                days * 24.0,
                &times,
                inp.model,
                &inp.opts,
            )
        })
        .map_err(to_py)?;
    let out = PyDict::new(py);
    let column = |i: usize| sim.states.iter().map(|y| y[i]).collect::<Vec<f64>>();
    out.set_item("TIME", sim.times.clone().into_pyarray(py))?;
    for d in &sim.model.drugs {
        out.set_item(
            format!("C_{}", d.name),
            sim.states
                .iter()
                .map(|y| d.conc(y))
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        out.set_item(format!("AUC_{}", d.name), column(d.auc).into_pyarray(py))?;
    }
    if let Some(pd) = sim.model.pd {
        if let Some(x) = pd.x {
            out.set_item("X", column(x).into_pyarray(py))?;
        }
        if let Some(e) = pd.e {
            out.set_item("E", column(e).into_pyarray(py))?;
        }
        let plt = column(pd.plt);
        out.set_item(
            "GRADE",
            plt.iter()
                .map(|&p| i64::from(ctcae_grade(p)))
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
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
    let inp = inputs(regimen, patient, params, "none", 1e-6, 1e-9, "exact")?;
    let times = times.as_slice()?.to_vec();
    core_sim::check_times(&times).map_err(to_py)?;
    core_sim::check_overrides(&lib.inner, &inp.over).map_err(to_py)?;
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
    let rows = py
        .detach(|| -> crate::Result<_> {
            let grid = core_exposure::window_grid(&windows, dt_h)?;
            // Dosing stops at `days`; the grid may run past it (washout).
            let horizon = days * 24.0;
            let sim = core_sim::simulate(
                lib,
                &inp.regimen,
                &inp.patient,
                &inp.over,
                horizon,
                &grid,
                inp.model,
                &inp.opts,
            )?;
            core_exposure::metrics(&sim, drug, &windows)
        })
        .map_err(to_py)?;
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

/// A prepared virtual trial (one regimen, one population, optional dose rules).
#[pyclass(module = "selinexor_pkpd._core", name = "Trial", frozen)]
pub struct PyTrial {
    setup: TrialSetup,
}

#[pymethods]
impl PyTrial {
    #[new]
    #[pyo3(signature = (lib, regimen, population, rules, params, days, seed, observe_days, rows=None, platelet_model="tpo", rtol=1e-6, atol=1e-9, x_level=0.5, follow_up_days=30.0, linear_pk="exact"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        lib: &PyLibrary,
        regimen: &str,
        population: &str,
        rules: Option<&str>,
        params: &str,
        days: f64,
        seed: u64,
        observe_days: Vec<f64>,
        rows: Option<&str>,
        platelet_model: &str,
        rtol: f64,
        atol: f64,
        x_level: f64,
        follow_up_days: f64,
        linear_pk: &str,
    ) -> PyResult<Self> {
        let regimen: Regimen = parse(regimen, "regimen")?;
        let population: PopulationSpec = parse(population, "population")?;
        let rules: Option<DoseRules> = match rules {
            None => None,
            Some(t) if t.trim_start().starts_with('{') => Some(parse(t, "dose_rules")?),
            Some(name) => Some(
                lib.inner
                    .dose_rules_for(name, &regimen)
                    .map_err(to_py)?
                    .clone(),
            ),
        };
        let rows: Option<Vec<PatientRow>> = match rows {
            None => None,
            Some(t) => {
                let raw: Vec<RowJson> = parse(t, "patients")?;
                Some(
                    raw.into_iter()
                        .map(|r| PatientRow {
                            patient: r.patient,
                            overrides: r.params,
                            t_disc_days: r.disc_days,
                        })
                        .collect(),
                )
            }
        };
        crate::error::in_range("x_level", x_level, 0.0, 1.0).map_err(to_py)?;
        crate::error::non_negative("follow_up_days", follow_up_days).map_err(to_py)?;
        let mut setup = TrialSetup::new(
            lib.inner.clone(),
            regimen,
            population,
            rules,
            parse(params, "params")?,
            days,
            PlateletModel::parse(platelet_model).map_err(to_py)?,
            SolverOptions {
                rtol,
                atol,
                linear_pk: parse_linear_pk(linear_pk)?,
                ..Default::default()
            },
            seed,
            observe_days,
            rows,
        )
        .map_err(to_py)?;
        setup.x_level = x_level;
        setup.follow_up_days = follow_up_days;
        Ok(Self { setup })
    }

    /// Names of the parameters with IIV (`namespace.param`), the order of the param columns.
    fn param_names(&self) -> Vec<String> {
        self.setup
            .iiv
            .params
            .iter()
            .map(|(a, b)| format!("{a}.{b}"))
            .collect()
    }

    /// Number of rows of the explicit patient table, if any.
    fn table_len(&self) -> Option<usize> {
        self.setup.table_len()
    }

    /// Simulates subjects `start..end` (GIL released); returns columns and, with observation
    /// times, a (n, len(observe)) array `PLT_traj`.
    #[pyo3(signature = (start, end, threads=None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        end: usize,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        if end < start {
            return Err(to_py(CoreError::new(
                "n",
                format!("end {end} before start {start}"),
            )));
        }
        let setup = &self.setup;
        let rows = py
            .detach(|| setup.run_range(start, end, threads))
            .map_err(to_py)?;
        subjects_to_dict(py, &rows, &self.param_names(), self.setup.observe.len())
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RowJson {
    patient: Patient,
    #[serde(default)]
    params: Overrides,
    #[serde(default)]
    disc_days: Option<f64>,
}

fn subjects_to_dict<'py>(
    py: Python<'py>,
    rows: &[SubjectResult],
    names: &[String],
    n_obs: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    let f = |g: &dyn Fn(&SubjectResult) -> f64| rows.iter().map(g).collect::<Vec<f64>>();
    let i = |g: &dyn Fn(&SubjectResult) -> i64| rows.iter().map(g).collect::<Vec<i64>>();
    let days = |h: f64| h / 24.0;
    // Dose intensity per week of treatment started (a patient stopping on day 2 had 1 week).
    let weeks = |r: &SubjectResult| (r.t_treated_h / 168.0 - 1e-9).ceil().max(1.0);
    out.set_item("ID", i(&|r| r.id as i64).into_pyarray(py))?;
    out.set_item("weight", f(&|r| r.patient.weight).into_pyarray(py))?;
    out.set_item("height", f(&|r| r.patient.height).into_pyarray(py))?;
    out.set_item("bsa", f(&|r| r.patient.bsa()).into_pyarray(py))?;
    out.set_item("age", f(&|r| r.patient.age).into_pyarray(py))?;
    out.set_item(
        "sex",
        rows.iter()
            .map(|r| {
                if r.patient.sex == crate::patient::Sex::Female {
                    "female"
                } else {
                    "male"
                }
            })
            .collect::<Vec<_>>(),
    )?;
    out.set_item("crcl", f(&|r| r.patient.crcl).into_pyarray(py))?;
    out.set_item("P0", f(&|r| r.metrics.baseline).into_pyarray(py))?;
    for (k, name) in names.iter().enumerate() {
        out.set_item(name, f(&|r| r.params[k]).into_pyarray(py))?;
    }
    out.set_item("nadir", f(&|r| r.metrics.nadir).into_pyarray(py))?;
    out.set_item(
        "t_nadir_days",
        f(&|r| days(r.metrics.t_nadir)).into_pyarray(py),
    )?;
    out.set_item(
        "worst_grade",
        i(&|r| i64::from(ctcae_grade(r.metrics.nadir))).into_pyarray(py),
    )?;
    out.set_item(
        "worst_grade_lab",
        i(&|r| i64::from(r.worst_grade_lab)).into_pyarray(py),
    )?;
    for (g, name) in [
        (0, "t_onset_g1_days"),
        (1, "t_onset_g2_days"),
        (2, "t_onset_g3_days"),
        (3, "t_onset_g4_days"),
    ] {
        out.set_item(name, f(&|r| days(r.metrics.t_onset[g])).into_pyarray(py))?;
    }
    out.set_item(
        "days_g3plus",
        f(&|r| days(r.metrics.time_g3plus)).into_pyarray(py),
    )?;
    out.set_item("days_g4", f(&|r| days(r.metrics.time_g4)).into_pyarray(py))?;
    out.set_item(
        "t_recovery_days",
        f(&|r| days(r.metrics.t_recovery)).into_pyarray(py),
    )?;
    out.set_item(
        "days_on_treatment",
        f(&|r| days(r.t_treated_h)).into_pyarray(py),
    )?;
    out.set_item(
        "dose_intensity_mg_week",
        f(&|r| r.delivered_mg / weeks(r)).into_pyarray(py),
    )?;
    out.set_item(
        "planned_mg_week",
        f(&|r| r.planned_mg / weeks(r)).into_pyarray(py),
    )?;
    out.set_item(
        "relative_dose_intensity",
        f(&|r| {
            if r.planned_mg > 0.0 {
                r.delivered_mg / r.planned_mg
            } else {
                f64::NAN
            }
        })
        .into_pyarray(py),
    )?;
    out.set_item(
        "n_interruptions",
        i(&|r| i64::from(r.rules.n_interruptions)).into_pyarray(py),
    )?;
    out.set_item(
        "n_reductions",
        i(&|r| i64::from(r.rules.n_reductions)).into_pyarray(py),
    )?;
    out.set_item(
        "stopped_by_rule",
        rows.iter()
            .map(|r| r.rules.stopped)
            .collect::<Vec<bool>>()
            .into_pyarray(py),
    )?;
    out.set_item(
        "final_level",
        i(&|r| r.rules.final_level as i64).into_pyarray(py),
    )?;
    out.set_item("auc_week", f(&|r| r.auc / weeks(r)).into_pyarray(py))?;
    out.set_item("cmax", f(&|r| r.metrics.cmax).into_pyarray(py))?;
    out.set_item(
        "days_x_above",
        f(&|r| days(r.metrics.time_x_above)).into_pyarray(py),
    )?;
    out.set_item("x_max", f(&|r| r.metrics.x_max).into_pyarray(py))?;
    out.set_item("n_labs", i(&|r| i64::from(r.n_labs)).into_pyarray(py))?;
    out.set_item("rhs_evals", i(&|r| r.rhs_evals as i64).into_pyarray(py))?;
    if n_obs > 0 {
        let flat: Vec<f64> = rows
            .iter()
            .flat_map(|r| r.trajectory.iter().copied())
            .collect();
        let arr = ndarray::Array2::from_shape_vec((rows.len(), n_obs), flat)
            .map_err(|e| to_py(CoreError::new("observe", e.to_string())))?;
        out.set_item("PLT_traj", arr.into_pyarray(py))?;
    }
    Ok(out)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ModelError", m.py().get_type::<ModelError>())?;
    m.add_class::<PyLibrary>()?;
    m.add_class::<PyTrial>()?;
    m.add_function(wrap_pyfunction!(default_files, m)?)?;
    m.add_function(wrap_pyfunction!(check_regimen, m)?)?;
    m.add_function(wrap_pyfunction!(expand_regimen, m)?)?;
    m.add_function(wrap_pyfunction!(simulate_py, m)?)?;
    m.add_function(wrap_pyfunction!(closed_form, m)?)?;
    m.add_function(wrap_pyfunction!(exposure_py, m)?)?;
    Ok(())
}
