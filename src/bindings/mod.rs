//! Python bindings (`selinexor_pkpd._core`): the only module that knows about Python. Inputs
//! arrive as JSON text (regimens, patients, overrides) and numpy arrays; outputs leave as dicts
//! of numpy arrays. They convert and compute nothing; computation runs with the GIL released.

mod benefit_risk;
mod dataset;
mod error;
mod escalation;
mod grading;
mod library;
mod regimen;
mod simon;
mod simulate;
mod trial;
mod validation;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ModelError", m.py().get_type::<error::ModelError>())?;
    m.add_class::<library::PyLibrary>()?;
    m.add_class::<trial::PyTrial>()?;
    m.add_class::<escalation::PyEscalation>()?;
    m.add_class::<dataset::PyDataset>()?;
    m.add_function(wrap_pyfunction!(benefit_risk::benefit_risk, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::cmt_map, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::nonmem_covariates, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::nonmem_doses, m)?)?;
    m.add_function(wrap_pyfunction!(escalation::escalate_probs, m)?)?;
    m.add_function(wrap_pyfunction!(escalation::dlt_rule, m)?)?;
    m.add_function(wrap_pyfunction!(escalation::dlt_presets, m)?)?;
    m.add_function(wrap_pyfunction!(library::default_files, m)?)?;
    m.add_function(wrap_pyfunction!(regimen::check_regimen, m)?)?;
    m.add_function(wrap_pyfunction!(regimen::expand_regimen, m)?)?;
    m.add_function(wrap_pyfunction!(regimen::lab_days, m)?)?;
    m.add_function(wrap_pyfunction!(regimen::weekly_dose, m)?)?;
    m.add_function(wrap_pyfunction!(grading::ctcae_grade, m)?)?;
    m.add_function(wrap_pyfunction!(grading::grade_thresholds, m)?)?;
    m.add_function(wrap_pyfunction!(trial::max_threads, m)?)?;
    m.add_function(wrap_pyfunction!(simon::simon_oc, m)?)?;
    m.add_function(wrap_pyfunction!(simon::simon_simulate, m)?)?;
    m.add_function(wrap_pyfunction!(simon::simon_search, m)?)?;
    m.add_function(wrap_pyfunction!(simon::simon_trials, m)?)?;
    m.add_function(wrap_pyfunction!(simulate::simulate_py, m)?)?;
    m.add_function(wrap_pyfunction!(simulate::closed_form, m)?)?;
    m.add_function(wrap_pyfunction!(simulate::exposure_py, m)?)?;
    m.add_function(wrap_pyfunction!(validation::clopper_pearson, m)?)?;
    m.add_function(wrap_pyfunction!(validation::binomial_quantile, m)?)?;
    m.add_function(wrap_pyfunction!(validation::validation_endpoints, m)?)?;
    m.add_function(wrap_pyfunction!(validation::check_arm, m)?)?;
    Ok(())
}
