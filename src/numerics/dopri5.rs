//! Dormand-Prince 5(4) with the FSAL property and Hairer's PI step-size controller, on fixed-size
//! stack arrays: no allocation per step or per segment.
//!
//! The method, the error estimate, the controller (safety 0.9, beta 0.04, step ratio in
//! [0.2, 10]) and the initial step guess follow DOPRI5 of Hairer, Norsett and Wanner, *Solving
//! Ordinary Differential Equations I* (2nd ed., 1993, section II.4 and its Fortran code), as do
//! ode_solvers' `Dopri5`; tests/solver_lean.rs checks both against each other and against closed
//! forms. Only the first `n` of the `N` array entries are states: the others must stay 0 (the
//! right-hand side sets their derivatives to 0), and the error norm is the RMS over the `n`. The
//! loops run over all `N` entries, a compile-time length the compiler unrolls and vectorises.

use crate::error::{ModelError, Result};

// Nodes and coefficients (Dormand and Prince 1980).
const C2: f64 = 1.0 / 5.0;
const C3: f64 = 3.0 / 10.0;
const C4: f64 = 4.0 / 5.0;
const C5: f64 = 8.0 / 9.0;
const A21: f64 = 1.0 / 5.0;
const A31: f64 = 3.0 / 40.0;
const A32: f64 = 9.0 / 40.0;
const A41: f64 = 44.0 / 45.0;
const A42: f64 = -56.0 / 15.0;
const A43: f64 = 32.0 / 9.0;
const A51: f64 = 19372.0 / 6561.0;
const A52: f64 = -25360.0 / 2187.0;
const A53: f64 = 64448.0 / 6561.0;
const A54: f64 = -212.0 / 729.0;
const A61: f64 = 9017.0 / 3168.0;
const A62: f64 = -355.0 / 33.0;
const A63: f64 = 46732.0 / 5247.0;
const A64: f64 = 49.0 / 176.0;
const A65: f64 = -5103.0 / 18656.0;
const A71: f64 = 35.0 / 384.0;
const A73: f64 = 500.0 / 1113.0;
const A74: f64 = 125.0 / 192.0;
const A75: f64 = -2187.0 / 6784.0;
const A76: f64 = 11.0 / 84.0;
// Error coefficients: fifth-order minus embedded fourth-order weights.
const E1: f64 = 71.0 / 57600.0;
const E3: f64 = -71.0 / 16695.0;
const E4: f64 = 71.0 / 1920.0;
const E5: f64 = -17253.0 / 339200.0;
const E6: f64 = 22.0 / 525.0;
const E7: f64 = -1.0 / 40.0;

/// Nodes `c` of the stages after the first, as fractions of the step (stages 6 and 7 both at the
/// step end, so four distinct inner nodes and the end).
pub const NODES: [f64; 5] = [C2, C3, C4, C5, 1.0];

/// The right-hand side of an integration by [`integrate`]. Closures
/// `FnMut(t, &y, &mut dy)` implement it.
pub trait Rhs<const N: usize> {
    /// Called before the stages of each attempted step from `t` with size `h`: they are then
    /// evaluated at `t + NODES[i] h` ([`Rhs::eval`] with `node = Some(i)`), so a right-hand side
    /// with a time-dependent forcing can compute it at all the nodes at once.
    fn begin_step(&mut self, _t: f64, _h: f64) {}
    /// `dy = f(t, y)`; `node` is the stage's index into [`NODES`] within the current step, or
    /// `None` (initial-step heuristic).
    fn eval(&mut self, t: f64, node: Option<usize>, y: &[f64; N], dy: &mut [f64; N]);
}

impl<const N: usize, F: FnMut(f64, &[f64; N], &mut [f64; N])> Rhs<N> for F {
    #[inline]
    fn eval(&mut self, t: f64, _node: Option<usize>, y: &[f64; N], dy: &mut [f64; N]) {
        self(t, y, dy)
    }
}

const SAFETY: f64 = 0.9;
const BETA: f64 = 0.04;
/// Exponent of the error in the step-size factor: 1/5 - 0.75 beta.
const EXPO1: f64 = 0.2 - BETA * 0.75;
/// Bounds of h_old / h_new (step ratio in [0.2, 10]).
const FACC1: f64 = 1.0 / 0.2;
const FACC2: f64 = 1.0 / 10.0;
const UROUND: f64 = f64::EPSILON;
/// ln(1e-4): the controller's memory of the previous error is clamped at 1e-4.
const LN_ERR_FLOOR: f64 = -9.210_340_371_976_182;

/// Step-size state carried from one segment to the next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepState {
    /// Next trial step (0: choose one with Hairer's initial-step heuristic).
    pub h: f64,
    /// ln of the previous accepted error (the controller's memory), clamped at 1e-4.
    ln_err_old: f64,
    /// Upper bound of the heuristic's initial step (the caller may know of a fast forcing the
    /// state at the start does not show).
    pub first_max: f64,
}

impl Default for StepState {
    fn default() -> Self {
        Self {
            h: 0.0,
            ln_err_old: LN_ERR_FLOOR,
            first_max: f64::INFINITY,
        }
    }
}

impl StepState {
    /// Forget the step size and the controller memory (after a jump in the state or the
    /// right-hand side).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// Counters of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepCounts {
    pub rhs_evals: u64,
    pub accepted: u64,
    pub rejected: u64,
}

/// Tolerances and limits of one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    pub rtol: f64,
    pub atol: f64,
    pub max_steps: u32,
}

/// RMS over the first `n` entries of `(v / (atol + rtol * s))`, with `s = max(|a|, |b|)` (the
/// padding entries of `v` are 0 and add nothing).
#[inline]
fn rms<const N: usize>(
    n: usize,
    v: &[f64; N],
    a: &[f64; N],
    b: &[f64; N],
    tol: &Tolerances,
) -> f64 {
    let mut sum = 0.0;
    for i in 0..N {
        let sc = tol.atol + tol.rtol * a[i].abs().max(b[i].abs());
        let r = v[i] / sc;
        sum += r * r;
    }
    (sum / n as f64).sqrt()
}

/// Hairer's initial step: a first guess from |y|/|f|, refined by one explicit Euler step.
fn initial_step<const N: usize>(
    n: usize,
    f: &mut impl Rhs<N>,
    t: f64,
    y: &[f64; N],
    f0: &[f64; N],
    h_max: f64,
    tol: &Tolerances,
) -> f64 {
    let dnf = rms(n, f0, y, y, tol);
    let dny = rms(n, y, y, y, tol);
    let mut h = if dnf <= 1e-5 || dny <= 1e-5 {
        1e-6
    } else {
        0.01 * dny / dnf
    };
    h = h.min(h_max);
    let mut y1 = [0.0; N];
    for i in 0..N {
        y1[i] = y[i] + h * f0[i];
    }
    let mut f1 = [0.0; N];
    f.eval(t + h, None, &y1, &mut f1);
    for i in 0..N {
        f1[i] -= f0[i];
    }
    let der2 = rms(n, &f1, y, y, tol) / h;
    let der12 = der2.abs().max(dnf);
    let h1 = if der12 <= 1e-15 {
        (h * 1e-3).max(1e-6)
    } else {
        (0.01 / der12).powf(0.2)
    };
    (100.0 * h).min(h1).min(h_max)
}

/// Integrates `dy/dt = f(t, y)` from `t` to `t_end` (> `t`), overwriting `y` with the solution at
/// `t_end`. `dy` holds `f(t, y)` on entry and `f(t_end, y(t_end))` on exit (first same as last).
/// `on_step(t, y, dy, f)` sees every accepted step (and the right-hand side, whose last
/// [`Rhs::begin_step`] was for that step). `step` carries the step size between calls.
#[allow(clippy::too_many_arguments)]
pub fn integrate<const N: usize, F: Rhs<N>>(
    n: usize,
    mut f: F,
    mut t: f64,
    t_end: f64,
    y: &mut [f64; N],
    dy: &mut [f64; N],
    step: &mut StepState,
    tol: &Tolerances,
    mut on_step: impl FnMut(f64, &[f64; N], &[f64; N], &F),
) -> Result<StepCounts> {
    let mut counts = StepCounts::default();
    let h_max = t_end - t;
    let mut h = if step.h > 0.0 {
        step.h.min(h_max)
    } else {
        counts.rhs_evals += 1;
        initial_step(n, &mut f, t, y, dy, h_max.min(step.first_max), tol)
    };
    let mut rejected_last = false;
    let (mut k2, mut k3, mut k4, mut k5, mut k6, mut k7) =
        ([0.0; N], [0.0; N], [0.0; N], [0.0; N], [0.0; N], [0.0; N]);
    let mut ys = [0.0; N];
    let mut y_new = [0.0; N];
    let mut err_v = [0.0; N];
    let mut last = false;
    let mut steps: u32 = 0;
    loop {
        if steps >= tol.max_steps {
            return Err(ModelError::new(
                "solver",
                format!(
                    "more than {} steps between t = {t} h and {t_end} h (max_steps)",
                    tol.max_steps
                ),
            ));
        }
        if 0.1 * h.abs() <= UROUND * t.abs() || !h.is_finite() {
            return Err(ModelError::new(
                "solver",
                format!(
                    "step size underflow at t = {t} h (the solution is not finite or too stiff)"
                ),
            ));
        }
        let h_planned = h;
        if t + 1.01 * h >= t_end {
            h = t_end - t;
            last = true;
        }
        steps += 1;
        f.begin_step(t, h);
        let k1 = &*dy;
        for i in 0..N {
            ys[i] = y[i] + h * A21 * k1[i];
        }
        f.eval(t + C2 * h, Some(0), &ys, &mut k2);
        for i in 0..N {
            ys[i] = y[i] + h * (A31 * k1[i] + A32 * k2[i]);
        }
        f.eval(t + C3 * h, Some(1), &ys, &mut k3);
        for i in 0..N {
            ys[i] = y[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
        }
        f.eval(t + C4 * h, Some(2), &ys, &mut k4);
        for i in 0..N {
            ys[i] = y[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
        }
        f.eval(t + C5 * h, Some(3), &ys, &mut k5);
        for i in 0..N {
            ys[i] =
                y[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i]);
        }
        let t_new = if last { t_end } else { t + h };
        f.eval(t_new, Some(4), &ys, &mut k6);
        for i in 0..N {
            y_new[i] =
                y[i] + h * (A71 * k1[i] + A73 * k3[i] + A74 * k4[i] + A75 * k5[i] + A76 * k6[i]);
        }
        f.eval(t_new, Some(4), &y_new, &mut k7);
        counts.rhs_evals += 6;
        for i in 0..N {
            err_v[i] =
                h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i]);
        }
        let mut w = [0.0; N];
        for i in 0..N {
            w[i] = tol.atol + tol.rtol * y[i].abs().max(y_new[i].abs());
        }
        let mut sum = 0.0;
        for i in 0..N {
            let r = err_v[i] / w[i];
            sum += r * r;
        }
        let err = (sum / n as f64).sqrt();
        // fac = err^expo1 / err_old^beta, bounded; h_new = h / fac
        let ln_err = err.ln();
        if err <= 1.0 {
            let fac = f64::exp(EXPO1 * ln_err - BETA * step.ln_err_old) / SAFETY;
            let mut h_new = h / fac.clamp(FACC2, FACC1);
            if rejected_last {
                h_new = h_new.min(h);
            }
            step.ln_err_old = ln_err.max(LN_ERR_FLOOR);
            rejected_last = false;
            counts.accepted += 1;
            t = t_new;
            *y = y_new;
            *dy = k7;
            on_step(t, y, dy, &f);
            if last {
                // Carry the controller's proposal, or the planned step if it was cut to t_end.
                step.h = if h < h_planned { h_planned } else { h_new };
                return Ok(counts);
            }
            h = h_new;
        } else {
            let fac = (f64::exp(EXPO1 * ln_err) / SAFETY).min(FACC1);
            h /= if fac.is_nan() { FACC1 } else { fac };
            if counts.accepted >= 1 {
                counts.rejected += 1;
            }
            rejected_last = true;
            last = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tol(rtol: f64) -> Tolerances {
        Tolerances {
            rtol,
            atol: rtol * 1e-3,
            max_steps: 100_000,
        }
    }

    #[test]
    fn error_floor_constant_is_ln_1e_4() {
        assert_eq!(LN_ERR_FLOOR, (1e-4f64).ln());
    }

    #[test]
    fn harmonic_oscillator_to_tolerance() {
        let f = |_t: f64, y: &[f64; 2], dy: &mut [f64; 2]| {
            dy[0] = y[1];
            dy[1] = -y[0];
        };
        for rtol in [1e-4, 1e-6, 1e-8, 1e-10] {
            let mut y = [1.0, 0.0];
            let mut dy = [0.0, -1.0];
            let mut st = StepState::default();
            let c = integrate(
                2,
                f,
                0.0,
                10.0,
                &mut y,
                &mut dy,
                &mut st,
                &tol(rtol),
                |_, _, _, _| {},
            )
            .expect("integrates");
            let e = (y[0] - 10f64.cos()).abs().max((y[1] + 10f64.sin()).abs());
            assert!(e < 100.0 * rtol, "rtol {rtol}: error {e}");
            assert!(c.accepted > 0 && c.rhs_evals == 6 * (c.accepted + c.rejected) + 1);
        }
    }

    #[test]
    fn order_five_on_a_smooth_problem() {
        // Halving the tolerance by 2^5 should roughly halve the number of steps (h ~ tol^(1/5)).
        let f = |t: f64, y: &[f64; 1], dy: &mut [f64; 1]| dy[0] = -2.0 * t * y[0];
        let steps = |rtol: f64| {
            let mut y = [1.0];
            let mut dy = [0.0];
            let mut st = StepState::default();
            let c = integrate(
                1,
                f,
                0.0,
                3.0,
                &mut y,
                &mut dy,
                &mut st,
                &tol(rtol),
                |_, _, _, _| {},
            )
            .expect("integrates");
            assert!((y[0] - (-9.0f64).exp()).abs() < 1e-3 * rtol.sqrt());
            c.accepted as f64
        };
        let r = steps(1e-9 / 32.0) / steps(1e-9);
        assert!((1.6..2.6).contains(&r), "step ratio {r}");
    }

    #[test]
    fn non_finite_solution_is_an_error_not_a_hang() {
        let f = |_t: f64, y: &[f64; 1], dy: &mut [f64; 1]| dy[0] = y[0] * y[0];
        let mut y = [1.0];
        let mut dy = [1.0];
        let mut st = StepState::default();
        let r = integrate(
            1,
            f,
            0.0,
            2.0,
            &mut y,
            &mut dy,
            &mut st,
            &tol(1e-6),
            |_, _, _, _| {},
        );
        assert!(r.is_err(), "blow-up at t = 1 must be reported");
    }
}
