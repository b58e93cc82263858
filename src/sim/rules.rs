//! Applies dose rules at lab visits during a simulation: the per-subject controller of one rule
//! set that holds, reduces, resumes and stops the ruled drug and records each lab value
//! ([`RuleController`]), and the controller of several rule sets in one run, which also starts
//! withheld drugs and transfuses platelets ([`RuleSets`], docs/supportive_care.md).

use super::outputs::output_value;
use crate::engine::events::{dose_actions, transfusion_action, Action, ActionKind, LabController};
use crate::engine::model::Model;
use crate::error::{ModelError, Result};
use crate::spec::dose_rules::{DoseRules, Rule, RuleAction};
use crate::spec::regimen::DoseEvent;

/// What the rules did to one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOutcome {
    pub n_reductions: u32,
    /// Increases by `increase` rules (a titrated drug).
    pub n_increases: u32,
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
            n_increases: 0,
            n_interruptions: 0,
            stopped: false,
            final_level: 0,
            t_stopped: f64::INFINITY,
        }
    }
}

/// What the supportive-care actions of the rules did to one subject (all rule sets).
#[derive(Debug, Clone, PartialEq)]
pub struct SupportOutcome {
    /// Transfusions given by rules, and their units.
    pub n_transfusions: u32,
    pub units_transfused: f64,
    /// When a `start` rule first started a withheld drug, h (NaN if none did).
    pub t_first_start: f64,
}

impl Default for SupportOutcome {
    fn default() -> Self {
        Self {
            n_transfusions: 0,
            units_transfused: 0.0,
            t_first_start: f64::NAN,
        }
    }
}

/// A drug whose regimen doses are withheld until a `start` rule starts it. A rule that stops
/// it ends its course; a later `start` begins a new one at the regimen's dose.
#[derive(Debug, Clone)]
pub struct Withheld {
    pub name: String,
    /// Its administrations (already cut at discontinuation).
    pub events: Vec<DoseEvent>,
    /// Whether it is being given (started and not stopped since).
    pub started: bool,
    /// When its current course started, h (NaN before the first).
    pub t_started: f64,
    /// Courses started so far.
    pub courses: u32,
}

impl Withheld {
    /// A drug withheld until a rule starts it.
    pub fn new(name: impl Into<String>, events: Vec<DoseEvent>) -> Self {
        Self {
            name: name.into(),
            events,
            started: false,
            t_started: f64::NAN,
            courses: 0,
        }
    }
}

/// What the rule sets share at one lab visit.
#[derive(Debug, Default)]
pub struct Shared {
    pub withheld: Vec<Withheld>,
    pub support: SupportOutcome,
}

/// Per-subject controller of one rule set: applies the rules at each lab visit and records the
/// lab values (the measured platelet count).
pub struct RuleController<'a> {
    rules: Option<&'a DoseRules>,
    /// Events of the ruled drug at each level (already cut at discontinuation).
    level_events: Vec<Vec<DoseEvent>>,
    /// Levels above the regimen's own (the next higher first), reached by `increase` rules:
    /// (amount per dose in the ladder's unit, events).
    above: Vec<(f64, Vec<DoseEvent>)>,
    /// Amount per dose of each of `level_events`, in the ladder's unit.
    amounts: Vec<f64>,
    drug: usize,
    plt_index: usize,
    /// Levels below the regimen's own (0: the regimen's dose or above).
    level: usize,
    /// Levels above the regimen's own (0 unless an increase rule acted).
    up: usize,
    interrupted: Option<usize>,
    /// The last reduction or increase, h.
    last_reduction: f64,
    /// Consecutive lab visits at which each rule's condition held.
    streak: Vec<u32>,
    /// Whether each rule may act (false after a rule with `rearm_at_or_above` acted, until the
    /// quantity is back at that level).
    armed: Vec<bool>,
    /// How many times each rule has acted (its occurrences: a per-occurrence
    /// `resume_levels_down` reads it).
    acted_count: Vec<u32>,
    /// The course of a drug that rules start that this controller is following.
    course: u32,
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
        let n_rules = rules.map_or(0, |r| r.rules.len());
        Self {
            rules,
            level_events,
            above: Vec::new(),
            amounts: Vec::new(),
            drug,
            plt_index,
            level: 0,
            up: 0,
            interrupted: None,
            last_reduction: f64::NEG_INFINITY,
            streak: vec![0; n_rules],
            armed: vec![true; n_rules],
            acted_count: vec![0; n_rules],
            course: 0,
            t_end,
            schedule,
            labs: Vec::new(),
            outcome: RuleOutcome::default(),
        }
    }

    /// The levels that `increase` rules reach: `above`, the levels above the regimen's own
    /// (the next higher first) with their amounts, and `amounts`, the amount of each level of
    /// `level_events` (all in the ladder's unit; [`DoseRules::levels_above_for`],
    /// [`DoseRules::level_amounts`]).
    pub fn set_levels_above(&mut self, above: Vec<(f64, Vec<DoseEvent>)>, amounts: Vec<f64>) {
        self.above = above;
        self.amounts = amounts;
    }

    /// The name of the drug the set rules (None without rules).
    pub fn drug_name(&self) -> Option<&str> {
        self.rules.map(|r| r.drug.as_str())
    }

    /// The ruled drug's name, when it is held by an interrupt rule.
    pub fn held_drug(&self) -> Option<&str> {
        self.interrupted.and(self.rules).map(|r| r.drug.as_str())
    }

    /// Cancels the ruled drug's doses from `t` on.
    fn cancel_from(&mut self, t: f64, pending: &mut Vec<Action>) {
        let d = self.drug;
        pending.retain(|a| !(a.drug == d && a.given_at >= t && a.kind.is_dose()));
        self.schedule.retain(|&(s, _)| s < t);
    }

    fn schedule_level(&mut self, model: &Model, t: f64, pending: &mut Vec<Action>) -> Result<()> {
        let events = match self.up {
            0 => &self.level_events[self.level],
            k => &self.above[k - 1].1,
        };
        for e in events.iter().filter(|e| e.time >= t) {
            dose_actions(model, e, pending)?;
            self.schedule.push((e.time, e.amount));
        }
        self.outcome.final_level = self.level;
        Ok(())
    }

    /// Moves `n` levels down (from above the regimen's own dose first); false when that is
    /// past the last level.
    fn step_down(&mut self, n: usize) -> bool {
        let from_above = n.min(self.up);
        self.up -= from_above;
        self.level += n - from_above;
        self.level < self.level_events.len()
    }

    /// The amount per dose, in the ladder's unit, one level up (None at the top).
    fn amount_one_up(&self) -> Option<f64> {
        if self.level > 0 {
            self.amounts.get(self.level - 1).copied()
        } else {
            self.above.get(self.up).map(|l| l.0)
        }
    }

    /// An extra lab visit at `time` (a recheck while selinexor is held), if the patient is still
    /// on treatment then (`t_end`: discontinuation or the end of the run).
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

    /// Restarts the held drug `down` levels lower (or stops it past the last level).
    fn resume(
        &mut self,
        model: &Model,
        t: f64,
        down: usize,
        pending: &mut Vec<Action>,
    ) -> Result<()> {
        self.interrupted = None;
        if down > 0 {
            self.lowered();
        }
        if self.step_down(down) {
            self.schedule_level(model, t, pending)
        } else {
            self.stop(t, pending);
            Ok(())
        }
    }

    /// The value of the rule set's quantity in state `y` (the measured count for `PLT`).
    fn quantity(&self, rules: &DoseRules, model: &Model, y: &[f64], count: f64) -> Result<f64> {
        if rules.quantity == "PLT" {
            return Ok(count);
        }
        output_value(model, y, &rules.quantity).ok_or_else(|| {
            ModelError::new(
                "dose_rules.quantity",
                format!(
                    "{:?} is not an output of this run (its drug is not simulated, or the \
                     platelet model lacks it)",
                    rules.quantity
                ),
            )
        })
    }

    /// Applies the rule set at a lab visit at `t` (state `y`), with what the sets share;
    /// `status`: the drugs held or stopped by some set at the start of the visit.
    pub fn visit(
        &mut self,
        model: &Model,
        t: f64,
        y: &[f64],
        pending: &mut Vec<Action>,
        status: &DrugStatus,
        shared: &mut Shared,
    ) -> Result<()> {
        self.visit_rules(model, t, y, pending, status, shared)?;
        if self.outcome.stopped {
            // A stopped drug that rules start may be started again (a new course).
            let name = self.rules.map(|r| r.drug.as_str());
            if let Some(w) = shared
                .withheld
                .iter_mut()
                .find(|w| Some(w.name.as_str()) == name && w.courses == self.course)
            {
                w.started = false;
            }
        }
        Ok(())
    }

    /// Follows the course of a drug that rules start: before a course, its planned doses are
    /// not given; a new course restarts the set at the regimen's dose. Returns whether the
    /// set's dose rules act at this visit (during a course, from the visit after its start).
    fn follow_course(&mut self, t: f64, shared: &Shared) -> bool {
        let Some(rules) = self.rules else {
            return true;
        };
        let Some(w) = shared.withheld.iter().find(|w| w.name == rules.drug) else {
            return true;
        };
        if !w.started {
            self.schedule.retain(|&(s, _)| s < t);
            return false;
        }
        if w.courses != self.course {
            self.course = w.courses;
            self.level = 0;
            self.up = 0;
            self.interrupted = None;
            self.last_reduction = f64::NEG_INFINITY;
            self.streak.iter_mut().for_each(|s| *s = 0);
            self.armed.iter_mut().for_each(|a| *a = true);
            self.acted_count.iter_mut().for_each(|n| *n = 0);
            self.outcome.stopped = false;
            self.outcome.t_stopped = f64::INFINITY;
            self.schedule.retain(|&(s, _)| s < w.t_started);
            self.schedule.extend(
                w.events
                    .iter()
                    .filter(|e| e.time >= w.t_started)
                    .map(|e| (e.time, e.amount)),
            );
        }
        t > w.t_started
    }

    fn visit_rules(
        &mut self,
        model: &Model,
        t: f64,
        y: &[f64],
        pending: &mut Vec<Action>,
        status: &DrugStatus,
        shared: &mut Shared,
    ) -> Result<()> {
        let count = match &model.pd {
            Some(pd) if pd.plt == self.plt_index => model.count(pd, y),
            _ => y[self.plt_index],
        };
        self.labs.push((t, count));
        let Some(rules) = self.rules else {
            return Ok(());
        };
        if self.outcome.stopped && rules.only_dose_changes() {
            return Ok(());
        }
        let value = self.quantity(rules, model, y, count)?;
        for (k, r) in rules.rules.iter().enumerate() {
            if r.rearm_at_or_above.is_some_and(|level| value >= level) {
                self.armed[k] = true;
            }
        }
        let is_held = |d: &String| status.held.contains(d);
        let is_stopped = |d: &String| status.stopped.contains(d);
        let condition = |r: &Rule| {
            value < r.below
                && r.at_or_above.is_none_or(|a| value >= a)
                && r.while_held.as_ref().is_none_or(is_held)
                && !r.unless_held.as_ref().is_some_and(is_held)
                && !r.unless_stopped.as_ref().is_some_and(is_stopped)
        };
        // A disarmed rule's streak stays at 0, so that it cannot apply.
        for (k, r) in rules.rules.iter().enumerate() {
            self.streak[k] = if condition(r) && self.armed[k] {
                self.streak[k] + 1
            } else {
                0
            };
        }
        let streak = self.streak.clone();
        let applies = |k: usize, r: &Rule| condition(r) && streak[k] >= r.consecutive;
        // Supportive actions (start, transfuse, and stopping a drug other than the set's own):
        // every rule that applies acts, also while the set's drug is held.
        let own = rules.drug.as_str();
        let is_support = |r: &Rule| match r.action {
            RuleAction::Start | RuleAction::Transfuse => true,
            RuleAction::Stop => r.drug.as_deref().is_some_and(|d| d != own),
            _ => false,
        };
        let support: Vec<(usize, &Rule)> = rules
            .rules
            .iter()
            .enumerate()
            .filter(|&(k, r)| is_support(r) && applies(k, r))
            .collect();
        for (k, r) in support {
            self.support(model, t, r, pending, shared)?;
            self.acted(k);
        }
        if !self.follow_course(t, shared) || self.outcome.stopped {
            return Ok(());
        }
        let first = |action: &dyn Fn(RuleAction) -> bool| {
            rules
                .rules
                .iter()
                .enumerate()
                .find(|&(k, r)| action(r.action) && !is_support(r) && applies(k, r))
        };
        if let Some(i) = self.interrupted {
            let r = &rules.rules[i];
            let recovered = match r.resume_below {
                Some(b) => value < b,
                None => value >= r.resume_at_or_above.unwrap_or(f64::INFINITY),
            };
            if recovered {
                let down = r.resume_levels_down.at(self.acted_count[i]);
                self.resume(model, t, down, pending)?;
            } else if let Some((k, rr)) = first(&|a| a == RuleAction::Resume) {
                self.acted(k);
                let down = rr.resume_levels_down.at(self.acted_count[k]);
                self.resume(model, t, down, pending)?;
            } else if let Some((k, rs)) = first(&|a| a == RuleAction::Stop) {
                self.acted(k);
                self.stop_rule(model, t, rs, pending, shared);
            } else {
                self.schedule_recheck(t + rules.recheck_days * 24.0, pending);
            }
            self.monitor(rules, t, pending);
            return Ok(());
        }
        let Some((i, rule)) = first(&|a| {
            matches!(
                a,
                RuleAction::Interrupt
                    | RuleAction::Reduce
                    | RuleAction::Stop
                    | RuleAction::Increase
            )
        }) else {
            self.monitor(rules, t, pending);
            return Ok(());
        };
        let cooling = t - self.last_reduction < rules.cooldown_days * 24.0 - 1e-9;
        match rule.action {
            RuleAction::Interrupt => {
                self.acted(i);
                self.cancel_from(t, pending);
                self.interrupted = Some(i);
                self.outcome.n_interruptions += 1;
                self.schedule_recheck(t + rules.recheck_days * 24.0, pending);
            }
            RuleAction::Reduce if !cooling => {
                self.acted(i);
                self.last_reduction = t;
                self.outcome.n_reductions += 1;
                self.cancel_from(t, pending);
                if self.step_down(1) {
                    self.schedule_level(model, t, pending)?;
                } else {
                    self.stop(t, pending);
                }
            }
            RuleAction::Increase if !cooling => {
                let max = rule.maximum.unwrap_or(f64::NEG_INFINITY);
                if self
                    .amount_one_up()
                    .is_some_and(|a| a <= max * (1.0 + 1e-9))
                {
                    self.acted(i);
                    self.last_reduction = t;
                    self.outcome.n_increases += 1;
                    self.cancel_from(t, pending);
                    if self.level > 0 {
                        self.level -= 1;
                    } else {
                        self.up += 1;
                    }
                    self.schedule_level(model, t, pending)?;
                }
            }
            RuleAction::Stop => {
                self.acted(i);
                self.stop_rule(model, t, rule, pending, shared);
            }
            _ => {}
        }
        self.outcome.final_level = self.level;
        self.monitor(rules, t, pending);
        Ok(())
    }

    /// Rule `k` has acted: its streak restarts, its occurrences count one more, and a rule
    /// with `rearm_at_or_above` waits for the quantity to come back to that level.
    fn acted(&mut self, k: usize) {
        self.streak[k] = 0;
        self.acted_count[k] = self.acted_count[k].saturating_add(1);
        if self
            .rules
            .is_some_and(|r| r.rules[k].rearm_at_or_above.is_some())
        {
            self.armed[k] = false;
        }
    }

    /// The dose was lowered on resuming: a reduce rule with `rearm_at_or_above` counts it as
    /// its action for this occurrence (one step down per episode, not a resume one level lower
    /// followed by a reduction at the next visit of the same episode).
    fn lowered(&mut self) {
        let Some(rules) = self.rules else {
            return;
        };
        for (k, r) in rules.rules.iter().enumerate() {
            if r.action == RuleAction::Reduce && r.rearm_at_or_above.is_some() {
                self.acted(k);
            }
        }
    }

    /// While the set's drug is given, the next monitoring visit (`monitor_days`).
    fn monitor(&self, rules: &DoseRules, t: f64, pending: &mut Vec<Action>) {
        if let Some(m) = rules.monitor_days.filter(|_| !self.outcome.stopped) {
            self.schedule_recheck(t + m * 24.0, pending);
        }
    }

    /// A `stop` rule: the set's drug for good, or another (withheld or not) drug from `t` on.
    fn stop_rule(
        &mut self,
        model: &Model,
        t: f64,
        r: &Rule,
        pending: &mut Vec<Action>,
        shared: &mut Shared,
    ) {
        let own = self.rules.map(|s| s.drug.as_str());
        match r.drug.as_deref() {
            None => self.stop(t, pending),
            Some(d) if Some(d) == own => self.stop(t, pending),
            Some(d) => {
                // Ends the course of a drug that rules start (a later start begins a new one).
                if let Some(w) = shared.withheld.iter_mut().find(|w| w.name == d) {
                    w.started = false;
                }
                if let Some((i, _)) = model.drug(d) {
                    pending.retain(|a| !(a.drug == i && a.given_at >= t && a.kind.is_dose()));
                }
            }
        }
    }

    /// A supportive action: start a withheld drug, stop another drug, or transfuse.
    fn support(
        &mut self,
        model: &Model,
        t: f64,
        r: &Rule,
        pending: &mut Vec<Action>,
        shared: &mut Shared,
    ) -> Result<()> {
        match r.action {
            RuleAction::Stop => self.stop_rule(model, t, r, pending, shared),
            RuleAction::Transfuse => {
                let units = r.units.unwrap_or(0.0);
                pending.push(transfusion_action(model, t, units)?);
                shared.support.n_transfusions += 1;
                shared.support.units_transfused += units;
            }
            RuleAction::Start => {
                let d = r.drug.as_deref().unwrap_or_default();
                // (a drug with no dose left, e.g. after discontinuation, is not started)
                if let Some(w) = shared
                    .withheld
                    .iter_mut()
                    .find(|w| w.name == d && !w.started && w.events.iter().any(|e| e.time >= t))
                {
                    w.started = true;
                    w.t_started = t;
                    w.courses += 1;
                    for e in w.events.iter().filter(|e| e.time >= t) {
                        dose_actions(model, e, pending)?;
                    }
                    if shared.support.t_first_start.is_nan() {
                        shared.support.t_first_start = t;
                    }
                }
            }
            _ => {}
        }
        Ok(())
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
        let status = DrugStatus::of([&*self]);
        self.visit(model, t, y, pending, &status, &mut Shared::default())
    }
}

/// The drugs that rule sets hold or have stopped at the start of a lab visit (the gates
/// `while_held`, `unless_held` and `unless_stopped` of a rule read it).
#[derive(Debug, Clone, Default)]
pub struct DrugStatus {
    /// Held by an interrupt rule.
    pub held: Vec<String>,
    /// Stopped for good by their own rule set.
    pub stopped: Vec<String>,
}

impl DrugStatus {
    /// The status that `sets` give their drugs.
    fn of<'s>(sets: impl IntoIterator<Item = &'s RuleController<'s>>) -> Self {
        let mut status = Self::default();
        for s in sets {
            if let Some(d) = s.held_drug() {
                status.held.push(d.to_string());
            }
            if let Some(d) = s.drug_name().filter(|_| s.outcome.stopped) {
                status.stopped.push(d.to_string());
            }
        }
        status
    }
}

/// Several rule sets in one run: each sees every lab visit, in order. The first set is the
/// primary one (its drug's delivered dose and outcome are the subject's columns).
pub struct RuleSets<'a> {
    pub sets: Vec<RuleController<'a>>,
    pub shared: Shared,
    /// Visits at the time of the previous one are skipped (a recheck that falls on a scheduled
    /// lab, or two sets' rechecks): off for one set of label-type rules, which keeps the
    /// engine's earlier behaviour to the bit.
    skip_repeats: bool,
    last_visit: f64,
}

impl<'a> RuleSets<'a> {
    pub fn new(sets: Vec<RuleController<'a>>, withheld: Vec<Withheld>) -> Self {
        let legacy = sets.len() <= 1
            && withheld.is_empty()
            && sets
                .iter()
                .all(|s| s.rules.is_none_or(DoseRules::only_dose_changes));
        Self {
            sets,
            shared: Shared {
                withheld,
                support: SupportOutcome::default(),
            },
            skip_repeats: !legacy,
            last_visit: f64::NAN,
        }
    }

    /// The primary set (its lab values, schedule and outcome).
    pub fn primary(&self) -> Option<&RuleController<'a>> {
        self.sets.first()
    }
}

impl LabController for RuleSets<'_> {
    fn lab(
        &mut self,
        model: &Model,
        _index: usize,
        t: f64,
        y: &[f64],
        pending: &mut Vec<Action>,
    ) -> Result<()> {
        if self.skip_repeats && t == self.last_visit {
            return Ok(());
        }
        self.last_visit = t;
        let status = DrugStatus::of(&self.sets);
        for s in &mut self.sets {
            s.visit(model, t, y, pending, &status, &mut self.shared)?;
        }
        Ok(())
    }
}
