//! The right-hand side of one patient's system: the drugs' compartments and the platelet model
//! under the drugs' forcing (release block, progenitor kill, TPO-signal inhibition, XPO1
//! engagement).

use super::model::{Model, PdLayout};
use super::segment::NodeConcentrations;
use super::segment::Segment;
use crate::params::EffectKind;
use crate::pk::modes::LinearModes;
use crate::spec::platelet_model::PlateletModel;

/// The platelet count (10^9/L) at which a TPO-receptor agonist's `Vmax` is given: its
/// receptor-mediated elimination scales with the count over this (docs/supportive_care.md).
pub const AGONIST_VMAX_COUNT: f64 = 50.0;

/// What the drugs do to the platelet model at one time: everything its right-hand side needs
/// besides the state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Forcing {
    /// Release factor: the product of `1 - Emax C / (EC50 + C)` over the release drugs.
    pub(super) release: f64,
    /// Kill rate of proliferating cells (1/h).
    pub(super) kkill: f64,
    /// TPO signal kept by the drugs other than selinexor (and the fixed inhibition).
    pub(super) keep_other: f64,
    /// Selinexor concentration (mg/L).
    pub(super) c_sel: f64,
    /// Stimulation by TPO-receptor agonists without receptor-mediated clearance, in multiples of
    /// the baseline TPO production.
    pub(super) agonist: f64,
    /// Signal of TPO-receptor agonists with receptor-mediated clearance, in multiples of the
    /// baseline TPO signal.
    pub(super) agonist_signal: f64,
    /// XPO1 engagement from its own solution (see [`Segment::x_track`]).
    pub(super) x: f64,
}

impl Model {
    /// Right-hand side over one segment.
    ///
    /// Depots are exact: `y[depot]` holds the depot's content at `seg.t0` (where nothing enters
    /// a depot), so its content at `t` is `y[depot] exp(-ka (t - t0))` and its derivative is
    /// reported as 0; [`Model::end_segment`] moves the depots to the segment end. With
    /// `seg.exact`, `y` and `dy` need only hold the first [`Model::m`] states: the linear drugs'
    /// concentrations come from their modal solution.
    #[inline]
    pub fn rhs(&self, t: f64, y: &[f64], dy: &mut [f64], seg: &Segment) {
        self.drugs_rhs(t, y, dy, seg);
        if let Some(pd) = &self.pd {
            let f = self.forcing(
                |d| self.state_or_exact_conc(d, y, seg, |m| m.conc(&seg.modal[d], t - seg.t0)),
                seg.x_track.then(|| self.x_at(seg, t - seg.t0)),
            );
            self.pd_rhs(pd, y, dy, &f, seg.x_track);
        }
        self.check_padding(dy, seg);
    }

    /// Concentration of drug `d`: from its modal solution (by `exact`) in an exact segment, else
    /// from the state.
    #[inline(always)]
    pub(super) fn state_or_exact_conc(
        &self,
        d: usize,
        y: &[f64],
        seg: &Segment,
        exact: impl Fn(&LinearModes) -> f64,
    ) -> f64 {
        let s = &self.drugs[d];
        match (&s.modes, seg.exact) {
            (Some(m), true) => exact(m),
            _ => s.conc(y),
        }
    }

    /// The platelet model's forcing from the drugs' concentrations `conc(d)` and, when X is solved
    /// on its own, X.
    #[inline(always)]
    pub(super) fn forcing(&self, conc: impl Fn(usize) -> f64, x: Option<f64>) -> Forcing {
        let (mut release, mut kkill, mut agonist, mut agonist_signal) = (1.0, 0.0, 0.0, 0.0);
        let mut keep_other = 1.0 - self.fixed_inhibition;
        for &(d, kind) in &self.effects {
            let s = &self.drugs[d];
            let c = conc(d).max(0.0);
            match kind {
                EffectKind::Release => release *= 1.0 - s.pk.e1 * c / (s.pk.e2 + c),
                EffectKind::Kill => kkill += s.pk.e1 * c,
                EffectKind::Signal => keep_other *= 1.0 - s.pk.e1 * c / (s.pk.e2 + c),
                // An agonist whose PK carries its receptor-mediated clearance (Michaelis-Menten,
                // scaled by the count) has its platelet sink there: its signal adds to TPO's.
                // Without it, the stimulation adds to TPO's production, which platelets clear.
                EffectKind::Agonist if s.pk.mm => agonist_signal += s.pk.e1 * c / (s.pk.e2 + c),
                EffectKind::Agonist => agonist += s.pk.e1 * c / (s.pk.e2 + c),
                EffectKind::Xpo1 => {}
            }
        }
        let c_sel = self.xpo1.map_or(0.0, |d| conc(d).max(0.0));
        Forcing {
            release,
            kkill,
            keep_other,
            c_sel,
            agonist,
            agonist_signal,
            x: x.unwrap_or(0.0),
        }
    }

    /// [`Model::rhs`] at stage `node` of the step whose node concentrations are in `nodes`
    /// (from [`Model::node_concentrations`]).
    #[inline(always)]
    pub fn rhs_at_node(
        &self,
        t: f64,
        y: &[f64],
        dy: &mut [f64],
        seg: &Segment,
        nodes: &NodeConcentrations,
        node: usize,
    ) {
        self.drugs_rhs(t, y, dy, seg);
        if let Some(pd) = &self.pd {
            if nodes.has_forcing {
                self.pd_rhs(pd, y, dy, &nodes.forcing[node], seg.x_track);
            } else {
                let f = self.forcing(
                    |d| self.state_or_exact_conc(d, y, seg, |_| nodes.c[d][node]),
                    seg.x_track.then_some(nodes.x[node]),
                );
                self.pd_rhs(pd, y, dy, &f, seg.x_track);
            }
        }
        self.check_padding(dy, seg);
    }

    /// The derivatives of the integrated drugs' states (all drugs, or in an exact segment the
    /// drugs without a modal solution).
    #[inline(always)]
    pub(super) fn drugs_rhs(&self, t: f64, y: &[f64], dy: &mut [f64], seg: &Segment) {
        if seg.exact && !self.any_integrated_drug {
            return;
        }
        for (d, s) in self.drugs.iter().enumerate() {
            if seg.exact && s.modes.is_some() {
                continue;
            }
            let ac = y[s.central];
            let mut dc = seg.rate[d] - s.k10 * ac;
            if let Some(g) = s.depot {
                dc += s.pk.ka * y[g] * f64::exp(-s.pk.ka * (t - seg.t0));
                dy[g] = 0.0;
            }
            if let Some(p) = s.periph1 {
                let flow = s.k12 * ac - s.k21 * y[p];
                dy[p] = flow;
                dc -= flow;
            }
            if let Some(p) = s.periph2 {
                let flow = s.k13 * ac - s.k31 * y[p];
                dy[p] = flow;
                dc -= flow;
            }
            let c = ac * s.inv_vc;
            if s.pk.mm {
                let mut vmax = if s.pk.kdes > 0.0 {
                    s.pk.vmax * f64::exp(-s.pk.kdes * t)
                } else {
                    s.pk.vmax
                };
                if s.pk.effect == Some(EffectKind::Agonist) {
                    // Receptor-mediated clearance of a TPO-receptor agonist: the receptor pool
                    // follows the measured count (Vmax is given at AGONIST_VMAX_COUNT).
                    if let Some(pd) = &self.pd {
                        vmax *= self.count(pd, y) / AGONIST_VMAX_COUNT;
                    }
                }
                dc -= vmax * c / (s.pk.km + c.max(0.0));
            }
            dy[s.central] = dc;
            dy[s.auc] = c;
        }
    }

    /// Entries past the integrated states are never written: every state and derivative buffer
    /// starts at zero (a `fill` here cost a memset call per evaluation).
    #[inline(always)]
    pub(super) fn check_padding(&self, dy: &[f64], seg: &Segment) {
        debug_assert!(dy[if seg.exact { self.m } else { self.n }..]
            .iter()
            .all(|&v| v == 0.0));
    }

    /// The platelet model's derivatives under forcing `f` (X from `f` when `x_track`: the X
    /// state then stays at its segment-start value).
    #[inline(always)]
    pub(super) fn pd_rhs(
        &self,
        pd: &PdLayout,
        y: &[f64],
        dy: &mut [f64],
        f: &Forcing,
        x_track: bool,
    ) {
        let r = &self.rates;
        let (release, kkill, keep_other, c_sel) = (f.release, f.kkill, f.keep_other, f.c_sel);
        let mut x = 0.0;
        if let Some(ix) = pd.x {
            if x_track {
                x = f.x;
                dy[ix] = 0.0;
            } else {
                x = y[ix];
                dy[ix] = self.pp.kon * c_sel * (1.0 - x) - self.pp.koff * x;
            }
            if let Some(ie) = pd.e {
                // Effect compartment: the TPO signal sees E, which follows X with rate ke0.
                let e = y[ie];
                dy[ie] = self.pp.ke0 * (x - e);
                x = e;
            }
        }
        // The progenitors' growth factor, `signal^gamma` from the model's tables (`Model::power`).
        // `renewal` (TPO model) splits the progenitors' growth between self-renewal,
        // ktr Prol (G - 1), and a supply from upstream cells, ktr (Prol0 G - Prol).
        // `yield_` scales the platelets made per megakaryocyte leaving the last transit.
        let (growth, ktr, kout, renewal, yield_) = match pd.tpo {
            Some(it) => {
                let tpo = y[it];
                let keep_sel = (1.0 - self.pp.imax * x).max(0.0);
                let d = self.pp.downstream;
                let growth = if d == 0.0 {
                    self.power
                        .pow(((tpo + f.agonist_signal) * keep_sel * keep_other).max(0.0))
                } else {
                    let up = keep_sel.powf(1.0 - d);
                    self.power
                        .pow(((tpo + f.agonist_signal) * up * keep_other).max(0.0))
                        * keep_sel.powf(d)
                };
                // Mature megakaryocytes respond to TPO by their ploidy and so their platelet
                // yield; selinexor's block is in early megakaryopoiesis and leaves this alone.
                let yield_ = if self.pp.gamma_yield == 0.0 {
                    1.0
                } else {
                    (tpo + f.agonist_signal).max(0.0).powf(self.pp.gamma_yield)
                };
                (growth, r.ktr, r.kcirc, self.pp.renewal, yield_)
            }
            None => {
                // Friberg: ktr from friberg.MTT, circulation at ktr, feedback (P0/Circ)^gamma.
                let ktr = 4.0 / self.pp.f_mtt;
                let edrug = match self.platelet_model {
                    PlateletModel::FribergEmax => self.pp.f_emax * c_sel / (self.pp.f_ec50 + c_sel),
                    _ => self.pp.f_slope * c_sel,
                };
                let plt = y[pd.plt];
                let feedback = self.power.pow(self.pp.p0 / plt.max(1e-12));
                // A TPO-receptor agonist multiplies the drive (1 + A) (ASSUMPTION: Friberg's
                // feedback has no TPO to add to; docs/supportive_care.md).
                (
                    (1.0 - edrug) * keep_other * feedback * (1.0 + f.agonist + f.agonist_signal),
                    ktr,
                    ktr,
                    1.0,
                    1.0,
                )
            }
        };
        // Prol, Tr1-3 and P are consecutive (Model::new): one bounds check for the five.
        let p = pd.prol;
        debug_assert!(pd.tr1 == p + 1 && pd.tr2 == p + 2 && pd.tr3 == p + 3 && pd.plt == p + 4);
        let (Some(&[prol, tr1, tr2, tr3, plt]), Some(d)) = (
            y.get(p..p + 5).and_then(|v| <&[f64; 5]>::try_from(v).ok()),
            dy.get_mut(p..p + 5)
                .and_then(|v| <&mut [f64; 5]>::try_from(v).ok()),
        ) else {
            return;
        };
        *d = [
            ktr * prol * (growth - 1.0) * renewal
                + ktr * (1.0 - renewal) * (r.prol0 * growth - prol)
                - kkill * prol,
            ktr * (prol - tr1),
            ktr * (tr1 - tr2),
            ktr * tr2 - ktr * release * tr3,
            ktr * release * tr3 * yield_ - kout * plt,
        ];
        // Transfused platelets: their own first-order survival; they bind and clear TPO like
        // the patient's own (docs/supportive_care.md).
        let bound = match pd.ptx {
            Some(ix) => {
                dy[ix] = -y[ix] / self.pp.tx_survival;
                plt + y[ix]
            }
            None => plt,
        };
        if let Some(it) = pd.tpo {
            let tpo = y[it];
            // TPO-receptor agonists add to the production of the TPO-equivalent signal.
            dy[it] = r.ksyn * (1.0 + f.agonist) - r.kel_t * tpo - r.kp * bound * tpo;
        }
    }
}
