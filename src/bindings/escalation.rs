//! Dose-escalation trials: the levels prepared as trials over the DLT window, the designs run
//! natively; conversion only.

use super::error::{parse, to_py};
use super::library::PyLibrary;
use super::simulate::parse_linear_pk;
use super::trial::subjects_to_dict;
use crate::engine::solver::SolverOptions;
use crate::error::ModelError as CoreError;
use crate::sim::escalation::dlt::{DltRule, PRESETS};
use crate::sim::escalation::{
    dlt_of, run_ids, run_trials, subject_id, Design, DesignSpec, DltSource, RunOutput,
    TRUE_RATE_BASE,
};
use crate::sim::trial::TrialSetup;
use crate::spec::platelet_model::PlateletModel;
use crate::spec::population::PopulationSpec;
use crate::spec::regimen::Regimen;
use numpy::{IntoPyArray, PyReadonlyArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Dose levels prepared for escalation trials (one trial setup per level over the DLT window).
#[pyclass(module = "selinexor_pkpd._core", name = "Escalation", frozen)]
pub struct PyEscalation {
    levels: Vec<TrialSetup>,
    rule: Option<DltRule>,
}

fn designs_of(text: &str) -> PyResult<Vec<Box<dyn Design>>> {
    let specs: Vec<DesignSpec> = parse(text, "design")?;
    specs
        .iter()
        .map(|s| s.build().map_err(to_py))
        .collect::<PyResult<Vec<_>>>()
}

fn check_level(n: usize, level: usize) -> PyResult<()> {
    if level < n {
        Ok(())
    } else {
        Err(to_py(CoreError::new(
            "level",
            format!("must be < {n}, got {level}"),
        )))
    }
}

#[pymethods]
impl PyEscalation {
    #[new]
    #[pyo3(signature = (lib, levels, population, rules, params, seed, dlt=None, window_days=28.0, platelet_model="tpo", rtol=1e-6, atol=1e-9, linear_pk="exact"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        lib: &PyLibrary,
        levels: Vec<String>,
        population: &str,
        rules: Option<&str>,
        params: &str,
        seed: u64,
        dlt: Option<&str>,
        window_days: f64,
        platelet_model: &str,
        rtol: f64,
        atol: f64,
        linear_pk: &str,
    ) -> PyResult<Self> {
        if levels.is_empty() {
            return Err(to_py(CoreError::new(
                "levels",
                "give at least one dose level",
            )));
        }
        let rule = dlt.map(DltRule::parse).transpose().map_err(to_py)?;
        if rules.is_none() && rule.as_ref().is_some_and(DltRule::needs_rules) {
            return Err(to_py(CoreError::new(
                "dlt",
                "the interruption criterion needs dose rules (dose_rules=...)",
            )));
        }
        let days = rule.as_ref().map_or(window_days, |r| r.window_days);
        let population: PopulationSpec = parse(population, "population")?;
        let setups = levels
            .iter()
            .enumerate()
            .map(|(i, text)| -> PyResult<TrialSetup> {
                let within = |e: CoreError| to_py(e.within(&format!("levels[{i}]")));
                let regimen: Regimen = parse(text, &format!("levels[{i}]"))?;
                let rules = match rules {
                    None => None,
                    Some(t) if t.trim_start().starts_with('{') => Some(parse(t, "dose_rules")?),
                    Some(name) => Some(
                        lib.inner
                            .dose_rules_for(name, &regimen)
                            .map_err(within)?
                            .clone(),
                    ),
                };
                TrialSetup::new(
                    lib.inner.clone(),
                    regimen,
                    population.clone(),
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
                    Vec::new(),
                    None,
                )
                .map_err(within)
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            levels: setups,
            rule,
        })
    }

    /// Number of dose levels.
    fn n_levels(&self) -> usize {
        self.levels.len()
    }

    /// Runs replicated trials of the designs (GIL released); without a native DLT rule,
    /// `known` (levels, trials, slots) int8 gives the outcomes (-1: unknown).
    #[pyo3(signature = (designs, trials, threads=None, known=None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        designs: &str,
        trials: usize,
        threads: Option<usize>,
        known: Option<PyReadonlyArray3<'py, i8>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let designs = designs_of(designs)?;
        let known_view = known.as_ref().map(|k| (k.shape().to_vec(), k.as_slice()));
        let source = match (&self.rule, &known_view) {
            (_, Some((shape, values))) => DltSource::Known {
                levels: shape[0],
                trials: shape[1],
                slots: shape[2],
                values: values
                    .as_ref()
                    .map_err(|e| to_py(CoreError::new("known", e.to_string())))?,
            },
            (Some(rule), None) => DltSource::Model {
                levels: &self.levels,
                rule,
            },
            (None, None) => {
                return Err(to_py(CoreError::new(
                    "dlt",
                    "no DLT rule: give the known outcomes",
                )))
            }
        };
        if let DltSource::Known { levels, .. } = &source {
            if *levels != self.levels.len() {
                return Err(to_py(CoreError::new(
                    "known",
                    format!("has {levels} levels, not {}", self.levels.len()),
                )));
            }
        }
        let out = py
            .detach(|| run_trials(&designs, &source, trials, threads))
            .map_err(to_py)?;
        run_to_dict(py, &designs, &out, self.levels.len(), trials)
    }

    /// DLT outcomes (native rule) of the reference population's first `n` subjects at `level`.
    #[pyo3(signature = (level, n, threads=None))]
    fn reference_dlt<'py>(
        &self,
        py: Python<'py>,
        level: usize,
        n: usize,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, numpy::PyArray1<bool>>> {
        check_level(self.levels.len(), level)?;
        let rule = self
            .rule
            .as_ref()
            .ok_or_else(|| to_py(CoreError::new("dlt", "no native DLT rule")))?;
        let ids: Vec<usize> = (TRUE_RATE_BASE..TRUE_RATE_BASE + n).collect();
        let setup = &self.levels[level];
        let v = py
            .detach(|| dlt_of(setup, rule, &ids, threads))
            .map_err(to_py)?;
        Ok(v.into_pyarray(py))
    }

    /// The subject table of the reference population's first `n` subjects at `level`.
    #[pyo3(signature = (level, n, threads=None))]
    fn reference_subjects<'py>(
        &self,
        py: Python<'py>,
        level: usize,
        n: usize,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let ids: Vec<usize> = (TRUE_RATE_BASE..TRUE_RATE_BASE + n).collect();
        self.subjects_of(py, level, &ids, threads)
    }

    /// The subject table of the patients in slots `slots` of trials `trials` at `level`.
    #[pyo3(signature = (level, trials, slots, threads=None))]
    fn subjects<'py>(
        &self,
        py: Python<'py>,
        level: usize,
        trials: Vec<usize>,
        slots: Vec<usize>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        if trials.len() != slots.len() {
            return Err(to_py(CoreError::new(
                "slots",
                format!("{} slots for {} trials", slots.len(), trials.len()),
            )));
        }
        let ids: Vec<usize> = trials
            .iter()
            .zip(&slots)
            .map(|(&r, &k)| subject_id(r, k))
            .collect();
        self.subjects_of(py, level, &ids, threads)
    }
}

impl PyEscalation {
    fn subjects_of<'py>(
        &self,
        py: Python<'py>,
        level: usize,
        ids: &[usize],
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        check_level(self.levels.len(), level)?;
        let setup = &self.levels[level];
        let rows = py
            .detach(|| run_ids(setup, ids, threads))
            .map_err(|e| to_py(e.within(&format!("levels[{level}]"))))?;
        let names: Vec<String> = setup
            .iiv
            .params
            .iter()
            .map(|(a, b)| format!("{a}.{b}"))
            .collect();
        subjects_to_dict(py, &rows, &names, 0)
    }
}

/// Replicated trials with given DLT probabilities per level (no PK/PD model).
#[pyfunction]
#[pyo3(signature = (designs, dlt_probs, trials, seed, threads=None))]
pub fn escalate_probs<'py>(
    py: Python<'py>,
    designs: &str,
    dlt_probs: Vec<f64>,
    trials: usize,
    seed: u64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let designs = designs_of(designs)?;
    for (i, &p) in dlt_probs.iter().enumerate() {
        if !(0.0..=1.0).contains(&p) {
            return Err(to_py(CoreError::new(
                format!("dlt_probs[{i}]"),
                format!("must be in [0, 1], got {p}"),
            )));
        }
    }
    let n = dlt_probs.len();
    let source = DltSource::Probs {
        probs: dlt_probs,
        seed,
    };
    let out = py
        .detach(|| run_trials(&designs, &source, trials, threads))
        .map_err(to_py)?;
    run_to_dict(py, &designs, &out, n, trials)
}

/// A DLT rule (preset name or JSON) validated, as JSON.
#[pyfunction]
pub fn dlt_rule(text: &str) -> PyResult<String> {
    let rule = DltRule::parse(text).map_err(to_py)?;
    serde_json::to_string(&rule).map_err(|e| to_py(CoreError::new("dlt", e.to_string())))
}

/// Names of the DLT rule presets.
#[pyfunction]
pub fn dlt_presets() -> Vec<String> {
    PRESETS.iter().map(|s| s.to_string()).collect()
}

fn run_to_dict<'py>(
    py: Python<'py>,
    designs: &[Box<dyn Design>],
    out: &RunOutput,
    n_levels: usize,
    trials: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let shape_err = |e: ndarray::ShapeError| to_py(CoreError::new("trials", e.to_string()));
    let nd = designs.len();
    let mut n = Vec::with_capacity(nd * trials * n_levels);
    let mut dlt = Vec::with_capacity(nd * trials * n_levels);
    let mut mtd = Vec::with_capacity(nd * trials);
    let mut cohorts = Vec::with_capacity(nd * trials);
    for per_design in &out.outcomes {
        for o in per_design {
            match o {
                Some(o) => {
                    n.extend(o.n.iter().map(|&v| i64::from(v)));
                    dlt.extend(o.dlt.iter().map(|&v| i64::from(v)));
                    mtd.push(o.mtd.map_or(-1, |m| m as i64));
                    cohorts.push(i64::from(o.cohorts));
                }
                None => {
                    n.extend(std::iter::repeat_n(0, n_levels));
                    dlt.extend(std::iter::repeat_n(0, n_levels));
                    mtd.push(-2);
                    cohorts.push(0);
                }
            }
        }
    }
    let d = PyDict::new(py);
    d.set_item(
        "designs",
        designs.iter().map(|x| x.name()).collect::<Vec<_>>(),
    )?;
    let arr3 = |v: Vec<i64>| ndarray::Array3::from_shape_vec((nd, trials, n_levels), v);
    let arr2 = |v: Vec<i64>| ndarray::Array2::from_shape_vec((nd, trials), v);
    d.set_item("n", arr3(n).map_err(shape_err)?.into_pyarray(py))?;
    d.set_item("dlt", arr3(dlt).map_err(shape_err)?.into_pyarray(py))?;
    d.set_item("mtd", arr2(mtd).map_err(shape_err)?.into_pyarray(py))?;
    d.set_item(
        "cohorts",
        arr2(cohorts).map_err(shape_err)?.into_pyarray(py),
    )?;
    let flat: Vec<i64> = out
        .missing
        .iter()
        .flat_map(|&(l, r, k)| [l as i64, r as i64, k as i64])
        .collect();
    let missing =
        ndarray::Array2::from_shape_vec((out.missing.len(), 3), flat).map_err(shape_err)?;
    d.set_item("missing", missing.into_pyarray(py))?;
    d.set_item("simulated", out.simulated)?;
    Ok(d)
}
