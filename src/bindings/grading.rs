//! CTCAE grading of platelet counts.

use crate::spec::grading::{ctcae_grade as grade, GRADE_THRESHOLDS};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

/// CTCAE v4.03 grade (0-4) of each platelet count (10^9/L; NaN grades 0).
#[pyfunction]
pub fn ctcae_grade<'py>(
    py: Python<'py>,
    platelets: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let g: Vec<i64> = platelets
        .as_array()
        .iter()
        .map(|&p| i64::from(grade(p)))
        .collect();
    Ok(g.into_pyarray(py))
}

/// Upper bounds of grades 1-4, 10^9/L: grade g means a count below the g-th.
#[pyfunction]
pub fn grade_thresholds() -> Vec<f64> {
    GRADE_THRESHOLDS.to_vec()
}
