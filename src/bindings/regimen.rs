//! Regimens: validation, the dose-event table, lab visits and the weekly dose.

use super::error::{parse, to_py};
use super::library::PyLibrary;
use crate::error::ModelError as CoreError;
use crate::spec::patient::Patient;
use crate::spec::regimen::{DoseEvent, Regimen};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Validates a regimen (JSON) against a library; returns its normalised JSON.
#[pyfunction]
pub fn check_regimen(lib: &PyLibrary, regimen: &str) -> PyResult<String> {
    let r: Regimen = parse(regimen, "regimen")?;
    r.validate().map_err(to_py)?;
    for d in r.drugs() {
        lib.inner.drug(&d).map_err(|e| to_py(e.within("regimen")))?;
    }
    serde_json::to_string(&r).map_err(|e| to_py(CoreError::new("regimen", e.to_string())))
}

/// A regimen and a patient from their JSON, and the regimen's doses for the patient over
/// `days`.
pub(super) fn expand_json(
    lib: &PyLibrary,
    regimen: &str,
    patient: &str,
    days: f64,
) -> PyResult<(Regimen, Vec<DoseEvent>)> {
    let r: Regimen = parse(regimen, "regimen")?;
    let p: Patient = parse(patient, "patient")?;
    let events = r
        .expand(&p, days * 24.0, &|d| lib.inner.default_route(d))
        .map_err(to_py)?;
    Ok((r, events))
}

/// Expands a regimen into its dose-event table (NONMEM-style columns).
#[pyfunction]
pub fn expand_regimen<'py>(
    py: Python<'py>,
    lib: &PyLibrary,
    regimen: &str,
    patient: &str,
    days: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let (_, events) = expand_json(lib, regimen, patient, days)?;
    let out = PyDict::new(py);
    let col = |f: &dyn Fn(&DoseEvent) -> f64| events.iter().map(f).collect::<Vec<f64>>();
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

/// Lab-visit days of a regimen within `days` (days since the first dose; cycle 1 and later
/// cycles as the regimen's `labs` say).
#[pyfunction]
pub fn lab_days<'py>(
    py: Python<'py>,
    regimen: &str,
    days: f64,
) -> PyResult<Bound<'py, numpy::PyArray1<f64>>> {
    let r: Regimen = parse(regimen, "regimen")?;
    r.validate().map_err(to_py)?;
    crate::error::positive("days", days).map_err(to_py)?;
    let t: Vec<f64> = r
        .lab_times(days * 24.0)
        .into_iter()
        .map(|h| h / 24.0)
        .collect();
    Ok(t.into_pyarray(py))
}

/// Planned weekly dose of `drug` (amount x doses per week of its first dose line, in the line's
/// unit); None when the regimen does not dose it.
#[pyfunction]
pub fn weekly_dose(regimen: &str, drug: &str) -> PyResult<Option<f64>> {
    let r: Regimen = parse(regimen, "regimen")?;
    r.validate().map_err(to_py)?;
    r.weekly_dose(drug).map_err(to_py)
}
