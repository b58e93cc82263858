//! One patient's resolved parameter values: what the engine computes with.

use super::effect::EffectKind;
use crate::error::{in_range, positive, Result};

/// Highest platelet count accepted as a baseline, 10^9/L (severe reactive thrombocytosis stays
/// below it).
pub const MAX_PLATELETS: f64 = 2000.0;

/// One patient's resolved parameters of one drug.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PkParams {
    pub compartments: u8,
    pub mm: bool,
    pub ka: f64,
    pub cl: f64,
    pub vc: f64,
    pub q: f64,
    pub vp: f64,
    pub q2: f64,
    pub vp2: f64,
    pub f: f64,
    pub tlag: f64,
    pub vmax: f64,
    pub km: f64,
    pub kdes: f64,
    pub effect: Option<EffectKind>,
    /// Effect parameters: (Emax|slope|Imax, EC50|IC50).
    pub e1: f64,
    pub e2: f64,
}

impl PkParams {
    pub fn has_depot(&self) -> bool {
        self.ka > 0.0
    }
    /// Number of ODE states: depot (if any), central, peripherals, cumulative AUC.
    pub fn n_states(&self) -> usize {
        usize::from(self.has_depot()) + usize::from(self.compartments) + 1
    }
    /// Micro rate constants (k10, k12, k21, k13, k31).
    pub fn micro(&self) -> (f64, f64, f64, f64, f64) {
        let k10 = self.cl / self.vc;
        let (k12, k21) = if self.compartments >= 2 {
            (self.q / self.vc, self.q / self.vp)
        } else {
            (0.0, 0.0)
        };
        let (k13, k31) = if self.compartments >= 3 {
            (self.q2 / self.vc, self.q2 / self.vp2)
        } else {
            (0.0, 0.0)
        };
        (k10, k12, k21, k13, k31)
    }
}

/// One patient's platelet-model parameters (`platelets` and `friberg` namespaces).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PlateletParams {
    pub kon: f64,
    pub koff: f64,
    pub imax: f64,
    pub gamma: f64,
    pub p0: f64,
    pub mtt: f64,
    pub lifespan: f64,
    pub tpo_half: f64,
    pub fp: f64,
    /// Effect-compartment rate (1/h) between XPO1 engagement X and the TPO signal: 0 means no
    /// delay (the signal uses X); > 0 adds the state E, dE/dt = ke0 (X - E), used instead of X.
    pub ke0: f64,
    /// Self-renewal share of the progenitor pool (0-1): 1 = self-renewing pool that grows at
    /// ktr (G - 1) (Friberg form), 0 = pool fed at ktr Prol0 G from upstream cells
    /// (indirect response), values between mix the two (docs/model.md).
    pub renewal: f64,
    /// Share of selinexor's inhibition acting downstream of the progenitors' response to TPO
    /// (0-1): the growth factor is `(TPO (1 - Imax X)^(1-d))^gamma (1 - Imax X)^d`; 0 = the
    /// inhibition scales the signal before the response curve (docs/model.md).
    pub downstream: f64,
    /// Gain of the platelet yield per megakaryocyte on the TPO signal: platelets enter the
    /// circulation at `ktr R Tr3 (TPO + agonist)^gamma_yield`; 0 = a fixed yield (docs/model.md).
    pub gamma_yield: f64,
    /// Circulating platelet increment of one transfused unit (10^9/L per unit).
    pub tx_increment: f64,
    /// Mean survival of transfused platelets in the recipient (h): first-order elimination at
    /// rate 1 / tx_survival (docs/supportive_care.md).
    pub tx_survival: f64,
    /// Friberg: MTT, gamma, slope, Emax, EC50.
    pub f_mtt: f64,
    pub f_gamma: f64,
    pub f_slope: f64,
    pub f_emax: f64,
    pub f_ec50: f64,
}

impl PlateletParams {
    pub fn validate(&self) -> Result<()> {
        positive("platelets.kon", self.kon).or_else(|e| {
            if self.kon == 0.0 {
                Ok(0.0)
            } else {
                Err(e)
            }
        })?;
        positive("platelets.koff", self.koff)?;
        in_range("platelets.Imax", self.imax, 0.0, 1.0)?;
        in_range("platelets.gamma", self.gamma, 0.0, 10.0)?;
        in_range("platelets.P0", self.p0, 1.0, MAX_PLATELETS)?;
        positive("platelets.MTT", self.mtt)?;
        positive("platelets.lifespan", self.lifespan)?;
        positive("platelets.tpo_half", self.tpo_half)?;
        in_range("platelets.fP", self.fp, 0.0, 0.999_999)?;
        in_range("platelets.ke0", self.ke0, 0.0, f64::MAX)?;
        in_range("platelets.renewal", self.renewal, 0.0, 1.0)?;
        in_range("platelets.downstream", self.downstream, 0.0, 1.0)?;
        in_range("platelets.gamma_yield", self.gamma_yield, 0.0, 10.0)?;
        in_range(
            "platelets.tx_increment",
            self.tx_increment,
            0.0,
            MAX_PLATELETS,
        )?;
        positive("platelets.tx_survival", self.tx_survival)?;
        positive("friberg.MTT", self.f_mtt)?;
        in_range("friberg.gamma", self.f_gamma, 0.0, 10.0)?;
        in_range("friberg.slope", self.f_slope, 0.0, f64::MAX)?;
        in_range("friberg.Emax", self.f_emax, 0.0, 1.0)?;
        positive("friberg.EC50", self.f_ec50)?;
        Ok(())
    }
}
