//! Virtual trials: a prepared trial run in chunks of subjects with the GIL released.

use super::error::{parse, to_py};
use super::library::PyLibrary;
use super::simulate::{parse_linear_pk, state_columns};
use crate::engine::model::Model;
use crate::engine::solver::SolverOptions;
use crate::error::{in_range, non_negative, ModelError as CoreError};
use crate::params::Overrides;
use crate::sim::columns::{lab_count_grid, subject_columns, Column};
use crate::sim::lab_error::check_lab_error;
use crate::sim::record::applied_dose_rows;
use crate::sim::trial::{thread_pool, PatientRow, SubjectResult, TrialSetup};
use crate::spec::dose_rules::DoseRules;
use crate::spec::input::from_value;
use crate::spec::patient::Patient;
use crate::spec::platelet_model::PlateletModel;
use crate::spec::population::PopulationSpec;
use crate::spec::regimen::Regimen;
use crate::spec::residual::ErrorModel;
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::{Arc, Mutex};

/// A prepared virtual trial (one regimen, one population, optional dose rules).
#[pyclass(module = "selinexor_pkpd._core", name = "Trial", frozen)]
pub struct PyTrial {
    setup: TrialSetup,
    /// The last thread pool built, with its size.
    pool: Mutex<Option<(usize, Arc<rayon::ThreadPool>)>>,
}

#[pymethods]
impl PyTrial {
    #[new]
    #[pyo3(signature = (lib, regimen, population, rules, params, days, seed, observe_days, rows=None, platelet_model="tpo", rtol=1e-6, atol=1e-9, x_level=0.5, follow_up_days=30.0, linear_pk="exact", efficacy=true, stop_at_progression=false, lab_error=None))]
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
        efficacy: bool,
        stop_at_progression: bool,
        lab_error: Option<(f64, f64)>,
    ) -> PyResult<Self> {
        let regimen: Regimen = parse(regimen, "regimen")?;
        let population: PopulationSpec = parse(population, "population")?;
        let mut sets: Option<Vec<DoseRules>> = None;
        let rules: Option<DoseRules> = match rules {
            None => None,
            Some(t) if t.trim_start().starts_with('[') => {
                let items: Vec<serde_json::Value> = parse(t, "dose_rules")?;
                let mut v = Vec::with_capacity(items.len());
                for (k, item) in items.into_iter().enumerate() {
                    v.push(match item {
                        serde_json::Value::String(name) => lib
                            .inner
                            .dose_rules_for(&name, &regimen)
                            .map_err(|e| to_py(e.within(&format!("dose_rules[{k}]"))))?
                            .clone(),
                        other => from_value(other, &format!("dose_rules[{k}]")).map_err(to_py)?,
                    });
                }
                sets = Some(v);
                None
            }
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
        in_range("x_level", x_level, 0.0, 1.0).map_err(to_py)?;
        non_negative("follow_up_days", follow_up_days).map_err(to_py)?;
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
        if let Some(sets) = sets {
            setup = setup.with_rule_sets(sets).map_err(to_py)?;
        }
        setup.x_level = x_level;
        setup.follow_up_days = follow_up_days;
        setup.efficacy = efficacy;
        if stop_at_progression && !efficacy {
            return Err(to_py(CoreError::new(
                "stop_at_progression",
                "needs the efficacy model (efficacy=True)",
            )));
        }
        if stop_at_progression {
            setup = setup.stopping_at_progression();
        }
        if let Some((add, prop)) = lab_error {
            let e = ErrorModel {
                output: "PLT".into(),
                add,
                prop,
            };
            check_lab_error(&e).map_err(to_py)?;
            setup.lab_error = Some(e);
        }
        Ok(Self {
            setup,
            pool: Mutex::new(None),
        })
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
    /// times, a (n, len(observe)) array `PLT_traj` and a (n, len(lab_days)) array `PLT_lab`
    /// (the counts read at the scheduled lab visits, NaN where a subject had none).
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
        let pool = self.pool(threads)?;
        let mut signal: Option<PyErr> = None;
        let rows = py.detach(|| {
            setup.run_blocks(start, end, pool.as_deref(), &mut || {
                signal = Python::attach(|py| py.check_signals().err());
                signal.is_some()
            })
        });
        let rows = match (rows, signal) {
            (_, Some(e)) => return Err(e),
            (r, None) => r.map_err(to_py)?,
        };
        let out = subjects_to_dict(py, &rows, &self.param_names(), self.setup.observe.len())?;
        if !self.setup.observe.is_empty() {
            let grid = self.setup.lab_grid();
            let arr = ndarray::Array2::from_shape_vec(
                (rows.len(), grid.len()),
                lab_count_grid(&rows, &grid),
            )
            .map_err(|e| to_py(CoreError::new("labs", e.to_string())))?;
            out.set_item("PLT_lab", arr.into_pyarray(py))?;
        }
        Ok(out)
    }

    /// Subject `id` as given and observed: its dose rows (TIME h, CMT, AMT, RATE, DRUG: the
    /// doses applied after the dose rules, and the drugs not simulated as planned) and the
    /// model outputs at the observation times (TIME h and the columns of `simulate`).
    fn record<'py>(&self, py: Python<'py>, id: usize) -> PyResult<Bound<'py, PyDict>> {
        let setup = &self.setup;
        let (_, rec) = py.detach(|| setup.run_recorded(id, true)).map_err(to_py)?;
        let rec = rec.ok_or_else(|| to_py(CoreError::new("subject", "was not recorded")))?;
        let rows =
            applied_dose_rows(&rec, &setup.regimen.drugs(), setup.horizon_h).map_err(to_py)?;
        let doses = PyDict::new(py);
        doses.set_item(
            "TIME",
            rows.iter()
                .map(|r| r.time)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        doses.set_item(
            "CMT",
            rows.iter()
                .map(|r| i64::from(r.cmt))
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        doses.set_item(
            "AMT",
            rows.iter()
                .map(|r| r.amt)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        doses.set_item(
            "RATE",
            rows.iter()
                .map(|r| r.rate)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        doses.set_item(
            "DRUG",
            rows.iter().map(|r| r.drug.clone()).collect::<Vec<_>>(),
        )?;
        let outputs = PyDict::new(py);
        outputs.set_item("TIME", setup.observe.clone().into_pyarray(py))?;
        let states: Vec<(&Model, &[f64])> =
            rec.states.iter().map(|y| (&rec.model, &y[..])).collect();
        state_columns(py, &outputs, &rec.model, &states)?;
        let out = PyDict::new(py);
        out.set_item("doses", doses)?;
        out.set_item("outputs", outputs)?;
        out.set_item("drugs", setup.regimen.drugs())?;
        Ok(out)
    }
}

impl PyTrial {
    /// The pool for `threads` workers, built once per trial and thread count (None: rayon's
    /// global pool).
    fn pool(&self, threads: Option<usize>) -> PyResult<Option<Arc<rayon::ThreadPool>>> {
        let Some(n) = threads else { return Ok(None) };
        let mut cached = self
            .pool
            .lock()
            .map_err(|_| to_py(CoreError::new("threads", "thread pool lock poisoned")))?;
        if let Some((k, p)) = cached.as_ref() {
            if *k == n {
                return Ok(Some(Arc::clone(p)));
            }
        }
        let p = Arc::new(thread_pool(n).map_err(to_py)?);
        *cached = Some((n, Arc::clone(&p)));
        Ok(Some(p))
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

pub(super) fn subjects_to_dict<'py>(
    py: Python<'py>,
    rows: &[SubjectResult],
    names: &[String],
    n_obs: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    for (name, col) in subject_columns(rows, names) {
        match col {
            Column::F64(v) => out.set_item(name, v.into_pyarray(py))?,
            Column::I64(v) => out.set_item(name, v.into_pyarray(py))?,
            Column::Bool(v) => out.set_item(name, v.into_pyarray(py))?,
            Column::Str(v) => out.set_item(name, v)?,
        }
    }
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

/// The most worker threads a run may use: the machine's available parallelism.
#[pyfunction]
pub fn max_threads() -> usize {
    crate::sim::trial::max_threads()
}
