//! Steady state of one linear drug under periodic dosing, in closed form: the state at the time
//! of a dose after infinitely many identical earlier doses every `II` hours (NONMEM's SS).
//!
//! In the modal coordinates of [`LinearModes`] each mode decays on its own (`c_j' = -r_j c_j +
//! input`), so the earlier doses add up to a geometric series per mode. An input entering `s`
//! hours before the dose time leaves `u_j exp(-r_j s)` in mode `j` (`u = V^-1 e_i` for a unit
//! amount into block state `i`); the earlier doses, given `k II` hours before (`k >= 1`), enter
//! `k II - lag` hours before, so that
//!
//! `c_j = A u_j sum_{k >= k0} exp(-r_j (k II - lag)) = A u_j exp(-r_j (k0 II - lag)) / (1 - exp(-r_j II))`
//!
//! with `k0` the first earlier dose already absorbed (`k0 II > lag`); the doses `1 <= k < k0`
//! (a lag longer than the interval) are still to come at the dose time and are returned as
//! pending inputs. An infusion of rate `R` over `D` hours leaves `R u_j (1 - exp(-r_j min(s,
//! D))) exp(-r_j (s - D)^+) / r_j`; the infusions that have ended sum to
//!
//! `R u_j / r_j exp(-r_j (k1 II - D)) (1 - exp(-r_j D)) / (1 - exp(-r_j II))`
//!
//! and the ones still running at the dose time (`k II < D`) are added one by one and returned
//! as running infusions with their end times. The block state is `z = V c` (the matrix form
//! `(I - exp(A II))^-1` written in the eigenbasis). Exact up to the rounding of the modal
//! solution (see [`LinearModes`]).

use super::modes::{LinearModes, MAX_BLOCK};
use crate::error::{ModelError, Result};

/// Most earlier doses that may still be absorbing or infusing at the dose time (`lag / II` or
/// `D / II`); more is refused as a likely unit error.
pub const MAX_OVERLAP: usize = 10_000;

/// One periodically repeated administration of a linear drug.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PeriodicDose {
    /// `amount` (mg, after bioavailability) into block state `state` (depot or central),
    /// entering `lag` hours after the dose time.
    Bolus { state: usize, amount: f64, lag: f64 },
    /// An infusion into the central compartment at `rate` mg/h for `duration` h.
    Infusion { rate: f64, duration: f64 },
}

/// The steady state at a dose time, before that dose.
#[derive(Debug, Clone, PartialEq)]
pub struct SteadyState {
    /// Block amounts (mg) in [`LinearModes`] order.
    pub z: [f64; MAX_BLOCK],
    /// Earlier infusions still running at the dose time: their total rate is
    /// `rate x running_ends.len()`, each ends this many hours after the dose time.
    pub running_ends: Vec<f64>,
    /// Earlier doses still to enter (lag longer than the interval): hours after the dose time.
    pub pending_inputs: Vec<f64>,
}

/// `exp(-r a) / (1 - exp(-r ii))`, the sum of a geometric series of ratio `exp(-r ii)`.
fn series(r: f64, a: f64, ii: f64) -> f64 {
    f64::exp(-r * a) / -f64::exp_m1(-r * ii)
}

/// `1 - exp(-x)` without cancellation.
fn one_minus_exp(x: f64) -> f64 {
    -f64::exp_m1(-x)
}

/// The first `k >= 1` with `k ii > x` (`x >= 0`), and a refusal beyond [`MAX_OVERLAP`].
fn first_past(x: f64, ii: f64, what: &str) -> Result<usize> {
    let n = (x / ii).floor();
    if !(n.is_finite() && n <= MAX_OVERLAP as f64) {
        return Err(ModelError::new(
            "ii",
            format!(
                "{what} spans {n} dosing intervals of {ii} h: more than {MAX_OVERLAP} earlier doses \
                 would overlap (check the units)"
            ),
        ));
    }
    let mut k = n as usize + 1;
    // Rounding of x / ii: make k the first past x, and k - 1 not.
    while k > 1 && (k - 1) as f64 * ii > x {
        k -= 1;
    }
    while k as f64 * ii <= x {
        k += 1;
    }
    Ok(k)
}

/// The steady state of `dose` repeated every `ii` hours, at the time of a dose.
pub fn steady_state(m: &LinearModes, dose: PeriodicDose, ii: f64) -> Result<SteadyState> {
    if !(ii.is_finite() && ii > 0.0) {
        return Err(ModelError::new(
            "ii",
            format!("a steady-state dose needs an interval > 0 h, got {ii}"),
        ));
    }
    let mut c = [0.0; MAX_BLOCK];
    let mut out = SteadyState {
        z: [0.0; MAX_BLOCK],
        running_ends: Vec::new(),
        pending_inputs: Vec::new(),
    };
    match dose {
        PeriodicDose::Bolus { state, amount, lag } => {
            let k0 = first_past(lag, ii, "the lag time")?;
            let u = m.unit_input(state);
            for j in 0..m.k {
                c[j] = amount * u[j] * series(m.rates[j], k0 as f64 * ii - lag, ii);
            }
            out.pending_inputs = (1..k0).map(|k| lag - k as f64 * ii).collect();
        }
        PeriodicDose::Infusion { rate, duration } => {
            let k1 = first_past(duration, ii, "the infusion")?;
            let u = m.unit_input(m.central);
            for j in 0..m.k {
                let r = m.rates[j];
                let ended = series(r, k1 as f64 * ii - duration, ii) * one_minus_exp(r * duration);
                let running: f64 = (1..k1).map(|k| one_minus_exp(r * k as f64 * ii)).sum();
                c[j] = rate * u[j] / r * (ended + running);
            }
            out.running_ends = (1..k1).map(|k| duration - k as f64 * ii).collect();
        }
    }
    out.z = m.block_of(&c);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::PkParams;

    fn one_cmt_oral() -> PkParams {
        PkParams {
            compartments: 1,
            ka: 1.5,
            cl: 10.0,
            vc: 100.0,
            f: 1.0,
            ..Default::default()
        }
    }

    #[test]
    fn one_compartment_bolus_is_the_textbook_accumulation() {
        // Iv bolus: trough amount A exp(-k II) / (1 - exp(-k II)).
        let p = PkParams {
            ka: 0.0,
            ..one_cmt_oral()
        };
        let m = LinearModes::new(&p).unwrap();
        let (k, ii) = (0.1, 12.0);
        let ss = steady_state(
            &m,
            PeriodicDose::Bolus {
                state: m.central,
                amount: 100.0,
                lag: 0.0,
            },
            ii,
        )
        .unwrap();
        let want = 100.0 * f64::exp(-k * ii) / (1.0 - f64::exp(-k * ii));
        assert!((ss.z[m.central] - want).abs() < 1e-12 * want, "{:?}", ss.z);
    }

    #[test]
    fn lag_longer_than_the_interval_leaves_pending_inputs() {
        let m = LinearModes::new(&one_cmt_oral()).unwrap();
        let ss = steady_state(
            &m,
            PeriodicDose::Bolus {
                state: 0,
                amount: 1.0,
                lag: 30.0,
            },
            12.0,
        )
        .unwrap();
        assert_eq!(ss.pending_inputs, vec![18.0, 6.0]);
        // Depot: the dose 36 h before entered 6 h ago, and every 12 h before it.
        let want = f64::exp(-1.5 * 6.0) / (1.0 - f64::exp(-1.5 * 12.0));
        assert!((ss.z[0] - want).abs() < 1e-12 * want);
    }

    #[test]
    fn overlapping_infusions_keep_running() {
        let p = PkParams {
            ka: 0.0,
            ..one_cmt_oral()
        };
        let m = LinearModes::new(&p).unwrap();
        let ss = steady_state(
            &m,
            PeriodicDose::Infusion {
                rate: 10.0,
                duration: 30.0,
            },
            12.0,
        )
        .unwrap();
        assert_eq!(ss.running_ends, vec![18.0, 6.0]);
        assert!(steady_state(
            &m,
            PeriodicDose::Infusion {
                rate: 1.0,
                duration: 1e9
            },
            1e-3
        )
        .is_err());
    }
}
