//! Property-based tests (proptest): the parsers never panic, whatever they are given; on generated
//! valid regimens and patients the solution is finite and non-negative, conserves drug mass, and
//! does not depend on the thread count.

use proptest::prelude::*;
use selinexor_pkpd::engine::solver::SolverOptions;
use selinexor_pkpd::params::Overrides;
use selinexor_pkpd::sim::simulate::simulate;
use selinexor_pkpd::sim::trial::TrialSetup;
use selinexor_pkpd::spec::input::{from_json, from_value};
use selinexor_pkpd::spec::library::{parse_text, Library};
use selinexor_pkpd::spec::patient::Patient;
use selinexor_pkpd::spec::platelet_model::PlateletModel;
use selinexor_pkpd::spec::population::PopulationSpec;
use selinexor_pkpd::spec::regimen::Regimen;
use serde_json::{json, Value};

/// Arbitrary JSON values, nested a few levels, with the keys the specs use mixed into random ones.
fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("blocks".to_string()),
        Just("doses".to_string()),
        Just("drug".to_string()),
        Just("amount".to_string()),
        Just("unit".to_string()),
        Just("days".to_string()),
        Just("weekdays".to_string()),
        Just("cycle_days".to_string()),
        Just("cycles".to_string()),
        Just("labs".to_string()),
        Just("covariates".to_string()),
        Just("iiv".to_string()),
        Just("weight".to_string()),
        Just("platelets".to_string()),
        Just("drugs".to_string()),
        Just("selinexor".to_string()),
        "[a-z_.]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|x| json!(x)),
        prop_oneof![
            Just("selinexor".to_string()),
            Just("1-21".to_string()),
            Just("mg/m2".to_string()),
            Just("7-".to_string()),
            ".{0,6}"
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any text: a value or a `ModelError`, never a panic.
    #[test]
    fn parsers_never_panic_on_text(text in ".{0,200}") {
        let _ = from_json::<Regimen>(&text, "regimen");
        let _ = from_json::<PopulationSpec>(&text, "population");
        let _ = from_json::<Patient>(&text, "patient");
        let _ = parse_text(&text, "input.toml");
        let _ = parse_text(&text, "input.json");
    }

    /// Any JSON shape, including near-valid ones: a `ModelError` or a value that validates and
    /// expands without panicking.
    #[test]
    fn specs_never_panic_on_json(v in any_json()) {
        let lib = Library::embedded().unwrap();
        if let Ok(r) = from_value::<Regimen>(v.clone(), "regimen") {
            if r.validate().is_ok() {
                let _ = r.expand(&Patient::default(), 24.0 * 60.0, &|d| lib.default_route(d));
            }
        }
        if let Ok(p) = from_value::<PopulationSpec>(v.clone(), "population") {
            let _ = p.validate();
        }
        if let Ok(p) = from_value::<Patient>(v.clone(), "patient") {
            let _ = p.validate();
        }
        let _ = lib.with_overrides(v);
    }
}

/// A generated valid regimen: selinexor on some weekdays with an optional oral partner.
fn regimen_json() -> impl Strategy<Value = Value> {
    (
        5.0..200.0f64,
        prop::collection::btree_set(1u32..=7, 1..4),
        prop::sample::select(vec![21u32, 28, 35]),
        prop::option::of((
            prop::sample::select(vec![
                "dexamethasone",
                "pomalidomide",
                "lenalidomide",
                "ixazomib",
                "ruxolitinib",
            ]),
            1.0..40.0f64,
        )),
        0.0..23.0f64,
    )
        .prop_map(|(amount, weekdays, cycle_days, partner, hour)| {
            let weekdays: Vec<u32> = weekdays.into_iter().collect();
            let mut doses = vec![
                json!({"drug": "selinexor", "amount": amount, "weekdays": weekdays, "hour": hour}),
            ];
            if let Some((drug, a)) = partner {
                doses.push(json!({"drug": drug, "amount": a, "days": ["1-14"]}));
            }
            json!({"blocks": [{"cycle_days": cycle_days, "doses": doses}]})
        })
}

fn patient_strategy() -> impl Strategy<Value = Patient> {
    (40.0..160.0f64, 145.0..200.0f64, 75.0..700.0f64).prop_map(|(w, h, plt)| Patient {
        weight: w,
        height: h,
        platelets: Some(plt),
        ..Patient::default()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Finite, non-negative states, and exact mass balance of every linear drug: amount in the
    /// body + CL x AUC (the amount eliminated) = F x the doses absorbed so far.
    #[test]
    fn solutions_are_finite_nonnegative_and_conserve_mass(
        rj in regimen_json(),
        patient in patient_strategy(),
    ) {
        let lib = Library::embedded().unwrap();
        let regimen: Regimen = from_value(rj, "regimen").unwrap();
        let horizon = 42.0 * 24.0;
        let times: Vec<f64> = (0..84).map(|i| 5.5 + 12.0 * i as f64).collect();
        let sim = simulate(
            &lib, &regimen, &patient, &Overrides::new(), horizon, &times,
            PlateletModel::Tpo, &SolverOptions::default(),
        ).unwrap();
        for (t, y) in sim.times.iter().zip(&sim.states) {
            for (i, v) in y.iter().enumerate() {
                prop_assert!(v.is_finite(), "state {i} at t={t}: {v}");
                prop_assert!(*v >= -1e-9, "state {i} at t={t}: {v}");
            }
        }
        for slot in &sim.model.drugs {
            if slot.pk.mm {
                continue;
            }
            for (t, y) in sim.times.iter().zip(&sim.states) {
                let given: f64 = sim.events.iter()
                    .filter(|e| e.drug == slot.name && e.time + slot.pk.tlag < *t)
                    .map(|e| e.amount * if slot.depot.is_some() { slot.pk.f } else { 1.0 })
                    .sum();
                let body: f64 = [slot.depot, Some(slot.central), slot.periph1, slot.periph2]
                    .into_iter().flatten().map(|i| y[i]).sum();
                let eliminated = slot.pk.cl * y[slot.auc];
                let err = (body + eliminated - given).abs();
                prop_assert!(
                    err <= 1e-6 * given.max(1.0),
                    "{} at t={t}: body {body} + eliminated {eliminated} != given {given}",
                    slot.name
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// A virtual trial of generated regimens: bit-identical for one and two threads and for any
    /// split of the subject range.
    #[test]
    fn trials_are_thread_and_chunk_invariant(
        rj in regimen_json(),
        seed in any::<u64>(),
        split in 1usize..11,
    ) {
        let lib = Library::embedded().unwrap();
        let regimen: Regimen = from_value(rj, "regimen").unwrap();
        let pop = lib.population("rrmm_heavily_pretreated").unwrap().clone();
        let rules = lib.dose_rules_for("label", &regimen).ok().cloned();
        let s = TrialSetup::new(
            lib, regimen, pop, rules, Overrides::new(), 42.0, PlateletModel::Tpo,
            SolverOptions::default(), seed, vec![7.0, 21.0], None,
        ).unwrap();
        let one = s.run_range(0, 12, Some(1)).unwrap();
        let two = s.run_range(0, 12, Some(2)).unwrap();
        let mut chunked = s.run_range(0, split, Some(2)).unwrap();
        chunked.extend(s.run_range(split, 12, Some(1)).unwrap());
        prop_assert_eq!(format!("{one:?}"), format!("{two:?}"));
        prop_assert_eq!(format!("{one:?}"), format!("{chunked:?}"));
    }
}
