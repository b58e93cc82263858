//! Simon's two-stage designs against Simon (Control Clin Trials 1989;10:1-10), Table 1, and
//! simulated trials against the exact operating characteristics.

use selinexor_pkpd::sim::simon::{search, SimonDesign};

#[test]
fn reproduces_simons_published_designs() {
    // p0 = 0.10, p1 = 0.30, alpha = 0.05, beta = 0.20 (Simon 1989, Table 1): optimal
    // 1/10, 5/29 (EN(p0) 15.0, PET(p0) 0.74); minimax 1/15, 5/25 (EN(p0) 19.5, PET(p0) 0.55).
    let (opt, mm) = search(0.10, 0.30, 0.05, 0.20, 60).expect("search");
    let opt = opt.expect("an optimal design");
    let mm = mm.expect("a minimax design");
    assert_eq!(
        opt,
        SimonDesign {
            r1: 1,
            n1: 10,
            r: 5,
            n: 29
        }
    );
    assert_eq!(
        mm,
        SimonDesign {
            r1: 1,
            n1: 15,
            r: 5,
            n: 25
        }
    );
    let (o, m) = (opt.oc(0.10), mm.oc(0.10));
    assert!(
        (o.en - 15.0).abs() < 0.05 && (o.pet - 0.74).abs() < 0.005,
        "{o:?}"
    );
    assert!(
        (m.en - 19.5).abs() < 0.05 && (m.pet - 0.55).abs() < 0.005,
        "{m:?}"
    );
    assert!(opt.oc(0.10).p_active <= 0.05 && opt.oc(0.30).p_active >= 0.80);
}

#[test]
fn simulated_trials_agree_with_the_exact_figures() {
    // Protocol 000 arms 1 and 2: 13 patients, stop with 3 or fewer responses, 43 in all.
    let d = SimonDesign {
        r1: 3,
        n1: 13,
        r: 12,
        n: 43,
    };
    for p in [0.2, 0.35] {
        let exact = d.oc(p);
        let trials = 20_000;
        let (early, active, en) = d.simulate(p, trials, 7);
        let se = |q: f64| (q * (1.0 - q) / f64::from(trials)).sqrt();
        assert!(
            (early - exact.pet).abs() < 4.0 * se(exact.pet),
            "{early} vs {exact:?}"
        );
        assert!(
            (active - exact.p_active).abs() < 4.0 * se(exact.p_active),
            "{active} vs {exact:?}"
        );
        assert!((en - exact.en).abs() < 0.5, "{en} vs {exact:?}");
    }
}

#[test]
fn bad_designs_are_named_errors() {
    assert_eq!(search(0.3, 0.1, 0.05, 0.2, 50).unwrap_err().field, "p1");
    assert_eq!(search(0.1, 0.3, 0.7, 0.2, 50).unwrap_err().field, "alpha");
    assert!(SimonDesign {
        r1: 5,
        n1: 4,
        r: 6,
        n: 10
    }
    .validate()
    .is_err());
}
