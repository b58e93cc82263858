//! Validation against published arms: the endpoints a publication reports, read from the
//! subject table; the exact (Clopper-Pearson) interval of an observed proportion; the
//! prediction interval of a trial of the published size under the model; and coverage
//! (docs/validation.md).

use super::simon::binomial_pmf;
use crate::error::{in_range, ModelError, Result};

/// Largest published arm size accepted (the binomial sums are O(n) per evaluation).
pub const MAX_ARM_N: u32 = 100_000;

/// An endpoint of a published arm, as trials grade it: thrombocytopenia from the scheduled lab
/// visits (CTCAE v4.03, `worst_grade_lab`), or the best IMWG response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Grade 3 or 4 thrombocytopenia at a lab visit (< 50 x 10^9/L).
    G3Plus,
    /// Grade 4 thrombocytopenia at a lab visit (< 25 x 10^9/L).
    G4,
    /// Any grade (< 150 x 10^9/L at a lab visit; developed or worsened is not distinguished).
    AnyGrade,
    /// Overall response: partial response or better (`responder`).
    Orr,
    /// Very good partial response or better (`vgpr_or_better`).
    VgprPlus,
}

impl Endpoint {
    /// Every endpoint's name, as tables write it.
    pub const NAMES: [&'static str; 5] = ["g3plus", "g4", "any_grade", "orr", "vgpr_plus"];

    /// The endpoint called `name`; `field` names the input in the error.
    pub fn parse(field: &str, name: &str) -> Result<Self> {
        match name {
            "g3plus" => Ok(Self::G3Plus),
            "g4" => Ok(Self::G4),
            "any_grade" => Ok(Self::AnyGrade),
            "orr" => Ok(Self::Orr),
            "vgpr_plus" => Ok(Self::VgprPlus),
            _ => Err(ModelError::new(
                field,
                format!(
                    "unknown endpoint {name:?} (endpoints: {})",
                    Self::NAMES.join(", ")
                ),
            )),
        }
    }

    /// Whether one subject has the event, from its worst lab grade and its best response.
    pub fn event(self, worst_grade_lab: i64, responder: bool, vgpr_or_better: bool) -> bool {
        match self {
            Self::G3Plus => worst_grade_lab >= 3,
            Self::G4 => worst_grade_lab >= 4,
            Self::AnyGrade => worst_grade_lab >= 1,
            Self::Orr => responder,
            Self::VgprPlus => vgpr_or_better,
        }
    }
}

fn check_counts(k: u32, n: u32, what: &str) -> Result<()> {
    if n == 0 || n > MAX_ARM_N {
        return Err(ModelError::new(
            "n",
            format!("must be 1..={MAX_ARM_N} patients, got {n}"),
        ));
    }
    if k > n {
        return Err(ModelError::new(
            what,
            format!("must be between 0 and n = {n}, got {k}"),
        ));
    }
    Ok(())
}

fn check_level(level: f64) -> Result<f64> {
    in_range("level", level, 0.5, 0.999_999)
}

/// `P(X >= k)` for `X ~ Binomial(n, p)`, summed over the upper tail (no cancellation).
fn upper_tail(k: u32, n: u32, p: f64) -> f64 {
    binomial_pmf(n, p)[k as usize..].iter().sum()
}

/// `P(X <= k)` for `X ~ Binomial(n, p)`.
fn lower_tail(k: u32, n: u32, p: f64) -> f64 {
    binomial_pmf(n, p)[..=k as usize].iter().sum()
}

/// The `p` in (0, 1) where the monotone `f` crosses `target` (`increasing`: f grows with p),
/// by bisection to the last representable midpoint.
fn solve_p(f: &dyn Fn(f64) -> f64, target: f64, increasing: bool) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if (f(mid) < target) == increasing {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Clopper-Pearson exact two-sided interval of a binomial proportion `k / n` at confidence
/// `level` (e.g. 0.95): the lower bound solves `P(X >= k | p) = (1 - level) / 2` (0 at k = 0),
/// the upper `P(X <= k | p) = (1 - level) / 2` (1 at k = n). Equal to the beta quantiles
/// `Beta(a/2; k, n - k + 1)` and `Beta(1 - a/2; k + 1, n - k)`.
pub fn clopper_pearson(k: u32, n: u32, level: f64) -> Result<(f64, f64)> {
    check_counts(k, n, "events")?;
    let a = 0.5 * (1.0 - check_level(level)?);
    let lo = if k == 0 {
        0.0
    } else {
        solve_p(&|p| upper_tail(k, n, p), a, true)
    };
    let hi = if k == n {
        1.0
    } else {
        solve_p(&|p| lower_tail(k, n, p), a, false)
    };
    Ok((lo, hi))
}

/// The `q`-quantile of `Binomial(n, p)`: the smallest `k` with `P(X <= k) >= q`.
pub fn binomial_quantile(n: u32, p: f64, q: f64) -> Result<u32> {
    check_counts(0, n, "events")?;
    in_range("p", p, 0.0, 1.0)?;
    in_range("q", q, 0.0, 1.0)?;
    let mut cdf = 0.0;
    for (k, pk) in binomial_pmf(n, p).into_iter().enumerate() {
        cdf += pk;
        // Relative slack for the rounding of the summed pmf (an exact CDF of 1 may sum to 1 - 1e-16).
        if cdf >= q * (1.0 - 1e-12) {
            return Ok(k as u32);
        }
    }
    Ok(n)
}

/// One published arm compared with the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmCheck {
    /// Observed proportion and its Clopper-Pearson interval.
    pub observed: f64,
    pub observed_lo: f64,
    pub observed_hi: f64,
    /// Simulated proportion over `sim_n` virtual patients (`sim_events` with the event).
    pub simulated: f64,
    pub sim_events: u32,
    pub sim_n: u32,
    /// Prediction interval of the proportion in a trial of the published `n` under the model:
    /// the `(1 - level)/2` and `(1 + level)/2` quantiles of `Binomial(n, simulated) / n`.
    pub predicted_lo: f64,
    pub predicted_hi: f64,
    /// The observed proportion lies inside the prediction interval.
    pub covers: bool,
    /// The observed interval contains the simulated proportion.
    pub ci_contains_simulated: bool,
}

/// Checks a published arm (`events` of `n`) against the model's `sim_events` of `sim_n`
/// virtual patients at interval `level`.
pub fn check_arm(n: u32, events: u32, sim_events: u32, sim_n: u32, level: f64) -> Result<ArmCheck> {
    check_counts(events, n, "events")?;
    if sim_n == 0 {
        return Err(ModelError::new(
            "n_sim",
            "must be at least 1 simulated patient, got 0",
        ));
    }
    if sim_events > sim_n {
        return Err(ModelError::new(
            "sim_events",
            format!("must be between 0 and n_sim = {sim_n}, got {sim_events}"),
        ));
    }
    let (observed_lo, observed_hi) = clopper_pearson(events, n, level)?;
    let simulated = f64::from(sim_events) / f64::from(sim_n);
    let lo = binomial_quantile(n, simulated, 0.5 * (1.0 - level))?;
    let hi = binomial_quantile(n, simulated, 0.5 * (1.0 + level))?;
    let observed = f64::from(events) / f64::from(n);
    Ok(ArmCheck {
        observed,
        observed_lo,
        observed_hi,
        simulated,
        sim_events,
        sim_n,
        predicted_lo: f64::from(lo) / f64::from(n),
        predicted_hi: f64::from(hi) / f64::from(n),
        covers: lo <= events && events <= hi,
        ci_contains_simulated: observed_lo <= simulated && simulated <= observed_hi,
    })
}

/// Counts the subjects with `endpoint`'s event; the three columns must have one value per subject.
pub fn count_events(
    endpoint: Endpoint,
    worst_grade_lab: &[i64],
    responder: &[bool],
    vgpr_or_better: &[bool],
) -> Result<u32> {
    let n = worst_grade_lab.len();
    if responder.len() != n || vgpr_or_better.len() != n {
        return Err(ModelError::new(
            "subjects",
            format!(
                "worst_grade_lab, responder and vgpr_or_better must have one value per subject, got lengths {n}, {}, {}",
                responder.len(),
                vgpr_or_better.len()
            ),
        ));
    }
    let k = (0..n)
        .filter(|&i| endpoint.event(worst_grade_lab[i], responder[i], vgpr_or_better[i]))
        .count();
    u32::try_from(k).map_err(|_| ModelError::new("subjects", format!("too many subjects: {n}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_closed_forms() {
        // k = 0: upper bound 1 - (a/2)^(1/n); k = n: lower bound (a/2)^(1/n).
        let (lo, hi) = clopper_pearson(0, 10, 0.95).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - (1.0 - 0.025_f64.powf(0.1))).abs() < 1e-14);
        let (lo, hi) = clopper_pearson(10, 10, 0.95).unwrap();
        assert!((lo - 0.025_f64.powf(0.1)).abs() < 1e-14);
        assert_eq!(hi, 1.0);
        // n = 1, k = 1 at 95%: lower bound 0.025.
        let (lo, _) = clopper_pearson(1, 1, 0.95).unwrap();
        assert!((lo - 0.025).abs() < 1e-14);
    }

    #[test]
    fn quantile_is_smallest_k_reaching_q() {
        // Binomial(2, 0.5): CDF 0.25, 0.75, 1.
        assert_eq!(binomial_quantile(2, 0.5, 0.25).unwrap(), 0);
        assert_eq!(binomial_quantile(2, 0.5, 0.26).unwrap(), 1);
        assert_eq!(binomial_quantile(2, 0.5, 0.975).unwrap(), 2);
        assert_eq!(binomial_quantile(5, 0.0, 0.975).unwrap(), 0);
        assert_eq!(binomial_quantile(5, 1.0, 0.025).unwrap(), 5);
    }

    #[test]
    fn bad_inputs_name_their_field() {
        assert_eq!(clopper_pearson(3, 2, 0.95).unwrap_err().field, "events");
        assert_eq!(clopper_pearson(0, 0, 0.95).unwrap_err().field, "n");
        assert_eq!(clopper_pearson(1, 2, 1.5).unwrap_err().field, "level");
        assert_eq!(check_arm(5, 1, 1, 0, 0.95).unwrap_err().field, "n_sim");
        assert_eq!(
            Endpoint::parse("endpoint", "g5").unwrap_err().field,
            "endpoint"
        );
    }

    #[test]
    fn coverage_follows_the_interval() {
        let c = check_arm(20, 10, 500, 1000, 0.95).unwrap();
        assert!(c.covers && c.ci_contains_simulated);
        let c = check_arm(20, 0, 900, 1000, 0.95).unwrap();
        assert!(!c.covers && !c.ci_contains_simulated);
    }
}
