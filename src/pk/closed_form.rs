//! Closed-form central amounts and exact AUCs of linear 1-, 2- and 3-compartment models, by
//! superposition of each dose's response (bolus, zero-order infusion, first-order input with lag).
//!
//! The unit response of the central amount to a bolus into the central compartment is
//! `sum_i A_i exp(-lambda_i t)`, with `lambda_i` the disposition eigenvalues; each input type is its
//! convolution with that sum, and each AUC the integral of the result.

use crate::error::{ModelError, Result};
use crate::params::PkParams;
use crate::spec::regimen::DoseEvent;

/// Disposition exponents `lambda` and coefficients `A` of the central compartment.
#[derive(Debug, Clone, Copy)]
pub struct Disposition {
    pub n: usize,
    pub lambda: [f64; 3],
    pub coef: [f64; 3],
}

impl Disposition {
    /// Eigen-decomposition of the disposition model (linear elimination only).
    pub fn new(p: &PkParams) -> Result<Self> {
        if p.mm {
            return Err(ModelError::new(
                "method",
                "closed form needs linear elimination; Michaelis-Menten drugs use the ODE path",
            ));
        }
        let (k10, k12, k21, k13, k31) = p.micro();
        Ok(match p.compartments {
            1 => Self {
                n: 1,
                lambda: [k10, 0.0, 0.0],
                coef: [1.0, 0.0, 0.0],
            },
            2 => {
                let s = k10 + k12 + k21;
                let disc = (s * s - 4.0 * k10 * k21).max(0.0).sqrt();
                let (l1, l2) = ((s + disc) / 2.0, (s - disc) / 2.0);
                Self {
                    n: 2,
                    lambda: [l1, l2, 0.0],
                    coef: [(k21 - l1) / (l2 - l1), (k21 - l2) / (l1 - l2), 0.0],
                }
            }
            _ => {
                // Roots of l^3 - a2 l^2 + a1 l - a0 (characteristic polynomial of the 3-cmt model).
                let a2 = k10 + k12 + k13 + k21 + k31;
                let a1 = k10 * k21 + k10 * k31 + k12 * k31 + k13 * k21 + k21 * k31;
                let a0 = k10 * k21 * k31;
                let l = cubic_roots(a2, a1, a0);
                let c = |i: usize, j: usize, k: usize| {
                    (k21 - l[i]) * (k31 - l[i]) / ((l[j] - l[i]) * (l[k] - l[i]))
                };
                Self {
                    n: 3,
                    lambda: l,
                    coef: [c(0, 1, 2), c(1, 0, 2), c(2, 0, 1)],
                }
            }
        })
    }
}

/// Real roots of x^3 - a2 x^2 + a1 x - a0 = 0 (all real and positive for a compartment model).
fn cubic_roots(a2: f64, a1: f64, a0: f64) -> [f64; 3] {
    let m = a2 * a2 / 9.0 - a1 / 3.0;
    let r = (-2.0 * a2 * a2 * a2 + 9.0 * a2 * a1 - 27.0 * a0) / 54.0;
    let q = m.max(1e-300).sqrt();
    let theta = (r / (q * q * q)).clamp(-1.0, 1.0).acos() / 3.0;
    let two_pi_3 = 2.0 * std::f64::consts::PI / 3.0;
    let mut l = [0.0; 3];
    for (k, li) in l.iter_mut().enumerate() {
        *li = a2 / 3.0 - 2.0 * q * (theta + two_pi_3 * k as f64).cos();
    }
    l.sort_by(|a, b| b.total_cmp(a));
    l
}

/// (1 - exp(-x)) / x, accurate near 0.
fn one_minus_exp_over(x: f64) -> f64 {
    if x.abs() < 1e-8 {
        1.0 - x / 2.0
    } else {
        -(-x).exp_m1() / x
    }
}

/// Central amount and cumulative central AUC (amount x time) at `tau` after one unit input.
fn unit_response(d: &Disposition, p: &PkParams, input: Input, tau: f64) -> (f64, f64) {
    let mut amt = 0.0;
    let mut integral = 0.0;
    for i in 0..d.n {
        let (a, l) = (d.coef[i], d.lambda[i]);
        match input {
            Input::Bolus => {
                if tau <= 0.0 {
                    continue;
                }
                amt += a * (-l * tau).exp();
                integral += a * tau * one_minus_exp_over(l * tau);
            }
            Input::Infusion(dur) => {
                // Unit total amount spread over `dur` hours: rate 1/dur.
                if tau <= 0.0 {
                    continue;
                }
                let r = 1.0 / dur;
                let t_in = tau.min(dur);
                // During infusion: r * a * t * (1-e^{-l t})/(l t).
                let during = r * a * t_in * one_minus_exp_over(l * t_in);
                let int_during =
                    r * a * (t_in - t_in * one_minus_exp_over(l * t_in)) / l.max(1e-300);
                if tau <= dur {
                    amt += during;
                    integral += if l * t_in < 1e-8 {
                        r * a * t_in * t_in / 2.0
                    } else {
                        int_during
                    };
                } else {
                    let after = tau - dur;
                    amt += during * (-l * after).exp();
                    let int_d = if l * dur < 1e-8 {
                        r * a * dur * dur / 2.0
                    } else {
                        int_during
                    };
                    integral += int_d + during * after * one_minus_exp_over(l * after);
                }
            }
            Input::FirstOrder => {
                let s = tau - p.tlag;
                if s <= 0.0 {
                    continue;
                }
                let ka = p.ka;
                if (ka - l).abs() <= 1e-9 * ka {
                    // Limit ka -> lambda: a ka s e^{-ka s}.
                    amt += a * ka * s * (-ka * s).exp();
                    integral += a * (1.0 - (-ka * s).exp() * (1.0 + ka * s)) / ka;
                } else {
                    let g = a * ka / (ka - l);
                    amt += g * ((-l * s).exp() - (-ka * s).exp());
                    integral += g * s * (one_minus_exp_over(l * s) - one_minus_exp_over(ka * s));
                }
            }
        }
    }
    (amt, integral)
}

#[derive(Clone, Copy)]
enum Input {
    Bolus,
    Infusion(f64),
    FirstOrder,
}

fn input_of(e: &DoseEvent, p: &PkParams) -> Result<(Input, f64)> {
    if e.ss != 0 {
        // A steady-state dose is not one dose: refused rather than summed as one.
        return Err(ModelError::new(
            "ss",
            format!(
                "the closed form superposes single doses; the steady-state dose of {} at {} h \
                 (ss = {}) is simulated by sp.simulate",
                e.drug, e.time, e.ss
            ),
        ));
    }
    if e.route.to_depot() {
        if !p.has_depot() {
            return Err(ModelError::new(
                "route",
                format!("{} dose of {} needs ka > 0", e.route.name(), e.drug),
            ));
        }
        Ok((Input::FirstOrder, e.amount * p.f))
    } else if e.duration > 0.0 {
        Ok((Input::Infusion(e.duration), e.amount))
    } else {
        Ok((Input::Bolus, e.amount))
    }
}

fn check_finite(v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ModelError::new(
            "params",
            "the closed form overflows: check volumes and rate constants",
        ))
    }
}

/// Concentrations (mg/L) at `times` (h) by superposition of `doses` (all of one drug).
pub fn concentrations(p: &PkParams, doses: &[DoseEvent], times: &[f64]) -> Result<Vec<f64>> {
    let d = Disposition::new(p)?;
    let inputs = doses
        .iter()
        .map(|e| input_of(e, p))
        .collect::<Result<Vec<_>>>()?;
    times
        .iter()
        .map(|&t| {
            let a: f64 = doses
                .iter()
                .zip(&inputs)
                .filter(|(e, _)| e.time < t)
                .map(|(e, &(inp, amt))| amt * unit_response(&d, p, inp, t - e.time).0)
                .sum();
            check_finite(a / p.vc)
        })
        .collect()
}

/// Exact AUC (mg.h/L) of the concentration over `[t0, t1]`.
pub fn auc(p: &PkParams, doses: &[DoseEvent], t0: f64, t1: f64) -> Result<f64> {
    let d = Disposition::new(p)?;
    let mut total = 0.0;
    for e in doses {
        let (inp, amt) = input_of(e, p)?;
        let cum = |t: f64| {
            if t > e.time {
                unit_response(&d, p, inp, t - e.time).1
            } else {
                0.0
            }
        };
        total += amt * (cum(t1) - cum(t0));
    }
    check_finite(total / p.vc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::drug::Route;

    fn dose(time: f64, amount: f64, route: Route, duration: f64) -> DoseEvent {
        DoseEvent {
            time,
            drug: "x".into(),
            amount,
            route,
            duration,
            block: 0,
            cycle: 1,
            day: 1,
            line: 0,
            ss: 0,
            ii: 0.0,
        }
    }

    fn pk(n: u8) -> PkParams {
        PkParams {
            compartments: n,
            ka: 1.2,
            cl: 10.0,
            vc: 50.0,
            q: 5.0,
            vp: 80.0,
            q2: 2.0,
            vp2: 200.0,
            f: 0.8,
            ..Default::default()
        }
    }

    #[test]
    fn one_compartment_bolus_is_exponential() {
        let p = pk(1);
        let c = concentrations(&p, &[dose(0.0, 100.0, Route::Iv, 0.0)], &[3.0]).unwrap();
        assert!((c[0] - 2.0 * (-0.2f64 * 3.0).exp()).abs() < 1e-14);
    }

    #[test]
    fn auc_to_infinity_is_dose_over_cl() {
        for n in 1..=3 {
            let p = pk(n);
            for e in [
                dose(0.0, 100.0, Route::Oral, 0.0),
                dose(0.0, 100.0, Route::Iv, 2.0),
                dose(0.0, 100.0, Route::Iv, 0.0),
            ] {
                let f = if e.route == Route::Oral { p.f } else { 1.0 };
                let a = auc(&p, &[e], 0.0, 1e6).unwrap();
                assert!((a - f * 100.0 / p.cl).abs() < 1e-9 * a, "n={n} auc={a}");
            }
        }
    }

    #[test]
    fn cubic_roots_match_characteristic_polynomial() {
        let (k10, k12, k21, k13, k31) = pk(3).micro();
        let d = Disposition::new(&pk(3)).unwrap();
        for l in d.lambda {
            let poly = (k10 + k12 + k13 - l) * (k21 - l) * (k31 - l)
                - k12 * k21 * (k31 - l)
                - k13 * k31 * (k21 - l);
            assert!(poly.abs() < 1e-12, "{poly}");
        }
        assert!((d.coef.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
