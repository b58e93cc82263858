//! Declarative dose-modification rules: thresholds on platelets, actions (reduce one level,
//! interrupt, resume lower once recovered), and a dose-level ladder. The XPOVIO label rules ship
//! as presets (`data/dose_rules.toml`); `sim::rules` applies them at lab visits.

use super::regimen::{DoseUnit, Regimen};
use crate::error::{positive, ModelError, Result};
use serde::{Deserialize, Serialize};

/// One rung of a dose ladder: an amount and, optionally, new weekdays (e.g. BIW -> QW).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseLevel {
    pub amount: f64,
    /// Days of each week; empty keeps the regimen's own dose days.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Go one level down the ladder (stop after the last level).
    Reduce,
    /// Hold the drug; resume `resume_levels_down` levels lower once the count recovers.
    Interrupt,
}

/// A threshold rule: applies when `at_or_above <= count < below`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub below: f64,
    #[serde(default)]
    pub at_or_above: Option<f64>,
    pub action: RuleAction,
    /// Interrupt only: resume when the count is at least this.
    #[serde(default)]
    pub resume_at_or_above: Option<f64>,
    /// Interrupt only: levels down on resuming (label: 1).
    #[serde(default = "one")]
    pub resume_levels_down: usize,
}

fn one() -> usize {
    1
}
fn fourteen() -> f64 {
    14.0
}
fn seven() -> f64 {
    7.0
}
fn plt() -> String {
    "PLT".into()
}
fn selinexor() -> String {
    "selinexor".into()
}

/// A rule set for one drug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseRules {
    #[serde(default)]
    pub description: String,
    #[serde(default = "selinexor")]
    pub drug: String,
    /// The simulated quantity the thresholds apply to (platelets, 10^9/L).
    #[serde(default = "plt")]
    pub quantity: String,
    /// Levels in decreasing intensity. The regimen enters at its own dose; reductions walk down
    /// the levels whose weekly dose is below the current one.
    pub ladder: Vec<DoseLevel>,
    /// Checked in order; the first that applies acts.
    pub rules: Vec<Rule>,
    /// No second reduction within this many days of the last (time for counts to respond).
    #[serde(default = "fourteen")]
    pub cooldown_days: f64,
    /// While interrupted, an extra lab visit every this many days.
    #[serde(default = "seven")]
    pub recheck_days: f64,
    #[serde(default)]
    pub source: String,
}

/// Highest resume threshold accepted: a count platelets can reach (10^9/L).
const MAX_RESUME: f64 = 1000.0;

impl DoseRules {
    pub fn validate(&self) -> Result<()> {
        if self.quantity != "PLT" {
            return Err(ModelError::new(
                "dose_rules.quantity",
                format!("unknown quantity {:?} (known: PLT)", self.quantity),
            ));
        }
        if self.ladder.is_empty() {
            return Err(ModelError::new(
                "dose_rules.ladder",
                "needs at least one level",
            ));
        }
        for (i, l) in self.ladder.iter().enumerate() {
            positive(&format!("dose_rules.ladder[{i}].amount"), l.amount)?;
            for &w in &l.weekdays {
                if !(1..=7).contains(&w) {
                    return Err(ModelError::new(
                        format!("dose_rules.ladder[{i}].weekdays"),
                        format!("must be 1..7, got {w}"),
                    ));
                }
            }
        }
        if self.rules.is_empty() {
            return Err(ModelError::new(
                "dose_rules.rules",
                "needs at least one rule",
            ));
        }
        for (i, r) in self.rules.iter().enumerate() {
            let f = format!("dose_rules.rules[{i}]");
            positive(&format!("{f}.below"), r.below)?;
            if let Some(a) = r.at_or_above {
                if !(a.is_finite() && a >= 0.0 && a < r.below) {
                    return Err(ModelError::new(
                        format!("{f}.at_or_above"),
                        format!("must be in [0, below), got {a}"),
                    ));
                }
            }
            match r.action {
                RuleAction::Interrupt => match r.resume_at_or_above {
                    Some(x) if x.is_finite() && x >= r.below && x <= MAX_RESUME => {}
                    Some(x) => {
                        return Err(ModelError::new(
                            format!("{f}.resume_at_or_above"),
                            format!("{x} can never be met after an interruption below {}: use a count in [{}, {MAX_RESUME}]", r.below, r.below),
                        ))
                    }
                    None => {
                        return Err(ModelError::new(
                            format!("{f}.resume_at_or_above"),
                            "an interrupt rule needs a resume threshold, or it can never resume",
                        ))
                    }
                },
                RuleAction::Reduce => {
                    if r.resume_at_or_above.is_some() {
                        return Err(ModelError::new(format!("{f}.resume_at_or_above"), "only interrupt rules resume"));
                    }
                }
            }
        }
        positive("dose_rules.cooldown_days", self.cooldown_days).or_else(|e| {
            if self.cooldown_days == 0.0 {
                Ok(0.0)
            } else {
                Err(e)
            }
        })?;
        positive("dose_rules.recheck_days", self.recheck_days)?;
        Ok(())
    }

    /// The regimen at each level it can take: its own dose first, then the ladder levels with
    /// a lower weekly dose. Returns the per-level regimens.
    pub fn levels_for(&self, regimen: &Regimen) -> Result<Vec<Regimen>> {
        let (amount, per_week, unit) = regimen.planned_dosing(&self.drug)?.ok_or_else(|| {
            ModelError::new(
                "dose_rules.drug",
                format!("{:?} is not dosed in the regimen", self.drug),
            )
        })?;
        if unit != DoseUnit::Mg {
            return Err(ModelError::new(
                "dose_rules.ladder",
                format!(
                    "the ladder's amounts are in mg but the regimen doses {} per size ({}): give \
                     the regimen in mg or dose rules with a ladder of its own",
                    self.drug,
                    unit.name()
                ),
            ));
        }
        let weekly = |l: &DoseLevel| {
            l.amount
                * if l.weekdays.is_empty() {
                    per_week
                } else {
                    l.weekdays.len() as f64
                }
        };
        let start = amount * per_week;
        let mut out = vec![regimen.clone()];
        for l in self.ladder.iter().filter(|l| weekly(l) < start - 1e-9) {
            let mut r = regimen.clone();
            for d in r
                .blocks
                .iter_mut()
                .flat_map(|b| b.doses.iter_mut())
                .filter(|d| d.drug == self.drug)
            {
                d.amount = l.amount;
                d.adjust.clear();
                if !l.weekdays.is_empty() {
                    d.weekdays = l.weekdays.clone();
                    d.days.clear();
                }
            }
            out.push(r);
        }
        Ok(out)
    }
}
