//! Benefit against risk between two arms of a comparison: which differences the 95% intervals
//! resolve, and the verdict they add up to (the closing finding of `compare`). A difference in
//! ORR or grade 3+ thrombocytopenia is resolved when its paired 95% interval excludes 0; a
//! difference in median PFS when the two medians' 95% intervals do not overlap (conservative:
//! the medians' difference has no paired interval). Benefit is ORR and PFS together: one better
//! and the other not worse is better; one better and one worse is mixed.

/// The direction of a difference (arm minus reference) that the intervals resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    Lower,
    /// Not distinguishable: the interval includes 0, or an interval is missing (NaN).
    Unresolved,
    Higher,
}

impl Direction {
    /// A paired difference's 95% interval `[lo, hi]`.
    pub fn of_interval(lo: f64, hi: f64) -> Self {
        if hi < 0.0 {
            Direction::Lower
        } else if lo > 0.0 {
            Direction::Higher
        } else {
            Direction::Unresolved
        }
    }

    /// Two estimates' 95% intervals, the arm's `a` and the reference's `b`: resolved when
    /// they do not overlap. An upper end that is NaN (not reached) counts as unbounded.
    pub fn of_separate(a: (f64, f64), b: (f64, f64)) -> Self {
        let up = |x: f64| if x.is_nan() { f64::INFINITY } else { x };
        if a.0.is_nan() || b.0.is_nan() {
            Direction::Unresolved
        } else if a.0 > up(b.1) {
            Direction::Higher
        } else if b.0 > up(a.1) {
            Direction::Lower
        } else {
            Direction::Unresolved
        }
    }

    pub fn as_i8(self) -> i8 {
        match self {
            Direction::Lower => -1,
            Direction::Unresolved => 0,
            Direction::Higher => 1,
        }
    }
}

/// Benefit (ORR, PFS) combined: better, worse, mixed or not distinguishable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Benefit {
    Better,
    Worse,
    Mixed,
    Unresolved,
}

impl Benefit {
    pub fn of(orr: Direction, pfs: Direction) -> Self {
        use Direction::*;
        match (orr, pfs) {
            (Higher, Lower) | (Lower, Higher) => Benefit::Mixed,
            (Higher, _) | (_, Higher) => Benefit::Better,
            (Lower, _) | (_, Lower) => Benefit::Worse,
            (Unresolved, Unresolved) => Benefit::Unresolved,
        }
    }
}

/// The verdict for an arm against the reference, benefit against grade 3+ thrombocytopenia.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// More benefit and no more toxicity, or less toxicity and no less benefit.
    Favours,
    /// Less benefit and no less toxicity, or more toxicity and no more benefit.
    Disfavours,
    /// More benefit at more toxicity.
    TradeOffMoreBenefit,
    /// Less toxicity at less benefit.
    TradeOffLessToxicity,
    /// The benefit differences point both ways (ORR one way, PFS the other).
    Mixed,
    /// No difference in benefit or toxicity is resolved.
    NotDistinguishable,
}

impl Verdict {
    /// `g3` is the direction of grade 3+ thrombocytopenia (higher: more toxic).
    pub fn of(benefit: Benefit, g3: Direction) -> Self {
        use Direction::*;
        match (benefit, g3) {
            (Benefit::Mixed, _) => Verdict::Mixed,
            (Benefit::Better, Higher) => Verdict::TradeOffMoreBenefit,
            (Benefit::Worse, Lower) => Verdict::TradeOffLessToxicity,
            (Benefit::Better, _) | (Benefit::Unresolved, Lower) => Verdict::Favours,
            (Benefit::Worse, _) | (Benefit::Unresolved, Higher) => Verdict::Disfavours,
            (Benefit::Unresolved, Unresolved) => Verdict::NotDistinguishable,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Favours => "favours",
            Verdict::Disfavours => "disfavours",
            Verdict::TradeOffMoreBenefit => "trade_off_more_benefit",
            Verdict::TradeOffLessToxicity => "trade_off_less_toxicity",
            Verdict::Mixed => "mixed",
            Verdict::NotDistinguishable => "not_distinguishable",
        }
    }
}

/// Everything the finding needs for one arm against the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenefitRisk {
    pub orr: Direction,
    pub pfs: Direction,
    pub g3: Direction,
    pub verdict: Verdict,
}

/// The assessment from the paired ORR and grade 3+ differences' intervals and the two arms'
/// median-PFS intervals (arm, reference).
pub fn assess(
    orr_diff: (f64, f64),
    g3_diff: (f64, f64),
    pfs_arm: (f64, f64),
    pfs_ref: (f64, f64),
) -> BenefitRisk {
    let orr = Direction::of_interval(orr_diff.0, orr_diff.1);
    let pfs = Direction::of_separate(pfs_arm, pfs_ref);
    let g3 = Direction::of_interval(g3_diff.0, g3_diff.1);
    BenefitRisk {
        orr,
        pfs,
        g3,
        verdict: Verdict::of(Benefit::of(orr, pfs), g3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::*;

    const NAN: f64 = f64::NAN;

    #[test]
    fn intervals_resolve_only_when_they_exclude_zero_or_do_not_overlap() {
        assert_eq!(Direction::of_interval(0.01, 0.2), Higher);
        assert_eq!(Direction::of_interval(-0.2, -0.01), Lower);
        assert_eq!(Direction::of_interval(-0.01, 0.2), Unresolved);
        assert_eq!(Direction::of_interval(0.0, 0.2), Unresolved);
        assert_eq!(Direction::of_interval(NAN, NAN), Unresolved);
        assert_eq!(Direction::of_separate((10.0, 14.0), (6.0, 9.0)), Higher);
        assert_eq!(Direction::of_separate((6.0, 9.0), (10.0, 14.0)), Lower);
        assert_eq!(Direction::of_separate((8.0, 11.0), (6.0, 9.0)), Unresolved);
        // a median not reached has no upper end: an arm above it cannot be resolved as higher
        assert_eq!(Direction::of_separate((10.0, 14.0), (6.0, NAN)), Unresolved);
        assert_eq!(Direction::of_separate((10.0, NAN), (6.0, 9.0)), Higher);
        assert_eq!(Direction::of_separate((NAN, NAN), (6.0, 9.0)), Unresolved);
    }

    #[test]
    fn every_combination_has_the_verdict_of_its_definition() {
        let dirs = [Lower, Unresolved, Higher];
        for orr in dirs {
            for pfs in dirs {
                for g3 in dirs {
                    let b = Benefit::of(orr, pfs);
                    let v = Verdict::of(b, g3);
                    let better = orr == Higher || pfs == Higher;
                    let worse = orr == Lower || pfs == Lower;
                    let want = if better && worse {
                        Verdict::Mixed
                    } else if better && g3 == Higher {
                        Verdict::TradeOffMoreBenefit
                    } else if worse && g3 == Lower {
                        Verdict::TradeOffLessToxicity
                    } else if better || (!worse && g3 == Lower) {
                        Verdict::Favours
                    } else if worse || g3 == Higher {
                        Verdict::Disfavours
                    } else {
                        Verdict::NotDistinguishable
                    };
                    assert_eq!(v, want, "{orr:?} {pfs:?} {g3:?}");
                }
            }
        }
    }

    #[test]
    fn assess_reads_each_interval_in_its_own_way() {
        let r = assess((-0.05, 0.03), (-0.12, -0.04), (3.0, 5.0), (3.2, 5.5));
        assert_eq!((r.orr, r.pfs, r.g3), (Unresolved, Unresolved, Lower));
        assert_eq!(r.verdict, Verdict::Favours);
        let r = assess((-0.05, 0.03), (-0.02, 0.04), (3.0, 5.0), (3.2, 5.5));
        assert_eq!(r.verdict, Verdict::NotDistinguishable);
    }
}
