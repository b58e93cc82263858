//! What happens between and at events: actions (doses, infusion edges, outputs, lab visits), the
//! observer that sees every accepted step, and the controller called at lab visits.

use super::model::Model;
use crate::error::{ModelError, Result};
use crate::spec::drug::Route;
use crate::spec::regimen::DoseEvent;

/// Sees the solution at the start of each segment and at every accepted step.
pub trait StepObserver {
    fn step(&mut self, t: f64, y: &[f64], dy: &[f64]);
    /// Whether [`StepObserver::step`] looks at its arguments (the solver then skips filling in
    /// the exactly solved states at every step).
    fn active(&self) -> bool {
        true
    }
    /// Which exactly solved drugs' states [`StepObserver::step`] reads (the others are left at
    /// their segment-start values in its arguments).
    fn exact_drugs(&self) -> ExactFill {
        ExactFill::All
    }
    /// Asked at the end of every segment: true stops the run with an error on the field
    /// `interrupted` (a user's Ctrl-C).
    fn interrupted(&mut self) -> bool {
        false
    }
}

/// The exactly solved drugs whose states an observer reads at every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactFill {
    All,
    /// Only drug `i` (index into `Model::drugs`).
    One(usize),
    /// Only the central compartment of drug `i` (amount and derivative; no AUC, no other state).
    Central(usize),
    None,
}

/// An observer that ignores everything.
pub struct NoObserver;
impl StepObserver for NoObserver {
    fn step(&mut self, _: f64, _: &[f64], _: &[f64]) {}
    fn active(&self) -> bool {
        false
    }
}

/// What happens at an event time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ActionKind {
    /// Record the state into output slot `i` (before any dose at the same time).
    Output(usize),
    /// A lab visit: the controller may change the pending doses.
    Lab(usize),
    /// Add `amount` to state `state` (bolus or depot input after lag).
    Jump { state: usize, amount: f64 },
    /// Change drug `drug`'s infusion rate by `delta` mg/h.
    Rate { drug: usize, delta: f64 },
}

/// An action at a time, from the dose (if any) administered at `given_at` of drug `drug`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Action {
    pub time: f64,
    pub kind: ActionKind,
    pub drug: usize,
    pub given_at: f64,
}

impl Action {
    /// Outputs and labs come before doses at the same time (pre-dose values).
    pub(super) fn order(&self) -> u8 {
        match self.kind {
            ActionKind::Output(_) => 0,
            ActionKind::Lab(_) => 1,
            _ => 2,
        }
    }
}

/// Actions of one administration in a model (depot jump after lag, central jump, infusion edges).
pub fn dose_actions(model: &Model, e: &DoseEvent, out: &mut Vec<Action>) -> Result<()> {
    let (d, slot) = model.drug(&e.drug).ok_or_else(|| {
        ModelError::new(
            "regimen.drug",
            format!("drug {:?} is not in the model", e.drug),
        )
    })?;
    let mk = |time, kind| Action {
        time,
        kind,
        drug: d,
        given_at: e.time,
    };
    if e.route.to_depot() {
        let g = slot.depot.ok_or_else(|| {
            ModelError::new(
                "route",
                format!(
                    "{} is given {} but has no absorption (ka)",
                    e.drug,
                    e.route.name()
                ),
            )
        })?;
        let amount = e.amount * slot.pk.f;
        let t_in = e.time + slot.pk.tlag;
        out.push(mk(t_in, ActionKind::Jump { state: g, amount }));
    } else if e.duration > 0.0 {
        let r = e.amount / e.duration;
        out.push(mk(e.time, ActionKind::Rate { drug: d, delta: r }));
        out.push(mk(
            e.time + e.duration,
            ActionKind::Rate { drug: d, delta: -r },
        ));
    } else {
        debug_assert!(e.route == Route::Iv);
        out.push(mk(
            e.time,
            ActionKind::Jump {
                state: slot.central,
                amount: e.amount,
            },
        ));
    }
    Ok(())
}

/// Called at each lab visit with the time, the state and the pending actions (sorted by time);
/// it may add or remove pending actions.
pub trait LabController {
    fn lab(
        &mut self,
        model: &Model,
        index: usize,
        t: f64,
        y: &[f64],
        pending: &mut Vec<Action>,
    ) -> Result<()>;
}

/// A controller that changes nothing.
pub struct NoController;
impl LabController for NoController {
    fn lab(&mut self, _: &Model, _: usize, _: f64, _: &[f64], _: &mut Vec<Action>) -> Result<()> {
        Ok(())
    }
}
