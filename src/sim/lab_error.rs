//! Lab counts as clinicians see them: the platelet count of each lab visit with an observation
//! error, so that grading and dose rules act on noisy values. Subject `i` of seed `s` draws from
//! its own stream (`ChaCha8Rng::seed_from_u64(s ^ LAB_SALT)`, `set_stream(i)`), two standard
//! normals per visit in visit order, apart from the streams that sample subjects, efficacy and
//! dataset residuals: a run without lab error draws nothing and is unchanged.

use crate::engine::events::{Action, LabController};
use crate::engine::model::Model;
use crate::error::{ModelError, Result};
use crate::spec::residual::ErrorModel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Mixed into the seed so that lab noise has a stream of its own.
const LAB_SALT: u64 = 0x4c41_425f_4e4f_4953; // "LAB_NOIS"

/// Checks a lab error model: it applies to `PLT`, the only lab value the engine reads.
pub fn check_lab_error(e: &ErrorModel) -> Result<()> {
    if e.output != "PLT" {
        return Err(ModelError::new(
            format!("lab_error.{}", e.output),
            "lab error applies to platelets only: name it PLT",
        ));
    }
    e.validate()
        .map_err(|err| ModelError::new(err.field.replacen("error.", "lab_error.", 1), err.message))
}

/// A [`LabController`] that passes each visit on to `inner` with a noisy platelet count
/// (`max(0, PLT (1 + prop eps1) + add eps2)` of the measured count: never negative).
pub struct NoisyLabs<'a> {
    inner: &'a mut dyn LabController,
    error: &'a ErrorModel,
    plt: usize,
    rng: ChaCha8Rng,
    y: Vec<f64>,
}

impl<'a> NoisyLabs<'a> {
    /// Noise for subject `id` of `seed` on the state index `plt`.
    pub fn new(
        inner: &'a mut dyn LabController,
        error: &'a ErrorModel,
        plt: usize,
        seed: u64,
        id: usize,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ LAB_SALT);
        rng.set_stream(id as u64);
        Self {
            inner,
            error,
            plt,
            rng,
            y: Vec::new(),
        }
    }
}

impl LabController for NoisyLabs<'_> {
    fn lab(
        &mut self,
        model: &Model,
        index: usize,
        t: f64,
        y: &[f64],
        pending: &mut Vec<Action>,
    ) -> Result<()> {
        let (eps1, eps2): (f64, f64) = (
            self.rng.sample(StandardNormal),
            self.rng.sample(StandardNormal),
        );
        self.y.clear();
        self.y.extend_from_slice(y);
        // The measured count (own plus transfused platelets) is what is read with error; the
        // difference goes to the own platelets' state, so that the count the rules see is the
        // noisy one.
        let count = model.pd.map_or(y[self.plt], |pd| model.count(&pd, y));
        let read = self.error.observe(count, eps1, eps2).max(0.0);
        self.y[self.plt] += read - count;
        self.inner.lab(model, index, t, &self.y, pending)
    }
}
