"""A population's own typical values (``typical`` of a population, ``Population.with_typical``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import selinexor_pkpd as sp

N, DAYS, SEED = 40, 56.0, 11


def run(pop: sp.Population, params: dict | None = None) -> sp.PopulationResult:
    return sp.simulate_population("xd_80_biw", pop, days=DAYS, seed=SEED, dose_rules="label_biw",
                                  params=params, threads=1)


def test_a_population_typical_value_is_the_run_level_override_for_its_patients():
    base = sp.population("rrmm_heavily_pretreated", N)
    own = run(base.with_typical({"platelets.Imax": 0.9, "selinexor.CL": 12.0}, source="test"))
    given = run(base, params={"platelets": {"Imax": 0.9}, "selinexor": {"CL": 12.0}})
    pd.testing.assert_frame_equal(own.subjects, given.subjects)
    plain = run(base)
    assert not own.subjects["nadir"].equals(plain.subjects["nadir"])
    # individual values scatter around the population's typical value (logit-normal IIV of Imax)
    imax = own.subjects["platelets.Imax"].to_numpy()
    assert abs(np.median(np.log(imax / (1 - imax))) - math.log(0.9 / 0.1)) < 0.6


def test_the_run_params_win_over_the_population_typical_value():
    base = sp.population("rrmm_heavily_pretreated", N)
    both = run(base.with_typical({"platelets.Imax": 0.5}), params={"platelets": {"Imax": 0.9}})
    given = run(base, params={"platelets": {"Imax": 0.9}})
    pd.testing.assert_frame_equal(both.subjects, given.subjects)


def test_the_typical_table_round_trips_and_keeps_its_source():
    pop = sp.population("rrmm_early_relapse", 5).with_typical({"platelets.renewal": 0.8}, source="ASSUMPTION: x")
    assert pop.spec["typical"] == {"platelets.renewal": {"value": 0.8, "source": "ASSUMPTION: x"}}
    assert "typical" not in sp.population("rrmm_early_relapse", 5).spec


@pytest.mark.parametrize("values, field", [
    ({"Imax": 0.9}, "population.typical.Imax"),
    ({"platelets.nope": 0.9}, "population.typical.platelets.nope"),
    ({"platelets.Imax": math.nan}, "population.typical.platelets.Imax.value"),
    ({"platelets.Imax": -1.0}, "population.typical.platelets.Imax"),
])
def test_a_bad_typical_value_is_named(values, field):
    pop = sp.population("rrmm_heavily_pretreated", 3).with_typical(values)
    with pytest.raises(sp.ModelError) as e:
        run(pop)
    assert e.value.field == field, str(e.value)
