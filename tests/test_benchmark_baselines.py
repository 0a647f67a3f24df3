"""The NumPy baselines of benchmarks/ compute what dln_theory computes (so speed ratios are honest).

Each baseline, in both forms (a Python loop over configurations and batched by hand), is compared
with `dln_theory.simulate` / `dln_theory.sweep` on a tiny problem: final (u, v) agree to 1e-12
relative (norm-wise per configuration). SGD is compared by feeding the NumPy baseline the index
sequence the library used, read off a probe run of the library itself (see `library_indices`).
No timings are asserted here.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

import dln_theory as dt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import _baselines as nb  # noqa: E402

RTOL = 1e-12
ALPHAS = np.array([0.05, 0.3, 1.0])
ETA = 0.05
STEPS = 200


@pytest.fixture(scope="module")
def data():
    problem = dt.SparseRegression(n=6, d=10, k=2).sample(0)
    return problem, np.asarray(problem.X), np.asarray(problem.y)


def assert_close(library_params, U, V):
    """Per configuration, ‖(u, v)_lib − (u, v)_numpy‖ ≤ RTOL·‖(u, v)_numpy‖."""
    lib = np.asarray(library_params).reshape(len(U), 2, -1)
    ref = np.stack([U, V], axis=1)
    err = np.linalg.norm((lib - ref).reshape(len(U), -1), axis=1)
    scale = np.linalg.norm(ref.reshape(len(U), -1), axis=1)
    assert np.all(err <= RTOL * scale), f"relative errors {err / scale}"


def sweep_params(method, problem, n_steps):
    res = dt.sweep(method, dt.PE(), problem, {"alpha": ALPHAS}, n_steps, n_steps, cache=False,
                   progress=False)
    assert not np.any(res.trajectory.diverged)
    return res.trajectory.params


def test_gd_baselines_match_simulate_and_sweep(data):
    problem, X, y = data
    lib = sweep_params(dt.GD(ETA), problem, STEPS)
    assert_close(lib, *nb.gd_loop(X, y, ALPHAS, ETA, STEPS))
    assert_close(lib, *nb.gd_batched(X, y, ALPHAS, ETA, STEPS))
    single = dt.simulate(dt.GD(ETA), dt.PE(), problem, ALPHAS[1], STEPS, STEPS)
    assert_close(single.params[None], *(a[None] for a in nb.gd_single(X, y, ALPHAS[1], ETA, STEPS)))


def test_fgr_baselines_match_sweep(data):
    problem, X, y = data
    gamma, eps = 0.02, 0.05
    lib = sweep_params(dt.FGR(ETA, gamma=gamma, eps=eps), problem, STEPS)
    assert_close(lib, *nb.fgr_loop(X, y, ALPHAS, ETA, gamma, eps, STEPS))
    assert_close(lib, *nb.fgr_batched(X, y, ALPHAS, ETA, gamma, eps, STEPS))


def library_indices(n, d, batch_size, n_steps, seed=0):
    """The examples `dln_theory.SGD` used at each step, read off a probe run of the library.

    Probe data X = [I_n | 0], y = 1: example i moves only coordinate i of β, so the coordinate that
    changes at step k names the example of step k. The index sequence depends on (seed, n, B, k),
    not on the data values, so it is the one a run on other data with the same seed uses.
    """
    probe = dt.from_data(np.eye(n, d), np.ones(n))
    sgd = dt.SGD(0.01, batch_size=batch_size)
    traj = dt.simulate(sgd, dt.PE(), probe, 1.0, n_steps, 1, key=seed)
    moved = np.abs(np.diff(np.asarray(traj.beta), axis=0)) > 0
    assert np.all(moved.sum(axis=1) == batch_size), "probe: each step must move B coordinates"
    return np.stack([np.flatnonzero(row) for row in moved])


SGD_STEPS = 60  # 10 epochs of the 6 examples


@pytest.fixture(scope="module")
def sgd_indices(data):
    problem, _, _ = data
    return library_indices(problem.n, problem.d, 1, SGD_STEPS)


def test_library_sgd_is_random_reshuffling(data, sgd_indices):
    n = data[0].n
    for epoch in sgd_indices.reshape(-1, n):
        assert sorted(epoch) == list(range(n))


def test_sgd_baselines_match_sweep_on_the_same_indices(data, sgd_indices):
    problem, X, y = data
    eta, steps, indices = 0.02, SGD_STEPS, sgd_indices
    lib = sweep_params(dt.SGD(eta, batch_size=1), problem, steps)
    assert_close(lib, *nb.sgd_loop(X, y, ALPHAS, eta, indices))
    assert_close(lib, *nb.sgd_batched(X, y, ALPHAS, eta, indices))


def test_reshuffled_indices_are_epochs_of_permutations():
    idx = nb.reshuffled_indices(7, 2, 10, np.random.default_rng(0))
    assert idx.shape == (10, 2)
    for epoch in idx[:9].reshape(3, 6):
        assert len(set(epoch)) == 6 and set(epoch) <= set(range(7))


def test_scipy_flow_matches_library_flow(data):
    problem, X, y = data
    t_end = 2.0
    flow = dt.GradientFlow(eta=t_end, rtol=1e-10, atol=1e-12)
    lib = dt.simulate(flow, dt.PE(), problem, 0.3, 1, 1).params
    u, v, _ = nb.gradient_flow_scipy(X, y, 0.3, t_end, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(np.asarray(lib), np.stack([u, v]), rtol=0, atol=1e-8)
