//! Exact segments between events: the linear drugs follow their modal solution from the segment
//! start, XPO1 engagement is solved on its own (a scalar linear ODE given selinexor's exact
//! concentration) and enters the platelet model as a forcing, and the integrated states are
//! filled in or moved to the segment end.

use super::events::ExactFill;
use super::model::Model;
use super::rhs::Forcing;
use crate::error::Result;
use crate::numerics::dopri5::NODES;
use crate::numerics::radau::Track;
use crate::pk::modes::{LinearModes, ModalState, StepExps};
use crate::spec::platelet_model::PlateletModel;
/// What the right-hand side needs besides the state, for one segment between events.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Segment start (h): the depots and the exactly solved drugs hold their state at this time.
    pub t0: f64,
    /// Zero-order infusion rate of each drug (mg/h), constant over the segment.
    pub rate: Vec<f64>,
    /// Linear drugs solved exactly (their states are not integrated: only the first
    /// [`Model::m`] are), or every state integrated.
    pub exact: bool,
    /// The modal coefficients of each drug with [`DrugSlot::modes`] (when `exact`).
    pub(super) modal: Vec<ModalState>,
    /// XPO1 engagement solved on its own, in `track` (see [`Model::begin_segment`]).
    pub x_track: bool,
    /// `1 - X` over the segment (when `x_track`).
    pub(super) track: Track,
}

impl Segment {
    /// A segment context for `model`, infusion rates 0.
    pub fn new(model: &Model, exact: bool) -> Self {
        Self {
            t0: 0.0,
            rate: vec![0.0; model.drugs.len()],
            exact,
            modal: vec![ModalState::default(); model.drugs.len()],
            x_track: false,
            track: Track::default(),
        }
    }
}

/// Concentrations (mg/L) of the exactly solved drugs at the nodes of one integration step (see
/// [`NODES`]), indexed by drug.
#[derive(Debug, Clone)]
pub struct NodeConcentrations {
    pub(super) c: Vec<[f64; NODES.len()]>,
    /// The modal exponentials at the previous step's ends, by drug.
    pub(super) carry: Vec<StepExps>,
    /// X at the nodes (when [`Segment::x_track`]).
    pub(super) x: [f64; NODES.len()],
    /// The platelet model's forcing at the nodes, valid when `has_forcing` (every drug with an
    /// effect is solved exactly, [`Model::effects_exact`]).
    pub(super) forcing: [Forcing; NODES.len()],
    pub(super) has_forcing: bool,
}

impl NodeConcentrations {
    pub fn new(model: &Model) -> Self {
        Self {
            c: vec![[0.0; NODES.len()]; model.drugs.len()],
            carry: vec![StepExps::default(); model.drugs.len()],
            x: [0.0; NODES.len()],
            forcing: [Forcing::default(); NODES.len()],
            has_forcing: false,
        }
    }
}

/// Fraction of selinexor's time scale that bounds the first step after a restart
/// ([`Model::first_step_max`]).
const FIRST_STEP_FRACTION: f64 = 0.1;

/// The error allowed per step of X's own solution, as a fraction of the tolerance the platelet
/// model's integrator holds X to (`atol + rtol |X|`): X's error then adds little to theirs.
const X_TOL_FRACTION: f64 = 0.1;

impl Model {
    /// `kon C + koff` (1/h), the rate of X's relaxation, `tau` hours into the segment (selinexor
    /// solved exactly).
    #[inline]
    fn x_rate(&self, seg: &Segment, m: &LinearModes, d: usize, tau: f64) -> f64 {
        self.pp.kon * m.conc(&seg.modal[d], tau).max(0.0) + self.pp.koff
    }

    /// X `tau` hours into a segment with [`Segment::x_track`].
    #[inline]
    pub(super) fn x_at(&self, seg: &Segment, tau: f64) -> f64 {
        match self
            .xpo1
            .and_then(|d| Some((d, self.drugs[d].modes.as_ref()?)))
        {
            Some((d, m)) => x_of(seg.track.at(tau, |s| self.x_rate(seg, m, d, s))),
            None => 0.0,
        }
    }

    /// The concentrations of the exactly solved drugs with a platelet effect at the nodes
    /// `t + NODES[i] h` of a step, X there (when [`Segment::x_track`]), and the forcing.
    #[inline(always)]
    pub fn node_concentrations(&self, seg: &Segment, t: f64, h: f64, out: &mut NodeConcentrations) {
        out.has_forcing = false;
        if !seg.exact {
            return;
        }
        for (d, s) in self.drugs.iter().enumerate() {
            // Only drugs with a platelet effect are read at the nodes.
            if let (Some(m), Some(_)) = (&s.modes, s.pk.effect) {
                m.conc_nodes(
                    &seg.modal[d],
                    seg.t0,
                    t,
                    h,
                    &mut out.c[d],
                    &mut out.carry[d],
                );
            }
        }
        if seg.x_track {
            let tau = t - seg.t0;
            for (x, c) in out.x.iter_mut().zip(NODES) {
                *x = self.x_at(seg, tau + c * h);
            }
        }
        if self.effects_exact && self.pd.is_some() {
            for i in 0..NODES.len() {
                let x = seg.x_track.then_some(out.x[i]);
                out.forcing[i] = self.forcing(|d| out.c[d][i], x);
            }
            out.has_forcing = true;
        }
    }

    /// Starts a segment from `t0` to `t1` from the full state `y`: the modal coefficients of the
    /// exactly solved drugs, and X's own solution.
    ///
    /// When selinexor is solved exactly, X depends on nothing but its concentration:
    /// `W = 1 - X` obeys the scalar linear equation `W' = koff - (kon C(t) + koff) W`. Its rate
    /// `kon C` reaches ~100/h after a dose at the calibrated `kon`, a stiffness that would set the
    /// step of every state if X were integrated with them. So X is solved first, over the whole
    /// segment, by the L-stable Radau IIA method ([`crate::numerics::radau`], each step's error
    /// held to [`X_TOL_FRACTION`] of X's tolerance `atol + rtol |X|`), and enters the platelet
    /// model as a forcing like the concentrations: the integrated X state holds X at the segment
    /// start (its derivative is reported as 0) and is set from the solution at the segment end
    /// ([`Model::end_segment`]). If no step size meets the tolerance within `max_steps`, X is
    /// integrated with the other states.
    pub fn begin_segment(
        &self,
        seg: &mut Segment,
        t0: f64,
        t1: f64,
        y: &[f64],
        (rtol, atol, max_steps): (f64, f64, u32),
    ) {
        seg.t0 = t0;
        seg.x_track = false;
        if !seg.exact {
            return;
        }
        for (d, s) in self.drugs.iter().enumerate() {
            if let Some(m) = &s.modes {
                m.start(&s.block_state(y), seg.rate[d], &mut seg.modal[d]);
            }
        }
        let (Some(ix), Some(d)) = (self.pd.and_then(|pd| pd.x), self.xpo1) else {
            return;
        };
        let Some(m) = &self.drugs[d].modes else {
            return;
        };
        seg.x_track = self
            .solve_x(seg, m, d, 1.0 - y[ix], t1 - t0, (rtol, atol, max_steps))
            .is_ok();
    }

    /// Solves `W = 1 - X` over `[0, span]` from `w0` into `seg.track`.
    fn solve_x(
        &self,
        seg: &mut Segment,
        m: &LinearModes,
        d: usize,
        w0: f64,
        span: f64,
        (rtol, atol, max_steps): (f64, f64, u32),
    ) -> Result<()> {
        let mut track = std::mem::take(&mut seg.track);
        let rate = |s| self.x_rate(seg, m, d, s);
        // A tenth of the time scale of the drug's modes and of X's relaxation at the start.
        let h0 = FIRST_STEP_FRACTION * m.time_scale(&seg.modal[d]).min(1.0 / rate(0.0));
        let tol = |w: f64| X_TOL_FRACTION * (atol + rtol * (1.0 - w).abs());
        let r = track.solve((self.pp.koff, rate), w0, span, tol, (h0, max_steps));
        seg.track = track;
        r
    }

    /// A bound for the integrator's first step after a restart that starts from the full state
    /// `y` (`h_max` if none applies). The integrated states do not show a dose that is still
    /// being absorbed or distributed, and a transient faster than the first step's inner nodes
    /// fools the error estimate (only the first stage sees the state before it). So the step is
    /// bounded, for each exactly solved drug the platelet model reads, by the initial step
    /// Hairer's heuristic would take for the drug's block if it were integrated
    /// ([`LinearModes::initial_step`]): its concentration can switch an Emax effect with a small
    /// EC50 within seconds (bortezomib's release block). Selinexor under [`Segment::x_track`]
    /// with the TPO model acts only through X, solved on its own: its bound is a tenth of the time scale of its modes and of X's
    /// rise (`0.1 / max(r_j, kon C)`; a first step of the whole time scale, 0.8 h, was accepted
    /// with an error estimate that missed half the platelets' error). Drugs without a platelet
    /// effect bound nothing.
    pub fn first_step_max(
        &self,
        seg: &Segment,
        y: &[f64],
        rtol: f64,
        atol: f64,
        h_max: f64,
    ) -> f64 {
        if !seg.exact || self.pd.is_none() {
            return h_max;
        }
        let mut h = h_max;
        for (d, s) in self.drugs.iter().enumerate() {
            let Some(m) = &s.modes else { continue };
            if s.pk.effect.is_none() {
                continue;
            }
            let smooth_x =
                seg.x_track && self.xpo1 == Some(d) && self.platelet_model == PlateletModel::Tpo;
            h = h.min(if smooth_x {
                let rise = self.pp.kon * m.conc(&seg.modal[d], 0.0).max(0.0);
                FIRST_STEP_FRACTION * m.time_scale(&seg.modal[d]).min(1.0 / rise)
            } else {
                m.initial_step(&seg.modal[d], &s.block_state(y), rtol, atol, h_max)
            });
        }
        h
    }

    /// Fills the exactly solved states of the full state `y` (and their derivatives in `dy`) at
    /// `t`, from `start`, the full state at the segment start, and X from its own solution (see
    /// [`Model::begin_segment`]).
    /// `step_end`: the node values of the step that ends at `t`, if any. Does nothing when the
    /// segment integrates every state.
    #[allow(clippy::too_many_arguments)]
    pub fn fill_exact(
        &self,
        t: f64,
        start: &[f64],
        y: &mut [f64],
        dy: &mut [f64],
        seg: &Segment,
        which: ExactFill,
        step_end: Option<&NodeConcentrations>,
    ) {
        if !seg.exact {
            return;
        }
        let tau = t - seg.t0;
        if let (true, Some(ix), Some(d)) = (seg.x_track, self.pd.and_then(|pd| pd.x), self.xpo1) {
            let (c, x) = match (step_end, &self.drugs[d].modes) {
                (Some(n), _) => (n.c[d][NODES.len() - 1], n.x[NODES.len() - 1]),
                (None, Some(m)) => (m.conc(&seg.modal[d], tau), self.x_at(seg, tau)),
                (None, None) => (0.0, y[ix]),
            };
            y[ix] = x;
            dy[ix] = self.pp.kon * c.max(0.0) * (1.0 - x) - self.pp.koff * x;
        }
        if which == ExactFill::None {
            return;
        }
        if let ExactFill::Central(d) = which {
            let s = &self.drugs[d];
            if let Some(m) = &s.modes {
                let carried = step_end.and_then(|n| n.carry[d].at_end(seg.t0, t));
                (y[s.central], dy[s.central]) = match carried {
                    Some(e) => m.central_from(&seg.modal[d], e),
                    None => m.central_at(&seg.modal[d], tau),
                };
            }
            return;
        }
        for (d, s) in self.drugs.iter().enumerate() {
            if which != ExactFill::All && which != ExactFill::One(d) {
                continue;
            }
            if let Some(m) = &s.modes {
                let (auc, c) = s.block_at(m, &seg.modal[d], tau, y, Some(&mut *dy));
                y[s.auc] = start[s.auc] + auc;
                dy[s.auc] = c;
            }
        }
    }

    /// The maximum of drug `d`'s central amount (mg) between `tau0` and `tau1` hours into an
    /// exact segment, where its slope is `slope0 > 0` at `tau0` and `slope1 < 0` at `tau1`:
    /// `(tau, amount)`, by bisection on the slope of its modal solution (to rounding, at most
    /// 60 halvings). `None` if the drug is not solved exactly or the slopes do not bracket a
    /// maximum.
    pub fn central_peak(
        &self,
        seg: &Segment,
        d: usize,
        (tau0, slope0): (f64, f64),
        (tau1, slope1): (f64, f64),
    ) -> Option<(f64, f64)> {
        let m = self.drugs[d].modes.as_ref().filter(|_| seg.exact)?;
        if !(slope0 > 0.0 && slope1 < 0.0) {
            return None;
        }
        let (mut a, mut b) = (tau0, tau1);
        for _ in 0..60 {
            let c = 0.5 * (a + b);
            if c <= a || c >= b {
                break;
            }
            if m.central_at(&seg.modal[d], c).1 > 0.0 {
                a = c;
            } else {
                b = c;
            }
        }
        let tau = 0.5 * (a + b);
        Some((tau, m.central_at(&seg.modal[d], tau).0))
    }

    /// Ends a segment at `t`: depots of integrated drugs advanced by exact first-order
    /// absorption, exactly solved drugs (block states and AUC) moved to `t`, and X from its own
    /// solution (when [`Segment::x_track`]).
    pub fn end_segment(&self, y: &mut [f64], t: f64, seg: &Segment) {
        let tau = t - seg.t0;
        for (d, s) in self.drugs.iter().enumerate() {
            match (&s.modes, seg.exact) {
                (Some(m), true) => {
                    let (auc, _) = s.block_at(m, &seg.modal[d], tau, y, None);
                    y[s.auc] += auc;
                    let ix = self.pd.and_then(|pd| pd.x);
                    if let (true, Some(ix)) = (seg.x_track && self.xpo1 == Some(d), ix) {
                        y[ix] = x_of(seg.track.end());
                    }
                }
                _ => {
                    if let Some(g) = s.depot {
                        y[g] *= f64::exp(-s.pk.ka * tau);
                    }
                }
            }
        }
    }
}

/// X from `W = 1 - X`, clamped at 0 (the rounding of `1 - (1 - X)` can leave -1e-16).
#[inline]
fn x_of(w: f64) -> f64 {
    (1.0 - w).max(0.0)
}
