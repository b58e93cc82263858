//! The Bayesian optimal interval design (BOIN; Liu & Yuan, J R Stat Soc C 2015;64:507), as the
//! authors' R package BOIN implements it (`get.boundary`, `get.oc`, `select.mtd`):
//! - boundaries lambda_e = log((1-p1)/(1-p)) / log(p(1-p1) / (p1(1-p))) and
//!   lambda_d = log((1-p)/(1-p2)) / log(p2(1-p) / (p(1-p2))) for target p, p1 = 0.6 p,
//!   p2 = 1.4 p by default; with n treated and y DLTs at the current level: escalate if
//!   y <= floor(lambda_e n), de-escalate if y >= ceil(lambda_d n), else stay;
//! - elimination: with n >= 3, P(p_j > target | y, n; Beta(1, 1) prior) > cutoff (0.95)
//!   eliminates level j and every level above (never treated again); the lowest level
//!   eliminated stops the trial with no MTD; the de-escalation boundary is capped by it;
//! - the trial stops at the maximum sample size, or when `n_earlystop` patients are at the
//!   current level and the next decision would be to stay;
//! - MTD: isotonic (PAVA) estimates of (y + 0.05)/(n + 0.1), weighted by the inverse of their
//!   variance, over the treated levels not eliminated; the level closest to the target
//!   (ties: the highest below the target, the lowest above it).

use super::{Design, Enroller, Halt};
use crate::error::{ModelError, Result};

pub fn default_target() -> f64 {
    0.3
}
pub fn default_cohort_size() -> usize {
    3
}
pub fn default_max_n() -> usize {
    30
}
pub fn default_cutoff_eli() -> f64 {
    0.95
}
pub fn default_n_earlystop() -> usize {
    100
}

#[derive(Debug, Clone)]
pub struct Boin {
    pub target: f64,
    pub cohort_size: usize,
    pub max_n: usize,
    pub lambda_e: f64,
    pub lambda_d: f64,
    pub cutoff_eli: f64,
    pub n_earlystop: usize,
    /// By n (index n, 0..=max_n): escalate if y <= esc[n], de-escalate if y >= deesc[n],
    /// eliminate if y >= elim[n] (None: no elimination at n).
    pub esc: Vec<i64>,
    pub deesc: Vec<i64>,
    pub elim: Vec<Option<i64>>,
}

impl Boin {
    pub fn new(
        target: f64,
        cohort_size: usize,
        max_n: usize,
        p_saf: f64,
        p_tox: f64,
        cutoff_eli: f64,
        n_earlystop: usize,
    ) -> Result<Self> {
        let open = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 && v < 1.0 {
                Ok(v)
            } else {
                Err(ModelError::new(
                    field,
                    format!("must be in (0, 1), got {v}"),
                ))
            }
        };
        open("target", target)?;
        open("p_saf", p_saf)?;
        open("p_tox", p_tox)?;
        open("cutoff_eli", cutoff_eli)?;
        if p_saf >= target {
            return Err(ModelError::new(
                "p_saf",
                format!("must be below the target {target}, got {p_saf}"),
            ));
        }
        if p_tox <= target {
            return Err(ModelError::new(
                "p_tox",
                format!("must be above the target {target}, got {p_tox}"),
            ));
        }
        if cohort_size == 0 {
            return Err(ModelError::new("cohort_size", "must be >= 1, got 0"));
        }
        if max_n < cohort_size {
            return Err(ModelError::new(
                "max_n",
                format!("must be >= cohort_size {cohort_size}, got {max_n}"),
            ));
        }
        if n_earlystop == 0 {
            return Err(ModelError::new("n_earlystop", "must be >= 1, got 0"));
        }
        let (lambda_e, lambda_d) = boundaries(target, p_saf, p_tox);
        let mut esc = Vec::with_capacity(max_n + 1);
        let mut deesc = Vec::with_capacity(max_n + 1);
        let mut elim = Vec::with_capacity(max_n + 1);
        for n in 0..=max_n {
            let nf = n as f64;
            let e = if n >= 3 {
                (1..=n).find(|&y| beta_sf(target, y + 1, n - y + 1) > cutoff_eli)
            } else {
                None
            };
            let e = e.map(|y| y as i64);
            let d = (lambda_d * nf).ceil() as i64;
            esc.push((lambda_e * nf).floor() as i64);
            deesc.push(e.map_or(d, |e| d.min(e)));
            elim.push(e);
        }
        Ok(Self {
            target,
            cohort_size,
            max_n,
            lambda_e,
            lambda_d,
            cutoff_eli,
            n_earlystop,
            esc,
            deesc,
            elim,
        })
    }

    /// The MTD from the counts at the end of a trial (None: the lowest level is eliminated).
    pub fn select_mtd(&self, n: &[u32], y: &[u32]) -> Option<usize> {
        let levels = n.len();
        let mut first_elim = levels;
        for j in 0..levels {
            if n[j] >= 3
                && beta_sf(self.target, y[j] as usize + 1, (n[j] - y[j]) as usize + 1)
                    > self.cutoff_eli
            {
                first_elim = j;
                break;
            }
        }
        let adm: Vec<usize> = (0..first_elim).filter(|&j| n[j] > 0).collect();
        if adm.is_empty() {
            return None;
        }
        let (est, w): (Vec<f64>, Vec<f64>) = adm
            .iter()
            .map(|&j| {
                let (yj, nj) = (f64::from(y[j]) + 0.05, f64::from(n[j]) + 0.1);
                let var = yj * (nj - yj) / (nj * nj * (nj + 1.0));
                (yj / nj, 1.0 / var)
            })
            .unzip();
        let iso = pava(&est, &w);
        let mut best = 0;
        let mut best_dist = f64::INFINITY;
        for (i, p) in iso.iter().enumerate() {
            // The package's tie-break: + i * 1e-10, then the first of the closest.
            let dist = (p + (i as f64 + 1.0) * 1e-10 - self.target).abs();
            if dist < best_dist {
                best_dist = dist;
                best = i;
            }
        }
        Some(adm[best])
    }
}

impl Design for Boin {
    fn name(&self) -> String {
        "boin".to_string()
    }

    fn max_patients(&self, _n_levels: usize) -> usize {
        self.max_n
    }

    fn run(&self, n_levels: usize, e: &mut Enroller) -> std::result::Result<Option<usize>, Halt> {
        let mut d = 0;
        let mut eliminated = n_levels; // levels >= this are eliminated
        while e.total() < self.max_n {
            let size = self.cohort_size.min(self.max_n - e.total());
            e.treat(d, size)?;
            let (n, y) = (e.n[d] as usize, i64::from(e.dlt[d]));
            if self.elim[n].is_some_and(|b| y >= b) {
                eliminated = eliminated.min(d);
                if d == 0 {
                    return Ok(None);
                }
            }
            let top = d + 1 == n_levels || d + 1 >= eliminated;
            if n >= self.n_earlystop
                && ((y > self.esc[n] && y < self.deesc[n])
                    || (d == 0 && y >= self.deesc[n])
                    || (top && y <= self.esc[n]))
            {
                break;
            }
            if y <= self.esc[n] && d + 1 < n_levels {
                if d + 1 < eliminated {
                    d += 1;
                }
            } else if y >= self.deesc[n] && d > 0 {
                d -= 1;
            }
        }
        Ok(self.select_mtd(&e.n, &e.dlt))
    }
}

/// (lambda_e, lambda_d) of Liu & Yuan (2015) for target `p` and p1 = `p_saf`, p2 = `p_tox`.
pub fn boundaries(p: f64, p_saf: f64, p_tox: f64) -> (f64, f64) {
    let e = ((1.0 - p_saf) / (1.0 - p)).ln() / (p * (1.0 - p_saf) / (p_saf * (1.0 - p))).ln();
    let d = ((1.0 - p) / (1.0 - p_tox)).ln() / (p_tox * (1.0 - p) / (p * (1.0 - p_tox))).ln();
    (e, d)
}

/// P(X > x) for X ~ Beta(a, b) with whole a, b >= 1: the binomial identity
/// P(X <= x) = P(Bin(a + b - 1, x) >= a).
pub fn beta_sf(x: f64, a: usize, b: usize) -> f64 {
    let n = a + b - 1;
    // P(Bin(n, x) <= a - 1)
    let mut term = (1.0 - x).powi(n as i32); // k = 0
    let mut sum = term;
    for k in 1..a {
        term *= (n - k + 1) as f64 / k as f64 * x / (1.0 - x);
        sum += term;
    }
    sum.min(1.0)
}

/// Weighted isotonic (non-decreasing) regression by pooling adjacent violators.
pub fn pava(x: &[f64], w: &[f64]) -> Vec<f64> {
    // Blocks of (value, weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(x.len());
    for (&xi, &wi) in x.iter().zip(w) {
        blocks.push((xi, wi, 1));
        while blocks.len() > 1 {
            let (v2, w2, c2) = blocks[blocks.len() - 1];
            let (v1, w1, c1) = blocks[blocks.len() - 2];
            if v1 <= v2 {
                break;
            }
            blocks.truncate(blocks.len() - 2);
            blocks.push(((v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2));
        }
    }
    blocks
        .into_iter()
        .flat_map(|(v, _, c)| std::iter::repeat_n(v, c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boin(target: f64) -> Boin {
        Boin::new(target, 3, 30, 0.6 * target, 1.4 * target, 0.95, 100).unwrap()
    }

    #[test]
    fn boundaries_match_the_package_table_for_target_0_3() {
        // BOIN R package, get.boundary(target = 0.3, ...): lambda_e = 0.236, lambda_d = 0.359.
        let b = boin(0.3);
        assert!((b.lambda_e - 0.236).abs() < 5e-4, "{}", b.lambda_e);
        assert!((b.lambda_d - 0.359).abs() < 5e-4, "{}", b.lambda_d);
        // n = 3, 6, 9, 12: escalate if y <= 0, 1, 2, 2; de-escalate if y >= 2, 3, 4, 5.
        assert_eq!([b.esc[3], b.esc[6], b.esc[9], b.esc[12]], [0, 1, 2, 2]);
        assert_eq!(
            [b.deesc[3], b.deesc[6], b.deesc[9], b.deesc[12]],
            [2, 3, 4, 5]
        );
        // Elimination at n = 3: all 3 (P(p > 0.3 | Beta(4, 1)) = 1 - 0.3^4 = 0.9919 > 0.95).
        assert_eq!(b.elim[3], Some(3));
        assert_eq!(b.elim[2], None);
    }

    #[test]
    fn beta_survival_matches_closed_forms() {
        // Beta(4, 1): P(X > x) = 1 - x^4; Beta(1, 3): (1 - x)^3.
        assert!((beta_sf(0.3, 4, 1) - (1.0 - 0.3f64.powi(4))).abs() < 1e-12);
        assert!((beta_sf(0.3, 1, 3) - 0.7f64.powi(3)).abs() < 1e-12);
        // Beta(2, 2): P(X > x) = 1 - (3x^2 - 2x^3).
        let x: f64 = 0.4;
        assert!((beta_sf(x, 2, 2) - (1.0 - 3.0 * x * x + 2.0 * x.powi(3))).abs() < 1e-12);
    }

    #[test]
    fn pava_pools_violators_with_weights() {
        let close = |a: Vec<f64>, b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(close(
            pava(&[0.1, 0.3, 0.2], &[1.0, 1.0, 3.0]),
            &[0.1, 0.225, 0.225]
        ));
        assert!(close(pava(&[0.5, 0.1, 0.0], &[1.0; 3]), &[0.2; 3]));
        assert_eq!(pava(&[0.1, 0.2], &[1.0; 2]), vec![0.1, 0.2]);
    }

    #[test]
    fn select_mtd_example_of_the_package() {
        // select.mtd(target = 0.3, npts = c(3, 3, 15, 9, 0), ntox = c(0, 0, 4, 4, 0)):
        // the third level (4/15, the estimate closest to 0.3) is the MTD.
        let b = boin(0.3);
        assert_eq!(b.select_mtd(&[3, 3, 15, 9, 0], &[0, 0, 4, 4, 0]), Some(2));
        // Lowest level eliminated: no MTD.
        assert_eq!(b.select_mtd(&[3, 0], &[3, 0]), None);
    }
}
