//! Exact segments between events: the linear drugs follow their modal solution from the segment
//! start, XPO1 engagement is integrated in integrating-factor (Lawson) form, and the integrated
//! states are filled in or moved to the segment end.

use super::events::ExactFill;
use super::model::Model;
use super::rhs::Forcing;
use crate::numerics::dopri5::NODES;
use crate::pk::modes::{ModalState, StepExps};
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
    /// XPO1 engagement integrated in integrating-factor form (see [`Model::begin_segment`]).
    pub lawson: bool,
}

impl Segment {
    /// A segment context for `model`, infusion rates 0.
    pub fn new(model: &Model, exact: bool) -> Self {
        Self {
            t0: 0.0,
            rate: vec![0.0; model.drugs.len()],
            exact,
            modal: vec![ModalState::default(); model.drugs.len()],
            lawson: false,
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
    /// `exp(phi)` and `exp(-phi)` at the nodes (see [`Segment::lawson`]).
    pub(super) ephi: [f64; NODES.len()],
    pub(super) emphi: [f64; NODES.len()],
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
            ephi: [1.0; NODES.len()],
            emphi: [1.0; NODES.len()],
            forcing: [Forcing::default(); NODES.len()],
            has_forcing: false,
        }
    }
}

/// Fraction of selinexor's time scale that bounds the first step after a restart
/// ([`Model::first_step_max`]).
const FIRST_STEP_FRACTION: f64 = 0.1;

/// Largest `phi` over a segment for which XPO1 engagement is integrated in integrating-factor
/// form (`exp(phi)` stays far from overflow); longer segments integrate X itself.
const MAX_PHI: f64 = 300.0;

impl Model {
    /// `phi = kon AUC + koff tau` from selinexor's AUC since the segment start (mg.h/L) and
    /// the time into the segment (h) (see [`Segment::lawson`]).
    #[inline]
    pub(super) fn phi_of(&self, auc: f64, tau: f64) -> f64 {
        self.pp.kon * auc + self.pp.koff * tau
    }

    /// `phi` and the selinexor concentration `tau` hours into a segment (0 and 0 without an
    /// exactly solved selinexor).
    pub(super) fn phi_conc(&self, seg: &Segment, tau: f64) -> (f64, f64) {
        match self
            .xpo1
            .and_then(|d| Some((d, self.drugs[d].modes.as_ref()?)))
        {
            Some((d, m)) => {
                let (auc, c) = m.auc_conc(&seg.modal[d], tau);
                (self.phi_of(auc, tau), c)
            }
            None => (0.0, 0.0),
        }
    }

    /// The concentrations of the exactly solved drugs with a platelet effect at the nodes
    /// `t + NODES[i] h` of a step, and the forcing there.
    #[inline(always)]
    pub fn node_concentrations(&self, seg: &Segment, t: f64, h: f64, out: &mut NodeConcentrations) {
        out.has_forcing = false;
        if !seg.exact {
            return;
        }
        let mut auc = [0.0; NODES.len()];
        for (d, s) in self.drugs.iter().enumerate() {
            // Only drugs with a platelet effect are read at the nodes.
            if let (Some(m), Some(_)) = (&s.modes, s.pk.effect) {
                let want_auc = seg.lawson && self.xpo1 == Some(d);
                m.conc_nodes(
                    &seg.modal[d],
                    seg.t0,
                    t,
                    h,
                    &mut out.c[d],
                    want_auc.then_some(&mut auc),
                    &mut out.carry[d],
                );
            }
        }
        if seg.lawson {
            let tau = t - seg.t0;
            for (i, c) in NODES.iter().enumerate() {
                let e = f64::exp(self.phi_of(auc[i], tau + c * h));
                out.ephi[i] = e;
                out.emphi[i] = 1.0 / e;
            }
        }
        if self.effects_exact && self.pd.is_some() {
            for i in 0..NODES.len() {
                let lawson = seg.lawson.then(|| (out.ephi[i], out.emphi[i]));
                out.forcing[i] = self.forcing(|d| out.c[d][i], lawson);
            }
            out.has_forcing = true;
        }
    }

    /// Starts a segment from `t0` to `t1` from the full state `y`: the modal coefficients of the
    /// exactly solved drugs.
    ///
    /// When selinexor is solved exactly, XPO1 engagement is integrated in integrating-factor
    /// (Lawson) form: with `phi(tau) = kon AUC(tau) + koff tau` (`AUC` of selinexor since the
    /// segment start, exact), `X' = kon C (1 - X) - koff X` becomes `V' = koff exp(phi)` for
    /// `V = (1 - X) exp(phi)`. V varies slowly (`koff` is small) where X follows each absorption
    /// peak, so X's fast transient no longer limits the step; `X = 1 - V exp(-phi)` is exact
    /// given V. The integrated state holds V inside the segment ([`Model::to_integrated`]), the
    /// full state X at its ends ([`Model::end_segment`]).
    pub fn begin_segment(&self, seg: &mut Segment, t0: f64, t1: f64, y: &[f64]) {
        seg.t0 = t0;
        seg.lawson = false;
        if !seg.exact {
            return;
        }
        for (d, s) in self.drugs.iter().enumerate() {
            if let Some(m) = &s.modes {
                m.start(&s.block_state(y), seg.rate[d], &mut seg.modal[d]);
            }
        }
        let exact_x = self.pd.is_some_and(|pd| pd.x.is_some())
            && self.xpo1.is_some_and(|d| self.drugs[d].modes.is_some());
        if exact_x {
            // phi grows with tau: its largest value is at the segment end.
            let phi_end = self.phi_conc(seg, t1 - t0).0;
            seg.lawson = phi_end.is_finite() && phi_end <= MAX_PHI;
        }
    }

    /// The integrated states `y` (`[0, m)`, copied from the full state at the segment start) in
    /// the segment's form: `V = 1 - X` when [`Segment::lawson`].
    pub fn to_integrated(&self, seg: &Segment, y: &mut [f64]) {
        if let (true, Some(ix)) = (seg.lawson, self.pd.and_then(|pd| pd.x)) {
            y[ix] = 1.0 - y[ix];
        }
    }

    /// The error weight of V at the end of the step whose node values are in `nodes` (V's value
    /// there `y_new[ix]`): X's weight `atol + rtol |X|` times `exp(phi)`, so that X is held to
    /// the tolerance it would have if it were integrated itself (V's own relative weight would
    /// ask for `rtol (1 - X)` in X, ~100 x tighter when X is near saturation). `None` when X is
    /// integrated as such.
    #[inline]
    pub fn x_error_weight(
        &self,
        seg: &Segment,
        nodes: &NodeConcentrations,
        y_new: &[f64],
        rtol: f64,
        atol: f64,
    ) -> Option<(usize, f64)> {
        let ix = self.pd.and_then(|pd| pd.x).filter(|_| seg.lawson)?;
        let end = NODES.len() - 1;
        let x = x_of(y_new[ix], nodes.emphi[end]);
        Some((ix, (atol + rtol * x) * nodes.ephi[end]))
    }

    /// X and X' from V and V' (in `y`, `dy`) at `tau`, with the selinexor concentration `c` and
    /// `exp(-phi)` there.
    fn x_from_v(&self, ix: usize, y: &mut [f64], dy: &mut [f64], c: f64, emphi: f64) {
        let x = x_of(y[ix], emphi);
        y[ix] = x;
        dy[ix] = self.pp.kon * c.max(0.0) * (1.0 - x) - self.pp.koff * x;
    }

    /// A bound for the integrator's first step after a restart that starts from the full state
    /// `y` (`h_max` if none applies). The integrated states do not show a dose that is still
    /// being absorbed or distributed, and a transient faster than the first step's inner nodes
    /// fools the error estimate (only the first stage sees the state before it). So the step is
    /// bounded, for each exactly solved drug the platelet model reads, by the initial step
    /// Hairer's heuristic would take for the drug's block if it were integrated
    /// ([`LinearModes::initial_step`]): its concentration can switch an Emax effect with a small
    /// EC50 within seconds (bortezomib's release block). Selinexor under [`Segment::lawson`]
    /// with the TPO model acts only through X, whose integrated form is smooth and which
    /// follows the exact AUC: its bound is a tenth of the time scale of its modes and of X's
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
                seg.lawson && self.xpo1 == Some(d) && self.platelet_model == PlateletModel::Tpo;
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
    /// `t`, from `start`, the full state at the segment start, and turns the integrated states
    /// `[0, m)` (as integrated) into model states (V into X, see [`Model::begin_segment`]).
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
        if let (true, Some(ix), Some(d)) = (seg.lawson, self.pd.and_then(|pd| pd.x), self.xpo1) {
            let (c, emphi) = match step_end {
                Some(n) => (n.c[d][NODES.len() - 1], n.emphi[NODES.len() - 1]),
                None => {
                    let (phi, c) = self.phi_conc(seg, tau);
                    (c, f64::exp(-phi))
                }
            };
            self.x_from_v(ix, y, dy, c, emphi);
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

    /// Ends a segment at `t`: depots of integrated drugs advanced by exact first-order
    /// absorption, exactly solved drugs (block states and AUC) moved to `t`, and X recovered
    /// from V (when [`Segment::lawson`]; `y` holds the integrated states as integrated).
    pub fn end_segment(&self, y: &mut [f64], t: f64, seg: &Segment) {
        let tau = t - seg.t0;
        for (d, s) in self.drugs.iter().enumerate() {
            match (&s.modes, seg.exact) {
                (Some(m), true) => {
                    let (auc, _) = s.block_at(m, &seg.modal[d], tau, y, None);
                    y[s.auc] += auc;
                    let ix = self.pd.and_then(|pd| pd.x);
                    if let (true, Some(ix)) = (seg.lawson && self.xpo1 == Some(d), ix) {
                        // V (as integrated) back to X.
                        y[ix] = x_of(y[ix], f64::exp(-self.phi_of(auc, tau)));
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

/// X from the integrating-factor state `v = (1 - X) exp(phi)` and `emphi = exp(-phi)`, clamped at
/// 0 (the rounding of `1 - (1 - X)` can leave -1e-16).
#[inline]
fn x_of(v: f64, emphi: f64) -> f64 {
    (1.0 - v * emphi).max(0.0)
}
