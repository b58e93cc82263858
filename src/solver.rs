//! Piecewise integration of a [`Model`] between events: a bolus is a jump in the state followed
//! by a restart; infusion edges, output times and lab visits are breakpoints too. Each segment is
//! integrated with Dormand-Prince 5(4): by default the engine's own implementation
//! ([`crate::dopri5`], stack arrays of a size `N` chosen once per run, no allocation per step or
//! segment, step size carried across breakpoints that do not change the state), or ode_solvers'
//! `Dopri5` with Sparse output ([`Integrator::OdeSolvers`], the reference it is tested against).
//!
//! First-order depots are solved exactly within a segment (see [`Model::rhs`]): their content
//! decays as `A(t0) exp(-ka (t - t0))`, which is what their ODE gives, and feeds the central
//! compartment through the right-hand side; the depot states are advanced at each segment end.
//! The error control then follows the compartments that matter (central, peripheral, PD) instead
//! of resolving a depot's tail to relative precision long after it has emptied (fewer
//! right-hand-side evaluations for oral dosing, see benchmarks/README.md; no stability limit
//! from ka).

use crate::dopri5::{self, StepCounts, StepState, Tolerances};
use crate::drug::Route;
use crate::error::{ModelError, Result};
use crate::model::Model;
use crate::regimen::DoseEvent;
use ode_solvers::{Dopri5, OutputType, SVector, System};

/// ode_solvers' stiffness test aborts the run when the step size is limited by stability (for
/// example by bortezomib's fast distribution phase, ~7/h, over days); error control already
/// keeps the explicit method stable there, at the cost of more steps, so the test is disabled.
const NO_STIFFNESS_CHECK: u32 = u32::MAX;

/// Relative length below which a segment is stepped over by one Euler step.
const TINY: f64 = 1e-12;

/// Which Dormand-Prince 5(4) implementation integrates the segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Integrator {
    /// The engine's own (src/dopri5.rs): stack arrays, no allocation per step or segment, the
    /// step size and controller memory carried across output times and lab visits.
    #[default]
    Lean,
    /// ode_solvers' `Dopri5` (Sparse output), restarted at every event: the reference the lean
    /// integrator is tested and benchmarked against.
    OdeSolvers,
}

/// Solver tolerances and limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverOptions {
    pub rtol: f64,
    pub atol: f64,
    /// Maximum steps per segment.
    pub max_steps: u32,
    pub integrator: Integrator,
}

impl Default for SolverOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-6,
            atol: 1e-9,
            max_steps: 2_000_000,
            integrator: Integrator::Lean,
        }
    }
}

impl SolverOptions {
    pub fn validate(&self) -> Result<()> {
        for (f, v) in [("rtol", self.rtol), ("atol", self.atol)] {
            if !(v.is_finite() && v > 0.0 && v < 1.0) {
                return Err(ModelError::new(f, format!("must be in (0, 1), got {v}")));
            }
        }
        if self.rtol < 1e-13 {
            return Err(ModelError::new(
                "rtol",
                format!("below what double precision can deliver: {}", self.rtol),
            ));
        }
        Ok(())
    }
}

/// Counters of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SolverStats {
    pub rhs_evals: u64,
    pub accepted_steps: u64,
    pub rejected_steps: u64,
    pub segments: u64,
}

/// Sees the solution at the start of each segment and at every accepted step.
pub trait StepObserver {
    fn step(&mut self, t: f64, y: &[f64], dy: &[f64]);
}

/// An observer that ignores everything.
pub struct NoObserver;
impl StepObserver for NoObserver {
    fn step(&mut self, _: f64, _: &[f64], _: &[f64]) {}
}

/// What happens at an event time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ActionKind {
    /// Record the state into output slot `i` (before any dose at the same time).
    Output(usize),
    /// A lab visit: the controller may change the pending doses.
    Lab(usize),
    /// Add `amount` to state `state` (bolus or depot input after lag).
    Jump { state: usize, amount: f64 },
    /// Change drug `drug`'s infusion rate by `delta` mg/h.
    Rate { drug: usize, delta: f64 },
}

/// An action at a time, from the dose (if any) administered at `given_at` of drug `drug`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Action {
    pub time: f64,
    pub kind: ActionKind,
    pub drug: usize,
    pub given_at: f64,
}

impl Action {
    /// Outputs and labs come before doses at the same time (pre-dose values).
    fn order(&self) -> u8 {
        match self.kind {
            ActionKind::Output(_) => 0,
            ActionKind::Lab(_) => 1,
            _ => 2,
        }
    }
}

/// Actions of one administration in a model (depot jump after lag, central jump, infusion edges).
pub fn dose_actions(model: &Model, e: &DoseEvent, out: &mut Vec<Action>) -> Result<()> {
    let (d, slot) = model.drug(&e.drug).ok_or_else(|| {
        ModelError::new(
            "regimen.drug",
            format!("drug {:?} is not in the model", e.drug),
        )
    })?;
    let mk = |time, kind| Action {
        time,
        kind,
        drug: d,
        given_at: e.time,
    };
    if e.route.to_depot() {
        let g = slot.depot.ok_or_else(|| {
            ModelError::new(
                "route",
                format!(
                    "{} is given {} but has no absorption (ka)",
                    e.drug,
                    e.route.name()
                ),
            )
        })?;
        let amount = e.amount * slot.pk.f;
        let t_in = e.time + slot.pk.tlag;
        out.push(mk(t_in, ActionKind::Jump { state: g, amount }));
    } else if e.duration > 0.0 {
        let r = e.amount / e.duration;
        out.push(mk(e.time, ActionKind::Rate { drug: d, delta: r }));
        out.push(mk(
            e.time + e.duration,
            ActionKind::Rate { drug: d, delta: -r },
        ));
    } else {
        debug_assert!(e.route == Route::Iv);
        out.push(mk(
            e.time,
            ActionKind::Jump {
                state: slot.central,
                amount: e.amount,
            },
        ));
    }
    Ok(())
}

/// Called at each lab visit with the time, the state and the pending actions (sorted by time);
/// it may add or remove pending actions.
pub trait LabController {
    fn lab(
        &mut self,
        model: &Model,
        index: usize,
        t: f64,
        y: &[f64],
        pending: &mut Vec<Action>,
    ) -> Result<()>;
}

/// A controller that changes nothing.
pub struct NoController;
impl LabController for NoController {
    fn lab(&mut self, _: &Model, _: usize, _: f64, _: &[f64], _: &mut Vec<Action>) -> Result<()> {
        Ok(())
    }
}

struct Segment<'a> {
    model: &'a Model,
    rate: &'a [f64],
    /// Segment start: the depots in the state hold their content at this time.
    t0: f64,
    obs: &'a mut dyn StepObserver,
}

impl<const N: usize> System<f64, SVector<f64, N>> for Segment<'_> {
    #[inline]
    fn system(&self, t: f64, y: &SVector<f64, N>, dy: &mut SVector<f64, N>) {
        self.model
            .rhs(t, y.as_slice(), dy.as_mut_slice(), self.rate, self.t0);
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

/// Integrates `model` from 0 to `t_end` through `actions`, writing each output's state into
/// `outputs[i]` (length `model.n` each). Returns the counters and the state at `t_end`.
pub fn run(
    model: &Model,
    actions: Vec<Action>,
    t_end: f64,
    opts: &SolverOptions,
    obs: &mut dyn StepObserver,
    ctl: &mut dyn LabController,
    outputs: &mut [Vec<f64>],
) -> Result<(SolverStats, Vec<f64>)> {
    macro_rules! sized {
        ($($n:literal),*) => {
            match model.n {
                $(k if k <= $n => run_n::<$n>(model, actions, t_end, opts, obs, ctl, outputs),)*
                k => Err(ModelError::new("regimen", format!("{k} ODE states exceed the supported 64"))),
            }
        };
    }
    sized!(4, 8, 12, 16, 20, 24, 32, 48, 64)
}

fn sort_pending(p: &mut [Action]) {
    // Descending, so that `pop` yields the earliest; ties by order (outputs, labs, doses).
    p.sort_by(|a, b| b.time.total_cmp(&a.time).then(b.order().cmp(&a.order())));
}

#[allow(clippy::too_many_arguments)]
fn run_n<const N: usize>(
    model: &Model,
    actions: Vec<Action>,
    t_end: f64,
    opts: &SolverOptions,
    obs: &mut dyn StepObserver,
    ctl: &mut dyn LabController,
    outputs: &mut [Vec<f64>],
) -> Result<(SolverStats, Vec<f64>)> {
    opts.validate()?;
    let n = model.n;
    let mut y = [0.0; N];
    model.initial_state(&mut y);
    let mut rate = vec![0.0; model.drugs.len()];
    let mut stats = SolverStats::default();
    let mut pending = actions;
    sort_pending(&mut pending);
    let mut t = 0.0;
    let mut step = StepState::default();
    let mut dy = [0.0; N];
    loop {
        let next = pending.last().map_or(t_end, |a| a.time.min(t_end));
        if next > t && next - t <= TINY * t.abs().max(1.0) {
            // A segment of a few ulps (e.g. an output time one rounding step after a dose): one
            // Euler step is exact to rounding, where Dopri5 would report a step-size underflow.
            model.rhs(t, &y, &mut dy, &rate, t);
            stats.rhs_evals += 1;
            for i in 0..n {
                y[i] += dy[i] * (next - t);
            }
            model.advance_depots(&mut y, next - t);
            t = next;
        } else if next > t {
            model.rhs(t, &y, &mut dy, &rate, t);
            stats.rhs_evals += 1;
            obs.step(t, &y[..n], &dy[..n]);
            let c = match opts.integrator {
                Integrator::Lean => {
                    let tol = Tolerances {
                        rtol: opts.rtol,
                        atol: opts.atol,
                        max_steps: opts.max_steps,
                    };
                    let t0 = t;
                    let r = &rate;
                    dopri5::integrate(
                        n,
                        |ts, ys: &[f64; N], dys: &mut [f64; N]| model.rhs(ts, ys, dys, r, t0),
                        t,
                        next,
                        &mut y,
                        &mut dy,
                        &mut step,
                        &tol,
                        |ts, ys, dys| obs.step(ts, &ys[..n], &dys[..n]),
                    )?
                }
                Integrator::OdeSolvers => {
                    ode_solvers_segment(model, &rate, t, next, &mut y, &mut step.h, opts, obs)?
                }
            };
            stats.rhs_evals += c.rhs_evals;
            stats.accepted_steps += c.accepted;
            stats.rejected_steps += c.rejected;
            stats.segments += 1;
            if !y[..n].iter().all(|v| v.is_finite()) {
                return Err(ModelError::new(
                    "solver",
                    format!("non-finite state at t = {next} h"),
                ));
            }
            model.advance_depots(&mut y, next - t);
            t = next;
        }
        let Some(a) = pending.pop() else { break };
        if a.time > t_end {
            break;
        }
        match a.kind {
            ActionKind::Output(i) => outputs[i].copy_from_slice(&y[..n]),
            ActionKind::Lab(i) => {
                ctl.lab(model, i, t, &y[..n], &mut pending)?;
                sort_pending(&mut pending);
            }
            ActionKind::Jump { state, amount } => {
                y[state] += amount;
                step.reset();
            }
            ActionKind::Rate { drug, delta } => {
                rate[drug] += delta;
                if rate[drug].abs() < 1e-12 {
                    rate[drug] = 0.0;
                }
                step.reset();
            }
        }
    }
    Ok((stats, y[..n].to_vec()))
}

/// One segment with ode_solvers' `Dopri5`: a new solver from `t` to `next`, started with step
/// `h` (0: its own initial guess); on return `h` is the last full step.
#[allow(clippy::too_many_arguments)]
fn ode_solvers_segment<const N: usize>(
    model: &Model,
    rate: &[f64],
    t: f64,
    next: f64,
    y: &mut [f64; N],
    h: &mut f64,
    opts: &SolverOptions,
    obs: &mut dyn StepObserver,
) -> Result<StepCounts> {
    // ode_solvers' RMS error norm runs over all N entries: scaling both tolerances by
    // sqrt(n/N) makes it the norm over the n real states (padding entries stay 0).
    let scale = (model.n as f64 / N as f64).sqrt();
    let seg = Segment {
        model,
        rate,
        t0: t,
        obs,
    };
    let mut solver = Dopri5::from_param(
        seg,
        t,
        next,
        0.0,
        SVector::<f64, N>::from(*y),
        opts.rtol * scale,
        opts.atol * scale,
        0.9,
        0.04,
        0.2,
        10.0,
        next - t,
        *h,
        opts.max_steps,
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
