//! Dose-limiting toxicity (DLT) rules on the simulated patient, evaluated over the DLT window
//! (the patient is simulated over the window only, so every metric below is over the window).
//! A rule is a list of criteria, any of which is a DLT; named presets are in [`preset`].

use crate::error::{ModelError, Result};
use crate::sim::trial::SubjectResult;
use crate::spec::grading::ctcae_grade;
use serde::{Deserialize, Serialize};

/// One DLT criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DltCriterion {
    /// Total time in CTCAE platelet grade >= `grade` (3: < 50, 4: < 25 x 10^9/L) over the
    /// window longer than `days` (the episodes are summed: an approximation of "lasting").
    GradeDays { grade: u8, days: f64 },
    /// Platelet grade >= `grade` at any lab visit of the window.
    LabGrade { grade: u8 },
    /// Worst platelet grade of the continuous trajectory (its nadir) >= `grade`.
    NadirGrade { grade: u8 },
    /// At least one interruption of the ruled drug by the dose rules in the window.
    Interruption,
}

/// A DLT rule: any of the criteria, over `window_days` from the first dose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DltRule {
    #[serde(default = "default_window")]
    pub window_days: f64,
    pub any: Vec<DltCriterion>,
}

fn default_window() -> f64 {
    28.0
}

/// Names of the presets, in order.
pub const PRESETS: [&str; 5] = ["g4_over_7d", "g4_lab", "g3_lab", "g4_nadir", "interruption"];

/// A named rule (cycle 1, 28 days), or None.
pub fn preset(name: &str) -> Option<DltRule> {
    let c = match name {
        // Grade 4 thrombocytopenia lasting more than 7 days.
        "g4_over_7d" => DltCriterion::GradeDays {
            grade: 4,
            days: 7.0,
        },
        // Grade 4 at any cycle-1 lab visit.
        "g4_lab" => DltCriterion::LabGrade { grade: 4 },
        // Grade >= 3 at any cycle-1 lab visit.
        "g3_lab" => DltCriterion::LabGrade { grade: 3 },
        // Grade 4 at any time (continuous trajectory).
        "g4_nadir" => DltCriterion::NadirGrade { grade: 4 },
        // A dose interruption in cycle 1 (needs dose rules).
        "interruption" => DltCriterion::Interruption,
        _ => return None,
    };
    Some(DltRule {
        window_days: default_window(),
        any: vec![c],
    })
}

impl DltRule {
    /// A preset name or the JSON of a rule.
    pub fn parse(text: &str) -> Result<Self> {
        let rule = if text.trim_start().starts_with('{') {
            serde_json::from_str(text)
                .map_err(|e| ModelError::new("dlt", format!("invalid DLT rule: {e}")))?
        } else {
            preset(text).ok_or_else(|| {
                ModelError::new(
                    "dlt",
                    format!(
                        "unknown DLT preset {text:?} (known: {})",
                        PRESETS.join(", ")
                    ),
                )
            })?
        };
        rule.validate()?;
        Ok(rule)
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.window_days.is_finite() && self.window_days > 0.0) {
            return Err(ModelError::new(
                "dlt.window_days",
                format!("must be finite and > 0, got {}", self.window_days),
            ));
        }
        if self.any.is_empty() {
            return Err(ModelError::new("dlt.any", "give at least one criterion"));
        }
        for (i, c) in self.any.iter().enumerate() {
            let field = format!("dlt.any[{i}]");
            let grade = |g: u8, lo: u8| {
                if (lo..=4).contains(&g) {
                    Ok(())
                } else {
                    Err(ModelError::new(
                        format!("{field}.grade"),
                        format!("must be in {lo}..4, got {g}"),
                    ))
                }
            };
            match *c {
                DltCriterion::GradeDays { grade: g, days } => {
                    grade(g, 3)?;
                    if !(days.is_finite() && days >= 0.0) {
                        return Err(ModelError::new(
                            format!("{field}.days"),
                            format!("must be finite and >= 0, got {days}"),
                        ));
                    }
                }
                DltCriterion::LabGrade { grade: g } | DltCriterion::NadirGrade { grade: g } => {
                    grade(g, 1)?
                }
                DltCriterion::Interruption => {}
            }
        }
        Ok(())
    }

    /// Whether a criterion needs dose rules.
    pub fn needs_rules(&self) -> bool {
        self.any.contains(&DltCriterion::Interruption)
    }

    /// Whether the simulated patient (over the window) had a DLT.
    pub fn eval(&self, s: &SubjectResult) -> bool {
        self.any.iter().any(|c| match *c {
            DltCriterion::GradeDays { grade, days } => {
                let t = if grade >= 4 {
                    s.metrics.time_g4
                } else {
                    s.metrics.time_g3plus
                };
                t > days * 24.0
            }
            DltCriterion::LabGrade { grade } => s.worst_grade_lab >= grade,
            DltCriterion::NadirGrade { grade } => ctcae_grade(s.metrics.nadir) >= grade,
            DltCriterion::Interruption => s.rules.n_interruptions > 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_json_round_trips() {
        for p in PRESETS {
            let r = DltRule::parse(p).unwrap();
            let back = DltRule::parse(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(r, back);
        }
        let r =
            DltRule::parse(r#"{"any": [{"kind": "grade_days", "grade": 4, "days": 7}]}"#).unwrap();
        assert_eq!(r, preset("g4_over_7d").unwrap());
    }

    #[test]
    fn bad_rules_name_their_field() {
        assert_eq!(DltRule::parse("g5").unwrap_err().field, "dlt");
        let e = DltRule::parse(r#"{"any": [{"kind": "lab_grade", "grade": 7}]}"#).unwrap_err();
        assert_eq!(e.field, "dlt.any[0].grade");
        let e =
            DltRule::parse(r#"{"window_days": 0, "any": [{"kind": "interruption"}]}"#).unwrap_err();
        assert_eq!(e.field, "dlt.window_days");
        assert_eq!(
            DltRule::parse(r#"{"any": []}"#).unwrap_err().field,
            "dlt.any"
        );
    }
}
