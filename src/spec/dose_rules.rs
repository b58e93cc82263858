//! Declarative dose-modification rules: thresholds on a simulated quantity (platelets by
//! default; any output: `C_<drug>`, `X`, `TPO`, ...), actions (reduce one level, interrupt,
//! resume lower once recovered, stop, start a drug, transfuse platelets, increase one level up
//! to a maximum), and a dose-level ladder. The XPOVIO label rules ship as presets (`data/dose_rules.toml`); `sim::rules`
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
    /// Go one level up the ladder, never above the rule's `maximum` amount per dose.
    Increase,
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
            RuleAction::Reduce | RuleAction::Interrupt | RuleAction::Resume | RuleAction::Increase
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
    /// Interrupt and resume only: levels down on resuming (label: 1), or one number per
    /// occurrence of the rule (NINLARO with lenalidomide: `[0, 1, 0, 1]`).
    #[serde(default)]
    pub resume_levels_down: LevelsDown,
    /// Interrupt only, instead of `resume_at_or_above`: resume when the quantity has fallen
    /// below this (a hold on a high count: romiplostim above 400, resumed below 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_below: Option<f64>,
    /// Increase only: the highest amount per dose (in the ladder's unit) it may reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    /// The rule applies only when its condition has held at this many consecutive lab visits
    /// of the set, this one included (romiplostim: above 200 for 2 consecutive weeks).
    #[serde(default = "one_visit", skip_serializing_if = "is_one_visit")]
    pub consecutive: u32,
    /// Once the rule has acted, it acts again only after the quantity has been at or above this
    /// level at a lab visit: one action per occurrence (reduce once per thrombocytopenia
    /// episode, not at every visit of a lasting one). On a reduce rule, a resume one or more
    /// levels lower counts as its action (that episode's step down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rearm_at_or_above: Option<f64>,
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
    /// The rule applies only while this drug is not held by a rule (e.g. stop the rescue drug
    /// once selinexor has resumed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unless_held: Option<String>,
    /// The rule applies only until this drug is stopped for good by its rule set (e.g. no
    /// agonist rescue once selinexor has been discontinued).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unless_stopped: Option<String>,
}

/// Levels down on resuming after a hold: the same number after every occurrence of the rule
/// (`1`), or one number per occurrence, the first interruption's first, the last repeating
/// (`[0, 1]`: the same dose after the first hold, one level lower after each later one). In
/// TOML or JSON, a number or a list of numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "expected a number of levels (0, 1, 2, ...) or a list of them, one per occurrence \
                 of the rule (e.g. [0, 1])"
)]
pub enum LevelsDown {
    Every(usize),
    PerOccurrence(Vec<usize>),
}

impl Default for LevelsDown {
    fn default() -> Self {
        LevelsDown::Every(1)
    }
}

impl LevelsDown {
    /// The levels down on resuming after the `n`-th occurrence of the rule (1: the first).
    pub fn at(&self, n: u32) -> usize {
        match self {
            LevelsDown::Every(k) => *k,
            LevelsDown::PerOccurrence(v) => {
                let i = (n.max(1) - 1) as usize;
                v.get(i).or(v.last()).copied().unwrap_or(1)
            }
        }
    }
}

fn one_visit() -> u32 {
    1
}
fn is_one_visit(n: &u32) -> bool {
    *n == 1
}
fn is_mg(u: &DoseUnit) -> bool {
    *u == DoseUnit::Mg
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
    /// the levels whose weekly dose is below the current one, increases up those above it.
    pub ladder: Vec<DoseLevel>,
    /// The unit of the ladder's amounts: the regimen's unit for the drug (`mg` or `mg/kg`,
    /// `mg/m2`: a per-size ladder such as romiplostim's 1-10 ug/kg).
    #[serde(default, skip_serializing_if = "is_mg")]
    pub unit: DoseUnit,
    /// Checked in order; the first that applies acts.
    pub rules: Vec<Rule>,
    /// No second reduction within this many days of the last (time for counts to respond).
    #[serde(default = "fourteen")]
    pub cooldown_days: f64,
    /// While interrupted, an extra lab visit every this many days.
    #[serde(default = "seven")]
    pub recheck_days: f64,
    /// While the set's drug is given (for a drug that a rule starts: from its start until it
    /// is stopped), a lab visit every this many days (Nplate: weekly counts during titration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_days: Option<f64>,
    #[serde(default)]
    pub source: String,
}

/// Highest resume threshold accepted: a count platelets can reach (10^9/L).
const MAX_RESUME: f64 = 1000.0;
/// Most consecutive lab visits a rule may require.
const MAX_CONSECUTIVE: u32 = 52;
/// Most platelet units one rule may transfuse at once.
pub use super::regimen::MAX_UNITS;

/// A rule's per-occurrence `resume_levels_down`: a non-empty list, on a rule that resumes.
fn validate_levels_down(r: &Rule, f: &str) -> Result<()> {
    let LevelsDown::PerOccurrence(v) = &r.resume_levels_down else {
        return Ok(());
    };
    if v.is_empty() {
        return Err(ModelError::new(
            format!("{f}.resume_levels_down"),
            "an empty list: give the levels down after the first occurrence at least (e.g. [1])",
        ));
    }
    if !matches!(r.action, RuleAction::Interrupt | RuleAction::Resume) {
        return Err(ModelError::new(
            format!("{f}.resume_levels_down"),
            format!("{v:?}: only interrupt and resume rules resume"),
        ));
    }
    Ok(())
}

impl DoseRules {
    /// Whether every rule is a reduce or an interrupt of the label's kind (the label presets).
    pub fn only_dose_changes(&self) -> bool {
        self.monitor_days.is_none()
            && self.rules.iter().all(|r| {
                r.action.is_dose_change() && r.resume_below.is_none() && r.consecutive == 1
            })
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
            validate_levels_down(r, &f)?;
            if let Some(a) = r.at_or_above {
                if !(a.is_finite() && a >= 0.0 && a < r.below) {
                    return Err(ModelError::new(
                        format!("{f}.at_or_above"),
                        format!("must be in [0, below), got {a}"),
                    ));
                }
            }
            match r.action {
                RuleAction::Interrupt if r.resume_below.is_some() => {
                    self.validate_resume_below(r, &f)?
                }
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
                    if r.resume_below.is_some() {
                        return Err(ModelError::new(format!("{f}.resume_below"), "only interrupt rules resume"));
                    }
                }
            }
        }
        if self.unit == DoseUnit::Units {
            return Err(ModelError::new(
                "dose_rules.unit",
                "a ladder is in mg, mg/kg or mg/m2, not units",
            ));
        }
        if let Some(m) = self.monitor_days {
            if !(m.is_finite() && m >= 1.0) {
                return Err(ModelError::new(
                    "dose_rules.monitor_days",
                    format!("must be at least 1 day (a lab visit a day at most), got {m}"),
                ));
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
        named("unless_held", &r.unless_held)?;
        named("unless_stopped", &r.unless_stopped)?;
        if r.unless_held.is_some() && r.unless_held == r.while_held {
            return Err(ModelError::new(
                format!("{f}.unless_held"),
                "the same drug as while_held: the rule could never apply",
            ));
        }
        if let Some(level) = r.rearm_at_or_above {
            if !(level.is_finite() && level >= r.below) {
                return Err(ModelError::new(
                    format!("{f}.rearm_at_or_above"),
                    format!(
                        "must be finite and at or above the rule's below ({}), got {level}: \
                         the rule would re-arm while it still applies",
                        r.below
                    ),
                ));
            }
        }
        if !(1..=MAX_CONSECUTIVE).contains(&r.consecutive) {
            return Err(ModelError::new(
                format!("{f}.consecutive"),
                format!(
                    "must be 1..{MAX_CONSECUTIVE} lab visits, got {}",
                    r.consecutive
                ),
            ));
        }
        match (r.action, r.maximum) {
            (RuleAction::Increase, Some(m)) if m.is_finite() && m > 0.0 => {
                if !self.ladder.iter().any(|l| l.amount <= m) {
                    return Err(ModelError::new(
                        format!("{f}.maximum"),
                        format!("{m} is below every level of the ladder: the rule could never increase"),
                    ));
                }
            }
            (RuleAction::Increase, Some(m)) => {
                return Err(ModelError::new(
                    format!("{f}.maximum"),
                    format!("must be a positive amount per dose, got {m}"),
                ))
            }
            (RuleAction::Increase, None) => {
                return Err(ModelError::new(
                    format!("{f}.maximum"),
                    "an increase rule needs a maximum (the highest amount per dose, in the ladder's unit)",
                ))
            }
            (_, Some(_)) => {
                return Err(ModelError::new(
                    format!("{f}.maximum"),
                    "only increase rules have a maximum",
                ))
            }
            (_, None) => {}
        }
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

    /// An interrupt's `resume_below`: in (0, at_or_above], on a rule that holds from a lower
    /// bound (a hold on a high count), and not next to `resume_at_or_above`.
    fn validate_resume_below(&self, r: &Rule, f: &str) -> Result<()> {
        let x = r.resume_below.unwrap_or(f64::NAN);
        if r.resume_at_or_above.is_some() {
            return Err(ModelError::new(
                format!("{f}.resume_below"),
                "give resume_below or resume_at_or_above, not both",
            ));
        }
        match r.at_or_above {
            Some(a) if x.is_finite() && x > 0.0 && x <= a => Ok(()),
            Some(a) => Err(ModelError::new(
                format!("{f}.resume_below"),
                format!("must be in (0, {a}] (the interrupt's at_or_above), got {x}"),
            )),
            None => Err(ModelError::new(
                format!("{f}.resume_below"),
                format!("{x}: resuming below a threshold needs an interrupt from a lower bound (at_or_above)"),
            )),
        }
    }

    /// The regimen at each level it can take: its own dose first, then the ladder levels with
    /// a lower weekly dose. Returns the per-level regimens.
    pub fn levels_for(&self, regimen: &Regimen) -> Result<Vec<Regimen>> {
        Ok(self
            .levels_with_amounts(regimen, false)?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// The levels an increase rule may reach: the ladder levels with a higher weekly dose than
    /// the regimen's own and an amount at most the largest `maximum` of the set's increase
    /// rules, the next higher first, with their amounts (in the ladder's unit).
    pub fn levels_above_for(&self, regimen: &Regimen) -> Result<Vec<(f64, Regimen)>> {
        let cap = self
            .rules
            .iter()
            .filter(|r| r.action == RuleAction::Increase)
            .filter_map(|r| r.maximum)
            .fold(f64::NEG_INFINITY, f64::max);
        let mut up = self.levels_with_amounts(regimen, true)?;
        up.retain(|(a, _)| *a <= cap);
        Ok(up)
    }

    /// The amount per dose of each level of [`DoseRules::levels_for`], in the ladder's unit.
    pub fn level_amounts(&self, regimen: &Regimen) -> Result<Vec<f64>> {
        Ok(self
            .levels_with_amounts(regimen, false)?
            .into_iter()
            .map(|(a, _)| a)
            .collect())
    }

    /// The regimen's own level and those below it (`above` false), or the levels above it in
    /// increasing weekly dose (`above` true), each with its amount per dose.
    fn levels_with_amounts(&self, regimen: &Regimen, above: bool) -> Result<Vec<(f64, Regimen)>> {
        let (amount, per_week, unit) = regimen.planned_dosing(&self.drug)?.ok_or_else(|| {
            ModelError::new(
                "dose_rules.drug",
                format!("{:?} is not dosed in the regimen", self.drug),
            )
        })?;
        if unit != self.unit {
            return Err(ModelError::new(
                "dose_rules.ladder",
                format!(
                    "the ladder's amounts are in {} but the regimen doses {} in {}: give the \
                     regimen in {} or a ladder in its unit (dose_rules.unit)",
                    self.unit.name(),
                    self.drug,
                    unit.name(),
                    self.unit.name()
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
        let tol = 1e-9 * start.max(1e-3);
        let mut out = if above {
            Vec::new()
        } else {
            vec![(amount, regimen.clone())]
        };
        let mut chosen: Vec<&DoseLevel> = self
            .ladder
            .iter()
            .filter(|l| {
                if above {
                    weekly(l) > start + tol
                } else {
                    weekly(l) < start - 1e-9
                }
            })
            .collect();
        if above {
            chosen.sort_by(|a, b| weekly(a).total_cmp(&weekly(b)));
        }
        for l in chosen {
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
            out.push((l.amount, r));
        }
        Ok(out)
    }
}
