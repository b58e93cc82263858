//! The Python exception `ModelError` and the conversion of core errors and JSON inputs.

use crate::error::ModelError as CoreError;
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

create_exception!(
    _core,
    ModelError,
    PyValueError,
    "Invalid model input; `.field` names the offending field."
);

pub fn to_py(e: CoreError) -> PyErr {
    Python::attach(|py| {
        let err = ModelError::new_err(e.to_string());
        let _ = err.value(py).setattr("field", e.field.clone());
        err
    })
}

pub fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> PyResult<T> {
    crate::spec::input::from_json(text, what).map_err(to_py)
}
