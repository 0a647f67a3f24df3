"""Process start-up settings: the persistent compilation cache and one host device per core.

Each test runs fresh interpreters (both settings act only before JAX compiles or initializes), with
``DLN_THEORY_CACHE`` in a temporary folder so that the user's cache is never read or written.
"""

import json
import os
import subprocess
import sys

import pytest

# A small GD run; prints the compilation-cache events JAX reported (jax.monitoring) and the result.
_SIMULATE = """
import json
from jax import monitoring
events = []
monitoring.register_event_listener(lambda name, **kw: events.append(name))
import dln_theory as dt
problem = dt.SparseRegression(n=5, d=8, k=2).sample(seed=0)
traj = dt.simulate(dt.GD(eta=0.1), dt.PE(), problem, alpha=0.1, n_steps=50)
print(json.dumps({"hits": events.count("/jax/compilation_cache/cache_hits"),
                  "misses": events.count("/jax/compilation_cache/cache_misses"),
                  "loss": float(traj.loss[-1])}))
"""

# Runs the CLI's main in-process as the command, then reports the device count and the XLA flags it left, and the
# final losses of a single simulate and of sweeps over 3 and 4 α (sharded when the devices divide).
_CLI = """
import json, os, sys
import jax
import numpy as np
from dln_theory import cli
sys.argv = ["dln-theory", "cache", "info", "--dir", sys.argv[1]]
cli.main()  # as the console entry point calls it
import dln_theory as dt
problem = dt.SparseRegression(n=5, d=8, k=2).sample(seed=0)
loss = [float(dt.simulate(dt.GD(eta=0.1), dt.PE(), problem, alpha=0.1, n_steps=50).loss[-1])]
for size in (3, 4):
    grid = dt.sweep(dt.GD(eta=0.1), dt.PE(), problem, {"alpha": np.logspace(-2, 0, size)}, 50, cache=False)
    loss += grid.trajectory.loss[..., -1].tolist()
print(json.dumps({"devices": jax.device_count(), "flags": os.environ.get("XLA_FLAGS", ""), "loss": loss}))
"""


def _run(code, tmp_path, *args, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS", "DLN_THEORY_JAX_CACHE",
                                                             "JAX_COMPILATION_CACHE_DIR")}
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                         env={**base, "DLN_THEORY_CACHE": str(tmp_path / "cache"), **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_loads_compiled_programs(tmp_path):
    """The first process compiles and fills ``<root>/xla``; the second compiles nothing."""
    first = _run(_SIMULATE, tmp_path)
    entries = sorted(os.listdir(tmp_path / "cache" / "xla"))
    second = _run(_SIMULATE, tmp_path)
    assert first["misses"] >= 1  # (a hit here: one program compiled twice within the process)
    assert len(entries) >= first["misses"]  # min compile time 0 and entry size -1: every program stored
    assert second["misses"] == 0 and second["hits"] == first["hits"] + first["misses"]
    assert sorted(os.listdir(tmp_path / "cache" / "xla")) == entries  # nothing new was written
    assert second["loss"] == first["loss"]  # the loaded program is the same program


@pytest.mark.negative
def test_compilation_cache_off_switch(tmp_path):
    """``DLN_THEORY_JAX_CACHE=off`` writes no folder and reports no cache use."""
    result = _run(_SIMULATE, tmp_path, DLN_THEORY_JAX_CACHE="off")
    assert result["hits"] == result["misses"] == 0
    assert not (tmp_path / "cache" / "xla").exists()


@pytest.mark.slow
def test_compilation_cache_folder_override_and_user_setting_kept(tmp_path):
    """``DLN_THEORY_JAX_CACHE=DIR`` moves the cache; a folder given to JAX itself wins."""
    _run(_SIMULATE, tmp_path, DLN_THEORY_JAX_CACHE=str(tmp_path / "mine"))
    assert os.listdir(tmp_path / "mine") and not (tmp_path / "cache" / "xla").exists()
    _run(_SIMULATE, tmp_path, JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax"))
    assert os.listdir(tmp_path / "jax") and not (tmp_path / "cache" / "xla").exists()


def test_cli_uses_one_host_device_per_core(tmp_path):
    """Without a user flag the CLI asks XLA for ``os.cpu_count()`` host devices (JAX's default is 1);
    a single `simulate` and sweeps the devices do or do not divide give one device's numbers."""
    result = _run(_CLI, tmp_path, str(tmp_path / "c"), JAX_PLATFORMS="cpu")
    assert result["devices"] == os.cpu_count()
    assert result["flags"] == f"--xla_force_host_platform_device_count={os.cpu_count()}"
    one = _run(_CLI, tmp_path, str(tmp_path / "c"), XLA_FLAGS="--xla_force_host_platform_device_count=1")
    assert one["devices"] == 1
    # the same per-configuration program on either device layout: equal to rounding of one reduction order
    assert result["loss"] == pytest.approx(one["loss"], rel=1e-12, abs=1e-300)


@pytest.mark.negative
def test_cli_keeps_a_user_device_count(tmp_path):
    """A device count the user put in ``XLA_FLAGS`` is kept as given."""
    flags = "--xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count=3"
    result = _run(_CLI, tmp_path, str(tmp_path / "c"), XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
    assert (result["devices"], result["flags"]) == (3, flags)
