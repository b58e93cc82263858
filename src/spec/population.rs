//! Virtual population definitions (as in `data/populations.toml`): covariate distributions (with
//! eligibility truncation), inter-individual variability on the log (or logit) scale, and time on
//! treatment. Sampling subjects from them is `sim::sampling`.

use crate::error::{in_range, non_negative, positive, ModelError, Result};
use crate::params::resolved::MAX_PLATELETS;
use crate::params::Overrides;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A distribution of one covariate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum Dist {
    /// Fixed value.
    Fixed { value: f64 },
    /// Normal(mean, sd), truncated to [min, max] by redrawing.
    Normal {
        mean: f64,
        sd: f64,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
    },
    /// Log-normal with the given median and CV (fraction), truncated to [min, max] by redrawing.
    Lognormal {
        median: f64,
        cv: f64,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
    },
}

impl Dist {
    pub fn validate(&self, field: &str) -> Result<()> {
        match *self {
            Dist::Fixed { value } => {
                if !value.is_finite() {
                    return Err(ModelError::new(
                        field,
                        format!("value must be finite, got {value}"),
                    ));
                }
            }
            Dist::Normal { mean, sd, min, max } => {
                if !mean.is_finite() {
                    return Err(ModelError::new(
                        format!("{field}.mean"),
                        format!("must be finite, got {mean}"),
                    ));
                }
                non_negative(&format!("{field}.sd"), sd)?;
                check_bounds(field, min, max)?;
            }
            Dist::Lognormal {
                median,
                cv,
                min,
                max,
            } => {
                positive(&format!("{field}.median"), median)?;
                non_negative(&format!("{field}.cv"), cv)?;
                check_bounds(field, min, max)?;
            }
        }
        Ok(())
    }
}

impl Dist {
    /// The distribution's centre (value, mean or median), twice (for one check of both).
    fn location(&self) -> (f64, f64) {
        let v = match *self {
            Dist::Fixed { value } => value,
            Dist::Normal { mean, .. } => mean,
            Dist::Lognormal { median, .. } => median,
        };
        (v, v)
    }
}

/// Largest coefficient of variation accepted for inter-individual variability (1000%).
pub const MAX_CV: f64 = 10.0;

fn check_bounds(field: &str, min: Option<f64>, max: Option<f64>) -> Result<()> {
    if let (Some(a), Some(b)) = (min, max) {
        if a.partial_cmp(&b) != Some(std::cmp::Ordering::Less) {
            return Err(ModelError::new(
                field,
                format!("min {a} must be below max {b}"),
            ));
        }
    }
    Ok(())
}

/// Covariate distributions of a population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Covariates {
    pub weight: Dist,
    pub height: Dist,
    pub age: Dist,
    /// Probability of female sex.
    pub female: f64,
    pub crcl: Dist,
    /// Baseline platelets, 10^9/L (truncate at the eligibility threshold with `min`).
    pub platelets: Dist,
}

/// A correlation between two random effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correlation {
    pub a: String,
    pub b: String,
    pub r: f64,
}

/// An explicit covariance matrix of the random effects (variances on the log/logit scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Omega {
    pub params: Vec<String>,
    pub matrix: Vec<Vec<f64>>,
}

/// Time on treatment for reasons other than platelets (progression, other toxicity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum Discontinuation {
    /// Treatment runs to the end of the simulation.
    None,
    /// Exponential time to discontinuation with this median (days).
    Exponential { median_days: f64 },
}

/// Exponential discontinuation for reasons other than progression, with its provenance: the
/// time on treatment of a run that stops at progression (`stop_at_progression`), where
/// progression comes from the efficacy model instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherDiscontinuation {
    pub median_days: f64,
    /// Citation, `derived: ...` or `ASSUMPTION: ...`.
    #[serde(default)]
    pub source: String,
}

/// A population definition (as in `data/populations.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpec {
    #[serde(default)]
    pub description: String,
    pub covariates: Covariates,
    /// CV (fraction) of log-normal IIV by `namespace.param`; bounded parameters (Imax, fP, F,
    /// Emax) vary on the logit scale with the same standard deviation.
    #[serde(default)]
    pub iiv: BTreeMap<String, f64>,
    /// Add each drug's own IIV from the library (`drugs.<name>.iiv`) for drugs in the regimen.
    #[serde(default = "yes")]
    pub iiv_from_library: bool,
    #[serde(default)]
    pub correlations: Vec<Correlation>,
    /// A full covariance matrix instead of `iiv` + `correlations`.
    #[serde(default)]
    pub omega: Option<Omega>,
    /// Typical values of model parameters in this population (`namespace.param`), replacing the
    /// library's: the population as a categorical covariate. A run's own `params` override them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub typical: BTreeMap<String, SourcedValue>,
    pub discontinuation: Discontinuation,
    /// Discontinuation for reasons other than progression, replacing `discontinuation` (whose
    /// median includes progression) in runs that stop at progression; absent: `discontinuation`
    /// is used there too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discontinuation_other: Option<OtherDiscontinuation>,
    #[serde(default)]
    pub source: String,
    /// The efficacy model's drug sensitivity of this population relative to the library's
    /// (`efficacy.sensitivity`): multiplies every patient's sensitivity (1 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tumour_sensitivity: Option<SourcedValue>,
}

/// A population-level value with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcedValue {
    pub value: f64,
    /// Citation, `calibrated: ...` or `ASSUMPTION: ...`.
    #[serde(default)]
    pub source: String,
}

fn yes() -> bool {
    true
}

pub fn split_param(name: &str, field: &str) -> Result<(String, String)> {
    name.split_once('.')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| {
            ModelError::new(
                field,
                format!("{name:?}: write parameters as namespace.param, e.g. selinexor.CL"),
            )
        })
}

impl PopulationSpec {
    pub fn validate(&self) -> Result<()> {
        let c = &self.covariates;
        c.weight.validate("population.covariates.weight")?;
        c.height.validate("population.covariates.height")?;
        c.age.validate("population.covariates.age")?;
        c.crcl.validate("population.covariates.crcl")?;
        c.platelets.validate("population.covariates.platelets")?;
        in_range("population.covariates.female", c.female, 0.0, 1.0)?;
        let (lo, hi) = c.platelets.location();
        for v in [lo, hi] {
            in_range("population.covariates.platelets", v, 1.0, MAX_PLATELETS)?;
        }
        for (p, cv) in &self.iiv {
            split_param(p, &format!("population.iiv.{p}"))?;
            in_range(&format!("population.iiv.{p}"), *cv, 0.0, MAX_CV)?;
        }
        for (p, v) in &self.typical {
            split_param(p, &format!("population.typical.{p}"))?;
            if !v.value.is_finite() {
                return Err(ModelError::new(
                    format!("population.typical.{p}"),
                    format!("must be finite, got {}", v.value),
                ));
            }
        }
        for (i, r) in self.correlations.iter().enumerate() {
            in_range(&format!("population.correlations[{i}].r"), r.r, -1.0, 1.0)?;
        }
        if let Discontinuation::Exponential { median_days } = self.discontinuation {
            positive("population.discontinuation.median_days", median_days)?;
        }
        if let Some(p) = &self.tumour_sensitivity {
            positive("population.tumour_sensitivity.value", p.value)?;
        }
        if let Some(d) = &self.discontinuation_other {
            positive(
                "population.discontinuation_other.median_days",
                d.median_days,
            )?;
        }
        Ok(())
    }

    /// The population's own typical values (`typical`) as run-level overrides.
    pub fn typical_values(&self) -> Result<Overrides> {
        let mut own = Overrides::new();
        for (p, v) in &self.typical {
            let (ns, name) = split_param(p, &format!("population.typical.{p}"))?;
            own.entry(ns).or_default().insert(name, v.value);
        }
        Ok(own)
    }

    /// The population as a run that stops at progression sees it: its discontinuation for
    /// other reasons, when it has one, in place of the overall one (the same uniform draw per
    /// subject, so each subject's time can only grow and the random streams are unchanged).
    pub fn stopping_at_progression(mut self) -> Self {
        if let Some(d) = &self.discontinuation_other {
            self.discontinuation = Discontinuation::Exponential {
                median_days: d.median_days,
            };
        }
        self
    }
}
