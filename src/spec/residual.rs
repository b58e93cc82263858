//! Observation (residual) error models: what a measured value adds to the model's prediction.

use crate::error::{ModelError, Result};

/// The error model of one output, `DV = IPRED (1 + prop eps1) + add eps2` with `eps1`, `eps2`
/// independent standard normals: additive (`prop = 0`), proportional (`add = 0`) or combined,
/// variance `add^2 + prop^2 IPRED^2` (NONMEM's `Y = IPRED + IPRED*EPS(1) + EPS(2)`).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorModel {
    /// The output it applies to, as named in the output columns (`PLT`, `C_selinexor`, ...).
    pub output: String,
    /// Additive standard deviation, in the output's unit.
    pub add: f64,
    /// Proportional standard deviation (a CV: 0.1 is 10%).
    pub prop: f64,
}

impl ErrorModel {
    /// Checks both standard deviations (finite, >= 0, not both 0), naming `error.<output>`.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [("add", self.add), ("prop", self.prop)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(ModelError::new(
                    format!("error.{}.{name}", self.output),
                    format!("must be a finite standard deviation >= 0, got {v}"),
                ));
            }
        }
        if self.add == 0.0 && self.prop == 0.0 {
            return Err(ModelError::new(
                format!("error.{}", self.output),
                "gives no error: set add, prop or both",
            ));
        }
        Ok(())
    }

    /// The observation of prediction `ipred` with the standard normals `eps1`, `eps2`.
    pub fn observe(&self, ipred: f64, eps1: f64, eps2: f64) -> f64 {
        ipred * (1.0 + self.prop * eps1) + self.add * eps2
    }
}
