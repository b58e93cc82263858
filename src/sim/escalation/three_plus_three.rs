//! The classic 3+3 design (Storer 1989; as reviewed by Le Tourneau, Lee & Siu, J Natl Cancer
//! Inst 2009;101:708). Cohorts of 3 from the lowest level:
//! - 0/3 DLT: escalate; at the highest level, treat 3 more there instead.
//! - 1/3: treat 3 more at the same level; 1/6: escalate (at the highest level: it is the MTD).
//! - 2 or more DLTs (of 3 or of 6): the level is too toxic and escalation stops. The MTD is the
//!   level below if 6 patients were treated there; if only 3 were, 3 more are treated there
//!   (de-escalation) and it is the MTD with <= 1/6, otherwise it is too toxic as well and the
//!   rule repeats one level lower. Too toxic at the lowest level: no MTD.
//!
//! A level declared too toxic is never treated again; the MTD always had 6 patients.

use super::{Design, Enroller, Halt};

pub struct ThreePlusThree;

impl Design for ThreePlusThree {
    fn name(&self) -> String {
        "3+3".to_string()
    }

    fn max_patients(&self, n_levels: usize) -> usize {
        6 * n_levels
    }

    fn run(&self, n_levels: usize, e: &mut Enroller) -> Result<Option<usize>, Halt> {
        let mut d = 0;
        let too_toxic = loop {
            let first = e.treat(d, 3)?;
            let tolerated = match first {
                0 if d + 1 < n_levels => {
                    d += 1;
                    continue;
                }
                0 | 1 => e.treat(d, 3)? + first <= 1,
                _ => false,
            };
            if !tolerated {
                break d;
            }
            if d + 1 == n_levels {
                return Ok(Some(d));
            }
            d += 1;
        };
        // De-escalation below the first level found too toxic.
        let mut below = too_toxic;
        while below > 0 {
            below -= 1;
            if e.n[below] >= 6 {
                if e.dlt[below] <= 1 {
                    return Ok(Some(below));
                }
                continue;
            }
            e.treat(below, 3)?;
            if e.dlt[below] <= 1 {
                return Ok(Some(below));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Enroller;
    use super::*;
    use crate::error::Result;

    /// Runs the design on a fixed sequence of outcomes (in enrolment order).
    fn run(n_levels: usize, seq: &[bool]) -> (Option<usize>, Vec<u32>, Vec<u32>) {
        let mut oracle = |_l: usize, k: usize| -> Result<Option<bool>> { Ok(Some(seq[k])) };
        let mut e = Enroller::new(n_levels, &mut oracle);
        let mtd = ThreePlusThree.run(n_levels, &mut e).unwrap();
        (mtd, e.n, e.dlt)
    }

    const O: bool = false;
    const X: bool = true;

    #[test]
    fn no_dlt_reaches_the_top_and_confirms_it_with_six() {
        let (mtd, n, _) = run(3, &[O; 18]);
        assert_eq!(mtd, Some(2));
        assert_eq!(n, vec![3, 3, 6]);
    }

    #[test]
    fn two_of_three_at_level_two_expands_level_one() {
        // L0: 0/3; L1: 2/3 -> L0 gets 3 more (0/3) -> MTD L0.
        let (mtd, n, dlt) = run(3, &[O, O, O, X, X, O, O, O, O]);
        assert_eq!(mtd, Some(0));
        assert_eq!(n, vec![6, 3, 0]);
        assert_eq!(dlt, vec![0, 2, 0]);
    }

    #[test]
    fn one_of_six_escalates_and_two_of_six_stops() {
        // L0: 1/3 then 0/3 (1/6) -> L1: 1/3 then 1/3 (2/6) -> MTD L0 (already 6).
        let seq = [X, O, O, O, O, O, X, O, O, X, O, O];
        let (mtd, n, _) = run(3, &seq);
        assert_eq!(mtd, Some(0));
        assert_eq!(n, vec![6, 6, 0]);
    }

    #[test]
    fn de_escalation_can_fail_down_to_no_mtd() {
        // L0: 0/3; L1: 2/3 -> L0 3 more: 2/3 (2/6) -> no MTD.
        let seq = [O, O, O, X, X, O, X, X, O];
        let (mtd, n, _) = run(2, &seq);
        assert_eq!(mtd, None);
        assert_eq!(n, vec![6, 3]);
        // Too toxic at the lowest level.
        assert_eq!(run(3, &[X, X, O]).0, None);
    }
}
