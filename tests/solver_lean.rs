//! The engine's own Dormand-Prince integrator (src/dopri5.rs), with linear drugs solved exactly
//! (the default) or integrated, against ode_solvers' `Dopri5` and against a tight-tolerance
//! solution of the whole system by ode_solvers, on the full coupled system (selinexor, partner
//! drugs, XPO1, TPO platelet model) with many segments.

use selinexor_pkpd::engine::solver::{Integrator, LinearPk, SolverOptions};
use selinexor_pkpd::params::Overrides;
use selinexor_pkpd::sim::simulate::{simulate, Simulation};
use selinexor_pkpd::spec::library::Library;
use selinexor_pkpd::spec::patient::Patient;
use selinexor_pkpd::spec::platelet_model::PlateletModel;
use selinexor_pkpd::spec::regimen::Regimen;

fn run(
    r: &Regimen,
    days: f64,
    rtol: f64,
    integrator: Integrator,
    linear_pk: LinearPk,
) -> Simulation {
    let times: Vec<f64> = (0..=(days as usize * 2)).map(|i| i as f64 * 12.0).collect();
    run_with(
        r,
        &Overrides::new(),
        days,
        &times,
        rtol,
        integrator,
        linear_pk,
    )
}

/// `r` with parameter overrides `over` for `days`, seen at `times` (h), atol = rtol / 1000.
fn run_with(
    r: &Regimen,
    over: &Overrides,
    days: f64,
    times: &[f64],
    rtol: f64,
    integrator: Integrator,
    linear_pk: LinearPk,
) -> Simulation {
    let lib = Library::embedded().unwrap();
    let opts = SolverOptions {
        rtol,
        atol: rtol * 1e-3,
        integrator,
        linear_pk,
        ..Default::default()
    };
    let p = Patient::default();
    simulate(
        &lib,
        r,
        &p,
        over,
        days * 24.0,
        times,
        PlateletModel::Tpo,
        &opts,
    )
    .unwrap()
}

/// Largest difference over every output and every state, in units of the tolerance the loose
/// run was asked for: |a - b| / (atol + rtol |b|). Global errors accumulate over many steps, so a
/// solution within tolerance scores up to a few tens, not below 1.
fn error_in_tolerances(a: &Simulation, b: &Simulation, rtol: f64) -> f64 {
    let atol = rtol * 1e-3;
    let n = a.model.n;
    let mut worst: f64 = 0.0;
    for (ya, yb) in a.states.iter().zip(&b.states) {
        for i in 0..n {
            worst = worst.max((ya[i] - yb[i]).abs() / (atol + rtol * yb[i].abs()));
        }
    }
    worst
}

fn presets() -> Vec<(&'static str, Regimen)> {
    let lib = Library::embedded().unwrap();
    ["xd_80_biw", "xd_100_qw", "svd_100_qw", "trial000_arm1"]
        .iter()
        .map(|&p| (p, lib.regimen(p).unwrap().clone()))
        .collect()
}

#[test]
fn lean_integrator_matches_the_tight_reference_within_tolerance() {
    for (name, r) in presets() {
        let reference = run(&r, 84.0, 1e-12, Integrator::OdeSolvers, LinearPk::Ode);
        for lp in [LinearPk::Exact, LinearPk::Ode] {
            for rtol in [1e-6, 1e-10] {
                let lean = run(&r, 84.0, rtol, Integrator::Lean, lp);
                let e = error_in_tolerances(&lean, &reference, rtol);
                assert!(
                    e < 10.0,
                    "{name} {lp:?} rtol {rtol:e}: lean vs reference, {e:.1} x tolerance"
                );
            }
        }
    }
}

#[test]
fn lean_and_ode_solvers_agree_and_lean_needs_no_more_evaluations() {
    for (name, r) in presets() {
        let a = run(&r, 168.0, 1e-6, Integrator::Lean, LinearPk::Ode);
        let b = run(&r, 168.0, 1e-6, Integrator::OdeSolvers, LinearPk::Ode);
        let e = error_in_tolerances(&a, &b, 1e-6);
        assert!(
            e < 10.0,
            "{name}: lean vs ode_solvers at rtol 1e-6, {e:.1} x tolerance"
        );
        assert!(
            a.stats.rhs_evals <= b.stats.rhs_evals,
            "{name}: lean {} evaluations, ode_solvers {}",
            a.stats.rhs_evals,
            b.stats.rhs_evals
        );
    }
}

#[test]
fn exact_linear_pk_needs_fewer_evaluations() {
    // Counts, not times: the exact path integrates 7 states instead of up to 20, no drug's fast
    // distribution limits its step (carfilzomib, ~37/h, made trial000_arm1 stiff), and XPO1
    // engagement (up to ~100/h after a dose at the calibrated kon) is solved on its own.
    let times: Vec<f64> = (0..=336).map(|i| i as f64 * 12.0).collect();
    for (name, r) in presets() {
        let evals = |lp| {
            run_with(
                &r,
                &Overrides::new(),
                168.0,
                &times,
                1e-6,
                Integrator::Lean,
                lp,
            )
            .stats
            .rhs_evals
        };
        let (exact, ode) = (evals(LinearPk::Exact), evals(LinearPk::Ode));
        assert!(
            5 * exact <= ode,
            "{name}: exact {exact} evaluations, ODE {ode}"
        );
    }
}

#[test]
fn a_tolerance_the_comparison_cannot_meet_fails() {
    // The check above can fail: a loose solution is far from the reference.
    let r = presets().remove(0).1;
    let reference = run(&r, 28.0, 1e-12, Integrator::OdeSolvers, LinearPk::Ode);
    for lp in [LinearPk::Exact, LinearPk::Ode] {
        let loose = run(&r, 28.0, 1e-2, Integrator::Lean, lp);
        assert!(
            error_in_tolerances(&loose, &reference, 1e-6) > 10.0,
            "{lp:?}"
        );
    }
}

/// One 80 mg dose of selinexor, then `days` without doses, seen at `times` (h); the lean
/// integrator with exact linear PK, or the ode_solvers reference.
fn single_dose(days: f64, times: &[f64], rtol: f64, koff: f64, lean: bool) -> Simulation {
    let r: Regimen = serde_json::from_value(serde_json::json!({"blocks": [{"cycle_days": 7,
        "cycles": 1, "doses": [{"drug": "selinexor", "amount": 80.0, "weekdays": [1]}]}]}))
    .unwrap();
    let over: Overrides = [("platelets".to_string(), [("koff".to_string(), koff)].into())].into();
    let (integrator, linear_pk) = if lean {
        (Integrator::Lean, LinearPk::Exact)
    } else {
        (Integrator::OdeSolvers, LinearPk::Ode)
    };
    run_with(&r, &over, days, times, rtol, integrator, linear_pk)
}

#[test]
fn xpo1_engagement_solved_on_its_own_matches_the_reference() {
    // X is solved on its own by Radau IIA over each segment and read at the integrator's nodes
    // by one more Radau step from its grid. One 42-day segment after the dose (the grid's steps
    // grow to days once selinexor is gone), with koff 0.0094/h and 1/h (X then falls within
    // hours of the peak); outputs every 12 h in a second run cut the same days into short
    // segments.
    let long = [0.0, 42.0 * 24.0];
    let short: Vec<f64> = (0..=84).map(|i| i as f64 * 12.0).collect();
    for koff in [0.0094, 1.0] {
        for times in [&long[..], &short[..]] {
            let reference = single_dose(42.0, times, 1e-12, koff, false);
            for rtol in [1e-6, 1e-9] {
                let lean = single_dose(42.0, times, rtol, koff, true);
                let e = error_in_tolerances(&lean, &reference, rtol);
                assert!(
                    e < 10.0,
                    "koff {koff}, {} outputs, rtol {rtol:e}: {e:.1} x tolerance",
                    times.len()
                );
            }
        }
    }
}
