"""Scale-out on an executor (dask.distributed, concurrent.futures): results bit-identical to the
in-process run for any workers and chunking."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from conftest import expect_model_error

import selinexor_pkpd as sp

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


def test_population_on_a_two_worker_cluster_is_bit_identical(client):
    pop = sp.population("rrmm_heavily_pretreated", n=1000)
    kw = dict(days=84, dose_rules="label", observe=[7.0, 14.0, 28.0, 56.0], seed=7)
    local = sp.simulate_population("xd_80_biw", pop, **kw)
    remote = sp.simulate_population("xd_80_biw", pop, executor=client, **kw)
    pd.testing.assert_frame_equal(local.subjects, remote.subjects, check_exact=True)
    assert np.array_equal(local.trajectories, remote.trajectories, equal_nan=True)
    assert len(remote.subjects) == 1000


def test_compare_on_a_cluster_is_bit_identical_full_and_streamed(client):
    pop = sp.population("rrmm_early_relapse", n=300)
    arms = {"80 mg BIW": "xd_80_biw", "100 mg QW": "xd_100_qw"}
    local = sp.compare(arms, pop, days=56, seed=3)
    remote = sp.compare(arms, pop, days=56, seed=3, executor=client, chunk_size=37)
    pd.testing.assert_frame_equal(local.subjects, remote.subjects, check_exact=True)
    pd.testing.assert_frame_equal(local.table(), remote.table(), check_exact=True)
    pd.testing.assert_frame_equal(local.differences(), remote.differences(), check_exact=True)
    streamed = sp.compare(arms, pop, days=56, seed=3, executor=client, summary_only=True)
    pd.testing.assert_frame_equal(local.table(), streamed.table(), check_exact=True)


def test_a_custom_library_travels_to_the_workers(client):
    lib = sp.Library().override({"drugs": {"selinexor": {"params": {"CL": {"value": 300.0, "unit": "mL/min"}}}}})
    pop = sp.population("rrmm_heavily_pretreated", n=40)
    local = sp.simulate_population("xd_80_biw", pop, days=28, library=lib)
    remote = sp.simulate_population("xd_80_biw", pop, days=28, library=lib, executor=client)
    default = sp.simulate_population("xd_80_biw", pop, days=28)
    pd.testing.assert_frame_equal(local.subjects, remote.subjects, check_exact=True)
    assert not local.subjects["nadir"].equals(default.subjects["nadir"])


def test_a_process_pool_is_an_executor_too():
    pop = sp.population("rrmm_heavily_pretreated", n=60)
    local = sp.simulate_population("xd_100_qw", pop, days=28, dose_rules="label")
    with ProcessPoolExecutor(max_workers=2) as ex:
        remote = sp.simulate_population("xd_100_qw", pop, days=28, dose_rules="label", executor=ex, chunk_size=7)
    pd.testing.assert_frame_equal(local.subjects, remote.subjects, check_exact=True)


def test_something_else_is_not_an_executor():
    pop = sp.population("rrmm_heavily_pretreated", n=5)
    expect_model_error(lambda: sp.simulate_population("xd_80_biw", pop, days=7, executor="dask"), field="executor")


def test_cli_compare_on_a_scheduler(client, tmp_path):
    import subprocess
    import sys

    def run(*extra):
        out = tmp_path / ("remote" if extra else "local")
        p = subprocess.run([sys.executable, "-m", "selinexor_pkpd.cli", "compare", "--n", "40", "--days", "28",
                            "--arms", "xd_80_biw,xd_100_qw", "--quiet", "--out", str(out), *extra],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        return (out / "summary.csv").read_text()

    assert run("--scheduler", client.scheduler.address) == run()


def test_cli_unreachable_scheduler_is_named(tmp_path):
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "selinexor_pkpd.cli", "compare", "--n", "5", "--days", "7", "--quiet",
                        "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "--scheduler" in p.stderr and "Traceback" not in p.stderr, p.stderr
