"""Partner drugs alone (no selinexor) against their own trials' thrombocytopenia, and their label holds
(calibration/partner_fit.toml arms, calibration/partner_targets.toml targets)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import tomlkit

import selinexor_pkpd as sp

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("partners", ROOT / "calibration" / "partners.py")
partners = importlib.util.module_from_spec(spec)
spec.loader.exec_module(partners)
CFG, TARGETS = partners.load()
# fitted targets, then the checks (compared, not fitted)
CASES = [(fit["drug"], t) for fit in CFG["fit"] for t in fit["targets"]] + [("check", c) for c in CFG["check"]]


def wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    c = p + z * z / (2 * n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    d = 1 + z * z / n
    return (c - h) / d, (c + h) / d


N_SIM = 4000

# Misses of the shipped fit (docs/partners.md), strict: a fix shows up as an unexpected pass.
KNOWN_MISSES: dict[str, str] = {
    "castor_vd_g34": "bortezomib's release block, fitted on BOSTON's Vd (17% with the same 8 cycles of twice-weekly "
                     "bortezomib), gives about 25% against CASTOR's 32.9% (docs/partners.md)",
    "castor_dvd_g34": "daratumumab has no platelet effect in the library: DVd about as Vd (about 27%) against 46.1% "
                      "(docs/partners.md)",
}


def cases() -> list:
    return [pytest.param(drug, t, id=t["key"], marks=[pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[t["key"]])]
                         if t["key"] in KNOWN_MISSES else []) for drug, t in CASES]


@pytest.mark.parametrize("drug,target", cases())
def test_partner_alone_reproduces_its_trial(drug, target):
    """The simulated incidence (another seed than the fit's) lies inside the observed Wilson 95%
    interval (the interval docs/partners.md and the calibration report quote), each side widened
    by the simulation's own sampling error in quadrature."""
    observed = TARGETS[target["key"]]["pct"] / 100.0
    sim = partners.incidence(CFG["arms"][target["arm"]], target["metric"], sp.Library(), N_SIM, 11)
    lo, hi = wilson(observed, target["n"])
    mc = 1.96 * math.sqrt(sim * (1 - sim) / N_SIM)
    lo_w = observed - math.hypot(observed - lo, mc)
    hi_w = observed + math.hypot(hi - observed, mc)
    assert lo_w <= sim <= hi_w, (
        f"{target['key']}: simulated {sim:.3f} (n={N_SIM}), observed {observed} (95% CI {lo:.3f}-{hi:.3f}; "
        f"with the simulation's error {lo_w:.3f}-{hi_w:.3f})")


def test_fitted_values_are_in_the_library_with_their_source():
    lib = sp.Library()
    for fit in CFG["fit"]:
        entry = lib.drug(fit["drug"])["params"][fit["param"]]
        lo, hi = fit["bounds"]
        assert lo < entry["value"] < hi
        assert "calibration/partners.py" in entry["source"]


@pytest.mark.parametrize("drug,resume_key,start_mg", [("lenalidomide", "resume_at_or_above_per_uL", 25.0),
                                                      ("pomalidomide", "resume_subsequent_at_or_above_per_uL", 4.0)])
def test_partner_label_holds_are_the_quoted_label_thresholds(drug, resume_key, start_mg):
    """The shipped partner rule sets (data/dose_rules.toml) hold and resume at the label thresholds
    quoted in calibration/partner_targets.toml, one dose level lower, from the label's starting dose."""
    quoted = tomlkit.parse((ROOT / "calibration" / "partner_targets.toml").read_text(encoding="utf-8")).unwrap()
    quoted = quoted["thresholds"][drug]
    rules = sp.Library().to_dict()["dose_rules"][f"{drug}_label"]
    assert rules["drug"] == drug and rules["quantity"] == "PLT"
    assert rules["ladder"][0]["amount"] == start_mg
    assert [(r["action"], r["below"], r["resume_at_or_above"], r["resume_levels_down"]) for r in rules["rules"]] == [
        ("interrupt", quoted["hold_below_per_uL"] / 1000.0, quoted[resume_key] / 1000.0, 1)]
    assert rules["recheck_days"] == 7.0  # "follow CBC weekly"


def test_ninlaro_label_holds_both_drugs_at_the_quoted_threshold_and_alternates_their_reductions():
    """ixazomib_label and lenalidomide_ixazomib_label (data/dose_rules.toml) hold below and resume
    at the NINLARO threshold quoted in calibration/partner_targets.toml; lenalidomide is reduced
    after the first hold and ixazomib after the second, alternating (4 -> 3 -> 2.3 mg)."""
    quoted = tomlkit.parse((ROOT / "calibration" / "partner_targets.toml").read_text(encoding="utf-8")).unwrap()
    quoted = quoted["thresholds"]["ixazomib"]
    assert "alternate" in quoted["quote"]
    lib = sp.Library().to_dict()["dose_rules"]
    ixa, lena = lib["ixazomib_label"], lib["lenalidomide_ixazomib_label"]
    assert [lvl["amount"] for lvl in ixa["ladder"]] == quoted["levels_mg"] == [4.0, 3.0, 2.3]
    assert [lvl["amount"] for lvl in lena["ladder"]] == [lvl["amount"] for lvl in lib["lenalidomide_label"]["ladder"]]
    for rules, drug in ((ixa, "ixazomib"), (lena, "lenalidomide")):
        assert rules["drug"] == drug and rules["recheck_days"] == 7.0
        [rule] = rules["rules"]
        assert (rule["action"], rule["below"], rule["resume_at_or_above"]) == (
            "interrupt", quoted["hold_below_per_mm3"] / 1000.0, quoted["resume_at_or_above_per_mm3"] / 1000.0)
    down_ixa, down_len = ixa["rules"][0]["resume_levels_down"], lena["rules"][0]["resume_levels_down"]
    # One of the two is reduced after each of the first six holds (ixazomib stops after the sixth).
    assert all(a + b == 1 for a, b in zip(down_ixa, down_len)) and len(down_ixa) == 6
    assert down_len[0] == 1 and sum(down_ixa) == len(ixa["ladder"])


def test_ninlaro_holds_act_only_on_held_patients_and_reduce_lenalidomide_first():
    """IRd with and without the NINLARO pair of rule sets (same patients, same seed): a patient never
    held is simulated identically; a held one spends fewer days in grade 4. After one hold,
    lenalidomide is one level lower and ixazomib at its dose (the first set's drug is the subject's
    dose columns: both orders give the same counts)."""
    pop = sp.population("rrmm_heavily_pretreated", 300)
    run = lambda rules: sp.simulate_population("ird_tourmaline", pop, days=112, seed=3, dose_rules=rules).subjects
    without = run(None)
    ixa_first = run(["ixazomib_label", "lenalidomide_ixazomib_label"])
    len_first = run(["lenalidomide_ixazomib_label", "ixazomib_label"])
    held = (ixa_first["n_interruptions"] > 0).to_numpy()
    cols = ["nadir", "days_g4", "days_g3plus", "n_labs"]
    assert held.sum() >= 5 and (~held).sum() > 200
    assert (without.loc[~held, cols].to_numpy() == ixa_first.loc[~held, cols].to_numpy()).all()
    assert (ixa_first[cols].to_numpy() == len_first[cols].to_numpy()).all()
    assert ixa_first.loc[held, "days_g4"].mean() < without.loc[held, "days_g4"].mean()
    once = held & (ixa_first["n_interruptions"] == 1).to_numpy()
    assert once.sum() >= 5
    assert (ixa_first.loc[once, "final_level"] == 0).all()
    assert (len_first.loc[once, "final_level"] == 1).all()


@pytest.mark.parametrize("regimen,rules", [("ird_tourmaline", ["ixazomib_label", "lenalidomide_ixazomib_label"]),
                                          ("pd_lodex", ["pomalidomide_label"]),
                                          ("rd_mm009", ["lenalidomide_label"])])
def test_partner_holds_leave_grade_3_4_unchanged_patient_by_patient(regimen, rules):
    """A partner's label hold acts below 30 or 25, so never before the first lab below 50: the
    grade 3-4 targets that the partner fits simulate without the holds are the same with them."""
    pop = sp.population("rrmm_heavily_pretreated", 400)
    without, held = (sp.simulate_population(regimen, pop, days=182, seed=11, dose_rules=r).subjects
                     for r in (None, rules))
    assert (held["n_interruptions"] > 0).sum() > 10
    assert ((without["worst_grade_lab"] >= 3) == (held["worst_grade_lab"] >= 3)).all()


def test_a_partner_hold_changes_only_patients_whose_count_reached_its_threshold():
    """Selinexor 60 mg + pomalidomide 4 mg + dex with and without pomalidomide's own label hold
    (same patients, same seed): a patient with no lab count below 25 is simulated identically; the
    others, whose pomalidomide is held, spend fewer days in grade 4 and grade >= 3 on average."""
    pop = sp.population("rrmm_heavily_pretreated", 400)
    runs = [sp.simulate_population("trial000_arm2", pop, days=112, seed=3, dose_rules=rules).subjects
            for rules in (["label"], ["label", "pomalidomide_label"])]
    without, held = runs
    never = (without["worst_grade_lab"] < 4).to_numpy()
    cols = ["nadir", "days_g4", "days_g3plus", "dose_intensity_mg_week", "n_labs"]
    assert never.sum() > 100 and (~never).sum() > 50
    assert (without.loc[never, cols].to_numpy() == held.loc[never, cols].to_numpy()).all()
    for col in ("days_g4", "days_g3plus"):
        assert held.loc[~never, col].mean() < without.loc[~never, col].mean()
