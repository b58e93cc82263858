//! What happens between and at events: actions (doses, infusion edges, outputs, lab visits), the
//! observer that sees every accepted step, and the controller called at lab visits.

use super::model::Model;
use crate::error::{ModelError, Result};
use crate::pk::modes::{LinearModes, MAX_BLOCK};
use crate::pk::steady_state::{steady_state, PeriodicDose};
use crate::spec::drug::Route;
use crate::spec::regimen::{DoseEvent, TRANSFUSION};

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
    /// Told of every dose action the solver applies (a depot or central jump, an infusion
    /// edge, a steady state), at its time: the doses actually given, after any dose rules.
    fn dose(&mut self, _action: &Action) {}
    /// Told, before each [`StepObserver::step`] of a segment where the drug that
    /// [`StepObserver::exact_drugs`] names as [`ExactFill::Central`] is solved exactly, of the
    /// maximum of its central amount inside that step, found on its modal solution: `(time,
    /// amount)`, or `None` if its slope does not go from rising to falling inside the step.
    fn central_peak(&mut self, _peak: Option<(f64, f64)>) {}
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
    /// The steady state of the action's drug before a steady-state dose: its block amounts `z`
    /// ([`LinearModes`] order) replace the drug's compartments (`reset`, SS=1; its infusion
    /// rate becomes `rate` and its pending inputs from earlier doses are dropped) or are added
    /// to them (SS=2; `rate` added to its infusion rate).
    SteadyState {
        z: [f64; MAX_BLOCK],
        reset: bool,
        rate: f64,
    },
    /// The parameters change: the solver continues with model `i` of its list (the state
    /// carries over; amounts, so a new volume changes the concentration). `after`: after the
    /// other actions at its time (the new values hold from just after it, NOCB), else before
    /// them (LOCF).
    Model { index: usize, after: bool },
    /// Every state back to the initial state (no drug, platelets at baseline), infusions
    /// stopped and the pending inputs of earlier doses dropped (NONMEM's EVID 3, and 4 before
    /// its dose).
    Reset,
}

impl ActionKind {
    /// Whether the action comes from a dose (not an output, a lab visit or a reset).
    pub fn is_dose(&self) -> bool {
        matches!(
            self,
            ActionKind::Jump { .. } | ActionKind::Rate { .. } | ActionKind::SteadyState { .. }
        )
    }
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
    /// At one time: resets, parameter changes (LOCF), then steady states (the state before a
    /// steady-state dose is its trough), then outputs and labs (pre-dose values), then the
    /// doses' inputs, then parameter changes that hold after the time (NOCB).
    pub(super) fn order(&self) -> u8 {
        match self.kind {
            ActionKind::Reset => 0,
            ActionKind::Model { after: false, .. } => 1,
            ActionKind::SteadyState { .. } => 2,
            ActionKind::Output(_) => 3,
            ActionKind::Lab(_) => 4,
            ActionKind::Jump { .. } | ActionKind::Rate { .. } => 5,
            ActionKind::Model { after: true, .. } => 6,
        }
    }
}

/// The `drug` of a platelet transfusion's action (not an index into `Model::drugs`).
pub const TRANSFUSED: usize = usize::MAX - 1;

/// Weight and height of the patient at whose body surface area (Mosteller, 1.82 m2)
/// `platelets.tx_increment` is given: the model's reference adult (docs/supportive_care.md).
pub const TX_REFERENCE_SIZE: (f64, f64) = (70.0, 170.0);

/// The factor of a transfused unit's increment for a patient of `weight` kg and `height` cm:
/// reference BSA / BSA, as a constant corrected count increment implies (NaN when either is
/// missing).
pub fn tx_bsa_factor(weight: f64, height: f64) -> f64 {
    let (w, h) = TX_REFERENCE_SIZE;
    ((w * h) / (weight * height)).sqrt()
}

/// The action of transfusing `units` units at `time`: a jump of `units x platelets.tx_increment
/// x reference BSA / BSA` in the transfused-platelet state.
pub fn transfusion_action(model: &Model, time: f64, units: f64) -> Result<Action> {
    let factor = model.tx_bsa_factor;
    if !(factor.is_finite() && factor > 0.0) {
        return Err(ModelError::new(
            "patient.height",
            format!(
                "{TRANSFUSION}: the increment of a unit scales with body surface area, which \
                 needs the patient's weight and height"
            ),
        ));
    }
    let state = model.pd.and_then(|p| p.ptx).ok_or_else(|| {
        ModelError::new(
            "regimen.drug",
            format!("{TRANSFUSION} needs a platelet model (platelet_model other than \"none\")"),
        )
    })?;
    Ok(Action {
        time,
        kind: ActionKind::Jump {
            state,
            amount: units * model.pp.tx_increment * factor,
        },
        drug: TRANSFUSED,
        given_at: time,
    })
}

/// Actions of one administration in a model (depot jump after lag, central jump, infusion edges).
pub fn dose_actions(model: &Model, e: &DoseEvent, out: &mut Vec<Action>) -> Result<()> {
    if e.drug == TRANSFUSION {
        out.push(transfusion_action(model, e.time, e.amount)?);
        return Ok(());
    }
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
    if e.ss != 0 {
        steady_state_actions(model, d, e, &mut |t, k| out.push(mk(t, k)))?;
    }
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

/// The actions that put drug `d` at the steady state of dose `e` (`e.ss` 1 or 2) at its time:
/// the steady state itself, the ends of earlier infusions still running, the inputs of
/// earlier doses still to come (a lag longer than the interval). PK only: the platelet states
/// continue from where they are (docs/nonmem.md, steady state).
fn steady_state_actions(
    model: &Model,
    d: usize,
    e: &DoseEvent,
    push: &mut dyn FnMut(f64, ActionKind),
) -> Result<()> {
    let slot = &model.drugs[d];
    let modes: &LinearModes = slot.modes.as_ref().ok_or_else(|| {
        ModelError::new(
            "ss",
            format!(
                "steady state is computed in closed form for linear drugs; {} has {} (a \
                 steady-state dose of it is refused)",
                e.drug,
                if slot.pk.mm {
                    "Michaelis-Menten elimination"
                } else {
                    "no exact modal solution (ka too close to a disposition rate)"
                }
            ),
        )
    })?;
    let (dose, rate) = if e.route.to_depot() {
        let dose = PeriodicDose::Bolus {
            state: 0,
            amount: e.amount * slot.pk.f,
            lag: slot.pk.tlag,
        };
        (dose, 0.0)
    } else if e.duration > 0.0 {
        let rate = e.amount / e.duration;
        let dose = PeriodicDose::Infusion {
            rate,
            duration: e.duration,
        };
        (dose, rate)
    } else {
        let dose = PeriodicDose::Bolus {
            state: modes.central,
            amount: e.amount,
            lag: 0.0,
        };
        (dose, 0.0)
    };
    let ss = steady_state(modes, dose, e.ii).map_err(|err| {
        let what = format!("the steady-state dose of {} at {} h", e.drug, e.time);
        ModelError::new(err.field, format!("{what}: {}", err.message))
    })?;
    let running = rate * ss.running_ends.len() as f64;
    push(
        e.time,
        ActionKind::SteadyState {
            z: ss.z,
            reset: e.ss == 1,
            rate: running,
        },
    );
    for end in ss.running_ends {
        push(
            e.time + end,
            ActionKind::Rate {
                drug: d,
                delta: -rate,
            },
        );
    }
    if let (PeriodicDose::Bolus { amount, .. }, Some(g)) = (dose, slot.depot) {
        for at in ss.pending_inputs {
            push(e.time + at, ActionKind::Jump { state: g, amount });
        }
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
