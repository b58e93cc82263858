//! Virtual populations: reproducibility and thread/chunk invariance, sampled distributions
//! against their specification, and scripted dose-rule patients.

use selinexor_pkpd::engine::events::{Action, ActionKind, LabController};
use selinexor_pkpd::engine::solver::SolverOptions;
use selinexor_pkpd::params::Overrides;
use selinexor_pkpd::sim::rules::RuleController;
use selinexor_pkpd::sim::simulate::build_model;
use selinexor_pkpd::sim::trial::TrialSetup;
use selinexor_pkpd::spec::library::Library;
use selinexor_pkpd::spec::patient::Patient;
use selinexor_pkpd::spec::platelet_model::PlateletModel;
use selinexor_pkpd::spec::population::{Correlation, Discontinuation, PopulationSpec};
use selinexor_pkpd::spec::regimen::Regimen;
use std::collections::BTreeMap;

fn setup(threads_seed: u64, rules: bool, n_days: f64) -> TrialSetup {
    let lib = Library::embedded().unwrap();
    let regimen = lib.regimen("xd_80_biw").unwrap().clone();
    let pop = lib.population("rrmm_heavily_pretreated").unwrap().clone();
    let rules = rules.then(|| lib.dose_rules_for("label", &regimen).unwrap().clone());
    TrialSetup::new(
        lib,
        regimen,
        pop,
        rules,
        Overrides::new(),
        n_days,
        PlateletModel::Tpo,
        SolverOptions::default(),
        threads_seed,
        vec![7.0, 14.0, 28.0],
        None,
    )
    .unwrap()
}

/// Bit-identical, NaN included: `Debug` prints the shortest round-trip form of every f64.
fn same<T: std::fmt::Debug>(a: &[T], b: &[T]) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

#[test]
fn bit_identical_for_any_thread_count_and_chunking() {
    let s = setup(7, true, 84.0);
    let one = s.run_range(0, 48, Some(1)).unwrap();
    let two = s.run_range(0, 48, Some(2)).unwrap();
    let mut chunked = s.run_range(0, 5, Some(2)).unwrap();
    chunked.extend(s.run_range(5, 31, Some(1)).unwrap());
    chunked.extend(s.run_range(31, 48, Some(2)).unwrap());
    assert!(same(&one, &two), "1 vs 2 threads differ");
    assert!(same(&one, &chunked), "chunked run differs");
    // Subject 17 alone is subject 17 of the whole run.
    assert!(same(&s.run_range(17, 18, None).unwrap(), &one[17..18]));
}

#[test]
fn seed_reproducibility() {
    let a = setup(11, false, 28.0).run_range(0, 8, None).unwrap();
    let b = setup(11, false, 28.0).run_range(0, 8, None).unwrap();
    let c = setup(12, false, 28.0).run_range(0, 8, None).unwrap();
    assert!(same(&a, &b));
    assert_ne!(a[0].patient, c[0].patient);
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

#[test]
fn sampled_distributions_match_their_specification() {
    let lib = Library::embedded().unwrap();
    let mut spec: PopulationSpec = lib.population("rrmm_early_relapse").unwrap().clone();
    spec.iiv = BTreeMap::from([
        ("selinexor.CL".into(), 0.3),
        ("selinexor.Vc".into(), 0.25),
        ("platelets.kon".into(), 0.6),
    ]);
    spec.iiv_from_library = false;
    spec.correlations = vec![Correlation {
        a: "selinexor.CL".into(),
        b: "selinexor.Vc".into(),
        r: 0.6,
    }];
    let known = |_: &str, _: &str| Ok(());
    let iiv = spec.iiv_model(&BTreeMap::new(), &known).unwrap();
    let n = 100_000;
    let subjects: Vec<_> = (0..n).map(|i| spec.sample(&iiv, 42, i)).collect();
    // Log-normal weight: median 75, CV 20% (truncation at 40/160 is far in the tails).
    let lw: Vec<f64> = subjects.iter().map(|s| s.patient.weight.ln()).collect();
    let (m, sd) = mean_sd(&lw);
    let sd_spec = (1.0f64 + 0.2 * 0.2).ln().sqrt();
    assert!(
        (m - 75f64.ln()).abs() < 4.0 * sd_spec / (n as f64).sqrt(),
        "log-weight mean {m}"
    );
    assert!(
        (sd - sd_spec).abs() < 4.0 * sd_spec / (2.0 * n as f64).sqrt(),
        "log-weight sd {sd} vs {sd_spec}"
    );
    // Platelets truncated at the eligibility threshold.
    assert!(subjects
        .iter()
        .all(|s| s.patient.platelets.unwrap() >= 75.0));
    // Female fraction 0.44.
    let f = subjects
        .iter()
        .filter(|s| s.patient.sex == selinexor_pkpd::spec::patient::Sex::Female)
        .count() as f64
        / n as f64;
    assert!(
        (f - 0.44).abs() < 4.0 * (0.44f64 * 0.56 / n as f64).sqrt(),
        "female {f}"
    );
    // Random effects: variances ln(1+CV^2), correlation 0.6.
    let eta = |s: &selinexor_pkpd::sim::sampling::Subject, ns: &str, p: &str| s.etas[ns][p];
    let cl: Vec<f64> = subjects.iter().map(|s| eta(s, "selinexor", "CL")).collect();
    let vc: Vec<f64> = subjects.iter().map(|s| eta(s, "selinexor", "Vc")).collect();
    let kon: Vec<f64> = subjects
        .iter()
        .map(|s| eta(s, "platelets", "kon"))
        .collect();
    let kon_cv = spec.iiv["platelets.kon"];
    for (x, cv) in [(&cl, 0.3), (&vc, 0.25), (&kon, kon_cv)] {
        let (m, sd) = mean_sd(x);
        let s0 = (1.0f64 + cv * cv).ln().sqrt();
        assert!(m.abs() < 4.0 * s0 / (n as f64).sqrt(), "eta mean {m}");
        assert!(
            (sd - s0).abs() < 4.0 * s0 / (2.0 * n as f64).sqrt(),
            "eta sd {sd} vs {s0}"
        );
    }
    let (mc, sc) = mean_sd(&cl);
    let (mv, sv) = mean_sd(&vc);
    let r = cl
        .iter()
        .zip(&vc)
        .map(|(a, b)| (a - mc) * (b - mv))
        .sum::<f64>()
        / ((n - 1) as f64 * sc * sv);
    assert!(
        (r - 0.6).abs() < 4.0 * (1.0 - 0.36) / (n as f64).sqrt(),
        "correlation {r}"
    );
    // Discontinuation: exponential with the population's median.
    let Discontinuation::Exponential { median_days } = spec.discontinuation else {
        panic!("rrmm_early_relapse has an exponential discontinuation")
    };
    let mut d: Vec<f64> = subjects.iter().map(|s| s.t_disc_h / 24.0).collect();
    d.sort_by(f64::total_cmp);
    let med = d[n / 2];
    assert!(
        (med - median_days).abs() < 4.0 * median_days / (n as f64).sqrt() * 1.5,
        "median discontinuation {med} vs {median_days}"
    );
}

#[test]
fn a_covariance_that_is_not_positive_definite_is_rejected() {
    let lib = Library::embedded().unwrap();
    let mut spec = lib.population("rrmm_early_relapse").unwrap().clone();
    spec.iiv = BTreeMap::from([
        ("selinexor.CL".into(), 0.3),
        ("selinexor.Vc".into(), 0.3),
        ("selinexor.ka".into(), 0.3),
    ]);
    spec.correlations = vec![
        Correlation {
            a: "selinexor.CL".into(),
            b: "selinexor.Vc".into(),
            r: 0.9,
        },
        Correlation {
            a: "selinexor.CL".into(),
            b: "selinexor.ka".into(),
            r: 0.9,
        },
        Correlation {
            a: "selinexor.Vc".into(),
            b: "selinexor.ka".into(),
            r: -0.9,
        },
    ];
    let e = spec
        .iiv_model(&BTreeMap::new(), &|_, _| Ok(()))
        .unwrap_err();
    assert!(e.message.contains("positive definite"), "{e}");
}

/// A lab visit of a scripted patient: platelets set to `count`, everything else at baseline.
struct Script {
    model: selinexor_pkpd::engine::model::Model,
    levels: Vec<Vec<selinexor_pkpd::spec::regimen::DoseEvent>>,
    rules: selinexor_pkpd::spec::dose_rules::DoseRules,
}

impl Script {
    fn new(preset: &str) -> Self {
        let lib = Library::embedded().unwrap();
        let regimen: Regimen = lib.regimen(preset).unwrap().clone();
        let rules = lib.dose_rules_for("label", &regimen).unwrap().clone();
        let model = build_model(
            &lib,
            &["selinexor".into()],
            &Patient::default(),
            &Overrides::new(),
            None,
            PlateletModel::Tpo,
        )
        .unwrap();
        let route = |d: &str| lib.default_route(d);
        let levels = rules
            .levels_for(&regimen)
            .unwrap()
            .iter()
            .map(|r| {
                r.expand(&Patient::default(), 24.0 * 168.0, &route)
                    .unwrap()
                    .into_iter()
                    .filter(|e| e.drug == "selinexor")
                    .collect()
            })
            .collect();
        Self {
            model,
            levels,
            rules,
        }
    }
}

fn pending_doses(p: &[Action]) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = p
        .iter()
        .filter_map(|a| match a.kind {
            ActionKind::Jump { amount, .. } => Some((a.given_at / 24.0, amount)),
            _ => None,
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

#[test]
fn scripted_patients_get_exactly_the_label_actions_biw() {
    let s = Script::new("xd_80_biw");
    let plt = s.model.pd.unwrap().plt;
    let mut ctl = RuleController::new(Some(&s.rules), s.levels.clone(), 0, plt, 168.0 * 24.0);
    let mut pending = Vec::new();
    for e in &s.levels[0] {
        selinexor_pkpd::engine::events::dose_actions(&s.model, e, &mut pending).unwrap();
    }
    let mut y = vec![0.0; s.model.n];
    let mut lab = |ctl: &mut RuleController, day: f64, count: f64, pending: &mut Vec<Action>| {
        y[plt] = count;
        ctl.lab(&s.model, 0, day * 24.0, &y, pending).unwrap();
    };
    // Day 8, platelets 150: no change (80 mg on days 8 and 10).
    lab(&mut ctl, 7.0, 150.0, &mut pending);
    assert!(pending_doses(&pending)
        .iter()
        .any(|&(d, a)| d == 9.0 && a == 80.0));
    // Day 15, 60 (25 to < 75): one level down, 80 BIW -> 100 mg QW from day 15.
    lab(&mut ctl, 14.0, 60.0, &mut pending);
    let p = pending_doses(&pending);
    assert!(
        p.iter()
            .filter(|&&(d, _)| d >= 14.0)
            .all(|&(d, a)| a == 100.0 && (d as u32).is_multiple_of(7)),
        "{p:?}"
    );
    assert_eq!(ctl.outcome.n_reductions, 1);
    // Day 22, still 60: the same episode (no count >= 75 since), no second reduction.
    lab(&mut ctl, 21.0, 60.0, &mut pending);
    assert_eq!(ctl.outcome.n_reductions, 1);
    // Day 29, 20 (< 25): interrupt; every later dose cancelled, a recheck lab a week later.
    lab(&mut ctl, 28.0, 20.0, &mut pending);
    assert!(pending_doses(&pending).iter().all(|&(d, _)| d < 28.0));
    assert_eq!(ctl.outcome.n_interruptions, 1);
    assert!(pending
        .iter()
        .any(|a| matches!(a.kind, ActionKind::Lab(_)) && (a.time - 35.0 * 24.0).abs() < 1e-9));
    // Day 36, 40: not yet >= 50, still held.
    lab(&mut ctl, 35.0, 40.0, &mut pending);
    assert!(pending_doses(&pending).iter().all(|&(d, _)| d < 28.0));
    // Day 43, 55 (>= 50): restart one level lower than 100 QW: 80 mg QW from day 43.
    lab(&mut ctl, 42.0, 55.0, &mut pending);
    let p: Vec<_> = pending_doses(&pending)
        .into_iter()
        .filter(|&(d, _)| d >= 42.0)
        .collect();
    assert!(
        !p.is_empty()
            && p.iter()
                .all(|&(d, a)| a == 80.0 && (d as u32).is_multiple_of(7)),
        "{p:?}"
    );
    assert_eq!(ctl.outcome.final_level, 2);
    // Day 50, 70: the resume one level lower was this episode's step down, nothing.
    lab(&mut ctl, 49.0, 70.0, &mut pending);
    assert_eq!((ctl.outcome.n_reductions, ctl.outcome.final_level), (1, 2));
    // Day 57, 80: the episode is over. Day 64, 70: a new one, reduce to 60 mg QW; day 71,
    // 70: the same episode, nothing; day 78, 75 (re-armed); day 85, 70: past the last
    // level -> stop.
    lab(&mut ctl, 56.0, 80.0, &mut pending);
    lab(&mut ctl, 63.0, 70.0, &mut pending);
    assert!(pending_doses(&pending)
        .iter()
        .filter(|&&(d, _)| d >= 63.0)
        .all(|&(_, a)| a == 60.0));
    lab(&mut ctl, 70.0, 70.0, &mut pending);
    assert!(!ctl.outcome.stopped);
    assert_eq!(ctl.outcome.n_reductions, 2);
    lab(&mut ctl, 77.0, 75.0, &mut pending);
    lab(&mut ctl, 84.0, 70.0, &mut pending);
    assert!(ctl.outcome.stopped);
    assert!(pending_doses(&pending).iter().all(|&(d, _)| d < 84.0));
}

#[test]
fn scripted_patient_qw_ladder_walks_100_80_60_40_then_stops() {
    let s = Script::new("xd_100_qw");
    let plt = s.model.pd.unwrap().plt;
    let mut ctl = RuleController::new(Some(&s.rules), s.levels.clone(), 0, plt, 168.0 * 24.0);
    let mut pending = Vec::new();
    for e in &s.levels[0] {
        selinexor_pkpd::engine::events::dose_actions(&s.model, e, &mut pending).unwrap();
    }
    let mut y = vec![0.0; s.model.n];
    let mut expected = [80.0, 60.0, 40.0].into_iter();
    // One reduction per episode (data/dose_rules.toml): weekly labs alternating 74.9 (a new
    // episode: reduce) and 75 (at or above 75: the episode is over, nothing happens).
    for day in [14.0, 28.0, 42.0] {
        y[plt] = 74.9;
        ctl.lab(&s.model, 0, day * 24.0, &y, &mut pending).unwrap();
        let want = expected.next().unwrap();
        assert!(pending_doses(&pending)
            .iter()
            .filter(|&&(d, _)| d >= day)
            .all(|&(_, a)| a == want));
        y[plt] = 75.0;
        ctl.lab(&s.model, 0, (day + 7.0) * 24.0, &y, &mut pending)
            .unwrap();
    }
    y[plt] = 25.0; // 25 is in "25 to < 75": reduce, and 40 is the last level -> stop.
    ctl.lab(&s.model, 0, 56.0 * 24.0, &y, &mut pending).unwrap();
    assert!(ctl.outcome.stopped && ctl.outcome.n_reductions == 4);
    // At exactly 75 nothing happens.
    let mut ctl = RuleController::new(Some(&s.rules), s.levels.clone(), 0, plt, 168.0 * 24.0);
    y[plt] = 75.0;
    ctl.lab(&s.model, 0, 14.0 * 24.0, &y, &mut pending).unwrap();
    assert_eq!(ctl.outcome.n_reductions + ctl.outcome.n_interruptions, 0);
}

#[test]
fn lab_count_grid_holds_each_scheduled_read_and_nan_without_a_visit() {
    use selinexor_pkpd::sim::columns::lab_count_grid;
    let s = setup(5, true, 84.0);
    let rows = s.run_range(0, 20, Some(1)).unwrap();
    let grid = s.lab_grid();
    assert_eq!(grid, s.regimen.lab_times(84.0 * 24.0));
    let flat = lab_count_grid(&rows, &grid);
    assert_eq!(flat.len(), rows.len() * grid.len());
    for (r, row) in rows.iter().zip(flat.chunks(grid.len())) {
        for (j, &t) in grid.iter().enumerate() {
            match r.labs.iter().find(|&&(tl, _)| tl == t) {
                Some(&(_, count)) => assert_eq!(row[j].to_bits(), count.to_bits()),
                None => assert!(row[j].is_nan()),
            }
        }
        // each read is at a scheduled visit, in order, at most once; rechecks are left out
        assert!(r.labs.iter().all(|(t, _)| grid.contains(t)));
        assert!(r.labs.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(r.labs.len() as u32 <= r.n_labs);
    }
    assert!(
        flat.iter().any(|v| v.is_nan()),
        "some subjects stop before day 84"
    );
}

#[test]
fn stopping_at_progression_scales_each_subjects_discontinuation_by_the_ratio_of_medians() {
    use selinexor_pkpd::spec::population::OtherDiscontinuation;
    let lib = Library::embedded().unwrap();
    let mut spec: PopulationSpec = lib.population("rrmm_heavily_pretreated").unwrap().clone();
    spec.discontinuation = Discontinuation::Exponential { median_days: 40.0 };
    spec.discontinuation_other = Some(OtherDiscontinuation {
        median_days: 100.0,
        source: "test".into(),
    });
    let known = |_: &str, _: &str| Ok(());
    let iiv = spec.iiv_model(&BTreeMap::new(), &known).unwrap();
    let other = spec.clone().stopping_at_progression();
    assert_eq!(
        other.discontinuation,
        Discontinuation::Exponential { median_days: 100.0 }
    );
    for i in 0..50 {
        let a = spec.sample(&iiv, 9, i);
        let b = other.sample(&iiv, 9, i);
        // the same draws (covariates, random effects), the time in the ratio of the medians
        assert_eq!((&a.patient, &a.etas), (&b.patient, &b.etas));
        assert!((b.t_disc_h - 2.5 * a.t_disc_h).abs() <= 1e-9 * b.t_disc_h);
    }
    // without a split, stopping at progression keeps the overall discontinuation
    spec.discontinuation_other = None;
    assert_eq!(spec.clone().stopping_at_progression(), spec);
    // a bad median names its field
    spec.discontinuation_other = Some(OtherDiscontinuation {
        median_days: -1.0,
        source: String::new(),
    });
    let e = spec.validate().unwrap_err();
    assert_eq!(e.field, "population.discontinuation_other.median_days");
}
