//! One patient's coupled ODE system: every drug of the regimen (depot, central, peripherals,
//! cumulative AUC) plus the platelet states, with all rate constants precomputed.
//!
//! State layout: first the drugs without a modal solution (Michaelis-Menten elimination, or an
//! ill-conditioned eigen-decomposition), then the platelet states, then the linear drugs. The
//! first [`Model::m`] states are what the ODE integrates when linear PK is solved exactly inside
//! each segment ([`Segment::exact`](super::segment::Segment)); the rest follow from
//! [`LinearModes`]. The right-hand side is in `rhs.rs`, the exact segments in `segment.rs`.

use super::platelets::{rates, PlateletRates};
use crate::error::{non_negative, positive, ModelError, Result};
use crate::numerics::power::Power;
use crate::params::table::{self, EffectKind};
use crate::params::{Overrides, PkParams, PlateletParams};
use crate::pk::modes::{LinearModes, ModalState, MAX_BLOCK};
use crate::spec::platelet_model::PlateletModel;
/// Index layout and rate constants of one drug inside the state vector.
#[derive(Debug, Clone)]
pub struct DrugSlot {
    pub name: String,
    pub pk: PkParams,
    /// Depot index (extravascular input), if the drug has one.
    pub depot: Option<usize>,
    pub central: usize,
    pub periph1: Option<usize>,
    pub periph2: Option<usize>,
    /// Cumulative AUC of the concentration, mg.h/L.
    pub auc: usize,
    /// The modal solution of a linear drug (its states then sit after [`Model::m`]).
    pub modes: Option<LinearModes>,
    pub(super) k10: f64,
    pub(super) k12: f64,
    pub(super) k21: f64,
    pub(super) k13: f64,
    pub(super) k31: f64,
    pub(super) inv_vc: f64,
}

impl DrugSlot {
    /// Concentration (mg/L) in a state vector.
    #[inline]
    pub fn conc(&self, y: &[f64]) -> f64 {
        y[self.central] * self.inv_vc
    }

    /// The block's amounts in state vector `y`.
    pub(super) fn block_state(&self, y: &[f64]) -> [f64; MAX_BLOCK] {
        let (idx, k) = self.block();
        let mut z = [0.0; MAX_BLOCK];
        for i in 0..k {
            z[i] = y[idx[i]];
        }
        z
    }

    /// Writes the block's amounts `tau` hours into the segment (modal state `modal`) into `y`,
    /// and their derivatives into `dy` if given. Returns the AUC accrued since the segment start
    /// and the concentration at `tau`.
    pub(super) fn block_at(
        &self,
        m: &LinearModes,
        modal: &ModalState,
        tau: f64,
        y: &mut [f64],
        dy: Option<&mut [f64]>,
    ) -> (f64, f64) {
        let (idx, k) = self.block();
        let (mut z, mut dz) = ([0.0; MAX_BLOCK], [0.0; MAX_BLOCK]);
        let auc = m.at(modal, tau, &mut z, &mut dz);
        for i in 0..k {
            y[idx[i]] = z[i];
        }
        if let Some(dy) = dy {
            for i in 0..k {
                dy[idx[i]] = dz[i];
            }
        }
        (auc, z[m.central] * self.inv_vc)
    }

    /// Writes block amounts `z` ([`LinearModes`] order) into state vector `y`: replacing the
    /// block's amounts (`reset`) or added to them.
    pub(super) fn put_block(&self, z: &[f64; MAX_BLOCK], reset: bool, y: &mut [f64]) {
        let (idx, k) = self.block();
        for i in 0..k {
            y[idx[i]] = if reset { z[i] } else { y[idx[i]] + z[i] };
        }
    }

    /// The state indices of the block (depot, central, peripherals) in [`LinearModes`] order.
    pub(super) fn block(&self) -> ([usize; MAX_BLOCK], usize) {
        let mut idx = [0; MAX_BLOCK];
        let mut k = 0;
        for i in [self.depot, Some(self.central), self.periph1, self.periph2]
            .into_iter()
            .flatten()
        {
            idx[k] = i;
            k += 1;
        }
        (idx, k)
    }
}

/// Indices of the platelet states (all `usize::MAX` when absent).
#[derive(Debug, Clone, Copy)]
pub struct PdLayout {
    pub x: Option<usize>,
    /// Effect compartment E of X (when `platelets.ke0 > 0` and the model has X).
    pub e: Option<usize>,
    pub prol: usize,
    pub tr1: usize,
    pub tr2: usize,
    pub tr3: usize,
    pub plt: usize,
    /// TPO (TPO model only).
    pub tpo: Option<usize>,
    /// Transfused platelets (10^9/L), their own state with their own survival
    /// (`platelets.tx_survival`); present only in a model built for transfusions
    /// ([`Model::with_transfusion`]). The measured count is `plt + ptx` ([`Model::count`]).
    pub ptx: Option<usize>,
}

/// The compiled system of one patient.
#[derive(Debug, Clone)]
pub struct Model {
    pub drugs: Vec<DrugSlot>,
    pub n: usize,
    /// States integrated even when linear drugs are solved exactly: `[0, m)`.
    pub m: usize,
    pub platelet_model: PlateletModel,
    pub pd: Option<PdLayout>,
    /// The platelet parameters as built (read-only in effect: `rates` and the `x^gamma` tables
    /// derive from them; change them through [`Model::with_individual_values`]).
    pub pp: PlateletParams,
    pub rates: PlateletRates,
    /// A constant extra inhibition of the TPO signal (0..1), on top of the drugs: for steady-state
    /// and what-if studies (0 by default).
    pub fixed_inhibition: f64,
    /// A transfused unit's increment relative to `platelets.tx_increment` (given at the
    /// reference body surface area): reference BSA / the patient's BSA (NaN when the patient's
    /// size is missing; [`crate::engine::events::transfusion_action`] then refuses).
    pub tx_bsa_factor: f64,
    /// `x^gamma` of the platelet feedback (`platelets.gamma` for the TPO model,
    /// `friberg.gamma` for Friberg's), with its tables.
    pub(super) power: Power,
    /// Index into `drugs` of the XPO1-engaging drug (selinexor), if present.
    pub(super) xpo1: Option<usize>,
    /// The drugs acting on the platelet system other than through X, in drug order, with
    /// their effect ([`Model::forcing`](super::rhs)).
    pub(super) effects: Vec<(usize, EffectKind)>,
    /// Every drug with a platelet effect has a modal solution (its forcing can be computed per
    /// step, at the nodes, in exact segments).
    pub(super) effects_exact: bool,
    /// Some drug has no modal solution (it is integrated even in exact segments).
    pub(super) any_integrated_drug: bool,
}

impl Model {
    /// Builds the layout. `drugs` pairs each drug name with its resolved parameters.
    pub fn new(
        drugs: Vec<(String, PkParams)>,
        platelet_model: PlateletModel,
        pp: PlateletParams,
    ) -> Self {
        Self::build(drugs, platelet_model, pp, false)
    }

    /// This model with a state for transfused platelets (after the other platelet states), so
    /// that transfusions can be given; unchanged when it has one or has no platelet model.
    pub fn with_transfusion(&self) -> Model {
        if self.pd.is_none() || self.has_transfusion() {
            return self.clone();
        }
        let drugs = self.drugs.iter().map(|d| (d.name.clone(), d.pk)).collect();
        let mut m = Self::build(drugs, self.platelet_model, self.pp, true);
        m.fixed_inhibition = self.fixed_inhibition;
        m.tx_bsa_factor = self.tx_bsa_factor;
        m
    }

    /// Whether the model has the transfused-platelet state.
    pub fn has_transfusion(&self) -> bool {
        self.pd.is_some_and(|p| p.ptx.is_some())
    }

    /// The measured platelet count in state `y`: endogenous plus transfused platelets.
    #[inline]
    pub fn count(&self, pd: &PdLayout, y: &[f64]) -> f64 {
        match pd.ptx {
            Some(i) => y[pd.plt] + y[i],
            None => y[pd.plt],
        }
    }

    fn build(
        drugs: Vec<(String, PkParams)>,
        platelet_model: PlateletModel,
        pp: PlateletParams,
        transfusion: bool,
    ) -> Self {
        let mut n = 0;
        let mut take = |k: usize| {
            let i = n;
            n += k;
            i
        };
        let modes: Vec<Option<LinearModes>> =
            drugs.iter().map(|(_, pk)| LinearModes::new(pk)).collect();
        let mut slots: Vec<Option<DrugSlot>> = vec![None; drugs.len()];
        let mut place = |d: usize, take: &mut dyn FnMut(usize) -> usize| {
            let (name, pk) = &drugs[d];
            let depot = pk.has_depot().then(|| take(1));
            let central = take(1);
            let periph1 = (pk.compartments >= 2).then(|| take(1));
            let periph2 = (pk.compartments >= 3).then(|| take(1));
            let auc = take(1);
            let (k10, k12, k21, k13, k31) = pk.micro();
            slots[d] = Some(DrugSlot {
                name: name.clone(),
                pk: *pk,
                depot,
                central,
                periph1,
                periph2,
                auc,
                modes: modes[d],
                k10,
                k12,
                k21,
                k13,
                k31,
                inv_vc: 1.0 / pk.vc,
            });
        };
        // Drugs the ODE always integrates, then (below) the platelet states, then linear drugs.
        for d in (0..drugs.len()).filter(|&d| modes[d].is_none()) {
            place(d, &mut take);
        }
        let effect = |k: EffectKind| -> Vec<usize> {
            drugs
                .iter()
                .enumerate()
                .filter(|(_, (_, pk))| pk.effect == Some(k))
                .map(|(i, _)| i)
                .collect()
        };
        let xpo1 = effect(EffectKind::Xpo1).first().copied();
        let effects = drugs
            .iter()
            .enumerate()
            .filter_map(|(i, (_, pk))| pk.effect.map(|k| (i, k)))
            .filter(|&(_, k)| k != EffectKind::Xpo1)
            .collect();
        let pd = (platelet_model != PlateletModel::None).then(|| {
            let x = xpo1.map(|_| take(1));
            let e = x.and_then(|_| (pp.ke0 > 0.0).then(|| take(1)));
            let prol = take(1);
            let (tr1, tr2, tr3, plt) = (take(1), take(1), take(1), take(1));
            let tpo = (platelet_model == PlateletModel::Tpo).then(|| take(1));
            let ptx = transfusion.then(|| take(1));
            PdLayout {
                x,
                e,
                prol,
                tr1,
                tr2,
                tr3,
                plt,
                tpo,
                ptx,
            }
        });
        let m = take(0);
        for d in (0..drugs.len()).filter(|&d| modes[d].is_some()) {
            place(d, &mut take);
        }
        let slots: Vec<DrugSlot> = slots.into_iter().flatten().collect();
        let effects_exact = slots
            .iter()
            .all(|s| s.pk.effect.is_none() || s.modes.is_some());
        let any_integrated_drug = slots.iter().any(|s| s.modes.is_none());
        Self {
            drugs: slots,
            n,
            m,
            platelet_model,
            pd,
            pp,
            rates: rates(&pp),
            fixed_inhibition: 0.0,
            tx_bsa_factor: 1.0,
            power: Power::new(match platelet_model {
                PlateletModel::Tpo => pp.gamma,
                PlateletModel::None => 0.0,
                _ => pp.f_gamma,
            }),
            xpo1,
            effects,
            effects_exact,
            any_integrated_drug,
        }
    }

    /// Whether `other` has this model's state layout: the same drugs in the same states (each
    /// solved exactly in both or integrated in both) and the same platelet states.
    pub fn same_layout(&self, other: &Model) -> bool {
        let slot = |d: &DrugSlot| {
            (
                d.name.clone(),
                d.depot,
                d.central,
                d.periph1,
                d.periph2,
                d.auc,
                d.modes.is_some(),
            )
        };
        let pd = |m: &Model| {
            m.pd.map(|p| (p.x, p.e, p.prol, p.tr1, p.tr2, p.tr3, p.plt, p.tpo, p.ptx))
        };
        self.n == other.n
            && self.m == other.m
            && self.platelet_model == other.platelet_model
            && pd(self) == pd(other)
            && self.drugs.len() == other.drugs.len()
            && self
                .drugs
                .iter()
                .zip(&other.drugs)
                .all(|(a, b)| slot(a) == slot(b))
    }

    /// The drug slot of a name.
    pub fn drug(&self, name: &str) -> Option<(usize, &DrugSlot)> {
        self.drugs.iter().enumerate().find(|(_, d)| d.name == name)
    }

    /// A resolved parameter by namespace and public name (drug, `platelets` or `friberg`).
    pub fn param(&self, ns: &str, p: &str) -> Option<f64> {
        if let Some(fields) = table::platelet_namespace(ns) {
            return fields
                .iter()
                .find(|f| f.name == p)
                .map(|f| (f.get)(&self.pp));
        }
        let pk = &self.drug(ns)?.1.pk;
        table::pk_field(p).map(|f| (f.get)(pk))
    }

    /// This model with individual parameter values replacing the resolved ones (no covariate
    /// effect or random effect applied on top): e.g. POSTHOC estimates from a patient table.
    pub fn with_individual_values(&self, values: &Overrides) -> Result<Model> {
        let mut drugs: Vec<(String, PkParams)> =
            self.drugs.iter().map(|d| (d.name.clone(), d.pk)).collect();
        let mut pp = self.pp;
        for (ns, params) in values {
            for (p, &v) in params {
                let field = format!("{ns}.{p}");
                let slot: &mut f64 = if table::platelet_namespace(ns).is_some() {
                    let f = table::platelet_field(ns, p)
                        .ok_or_else(|| ModelError::new(&field, "unknown parameter"))?;
                    (f.slot)(&mut pp)
                } else {
                    let Some((_, pk)) = drugs.iter_mut().find(|(n, _)| n == ns) else {
                        continue; // a drug the trial does not simulate (no platelet effect)
                    };
                    let f = table::pk_field(p)
                        .ok_or_else(|| ModelError::new(&field, "unknown parameter"))?;
                    (f.slot)(pk)
                };
                *slot = non_negative(&field, v)?;
            }
        }
        for (name, pk) in &drugs {
            positive(&format!("{name}.Vc"), pk.vc)?;
        }
        pp.validate()?;
        let mut m = Model::build(drugs, self.platelet_model, pp, self.has_transfusion());
        m.fixed_inhibition = self.fixed_inhibition;
        Ok(m)
    }

    /// The model's first-order rate constants (1/h), fastest first, each named by the
    /// parameters it comes from: what bounds an explicit solver's step. `kon` counts at a
    /// selinexor concentration of 1 mg/L.
    pub fn rate_constants(&self) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = Vec::new();
        for s in &self.drugs {
            let (n, p) = (&s.name, &s.pk);
            if p.ka > 0.0 {
                v.push((format!("{n}.ka"), p.ka));
            }
            v.push((format!("{n}.CL/Vc"), s.k10));
            if p.compartments >= 2 {
                v.push((format!("{n}.Q/Vc"), s.k12));
                v.push((format!("{n}.Q/Vp"), s.k21));
            }
            if p.compartments >= 3 {
                v.push((format!("{n}.Q2/Vc"), s.k13));
                v.push((format!("{n}.Q2/Vp2"), s.k31));
            }
        }
        if self.pd.is_some() {
            let r = &self.rates;
            if self.platelet_model == PlateletModel::Tpo {
                v.push(("4/platelets.MTT".into(), r.ktr));
                v.push(("1/platelets.lifespan".into(), r.kcirc));
                v.push(("ln2/platelets.tpo_half".into(), r.ksyn));
            } else {
                v.push(("4/friberg.MTT".into(), 4.0 / self.pp.f_mtt));
            }
            if self.xpo1.is_some() {
                v.push(("platelets.kon x 1 mg/L".into(), self.pp.kon));
                v.push(("platelets.koff".into(), self.pp.koff));
                if self.pp.ke0 > 0.0 {
                    v.push(("platelets.ke0".into(), self.pp.ke0));
                }
            }
            if self.has_transfusion() {
                v.push(("1/platelets.tx_survival".into(), 1.0 / self.pp.tx_survival));
            }
        }
        v.retain(|(_, k)| k.is_finite());
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v
    }

    /// Initial state: no drug, platelet system at baseline.
    pub fn initial_state(&self, y: &mut [f64]) {
        y.fill(0.0);
        if let Some(pd) = self.pd {
            let base = if self.platelet_model.is_friberg() {
                self.pp.p0
            } else {
                self.rates.kcirc * self.pp.p0 / self.rates.ktr
            };
            for i in [pd.prol, pd.tr1, pd.tr2, pd.tr3] {
                y[i] = base;
            }
            y[pd.plt] = self.pp.p0;
            if let Some(t) = pd.tpo {
                y[t] = 1.0;
            }
        }
    }
}
