//! Applies dose rules at lab visits during a simulation: the per-subject controller that holds,
//! reduces, resumes and stops the ruled drug, and records each lab value.

use crate::engine::events::{dose_actions, Action, ActionKind, LabController};
use crate::engine::model::Model;
use crate::error::Result;
use crate::spec::dose_rules::{DoseRules, RuleAction};
use crate::spec::regimen::DoseEvent;

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
        pending.retain(|a| !(a.drug == d && a.given_at >= t && a.kind.is_dose()));
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
