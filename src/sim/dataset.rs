//! NONMEM-style datasets: each subject simulated exactly as dosed (its records' doses, their
//! additional doses, steady states and resets), with outputs at its records; and a regimen's
//! doses as dataset rows (numeric CMT, [`crate::spec::cmt`]).

use super::simulate::build_model;
use super::trial::thread_pool;
use crate::engine::events::{
    dose_actions, Action, ActionKind, NoController, NoObserver, StepObserver,
};
use crate::engine::model::Model;
use crate::engine::solver::{self, SolverOptions, SolverStats};
use crate::error::{ModelError, Result};
use crate::params::Overrides;
use crate::spec::cmt::default_cmt;
use crate::spec::dataset::{Dataset, Subject};
use crate::spec::drug::Route;
use crate::spec::library::Library;
use crate::spec::platelet_model::PlateletModel;
use crate::spec::regimen::DoseEvent;
use rayon::prelude::*;

/// One subject's run: its models (one per covariate set) and the full state at each of its
/// records (in record order; at a dose record the state before that dose's input), with the
/// model in effect there.
pub struct SubjectRun {
    pub models: Vec<Model>,
    pub states: Vec<Vec<f64>>,
    /// Index into `models` of each record's model.
    pub record_model: Vec<usize>,
    pub stats: SolverStats,
}

/// The dose events and reset times of a subject's records: each dose with its additional doses
/// (`ADDL` plain doses every `II` hours after it, at `time + k II`), the reset of each EVID 3
/// or 4 record.
pub fn subject_events(lib: &Library, s: &Subject) -> Result<(Vec<DoseEvent>, Vec<f64>)> {
    let mut events = Vec::new();
    let mut resets = Vec::new();
    for r in &s.records {
        if r.evid.resets() {
            resets.push(r.time);
        }
        let Some(d) = &r.dose else { continue };
        let route = if d.target.depot {
            let default = lib
                .default_route(&d.target.drug)
                .map_err(|e| e.within(&format!("row {}.CMT", r.row)))?;
            if default.to_depot() {
                default
            } else {
                Route::Oral
            }
        } else {
            Route::Iv
        };
        let duration = if d.rate > 0.0 { d.amt / d.rate } else { 0.0 };
        let event = |time: f64, ss: u8| DoseEvent {
            time,
            drug: d.target.drug.clone(),
            amount: d.amt,
            route,
            duration,
            block: 0,
            cycle: 0,
            day: 0,
            line: r.row,
            ss,
            ii: if ss > 0 { d.ii } else { 0.0 },
        };
        events.push(event(r.time, d.ss));
        for k in 1..=d.addl {
            events.push(event(r.time + f64::from(k) * d.ii, 0));
        }
    }
    // Stable: records at one time keep their order.
    events.sort_by(|a, b| a.time.total_cmp(&b.time));
    Ok((events, resets))
}

/// Simulates one subject of `ds`, with outputs at its records. Each dose is given with the
/// parameters in effect at its time (its F, lag and steady state).
pub fn simulate_subject(
    lib: &Library,
    ds: &Dataset,
    s: &Subject,
    over: &Overrides,
    platelet_model: PlateletModel,
    opts: &SolverOptions,
    obs: &mut dyn StepObserver,
) -> Result<SubjectRun> {
    let field = || format!("subject {}", s.id);
    let models = s
        .patients
        .iter()
        .map(|p| build_model(lib, &ds.drugs, p, over, None, platelet_model))
        .collect::<Result<Vec<_>>>()
        .map_err(|e| e.within(&field()))?;
    let (events, resets) = subject_events(lib, s)?;
    let mut actions: Vec<Action> = Vec::with_capacity(events.len() * 2 + s.records.len());
    for e in &events {
        dose_actions(&models[s.patient_at(e.time)], e, &mut actions)
            .map_err(|err| record_error(e.line, err))?;
    }
    let at = |time: f64, kind: ActionKind| Action {
        time,
        kind,
        drug: usize::MAX,
        given_at: time,
    };
    actions.extend(resets.iter().map(|&t| at(t, ActionKind::Reset)));
    actions.extend(s.changes.iter().map(|c| {
        let kind = ActionKind::Model {
            index: c.index,
            after: c.after,
        };
        at(c.time, kind)
    }));
    let times: Vec<f64> = s.records.iter().map(|r| r.time).collect();
    actions.extend(
        times
            .iter()
            .enumerate()
            .map(|(i, &t)| at(t, ActionKind::Output(i))),
    );
    let t_end = times.last().copied().unwrap_or(0.0);
    let mut states = vec![vec![0.0; models[0].n]; times.len()];
    let (stats, _) = solver::run_models(
        &models,
        actions,
        t_end,
        opts,
        obs,
        &mut NoController,
        &mut states,
    )
    .map_err(|e| match e.field.as_str() {
        "solver" | "interrupted" => e,
        _ => e.within(&field()),
    })?;
    Ok(SubjectRun {
        models,
        states,
        record_model: s.record_patient.clone(),
        stats,
    })
}

/// An error of the dose of data row `row`, on the column it comes from.
fn record_error(row: usize, err: ModelError) -> ModelError {
    let column = match err.field.as_str() {
        "route" => "CMT", // a depot dose of a drug without absorption
        "ss" => "SS",
        "ii" => "II",
        other => other,
    };
    ModelError::new(format!("row {row}.{column}"), err.message)
}

/// Simulates every subject of `ds`, results in subject order: on the calling thread with
/// `obs` (which may interrupt the run) when `threads` is 1, else on a pool of `threads` (each
/// subject with no observer). A subject's run depends on nothing but its records, so the
/// results are the same for any thread count.
pub fn simulate_dataset(
    lib: &Library,
    ds: &Dataset,
    over: &Overrides,
    platelet_model: PlateletModel,
    opts: &SolverOptions,
    threads: usize,
    obs: &mut dyn StepObserver,
) -> Result<Vec<SubjectRun>> {
    lib.check_overrides(over, "params")?;
    if ds.subjects.is_empty() {
        return Err(ModelError::new("data", "has no subjects"));
    }
    if threads == 1 {
        return ds
            .subjects
            .iter()
            .map(|s| simulate_subject(lib, ds, s, over, platelet_model, opts, obs))
            .collect();
    }
    thread_pool(threads)?.install(|| {
        ds.subjects
            .par_iter()
            .map(|s| simulate_subject(lib, ds, s, over, platelet_model, opts, &mut NoObserver))
            .collect()
    })
}

/// A regimen's doses as dataset rows: CMT in the default numbering of `drugs`
/// ([`crate::spec::cmt::default_cmt`]), RATE (mg/h, 0 unless an infusion), SS and II.
#[derive(Debug, Clone, PartialEq)]
pub struct DoseRow {
    pub time: f64,
    pub cmt: u32,
    pub amt: f64,
    pub rate: f64,
    pub ii: f64,
    pub ss: u8,
    pub drug: String,
}

/// The dose rows of `events` (sorted by time), numbered by `drugs`.
pub fn dose_rows(events: &[DoseEvent], drugs: &[String]) -> Result<Vec<DoseRow>> {
    events
        .iter()
        .map(|e| {
            let k = drugs.iter().position(|d| *d == e.drug).ok_or_else(|| {
                ModelError::new("drug", format!("{:?} is not among {drugs:?}", e.drug))
            })?;
            Ok(DoseRow {
                time: e.time,
                cmt: default_cmt(k, e.route.to_depot()),
                amt: e.amount,
                rate: e.rate(),
                ii: e.ii,
                ss: e.ss,
                drug: e.drug.clone(),
            })
        })
        .collect()
}
