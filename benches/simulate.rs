//! Criterion benchmarks of the engine.
//!
//! (a) one typical patient, selinexor 80 mg BIW (days 1 and 3 of each week), TPO platelet model,
//!     24 weeks, rtol 1e-6 / atol 1e-9, output only at the horizon;
//! (b) the same for selinexor 100 mg QW; (a) and (b) also with every state integrated by the
//!     engine's integrator (`*_linear_ode`, the previous release's path) and by ode_solvers'
//!     `Dopri5` (`*_ode_solvers`): the baselines of the default path, measured in the same run;
//! (c) 10,000 patients of `rrmm_heavily_pretreated` on `xd_80_biw` with the label dose rules
//!     (`label_biw`), 24 weeks, 2 threads; and, for the 2-thread speed-up, the first 2,000 of
//!     the same patients on 1 and on 2 threads.
//!
//! (a) and (b) are timed twice: wall clock (`single_patient`) and CPU time of the benchmark
//! thread (`single_patient_cpu`, CLOCK_THREAD_CPUTIME_ID on Linux), which other processes on a
//! shared machine do not inflate. Each timed quantity includes everything a caller pays per
//! patient: building the model (parameter resolution), expanding the regimen into dose events,
//! and the piecewise solve. Each benchmark prints its right-hand-side evaluations per patient
//! before timing.
//!
//! Run: `cargo bench --features reference --bench simulate` (all, about 3 minutes) or with a
//! filter such as `... -- single_patient`.

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use selinexor_pkpd::engine::solver::{Integrator, LinearPk, SolverOptions};
use selinexor_pkpd::params::Overrides;
use selinexor_pkpd::sim::simulate::simulate;
use selinexor_pkpd::sim::trial::TrialSetup;
use selinexor_pkpd::spec::library::Library;
use selinexor_pkpd::spec::patient::Patient;
use selinexor_pkpd::spec::platelet_model::PlateletModel;
use selinexor_pkpd::spec::regimen::Regimen;
use serde_json::json;
use std::hint::black_box;
use std::sync::Once;
use std::time::Duration;

/// 24 weeks, in hours.
const HORIZON_H: f64 = 24.0 * 7.0 * 24.0;
const DAYS: f64 = 24.0 * 7.0;
const N_POP: usize = 10_000;
/// Patients of the 1- vs 2-thread comparison (the first ones of the same population).
const N_SPEEDUP: usize = 2_000;
const SEED: u64 = 20_261_121;

/// CPU time of the calling thread, ns: `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` on Linux (std
/// has no CPU clock and `libc` is not a dependency), wall-clock time elsewhere.
#[cfg(target_os = "linux")]
fn thread_cpu_ns() -> u64 {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock_id: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec (two 64-bit fields on 64-bit Linux targets).
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_ns() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A criterion measurement of the benchmark thread's CPU time: the work of a single-threaded
/// routine, without the time slices other processes take on a busy machine.
struct ThreadCpuTime;

struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = if typical < 1e3 {
            (1.0, "ns")
        } else if typical < 1e6 {
            (1e3, "µs")
        } else if typical < 1e9 {
            (1e6, "ms")
        } else {
            (1e9, "s")
        };
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }

    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match t {
            Throughput::Elements(n) => *n as f64,
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Bits(n) => *n as f64,
            Throughput::ElementsAndBytes { elements, .. } => *elements as f64,
        };
        values.iter_mut().for_each(|v| *v = n * 1e9 / *v);
        "elem/s (CPU)"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

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

/// The single-patient cases (a) and (b), timed with measurement `M` in group `group`.
fn single_patient_with<M: Measurement>(c: &mut Criterion<M>, group: &str, report: bool) {
    let lib = Library::embedded().expect("embedded library");
    let patient = Patient::default();
    let over = Overrides::new();
    let times = [HORIZON_H];
    let lean = SolverOptions::default();
    let linear_ode = SolverOptions {
        linear_pk: LinearPk::Ode,
        ..lean
    };
    let reference = SolverOptions {
        integrator: Integrator::OdeSolvers,
        linear_pk: LinearPk::Ode,
        ..lean
    };
    let biw = selinexor_regimen(80.0, &[1, 3]);
    let qw = selinexor_regimen(100.0, &[1]);
    let cases = [
        ("biw_80mg_24w", &biw, lean),
        ("qw_100mg_24w", &qw, lean),
        // every state integrated by the same integrator (the previous default path)
        ("biw_80mg_24w_linear_ode", &biw, linear_ode),
        ("qw_100mg_24w_linear_ode", &qw, linear_ode),
        // the same with ode_solvers' Dopri5: the baseline of the lean integrator, same run
        ("biw_80mg_24w_ode_solvers", &biw, reference),
        ("qw_100mg_24w_ode_solvers", &qw, reference),
    ];
    let run = |reg: &Regimen, opts: &SolverOptions| {
        simulate(
            &lib,
            reg,
            &patient,
            &over,
            HORIZON_H,
            &times,
            PlateletModel::Tpo,
            opts,
        )
        .expect("simulate")
    };
    let mut g = c.benchmark_group(group);
    for (name, reg, opts) in &cases {
        let printed = Once::new();
        g.bench_function(*name, |b| {
            // criterion calls this closure more than once (warm-up, then the samples)
            if report {
                printed.call_once(|| {
                    let sim = run(reg, opts);
                    let pd = sim.model.pd.expect("platelet states");
                    println!(
                        "{name}: rhs_evals = {}, accepted steps = {}, rejected = {}, \
                         segments = {}, PLT(day 168) = {:.3}",
                        sim.stats.rhs_evals,
                        sim.stats.accepted_steps,
                        sim.stats.rejected_steps,
                        sim.stats.segments,
                        sim.states[0][pd.plt]
                    );
                });
            }
            b.iter(|| black_box(run(black_box(reg), opts)))
        });
    }
    g.finish();
}

fn single_patient(c: &mut Criterion) {
    single_patient_with(c, "single_patient", true);
}

fn single_patient_cpu(c: &mut Criterion<ThreadCpuTime>) {
    single_patient_with(c, "single_patient_cpu", false);
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
    let reported = Once::new();
    // Inside the timed closures, so that a filter that skips these groups skips the pre-run too.
    let report = || {
        reported.call_once(|| {
            let res = setup.run_range(0, N_POP, Some(2)).expect("trial");
            let mean = |f: &dyn Fn(usize) -> f64| (0..N_POP).map(f).sum::<f64>() / N_POP as f64;
            println!(
                "population_10k: mean rhs_evals per patient = {:.0}, mean days on treatment = \
                 {:.1}; first {N_SPEEDUP}: mean rhs_evals = {:.0}",
                mean(&|i| res[i].rhs_evals as f64),
                mean(&|i| res[i].t_treated_h / 24.0),
                res[..N_SPEEDUP]
                    .iter()
                    .map(|r| r.rhs_evals as f64)
                    .sum::<f64>()
                    / N_SPEEDUP as f64
            );
        })
    };
    for (group, n, threads, secs) in [
        ("population_10k", N_POP, &[2usize][..], 40),
        ("population_2k_speedup", N_SPEEDUP, &[1usize, 2][..], 20),
    ] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(secs))
            .throughput(Throughput::Elements(n as u64));
        for &t in threads {
            g.bench_function(format!("threads_{t}"), |b| {
                report();
                b.iter(|| black_box(setup.run_range(0, n, Some(t)).expect("trial")))
            });
        }
        g.finish();
    }
}

criterion_group!(wall, single_patient, population);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = single_patient_cpu
}
criterion_main!(wall, cpu);
