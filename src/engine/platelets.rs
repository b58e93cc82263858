//! Rate constants of the TPO platelet model derived from one patient's parameters, and its
//! closed-form steady state.

use crate::params::PlateletParams;

/// Rate constants derived once per patient.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PlateletRates {
    pub ktr: f64,
    pub kcirc: f64,
    pub ksyn: f64,
    pub kel_t: f64,
    pub kp: f64,
}

/// ktr = 4/MTT, kcirc = 1/lifespan, kTPO = ln2/tpo_half, kP = fP*kTPO/P0,
/// kel_T = (1-fP)*kTPO, ksyn = kTPO*T0 with T0 = 1.
pub fn rates(p: &PlateletParams) -> PlateletRates {
    let ktpo = std::f64::consts::LN_2 / p.tpo_half;
    PlateletRates {
        ktr: 4.0 / p.mtt,
        kcirc: 1.0 / p.lifespan,
        ksyn: ktpo,
        kel_t: (1.0 - p.fp) * ktpo,
        kp: p.fp * ktpo / p.p0,
    }
}

/// Closed-form steady state of the TPO model under a constant total signal inhibition `i`
/// (0 <= i < 1): TPO settles at T0/(1-i) so that the signal is back at baseline, and
/// P = ((1-i)(kel_T + kP P0) - kel_T)/kP. Returns (P, T); P < 0 means platelets collapse.
pub fn tpo_steady_state(p: &PlateletParams, i: f64) -> (f64, f64) {
    let r = rates(p);
    let t = 1.0 / (1.0 - i);
    let pss = ((1.0 - i) * (r.kel_t + r.kp * p.p0) - r.kel_t) / r.kp;
    (pss, t)
}
