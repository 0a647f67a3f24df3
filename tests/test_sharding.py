"""A sweep shards its configurations over several (host) devices and gives the same numbers."""

import json
import os
import subprocess
import sys

import numpy as np

import dln_theory as dt
from dln_theory.sweep import sweep

SCRIPT = """
import json, sys
import jax, numpy as np
import dln_theory as dt
from dln_theory.sweep import sweep
problem = dt.SparseRegression(n=10, d=20, k=2).sample(0)
res = sweep(dt.GD(0.1), dt.PE(), problem, {"alpha": [0.1, 0.2, 0.3, 0.4, 0.5], "eta": [0.05, 0.1]}, 200,
            chunk_size=4, cache=False)
print(json.dumps({"devices": jax.device_count(), "beta": np.asarray(res.trajectory.beta).tolist()}))
"""


def test_sweep_on_four_host_devices_matches_one_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["devices"] == 4
    problem = dt.SparseRegression(n=10, d=20, k=2).sample(0)
    single = sweep(dt.GD(0.1), dt.PE(), problem, {"alpha": [0.1, 0.2, 0.3, 0.4, 0.5], "eta": [0.05, 0.1]}, 200,
                   chunk_size=4, cache=False)
    np.testing.assert_allclose(np.array(result["beta"]), single.trajectory.beta, rtol=1e-12, atol=1e-15)


def test_sweep_on_two_local_processes_resumes_from_cache(tmp_path):
    """Chunks run on a 2-process pool; a second run finds them all cached and submits nothing."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    problem = dt.SparseRegression(n=10, d=20, k=2).sample(0)
    grid = {"alpha": [0.1, 0.2, 0.3, 0.4], "eta": [0.05]}
    local = sweep(dt.GD(0.1), dt.PE(), problem, grid, 100, chunk_size=1, cache=False)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        remote = sweep(dt.GD(0.1), dt.PE(), problem, grid, 100, chunk_size=1, cache_dir=tmp_path, executor=pool)
    np.testing.assert_allclose(remote.trajectory.beta, local.trajectory.beta, rtol=1e-12, atol=1e-15)

    class NoSubmit:
        def submit(self, *args):
            raise AssertionError("a cached chunk was resubmitted")

    again = sweep(dt.GD(0.1), dt.PE(), problem, grid, 100, chunk_size=1, cache_dir=tmp_path, executor=NoSubmit())
    np.testing.assert_array_equal(again.trajectory.beta, remote.trajectory.beta)


def test_sweep_on_a_dask_cluster_of_two_local_processes(tmp_path):
    """The same sweep through dask.distributed (two worker processes) equals the local one."""
    from dask.distributed import Client, LocalCluster

    problem = dt.SparseRegression(n=10, d=20, k=2).sample(0)
    grid = {"alpha": [0.1, 0.2, 0.3, 0.4], "eta": [0.05]}
    local = sweep(dt.GD(0.1), dt.PE(), problem, grid, 100, chunk_size=1, cache=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            remote = sweep(dt.GD(0.1), dt.PE(), problem, grid, 100, chunk_size=1, cache_dir=tmp_path,
                           executor=client)
    np.testing.assert_allclose(remote.trajectory.beta, local.trajectory.beta, rtol=1e-12, atol=1e-15)
