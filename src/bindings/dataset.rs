//! NONMEM-style datasets: the CMT numbering, a dataset read from columns and simulated, a
//! regimen's doses as dataset rows.

use super::error::{parse, to_py};
use super::library::PyLibrary;
use super::regimen::expand_json;
use super::simulate::{error_models, parse_linear_pk, state_columns, SignalCheck};
use crate::engine::model::Model;
use crate::engine::solver::SolverOptions;
use crate::params::Overrides;
use crate::sim::dataset::{dose_rows, simulate_dataset};
use crate::sim::residual::dataset_observations;
use crate::spec::cmt::{default_cmt_map, platelet_cmt, CmtMap};
use crate::spec::dataset::{Column, CovariateFill, Dataset, RawDataset, COVARIATES};
use crate::spec::platelet_model::PlateletModel;
use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The default CMT numbering of `drugs`: (number, "drug.depot" / "drug.central") pairs and
/// the platelet count's number.
#[pyfunction]
pub fn cmt_map(drugs: Vec<String>) -> (Vec<(u32, String)>, u32) {
    let map = default_cmt_map(&drugs)
        .into_iter()
        .map(|(n, t)| (n, t.name()))
        .collect();
    (map, platelet_cmt(drugs.len()))
}

/// The covariate columns of datasets and the patient field each sets.
#[pyfunction]
pub fn nonmem_covariates() -> Vec<(&'static str, &'static str)> {
    COVARIATES.to_vec()
}

/// A checked NONMEM-style dataset.
#[pyclass(module = "selinexor_pkpd._core", name = "Dataset", frozen)]
pub struct PyDataset {
    inner: Dataset,
}

/// A column from Python: a float64 array or a list of strings.
fn column(obj: &Bound<'_, PyAny>) -> PyResult<Column> {
    if let Ok(a) = obj.extract::<PyReadonlyArray1<f64>>() {
        return Ok(Column::Num(a.as_slice()?.to_vec()));
    }
    Ok(Column::Text(obj.extract::<Vec<String>>()?))
}

#[pymethods]
impl PyDataset {
    /// Reads columns (`names[i]` -> `columns[i]`) with a CMT map of (value, target) pairs, or
    /// the default numbering of `drugs`.
    #[new]
    #[pyo3(signature = (lib, names, columns, cmt_map=None, drugs=None, covariates="locf"))]
    fn new(
        lib: &PyLibrary,
        names: Vec<String>,
        columns: Vec<Bound<'_, PyAny>>,
        cmt_map: Option<Vec<(String, String)>>,
        drugs: Option<Vec<String>>,
        covariates: &str,
    ) -> PyResult<Self> {
        let fill = CovariateFill::parse(covariates).map_err(to_py)?;
        let cols = columns.iter().map(column).collect::<PyResult<Vec<_>>>()?;
        let raw = RawDataset {
            columns: names.into_iter().zip(cols).collect(),
        };
        let lib = &lib.inner;
        let has_depot = |d: &str| lib.default_route(d).map(|r| r.to_depot());
        let map = match (cmt_map, drugs) {
            (Some(pairs), _) => CmtMap::parse(&pairs, &has_depot).map_err(to_py)?,
            (None, Some(drugs)) => {
                for d in &drugs {
                    lib.drug(d).map_err(|e| to_py(e.within("drugs")))?;
                }
                CmtMap::default_for(&drugs)
            }
            (None, None) => {
                return Err(to_py(crate::error::ModelError::new(
                    "cmt_map",
                    "give the CMT map (or the drugs of the default numbering)",
                )))
            }
        };
        Ok(Self {
            inner: raw.parse(&map, fill).map_err(to_py)?,
        })
    }

    /// The drugs of the dataset's CMT map, in order.
    fn drugs(&self) -> Vec<String> {
        self.inner.drugs.clone()
    }

    /// The subjects' IDs, in order.
    fn ids(&self) -> Vec<f64> {
        self.inner.subjects.iter().map(|s| s.id).collect()
    }

    /// Simulates every subject; returns one value per record (dataset order) of each output.
    #[pyo3(signature = (lib, params, platelet_model="tpo", rtol=1e-6, atol=1e-9, linear_pk="exact", errors=None, seed=0, threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn simulate<'py>(
        &self,
        py: Python<'py>,
        lib: &PyLibrary,
        params: &str,
        platelet_model: &str,
        rtol: f64,
        atol: f64,
        linear_pk: &str,
        errors: Option<Vec<(String, f64, f64)>>,
        seed: u64,
        threads: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let errors = error_models(errors);
        let over: Overrides = parse(params, "params")?;
        let model = PlateletModel::parse(platelet_model).map_err(to_py)?;
        let opts = SolverOptions {
            rtol,
            atol,
            linear_pk: parse_linear_pk(linear_pk)?,
            ..Default::default()
        };
        let lib = &lib.inner;
        let ds = &self.inner;
        let mut signals = SignalCheck::new();
        let runs =
            py.detach(|| simulate_dataset(lib, ds, &over, model, &opts, threads, &mut signals));
        let runs = signals.result(runs)?;
        let dvs = dataset_observations(&errors, &ds.subjects, &runs, seed).map_err(to_py)?;
        let out = PyDict::new(py);
        let rows: Vec<(&Model, &[f64])> = runs
            .iter()
            .flat_map(|r| {
                r.states
                    .iter()
                    .zip(&r.record_model)
                    .map(move |(y, &m)| (&r.models[m], &y[..]))
            })
            .collect();
        if let Some(first) = runs.first() {
            state_columns(py, &out, &first.models[0], &rows)?;
        }
        for (e, dv) in errors.iter().zip(dvs) {
            out.set_item(format!("DV_{}", e.output), dv.into_pyarray(py))?;
        }
        out.set_item(
            "_rhs_evals",
            runs.iter().map(|r| r.stats.rhs_evals).sum::<u64>(),
        )?;
        Ok(out)
    }
}

/// A regimen's doses over `days` as dataset rows (default CMT numbering of the regimen's
/// drugs): TIME, CMT, AMT, RATE, II, SS, DRUG.
#[pyfunction]
pub fn nonmem_doses<'py>(
    py: Python<'py>,
    lib: &PyLibrary,
    regimen: &str,
    patient: &str,
    days: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let (r, events) = expand_json(lib, regimen, patient, days)?;
    let rows = dose_rows(&events, &r.drugs()).map_err(to_py)?;
    let out = PyDict::new(py);
    let col =
        |f: &dyn Fn(&crate::sim::dataset::DoseRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    out.set_item("TIME", col(&|d| d.time).into_pyarray(py))?;
    out.set_item("CMT", col(&|d| f64::from(d.cmt)).into_pyarray(py))?;
    out.set_item("AMT", col(&|d| d.amt).into_pyarray(py))?;
    out.set_item("RATE", col(&|d| d.rate).into_pyarray(py))?;
    out.set_item("II", col(&|d| d.ii).into_pyarray(py))?;
    out.set_item("SS", col(&|d| f64::from(d.ss)).into_pyarray(py))?;
    out.set_item(
        "DRUG",
        rows.iter().map(|d| d.drug.clone()).collect::<Vec<_>>(),
    )?;
    Ok(out)
}
