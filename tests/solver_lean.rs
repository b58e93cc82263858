//! The engine's own Dormand-Prince integrator (src/dopri5.rs) against ode_solvers' `Dopri5` and
//! against a tight-tolerance solution, on the full coupled system (selinexor, partner drugs,
//! XPO1, TPO platelet model) with many segments.

use selinexor_pkpd::library::Library;
use selinexor_pkpd::patient::Patient;
use selinexor_pkpd::platelets::PlateletModel;
use selinexor_pkpd::regimen::Regimen;
use selinexor_pkpd::simulate::{simulate, Overrides, Simulation};
use selinexor_pkpd::solver::{Integrator, SolverOptions};

fn run(r: &Regimen, days: f64, rtol: f64, integrator: Integrator) -> Simulation {
    let lib = Library::embedded().unwrap();
    let times: Vec<f64> = (0..=(days as usize * 2)).map(|i| i as f64 * 12.0).collect();
    let opts = SolverOptions {
        rtol,
        atol: rtol * 1e-3,
        integrator,
        ..Default::default()
    };
    simulate(
        &lib,
        r,
        &Patient::default(),
        &Overrides::new(),
        days * 24.0,
        &times,
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
        let reference = run(&r, 84.0, 1e-12, Integrator::OdeSolvers);
        let lean = run(&r, 84.0, 1e-6, Integrator::Lean);
        let e = error_in_tolerances(&lean, &reference, 1e-6);
        assert!(e < 10.0, "{name}: lean vs reference, {e:.1} x tolerance");
        let lean_tight = run(&r, 84.0, 1e-10, Integrator::Lean);
        let e = error_in_tolerances(&lean_tight, &reference, 1e-10);
        assert!(
            e < 10.0,
            "{name}: lean (rtol 1e-10) vs reference, {e:.1} x tolerance"
        );
    }
}

#[test]
fn lean_and_ode_solvers_agree_and_lean_needs_no_more_evaluations() {
    for (name, r) in presets() {
        let a = run(&r, 168.0, 1e-6, Integrator::Lean);
        let b = run(&r, 168.0, 1e-6, Integrator::OdeSolvers);
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
fn a_tolerance_the_comparison_cannot_meet_fails() {
    // The check above can fail: a loose solution is far from the reference.
    let r = presets().remove(0).1;
    let reference = run(&r, 28.0, 1e-12, Integrator::OdeSolvers);
    let loose = run(&r, 28.0, 1e-2, Integrator::Lean);
    assert!(error_in_tolerances(&loose, &reference, 1e-6) > 10.0);
}
