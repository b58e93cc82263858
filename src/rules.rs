//! Declarative dose-modification rules, evaluated at lab visits during the simulation:
//! thresholds on platelets, actions (reduce one level, interrupt, resume lower once recovered),
//! and a dose-level ladder. The XPOVIO label rules ship as presets (`data/dose_rules.toml`).

use crate::error::{positive, ModelError, Result};
use crate::model::Model;
use crate::regimen::{DoseEvent, Regimen};
use crate::solver::{dose_actions, Action, ActionKind, LabController};
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
        let line = regimen
            .blocks
            .iter()
            .find_map(|b| b.doses.iter().find(|d| d.drug == self.drug).map(|d| (b, d)))
            .ok_or_else(|| {
                ModelError::new(
                    "dose_rules.drug",
                    format!("{:?} is not dosed in the regimen", self.drug),
                )
            })?;
        let (block, d0) = line;
        let per_week = d0.days_in_cycle(block.cycle_days, "regimen")?.len() as f64 * 7.0
            / f64::from(block.cycle_days);
        let weekly = |l: &DoseLevel| {
            l.amount
                * if l.weekdays.is_empty() {
                    per_week
                } else {
                    l.weekdays.len() as f64
                }
        };
        let start = d0.amount * per_week;
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

/// What the rules did to one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOutcome {
    pub n_reductions: u32,
    pub n_interruptions: u32,
    /// Stopped for good by the rules (reduced past the last level).
    pub stopped: bool,
    /// Final level index (0 = the regimen's own dose).
    pub final_level: usize,
    /// When the rules stopped the drug for good, h (infinite if they did not).
    pub t_stopped: f64,
}

impl Default for RuleOutcome {
    fn default() -> Self {
        Self {
            n_reductions: 0,
            n_interruptions: 0,
            stopped: false,
            final_level: 0,
            t_stopped: f64::INFINITY,
        }
    }
}

/// Per-subject controller: applies the rules at each lab visit and records the lab values.
pub struct RuleController<'a> {
    rules: Option<&'a DoseRules>,
    /// Events of the ruled drug at each level (already cut at discontinuation).
    level_events: Vec<Vec<DoseEvent>>,
    drug: usize,
    plt_index: usize,
    level: usize,
    interrupted: Option<usize>,
    last_reduction: f64,
    t_end: f64,
    /// Amounts of the ruled drug still scheduled, (time, mg).
    pub schedule: Vec<(f64, f64)>,
    /// (time h, platelets) at every lab visit.
    pub labs: Vec<(f64, f64)>,
    pub outcome: RuleOutcome,
}

impl<'a> RuleController<'a> {
    pub fn new(
        rules: Option<&'a DoseRules>,
        level_events: Vec<Vec<DoseEvent>>,
        drug: usize,
        plt_index: usize,
        t_end: f64,
    ) -> Self {
        let schedule = level_events
            .first()
            .map(|v| v.iter().map(|e| (e.time, e.amount)).collect())
            .unwrap_or_default();
        Self {
            rules,
            level_events,
            drug,
            plt_index,
            level: 0,
            interrupted: None,
            last_reduction: f64::NEG_INFINITY,
            t_end,
            schedule,
            labs: Vec::new(),
            outcome: RuleOutcome::default(),
        }
    }

    /// Cancels the ruled drug's doses from `t` on.
    fn cancel_from(&mut self, t: f64, pending: &mut Vec<Action>) {
        let d = self.drug;
        pending.retain(|a| {
            !(a.drug == d
                && a.given_at >= t
                && !matches!(a.kind, ActionKind::Output(_) | ActionKind::Lab(_)))
        });
        self.schedule.retain(|&(s, _)| s < t);
    }

    fn schedule_level(&mut self, model: &Model, t: f64, pending: &mut Vec<Action>) -> Result<()> {
        for e in self.level_events[self.level].iter().filter(|e| e.time >= t) {
            dose_actions(model, e, pending)?;
            self.schedule.push((e.time, e.amount));
        }
        self.outcome.final_level = self.level;
        Ok(())
    }

    /// An extra lab visit at `time` (a recheck while selinexor is held), if within the run.
    fn schedule_recheck(&self, time: f64, pending: &mut Vec<Action>) {
        if time <= self.t_end {
            pending.push(Action {
                time,
                kind: ActionKind::Lab(usize::MAX),
                drug: usize::MAX,
                given_at: time,
            });
        }
    }

    fn stop(&mut self, t: f64, pending: &mut Vec<Action>) {
        self.cancel_from(t, pending);
        self.outcome.stopped = true;
        self.outcome.t_stopped = t;
        self.interrupted = None;
    }
}

impl LabController for RuleController<'_> {
    fn lab(
        &mut self,
        model: &Model,
        _index: usize,
        t: f64,
        y: &[f64],
        pending: &mut Vec<Action>,
    ) -> Result<()> {
        let count = y[self.plt_index];
        self.labs.push((t, count));
        let Some(rules) = self.rules else {
            return Ok(());
        };
        if self.outcome.stopped {
            return Ok(());
        }
        if let Some(resume_rule) = self.interrupted {
            let r = &rules.rules[resume_rule];
            if count >= r.resume_at_or_above.unwrap_or(f64::INFINITY) {
                self.interrupted = None;
                self.level += r.resume_levels_down;
                if self.level >= self.level_events.len() {
                    self.stop(t, pending);
                } else {
                    self.schedule_level(model, t, pending)?;
                }
            } else {
                self.schedule_recheck(t + rules.recheck_days * 24.0, pending);
            }
            return Ok(());
        }
        let Some((i, rule)) = rules
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| count < r.below && r.at_or_above.is_none_or(|a| count >= a))
        else {
            return Ok(());
        };
        match rule.action {
            RuleAction::Interrupt => {
                self.cancel_from(t, pending);
                self.interrupted = Some(i);
                self.outcome.n_interruptions += 1;
                self.schedule_recheck(t + rules.recheck_days * 24.0, pending);
            }
            RuleAction::Reduce => {
                if t - self.last_reduction < rules.cooldown_days * 24.0 - 1e-9 {
                    return Ok(());
                }
                self.last_reduction = t;
                self.outcome.n_reductions += 1;
                self.cancel_from(t, pending);
                self.level += 1;
                if self.level >= self.level_events.len() {
                    self.stop(t, pending);
                } else {
                    self.schedule_level(model, t, pending)?;
                }
            }
        }
        self.outcome.final_level = self.level;
        Ok(())
    }
}
