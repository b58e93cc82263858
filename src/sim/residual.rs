//! Noisy observations: the model outputs at a subject's observation records through their
//! error models ([`ErrorModel`]). Subject `i` of seed `s` draws from its own stream
//! (`ChaCha8Rng::seed_from_u64(s ^ RESIDUAL_SALT)`, `set_stream(i)`, apart from the stream that
//! samples virtual subjects), two standard normals per record and error model, at every
//! record in order, so a subject's noise depends on nothing but `(seed, i)` and its records.

use super::dataset::SubjectRun;
pub use super::outputs::output_value;
use crate::engine::model::Model;
use crate::error::{ModelError, Result};
use crate::spec::dataset::{Evid, Subject};
use crate::spec::residual::ErrorModel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Mixed into the seed so that residual noise and subject sampling use different streams.
const RESIDUAL_SALT: u64 = 0x5245_5349_4455_414c; // "RESIDUAL"

/// Checks the error models against a model's outputs (each output once).
pub fn check_error_models(errors: &[ErrorModel], model: &Model) -> Result<()> {
    for (k, e) in errors.iter().enumerate() {
        e.validate()?;
        if errors[..k].iter().any(|o| o.output == e.output) {
            return Err(ModelError::new(
                format!("error.{}", e.output),
                "appears twice",
            ));
        }
        let probe = vec![0.0; model.n];
        if output_value(model, &probe, &e.output).is_none() {
            return Err(ModelError::new(
                format!("error.{}", e.output),
                "is not an output of this model (C_<drug>, AUC_<drug>, X, E, PLT, TPO, PROL)",
            ));
        }
    }
    Ok(())
}

/// Observations of states `rows` (each with its model), one subject (`index`) of `seed`: per
/// error model one noisy value per row, two standard normals per row and error model in row
/// order, from the same per-subject stream as a dataset's subjects.
pub fn observe_rows(
    errors: &[ErrorModel],
    rows: &[(&Model, &[f64])],
    seed: u64,
    index: u64,
) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ RESIDUAL_SALT);
    rng.set_stream(index);
    let mut out = vec![Vec::with_capacity(rows.len()); errors.len()];
    for (model, y) in rows {
        for (e, col) in errors.iter().zip(out.iter_mut()) {
            let (eps1, eps2): (f64, f64) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
            col.push(
                output_value(model, y, &e.output).map_or(f64::NAN, |p| e.observe(p, eps1, eps2)),
            );
        }
    }
    out
}

/// The observations of subject `index` (its run `run`): per error model, one value per record,
/// the noisy output at observation records (EVID 0) and NaN at the others.
pub fn observations(
    errors: &[ErrorModel],
    subject: &Subject,
    run: &SubjectRun,
    seed: u64,
    index: u64,
) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ RESIDUAL_SALT);
    rng.set_stream(index);
    let mut out = vec![Vec::with_capacity(subject.records.len()); errors.len()];
    for (k, r) in subject.records.iter().enumerate() {
        let model = &run.models[run.record_model[k]];
        for (e, col) in errors.iter().zip(out.iter_mut()) {
            let (eps1, eps2): (f64, f64) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
            let ipred = output_value(model, &run.states[k], &e.output);
            col.push(match (r.evid, ipred) {
                (Evid::Observation, Some(p)) => e.observe(p, eps1, eps2),
                _ => f64::NAN,
            });
        }
    }
    out
}

/// The observations of every subject of a dataset (runs in subject order), per error model
/// one value per record in dataset order; the error models are checked against the first
/// subject's model.
pub fn dataset_observations(
    errors: &[ErrorModel],
    subjects: &[Subject],
    runs: &[SubjectRun],
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    let Some(first) = runs.first() else {
        return Ok(vec![Vec::new(); errors.len()]);
    };
    check_error_models(errors, &first.models[0])?;
    let mut out: Vec<Vec<f64>> = vec![Vec::new(); errors.len()];
    for (i, (s, r)) in subjects.iter().zip(runs).enumerate() {
        for (col, obs) in out
            .iter_mut()
            .zip(observations(errors, s, r, seed, i as u64))
        {
            col.extend(obs);
        }
    }
    Ok(out)
}
