//! Covariates that change over time outside a dataset: `{"weight": [[day, value], ...], ...}`
//! over a base patient, held LOCF or NOCB ([`CovariateFill`]), as the covariate sets and the
//! changes between them that the solver switches models at.

use super::dataset::{CovariateChange, CovariateFill};
use super::patient::Patient;
use crate::error::{ModelError, Result};
use std::collections::BTreeMap;

/// The covariates that may change over time (`platelets` is the baseline: it may not).
pub const TIME_VARYING: [&str; 4] = ["weight", "height", "age", "crcl"];

/// A patient's covariate sets over time: `patients[0]` from time 0, `changes` when each later
/// set takes over.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientSteps {
    pub patients: Vec<Patient>,
    pub changes: Vec<CovariateChange>,
}

impl PatientSteps {
    /// One patient throughout.
    pub fn constant(p: Patient) -> Self {
        Self {
            patients: vec![p],
            changes: Vec::new(),
        }
    }

    /// `steps[name]` = (day, value) pairs over `base`, held as `fill` says.
    pub fn new(
        base: &Patient,
        steps: &BTreeMap<String, Vec<(f64, f64)>>,
        fill: CovariateFill,
    ) -> Result<Self> {
        for (name, s) in steps {
            if !TIME_VARYING.contains(&name.as_str()) {
                return Err(ModelError::new(
                    format!("covariates.{name}"),
                    format!("cannot vary over time (known: {})", TIME_VARYING.join(", ")),
                ));
            }
            if s.is_empty() {
                return Err(ModelError::new(
                    format!("covariates.{name}"),
                    "give at least one (day, value) step",
                ));
            }
            for (i, &(day, v)) in s.iter().enumerate() {
                if !(day.is_finite() && day >= 0.0 && v.is_finite()) {
                    return Err(ModelError::new(
                        format!("covariates.{name}[{i}]"),
                        format!("needs a finite day >= 0 and a finite value, got ({day}, {v})"),
                    ));
                }
                if i > 0 && day <= s[i - 1].0 {
                    return Err(ModelError::new(
                        format!("covariates.{name}[{i}]"),
                        format!("days must increase: {day} follows {}", s[i - 1].0),
                    ));
                }
            }
        }
        let mut days: Vec<f64> = steps.values().flatten().map(|&(d, _)| d).collect();
        days.sort_by(f64::total_cmp);
        days.dedup();
        // The value of each covariate on the interval that `day` starts (LOCF) or ends (NOCB).
        let at = |day: f64| -> Result<Patient> {
            let mut p = base.clone();
            for (name, s) in steps {
                let v = match fill {
                    CovariateFill::Locf => s.iter().rev().find(|(d, _)| *d <= day).or(s.first()),
                    CovariateFill::Nocb => s.iter().find(|(d, _)| *d >= day).or(s.last()),
                }
                .map_or(f64::NAN, |&(_, v)| v);
                match name.as_str() {
                    "weight" => p.weight = v,
                    "height" => p.height = v,
                    "age" => p.age = v,
                    _ => p.crcl = v,
                }
            }
            p.validate().map_err(|e| {
                ModelError::new(
                    e.field.replacen("patient.", "covariates.", 1),
                    format!("{} (day {day})", e.message),
                )
            })?;
            Ok(p)
        };
        let mut out = Self::constant(at(days.first().copied().unwrap_or(0.0))?);
        // LOCF: the set of day d_j from d_j on; NOCB: the set of d_j from just after d_(j-1).
        for (j, &d) in days.iter().enumerate() {
            let (time_day, value_day, after) = match fill {
                CovariateFill::Locf => (d, d, false),
                CovariateFill::Nocb => match days.get(j + 1) {
                    Some(&next) => (d, next, true),
                    None => break,
                },
            };
            let p = at(value_day)?;
            if p == *out.patients.last().unwrap_or(base) {
                continue;
            }
            out.patients.push(p);
            out.changes.push(CovariateChange {
                time: time_day * 24.0,
                index: out.patients.len() - 1,
                after,
            });
        }
        Ok(out)
    }

    /// The set in effect at `t` (h) for doses and outputs (before changes marked `after`).
    pub fn patient_at(&self, t: f64) -> usize {
        self.changes
            .iter()
            .take_while(|c| c.time < t || (c.time == t && !c.after))
            .last()
            .map_or(0, |c| c.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(v: &[(&str, &[(f64, f64)])]) -> BTreeMap<String, Vec<(f64, f64)>> {
        v.iter().map(|(n, s)| (n.to_string(), s.to_vec())).collect()
    }

    #[test]
    fn locf_and_nocb_place_the_changes() {
        let base = Patient::default();
        let s = steps(&[("weight", &[(0.0, 80.0), (10.0, 75.0), (20.0, 70.0)])]);
        let l = PatientSteps::new(&base, &s, CovariateFill::Locf).unwrap();
        assert_eq!(
            l.patients.iter().map(|p| p.weight).collect::<Vec<_>>(),
            [80.0, 75.0, 70.0]
        );
        assert_eq!(l.changes[0].time, 240.0);
        assert!(!l.changes[0].after);
        assert_eq!(l.patient_at(239.0), 0);
        assert_eq!(l.patient_at(240.0), 1);
        let n = PatientSteps::new(&base, &s, CovariateFill::Nocb).unwrap();
        assert_eq!(
            n.patients.iter().map(|p| p.weight).collect::<Vec<_>>(),
            [80.0, 75.0, 70.0]
        );
        assert_eq!((n.changes[0].time, n.changes[0].after), (0.0, true));
        assert_eq!(n.patient_at(0.0), 0);
        assert_eq!(n.patient_at(1.0), 1);
        assert_eq!(n.patient_at(240.0), 1);
        assert_eq!(n.patient_at(241.0), 2);
    }

    #[test]
    fn bad_steps_are_named() {
        let base = Patient::default();
        for (s, field) in [
            (steps(&[("sex", &[(0.0, 1.0)])]), "covariates.sex"),
            (steps(&[("weight", &[])]), "covariates.weight"),
            (
                steps(&[("weight", &[(5.0, 80.0), (5.0, 70.0)])]),
                "covariates.weight[1]",
            ),
            (
                steps(&[("weight", &[(-1.0, 80.0)])]),
                "covariates.weight[0]",
            ),
            (
                steps(&[("weight", &[(0.0, 80.0), (3.0, 4000.0)])]),
                "covariates.weight",
            ),
        ] {
            let e = PatientSteps::new(&base, &s, CovariateFill::Locf).unwrap_err();
            assert_eq!(e.field, field, "{e:?}");
        }
    }
}
