//! The model library: embedded defaults, overrides, names and definitions as JSON.

use super::error::{parse, to_py};
use crate::error::ModelError as CoreError;
use crate::spec::library::{parse_text, Library, DEFAULT_FILES};
use crate::spec::regimen::Regimen;
use pyo3::prelude::*;

/// The model library (drugs, platelet parameters, presets). Immutable; overrides make a new one.
#[pyclass(module = "selinexor_pkpd._core", name = "Library", frozen)]
pub struct PyLibrary {
    pub inner: Library,
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
pub fn default_files() -> Vec<(String, String)> {
    DEFAULT_FILES
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}
