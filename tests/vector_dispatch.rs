//! The integrator's AVX2 build (chosen at run time, src/dopri5.rs) gives the same results to the
//! bit as the baseline x86-64 build: no fused multiply-add, no reordered sums. Its own test
//! binary, because the switch is process-wide.

use selinexor_pkpd::engine::solver::{LinearPk, SolverOptions};
use selinexor_pkpd::numerics::dopri5::{set_avx2, uses_avx2};
use selinexor_pkpd::params::Overrides;
use selinexor_pkpd::sim::simulate::simulate;
use selinexor_pkpd::sim::trial::TrialSetup;
use selinexor_pkpd::spec::library::Library;
use selinexor_pkpd::spec::patient::Patient;
use selinexor_pkpd::spec::platelet_model::PlateletModel;

/// Every state at every output, every solver counter, and the summaries of a population with
/// dose rules, as one string (`{:?}` prints each float's shortest round-trip form: equal strings
/// are equal bits).
fn fingerprint() -> String {
    let lib = Library::embedded().unwrap();
    let mut out = String::new();
    let times: Vec<f64> = (0..=112).map(|i| i as f64 * 12.0).collect();
    let cases = [
        ("xd_80_biw", PlateletModel::Tpo),
        ("svd_100_qw", PlateletModel::Tpo),
        ("trial000_arm1", PlateletModel::Tpo),
        ("xd_100_qw", PlateletModel::FribergEmax),
    ];
    for (name, pm) in cases {
        let r = lib.regimen(name).unwrap();
        for linear_pk in [LinearPk::Exact, LinearPk::Ode] {
            let opts = SolverOptions {
                linear_pk,
                ..Default::default()
            };
            let s = simulate(
                &lib,
                r,
                &Patient::default(),
                &Overrides::new(),
                56.0 * 24.0,
                &times,
                pm,
                &opts,
            )
            .unwrap();
            out += &format!("{name} {linear_pk:?} {:?} {:?}\n", s.stats, s.states);
        }
    }
    let regimen = lib.regimen("xd_80_biw").unwrap().clone();
    let pop = lib.population("rrmm_heavily_pretreated").unwrap().clone();
    let rules = Some(lib.dose_rules_for("label", &regimen).unwrap().clone());
    let setup = TrialSetup::new(
        lib,
        regimen,
        pop,
        rules,
        Overrides::new(),
        84.0,
        PlateletModel::Tpo,
        SolverOptions::default(),
        11,
        vec![7.0, 28.0, 84.0],
        None,
    )
    .unwrap();
    for s in setup.run_range(0, 40, Some(1)).unwrap() {
        out += &format!(
            "{} {:?} {:?} {} {} {:?}\n",
            s.rhs_evals, s.metrics, s.rules, s.auc, s.delivered_mg, s.trajectory
        );
    }
    out
}

#[test]
fn avx2_build_matches_the_baseline_build_to_the_bit() {
    set_avx2(false);
    assert!(!uses_avx2());
    let baseline = fingerprint();
    set_avx2(true);
    #[cfg(target_arch = "x86_64")]
    assert_eq!(uses_avx2(), std::is_x86_feature_detected!("avx2"));
    let wide = fingerprint();
    assert!(baseline.len() > 10_000);
    assert!(baseline == wide, "the AVX2 build changed a result");
}
