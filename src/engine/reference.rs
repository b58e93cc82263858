//! The reference integrator: ode_solvers' `Dopri5` (Sparse output), restarted at every event,
//! integrating every state. Tests and benchmarks check the engine's own integrator against it
//! (cargo feature `reference`).

use super::events::StepObserver;
use super::model::Model;
use super::segment::Segment;
use crate::error::{ModelError, Result};
use crate::numerics::dopri5::{StepCounts, Tolerances};
use ode_solvers::{Dopri5, OutputType, SVector, System};

/// ode_solvers' stiffness test aborts the run when the step size is limited by stability (for
/// example by bortezomib's fast distribution phase, ~7/h, over days); error control already
/// keeps the explicit method stable there, at the cost of more steps, so the test is disabled.
const NO_STIFFNESS_CHECK: u32 = u32::MAX;

/// One segment as an ode_solvers `System` (every state integrated).
struct OdeSystem<'a> {
    model: &'a Model,
    seg: &'a Segment,
    obs: &'a mut dyn StepObserver,
}

impl<const N: usize> System<f64, SVector<f64, N>> for OdeSystem<'_> {
    #[inline]
    fn system(&self, t: f64, y: &SVector<f64, N>, dy: &mut SVector<f64, N>) {
        self.model.rhs(t, y.as_slice(), dy.as_mut_slice(), self.seg);
    }
    fn solout(&mut self, t: f64, y: &SVector<f64, N>, dy: &SVector<f64, N>) -> bool {
        self.obs.step(
            t,
            &y.as_slice()[..self.model.n],
            &dy.as_slice()[..self.model.n],
        );
        false
    }
}

/// One segment with ode_solvers' `Dopri5`: a new solver from `t` to `next`, started with step
/// `h` (0: its own initial guess); on return `h` is the last full step.
#[allow(clippy::too_many_arguments)]
pub(super) fn ode_solvers_segment<const N: usize>(
    model: &Model,
    seg: &Segment,
    next: f64,
    y: &mut [f64; N],
    h: &mut f64,
    tol: &Tolerances,
    obs: &mut dyn StepObserver,
) -> Result<StepCounts> {
    // ode_solvers' RMS error norm runs over all N entries: scaling both tolerances by
    // sqrt(n/N) makes it the norm over the n real states (padding entries stay 0).
    let scale = (model.n as f64 / N as f64).sqrt();
    let t = seg.t0;
    let system = OdeSystem { model, seg, obs };
    let mut solver = Dopri5::from_param(
        system,
        t,
        next,
        0.0,
        SVector::<f64, N>::from(*y),
        tol.rtol * scale,
        tol.atol * scale,
        0.9,
        0.04,
        0.2,
        10.0,
        next - t,
        *h,
        tol.max_steps,
        NO_STIFFNESS_CHECK,
        OutputType::Sparse,
    );
    let st = solver
        .integrate()
        .map_err(|e| ModelError::new("solver", format!("integration failed: {e}")))?;
    let xs = solver.x_out();
    *h = if xs.len() >= 3 {
        xs[xs.len() - 2] - xs[xs.len() - 3]
    } else {
        0.0
    };
    let last = solver
        .y_out()
        .last()
        .ok_or_else(|| ModelError::new("solver", "no solution produced"))?;
    y.copy_from_slice(last.as_slice());
    Ok(StepCounts {
        rhs_evals: u64::from(st.num_eval),
        accepted: u64::from(st.accepted_steps),
        rejected: u64::from(st.rejected_steps),
    })
}
