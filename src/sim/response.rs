//! Response and progression from M-protein at the assessment times, after the IMWG criteria
//! (Kumar S et al., Lancet Oncol 2016;17:e328), as far as serum M-protein can tell them:
//! complete response approximated as undetectable M-protein, VGPR >= 90% reduction, PR >= 50%,
//! MR 25-49%, progression a rise >= 25% from the lowest value with an absolute rise >= 0.5 g/dL
//! (>= 1 g/dL when the lowest value is >= 5 g/dL). A response counts when two consecutive
//! assessments meet it (IMWG's confirmation); progression is dated at its first assessment.
//! PFS is the time to progression or to death without progression (censored at the last
//! assessment otherwise).

/// Best confirmed response, worst first (not evaluable ranks above progression: a patient
/// who dies after one assessment without progressing did better than one who progressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BestResponse {
    Progressive,
    /// Not evaluable: fewer than two assessments before death or the end, no progression.
    NotEvaluable,
    Stable,
    Minimal,
    Partial,
    VeryGoodPartial,
    Complete,
}

impl BestResponse {
    pub fn as_str(self) -> &'static str {
        match self {
            BestResponse::NotEvaluable => "NE",
            BestResponse::Progressive => "PD",
            BestResponse::Stable => "SD",
            BestResponse::Minimal => "MR",
            BestResponse::Partial => "PR",
            BestResponse::VeryGoodPartial => "VGPR",
            BestResponse::Complete => "CR",
        }
    }

    /// The category of one assessment (progression aside).
    fn of(m: f64, m0: f64, detection_limit: f64) -> Self {
        let r = m / m0;
        if m < detection_limit {
            BestResponse::Complete
        } else if r <= 0.1 {
            BestResponse::VeryGoodPartial
        } else if r <= 0.5 {
            BestResponse::Partial
        } else if r <= 0.75 {
            BestResponse::Minimal
        } else {
            BestResponse::Stable
        }
    }
}

/// One patient's efficacy outcome (times in h since day 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EfficacyOutcome {
    pub m0: f64,
    /// Lowest M-protein at an assessment before progression (g/dL; the baseline if none).
    pub m_nadir: f64,
    pub best: BestResponse,
    /// Time of the assessment that showed progression (NaN: none).
    pub t_progression_h: f64,
    /// Progression-free survival: time to progression or death, or to censoring.
    pub pfs_h: f64,
    /// Whether `pfs_h` ends with progression or death (false: censored).
    pub pfs_event: bool,
    /// Death without progression before the end.
    pub died: bool,
}

impl EfficacyOutcome {
    /// The outcome of a run without the efficacy model: nothing assessed.
    pub fn not_computed(m0: f64) -> Self {
        Self {
            m0,
            m_nadir: f64::NAN,
            best: BestResponse::NotEvaluable,
            t_progression_h: f64::NAN,
            pfs_h: f64::NAN,
            pfs_event: false,
            died: false,
        }
    }

    pub fn responder(&self) -> bool {
        self.best >= BestResponse::Partial
    }
    pub fn vgpr_or_better(&self) -> bool {
        self.best >= BestResponse::VeryGoodPartial
    }
    pub fn progressed(&self) -> bool {
        !self.t_progression_h.is_nan()
    }
}

/// The outcome from M-protein `m` at assessment times `times_h` (ascending, after day 1),
/// baseline `m0`, death at `t_death_h` and the end of follow-up `horizon_h`.
pub fn assess(
    times_h: &[f64],
    m: &[f64],
    m0: f64,
    detection_limit: f64,
    t_death_h: f64,
    horizon_h: f64,
) -> EfficacyOutcome {
    let mut lowest = m0;
    let mut levels: Vec<BestResponse> = Vec::with_capacity(times_h.len());
    let mut t_progression_h = f64::NAN;
    let mut last_assessed = 0.0;
    for (&t, &mk) in times_h.iter().zip(m) {
        if t >= t_death_h {
            break;
        }
        let rise = if lowest >= 5.0 { 1.0 } else { 0.5 };
        if mk >= 1.25 * lowest && mk - lowest >= rise {
            t_progression_h = t;
            break;
        }
        levels.push(BestResponse::of(mk, m0, detection_limit));
        lowest = lowest.min(mk);
        last_assessed = t;
    }
    let confirmed = levels.windows(2).map(|w| w[0].min(w[1])).max();
    let best = match confirmed {
        Some(b) if b > BestResponse::Stable || t_progression_h.is_nan() => b,
        Some(_) if levels.len() > 2 => BestResponse::Stable,
        _ if !t_progression_h.is_nan() => BestResponse::Progressive,
        Some(b) => b,
        None => BestResponse::NotEvaluable,
    };
    let died = t_death_h < horizon_h && t_progression_h.is_nan();
    // Follow-up for PFS ends at the last scheduled assessment: a death after it would be an
    // event after every survivor has been censored (a Kaplan-Meier curve falling to 0).
    let follow_up_end = times_h.last().copied().unwrap_or(0.0);
    let (pfs_h, pfs_event) = if !t_progression_h.is_nan() {
        (t_progression_h, true)
    } else if died && t_death_h <= follow_up_end {
        (t_death_h, true)
    } else {
        (last_assessed, false)
    };
    EfficacyOutcome {
        m0,
        m_nadir: lowest,
        best,
        t_progression_h,
        pfs_h,
        pfs_event,
        died,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: [f64; 6] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];

    #[test]
    fn a_confirmed_partial_response_then_progression() {
        let m = [1.5, 0.9, 0.8, 0.9, 1.4, 2.0];
        let o = assess(&T, &m, 2.0, 0.02, f64::INFINITY, 10.0);
        assert_eq!(o.best, BestResponse::Partial);
        // 1.4 >= 1.25 * 0.8 and rises 0.6 >= 0.5 g/dL.
        assert_eq!(o.t_progression_h, 5.0);
        assert!(o.pfs_event && o.pfs_h == 5.0 && !o.died);
        assert!(o.responder() && !o.vgpr_or_better());
    }

    #[test]
    fn an_unconfirmed_response_does_not_count() {
        // A PR once (0.9 of 2.0), then MR (a rise of 0.4 g/dL: not progression).
        let m = [0.9, 1.3, 1.3, 1.3, 1.3, 1.3];
        let o = assess(&T, &m, 2.0, 0.02, f64::INFINITY, 10.0);
        assert_eq!(o.best, BestResponse::Minimal);
        assert!(!o.progressed() && !o.pfs_event && o.pfs_h == 6.0);
    }

    #[test]
    fn early_progression_is_pd_and_death_ends_pfs() {
        let o = assess(&T, &[2.6, 3.0], 2.0, 0.02, f64::INFINITY, 10.0);
        assert_eq!(o.best, BestResponse::Progressive);
        let o = assess(&T, &[1.9; 6], 2.0, 0.02, 2.5, 10.0);
        assert!(o.died && o.pfs_event && o.pfs_h == 2.5);
        assert_eq!(o.best, BestResponse::Stable);
        let o = assess(&T, &[1.9; 6], 2.0, 0.02, 1.5, 10.0);
        assert_eq!(o.best, BestResponse::NotEvaluable);
    }

    #[test]
    fn death_after_the_last_assessment_is_censored_at_it() {
        let o = assess(&T, &[1.9; 6], 2.0, 0.02, 6.5, 10.0);
        assert!(o.died && !o.pfs_event && o.pfs_h == 6.0);
    }

    #[test]
    fn undetectable_is_complete_and_small_absolute_rises_are_not_progression() {
        let m = [0.01, 0.01, 0.3, 0.4, 0.45, 0.5];
        let o = assess(&T, &m, 2.0, 0.02, f64::INFINITY, 10.0);
        assert_eq!(o.best, BestResponse::Complete);
        assert!(!o.progressed());
    }
}
