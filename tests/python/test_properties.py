"""Property-based tests (hypothesis) of the Python API.

Generated invalid inputs of every parser give a ``ModelError`` (or the documented ``TypeError``
for a value of the wrong Python type), never a panic or another exception; generated valid
regimens and patients give finite, non-negative outputs; population results do not depend on
threads, chunking or summary mode.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import selinexor_pkpd as sp

ACCEPTED = (sp.ModelError, TypeError)

KEYS = st.sampled_from([
    "blocks", "doses", "drug", "amount", "unit", "days", "weekdays", "cycle_days", "cycles",
    "labs", "cycle1", "later", "route", "duration_h", "hour", "weight", "height", "platelets",
    "sex", "age", "crcl", "covariates", "iiv", "discontinuation", "dist", "median",
    "ladder", "rules", "below", "at_or_above", "action", "resume_at_or_above", "quantity", "units",
    "while_held", "unless_stopped", "rearm_at_or_above", "resume_levels_down", "cooldown_days", "recheck_days", "prop", "add",
]) | st.text(max_size=6)
LEAVES = (
    st.none() | st.booleans() | st.integers() | st.floats()
    | st.sampled_from(["selinexor", "1-21", "mg/m2", "oral", "iv", "7-", "lognormal", "F", "reduce", "interrupt",
                       "transfuse", "start", "stop", "PLT", "romiplostim", "label"])
    | st.text(max_size=6)
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=24,
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _refused_or_fine(call):
    try:
        call()
    except ACCEPTED:
        pass


@FAST
@given(JSON)
def test_regimen_parser_never_panics(spec):
    def run():
        r = sp.Regimen(spec)
        r.events(days=28)
    _refused_or_fine(run)


@FAST
@given(JSON)
def test_patient_parser_never_panics(spec):
    _refused_or_fine(lambda: sp.simulate("xd_80_biw", patient=spec, days=2))


@FAST
@given(JSON)
def test_params_and_library_overrides_never_panic(spec):
    _refused_or_fine(lambda: sp.simulate("xd_80_biw", params=spec, days=2))
    _refused_or_fine(lambda: sp.Library(overrides=spec))


@FAST
@given(JSON, st.integers(min_value=1, max_value=5))
def test_population_parser_never_panics(spec, n):
    _refused_or_fine(lambda: sp.simulate_population("xd_80_biw", sp.Population(spec, n), days=7))


@FAST
@given(JSON)
def test_dose_rules_lab_error_and_covariate_steps_never_panic(spec):
    pop = sp.population("rrmm_heavily_pretreated", n=2)
    _refused_or_fine(lambda: sp.simulate_population("xd_80_biw", pop, days=14, dose_rules=spec))
    _refused_or_fine(lambda: sp.simulate_population("xd_80_biw", pop, days=14, dose_rules=[spec, "label"]))
    _refused_or_fine(lambda: sp.simulate_population("xd_80_biw", pop, days=14, lab_error=spec))
    _refused_or_fine(lambda: sp.simulate("xd_80_biw", days=7, covariates=spec))


@FAST
@given(st.text(max_size=120))
def test_text_inputs_never_panic(text):
    _refused_or_fine(lambda: sp.Regimen.from_json(text))
    _refused_or_fine(lambda: sp.simulate(text, days=2))


@st.composite
def regimens(draw):
    weekdays = sorted(draw(st.sets(st.integers(1, 7), min_size=1, max_size=3)))
    amount = draw(st.floats(5.0, 200.0))
    r = sp.Regimen.weekly("selinexor", amount, weekdays=weekdays)
    partner = draw(st.sampled_from([None, "dexamethasone", "pomalidomide", "lenalidomide", "ixazomib"]))
    if partner is not None:
        r = r.add(sp.dose(partner, draw(st.floats(1.0, 40.0)), days=["1-14"]))
    return r


patients = st.fixed_dictionaries({
    "weight": st.floats(40.0, 160.0),
    "height": st.floats(145.0, 200.0),
    "platelets": st.floats(75.0, 700.0),
    "age": st.floats(30.0, 90.0),
})


@settings(max_examples=40, deadline=None)
@given(regimens(), patients)
def test_valid_inputs_give_finite_nonnegative_outputs(regimen, patient):
    df = sp.simulate(regimen, patient=patient, days=42, dt_h=6.0)
    numeric = df.select_dtypes("number")
    assert np.isfinite(numeric.to_numpy()).all()
    for col in [c for c in numeric.columns if c.startswith("C_")] + ["X", "PLT", "TPO"]:
        assert (df[col] >= -1e-9).all(), col
    assert ((df["X"] >= 0) & (df["X"] <= 1 + 1e-12)).all()


@settings(max_examples=5, deadline=None)
@given(regimens(), st.integers(0, 2**63), st.integers(1, 9))
def test_population_thread_chunk_and_summary_invariance(regimen, seed, chunk):
    pop = sp.population("rrmm_heavily_pretreated", n=10)
    kw = dict(days=28, seed=seed, dose_rules="label")
    one = sp.simulate_population(regimen, pop, threads=1, **kw)
    two = sp.simulate_population(regimen, pop, threads=min(2, sp._core.max_threads()), chunk_size=chunk, **kw)
    pd.testing.assert_frame_equal(one.subjects, two.subjects, check_exact=True)
    arms = {"generated": regimen, "80 mg BIW": "xd_80_biw"}
    full = sp.compare(arms, pop, days=28, seed=seed, threads=1)
    streamed = sp.compare(arms, pop, days=28, seed=seed, threads=1, summary_only=True)
    pd.testing.assert_frame_equal(full.table(), streamed.table(), check_exact=True)


@st.composite
def rule_sets(draw):
    """Near-valid rule sets: any quantity, thresholds, actions and drugs, some of them wrong."""
    quantity = draw(st.sampled_from(["PLT", "X", "TPO", "C_selinexor", "PLT_TX", "PROL", "C_nope"]))
    rules = []
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["reduce", "interrupt", "resume", "stop", "start", "transfuse", "increase"]))
        lo = draw(st.floats(0.0, 500.0))
        rule = {"below": lo + draw(st.floats(0.0, 300.0)), "action": action}
        if draw(st.booleans()):
            rule["at_or_above"] = lo
        if action == "interrupt" and draw(st.booleans()):
            rule["resume_at_or_above"] = draw(st.floats(0.0, 500.0))
        elif action == "interrupt" and draw(st.booleans()):
            rule["resume_below"] = draw(st.floats(0.0, 500.0))
        if action == "increase" or draw(st.integers(0, 5)) == 0:
            rule["maximum"] = draw(st.floats(0.0, 150.0))
        if draw(st.integers(0, 3)) == 0:
            rule["consecutive"] = draw(st.integers(0, 3))
        if draw(st.integers(0, 3)) == 0:
            rule["unless_held"] = draw(st.sampled_from(["selinexor", "dexamethasone"]))
        if action in ("start", "stop") or draw(st.booleans()):
            rule["drug"] = draw(st.sampled_from(["dexamethasone", "selinexor", "romiplostim"]))
        if action == "transfuse":
            rule["units"] = draw(st.floats(0.0, 30.0))
        if draw(st.booleans()):
            rule["while_held"] = "selinexor"
        rules.append(rule)
    lower = sorted(draw(st.lists(st.floats(10.0, 79.0), max_size=3)), reverse=True)
    upper = [100.0] if draw(st.booleans()) else []
    ladder = [{"amount": a, "weekdays": [1, 3]} for a in [*upper, 80.0, *lower]] if draw(st.integers(0, 5)) else []
    out = {"drug": "selinexor", "quantity": quantity, "ladder": ladder, "rules": rules,
           "cooldown_days": draw(st.floats(0.0, 60.0)), "recheck_days": draw(st.floats(1.0, 14.0))}
    if draw(st.integers(0, 3)) == 0:
        out["monitor_days"] = draw(st.floats(0.0, 14.0))
    return out


@settings(max_examples=80, deadline=None)
@given(rule_sets(), st.booleans())
def test_generated_rule_sets_run_or_are_refused(rules, with_label):
    pop = sp.population("rrmm_heavily_pretreated", n=4)
    try:
        res = sp.simulate_population("xd_80_biw", pop, days=56, dose_rules=["label", rules] if with_label else rules,
                                     seed=3)
    except sp.ModelError:
        return
    s = res.subjects
    assert np.isfinite(s["nadir"]).all() and (s["nadir"] >= 0).all()
    assert (s["units_transfused"] >= 0).all()
    again = sp.simulate_population("xd_80_biw", pop, days=56, dose_rules=["label", rules] if with_label else rules,
                                   seed=3, threads=1, chunk_size=1)
    pd.testing.assert_frame_equal(s, again.subjects, check_exact=True)
