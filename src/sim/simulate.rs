//! Single-subject simulation: resolve parameters, expand the regimen, integrate, sample outputs.

use crate::engine::events::{
    dose_actions, tx_bsa_factor, Action, ActionKind, LabController, NoController, NoObserver,
    StepObserver,
};
use crate::engine::model::Model;
use crate::engine::solver::{self, SolverOptions, SolverStats};
use crate::error::{ModelError, Result};
use crate::params::{Etas, Overrides, PkParams};
use crate::spec::covariate_steps::PatientSteps;
use crate::spec::library::Library;
use crate::spec::patient::Patient;
use crate::spec::platelet_model::PlateletModel;
use crate::spec::regimen::{DoseEvent, Regimen};
use crate::spec::resolve::resolve_platelets;

/// Builds one patient's model for the given drugs.
pub fn build_model(
    lib: &Library,
    drugs: &[String],
    patient: &Patient,
    over: &Overrides,
    etas: Option<&Etas>,
    platelet_model: PlateletModel,
) -> Result<Model> {
    patient.validate()?;
    let mut resolved: Vec<(String, PkParams)> = Vec::with_capacity(drugs.len());
    for d in drugs {
        let spec = lib.drug(d)?;
        let pk = spec.resolve(d, patient, over.get(d), etas.and_then(|e| e.get(d)))?;
        resolved.push((d.clone(), pk));
    }
    let pp = resolve_platelets(
        &lib.platelets,
        &lib.friberg,
        over.get("platelets"),
        over.get("friberg"),
        patient.platelets,
        etas.and_then(|e| e.get("platelets")),
    )?;
    let mut model = Model::new(resolved, platelet_model, pp);
    model.tx_bsa_factor = tx_bsa_factor(patient.weight, patient.height);
    Ok(model)
}

/// Output of [`simulate`]: the model, the dose events and the state at each time.
pub struct Simulation {
    pub model: Model,
    /// The models of the later covariate sets (time-varying covariates), empty otherwise.
    pub later_models: Vec<Model>,
    /// For each output time, its covariate set: 0 for `model`, `k` for `later_models[k - 1]`.
    pub output_set: Vec<usize>,
    pub events: Vec<DoseEvent>,
    pub times: Vec<f64>,
    /// `states[i]` is the full state at `times[i]` (pre-dose at dose times).
    pub states: Vec<Vec<f64>>,
    pub stats: SolverStats,
}

impl Simulation {
    /// The model in effect at output `i`.
    pub fn model_at(&self, i: usize) -> &Model {
        match self.output_set[i] {
            0 => &self.model,
            k => &self.later_models[k - 1],
        }
    }
}

/// Checks output times: finite, >= 0, ascending.
pub fn check_times(times: &[f64]) -> Result<()> {
    for (i, &t) in times.iter().enumerate() {
        if !t.is_finite() || t < 0.0 {
            return Err(ModelError::new(
                format!("times[{i}]"),
                format!("must be finite and >= 0, got {t}"),
            ));
        }
        if i > 0 && t < times[i - 1] {
            return Err(ModelError::new(
                format!("times[{i}]"),
                format!(
                    "times must be sorted ascending: {t} follows {}",
                    times[i - 1]
                ),
            ));
        }
    }
    Ok(())
}

/// Simulates one patient on a regimen up to `horizon_h`, sampling the state at `times` (h).
#[allow(clippy::too_many_arguments)]
pub fn simulate(
    lib: &Library,
    regimen: &Regimen,
    patient: &Patient,
    over: &Overrides,
    horizon_h: f64,
    times: &[f64],
    platelet_model: PlateletModel,
    opts: &SolverOptions,
) -> Result<Simulation> {
    simulate_observed(
        lib,
        regimen,
        patient,
        over,
        horizon_h,
        times,
        platelet_model,
        opts,
        &mut NoObserver,
    )
}

/// [`simulate`] with an observer of the solver's steps (e.g. one that can interrupt the run).
#[allow(clippy::too_many_arguments)]
pub fn simulate_observed(
    lib: &Library,
    regimen: &Regimen,
    patient: &Patient,
    over: &Overrides,
    horizon_h: f64,
    times: &[f64],
    platelet_model: PlateletModel,
    opts: &SolverOptions,
    obs: &mut dyn StepObserver,
) -> Result<Simulation> {
    let steps = PatientSteps::constant(patient.clone());
    simulate_steps(
        lib,
        regimen,
        &steps,
        over,
        horizon_h,
        times,
        platelet_model,
        opts,
        obs,
    )
}

/// [`simulate_observed`] for a patient whose covariates change over time: each dose is
/// expanded and given with the covariates in effect at its time, and the solver switches to
/// the parameters of each later covariate set at its change.
#[allow(clippy::too_many_arguments)]
pub fn simulate_steps(
    lib: &Library,
    regimen: &Regimen,
    steps: &PatientSteps,
    over: &Overrides,
    horizon_h: f64,
    times: &[f64],
    platelet_model: PlateletModel,
    opts: &SolverOptions,
    obs: &mut dyn StepObserver,
) -> Result<Simulation> {
    lib.check_overrides(over, "params")?;
    check_times(times)?;
    if !(horizon_h.is_finite() && horizon_h > 0.0) {
        return Err(ModelError::new(
            "days",
            format!("must be finite and > 0, got {} days", horizon_h / 24.0),
        ));
    }
    let drugs = regimen.drugs();
    let mut models = steps
        .patients
        .iter()
        .map(|p| {
            let m = build_model(lib, &drugs, p, over, None, platelet_model)?;
            Ok(if regimen.has_transfusion() {
                m.with_transfusion()
            } else {
                m
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut events = Vec::new();
    for (k, p) in steps.patients.iter().enumerate() {
        let expanded = regimen.expand(p, horizon_h, &|d| lib.default_route(d))?;
        events.extend(
            expanded
                .into_iter()
                .filter(|e| steps.patient_at(e.time) == k),
        );
    }
    if !steps.changes.is_empty() {
        events.sort_by(|a, b| a.time.total_cmp(&b.time)); // stable: same-time doses keep their order
    }
    let mut actions: Vec<Action> = Vec::with_capacity(events.len() * 2 + times.len());
    for e in &events {
        dose_actions(&models[steps.patient_at(e.time)], e, &mut actions)?;
    }
    actions.extend(steps.changes.iter().map(|c| Action {
        time: c.time,
        kind: ActionKind::Model {
            index: c.index,
            after: c.after,
        },
        drug: usize::MAX,
        given_at: c.time,
    }));
    let (states, stats, _) = run_actions(
        &models,
        actions,
        times,
        horizon_h,
        &[],
        opts,
        obs,
        &mut NoController,
    )?;
    let output_set = times.iter().map(|&t| steps.patient_at(t)).collect();
    let later_models = models.split_off(1);
    Ok(Simulation {
        model: models.remove(0),
        later_models,
        output_set,
        events,
        times: times.to_vec(),
        states,
        stats,
    })
}

/// Integrates a model through dose events, output times and lab visits; returns the states at
/// `times`, the counters and the final state.
#[allow(clippy::too_many_arguments)]
pub fn run_events(
    model: &Model,
    events: &[DoseEvent],
    times: &[f64],
    horizon_h: f64,
    labs: &[f64],
    opts: &SolverOptions,
    obs: &mut dyn StepObserver,
    ctl: &mut dyn LabController,
) -> Result<(Vec<Vec<f64>>, SolverStats, Vec<f64>)> {
    let mut actions: Vec<Action> = Vec::with_capacity(events.len() * 2 + times.len() + labs.len());
    for e in events {
        dose_actions(model, e, &mut actions)?;
    }
    run_actions(
        std::slice::from_ref(model),
        actions,
        times,
        horizon_h,
        labs,
        opts,
        obs,
        ctl,
    )
}

/// Integrates `models` (one state layout; see [`solver::run_models`]) through `actions` plus
/// output times and lab visits.
#[allow(clippy::too_many_arguments)]
fn run_actions(
    models: &[Model],
    mut actions: Vec<Action>,
    times: &[f64],
    horizon_h: f64,
    labs: &[f64],
    opts: &SolverOptions,
    obs: &mut dyn StepObserver,
    ctl: &mut dyn LabController,
) -> Result<(Vec<Vec<f64>>, SolverStats, Vec<f64>)> {
    let model = &models[0];
    for (i, &t) in times.iter().enumerate() {
        actions.push(Action {
            time: t,
            kind: ActionKind::Output(i),
            drug: usize::MAX,
            given_at: t,
        });
    }
    for (i, &t) in labs.iter().enumerate() {
        actions.push(Action {
            time: t,
            kind: ActionKind::Lab(i),
            drug: usize::MAX,
            given_at: t,
        });
    }
    let t_end = times.last().copied().unwrap_or(0.0).max(horizon_h);
    let mut states = vec![vec![0.0; model.n]; times.len()];
    let (stats, last) = solver::run_models(models, actions, t_end, opts, obs, ctl, &mut states)
        .map_err(|e| with_stiffness_hint(model, e))?;
    Ok((states, stats, last))
}

/// A solver failure with the model's fastest rate constants named, so that the user sees which
/// input makes the system stiff (the step is bounded by about 3 / the fastest rate).
fn with_stiffness_hint(model: &Model, e: ModelError) -> ModelError {
    if e.field != "solver" {
        return e;
    }
    let fastest: Vec<String> = model
        .rate_constants()
        .into_iter()
        .take(3)
        .map(|(n, k)| format!("{n} = {k:.3e}/h"))
        .collect();
    ModelError::new(
        e.field,
        format!(
            "{}; the fastest rate constants of this model are {} (a rate far above the others \
             makes the system stiff: check those inputs)",
            e.message,
            fastest.join(", ")
        ),
    )
}
