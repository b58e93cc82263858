//! The myeloma tumour model: serum M-protein under drug kill with acquired resistance, a
//! tumour-growth-inhibition model of the kind published for M-protein (exponential growth, a
//! drug kill whose effect decays exponentially with time on treatment; docs/efficacy.md):
//!
//! ```text
//! dM/dt = kg M - S exp(-lambda t) (k_x X(t) + sum_p K_p(t)) M
//! ```
//!
//! with X the XPO1 engagement the platelet model already integrates and K_p(t) each partner
//! drug's kinetic-PD kill (each dose's effect decaying with its half-life). It is solved in
//! closed form, `ln M(t) = ln M0 + kg t - S (k_x I_x(t) + sum_p I_p(t))`, after the ODE run:
//! `I_x = integral of X exp(-lambda s) ds` is accumulated step by step from the solver's
//! accepted steps (the cubic Hermite interpolant of X, Gauss-Legendre 3-point: exact for the
//! cubic, error of order (lambda h)^6 for the exponential), and `I_p` is exact per dose. The
//! ODE system is unchanged, so adding efficacy changes no step size and no existing result.

use super::sampling::{draw, efficacy_rng};
use crate::numerics::hermite::hermite;
use crate::spec::efficacy::EfficacySpec;
use rand::Rng;

/// One patient's tumour parameters (rates per day).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TumourParams {
    /// Baseline M-protein, g/dL.
    pub m0: f64,
    /// Net growth rate without drug, 1/day.
    pub kg: f64,
    /// Resistance rate (decay of drug sensitivity), 1/day.
    pub lambda: f64,
    /// Multiplier of every drug's kill.
    pub sensitivity: f64,
    /// Time of death without progression, h (infinite with no death hazard).
    pub t_death_h: f64,
}

impl TumourParams {
    /// Subject `id`'s parameters from its efficacy stream (`sampling::efficacy_rng`), with the
    /// population's sensitivity multiplier `sensitivity_factor`.
    pub fn draw(spec: &EfficacySpec, sensitivity_factor: f64, seed: u64, id: usize) -> Self {
        let mut rng = efficacy_rng(seed, id);
        let m0 = draw(&spec.m_protein_baseline.dist(), &mut rng);
        let kg = draw(&spec.growth_rate.dist(), &mut rng);
        let lambda = draw(&spec.resistance_rate.dist(), &mut rng);
        let sensitivity = sensitivity_factor * draw(&spec.sensitivity.dist(), &mut rng);
        let u: f64 = rng.random::<f64>();
        let h = spec.death_hazard.value;
        let t_death_h = if h > 0.0 {
            -(1.0 - u).ln() / h * 24.0
        } else {
            f64::INFINITY
        };
        Self {
            m0,
            kg,
            lambda,
            sensitivity,
            t_death_h,
        }
    }
}

/// Gauss-Legendre 3-point nodes on [0, 1] and weights.
const GL_NODES: [f64; 3] = [0.112_701_665_379_258_31, 0.5, 0.887_298_334_620_741_7];
const GL_WEIGHTS: [f64; 3] = [5.0 / 18.0, 8.0 / 18.0, 5.0 / 18.0];

/// Accumulates `I_x(t) = integral_0^t X(s) exp(-lambda s) ds` (s in h) from the solver's steps
/// and records it at the query times (h, ascending).
#[derive(Debug, Clone)]
pub struct EngagementIntegral {
    /// Resistance rate, 1/h.
    lambda_h: f64,
    queries: Vec<f64>,
    /// `I_x` at each query time (h); 0 for a query never reached.
    pub values: Vec<f64>,
    next: usize,
    acc: f64,
    prev: Option<(f64, f64, f64)>,
}

impl EngagementIntegral {
    pub fn new(lambda_per_day: f64, queries: Vec<f64>) -> Self {
        let n = queries.len();
        Self {
            lambda_h: lambda_per_day / 24.0,
            queries,
            values: vec![0.0; n],
            next: 0,
            acc: 0.0,
            prev: None,
        }
    }

    /// The integral over `[t0, t0 + s h]` of the step's interpolant times the discount.
    fn partial(&self, (t0, x0, d0): (f64, f64, f64), t1: f64, x1: f64, d1: f64, s: f64) -> f64 {
        let h = t1 - t0;
        let len = s * h;
        GL_NODES
            .iter()
            .zip(GL_WEIGHTS)
            .map(|(&u, w)| {
                let su = u * s;
                let x = hermite(x0, d0, x1, d1, h, su);
                w * x * f64::exp(-self.lambda_h * (t0 + su * h))
            })
            .sum::<f64>()
            * len
    }

    /// One solver point (time h, X, dX/dt); a point at the previous time (a segment start)
    /// only updates the slope.
    pub fn step(&mut self, t: f64, x: f64, dx: f64) {
        if let Some(p) = self.prev {
            if t > p.0 {
                while self.next < self.queries.len() && self.queries[self.next] <= t {
                    let tq = self.queries[self.next];
                    let s = ((tq - p.0) / (t - p.0)).max(0.0);
                    self.values[self.next] = self.acc + self.partial(p, t, x, dx, s);
                    self.next += 1;
                }
                self.acc += self.partial(p, t, x, dx, 1.0);
            }
        } else {
            // Queries at or before the first point have nothing accrued.
            while self.next < self.queries.len() && self.queries[self.next] <= t {
                self.next += 1;
            }
        }
        self.prev = Some((t, x, dx));
    }
}

/// One partner dose as the tumour model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartnerDose {
    /// Time of the dose, h.
    pub time_h: f64,
    /// Log-kill of this dose before resistance: `kill * amount / reference`.
    pub log_kill: f64,
    /// Elimination rate of the dose's effect, 1/day.
    pub kde: f64,
}

/// M-protein (g/dL) at `times_h`, given `I_x` at those times (h units, from
/// [`EngagementIntegral`]), selinexor's kill rate at X = 1 (1/day) and the partner doses.
pub fn m_protein(
    p: &TumourParams,
    kill_x: f64,
    ix_h: &[f64],
    partner: &[PartnerDose],
    times_h: &[f64],
) -> Vec<f64> {
    let lam = p.lambda;
    times_h
        .iter()
        .zip(ix_h)
        .map(|(&t, &ix)| {
            let td = t / 24.0;
            let mut kill = kill_x * ix / 24.0;
            for d in partner.iter().filter(|d| d.time_h < t) {
                let ti = d.time_h / 24.0;
                let k = d.kde + lam;
                kill += d.log_kill * d.kde / k * f64::exp(-lam * ti) * -f64::exp_m1(-k * (td - ti));
            }
            p.m0 * f64::exp(p.kg * td - p.sensitivity * kill)
        })
        .collect()
}

/// The response-assessment times (h): every `every_days` from day 1, before `horizon_h`.
pub fn assessment_times(every_days: f64, horizon_h: f64) -> Vec<f64> {
    let dt = every_days * 24.0;
    (1..)
        .map(|k| f64::from(k) * dt)
        .take_while(|&t| t < horizon_h)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engagement_integral_is_exact_for_a_constant_with_discount() {
        // X = 0.5 throughout, lambda = 0.24/day = 0.01/h: I(t) = 0.5 (1 - e^{-0.01 t}) / 0.01.
        let mut e = EngagementIntegral::new(0.24, vec![5.0, 30.0, 100.0]);
        for t in [0.0, 10.0, 40.0, 40.0, 120.0] {
            e.step(t, 0.5, 0.0);
        }
        for (q, v) in [5.0, 30.0, 100.0].iter().zip(&e.values) {
            let want = 0.5 * (1.0 - f64::exp(-0.01 * q)) / 0.01;
            assert!((v - want).abs() < 1e-6 * want, "{q}: {v} vs {want}");
        }
    }

    #[test]
    fn engagement_integral_is_exact_for_a_cubic_on_long_steps_and_inside_a_step() {
        // X(t) = 0.1 + 0.02 t - 0.0003 t^2 + 1e-6 t^3 on steps of 40 h, no discount: the
        // Hermite interpolant is X itself and Gauss-Legendre integrates it exactly.
        let x = |t: f64| 0.1 + 0.02 * t - 0.0003 * t * t + 1e-6 * t * t * t;
        let dx = |t: f64| 0.02 - 0.0006 * t + 3e-6 * t * t;
        let big = |t: f64| 0.1 * t + 0.01 * t * t - 0.0001 * t * t * t + 0.25e-6 * t.powi(4);
        let mut e = EngagementIntegral::new(0.0, vec![25.0, 80.0, 95.0]);
        for t in [0.0, 40.0, 80.0, 120.0] {
            e.step(t, x(t), dx(t));
        }
        for (q, v) in [25.0, 80.0, 95.0].iter().zip(&e.values) {
            assert!(
                (v - big(*q)).abs() < 1e-12 * big(*q).max(1.0),
                "{q}: {v} vs {}",
                big(*q)
            );
        }
    }

    #[test]
    fn partner_kill_is_the_closed_form_of_the_kpd_effect() {
        // No growth, no resistance: after the effect is over, ln(M0/M) = log_kill.
        let p = TumourParams {
            m0: 2.0,
            kg: 0.0,
            lambda: 0.0,
            sensitivity: 1.0,
            t_death_h: f64::INFINITY,
        };
        let d = [PartnerDose {
            time_h: 0.0,
            log_kill: 0.7,
            kde: 1.0,
        }];
        let m = m_protein(&p, 0.0, &[0.0, 0.0], &d, &[24.0, 24.0 * 60.0]);
        assert!((m[0] - 2.0 * f64::exp(-0.7 * (1.0 - f64::exp(-1.0)))).abs() < 1e-12);
        assert!((m[1] - 2.0 * f64::exp(-0.7)).abs() < 1e-12);
    }

    #[test]
    fn assessments_start_after_one_interval_and_stop_before_the_horizon() {
        assert_eq!(assessment_times(28.0, 24.0 * 84.0), vec![672.0, 1344.0]);
    }
}
