//! Declarative dose-modification rules: thresholds on a simulated quantity (platelets by
//! default; any output: `C_<drug>`, `X`, `TPO`, ...), actions (reduce one level, interrupt,
//! resume lower once recovered, stop, start a drug, transfuse platelets), and a dose-level
//! ladder. The XPOVIO label rules ship as presets (`data/dose_rules.toml`); `sim::rules`
//! applies them, several sets in one run, at lab visits (docs/supportive_care.md).

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
    /// Resume the held drug now, `resume_levels_down` levels lower.
    Resume,
    /// Stop the drug for good.
    Stop,
    /// Start `drug`, whose regimen doses are withheld until a rule starts it.
    Start,
    /// Transfuse `units` units of platelets (`platelets.tx_increment` each).
    Transfuse,
}

impl RuleAction {
    /// The actions of the label presets (what the engine did before the other actions).
    pub fn is_dose_change(self) -> bool {
        matches!(self, RuleAction::Reduce | RuleAction::Interrupt)
    }
    /// The actions that need a dose ladder.
    pub fn needs_ladder(self) -> bool {
        matches!(
            self,
            RuleAction::Reduce | RuleAction::Interrupt | RuleAction::Resume
        )
    }
}

/// The names a rule's quantity may take: outputs of the simulation (docs/supportive_care.md).
pub const QUANTITIES: &str = "PLT, PLT_TX, X, E, TPO, PROL, C_<drug>, AUC_<drug>";

/// Whether `q` names a simulated output (the run checks that its model has it).
pub fn is_quantity_name(q: &str) -> bool {
    matches!(q, "PLT" | "PLT_TX" | "X" | "E" | "TPO" | "PROL")
        || q.strip_prefix("C_").is_some_and(|d| !d.is_empty())
        || q.strip_prefix("AUC_").is_some_and(|d| !d.is_empty())
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
    /// The drug the action acts on: required by `start`; otherwise the rule set's drug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drug: Option<String>,
    /// Transfuse only: units of platelets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<f64>,
    /// The rule applies only while this drug is held by a rule (interrupted), e.g. a rescue
    /// during a selinexor hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub while_held: Option<String>,
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
/// Most platelet units one rule may transfuse at once.
pub use super::regimen::MAX_UNITS;

impl DoseRules {
    /// Whether every rule is a reduce or an interrupt (the label presets' kind).
    pub fn only_dose_changes(&self) -> bool {
        self.rules.iter().all(|r| r.action.is_dose_change())
    }

    /// Whether a rule transfuses.
    pub fn transfuses(&self) -> bool {
        self.rules.iter().any(|r| r.action == RuleAction::Transfuse)
    }

    /// The drugs that `start` rules start.
    pub fn started_drugs(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| r.action == RuleAction::Start)
            .filter_map(|r| r.drug.clone())
            .collect()
    }

    pub fn validate(&self) -> Result<()> {
        if !is_quantity_name(&self.quantity) {
            return Err(ModelError::new(
                "dose_rules.quantity",
                format!("unknown quantity {:?} (known: {QUANTITIES})", self.quantity),
            ));
        }
        let needs_ladder = self.rules.iter().any(|r| r.action.needs_ladder());
        if self.ladder.is_empty() && (needs_ladder || self.rules.is_empty()) {
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
        let has_resume_rule = self.rules.iter().any(|r| r.action == RuleAction::Resume);
        for (i, r) in self.rules.iter().enumerate() {
            let f = format!("dose_rules.rules[{i}]");
            positive(&format!("{f}.below"), r.below)?;
            self.validate_extra(r, &f)?;
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
                    None if has_resume_rule => {}
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
                _ => {
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

    /// The checks of the fields beyond the label's: an action's drug, units, gate.
    fn validate_extra(&self, r: &Rule, f: &str) -> Result<()> {
        let named = |field: &str, v: &Option<String>| -> Result<()> {
            match v {
                Some(d) if d.trim().is_empty() => Err(ModelError::new(
                    format!("{f}.{field}"),
                    "must name a drug, got an empty string",
                )),
                _ => Ok(()),
            }
        };
        named("drug", &r.drug)?;
        named("while_held", &r.while_held)?;
        match r.action {
            RuleAction::Start if r.drug.is_none() => {
                return Err(ModelError::new(
                    format!("{f}.drug"),
                    "a start rule needs the drug it starts (e.g. drug = \"eltrombopag\")",
                ))
            }
            RuleAction::Transfuse => match r.units {
                Some(u) if u.is_finite() && u > 0.0 && u <= MAX_UNITS => {}
                Some(u) => {
                    return Err(ModelError::new(
                        format!("{f}.units"),
                        format!("must be in (0, {MAX_UNITS}], got {u}"),
                    ))
                }
                None => {
                    return Err(ModelError::new(
                        format!("{f}.units"),
                        "a transfuse rule needs the number of platelet units",
                    ))
                }
            },
            _ => {}
        }
        if r.units.is_some() && r.action != RuleAction::Transfuse {
            return Err(ModelError::new(
                format!("{f}.units"),
                "only transfuse rules give units",
            ));
        }
        if r.action == RuleAction::Transfuse && r.drug.is_some() {
            return Err(ModelError::new(
                format!("{f}.drug"),
                "a transfuse rule acts on no drug",
            ));
        }
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
