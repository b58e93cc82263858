//! Dose-escalation trials simulated end to end: designs (3+3, BOIN) as small objects over a DLT
//! oracle, and the replicated-trial runner over rayon with common random numbers.
//!
//! The k-th patient enrolled in trial r takes slot k whatever level it is given, and is the
//! virtual patient [`subject_id`]`(r, k)` (or, with given DLT probabilities, the uniform
//! [`uniform`]`(seed, r, k)`), so every level and every design sees the same patients, and a
//! trial depends only on (seed, r): results are the same for any thread count or chunking.
//! A new design is one file implementing [`Design`] and one variant of [`DesignSpec`].

pub mod boin;
pub mod dlt;
pub mod three_plus_three;

use crate::error::{ModelError, Result};
use crate::sim::trial::{SubjectResult, TrialSetup};
use dlt::DltRule;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Deserialize;
use std::collections::HashMap;

/// Slots per trial in the subject-id layout (id = r * SLOTS + k).
pub const SLOTS: usize = 1 << 16;
/// First subject id of the large population that estimates each level's true DLT rate.
pub const TRUE_RATE_BASE: usize = 1 << 44;

/// The population subject of slot `k` of trial `r`.
pub fn subject_id(r: usize, k: usize) -> usize {
    r * SLOTS + k
}

/// The uniforms of trial `r` (slots 0..n): stream `r` of ChaCha8 seeded by `seed`.
pub fn uniforms(seed: u64, r: usize, n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(r as u64);
    (0..n).map(|_| rng.random::<f64>()).collect()
}

/// The uniform of slot `k` of trial `r`.
pub fn uniform(seed: u64, r: usize, k: usize) -> f64 {
    uniforms(seed, r, k + 1)[k]
}

/// Why a design could not finish a trial: DLT outcomes not known yet (level, slot), or an error.
#[derive(Debug)]
pub enum Halt {
    Missing(Vec<(usize, usize)>),
    Error(ModelError),
}

impl From<ModelError> for Halt {
    fn from(e: ModelError) -> Self {
        Halt::Error(e)
    }
}

/// Enrols cohorts for a design and keeps the per-level counts.
pub struct Enroller<'a> {
    oracle: &'a mut dyn FnMut(usize, usize) -> Result<Option<bool>>,
    next: usize,
    pub n: Vec<u32>,
    pub dlt: Vec<u32>,
    pub cohorts: u32,
}

impl<'a> Enroller<'a> {
    pub fn new(
        n_levels: usize,
        oracle: &'a mut dyn FnMut(usize, usize) -> Result<Option<bool>>,
    ) -> Self {
        Self {
            oracle,
            next: 0,
            n: vec![0; n_levels],
            dlt: vec![0; n_levels],
            cohorts: 0,
        }
    }

    /// Treats `size` new patients at `level`; returns their number of DLTs.
    pub fn treat(&mut self, level: usize, size: usize) -> std::result::Result<u32, Halt> {
        let mut dlts = 0;
        let mut missing = Vec::new();
        for k in self.next..self.next + size {
            match (self.oracle)(level, k)? {
                Some(true) => dlts += 1,
                Some(false) => {}
                None => missing.push((level, k)),
            }
        }
        if !missing.is_empty() {
            return Err(Halt::Missing(missing));
        }
        self.next += size;
        self.n[level] += size as u32;
        self.dlt[level] += dlts;
        self.cohorts += 1;
        Ok(dlts)
    }

    /// Patients treated so far.
    pub fn total(&self) -> usize {
        self.next
    }
}

/// A dose-escalation design: the rule that assigns cohorts and selects the MTD.
pub trait Design: Send + Sync {
    fn name(&self) -> String;
    /// Most patients one trial can enrol over `n_levels` levels.
    fn max_patients(&self, n_levels: usize) -> usize;
    /// Runs one trial; returns the selected MTD level (None: no level selected).
    fn run(&self, n_levels: usize, e: &mut Enroller) -> std::result::Result<Option<usize>, Halt>;
}

/// A design as users write it (JSON), e.g. `{"design": "boin", "target": 0.25}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "design", deny_unknown_fields)]
pub enum DesignSpec {
    #[serde(rename = "3+3")]
    ThreePlusThree {},
    #[serde(rename = "boin")]
    Boin {
        #[serde(default = "boin::default_target")]
        target: f64,
        #[serde(default = "boin::default_cohort_size")]
        cohort_size: usize,
        #[serde(default = "boin::default_max_n")]
        max_n: usize,
        #[serde(default)]
        p_saf: Option<f64>,
        #[serde(default)]
        p_tox: Option<f64>,
        #[serde(default = "boin::default_cutoff_eli")]
        cutoff_eli: f64,
        #[serde(default = "boin::default_n_earlystop")]
        n_earlystop: usize,
    },
}

impl DesignSpec {
    pub fn build(&self) -> Result<Box<dyn Design>> {
        Ok(match self {
            DesignSpec::ThreePlusThree {} => Box::new(three_plus_three::ThreePlusThree),
            DesignSpec::Boin {
                target,
                cohort_size,
                max_n,
                p_saf,
                p_tox,
                cutoff_eli,
                n_earlystop,
            } => Box::new(boin::Boin::new(
                *target,
                *cohort_size,
                *max_n,
                p_saf.unwrap_or(0.6 * target),
                p_tox.unwrap_or(1.4 * target),
                *cutoff_eli,
                *n_earlystop,
            )?),
        })
    }
}

/// Where DLT outcomes come from.
pub enum DltSource<'a> {
    /// A true DLT probability per level: slot k of trial r has a DLT at level l when
    /// `uniform(seed, r, k) < probs[l]` (the same uniform at every level: monotone).
    Probs { probs: Vec<f64>, seed: u64 },
    /// Known outcomes `[level][trial][slot]` flattened (-1 unknown, 0 no DLT, 1 DLT); slots
    /// from `slots` on are unknown.
    Known {
        levels: usize,
        trials: usize,
        slots: usize,
        values: &'a [i8],
    },
    /// The PK/PD model: each level's trial setup and a DLT rule on the simulated patient.
    Model {
        levels: &'a [TrialSetup],
        rule: &'a DltRule,
    },
}

impl DltSource<'_> {
    fn n_levels(&self) -> usize {
        match self {
            DltSource::Probs { probs, .. } => probs.len(),
            DltSource::Known { levels, .. } => *levels,
            DltSource::Model { levels, .. } => levels.len(),
        }
    }
}

/// One trial of one design.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialOutcome {
    pub n: Vec<u32>,
    pub dlt: Vec<u32>,
    pub mtd: Option<usize>,
    pub cohorts: u32,
}

/// Replicated trials: `outcomes[design][trial]` (None where outcomes were missing), the
/// missing (level, trial, slot) of a `Known` source, and the number of patients simulated.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    pub outcomes: Vec<Vec<Option<TrialOutcome>>>,
    pub missing: Vec<(usize, usize, usize)>,
    pub simulated: u64,
}

/// One trial of every design: outcomes, missing (level, trial, slot), patients simulated.
type TrialRun = (Vec<Option<TrialOutcome>>, Vec<(usize, usize, usize)>, u64);

/// Checks the common inputs of a run.
pub fn check_run(n_levels: usize, trials: usize) -> Result<()> {
    if n_levels == 0 {
        return Err(ModelError::new("levels", "give at least one dose level"));
    }
    if trials == 0 {
        return Err(ModelError::new("trials", "must be >= 1, got 0"));
    }
    Ok(())
}

/// Runs `trials` replicated trials of every design on `threads` threads (None: rayon's default).
pub fn run_trials(
    designs: &[Box<dyn Design>],
    source: &DltSource,
    trials: usize,
    threads: Option<usize>,
) -> Result<RunOutput> {
    let n_levels = source.n_levels();
    check_run(n_levels, trials)?;
    if designs.is_empty() {
        return Err(ModelError::new("design", "give at least one design"));
    }
    let slots = designs
        .iter()
        .map(|d| d.max_patients(n_levels))
        .max()
        .unwrap_or(0);
    if slots > SLOTS {
        return Err(ModelError::new(
            "max_n",
            format!("at most {SLOTS} patients per trial, got {slots}"),
        ));
    }
    if let DltSource::Known {
        levels,
        trials: t,
        slots: s,
        values,
    } = source
    {
        if *t != trials || values.len() != levels * t * s {
            return Err(ModelError::new(
                "known",
                format!("has {} values, not ({levels}, {trials}, {s})", values.len()),
            ));
        }
    }
    let one = |r: usize| -> Result<TrialRun> {
        let u = match source {
            DltSource::Probs { seed, .. } => uniforms(*seed, r, slots),
            _ => Vec::new(),
        };
        let mut cache: HashMap<(usize, usize), bool> = HashMap::new();
        let mut simulated = 0u64;
        let mut oracle = |level: usize, k: usize| -> Result<Option<bool>> {
            match source {
                DltSource::Probs { probs, .. } => Ok(Some(u[k] < probs[level])),
                DltSource::Known { slots, values, .. } => {
                    let v = if k < *slots {
                        values[(level * trials + r) * slots + k]
                    } else {
                        -1
                    };
                    Ok((v >= 0).then_some(v > 0))
                }
                DltSource::Model { levels, rule } => {
                    if let Some(v) = cache.get(&(level, k)) {
                        return Ok(Some(*v));
                    }
                    let s = levels[level]
                        .run_subject(subject_id(r, k))
                        .map_err(|e| e.within(&format!("levels[{level}]")))?;
                    let v = rule.eval(&s);
                    cache.insert((level, k), v);
                    simulated += 1;
                    Ok(Some(v))
                }
            }
        };
        let mut outs = Vec::with_capacity(designs.len());
        let mut missing = Vec::new();
        for d in designs {
            let mut e = Enroller::new(n_levels, &mut oracle);
            match d.run(n_levels, &mut e) {
                Ok(mtd) => outs.push(Some(TrialOutcome {
                    n: e.n,
                    dlt: e.dlt,
                    mtd,
                    cohorts: e.cohorts,
                })),
                Err(Halt::Missing(m)) => {
                    missing.extend(m.into_iter().map(|(l, k)| (l, r, k)));
                    outs.push(None);
                }
                Err(Halt::Error(err)) => return Err(err),
            }
        }
        Ok((outs, missing, simulated))
    };
    let per_trial = in_pool(threads, || {
        (0..trials)
            .into_par_iter()
            .map(one)
            .collect::<Result<Vec<_>>>()
    })?;
    let mut out = RunOutput {
        outcomes: vec![Vec::with_capacity(trials); designs.len()],
        missing: Vec::new(),
        simulated: 0,
    };
    for (outs, missing, sims) in per_trial {
        for (i, o) in outs.into_iter().enumerate() {
            out.outcomes[i].push(o);
        }
        out.missing.extend(missing);
        out.simulated += sims;
    }
    out.missing.sort_unstable();
    out.missing.dedup();
    Ok(out)
}

/// Runs `work` on a pool of `threads` threads (None: rayon's global pool).
pub fn in_pool<T: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    match threads {
        None => work(),
        Some(n) => super::trial::thread_pool(n)?.install(work),
    }
}

/// Simulates subjects `ids` of one level, in order.
pub fn run_ids(
    setup: &TrialSetup,
    ids: &[usize],
    threads: Option<usize>,
) -> Result<Vec<SubjectResult>> {
    in_pool(threads, || {
        ids.par_iter().map(|&id| setup.run_subject(id)).collect()
    })
}

/// DLT outcomes of subjects `ids` at one level (the rule applied to each simulated patient).
pub fn dlt_of(
    setup: &TrialSetup,
    rule: &DltRule,
    ids: &[usize],
    threads: Option<usize>,
) -> Result<Vec<bool>> {
    in_pool(threads, || {
        ids.par_iter()
            .map(|&id| setup.run_subject(id).map(|s| rule.eval(&s)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniforms_do_not_depend_on_how_many_are_drawn() {
        let a = uniforms(7, 3, 30);
        let b = uniforms(7, 3, 5);
        assert_eq!(&a[..5], &b[..]);
        assert_eq!(uniform(7, 3, 12), a[12]);
        assert_ne!(uniforms(7, 4, 5), b);
    }

    #[test]
    fn runs_are_the_same_on_one_and_two_threads() {
        let designs: Vec<Box<dyn Design>> = vec![
            Box::new(three_plus_three::ThreePlusThree),
            DesignSpec::Boin {
                target: 0.3,
                cohort_size: 3,
                max_n: 30,
                p_saf: None,
                p_tox: None,
                cutoff_eli: 0.95,
                n_earlystop: 100,
            }
            .build()
            .unwrap(),
        ];
        let src = DltSource::Probs {
            probs: vec![0.05, 0.15, 0.3, 0.45, 0.6],
            seed: 11,
        };
        let a = run_trials(&designs, &src, 500, Some(1)).unwrap();
        let b = run_trials(&designs, &src, 500, Some(2)).unwrap();
        assert_eq!(a, b);
        assert!(a.missing.is_empty());
    }

    #[test]
    fn known_outcomes_report_what_is_missing() {
        let designs: Vec<Box<dyn Design>> = vec![Box::new(three_plus_three::ThreePlusThree)];
        // 2 levels, 1 trial, 12 slots; level 0 known: no DLT in slots 0..3; the rest unknown.
        let mut values = vec![-1i8; 2 * 12];
        values[..3].fill(0);
        let src = DltSource::Known {
            levels: 2,
            trials: 1,
            slots: 12,
            values: &values,
        };
        let out = run_trials(&designs, &src, 1, Some(1)).unwrap();
        assert_eq!(out.outcomes[0][0], None);
        assert_eq!(out.missing, vec![(1, 0, 3), (1, 0, 4), (1, 0, 5)]);
    }
}
