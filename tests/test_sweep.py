"""sweep(): vmap equals a loop, one trace per method, resume after interruption, isolation, grid axes
by path, the run value as the cache key, Ctrl-C."""

import dataclasses

import numpy as np
import pytest

import dln_theory as dt
from dln_theory import _cache
from dln_theory.sweep import sweep


@pytest.fixture(scope="module")
def problem():
    return dt.SparseRegression(n=10, d=20, k=2).sample(3)


GRID = {"alpha": [0.05, 0.2, 1.0], "eta": [0.02, 0.1]}


def test_vmap_equals_loop(problem):
    res = sweep(dt.GD(0.1), dt.PE(), problem, GRID, 300, 30, cache=False)
    assert res.shape == (3, 2)
    for i, alpha in enumerate(GRID["alpha"]):
        for j, eta in enumerate(GRID["eta"]):
            single = dt.simulate(dt.GD(eta), dt.PE(), problem, alpha, 300, 30)
            np.testing.assert_allclose(res.trajectory.beta[i, j], single.beta, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(res.test_error[i, j], problem.test_error(single.beta), rtol=1e-12)


def test_traces_once_across_chunks_and_values(problem):
    first = sweep(dt.GD(0.1), dt.PE(), problem, {"eta": [0.011, 0.012, 0.013, 0.014, 0.015]}, 50,
                  alpha=0.3, chunk_size=2, cache=False)
    assert first.traces == 1
    again = sweep(dt.GD(0.1), dt.PE(), problem, {"eta": [0.021, 0.022, 0.023]}, 50, alpha=0.7,
                  chunk_size=2, cache=False)
    assert again.traces == 0


def test_interrupted_sweep_resumes(problem, tmp_path, monkeypatch):
    grid = {"alpha": [0.1, 0.2, 0.3, 0.4, 0.5], "eta": [0.05]}
    kwargs = dict(chunk_size=2, cache_dir=tmp_path)
    full = sweep(dt.GD(0.1), dt.PE(), problem, grid, 200, cache=False, chunk_size=2)

    saves = []
    original = _cache.ChunkStore.save

    def save_then_die(self, index, arrays):
        original(self, index, arrays)
        saves.append(index)
        if len(saves) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(_cache.ChunkStore, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        sweep(dt.GD(0.1), dt.PE(), problem, grid, 200, **kwargs)
    monkeypatch.setattr(_cache.ChunkStore, "save", original)

    computed = []
    monkeypatch.setattr(_cache.ChunkStore, "save", lambda self, i, a: (computed.append(i), original(self, i, a)))
    resumed = sweep(dt.GD(0.1), dt.PE(), problem, grid, 200, **kwargs)
    assert computed == [2]
    np.testing.assert_array_equal(resumed.trajectory.beta, full.trajectory.beta)
    cached = sweep(dt.GD(0.1), dt.PE(), problem, grid, 200, **kwargs)
    assert computed == [2] and cached.traces == 0


def test_cache_key_changes_with_every_parameter(problem, tmp_path):
    base = sweep(dt.GD(0.1), dt.PE(), problem, {"eta": [0.05]}, 20, alpha=0.3, cache_dir=tmp_path)
    for kwargs in ({"alpha": 0.31}, {"n_steps": 40}):
        args = {"alpha": 0.3, "n_steps": 20, **kwargs}
        other = sweep(dt.GD(0.1), dt.PE(), problem, {"eta": [0.05]}, args["n_steps"], alpha=args["alpha"],
                      cache_dir=tmp_path)
        assert other.cache_path != base.cache_path
    other = sweep(dt.GD(0.1), dt.PW(2), problem, {"eta": [0.05]}, 20, alpha=0.3, cache_dir=tmp_path)
    assert other.cache_path != base.cache_path


def test_divergence_does_not_touch_neighbours(problem):
    """A configuration that blows up is frozen and flagged; the others are bit-identical."""
    stable = sweep(dt.GD(0.1), dt.PE(), problem, {"eta": [0.01, 0.05]}, 400, alpha=0.5, cache=False)
    mixed = sweep(dt.GD(0.1), dt.PE(), problem, {"eta": [0.01, 100.0, 0.05]}, 400, alpha=0.5, cache=False)
    diverged = mixed.trajectory.diverged_at
    assert diverged[1] >= 0 and diverged[0] == -1 and diverged[2] == -1
    np.testing.assert_array_equal(mixed.trajectory.beta[[0, 2]], stable.trajectory.beta)
    assert np.all(np.isfinite(mixed.trajectory.beta))
    assert mixed.divergences() == [{"eta": 100.0, "diverged_at": int(diverged[1])}]


def test_seed_axis_samples_data_per_configuration():
    spec = dt.SparseRegression(n=10, d=20, k=2)
    res = sweep(dt.GD(0.1), dt.PE(), spec, {"seed": [0, 1, 2]}, 100, alpha=0.3, cache=False)
    for s in range(3):
        single = dt.simulate(dt.GD(0.1), dt.PE(), spec.sample(s), 0.3, 100)
        np.testing.assert_allclose(res.trajectory.beta[s], single.beta, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("chunk_size", [1, 2])
def test_early_stopping_in_a_sweep_matches_single_runs(problem, chunk_size):
    """Both block loops of a sweep (early exit at one configuration per device, a scan over blocks
    for larger chunks) freeze converged configurations like simulate."""
    res = sweep(dt.GD(0.1), dt.PE(), problem, {"eta": [0.05, 0.2]}, 20000, 100, alpha=0.5, loss_tol=1e-12,
                chunk_size=chunk_size, cache=False)
    for i, eta in enumerate([0.05, 0.2]):
        single = dt.simulate(dt.GD(eta), dt.PE(), problem, 0.5, 20000, 100, loss_tol=1e-12)
        assert int(res.trajectory.converged_at[i]) == int(single.converged_at) > 0
        np.testing.assert_array_equal(res.trajectory.steps[i], single.steps)
        np.testing.assert_allclose(res.trajectory.beta[i], single.beta, rtol=1e-12, atol=1e-15)


INTERRUPTED = """
import signal  # as in a terminal: KeyboardInterrupt on SIGINT even when the test runner ignores it
signal.signal(signal.SIGINT, signal.default_int_handler)  # (a background job, some CI shells)
import sys, time
import dln_theory as dt
from dln_theory.sweep import sweep
problem = dt.SparseRegression(n=10, d=20, k=2).sample(0)
long = dict(n_steps=10**8, save_every=10**5)  # about 20 minutes at 10^5 steps/s
try:
    if sys.argv[1] == "simulate":
        dt.simulate(dt.GD(0.01), dt.PE(), problem, 0.3, loss_tol=1e10, **long)  # compiles; stops at 10^5 steps
        print("started", flush=True)
        dt.simulate(dt.GD(0.01), dt.PE(), problem, 0.3, **long)
    else:  # chunk 0 stops at its first save point, chunk 1 runs on
        sweep(dt.GD(0.01), dt.PE(), problem, {"loss_tol": [1e10, 0.0]}, alpha=0.3, chunk_size=1,
              cache_dir=sys.argv[2], **long)
except KeyboardInterrupt:
    print("interrupted", time.time(), flush=True)
    raise
"""


def _interrupt(args, ready, tmp_path):
    """Start the script, wait for ``ready()``, send SIGINT; (seconds until the KeyboardInterrupt,
    stderr, exit code)."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 300
        while not ready(proc) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        time.sleep(0.5)  # well inside the long run
        assert proc.poll() is None
        sent = time.time()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        interrupted = [float(line.split()[1]) for line in out.splitlines() if line.startswith("interrupted")]
        return (interrupted[0] - sent if interrupted else float("inf")), err, proc.returncode
    finally:
        proc.kill()
        proc.communicate()  # reap it and close its pipes, also when an assertion failed


def test_ctrl_c_stops_a_long_simulate_within_seconds(tmp_path):
    """Compiled segments of about 0.25 s (dln_theory.run.SEGMENT_SECONDS) return to Python, where
    SIGINT raises KeyboardInterrupt; 2 s leaves room for a loaded machine."""
    seconds, err, code = _interrupt(["simulate"], lambda p: p.stdout.readline().strip() == "started", tmp_path)
    assert code != 0 and "KeyboardInterrupt" in err, err
    assert seconds < 2.0


def test_ctrl_c_during_a_sweep_keeps_finished_chunks(tmp_path):
    """The finished chunk is kept and loads; the interrupted one leaves no file, complete or partial."""
    seconds, err, code = _interrupt(["sweep", str(tmp_path)], lambda p: any(tmp_path.glob("*/chunk_00000.npz")),
                                    tmp_path)
    assert code != 0 and "KeyboardInterrupt" in err, err
    assert seconds < 2.0
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert sorted(p.name for p in folder.iterdir()) == ["chunk_00000.npz", "meta.json"]
    chunk = _cache.ChunkStore(folder, {}).load(0)
    assert chunk is not None and chunk["converged_at"][0] == 10**5  # frozen at its first save point


def test_any_numeric_field_of_the_run_is_a_grid_axis(problem):
    """Axes address fields by path: run fields (loss_tol) and method fields (eta = method.eta)."""
    res = sweep(dt.GD(0.1), dt.PE(), problem, {"loss_tol": [1e-6, 0.0], "method.eta": [0.05, 0.2]}, 2000, 100,
                alpha=0.5, cache=False)
    for i, tol in enumerate([1e-6, 0.0]):
        for j, eta in enumerate([0.05, 0.2]):
            single = dt.simulate(dt.GD(eta), dt.PE(), problem, 0.5, 2000, 100, loss_tol=tol)
            assert int(res.trajectory.converged_at[i, j]) == int(single.converged_at)
            # batched products sum in another order: equal to rounding, as in test_vmap_equals_loop
            np.testing.assert_allclose(res.trajectory.beta[i, j], single.beta, rtol=1e-12, atol=1e-15)
    assert (res.trajectory.converged_at[0] > 0).all() and (res.trajectory.converged_at[1] == -1).all()
    with pytest.raises(ValueError, match="grid axis 'n_steps' is not allowed"):  # static: not an axis
        sweep(dt.GD(0.1), dt.PE(), problem, {"n_steps": [10, 20]}, 20, alpha=0.5, cache=False)


def test_every_field_of_the_run_is_in_the_cache_key(problem):
    """The key is the fingerprint of the run value: changing any field changes it. A new field of
    `Run` must be added here, with another value, or this test fails."""
    from dln_theory.run import Run

    base = Run(dt.GD(0.1), dt.PE(), problem, 0.3, 20, 10)
    other = {"method": dt.GD(0.2), "model": dt.PW(2), "data": dt.SparseRegression(n=10, d=20, k=2), "alpha": 0.31,
             "n_steps": 40, "save_every": 20, "seed": 1, "params0": np.ones((2, 20)), "loss_tol": 1e-9,
             "divergence_bound": 1e6, "precision": "float32", "gram": True}
    assert set(other) == {f.name for f in dataclasses.fields(Run)}
    keys = {_cache.fingerprint(dataclasses.replace(base, **{name: value})) for name, value in other.items()}
    assert len(keys | {_cache.fingerprint(base)}) == len(other) + 1


def test_segments_do_not_change_the_result(problem, monkeypatch):
    """A run cut into compiled segments of 1, 7, 49, … steps (not aligned with the saves) is bit
    for bit the run in segments of 1 and 599 steps, for a deterministic and a stochastic method."""
    from dln_theory import run as run_module

    for method in (dt.GD(0.1), dt.SGD(0.05, batch_size=3)):
        monkeypatch.setattr(run_module, "_next_length", lambda length, done, seconds: 10**9)
        whole = sweep(method, dt.PE(), problem, {"eta": [0.05, 0.1]}, 600, 60, alpha=0.5, cache=False)
        monkeypatch.setattr(run_module, "_next_length", lambda length, done, seconds: 7 * length)
        cut = sweep(method, dt.PE(), problem, {"eta": [0.05, 0.1]}, 600, 60, alpha=0.5, cache=False)
        for field in ("beta", "params", "t", "steps"):
            np.testing.assert_array_equal(getattr(cut.trajectory, field), getattr(whole.trajectory, field))


def test_counters_shared_by_a_sweep_stay_unbatched(problem):
    """SGD's epoch counter and permutation are the same for every α of a sweep (one permutation
    per epoch), so they cross segments unbatched (vmap axis None); with a seed axis the keys and
    permutations differ (axis 0)."""
    import jax
    import jax.numpy as jnp

    from dln_theory.run import Run, vmap_axes

    run = Run(dt.SGD(0.05, batch_size=2), dt.PE(), problem, 0.3, 20, 10)
    over_alpha = vmap_axes(run, {"alpha": jnp.array([0.1, 0.2])}, jnp.arange(2))
    over_seed = vmap_axes(run, {"seed": jnp.array([0, 1])}, jnp.arange(2))
    assert jax.tree.leaves((over_alpha.state, over_alpha.key)) == [] and over_alpha.params == 0
    assert over_seed.key == 0 and 0 < len(jax.tree.leaves(over_seed.state))
