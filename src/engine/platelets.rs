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
    /// Baseline progenitor pool kcirc P0 / ktr.
    pub prol0: f64,
}

/// ktr = 4/MTT, kcirc = 1/lifespan, kTPO = ln2/tpo_half, kP = fP*kTPO/P0,
/// kel_T = (1-fP)*kTPO, ksyn = kTPO*T0 with T0 = 1.
pub fn rates(p: &PlateletParams) -> PlateletRates {
    let ktpo = std::f64::consts::LN_2 / p.tpo_half;
    let (ktr, kcirc) = (4.0 / p.mtt, 1.0 / p.lifespan);
    PlateletRates {
        ktr,
        kcirc,
        ksyn: ktpo,
        kel_t: (1.0 - p.fp) * ktpo,
        kp: p.fp * ktpo / p.p0,
        prol0: kcirc * p.p0 / ktr,
    }
}

/// Steady state of the TPO model under a constant total signal inhibition `i` (0 <= i < 1).
/// Returns (P, T); P < 0 means platelets collapse.
///
/// Self-renewing progenitors (`renewal` = 1), closed form: TPO settles at T0/(1-i) so that the
/// signal is back at baseline, and P = ((1-i)(kel_T + kP P0) - kel_T)/kP. With a supply from
/// upstream cells (`renewal` < 1) the pool settles at Prol = (1-r) Prol0 G / (1 - r G), so
/// P/P0 = Y (1-r) G / (1 - r G) with G = (T (1-i))^gamma, the yield Y = T^gamma_yield and
/// T = 1/((1-fP) + fP P/P0): the root in (0, P0] is found by bisection (the left side rises and
/// the right side falls with P). The yield leaves the self-renewing closed form unchanged: TPO,
/// which sets P there, is fixed by the pool's balance alone.
pub fn tpo_steady_state(p: &PlateletParams, i: f64) -> (f64, f64) {
    let r = rates(p);
    if p.renewal >= 1.0 {
        let t = 1.0 / (1.0 - i);
        let pss = ((1.0 - i) * (r.kel_t + r.kp * p.p0) - r.kel_t) / r.kp;
        return (pss, t);
    }
    let tpo = |rel: f64| 1.0 / ((1.0 - p.fp) + p.fp * rel);
    let excess = |rel: f64| {
        let g = (tpo(rel) * (1.0 - i)).powf(p.gamma);
        let den = 1.0 - p.renewal * g;
        if den <= 0.0 {
            f64::NEG_INFINITY
        } else {
            rel - tpo(rel).powf(p.gamma_yield) * (1.0 - p.renewal) * g / den
        }
    };
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if excess(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let rel = 0.5 * (lo + hi);
    (rel * p.p0, tpo(rel))
}
