"""Supportive care (docs/supportive_care.md): platelet transfusions through the Python API,
several rule sets in one virtual trial, thread invariance of the new columns, and bad input."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import expect_model_error

import selinexor_pkpd as sp

# platelets.tx_increment (10^9/L per unit) and platelets.tx_survival (h), data/platelets.toml
INCREMENT, SURVIVAL_H = 30.0, 96.0

TRANSFUSE_DAY_3 = {
    "description": "2 platelet units on day 3",
    "blocks": [{"cycle_days": 28, "cycles": 1, "doses": [
        {"drug": "platelet_transfusion", "amount": 2, "unit": "units", "days": [3]}]}],
}

RESCUE = {  # transfuse 1 unit below 10; a second set, after the label rules
    "ladder": [],
    "rules": [{"below": 10, "action": "transfuse", "units": 1}],
}


def small(n=16):
    return sp.population("rrmm_heavily_pretreated", n=n)


def test_transfusion_in_a_regimen_jumps_and_decays_in_closed_form():
    t0 = 48.0
    times = [t0, t0 + 1e-6, t0 + 24.0, t0 + 96.0, t0 + 240.0]
    out = sp.simulate(sp.Regimen(TRANSFUSE_DAY_3), days=28, times=times, rtol=1e-9, atol=1e-12)
    tx = np.asarray(out["PLT_TX"])
    plt = np.asarray(out["PLT"])
    assert tx[0] == 0.0
    assert plt[1] - plt[0] == pytest.approx(2 * INCREMENT, abs=1e-6)
    want = 2 * INCREMENT * np.exp(-(np.asarray(times[1:]) - t0) / SURVIVAL_H)
    np.testing.assert_allclose(tx[1:], want, rtol=1e-6)


def test_no_transfusion_no_new_output():
    out = sp.simulate("xd_80_biw", days=7)
    assert "PLT_TX" not in out


def test_several_rule_sets_transfuse_and_the_columns_do_not_depend_on_threads():
    pop = small(24)
    # The label rules (primary set) and a second set transfusing 1 unit below 60 (a high
    # threshold, so that transfusions happen in 24 subjects within 12 weeks of 80 mg BIW).
    kw = dict(days=84, seed=3, dose_rules=["label", {**RESCUE, "rules": [
        {"below": 60, "action": "transfuse", "units": 1}]}])
    a = sp.simulate_population("xd_80_biw", pop, threads=1, **kw)
    b = sp.simulate_population("xd_80_biw", pop, threads=2, **kw)
    cols = ["n_transfusions", "units_transfused", "t_rescue_start_days"]
    pd.testing.assert_frame_equal(a.subjects, b.subjects, check_exact=True)
    s = a.subjects
    assert set(cols) <= set(s.columns)
    assert (s["n_transfusions"] > 0).any(), "no subject reached the threshold: the test checks nothing"
    assert (s["units_transfused"] == s["n_transfusions"]).all()
    assert s["t_rescue_start_days"].isna().all()
    # The label rules alone transfuse nobody.
    c = sp.simulate_population("xd_80_biw", pop, threads=2, days=84, seed=3, dose_rules="label")
    assert (c.subjects["n_transfusions"] == 0).all()


def test_a_single_label_set_in_a_list_is_the_label_preset():
    pop = small(8)
    a = sp.simulate_population("xd_80_biw", pop, days=56, seed=2, dose_rules="label")
    b = sp.simulate_population("xd_80_biw", pop, days=56, seed=2, dose_rules=["label"])
    pd.testing.assert_frame_equal(a.subjects, b.subjects, check_exact=True)


def test_rescue_start_of_a_withheld_drug_during_a_selinexor_hold():
    # selinexor 80 mg BIW + lenalidomide 10 mg days 1-21, lenalidomide withheld until platelets
    # < 75 while selinexor is held (a stand-in rescue: the test checks the start, not the drug).
    reg = {"description": "Sd + R rescue", "blocks": [{"cycle_days": 28, "doses": [
        {"drug": "selinexor", "amount": 80, "weekdays": [1, 3]},
        {"drug": "lenalidomide", "amount": 10, "days": ["1-21"]}]}]}
    rescue = {"ladder": [], "rules": [
        {"below": 75, "action": "start", "drug": "lenalidomide", "while_held": "selinexor"}]}
    r = sp.simulate_population(sp.Regimen(reg), small(24), days=112, seed=4, dose_rules=["label", rescue])
    s = r.subjects
    started = s["t_rescue_start_days"].notna()
    assert started.any() and (s.loc[started, "n_interruptions"] >= 1).all()
    assert (s.loc[~started, "t_rescue_start_days"].isna()).all()


@pytest.mark.parametrize("rules,field,words", [
    ({"quantity": "platelets", "ladder": [{"amount": 80}], "rules": [{"below": 25, "action": "reduce"}]},
     "dose_rules.quantity", ["platelets", "PLT"]),
    ({"ladder": [], "rules": [{"below": 50, "action": "start"}]}, "dose_rules.rules[0].drug", ["start"]),
    ({"ladder": [], "rules": [{"below": 10, "action": "transfuse"}]}, "dose_rules.rules[0].units", ["units"]),
    ({"ladder": [], "rules": [{"below": 10, "action": "transfuse", "units": 1e9}]}, "dose_rules.rules[0].units",
     ["1000000000"]),
    ({"ladder": [], "rules": [{"below": 50, "action": "start", "drug": "romiplostim_x"}]},
     "dose_rules.rules[0].drug", ["romiplostim_x", "not dosed"]),
    ({"quantity": "C_dexamethasone", "ladder": [], "rules": [{"below": 1, "action": "transfuse", "units": 1}]},
     "dose_rules.quantity", ["dexamethasone", "not simulated"]),
])
def test_bad_rule_sets_are_named_errors(rules, field, words):
    expect_model_error(sp.simulate_population, "xd_80_biw", small(2), days=7, dose_rules=rules, field=field,
                       contains=words)


def test_bad_rule_set_in_a_list_names_its_index():
    expect_model_error(sp.simulate_population, "xd_80_biw", small(2), days=7,
                       dose_rules=["label", {"ladder": [], "rules": [{"below": 10, "action": "transfuse"}]}],
                       field="dose_rules[1].rules[0].units")
    expect_model_error(sp.simulate_population, "xd_80_biw", small(2), days=7, dose_rules=["label", 3],
                       field="dose_rules[1]")
    expect_model_error(sp.simulate_population, "xd_80_biw", small(2), days=7, dose_rules=[], field="dose_rules")


def test_bad_transfusion_lines_are_named_errors():
    bad_unit = {"blocks": [{"cycle_days": 7, "doses": [
        {"drug": "platelet_transfusion", "amount": 1, "days": [1]}]}]}
    expect_model_error(lambda: sp.simulate(sp.Regimen(bad_unit), days=7), field="regimen.blocks[0].doses[0].unit",
                       contains=["units"])
    units_for_a_drug = {"blocks": [{"cycle_days": 7, "doses": [
        {"drug": "selinexor", "amount": 80, "unit": "units", "days": [1]}]}]}
    expect_model_error(lambda: sp.simulate(sp.Regimen(units_for_a_drug), days=7), field="regimen.blocks[0].doses[0].unit",
                       contains=["selinexor"])
    expect_model_error(lambda: sp.simulate(sp.Regimen(TRANSFUSE_DAY_3), days=7, platelet_model="none"), field="regimen.drug",
                       contains=["platelet_transfusion"])


def test_supportive_scenario_same_patients_any_threads():
    pop = small(24)
    a = sp.compare_supportive(pop, days=112, seed=5, threads=1, progress=False)
    b = sp.compare_supportive(pop, days=112, seed=5, threads=2, progress=False)
    pd.testing.assert_frame_equal(a.subjects, b.subjects, check_exact=True)
    s = a.subjects
    assert list(s["arm"].unique()) == list(sp.SUPPORTIVE_ARMS)
    for col in ["n_transfusions", "units_transfused", "t_rescue_start_days", "dose_intensity_mg_week", "days_g4"]:
        assert col in s.columns
    rescued = s[s["arm"] == "80 mg BIW + TPO-RA rescue"]["t_rescue_start_days"]
    assert rescued.notna().any(), "no rescue started: the scenario checks nothing"
    no_agonist = ~s["arm"].isin(["80 mg BIW + TPO-RA rescue", "80 mg BIW + TPO-RA (consensus)"])
    assert s[no_agonist]["t_rescue_start_days"].isna().all()
    # A rescue starts only during a selinexor hold: at or after the subject's first interruption.
    both = s[s["arm"] == "80 mg BIW + TPO-RA rescue"]
    assert (both.loc[rescued.notna(), "n_interruptions"] >= 1).all()


def test_per_arm_rules_in_compare_need_every_arm():
    # A dict keyed by every arm's label gives each arm its rules; any other dict is one rule set.
    expect_model_error(sp.compare, {"a": "xd_80_biw", "b": "xd_100_qw"}, small(2), days=7, progress=False,
                       dose_rules={"a": "label"})


def test_hostile_supportive_inputs():
    # a transfusion of 10^5 units (the largest dose amount) would make the TPO sink stiff: refused
    huge = {"blocks": [{"cycle_days": 7, "doses": [
        {"drug": "platelet_transfusion", "amount": 1e5, "unit": "units", "days": [1]}]}]}
    expect_model_error(lambda: sp.simulate(sp.Regimen(huge), days=7), field="regimen.blocks[0].doses[0].amount",
                       contains=["20", "100000"])
    # an empty drug name after C_, an empty while_held
    expect_model_error(sp.simulate_population, "xd_80_biw", small(2), days=7,
                       dose_rules={"quantity": "C_", "ladder": [], "rules": [{"below": 1, "action": "transfuse",
                                                                               "units": 1}]},
                       field="dose_rules.quantity")
    expect_model_error(sp.simulate_population, "xd_80_biw", small(2), days=7,
                       dose_rules={"ladder": [], "rules": [{"below": 1, "action": "transfuse", "units": 1,
                                                            "while_held": " "}]},
                       field="dose_rules.rules[0].while_held")
    # units on a rule that does not transfuse; a resume threshold on a start rule
    expect_model_error(sp.simulate_population, "xd_80_biw", small(2), days=7,
                       dose_rules={"ladder": [{"amount": 80}], "rules": [{"below": 25, "action": "reduce", "units": 2}]},
                       field="dose_rules.rules[0].units")
    # an unknown action, and an unknown field of a rule
    expect_model_error(sp.simulate_population, "xd_80_biw", small(2), days=7,
                       dose_rules={"ladder": [], "rules": [{"below": 25, "action": "pray"}]},
                       field="dose_rules.rules[0].action", contains=["pray", "transfuse"])
    expect_model_error(sp.simulate_population, "xd_80_biw", small(2), days=7,
                       dose_rules={"ladder": [], "rules": [{"below": 25, "action": "transfuse", "units": 1,
                                                            "unit": 1}]}, field="dose_rules.rules[0].unit",
                       contains=["units"])


@pytest.mark.parametrize("rule,field,words", [
    ({"below": 50, "action": "increase"}, "dose_rules.rules[0].maximum", ["maximum"]),
    ({"below": 50, "action": "increase", "maximum": 0.0005}, "dose_rules.rules[0].maximum", ["0.0005"]),
    ({"below": 50, "action": "increase", "maxmum": 0.01}, "dose_rules.rules[0].maxmum", ["maximum"]),
    ({"below": 1e5, "at_or_above": 400, "action": "interrupt", "resume_below": 450}, "dose_rules.rules[0].resume_below",
     ["450", "400"]),
    ({"below": 25, "action": "interrupt", "resume_below": 20}, "dose_rules.rules[0].resume_below", ["at_or_above"]),
    ({"below": 1e5, "at_or_above": 200, "action": "reduce", "consecutive": 0}, "dose_rules.rules[0].consecutive",
     ["0"]),
    ({"below": 1e5, "action": "stop", "unless_held": "selinexor", "while_held": "selinexor"},
     "dose_rules.rules[0].unless_held", ["while_held"]),
    ({"below": 1e5, "action": "stop", "unless_held": "lenalidomide"}, "dose_rules.rules[0].unless_held",
     ["lenalidomide", "not dosed"]),
    ({"below": 25, "action": "stop", "unless_stopped": "pomalidomide"}, "dose_rules.rules[0].unless_stopped",
     ["pomalidomide", "not dosed"]),
    ({"below": 25, "action": "stop", "unless_stopped": ""}, "dose_rules.rules[0].unless_stopped", ["empty"]),
    ({"below": 75, "at_or_above": 25, "action": "reduce", "rearm_at_or_above": 50},
     "dose_rules.rules[0].rearm_at_or_above", ["75", "50"]),
    ({"below": 25, "action": "interrupt", "resume_at_or_above": 50, "resume_levels_down": []},
     "dose_rules.rules[0].resume_levels_down", ["empty"]),
    ({"below": 75, "at_or_above": 25, "action": "reduce", "resume_levels_down": [0, 1]},
     "dose_rules.rules[0].resume_levels_down", ["[0, 1]", "only interrupt and resume"]),
    ({"below": 25, "action": "interrupt", "resume_at_or_above": 50, "resume_levels_down": [0, -1]},
     "dose_rules.rules[0].resume_levels_down", ["a number of levels", "list"]),
    ({"below": 25, "action": "interrupt", "resume_at_or_above": 50, "resume_levels_down": "one"},
     "dose_rules.rules[0].resume_levels_down", ["a number of levels"]),
    ({"below": 50, "action": "increase", "maximum": 0.002}, "dose_rules.monitor_days", ["0.5"]),
])
def test_bad_titration_rules_are_named_errors(rule, field, words):
    titration = {"drug": "romiplostim", "unit": "mg/kg", "ladder": [{"amount": 0.002}, {"amount": 0.001}],
                 "rules": [rule]}
    if field == "dose_rules.monitor_days":
        titration["monitor_days"] = 0.5
    expect_model_error(sp.simulate_population, "xd_80_biw_romiplostim_rescue", small(2), days=7,
                       dose_rules=["label", titration], field="dose_rules[1]." + field.removeprefix("dose_rules."),
                       contains=words)


def test_a_ladder_in_another_unit_than_the_regimen_is_a_named_error():
    mg_ladder = {"drug": "romiplostim", "ladder": [{"amount": 0.002}, {"amount": 0.001}],
                 "rules": [{"below": 50, "action": "increase", "maximum": 0.002}]}
    expect_model_error(sp.simulate_population, "xd_80_biw_romiplostim_rescue", small(2), days=7,
                       dose_rules=["label", mg_ladder], field="dose_rules[1].ladder", contains=["mg/kg", "unit"])


def test_romiplostim_rescue_titration_in_a_virtual_trial():
    # The rescue arm's romiplostim doses (NONMEM dose rows, as given after the rules): from
    # 1 ug/kg, in steps of 1 ug/kg, never above 10 ug/kg, only to rescued patients, and none
    # given outside a course (each course starts during a selinexor hold).
    pop = small(40)
    res = sp.simulate_population("xd_80_biw_romiplostim_rescue", pop, days=112, seed=5, threads=2,
                                 dose_rules=["label_biw_tpo_rescue", "romiplostim_titration"], observe=[111.0])
    s = res.subjects
    rescued = s["t_rescue_start_days"].notna()
    assert rescued.any(), "no rescue started: the test checks nothing"
    rows = sp.to_nonmem(res)
    rom = rows[(rows["DRUG"] == "romiplostim") & (rows["EVID"] == 1)]
    ug_per_kg = rom["AMT"] / rom["WT"] * 1000.0
    steps = np.round(ug_per_kg.to_numpy(), 9)
    assert np.allclose(steps, np.round(steps)) and steps.min() >= 1 and steps.max() <= 10
    # Every rescued patient is dosed (a start with no dose left, after discontinuation, is none).
    assert set(rom["ID"]) == set(np.flatnonzero(rescued.to_numpy()) + 1)
    first = rom.groupby("ID")["TIME"].min() / 24.0
    start = s["t_rescue_start_days"].to_numpy()
    for i, day in first.items():
        assert day == pytest.approx(start[i - 1]), i
    # Each subject's first dose is the starting dose, 1 ug/kg.
    assert (ug_per_kg.groupby(rom["ID"]).first().round(9) == 1.0).all()


def test_consensus_rescue_in_a_virtual_trial():
    # The consensus arm (Gavriatopoulou 2020): romiplostim 5 ug/kg weekly from a lab count < 25
    # until the first weekly count >= 50. Every dose is 5 ug/kg, the first at the rescue start on
    # a count < 25, and each is given at a weekly visit whose count is < 50 (a count >= 50 stops
    # the course before its dose).
    pop = small(60)
    days = 140
    res = sp.simulate_population("xd_80_biw_romiplostim_consensus", pop, days=days, seed=5, threads=2,
                                 dose_rules=["label_biw_tpo_consensus", "romiplostim_consensus"],
                                 observe=list(range(days)))
    s = res.subjects
    rescued = s["t_rescue_start_days"].notna()
    assert rescued.any(), "no rescue started: the test checks nothing"
    rows = sp.to_nonmem(res)
    rom = rows[(rows["DRUG"] == "romiplostim") & (rows["EVID"] == 1)]
    assert np.allclose(rom["AMT"] / rom["WT"] * 1000.0, 5.0)
    traj = np.asarray(res.trajectories)
    grid = np.asarray(res.times_days)
    start = s["t_rescue_start_days"].to_numpy()
    for i, t in zip(rom["ID"], rom["TIME"] / 24.0):
        day = int(np.flatnonzero(np.isclose(grid, t))[0])
        assert traj[i - 1][day] < 50.0, (i, t, traj[i - 1][day])
    first = rom.groupby("ID")["TIME"].min() / 24.0
    for i, t in first.items():
        assert t == pytest.approx(start[i - 1]), i
        assert traj[i - 1][int(round(t))] < 25.0, i
    # Some course ended: a patient with a count >= 50 at a weekly visit after the start had it stopped.
    assert len(rom) < sum(days // 7 - int(start[i - 1] // 7) for i in set(rom["ID"]))


def test_cli_supportive_scenario(tmp_path):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "selinexor_pkpd.cli", "compare", "--scenario", "supportive", "--n", "12",
           "--days", "56", "--out", str(tmp_path / "o"), "--quiet", "--threads", "2"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**__import__("os").environ,
                                                                               "MPLBACKEND": "Agg"})
    assert p.returncode == 0, p.stderr
    for arm in sp.SUPPORTIVE_ARMS:
        assert arm in p.stdout
    assert "Supportive care" in p.stdout and "rescued_pct" in p.stdout
    bad = subprocess.run(cmd[:-2] + ["--arms", "xd_80_biw"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--arms" in bad.stderr and "Traceback" not in bad.stderr
    several = subprocess.run([sys.executable, "-m", "selinexor_pkpd.cli", "compare", "--rules",
                              "label+transfuse_below_10", "--arms", "xd_80_biw", "--n", "4", "--days", "14",
                              "--out", str(tmp_path / "p"), "--quiet", "--threads", "1"],
                             capture_output=True, text=True, timeout=300, env={**__import__("os").environ,
                                                                               "MPLBACKEND": "Agg"})
    assert several.returncode == 0, several.stderr


def test_supportive_table_needs_the_subject_table():
    res = sp.compare_supportive(small(4), days=14, progress=False, threads=1, summary_only=True)
    expect_model_error(sp.supportive_table, res, field="summary_only")
    t = sp.supportive_table(sp.compare_supportive(small(4), days=14, progress=False, threads=1))
    assert list(t.index) == list(sp.SUPPORTIVE_ARMS)
    assert list(t.columns) == ["mg_week", "days_g4", "days_g3plus", "transfusions", "rescued_pct"]


def test_a_per_occurrence_resume_list_of_one_value_is_that_value():
    """resume_levels_down = [1] and [1, 1, 1] act as 1 (the last entry repeats), and [0] as 0: the
    label preset with its interrupt rule's value written as a list gives the same patients."""
    pop = sp.population("rrmm_heavily_pretreated", 200)
    label = sp.Library().to_dict()["dose_rules"]["label_biw"]

    def run(down):
        rules = copy.deepcopy(label)
        rules["rules"][0]["resume_levels_down"] = down
        return sp.simulate_population("xd_80_biw", pop, days=112, seed=5, dose_rules=rules).subjects

    cols = ["nadir", "days_g4", "dose_intensity_mg_week", "final_level", "n_interruptions", "n_reductions"]
    one = run(1)[cols]
    assert one["n_interruptions"].sum() > 10
    for down in ([1], [1, 1, 1]):
        pd.testing.assert_frame_equal(run(down)[cols], one)
    zero = run(0)[cols]
    pd.testing.assert_frame_equal(run([0])[cols], zero)
    assert not zero.equals(one)


def test_a_regimen_without_the_ruled_drug_delivers_zero_not_minus_zero():
    """Without selinexor and without rules, the primary drug (selinexor) is neither planned nor
    delivered: the per-week columns are +0, not the -0 of an empty floating-point sum."""
    s = sp.simulate_population("ird_tourmaline", sp.population("rrmm_early_relapse", 3), days=28).subjects
    for col in ("dose_intensity_mg_week", "planned_mg_week"):
        assert (s[col] == 0.0).all() and not np.signbit(s[col]).any(), col
