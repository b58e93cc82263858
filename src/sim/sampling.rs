//! Sampling virtual subjects from a population definition: covariates, random effects (a
//! multivariate normal through the Cholesky factor of Omega) and time on treatment. Subject `i` of
//! seed `s` draws from its own stream (`ChaCha8Rng::seed_from_u64(s)`, `set_stream(i)`), so a
//! subject is the same whatever the thread count, chunking or arm.

use crate::error::{ModelError, Result};
use crate::numerics::cholesky::cholesky;
use crate::params::{Etas, Overrides};
use crate::spec::patient::{Patient, Sex};
use crate::spec::population::{split_param, Discontinuation, Dist, PopulationSpec};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::collections::BTreeMap;

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

impl PopulationSpec {
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
            weight: draw(&c.weight, &mut rng),
            height: draw(&c.height, &mut rng),
            age: draw(&c.age, &mut rng),
            sex: if rng.random::<f64>() < c.female {
                Sex::Female
            } else {
                Sex::Male
            },
            crcl: draw(&c.crcl, &mut rng),
            platelets: Some(draw(&c.platelets, &mut rng)),
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

/// The random stream of subject `id`'s efficacy draws (tumour parameters, death): keyed by
/// the seed and a tag of its own, so that it is independent of the subject's stream above and
/// adding it changed none of that stream's draws.
pub fn efficacy_rng(seed: u64, id: usize) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(b"efficacy");
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(id as u64);
    rng
}

/// Draws one value; truncation redraws (at most 1000 times, then clamps).
pub(super) fn draw(dist: &Dist, rng: &mut ChaCha8Rng) -> f64 {
    let (min, max) = match *dist {
        Dist::Fixed { value } => return value,
        Dist::Normal { min, max, .. } | Dist::Lognormal { min, max, .. } => (
            min.unwrap_or(f64::NEG_INFINITY),
            max.unwrap_or(f64::INFINITY),
        ),
    };
    let mut v = 0.0;
    for _ in 0..1000 {
        let z: f64 = rng.sample(StandardNormal);
        v = match *dist {
            Dist::Normal { mean, sd, .. } => mean + sd * z,
            Dist::Lognormal { median, cv, .. } => median * ((1.0 + cv * cv).ln().sqrt() * z).exp(),
            Dist::Fixed { value } => value,
        };
        if v >= min && v <= max {
            return v;
        }
    }
    v.clamp(min, max)
}
