//! The one error type of the core: every bad input names its field and value.

use std::fmt;

/// An invalid input or a numerical failure, naming the field it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    /// Dotted path of the offending field, e.g. `regimen.doses[0].amount`.
    pub field: String,
    /// What is wrong, including the bad value.
    pub message: String,
}

impl ModelError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Prefix the field path with a parent, e.g. `doses[2]` -> `regimen.doses[2]`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_string()
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ModelError {}

pub type Result<T> = std::result::Result<T, ModelError>;

/// Checks that `value` is finite and > 0.
pub fn positive(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ModelError::new(
            field,
            format!("must be a finite number > 0, got {}", show(value)),
        ))
    }
}

/// Checks that `value` is finite and >= 0.
pub fn non_negative(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(ModelError::new(
            field,
            format!("must be a finite number >= 0, got {}", show(value)),
        ))
    }
}

/// Checks that `value` is finite and inside `[lo, hi]`.
pub fn in_range(field: &str, value: f64, lo: f64, hi: f64) -> Result<f64> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(value)
    } else {
        Err(ModelError::new(
            field,
            format!(
                "must be in [{}, {}], got {}",
                show(lo),
                show(hi),
                show(value)
            ),
        ))
    }
}

/// A number as a user would write it: plain, or in scientific notation when very large or
/// small (`1e-300`, not 300 zeros).
pub fn show(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e15).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}
