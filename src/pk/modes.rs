//! Exact solution of one linear drug's compartments (depot, central, peripherals) over an
//! interval with a constant infusion rate `b` into the central compartment:
//!
//! `z(t0 + tau) = sum_j exp(-r_j tau) c_j v_j + w`,  `c = V^-1 (z(t0) - w)`,  `w = -A^-1 b`,
//!
//! where `A` is the compartment matrix, `r_j` its decay rates (the disposition eigenvalues and,
//! with a depot, `ka`) and `v_j` its eigenvectors. The segment integrator uses it to take linear
//! PK out of the ODE system (src/solver.rs, [`crate::solver::LinearPk::Exact`]).
//!
//! Eigenvectors of the mammillary model in closed form: for a disposition rate `l`,
//! `v = (depot 0, central 1, k12 / (k21 - l), k13 / (k31 - l))`; for the depot rate `ka`,
//! `v = (1, x, k12 x / (k21 - ka), k13 x / (k31 - ka))` with `x = ka / g(ka)` and
//! `g(l) = k10 + k12 + k13 - l - k12 k21 / (k21 - l) - k13 k31 / (k31 - l)`, whose roots are
//! the disposition rates. `V` is inverted numerically; a drug whose `V` is ill-conditioned (`ka`
//! close to a disposition rate, a zero flow) gets no modes and stays on the ODE path.

use crate::numerics::dopri5::NODES;
use crate::params::PkParams;
use crate::pk::closed_form::Disposition;

/// Most states of one drug's linear block: depot, central, two peripherals.
pub const MAX_BLOCK: usize = 4;

/// Largest accepted condition number `|V| |V^-1|` (infinity norms): rounding errors of the
/// modal solution stay below about `1e6 * eps = 2e-10` relative.
const MAX_CONDITION: f64 = 1e6;

/// Eigen-decomposition of one drug's linear compartment matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearModes {
    /// States in the block, in the order depot (if any), central, peripheral 1, peripheral 2.
    pub k: usize,
    /// Position of the central compartment in the block.
    pub central: usize,
    /// Decay rates `r_j` (1/h), all > 0.
    pub rates: [f64; MAX_BLOCK],
    /// `v[i][j]`: state `i` of eigenvector `j`.
    v: [[f64; MAX_BLOCK]; MAX_BLOCK],
    vinv: [[f64; MAX_BLOCK]; MAX_BLOCK],
    /// Steady state of the block per unit infusion rate (mg per mg/h).
    w_unit: [f64; MAX_BLOCK],
    inv_vc: f64,
}

/// The modal coefficients of one drug over one segment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ModalState {
    /// `c_j`: amplitude of mode `j` at the segment start.
    c: [f64; MAX_BLOCK],
    /// Steady state `w` of the current infusion rate.
    w: [f64; MAX_BLOCK],
    /// Concentration amplitudes `c_j v[central][j] / Vc` and the constant `w[central] / Vc`.
    a: [f64; MAX_BLOCK],
    cw: f64,
}

/// `exp(-r_j (t - t0))` of every mode at the start and at the end (`start + h`) of the last step
/// [`LinearModes::conc_nodes`] served, in the segment starting at `t0`.
#[derive(Debug, Clone, Copy)]
pub struct StepExps {
    t0: f64,
    start: f64,
    end: f64,
    e_start: [f64; MAX_BLOCK],
    e_end: [f64; MAX_BLOCK],
}

impl Default for StepExps {
    fn default() -> Self {
        Self {
            t0: f64::NAN, // matches no segment
            start: f64::NAN,
            end: f64::NAN,
            e_start: [0.0; MAX_BLOCK],
            e_end: [0.0; MAX_BLOCK],
        }
    }
}

impl StepExps {
    /// The modes' `exp(-r_j tau)` at `t`, if `t` is the end of the last step served in the
    /// segment starting at `t0`.
    pub fn at_end(&self, t0: f64, t: f64) -> Option<&[f64; MAX_BLOCK]> {
        (self.t0 == t0 && self.end == t).then_some(&self.e_end)
    }
}

impl LinearModes {
    /// The decomposition, or `None` for a Michaelis-Menten drug or an ill-conditioned one.
    pub fn new(p: &PkParams) -> Option<Self> {
        if p.mm {
            return None;
        }
        let disp = Disposition::new(p).ok()?;
        let (k10, k12, k21, k13, k31) = p.micro();
        let big_k = k10 + k12 + k13;
        let g = |l: f64| big_k - l - k12 * k21 / (k21 - l) - k13 * k31 / (k31 - l);
        let dg = |l: f64| -1.0 - k12 * k21 / (k21 - l).powi(2) - k13 * k31 / (k31 - l).powi(2);
        let depot = p.has_depot();
        let off = usize::from(depot);
        let nd = disp.n;
        let k = off + usize::from(p.compartments);
        let central = off;
        let mut rates = [0.0; MAX_BLOCK];
        let mut v = [[0.0; MAX_BLOCK]; MAX_BLOCK];
        // The other states of an eigenvector, given its central component.
        let periph = |col: &mut [[f64; MAX_BLOCK]; MAX_BLOCK], j: usize, l: f64, x: f64| {
            if p.compartments >= 2 {
                col[central + 1][j] = k12 * x / (k21 - l);
            }
            if p.compartments >= 3 {
                col[central + 2][j] = k13 * x / (k31 - l);
            }
        };
        for (i, &l0) in disp.lambda[..nd].iter().enumerate() {
            // Two Newton steps on g polish the closed-form root (the small root of the
            // quadratic formula loses digits to cancellation).
            let mut l = l0;
            for _ in 0..2 {
                let d = dg(l);
                if d != 0.0 && d.is_finite() {
                    l -= g(l) / d;
                }
            }
            let j = off + i;
            rates[j] = l;
            v[central][j] = 1.0;
            periph(&mut v, j, l, 1.0);
        }
        if depot {
            let x = p.ka / g(p.ka);
            rates[0] = p.ka;
            v[0][0] = 1.0;
            v[central][0] = x;
            periph(&mut v, 0, p.ka, x);
        }
        let vinv = invert(&v, k)?;
        let norm = |m: &[[f64; MAX_BLOCK]; MAX_BLOCK]| {
            (0..k)
                .map(|i| (0..k).map(|j| m[i][j].abs()).sum::<f64>())
                .fold(0.0, f64::max)
        };
        let cond = norm(&v) * norm(&vinv);
        if !(cond.is_finite() && cond <= MAX_CONDITION)
            || rates[..k].iter().any(|r| !(r.is_finite() && *r > 0.0))
        {
            return None;
        }
        let mut w_unit = [0.0; MAX_BLOCK];
        w_unit[central] = 1.0 / k10;
        if p.compartments >= 2 {
            w_unit[central + 1] = k12 / k21 / k10;
        }
        if p.compartments >= 3 {
            w_unit[central + 2] = k13 / k31 / k10;
        }
        if !w_unit.iter().all(|x| x.is_finite()) {
            return None;
        }
        Some(Self {
            k,
            central,
            rates,
            v,
            vinv,
            w_unit,
            inv_vc: 1.0 / p.vc,
        })
    }

    /// The modal coefficients of block state `z` (amounts, mg) under infusion rate `b` (mg/h).
    pub fn start(&self, z: &[f64; MAX_BLOCK], b: f64, out: &mut ModalState) {
        let k = self.k;
        let mut d = [0.0; MAX_BLOCK];
        for i in 0..k {
            out.w[i] = b * self.w_unit[i];
            d[i] = z[i] - out.w[i];
        }
        for j in 0..k {
            let cj: f64 = (0..k).map(|i| self.vinv[j][i] * d[i]).sum();
            out.c[j] = cj;
            out.a[j] = cj * self.v[self.central][j] * self.inv_vc;
        }
        out.cw = out.w[self.central] * self.inv_vc;
    }

    /// The block state `V c` (amounts, mg) of modal amplitudes `c`.
    pub fn block_of(&self, c: &[f64; MAX_BLOCK]) -> [f64; MAX_BLOCK] {
        let mut z = [0.0; MAX_BLOCK];
        for (i, zi) in z.iter_mut().enumerate().take(self.k) {
            *zi = (0..self.k).map(|j| self.v[i][j] * c[j]).sum();
        }
        z
    }

    /// The modal amplitudes of a unit amount put into block state `i` (column `i` of `V^-1`).
    pub fn unit_input(&self, i: usize) -> [f64; MAX_BLOCK] {
        let mut u = [0.0; MAX_BLOCK];
        for (j, uj) in u.iter_mut().enumerate().take(self.k) {
            *uj = self.vinv[j][i];
        }
        u
    }

    /// The initial step (h) Hairer's heuristic would choose for this block alone if it were
    /// integrated from the segment start (state `z0`) with tolerances `rtol`, `atol` (the
    /// block's derivative at the start and at a first trial step from the exact solution), at
    /// most `h_max`. The integrated states do not see a dose that is still being absorbed or
    /// distributed; a first step longer than this could cross that transient unnoticed by the
    /// error estimate.
    pub fn initial_step(
        &self,
        s: &ModalState,
        z0: &[f64; MAX_BLOCK],
        rtol: f64,
        atol: f64,
        h_max: f64,
    ) -> f64 {
        let k = self.k;
        let (mut z, mut f0, mut f1) = ([0.0; MAX_BLOCK], [0.0; MAX_BLOCK], [0.0; MAX_BLOCK]);
        self.at(s, 0.0, &mut z, &mut f0);
        let rms = |v: &[f64; MAX_BLOCK]| {
            let sum: f64 = (0..k)
                .map(|i| (v[i] / (atol + rtol * z0[i].abs())).powi(2))
                .sum();
            (sum / k as f64).sqrt()
        };
        let (dny, dnf) = (rms(z0), rms(&f0));
        let mut h = if dnf <= 1e-5 || dny <= 1e-5 {
            1e-6
        } else {
            0.01 * dny / dnf
        };
        h = h.min(h_max);
        self.at(s, h, &mut z, &mut f1);
        for i in 0..k {
            f1[i] -= f0[i];
        }
        let der12 = (rms(&f1) / h).max(dnf);
        let h1 = if der12 <= 1e-15 {
            (h * 1e-3).max(1e-6)
        } else {
            (0.01 / der12).powf(0.2)
        };
        (100.0 * h).min(h1).min(h_max)
    }

    /// The shortest time constant `1 / r_j` of the modes present in the concentration (infinite
    /// if none).
    pub fn time_scale(&self, s: &ModalState) -> f64 {
        (0..self.k)
            .filter(|&j| s.a[j] != 0.0)
            .map(|j| 1.0 / self.rates[j])
            .fold(f64::INFINITY, f64::min)
    }

    /// Concentration (mg/L) `tau` hours after the segment start.
    #[inline]
    pub fn conc(&self, s: &ModalState, tau: f64) -> f64 {
        let mut c = s.cw;
        for j in 0..self.k {
            if s.a[j] != 0.0 {
                c += s.a[j] * f64::exp(-self.rates[j] * tau);
            }
        }
        c
    }

    /// Concentrations (mg/L) at `t + c h` for the integrator's nodes `c` ([`NODES`]), `t - t0`
    /// hours into the segment that starts at `t0`: per mode `exp(-r (t - t0))`, carried over from
    /// the previous step in `carry` when this step starts where that one started (a retry after a
    /// rejection) or ended (the usual case), and `u = exp(-r h / 90)`, with the nodes (18, 27, 72,
    /// 80 and 90 ninetieths of the step) as powers of `u` by repeated multiplication (relative
    /// rounding about 1e-14 per step).
    #[inline(always)]
    pub fn conc_nodes(
        &self,
        s: &ModalState,
        t0: f64,
        t: f64,
        h: f64,
        out: &mut [f64; NODES.len()],
        carry: &mut StepExps,
    ) {
        *out = [s.cw; NODES.len()];
        let tau = t - t0;
        let known = if carry.t0 != t0 {
            None
        } else if t == carry.end {
            Some(carry.e_end)
        } else if t == carry.start {
            Some(carry.e_start)
        } else {
            None
        };
        let mut next = StepExps {
            t0,
            start: t,
            end: t + h,
            ..StepExps::default()
        };
        for j in 0..self.k {
            let r = self.rates[j];
            let e = known.map_or_else(|| f64::exp(-r * tau), |k| k[j]);
            let u = f64::exp(-r * h / 90.0);
            let u2 = u * u;
            let u4 = u2 * u2;
            let u8 = u4 * u4;
            let u9 = u8 * u;
            let u18 = u9 * u9;
            let u27 = u18 * u9;
            let u36 = u18 * u18;
            let u72 = u36 * u36;
            let u80 = u72 * u8;
            let u90 = u72 * u18;
            next.e_start[j] = e;
            next.e_end[j] = e * u90;
            let ae = s.a[j] * e;
            let powers = [u18, u27, u72, u80, u90];
            for (o, p) in out.iter_mut().zip(powers) {
                *o += ae * p;
            }
        }
        *carry = next;
    }

    /// Block states (mg) and their derivatives (mg/h) `tau` hours after the segment start, and
    /// the concentration's integral over `[0, tau]` (mg.h/L).
    pub fn at(
        &self,
        s: &ModalState,
        tau: f64,
        z: &mut [f64; MAX_BLOCK],
        dz: &mut [f64; MAX_BLOCK],
    ) -> f64 {
        let k = self.k;
        z[..k].copy_from_slice(&s.w[..k]);
        dz[..k].fill(0.0);
        let mut auc = s.cw * tau;
        for j in 0..k {
            if s.c[j] == 0.0 {
                continue;
            }
            let r = self.rates[j];
            let e = f64::exp(-r * tau);
            for i in 0..k {
                let u = s.c[j] * self.v[i][j];
                z[i] += u * e;
                dz[i] -= r * u * e;
            }
            // a_j (1 - exp(-r tau)) / r: expm1 where 1 - e would cancel
            let one_minus_e = if r * tau < 0.5 {
                -(-r * tau).exp_m1()
            } else {
                1.0 - e
            };
            auc += s.a[j] * one_minus_e / r;
        }
        auc
    }

    /// The central compartment's amount and its derivative at `tau`: the central entry of
    /// [`LinearModes::at`], without the other states and the AUC.
    pub fn central_at(&self, s: &ModalState, tau: f64) -> (f64, f64) {
        let mut e = [0.0; MAX_BLOCK];
        for (e, r) in e.iter_mut().zip(&self.rates[..self.k]) {
            *e = f64::exp(-r * tau);
        }
        self.central_from(s, &e)
    }

    /// [`LinearModes::central_at`] from the modes' `exp(-r_j tau)` (e.g. carried by
    /// [`StepExps`]).
    pub fn central_from(&self, s: &ModalState, e: &[f64; MAX_BLOCK]) -> (f64, f64) {
        let i = self.central;
        let (mut z, mut dz) = (s.w[i], 0.0);
        for (j, &ej) in e.iter().enumerate().take(self.k) {
            if s.c[j] == 0.0 {
                continue;
            }
            let u = s.c[j] * self.v[i][j] * ej;
            z += u;
            dz -= self.rates[j] * u;
        }
        (z, dz)
    }
}

/// Inverse of the leading `k x k` block by Gauss-Jordan elimination with partial pivoting.
fn invert(m: &[[f64; MAX_BLOCK]; MAX_BLOCK], k: usize) -> Option<[[f64; MAX_BLOCK]; MAX_BLOCK]> {
    let mut a = *m;
    let mut inv = [[0.0; MAX_BLOCK]; MAX_BLOCK];
    for (i, row) in inv.iter_mut().enumerate().take(k) {
        row[i] = 1.0;
    }
    for col in 0..k {
        let piv = (col..k).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        let p = a[piv][col];
        if !(p.is_finite() && p != 0.0) {
            return None;
        }
        a.swap(col, piv);
        inv.swap(col, piv);
        for j in 0..k {
            a[col][j] /= p;
            inv[col][j] /= p;
        }
        for r in 0..k {
            if r != col {
                let f = a[r][col];
                for j in 0..k {
                    a[r][j] -= f * a[col][j];
                    inv[r][j] -= f * inv[col][j];
                }
            }
        }
    }
    inv.iter().flatten().all(|x| x.is_finite()).then_some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pk(compartments: u8, ka: f64) -> PkParams {
        PkParams {
            compartments,
            mm: false,
            ka,
            cl: 17.9,
            vc: 85.0,
            q: 6.0,
            vp: 40.0,
            q2: 2.0,
            vp2: 120.0,
            f: 1.0,
            tlag: 0.0,
            vmax: 0.0,
            km: 0.0,
            kdes: 0.0,
            effect: None,
            e1: 0.0,
            e2: 0.0,
        }
    }

    /// The compartment matrix times z, plus the infusion b into the central compartment.
    fn deriv(p: &PkParams, z: &[f64], b: f64) -> Vec<f64> {
        let (k10, k12, k21, k13, k31) = p.micro();
        let off = usize::from(p.has_depot());
        let mut d = vec![0.0; z.len()];
        let c = off;
        d[c] = b - (k10 + k12 + k13) * z[c];
        if off == 1 {
            d[0] = -p.ka * z[0];
            d[c] += p.ka * z[0];
        }
        if p.compartments >= 2 {
            d[c] += k21 * z[c + 1];
            d[c + 1] = k12 * z[c] - k21 * z[c + 1];
        }
        if p.compartments >= 3 {
            d[c] += k31 * z[c + 2];
            d[c + 2] = k13 * z[c] - k31 * z[c + 2];
        }
        d
    }

    #[test]
    fn modal_solution_satisfies_the_ode_and_its_start() {
        for cmt in 1..=3u8 {
            for ka in [0.0, 1.2, 0.05] {
                let p = pk(cmt, ka);
                let m = LinearModes::new(&p).expect("well conditioned");
                let mut z0 = [0.0; MAX_BLOCK];
                for (i, z) in z0.iter_mut().enumerate().take(m.k) {
                    *z = 10.0 * (i as f64 + 1.0);
                }
                let b = 3.0;
                let mut s = ModalState::default();
                m.start(&z0, b, &mut s);
                let (mut z, mut dz) = ([0.0; MAX_BLOCK], [0.0; MAX_BLOCK]);
                m.at(&s, 0.0, &mut z, &mut dz);
                for i in 0..m.k {
                    assert!(
                        (z[i] - z0[i]).abs() < 1e-12 * 40.0,
                        "cmt {cmt} ka {ka}: z0[{i}]"
                    );
                }
                for tau in [0.3, 7.0, 100.0] {
                    m.at(&s, tau, &mut z, &mut dz);
                    let d = deriv(&p, &z[..m.k], b);
                    for i in 0..m.k {
                        assert!(
                            (dz[i] - d[i]).abs() < 1e-11 * (1.0 + d[i].abs()),
                            "cmt {cmt} ka {ka} tau {tau}: dz[{i}] {} vs {}",
                            dz[i],
                            d[i]
                        );
                    }
                    let c = m.conc(&s, tau);
                    assert!((c - z[m.central] / p.vc).abs() < 1e-14 * (1.0 + c.abs()));
                    let (zc, dzc) = m.central_at(&s, tau);
                    assert!((zc - z[m.central]).abs() <= 1e-14 * (1.0 + zc.abs()));
                    assert!((dzc - dz[m.central]).abs() <= 1e-14 * (1.0 + dzc.abs()));
                }
            }
        }
    }

    #[test]
    fn node_concentrations_match_direct_evaluation() {
        for (i, &c) in NODES.iter().enumerate() {
            assert_eq!((c * 90.0).round(), [18.0, 27.0, 72.0, 80.0, 90.0][i]);
            assert!((c * 90.0 - (c * 90.0).round()).abs() < 1e-12);
        }
        let p = pk(3, 1.2);
        let m = LinearModes::new(&p).unwrap();
        let mut s = ModalState::default();
        m.start(&[80.0, 3.0, 2.0, 1.0], 0.5, &mut s);
        let t0 = 5.0;
        let mut carry = StepExps::default();
        for (tau, h) in [(0.0, 0.01), (2.0, 0.3), (30.0, 12.0), (100.0, 60.0)] {
            let mut out = [0.0; NODES.len()];
            m.conc_nodes(&s, t0, t0 + tau, h, &mut out, &mut carry);
            for (i, &c) in NODES.iter().enumerate() {
                let direct = m.conc(&s, tau + c * h);
                assert!(
                    (out[i] - direct).abs() <= 1e-13 * direct.abs(),
                    "tau {tau} h {h} node {i}: {} vs {direct}",
                    out[i]
                );
            }
        }
        // Steps that follow each other (carried exponentials), with retries from the same start:
        // the carried values stay within rounding of the direct evaluation over 400 steps.
        let (mut t, mut carry) = (t0, StepExps::default());
        for k in 0..400 {
            let h = 0.05 + 0.01 * (k % 7) as f64;
            let mut out = [0.0; NODES.len()];
            if k % 5 == 0 {
                m.conc_nodes(&s, t0, t, 2.0 * h, &mut out, &mut carry); // rejected attempt
            }
            m.conc_nodes(&s, t0, t, h, &mut out, &mut carry);
            let end = carry.at_end(t0, t + h).expect("the step just served");
            let (z, dz) = m.central_from(&s, end);
            let (zd, dzd) = m.central_at(&s, t + h - t0);
            // dz sums -r_j u_j of either sign: rounding relative to the terms (rates ~ 1/h)
            assert!(
                (z - zd).abs() <= 1e-12 * zd.abs()
                    && (dz - dzd).abs() <= 1e-12 * (dzd.abs() + zd.abs()),
                "step {k}: {z} {dz} vs {zd} {dzd}"
            );
            for (i, &c) in NODES.iter().enumerate() {
                let direct = m.conc(&s, t - t0 + c * h);
                assert!(
                    (out[i] - direct).abs() <= 1e-12 * direct.abs(),
                    "step {k} node {i}: {} vs {direct}",
                    out[i]
                );
            }
            t += h;
        }
    }

    #[test]
    fn auc_is_the_integral_of_the_concentration() {
        let p = pk(2, 1.2);
        let m = LinearModes::new(&p).unwrap();
        let mut s = ModalState::default();
        m.start(&[80.0, 0.0, 0.0, 0.0], 0.0, &mut s);
        let tau = 30.0;
        let (mut z, mut dz) = ([0.0; MAX_BLOCK], [0.0; MAX_BLOCK]);
        let auc = m.at(&s, tau, &mut z, &mut dz);
        // composite Simpson on 30,000 intervals
        let n = 30_000;
        let h = tau / n as f64;
        let mut sum = m.conc(&s, 0.0) + m.conc(&s, tau);
        for i in 1..n {
            sum += if i % 2 == 1 { 4.0 } else { 2.0 } * m.conc(&s, i as f64 * h);
        }
        let simpson = sum * h / 3.0;
        assert!((auc - simpson).abs() < 1e-10 * auc, "{auc} vs {simpson}");
    }

    #[test]
    fn ka_equal_to_a_disposition_rate_is_refused() {
        let p = pk(1, 17.9 / 85.0);
        assert!(LinearModes::new(&p).is_none());
        let mm = PkParams {
            mm: true,
            ..pk(1, 1.0)
        };
        assert!(LinearModes::new(&mm).is_none());
    }
}
