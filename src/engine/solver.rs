//! Piecewise integration of a [`Model`] between events: a bolus is a jump in the state followed
//! by a restart; infusion edges, output times and lab visits are breakpoints too. Each segment is
//! integrated with Dormand-Prince 5(4): by default the engine's own implementation
//! ([`crate::numerics::dopri5`], stack arrays of a size `N` chosen once per run, no allocation per step or
//! segment, step size carried across breakpoints that do not change the state), or ode_solvers'
//! `Dopri5` with Sparse output ([`Integrator::OdeSolvers`], the reference it is tested against).
//!
//! Linear drugs are solved exactly within a segment by default ([`LinearPk::Exact`]): their
//! compartments follow the modal solution of [`crate::pk::modes`] from the segment start, their
//! concentrations enter the platelet model through the right-hand side, and only the coupled and
//! nonlinear states (platelet model, Michaelis-Menten drugs) are integrated. The error control
//! then follows the states that need it, and the drugs' fast distribution phases put no
//! stability limit on the step long after a dose (about 3x fewer right-hand-side evaluations
//! for 24 weeks of selinexor, see benchmarks/README.md). [`LinearPk::Ode`] integrates every
//! state, the reference that tests/solver_lean.rs checks the exact path against.
//!
//! On the ODE path, first-order depots are still solved exactly within a segment (see
//! [`Model::rhs`]): their content decays as `A(t0) exp(-ka (t - t0))`, which is what their ODE
//! gives, and feeds the central compartment through the right-hand side.

use super::events::{Action, ActionKind, ExactFill, LabController, StepObserver};
use super::model::Model;
use super::segment::{NodeConcentrations, Segment};
use crate::error::{ModelError, Result};
use crate::numerics::dopri5::{self, Rhs, StepCounts, StepState, Tolerances};

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
    /// integrator is tested and benchmarked against (cargo feature `reference`).
    #[cfg(feature = "reference")]
    OdeSolvers,
}

/// How the compartments of linear drugs are solved inside a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinearPk {
    /// Exactly, from their eigen-decomposition ([`crate::pk::modes`]); only the coupled and
    /// nonlinear states are integrated. A drug whose decomposition is ill-conditioned (`ka`
    /// within a relative 1e-6 or so of a disposition rate) is integrated instead.
    #[default]
    Exact,
    /// By the ODE integrator, like every other state.
    Ode,
}

/// Solver tolerances and limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverOptions {
    pub rtol: f64,
    pub atol: f64,
    /// Maximum steps per segment.
    pub max_steps: u32,
    pub integrator: Integrator,
    /// Linear drugs solved exactly or integrated. [`Integrator::OdeSolvers`] always integrates
    /// every state (it is the reference).
    pub linear_pk: LinearPk,
}

impl Default for SolverOptions {
    fn default() -> Self {
        Self {
            rtol: 1e-6,
            atol: 1e-9,
            max_steps: 2_000_000,
            integrator: Integrator::Lean,
            linear_pk: LinearPk::Exact,
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

/// One segment as a right-hand side of the lean integrator: the exactly solved drugs'
/// concentrations are computed for all the nodes of a step at once.
struct LeanRhs<'a> {
    model: &'a Model,
    seg: &'a Segment,
    nodes: &'a mut NodeConcentrations,
}

impl<const N: usize> Rhs<N> for LeanRhs<'_> {
    #[inline(always)]
    fn begin_step(&mut self, t: f64, h: f64) {
        self.model.node_concentrations(self.seg, t, h, self.nodes);
    }
    #[inline(always)]
    fn eval(&mut self, t: f64, node: Option<usize>, y: &[f64; N], dy: &mut [f64; N]) {
        match node {
            Some(i) if self.seg.exact => self.model.rhs_at_node(t, y, dy, self.seg, self.nodes, i),
            _ => self.model.rhs(t, y, dy, self.seg),
        }
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
    run_models(
        std::slice::from_ref(model),
        actions,
        t_end,
        opts,
        obs,
        ctl,
        outputs,
    )
}

/// [`run`] through several models of one state layout (e.g. the parameters of a patient
/// whose covariates change): `models[0]` from the start, `models[i]` from each
/// [`ActionKind::Model`] with index `i` on.
pub fn run_models(
    models: &[Model],
    actions: Vec<Action>,
    t_end: f64,
    opts: &SolverOptions,
    obs: &mut dyn StepObserver,
    ctl: &mut dyn LabController,
    outputs: &mut [Vec<f64>],
) -> Result<(SolverStats, Vec<f64>)> {
    let model = models
        .first()
        .ok_or_else(|| ModelError::new("solver", "no model to run"))?;
    for (i, m) in models.iter().enumerate().skip(1) {
        if !model.same_layout(m) {
            return Err(ModelError::new(
                "covariates",
                format!(
                    "the model of covariate set {i} has another state layout than the first \
                     (a drug solved exactly in one and integrated in the other)"
                ),
            ));
        }
    }
    for a in &actions {
        if let ActionKind::Model { index: i, .. } = a.kind {
            if i >= models.len() {
                return Err(ModelError::new(
                    "solver",
                    format!("model switch to {i} of {}", models.len()),
                ));
            }
        }
    }
    let exact = opts.linear_pk == LinearPk::Exact && opts.integrator == Integrator::Lean;
    let integrated = if exact { model.m } else { model.n };
    macro_rules! sized {
        ($($n:literal),*) => {
            match integrated {
                $(k if k <= $n => run_n::<$n>(models, exact, actions, t_end, opts, obs, ctl, outputs),)*
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
    models: &[Model],
    exact: bool,
    actions: Vec<Action>,
    t_end: f64,
    opts: &SolverOptions,
    obs: &mut dyn StepObserver,
    ctl: &mut dyn LabController,
    outputs: &mut [Vec<f64>],
) -> Result<(SolverStats, Vec<f64>)> {
    opts.validate()?;
    let mut model: &Model = &models[0];
    let n = model.n;
    // `ni` states are integrated (the prefix of the layout); `full` holds all n, current at
    // every segment boundary.
    let ni = if exact { model.m } else { n };
    let mut full = vec![0.0; n];
    model.initial_state(&mut full);
    let mut seg = Segment::new(model, exact);
    let mut nodes = NodeConcentrations::new(model);
    let mut stats = SolverStats::default();
    let mut pending = actions;
    sort_pending(&mut pending);
    let mut t = 0.0;
    let mut step = StepState::default();
    let (mut y, mut dy) = ([0.0; N], [0.0; N]);
    // The full state and derivative an active observer sees at each step.
    let watch = obs.active();
    let fill = obs.exact_drugs();
    let (mut obs_y, mut obs_dy) = (vec![0.0; n], vec![0.0; n]);
    loop {
        let next = pending.last().map_or(t_end, |a| a.time.min(t_end));
        if next > t {
            model.begin_segment(
                &mut seg,
                t,
                next,
                &full,
                (opts.rtol, opts.atol, opts.max_steps),
            );
            if step.h == 0.0 {
                // The integrated states do not show a dose still being absorbed or distributed:
                // the first step stays within the transients of the exactly solved drugs that the
                // platelet model reads (Model::first_step_max).
                step.first_max = model.first_step_max(&seg, &full, opts.rtol, opts.atol, next - t);
            }
            y[..ni].copy_from_slice(&full[..ni]);
            model.rhs(t, &y, &mut dy, &seg);
            stats.rhs_evals += 1;
            if next - t <= TINY * t.abs().max(1.0) {
                // A segment of a few ulps (e.g. an output time one rounding step after a dose):
                // one Euler step is exact to rounding, where Dopri5 would report a step-size
                // underflow.
                for i in 0..ni {
                    y[i] += dy[i] * (next - t);
                }
            } else {
                if watch {
                    obs_y.copy_from_slice(&full);
                    obs_y[..ni].copy_from_slice(&y[..ni]);
                    obs_dy[..ni].copy_from_slice(&dy[..ni]);
                    model.fill_exact(t, &full, &mut obs_y, &mut obs_dy, &seg, fill, None);
                    obs.step(t, &obs_y, &obs_dy);
                }
                let c = match opts.integrator {
                    Integrator::Lean if ni == 0 => StepCounts::default(),
                    Integrator::Lean => {
                        let tol = Tolerances {
                            rtol: opts.rtol,
                            atol: opts.atol,
                            max_steps: opts.max_steps,
                        };
                        let sg = &seg;
                        let start = &full;
                        // The probed drug's central slope at the last step end, to find its peaks.
                        let probe = match fill {
                            ExactFill::Central(d) => Some((d, model.drugs[d].central)),
                            _ => None,
                        };
                        let mut last = probe.map(|(_, ic)| (t, obs_dy[ic]));
                        let rhs = LeanRhs {
                            model,
                            seg: sg,
                            nodes: &mut nodes,
                        };
                        dopri5::integrate(
                            ni,
                            rhs,
                            t,
                            next,
                            &mut y,
                            &mut dy,
                            &mut step,
                            &tol,
                            |ts, ys, dys, r: &LeanRhs| {
                                if watch {
                                    obs_y[..ni].copy_from_slice(&ys[..ni]);
                                    obs_dy[..ni].copy_from_slice(&dys[..ni]);
                                    let end = Some(&*r.nodes);
                                    model.fill_exact(
                                        ts,
                                        start,
                                        &mut obs_y,
                                        &mut obs_dy,
                                        sg,
                                        fill,
                                        end,
                                    );
                                    if let (Some((d, ic)), Some((t_last, slope))) = (probe, last) {
                                        if sg.exact && model.drugs[d].modes.is_some() {
                                            let peak = model
                                                .central_peak(
                                                    sg,
                                                    d,
                                                    (t_last - sg.t0, slope),
                                                    (ts - sg.t0, obs_dy[ic]),
                                                )
                                                .map(|(tau, z)| (tau + sg.t0, z));
                                            obs.central_peak(peak);
                                        }
                                        last = Some((ts, obs_dy[ic]));
                                    }
                                    obs.step(ts, &obs_y, &obs_dy);
                                }
                            },
                        )?
                    }
                    #[cfg(feature = "reference")]
                    Integrator::OdeSolvers => super::reference::ode_solvers_segment(
                        model,
                        &seg,
                        next,
                        &mut y,
                        &mut step.h,
                        &Tolerances {
                            rtol: opts.rtol,
                            atol: opts.atol,
                            max_steps: opts.max_steps,
                        },
                        obs,
                    )?,
                };
                stats.rhs_evals += c.rhs_evals;
                stats.accepted_steps += c.accepted;
                stats.rejected_steps += c.rejected;
                stats.segments += 1;
            }
            if !y[..ni].iter().all(|v| v.is_finite()) {
                return Err(ModelError::new(
                    "solver",
                    format!("non-finite state at t = {next} h"),
                ));
            }
            full[..ni].copy_from_slice(&y[..ni]);
            model.end_segment(&mut full, next, &seg);
            t = next;
            if obs.interrupted() {
                return Err(ModelError::new(
                    "interrupted",
                    format!("stopped at t = {t} h"),
                ));
            }
        }
        let Some(a) = pending.pop() else { break };
        if a.time > t_end {
            break;
        }
        if a.kind.is_dose() {
            obs.dose(&a);
        }
        match a.kind {
            ActionKind::Output(i) => outputs[i].copy_from_slice(&full),
            ActionKind::Lab(i) => {
                ctl.lab(model, i, t, &full, &mut pending)?;
                sort_pending(&mut pending);
            }
            ActionKind::Jump { state, amount } => {
                full[state] += amount;
                step.reset();
            }
            ActionKind::Rate { drug, delta } => {
                seg.rate[drug] += delta;
                if seg.rate[drug].abs() < 1e-12 {
                    seg.rate[drug] = 0.0;
                }
                step.reset();
            }
            ActionKind::SteadyState { z, reset, rate } => {
                let d = a.drug;
                model.drugs[d].put_block(&z, reset, &mut full);
                if reset {
                    seg.rate[d] = rate;
                    pending.retain(|p| !(p.drug == d && p.given_at < t && p.kind.is_dose()));
                } else {
                    seg.rate[d] += rate;
                }
                step.reset();
            }
            ActionKind::Model { index, .. } => {
                model = &models[index];
                step.reset();
            }
            ActionKind::Reset => {
                model.initial_state(&mut full);
                seg.rate.fill(0.0);
                pending.retain(|p| !(p.given_at < t && p.kind.is_dose()));
                step.reset();
            }
        }
    }
    if !full.iter().all(|v| v.is_finite()) {
        return Err(ModelError::new(
            "solver",
            format!("non-finite state at t = {t} h"),
        ));
    }
    Ok((stats, full))
}
