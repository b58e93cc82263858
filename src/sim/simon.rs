//! Simon's two-stage phase II design (Simon, Control Clin Trials 1989;10:1): `n1` patients in
//! stage 1, stop for futility with `r1` or fewer responses, else `n - n1` more; the regimen is
//! declared active with more than `r` responses in all `n`. Exact operating characteristics
//! from the binomial distribution, the optimal and minimax designs for given `p0`, `p1`,
//! `alpha` and `beta`, and Monte-Carlo trials with a fixed response rate (the check of a
//! simulated response against the exact figures).

use crate::error::{in_range, ModelError, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A two-stage design: stop after `n1` with `<= r1` responses; active with `> r` of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimonDesign {
    pub r1: u32,
    pub n1: u32,
    pub r: u32,
    pub n: u32,
}

/// Operating characteristics of a design at a true response rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimonOc {
    /// Probability of early termination (stopping after stage 1).
    pub pet: f64,
    /// Probability of declaring the regimen active.
    pub p_active: f64,
    /// Expected sample size.
    pub en: f64,
}

/// Largest total sample size of a design search.
pub const MAX_N: u32 = 150;

impl SimonDesign {
    pub fn validate(&self) -> Result<()> {
        if self.n1 == 0 || self.n1 >= self.n || self.n > MAX_N {
            return Err(ModelError::new(
                "simon",
                format!(
                    "need 1 <= n1 < n <= {MAX_N}, got n1 = {}, n = {}",
                    self.n1, self.n
                ),
            ));
        }
        if self.r1 >= self.n1 || self.r < self.r1 || self.r >= self.n {
            return Err(ModelError::new(
                "simon",
                format!(
                    "need r1 < n1 and r1 <= r < n, got r1 = {}, r = {}",
                    self.r1, self.r
                ),
            ));
        }
        Ok(())
    }

    /// Exact operating characteristics at response rate `p`.
    pub fn oc(&self, p: f64) -> SimonOc {
        let b1 = binomial_pmf(self.n1, p);
        let b2 = binomial_pmf(self.n - self.n1, p);
        let pet: f64 = b1[..=self.r1 as usize].iter().sum();
        // P(active) = sum over x1 > r1 of P(X1 = x1) P(X2 > r - x1).
        let mut p_active = 0.0;
        for x1 in (self.r1 + 1)..=self.n1 {
            let need = i64::from(self.r) - i64::from(x1); // X2 must exceed this
            let tail: f64 = if need < 0 {
                1.0
            } else {
                b2.iter().skip(need as usize + 1).sum()
            };
            p_active += b1[x1 as usize] * tail;
        }
        SimonOc {
            pet,
            p_active,
            en: f64::from(self.n1) + (1.0 - pet) * f64::from(self.n - self.n1),
        }
    }

    /// Monte-Carlo trials with response rate `p`: (fraction stopped early, fraction declared
    /// active, mean sample size). Trial `i` draws from its own stream of `seed`.
    pub fn simulate(&self, p: f64, trials: u32, seed: u64) -> (f64, f64, f64) {
        let (mut early, mut active, mut total) = (0u64, 0u64, 0u64);
        for i in 0..trials {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(u64::from(i));
            let x1 = (0..self.n1).filter(|_| rng.random::<f64>() < p).count() as u32;
            if x1 <= self.r1 {
                early += 1;
                total += u64::from(self.n1);
                continue;
            }
            let x2 = (0..self.n - self.n1)
                .filter(|_| rng.random::<f64>() < p)
                .count() as u32;
            total += u64::from(self.n);
            if x1 + x2 > self.r {
                active += 1;
            }
        }
        let t = f64::from(trials.max(1));
        (early as f64 / t, active as f64 / t, total as f64 / t)
    }
}

impl SimonDesign {
    /// Trials run on given patient responses: trial `i` enrols patients `i n .. (i + 1) n` of
    /// `responses` in order, stage 1 being its first `n1` (the stage-2 patients of a trial that
    /// stops early are not used). Returns (fraction stopped early, fraction declared active,
    /// mean sample size), as [`SimonDesign::simulate`] does for a fixed response rate.
    pub fn run_on(&self, responses: &[bool]) -> Result<(f64, f64, f64)> {
        let n = self.n as usize;
        if responses.is_empty() || !responses.len().is_multiple_of(n) {
            return Err(ModelError::new(
                "responses",
                format!(
                    "need a whole number of trials of {n} patients, got {} responses",
                    responses.len()
                ),
            ));
        }
        let (mut early, mut active, mut total) = (0u64, 0u64, 0u64);
        let trials = responses.len() / n;
        for trial in responses.chunks_exact(n) {
            let (stage1, stage2) = trial.split_at(self.n1 as usize);
            let x1 = stage1.iter().filter(|&&r| r).count() as u32;
            if x1 <= self.r1 {
                early += 1;
                total += u64::from(self.n1);
                continue;
            }
            total += u64::from(self.n);
            if x1 + stage2.iter().filter(|&&r| r).count() as u32 > self.r {
                active += 1;
            }
        }
        let t = trials as f64;
        Ok((early as f64 / t, active as f64 / t, total as f64 / t))
    }
}

/// `P(X = k)` for `X ~ Binomial(n, p)`, `k = 0..=n`, from log-probabilities (no underflow of
/// `p^k` for the `n` of phase II trials; exact at `p = 0` and `p = 1`).
pub fn binomial_pmf(n: u32, p: f64) -> Vec<f64> {
    let n_us = n as usize;
    let mut out = vec![0.0; n_us + 1];
    if p <= 0.0 {
        out[0] = 1.0;
        return out;
    }
    if p >= 1.0 {
        out[n_us] = 1.0;
        return out;
    }
    // log pmf, then exponentiate (stable for the n of phase II trials).
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut log_choose = 0.0;
    for (k, o) in out.iter_mut().enumerate() {
        if k > 0 {
            log_choose += ((n_us - k + 1) as f64).ln() - (k as f64).ln();
        }
        *o = (log_choose + k as f64 * lp + (n_us - k) as f64 * lq).exp();
    }
    out
}

/// The optimal (smallest expected sample size under `p0`) and minimax (smallest `n`, then
/// smallest expected size) designs with type I error <= `alpha` at `p0` and power >= `1 - beta`
/// at `p1`, searching `n` up to `n_max`. `None` where no design up to `n_max` qualifies.
pub fn search(
    p0: f64,
    p1: f64,
    alpha: f64,
    beta: f64,
    n_max: u32,
) -> Result<(Option<SimonDesign>, Option<SimonDesign>)> {
    in_range("p0", p0, 0.0, 1.0)?;
    in_range("p1", p1, 0.0, 1.0)?;
    if p1 <= p0 {
        return Err(ModelError::new(
            "p1",
            format!("must exceed p0 = {p0}, got {p1}"),
        ));
    }
    for (f, v) in [("alpha", alpha), ("beta", beta)] {
        if !(v > 0.0 && v < 0.5) {
            return Err(ModelError::new(f, format!("must be in (0, 0.5), got {v}")));
        }
    }
    if !(2..=MAX_N).contains(&n_max) {
        return Err(ModelError::new(
            "n_max",
            format!("must be in 2..={MAX_N}, got {n_max}"),
        ));
    }
    let mut optimal: Option<(f64, SimonDesign)> = None;
    let mut minimax: Option<(u32, f64, SimonDesign)> = None;
    for n in 2..=n_max {
        for n1 in 1..n {
            let (b10, b11) = (binomial_pmf(n1, p0), binomial_pmf(n1, p1));
            let (b20, b21) = (binomial_pmf(n - n1, p0), binomial_pmf(n - n1, p1));
            // Upper tails of stage 2: tail[j] = P(X2 >= j).
            let tail = |b: &[f64]| {
                let mut t = vec![0.0; b.len() + 1];
                for j in (0..b.len()).rev() {
                    t[j] = t[j + 1] + b[j];
                }
                t
            };
            let (t0, t1) = (tail(&b20), tail(&b21));
            let active = |b1: &[f64], t: &[f64], r1: u32, r: u32| -> f64 {
                (r1 + 1..=n1)
                    .map(|x1| {
                        let j = (i64::from(r) - i64::from(x1) + 1).max(0) as usize;
                        b1[x1 as usize] * t.get(j).copied().unwrap_or(0.0)
                    })
                    .sum()
            };
            let mut pet0 = 0.0;
            for r1 in 0..n1 {
                pet0 += b10[r1 as usize];
                // The smallest r meeting the type I error (P(active) falls as r grows).
                let Some(r) = (r1..n).find(|&r| active(&b10, &t0, r1, r) <= alpha) else {
                    continue;
                };
                if active(&b11, &t1, r1, r) < 1.0 - beta {
                    continue;
                }
                let d = SimonDesign { r1, n1, r, n };
                let en0 = f64::from(n1) + (1.0 - pet0) * f64::from(n - n1);
                if optimal.is_none_or(|(e, _)| en0 < e - 1e-12) {
                    optimal = Some((en0, d));
                }
                if minimax.is_none_or(|(m, e, _)| n < m || (n == m && en0 < e - 1e-12)) {
                    minimax = Some((n, en0, d));
                }
            }
        }
    }
    Ok((optimal.map(|o| o.1), minimax.map(|m| m.2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pmf_sums_to_one_and_matches_a_hand_case() {
        let b = binomial_pmf(3, 0.5);
        for (x, y) in b.iter().zip([0.125, 0.375, 0.375, 0.125]) {
            assert!((x - y).abs() < 1e-15, "{b:?}");
        }
        let s: f64 = binomial_pmf(43, 0.27).iter().sum();
        assert!((s - 1.0).abs() < 1e-12);
    }

    #[test]
    fn oc_by_enumeration_of_a_small_design() {
        // r1 = 0 of n1 = 2, then r = 1 of n = 3 at p = 0.5: stop with 0 of 2 (1/4); active
        // needs 2+ of 3 among the continuing paths: x1 = 1 -> x2 = 1 (1/2 x 1/2); x1 = 2 -> any.
        let d = SimonDesign {
            r1: 0,
            n1: 2,
            r: 1,
            n: 3,
        };
        let oc = d.oc(0.5);
        assert!((oc.pet - 0.25).abs() < 1e-14);
        assert!((oc.p_active - (0.5 * 0.5 + 0.25)).abs() < 1e-14);
        assert!((oc.en - (2.0 + 0.75)).abs() < 1e-14);
    }

    #[test]
    fn trials_on_given_responses_follow_the_design_and_agree_with_the_exact_figures() {
        let d = SimonDesign {
            r1: 0,
            n1: 2,
            r: 1,
            n: 3,
        };
        // stop (0 of 2); continue and fail (1 + 0); continue and succeed (1 + 1); (2 + 0)
        let r = [
            false, false, true, true, false, false, true, true, true, false, true, true,
        ];
        let (pet, act, en) = d.run_on(&r).unwrap();
        assert_eq!((pet, act, en), (0.25, 0.5, 2.75));
        assert!(d.run_on(&r[..4]).is_err());
        // Responses drawn with a fixed rate: within Monte-Carlo error of the exact figures.
        let p13 = SimonDesign {
            r1: 3,
            n1: 13,
            r: 12,
            n: 43,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let resp: Vec<bool> = (0..43 * 20_000)
            .map(|_| rng.random::<f64>() < 0.3)
            .collect();
        let (pet, act, en) = p13.run_on(&resp).unwrap();
        let oc = p13.oc(0.3);
        let se = |p: f64| (p * (1.0 - p) / 20_000.0).sqrt();
        assert!(
            (pet - oc.pet).abs() < 4.0 * se(oc.pet),
            "{pet} vs {}",
            oc.pet
        );
        assert!(
            (act - oc.p_active).abs() < 4.0 * se(oc.p_active),
            "{act} vs {}",
            oc.p_active
        );
        assert!(
            (en - oc.en).abs() < 4.0 * 30.0 * se(oc.pet),
            "{en} vs {}",
            oc.en
        );
    }
}
