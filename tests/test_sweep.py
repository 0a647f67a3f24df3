"""sweep(): vmap equals a loop, one trace per method, resume after interruption, isolation."""

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
