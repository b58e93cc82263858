//! A scalar linear ODE `w' = a - b(t) w` (`b > 0` may be large and fast-varying) solved with the
//! 3-stage Radau IIA method (order 5, L-stable, stiffly accurate; Hairer and Wanner, *Solving
//! Ordinary Differential Equations II*, 2nd ed., 1996, section IV.5) on an adaptive grid, and
//! read at any time by one more Radau step from the grid point below it.
//!
//! The equation is linear, so the stage equations are a 3 x 3 linear system, solved directly:
//! no Newton iteration. The step size is controlled by step doubling (Richardson: one step
//! against two half steps, local error `(w_2 - w_1) / (2^5 - 1)`), and the two half steps are
//! kept: both their ends become grid points.

use crate::error::{ModelError, Result};

const S6: f64 = 2.449_489_742_783_178; // sqrt(6)
/// Nodes of Radau IIA with three stages.
const C: [f64; 3] = [(4.0 - S6) / 10.0, (4.0 + S6) / 10.0, 1.0];
/// Its coefficient matrix (rows: stages).
const A: [[f64; 3]; 3] = [
    [
        (88.0 - 7.0 * S6) / 360.0,
        (296.0 - 169.0 * S6) / 1800.0,
        (-2.0 + 3.0 * S6) / 225.0,
    ],
    [
        (296.0 + 169.0 * S6) / 1800.0,
        (88.0 + 7.0 * S6) / 360.0,
        (-2.0 - 3.0 * S6) / 225.0,
    ],
    [(16.0 - S6) / 36.0, (16.0 + S6) / 36.0, 1.0 / 9.0],
];

/// Safety factor and bounds of the step-size ratio of the controller.
const SAFETY: f64 = 0.9;
const GROW: f64 = 5.0;
const SHRINK: f64 = 0.2;

/// One Radau IIA step of `w' = a - b(t) w` from `w` at `t` to `t + h`. The stage
/// equations `W_i = w + h sum_j A_ij (a - b_j W_j)` are `(I + h A diag(b)) W = w + h a c`; the
/// step's result is the last stage.
pub fn step(w: f64, a: f64, b: impl Fn(f64) -> f64, t: f64, h: f64) -> f64 {
    let bs = C.map(|c| b(t + c * h));
    let mut m = [[0.0; 4]; 3];
    for i in 0..3 {
        for j in 0..3 {
            m[i][j] = h * A[i][j] * bs[j] + if i == j { 1.0 } else { 0.0 };
        }
        m[i][3] = w + h * a * C[i];
    }
    last_of_solution(m)
}

/// The last unknown of the 3 x 3 system in the augmented matrix `m = [I + h A diag(b) | r]`, by
/// Gaussian elimination without pivoting: for `h b >= 0` the multipliers stay below about 2
/// (`A_21 / A_11` in the first column, about 1.2 in the second), so no pivoting is needed.
fn last_of_solution(m: [[f64; 4]; 3]) -> f64 {
    let [r0, mut r1, mut r2] = m;
    let f1 = r1[0] / r0[0];
    let f2 = r2[0] / r0[0];
    for j in 1..4 {
        r1[j] -= f1 * r0[j];
        r2[j] -= f2 * r0[j];
    }
    let f = r2[1] / r1[1];
    (r2[3] - f * r1[3]) / (r2[2] - f * r1[2])
}

/// The solution of `w' = a - b(t) w` on `[0, span]` at the points of an adaptive grid.
#[derive(Debug, Clone, Default)]
pub struct Track {
    a: f64,
    t: Vec<f64>,
    w: Vec<f64>,
}

impl Track {
    /// Solves from `w0` at 0 to `span` with a local error per step of at most `tol(w)`, starting
    /// with step `h0`; `max_steps` bounds the attempted steps. The grid's storage is reused.
    pub fn solve(
        &mut self,
        (a, b): (f64, impl Fn(f64) -> f64),
        w0: f64,
        span: f64,
        tol: impl Fn(f64) -> f64,
        (h0, max_steps): (f64, u32),
    ) -> Result<()> {
        self.a = a;
        self.t.clear();
        self.w.clear();
        self.t.push(0.0);
        self.w.push(w0);
        let (mut t, mut w, mut h) = (0.0, w0, h0.min(span));
        let mut attempts = 0;
        while t < span {
            attempts += 1;
            if attempts > max_steps || h.is_nan() || h <= 0.0 || t + h == t {
                return Err(ModelError::new(
                    "solver",
                    format!("XPO1 engagement: no step size meets the tolerance at t = {t} h"),
                ));
            }
            let last = t + h >= span;
            let h_try = if last { span - t } else { h };
            let full = step(w, a, &b, t, h_try);
            let mid = step(w, a, &b, t, h_try / 2.0);
            let two = step(mid, a, &b, t + h_try / 2.0, h_try / 2.0);
            let err = (two - full).abs() / 31.0;
            let ratio = err / tol(two);
            let fac = if ratio > 0.0 {
                (SAFETY * ratio.powf(-1.0 / 6.0)).clamp(SHRINK, GROW)
            } else {
                GROW
            };
            if ratio <= 1.0 && two.is_finite() {
                self.t.push(t + h_try / 2.0);
                self.w.push(mid);
                t = if last { span } else { t + h_try };
                w = two;
                self.t.push(t);
                self.w.push(w);
            }
            h = h_try * fac;
        }
        Ok(())
    }

    /// The solution at `tau` in `[0, span]`: one Radau step from the grid point at or below it
    /// (`b` must be the function the track was solved with).
    pub fn at(&self, tau: f64, b: impl Fn(f64) -> f64) -> f64 {
        let k = self.t.partition_point(|&s| s <= tau).max(1) - 1;
        let (t, w) = (self.t[k], self.w[k]);
        if tau <= t {
            w
        } else {
            step(w, self.a, b, t, tau - t)
        }
    }

    /// The solution at the end of the grid.
    pub fn end(&self) -> f64 {
        self.w.last().copied().unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_step_is_exact_to_order_five() {
        // w' = 1 - 2 w, w(0) = 0: w = (1 - exp(-2 t)) / 2. The error of one step falls as h^6.
        let exact = |t: f64| (1.0 - f64::exp(-2.0 * t)) / 2.0;
        let e1 = (step(0.0, 1.0, |_| 2.0, 0.0, 0.2) - exact(0.2)).abs();
        let e2 = (step(0.0, 1.0, |_| 2.0, 0.0, 0.1) - exact(0.1)).abs();
        let order = (e1 / e2).log2();
        assert!((5.5..6.5).contains(&order), "local order {order}");
    }

    #[test]
    fn a_stiff_step_lands_on_the_steady_state() {
        // L-stable: across 1e6 time constants the initial value's share is damped to
        // |R(-1e6)| = 3e-6 (R is the (2, 3) Pade approximant of exp) and the rest is the steady
        // state a / b = 3e-6.
        let w = step(1.0, 3.0, |_| 1e6, 0.0, 1.0);
        assert!((w - 6e-6).abs() < 1e-10, "{w}");
    }

    #[test]
    fn the_track_follows_a_fast_time_varying_rate() {
        // w' = a - b(t) w with b = k + kon c exp(-r t): w = exp(-B(t)) (w0 + a int exp(B)).
        // Checked against a fine composite-Simpson quadrature of that integral.
        let (a, k, q, r) = (0.03, 0.03, 150.0, 0.1);
        let b = |t: f64| k + q * f64::exp(-r * t);
        let big_b = |t: f64| k * t + q / r * (1.0 - f64::exp(-r * t));
        let exact = |t: f64| {
            let n = 200_000;
            let hh = t / n as f64;
            let f = |s: f64| f64::exp(big_b(s) - big_b(t));
            let mut s = f(0.0) + f(t);
            for i in 1..n {
                s += f(i as f64 * hh) * if i % 2 == 1 { 4.0 } else { 2.0 };
            }
            f64::exp(-big_b(t)) + a * s * hh / 3.0
        };
        let mut tr = Track::default();
        tr.solve((a, b), 1.0, 72.0, |_| 1e-9, (0.01, 100_000))
            .unwrap();
        for tau in [0.001, 0.05, 0.3, 1.0, 7.5, 30.0, 72.0] {
            let (got, want) = (tr.at(tau, b), exact(tau));
            assert!((got - want).abs() < 1e-8, "t {tau}: {got} vs {want}");
        }
        assert!(tr.t.len() < 400, "{} grid points", tr.t.len());
    }

    #[test]
    fn an_impossible_tolerance_is_an_error() {
        let mut tr = Track::default();
        let e = tr.solve((0.0, |t| 1.0 + t), 1.0, 10.0, |_| 0.0, (0.1, 1000));
        assert!(e.is_err());
    }
}
