//! Virtual populations: covariate distributions (with eligibility truncation), inter-individual
//! variability as a multivariate normal on the log (or logit) scale, and time on treatment.
//! Subject `i` of seed `s` draws from its own stream (`ChaCha8Rng::seed_from_u64(s)`,
//! `set_stream(i)`), so a subject is the same whatever the thread count, chunking or arm.

use crate::error::{non_negative, positive, ModelError, Result};
use crate::patient::{Patient, Sex};
use crate::simulate::{Etas, Overrides};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
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
    fn validate(&self, field: &str) -> Result<()> {
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

    /// Draws one value; truncation redraws (at most 1000 times, then clamps).
    fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        let (min, max) = match *self {
            Dist::Fixed { value } => return value,
            Dist::Normal { min, max, .. } | Dist::Lognormal { min, max, .. } => (
                min.unwrap_or(f64::NEG_INFINITY),
                max.unwrap_or(f64::INFINITY),
            ),
        };
        let mut v = 0.0;
        for _ in 0..1000 {
            let z: f64 = rng.sample(StandardNormal);
            v = match *self {
                Dist::Normal { mean, sd, .. } => mean + sd * z,
                Dist::Lognormal { median, cv, .. } => {
                    median * ((1.0 + cv * cv).ln().sqrt() * z).exp()
                }
                Dist::Fixed { value } => value,
            };
            if v >= min && v <= max {
                return v;
            }
        }
        v.clamp(min, max)
    }
}

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
    pub discontinuation: Discontinuation,
    #[serde(default)]
    pub source: String,
}

fn yes() -> bool {
    true
}

/// One sampled subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub id: usize,
    pub patient: Patient,
    pub etas: Etas,
    /// Per-subject parameter values (from an explicit patient table).
    pub overrides: Overrides,
    /// Time of discontinuation for non-platelet reasons, h (infinite: never).
    pub t_disc_h: f64,
}

/// The random-effect model ready to sample: parameter names and the Cholesky factor of Omega.
#[derive(Debug, Clone)]
pub struct IivModel {
    pub params: Vec<(String, String)>,
    pub chol: Vec<Vec<f64>>,
}

/// Lower Cholesky factor; fails when the matrix is not symmetric positive definite.
pub fn cholesky(m: &[Vec<f64>], field: &str) -> Result<Vec<Vec<f64>>> {
    let n = m.len();
    for (i, row) in m.iter().enumerate() {
        if row.len() != n {
            return Err(ModelError::new(
                field,
                format!("row {i} has {} entries, expected {n}", row.len()),
            ));
        }
        for (j, v) in row.iter().enumerate() {
            if !v.is_finite() || (v - m[j][i]).abs() > 1e-12 * v.abs().max(1.0) {
                return Err(ModelError::new(
                    field,
                    format!("must be finite and symmetric (entry [{i}][{j}] = {v})"),
                ));
            }
        }
    }
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = m[i][i] - s;
                if d <= 0.0 {
                    return Err(ModelError::new(
                        field,
                        "covariance matrix is not positive definite",
                    ));
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (m[i][j] - s) / l[j][j];
            }
        }
    }
    Ok(l)
}

fn split_param(name: &str, field: &str) -> Result<(String, String)> {
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
        crate::error::in_range("population.covariates.female", c.female, 0.0, 1.0)?;
        for (p, cv) in &self.iiv {
            split_param(p, &format!("population.iiv.{p}"))?;
            non_negative(&format!("population.iiv.{p}"), *cv)?;
        }
        for (i, r) in self.correlations.iter().enumerate() {
            crate::error::in_range(&format!("population.correlations[{i}].r"), r.r, -1.0, 1.0)?;
        }
        if let Discontinuation::Exponential { median_days } = self.discontinuation {
            positive("population.discontinuation.median_days", median_days)?;
        }
        Ok(())
    }

    /// Builds the random-effect model for a regimen's drugs; `known` says whether a
    /// `namespace.param` exists (so that a typo is an error, not a silent no-op).
    pub fn iiv_model(
        &self,
        library_iiv: &BTreeMap<String, f64>,
        known: &dyn Fn(&str, &str) -> Result<()>,
    ) -> Result<IivModel> {
        if let Some(o) = &self.omega {
            let params = o
                .params
                .iter()
                .enumerate()
                .map(|(i, p)| split_param(p, &format!("population.omega.params[{i}]")))
                .collect::<Result<Vec<_>>>()?;
            for (ns, p) in &params {
                known(ns, p).map_err(|e| e.within("population.omega"))?;
            }
            if o.matrix.len() != params.len() {
                return Err(ModelError::new(
                    "population.omega.matrix",
                    "must be square with one row per parameter",
                ));
            }
            return Ok(IivModel {
                params,
                chol: cholesky(&o.matrix, "population.omega.matrix")?,
            });
        }
        let mut cvs: BTreeMap<String, f64> = BTreeMap::new();
        if self.iiv_from_library {
            cvs.extend(library_iiv.iter().map(|(k, v)| (k.clone(), *v)));
        }
        cvs.extend(self.iiv.iter().map(|(k, v)| (k.clone(), *v)));
        cvs.retain(|_, cv| *cv > 0.0);
        let names: Vec<String> = cvs.keys().cloned().collect();
        let mut params = Vec::new();
        for n in &names {
            let (ns, p) = split_param(n, &format!("population.iiv.{n}"))?;
            known(&ns, &p).map_err(|e| e.within("population.iiv"))?;
            params.push((ns, p));
        }
        let sd: Vec<f64> = names
            .iter()
            .map(|n| (1.0 + cvs[n] * cvs[n]).ln().sqrt())
            .collect();
        let mut m: Vec<Vec<f64>> = (0..names.len())
            .map(|i| {
                (0..names.len())
                    .map(|j| if i == j { sd[i] * sd[i] } else { 0.0 })
                    .collect()
            })
            .collect();
        for (k, c) in self.correlations.iter().enumerate() {
            let f = format!("population.correlations[{k}]");
            let ia = names.iter().position(|n| *n == c.a);
            let ib = names.iter().position(|n| *n == c.b);
            let (Some(i), Some(j)) = (ia, ib) else {
                return Err(ModelError::new(
                    f,
                    format!("{:?} and {:?} must both have IIV", c.a, c.b),
                ));
            };
            if i == j {
                return Err(ModelError::new(
                    f,
                    "a parameter cannot be correlated with itself",
                ));
            }
            m[i][j] = c.r * sd[i] * sd[j];
            m[j][i] = m[i][j];
        }
        Ok(IivModel {
            params,
            chol: cholesky(&m, "population.correlations")?,
        })
    }

    /// Draws subject `id` of `seed`: covariates, random effects, discontinuation time.
    pub fn sample(&self, iiv: &IivModel, seed: u64, id: usize) -> Subject {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(id as u64);
        let c = &self.covariates;
        let patient = Patient {
            weight: c.weight.sample(&mut rng),
            height: c.height.sample(&mut rng),
            age: c.age.sample(&mut rng),
            sex: if rng.random::<f64>() < c.female {
                Sex::Female
            } else {
                Sex::Male
            },
            crcl: c.crcl.sample(&mut rng),
            platelets: Some(c.platelets.sample(&mut rng)),
        };
        let etas = sample_etas(iiv, &mut rng);
        let t_disc_h = self.sample_disc(&mut rng);
        Subject {
            id,
            patient,
            etas,
            overrides: Overrides::new(),
            t_disc_h,
        }
    }

    fn sample_disc(&self, rng: &mut ChaCha8Rng) -> f64 {
        match self.discontinuation {
            Discontinuation::None => f64::INFINITY,
            Discontinuation::Exponential { median_days } => {
                let u: f64 = rng.random::<f64>();
                -(1.0 - u).ln() * median_days / std::f64::consts::LN_2 * 24.0
            }
        }
    }

    /// Subject `id` with covariates from an explicit row: random effects and discontinuation
    /// still come from this population's stream (unless the row fixes them).
    pub fn from_row(
        &self,
        iiv: &IivModel,
        seed: u64,
        id: usize,
        patient: Patient,
        overrides: Overrides,
        t_disc_days: Option<f64>,
    ) -> Subject {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(id as u64);
        let mut etas = sample_etas(iiv, &mut rng);
        for (ns, params) in &overrides {
            if let Some(e) = etas.get_mut(ns) {
                for p in params.keys() {
                    e.remove(p);
                }
            }
        }
        let disc = self.sample_disc(&mut rng);
        Subject {
            id,
            patient,
            etas,
            overrides,
            t_disc_h: t_disc_days.map_or(disc, |d| d * 24.0),
        }
    }
}

fn sample_etas(iiv: &IivModel, rng: &mut ChaCha8Rng) -> Etas {
    let n = iiv.params.len();
    let z: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
    let mut etas = Etas::new();
    for i in 0..n {
        let eta: f64 = (0..=i).map(|k| iiv.chol[i][k] * z[k]).sum();
        let (ns, p) = &iiv.params[i];
        etas.entry(ns.clone()).or_default().insert(p.clone(), eta);
    }
    etas
}

/// Parameters that vary on the logit scale (bounded in [0, 1]).
pub fn is_bounded(param: &str) -> bool {
    matches!(param, "Imax" | "fP" | "F" | "Emax")
}

/// Applies a random effect: `v * exp(eta)`, or on the logit scale for bounded parameters.
pub fn apply_eta(param: &str, v: f64, eta: f64) -> f64 {
    if is_bounded(param) && v > 0.0 && v < 1.0 {
        let logit = (v / (1.0 - v)).ln() + eta;
        1.0 / (1.0 + (-logit).exp())
    } else {
        v * eta.exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_rejects_indefinite() {
        let m = vec![vec![1.0, 2.0], vec![2.0, 1.0]];
        assert!(cholesky(&m, "omega").is_err());
        let l = cholesky(&[vec![4.0, 2.0], vec![2.0, 3.0]], "omega").unwrap();
        assert!((l[0][0] - 2.0).abs() < 1e-15 && (l[1][0] - 1.0).abs() < 1e-15);
        assert!((l[1][1] - 2f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn logit_eta_stays_bounded() {
        for eta in [-5.0, 0.0, 5.0] {
            let v = apply_eta("Imax", 0.9, eta);
            assert!(v > 0.0 && v < 1.0);
        }
        assert!((apply_eta("Imax", 0.9, 0.0) - 0.9).abs() < 1e-15);
        assert!((apply_eta("CL", 10.0, 0.1) - 10.0 * 0.1f64.exp()).abs() < 1e-12);
    }
}
