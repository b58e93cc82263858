//! Criterion benchmarks of the engine (issue "Performance: benchmarks against baselines").
//!
//! (a) one typical patient, selinexor 80 mg BIW (days 1 and 3 of each week), TPO platelet model,
//!     24 weeks, rtol 1e-6 / atol 1e-9, output only at the horizon;
//! (b) the same for selinexor 100 mg QW;
//! (c) 10,000 patients of `rrmm_heavily_pretreated` on `xd_80_biw` with the label dose rules
//!     (`label_biw`), 24 weeks, on 1 and 2 threads.
//!
//! Each timed quantity includes everything a caller pays per patient: building the model
//! (parameter resolution), expanding the regimen into dose events, and the piecewise solve.
//! Before timing, each benchmark prints its right-hand-side evaluations per patient.
//!
//! Run: `cargo bench --bench simulate` (all) or `cargo bench --bench simulate -- single_patient`.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use selinexor_pkpd::library::Library;
use selinexor_pkpd::patient::Patient;
use selinexor_pkpd::platelets::PlateletModel;
use selinexor_pkpd::regimen::Regimen;
use selinexor_pkpd::simulate::{simulate, Overrides};
use selinexor_pkpd::solver::SolverOptions;
use selinexor_pkpd::trial::TrialSetup;
use serde_json::json;
use std::hint::black_box;
use std::sync::Once;
use std::time::Duration;

/// 24 weeks, in hours.
const HORIZON_H: f64 = 24.0 * 7.0 * 24.0;
const DAYS: f64 = 24.0 * 7.0;
const N_POP: usize = 10_000;
const SEED: u64 = 20_261_121;

/// A selinexor-only regimen: `amount` mg on `weekdays` of every week, 28-day cycles.
fn selinexor_regimen(amount: f64, weekdays: &[u32]) -> Regimen {
    serde_json::from_value(json!({
        "blocks": [{
            "cycle_days": 28,
            "doses": [{ "drug": "selinexor", "amount": amount, "weekdays": weekdays }]
        }]
    }))
    .expect("regimen")
}

fn single_patient(c: &mut Criterion) {
    let lib = Library::embedded().expect("embedded library");
    let patient = Patient::default();
    let over = Overrides::new();
    let opts = SolverOptions::default();
    let times = [HORIZON_H];
    let cases = [
        ("biw_80mg_24w", selinexor_regimen(80.0, &[1, 3])),
        ("qw_100mg_24w", selinexor_regimen(100.0, &[1])),
    ];
    let run = |reg: &Regimen| {
        simulate(
            &lib,
            reg,
            &patient,
            &over,
            HORIZON_H,
            &times,
            PlateletModel::Tpo,
            &opts,
        )
        .expect("simulate")
    };
    let mut g = c.benchmark_group("single_patient");
    for (name, reg) in &cases {
        let sim = run(reg);
        let pd = sim.model.pd.expect("platelet states");
        println!(
            "{name}: rhs_evals = {}, accepted steps = {}, rejected = {}, segments = {}, \
             PLT(day 168) = {:.3}",
            sim.stats.rhs_evals,
            sim.stats.accepted_steps,
            sim.stats.rejected_steps,
            sim.stats.segments,
            sim.states[0][pd.plt]
        );
        g.bench_function(*name, |b| b.iter(|| black_box(run(black_box(reg)))));
    }
    g.finish();
}

fn population(c: &mut Criterion) {
    let lib = Library::embedded().expect("embedded library");
    let regimen = lib.regimen("xd_80_biw").expect("preset").clone();
    let rules = lib
        .dose_rules_for("label", &regimen)
        .expect("label rules")
        .clone();
    let pop = lib
        .population("rrmm_heavily_pretreated")
        .expect("population")
        .clone();
    let setup = TrialSetup::new(
        lib,
        regimen,
        pop,
        Some(rules),
        Overrides::new(),
        DAYS,
        PlateletModel::Tpo,
        SolverOptions::default(),
        SEED,
        Vec::new(),
        None,
    )
    .expect("trial setup");
    let mut g = c.benchmark_group("population_10k");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(N_POP as u64));
    let reported = Once::new();
    for threads in [1usize, 2] {
        g.bench_function(format!("threads_{threads}"), |b| {
            // Inside the closure, so that a filter that skips this group skips the pre-run too.
            reported.call_once(|| {
                let res = setup.run_range(0, N_POP, Some(2)).expect("trial");
                let evals: u64 = res.iter().map(|r| r.rhs_evals).sum();
                let treated: f64 = res.iter().map(|r| r.t_treated_h / 24.0).sum();
                println!(
                    "population_10k: mean rhs_evals per patient = {:.0}, \
                     mean days on treatment = {:.1}",
                    evals as f64 / N_POP as f64,
                    treated / N_POP as f64
                );
            });
            b.iter(|| black_box(setup.run_range(0, N_POP, Some(threads)).expect("trial")))
        });
    }
    g.finish();
}

criterion_group!(benches, single_patient, population);
criterion_main!(benches);
