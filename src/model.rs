//! One patient's coupled ODE system: every drug of the regimen (depot, central, peripherals,
//! cumulative AUC) plus the platelet states, with all rate constants precomputed.
//!
//! State layout: first the drugs without a modal solution (Michaelis-Menten elimination, or an
//! ill-conditioned eigen-decomposition), then the platelet states, then the linear drugs. The
//! first [`Model::m`] states are what the ODE integrates when linear PK is solved exactly inside
//! each segment ([`Segment::exact`]); the rest follow from [`LinearModes`].

use crate::dopri5::NODES;
use crate::drug::{EffectKind, PkParams};
use crate::mathfn::{exp, Power};
use crate::pk::modes::{LinearModes, ModalState, StepExps, MAX_BLOCK};
use crate::platelets::{PlateletModel, PlateletParams, PlateletRates};
use crate::solver::ExactFill;

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
    k10: f64,
    k12: f64,
    k21: f64,
    k13: f64,
    k31: f64,
    inv_vc: f64,
}

impl DrugSlot {
    /// Concentration (mg/L) in a state vector.
    #[inline]
    pub fn conc(&self, y: &[f64]) -> f64 {
        y[self.central] * self.inv_vc
    }

    /// The block's amounts in state vector `y`.
    fn block_state(&self, y: &[f64]) -> [f64; MAX_BLOCK] {
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
    fn block_at(
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

    /// The state indices of the block (depot, central, peripherals) in [`LinearModes`] order.
    fn block(&self) -> ([usize; MAX_BLOCK], usize) {
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
    modal: Vec<ModalState>,
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

/// What the drugs do to the platelet model at one time: everything its right-hand side needs
/// besides the state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Forcing {
    /// Release factor: the product of `1 - Emax C / (EC50 + C)` over the release drugs.
    release: f64,
    /// Kill rate of proliferating cells (1/h).
    kkill: f64,
    /// TPO signal kept by the drugs other than selinexor (and the fixed inhibition).
    keep_other: f64,
    /// Selinexor concentration (mg/L).
    c_sel: f64,
    /// `exp(phi)` and `exp(-phi)` (see [`Segment::lawson`]).
    ephi: f64,
    emphi: f64,
}

/// Concentrations (mg/L) of the exactly solved drugs at the nodes of one integration step (see
/// [`crate::dopri5::NODES`]), indexed by drug.
#[derive(Debug, Clone)]
pub struct NodeConcentrations {
    c: Vec<[f64; NODES.len()]>,
    /// The modal exponentials at the previous step's ends, by drug.
    carry: Vec<StepExps>,
    /// `exp(phi)` and `exp(-phi)` at the nodes (see [`Segment::lawson`]).
    ephi: [f64; NODES.len()],
    emphi: [f64; NODES.len()],
    /// The platelet model's forcing at the nodes, valid when `has_forcing` (every drug with an
    /// effect is solved exactly, [`Model::effects_exact`]).
    forcing: [Forcing; NODES.len()],
    has_forcing: bool,
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
    /// `x^gamma` of the platelet feedback (`platelets.gamma` for the TPO model,
    /// `friberg.gamma` for Friberg's), with its tables.
    power: Power,
    /// Index into `drugs` of the XPO1-engaging drug (selinexor), if present.
    xpo1: Option<usize>,
    release: Vec<usize>,
    kill: Vec<usize>,
    signal: Vec<usize>,
    /// Every drug with a platelet effect has a modal solution (its forcing can be computed per
    /// step, at the nodes, in exact segments).
    effects_exact: bool,
    /// Some drug has no modal solution (it is integrated even in exact segments).
    any_integrated_drug: bool,
}

impl Model {
    /// Builds the layout. `drugs` pairs each drug name with its resolved parameters.
    pub fn new(
        drugs: Vec<(String, PkParams)>,
        platelet_model: PlateletModel,
        pp: PlateletParams,
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
        let (release, kill, signal) = (
            effect(EffectKind::Release),
            effect(EffectKind::Kill),
            effect(EffectKind::Signal),
        );
        let pd = (platelet_model != PlateletModel::None).then(|| {
            let x = xpo1.map(|_| take(1));
            let e = x.and_then(|_| (pp.ke0 > 0.0).then(|| take(1)));
            let prol = take(1);
            let (tr1, tr2, tr3, plt) = (take(1), take(1), take(1), take(1));
            let tpo = (platelet_model == PlateletModel::Tpo).then(|| take(1));
            PdLayout {
                x,
                e,
                prol,
                tr1,
                tr2,
                tr3,
                plt,
                tpo,
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
            rates: pp.rates(),
            fixed_inhibition: 0.0,
            power: Power::new(match platelet_model {
                PlateletModel::Tpo => pp.gamma,
                PlateletModel::None => 0.0,
                _ => pp.f_gamma,
            }),
            xpo1,
            release,
            kill,
            signal,
            effects_exact,
            any_integrated_drug,
        }
    }

    /// The drug slot of a name.
    pub fn drug(&self, name: &str) -> Option<(usize, &DrugSlot)> {
        self.drugs.iter().enumerate().find(|(_, d)| d.name == name)
    }

    /// A resolved parameter by namespace and public name (drug, `platelets` or `friberg`).
    pub fn param(&self, ns: &str, p: &str) -> Option<f64> {
        let pp = &self.pp;
        Some(match (ns, p) {
            ("platelets", "kon") => pp.kon,
            ("platelets", "koff") => pp.koff,
            ("platelets", "Imax") => pp.imax,
            ("platelets", "gamma") => pp.gamma,
            ("platelets", "P0") => pp.p0,
            ("platelets", "MTT") => pp.mtt,
            ("platelets", "lifespan") => pp.lifespan,
            ("platelets", "tpo_half") => pp.tpo_half,
            ("platelets", "fP") => pp.fp,
            ("platelets", "ke0") => pp.ke0,
            ("friberg", "MTT") => pp.f_mtt,
            ("friberg", "gamma") => pp.f_gamma,
            ("friberg", "slope") => pp.f_slope,
            ("friberg", "Emax") => pp.f_emax,
            ("friberg", "EC50") => pp.f_ec50,
            (d, p) => {
                let k = &self.drug(d)?.1.pk;
                match p {
                    "ka" => k.ka,
                    "CL" => k.cl,
                    "Vc" => k.vc,
                    "Q" => k.q,
                    "Vp" => k.vp,
                    "Q2" => k.q2,
                    "Vp2" => k.vp2,
                    "F" => k.f,
                    "tlag" => k.tlag,
                    "Vmax" => k.vmax,
                    "Km" => k.km,
                    "kdes" => k.kdes,
                    "Emax" | "Imax" | "slope" => k.e1,
                    "EC50" | "IC50" => k.e2,
                    _ => return None,
                }
            }
        })
    }

    /// This model with individual parameter values replacing the resolved ones (no covariate
    /// effect or random effect applied on top): e.g. POSTHOC estimates from a patient table.
    pub fn with_individual_values(
        &self,
        values: &crate::simulate::Overrides,
    ) -> crate::Result<Model> {
        let mut drugs: Vec<(String, PkParams)> =
            self.drugs.iter().map(|d| (d.name.clone(), d.pk)).collect();
        let mut pp = self.pp;
        for (ns, params) in values {
            for (p, &v) in params {
                let field = format!("{ns}.{p}");
                let slot: &mut f64 = match (ns.as_str(), p.as_str()) {
                    ("platelets", "kon") => &mut pp.kon,
                    ("platelets", "koff") => &mut pp.koff,
                    ("platelets", "Imax") => &mut pp.imax,
                    ("platelets", "gamma") => &mut pp.gamma,
                    ("platelets", "P0") => &mut pp.p0,
                    ("platelets", "MTT") => &mut pp.mtt,
                    ("platelets", "lifespan") => &mut pp.lifespan,
                    ("platelets", "tpo_half") => &mut pp.tpo_half,
                    ("platelets", "fP") => &mut pp.fp,
                    ("platelets", "ke0") => &mut pp.ke0,
                    ("friberg", "MTT") => &mut pp.f_mtt,
                    ("friberg", "gamma") => &mut pp.f_gamma,
                    ("friberg", "slope") => &mut pp.f_slope,
                    ("friberg", "Emax") => &mut pp.f_emax,
                    ("friberg", "EC50") => &mut pp.f_ec50,
                    (d, p) => {
                        let Some((_, pk)) = drugs.iter_mut().find(|(n, _)| n == d) else {
                            continue; // a drug the trial does not simulate (no platelet effect)
                        };
                        match p {
                            "ka" => &mut pk.ka,
                            "CL" => &mut pk.cl,
                            "Vc" => &mut pk.vc,
                            "Q" => &mut pk.q,
                            "Vp" => &mut pk.vp,
                            "Q2" => &mut pk.q2,
                            "Vp2" => &mut pk.vp2,
                            "F" => &mut pk.f,
                            "tlag" => &mut pk.tlag,
                            "Vmax" => &mut pk.vmax,
                            "Km" => &mut pk.km,
                            "kdes" => &mut pk.kdes,
                            "Emax" | "Imax" | "slope" => &mut pk.e1,
                            "EC50" | "IC50" => &mut pk.e2,
                            _ => return Err(crate::ModelError::new(field, "unknown parameter")),
                        }
                    }
                };
                *slot = crate::error::non_negative(&field, v)?;
            }
        }
        for (name, pk) in &drugs {
            crate::error::positive(&format!("{name}.Vc"), pk.vc)?;
        }
        pp.validate()?;
        let mut m = Model::new(drugs, self.platelet_model, pp);
        m.fixed_inhibition = self.fixed_inhibition;
        Ok(m)
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
            let lawson = seg.lawson.then(|| {
                let e = exp(self.phi_conc(seg, t - seg.t0).0);
                (e, 1.0 / e)
            });
            let f = self.forcing(
                |d| self.state_or_exact_conc(d, y, seg, |m| m.conc(&seg.modal[d], t - seg.t0)),
                lawson,
            );
            self.pd_rhs(pd, y, dy, &f, seg.lawson);
        }
        self.check_padding(dy, seg);
    }

    /// Concentration of drug `d`: from its modal solution (by `exact`) in an exact segment, else
    /// from the state.
    #[inline(always)]
    fn state_or_exact_conc(
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

    /// The platelet model's forcing from the drugs' concentrations `conc(d)` and, when X is in
    /// integrating-factor form, `(exp(phi), exp(-phi))`.
    #[inline(always)]
    fn forcing(&self, conc: impl Fn(usize) -> f64, lawson: Option<(f64, f64)>) -> Forcing {
        let mut release = 1.0;
        for &d in &self.release {
            let s = &self.drugs[d];
            let c = conc(d).max(0.0);
            release *= 1.0 - s.pk.e1 * c / (s.pk.e2 + c);
        }
        let mut kkill = 0.0;
        for &d in &self.kill {
            kkill += self.drugs[d].pk.e1 * conc(d).max(0.0);
        }
        let mut keep_other = 1.0 - self.fixed_inhibition;
        for &d in &self.signal {
            let s = &self.drugs[d];
            let c = conc(d).max(0.0);
            keep_other *= 1.0 - s.pk.e1 * c / (s.pk.e2 + c);
        }
        let c_sel = self.xpo1.map_or(0.0, |d| conc(d).max(0.0));
        let (ephi, emphi) = lawson.unwrap_or((1.0, 1.0));
        Forcing {
            release,
            kkill,
            keep_other,
            c_sel,
            ephi,
            emphi,
        }
    }

    /// `phi = kon AUC + koff tau` from selinexor's AUC since the segment start (mg.h/L) and
    /// the time into the segment (h) (see [`Segment::lawson`]).
    #[inline]
    fn phi_of(&self, auc: f64, tau: f64) -> f64 {
        self.pp.kon * auc + self.pp.koff * tau
    }

    /// `phi` and the selinexor concentration `tau` hours into a segment (0 and 0 without an
    /// exactly solved selinexor).
    fn phi_conc(&self, seg: &Segment, tau: f64) -> (f64, f64) {
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
                self.pd_rhs(pd, y, dy, &nodes.forcing[node], seg.lawson);
            } else {
                let f = self.forcing(
                    |d| self.state_or_exact_conc(d, y, seg, |_| nodes.c[d][node]),
                    seg.lawson.then(|| (nodes.ephi[node], nodes.emphi[node])),
                );
                self.pd_rhs(pd, y, dy, &f, seg.lawson);
            }
        }
        self.check_padding(dy, seg);
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
                let e = exp(self.phi_of(auc[i], tau + c * h));
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

    /// The derivatives of the integrated drugs' states (all drugs, or in an exact segment the
    /// drugs without a modal solution).
    #[inline(always)]
    fn drugs_rhs(&self, t: f64, y: &[f64], dy: &mut [f64], seg: &Segment) {
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
                dc += s.pk.ka * y[g] * exp(-s.pk.ka * (t - seg.t0));
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
                let vmax = if s.pk.kdes > 0.0 {
                    s.pk.vmax * exp(-s.pk.kdes * t)
                } else {
                    s.pk.vmax
                };
                dc -= vmax * c / (s.pk.km + c.max(0.0));
            }
            dy[s.central] = dc;
            dy[s.auc] = c;
        }
    }

    /// Entries past the integrated states are never written: every state and derivative buffer
    /// starts at zero (a `fill` here cost a memset call per evaluation).
    #[inline(always)]
    fn check_padding(&self, dy: &[f64], seg: &Segment) {
        debug_assert!(dy[if seg.exact { self.m } else { self.n }..]
            .iter()
            .all(|&v| v == 0.0));
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
                    (c, exp(-phi))
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
                        y[ix] = x_of(y[ix], exp(-self.phi_of(auc, tau)));
                    }
                }
                _ => {
                    if let Some(g) = s.depot {
                        y[g] *= exp(-s.pk.ka * tau);
                    }
                }
            }
        }
    }

    /// The platelet model's derivatives under forcing `f` (X in integrating-factor form when
    /// `lawson`).
    #[inline(always)]
    fn pd_rhs(&self, pd: &PdLayout, y: &[f64], dy: &mut [f64], f: &Forcing, lawson: bool) {
        let r = &self.rates;
        let (release, kkill, keep_other, c_sel) = (f.release, f.kkill, f.keep_other, f.c_sel);
        let mut x = 0.0;
        if let Some(ix) = pd.x {
            if lawson {
                // The state is V = (1 - X) exp(phi): V' = koff exp(phi) (Model::begin_segment).
                // (unclamped here: the signal is clamped at 0 below, and rounding is all it
                // could take X under 0)
                x = 1.0 - y[ix] * f.emphi;
                dy[ix] = self.pp.koff * f.ephi;
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
        let (growth, ktr, kout) = match pd.tpo {
            Some(it) => {
                let tpo = y[it];
                let signal = (tpo * (1.0 - self.pp.imax * x) * keep_other).max(0.0);
                (self.power.pow(signal), r.ktr, r.kcirc)
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
                ((1.0 - edrug) * keep_other * feedback, ktr, ktr)
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
            ktr * prol * (growth - 1.0) - kkill * prol,
            ktr * (prol - tr1),
            ktr * (tr1 - tr2),
            ktr * tr2 - ktr * release * tr3,
            ktr * release * tr3 - kout * plt,
        ];
        if let Some(it) = pd.tpo {
            let tpo = y[it];
            dy[it] = r.ksyn - r.kel_t * tpo - r.kp * plt * tpo;
        }
    }
}

/// X from the integrating-factor state `v = (1 - X) exp(phi)` and `emphi = exp(-phi)`, clamped at
/// 0 (the rounding of `1 - (1 - X)` can leave -1e-16).
#[inline]
fn x_of(v: f64, emphi: f64) -> f64 {
    (1.0 - v * emphi).max(0.0)
}
