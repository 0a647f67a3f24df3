"""Notebook-friendly results: one-line reprs of Trajectory, SweepResult and Outcome, and
conversion to labelled arrays (xarray) and data frames (pandas) with the grid axes as coordinates."""

import jax
import numpy as np
import pytest

import dln_theory as dt
from dln_theory.verify import Outcome, to_dataframe

ETA, N_STEPS, SAVE_EVERY = 0.1, 100, 10


@pytest.fixture(scope="module")
def problem():
    return dt.SparseRegression(n=10, d=12, k=2).sample(seed=0)


@pytest.fixture(scope="module")
def run(problem):
    return dt.simulate(dt.GD(eta=ETA), dt.PE(), problem, alpha=0.1, n_steps=N_STEPS, save_every=SAVE_EVERY)


@pytest.fixture(scope="module")
def grid(problem):
    return dt.sweep(dt.GD(eta=ETA), dt.PE(), problem, {"alpha": [0.1, 0.2], "eta": [0.05, 0.1, 0.2]},
                    n_steps=N_STEPS, save_every=50, cache=False)


def test_trajectory_repr_is_one_informative_line(run):
    text = repr(run)
    # t = k·η (docs/conventions.md §1): 100 steps of η = 0.1 end at t = 10, with 100/10 + 1 saves
    assert text.startswith("Trajectory(11 saves, d=12, t ∈ [0, 10], 100 steps, final loss ")
    assert "\n" not in text
    jax.jit(lambda traj: print(repr(traj)) or traj.loss)(run)  # inside a transformation: no error


def test_sweep_repr_names_the_grid(grid):
    text = repr(grid)
    assert text.startswith("SweepResult(grid (2, 3) over {alpha: 2 in [0.1, 0.2], eta: 3 in [0.05, 0.2]}")
    assert "Trajectory(batch (2, 3), 3 saves, d=12, t ≤ 20," in text  # η = 0.2, 100 steps: t = 20


def test_trajectory_to_xarray(run):
    xr = pytest.importorskip("xarray")
    ds = run.to_xarray()
    assert isinstance(ds, xr.Dataset)
    assert dict(ds.sizes) == {"save": 11, "coordinate": 12, "factor": 2}
    np.testing.assert_allclose(ds["t"].values, ETA * SAVE_EVERY * np.arange(11), rtol=1e-12)  # t = kη
    np.testing.assert_array_equal(ds["beta"].isel(save=-1).values, np.asarray(run.beta)[-1])
    assert int(ds["steps"]) == N_STEPS and ds["params"].dims == ("factor", "coordinate")


def test_sweep_to_xarray_has_the_grid_axes_as_coordinates(grid):
    pytest.importorskip("xarray")
    ds = grid.to_xarray()
    assert ds["loss"].dims == ("alpha", "eta", "save") and ds["beta"].dims == ("alpha", "eta", "save", "coordinate")
    np.testing.assert_array_equal(ds["alpha"].values, [0.1, 0.2])
    np.testing.assert_array_equal(ds["eta"].values, [0.05, 0.1, 0.2])
    # selecting by label picks the configuration run with those values: its final time is 100·η
    for eta in (0.05, 0.1, 0.2):
        assert float(ds["t"].sel(alpha=0.2, eta=eta).isel(save=-1)) == pytest.approx(N_STEPS * eta, rel=1e-12)
    np.testing.assert_array_equal(ds["test_error"].values, grid.test_error)
    df = ds["test_error"].isel(save=-1).to_dataframe()
    assert len(df) == 6


def test_to_xarray_refuses_wrong_batch_names(grid):
    pytest.importorskip("xarray")
    with pytest.raises(ValueError, match="names 1 batch axes; the trajectory has 2"):
        grid.trajectory.to_xarray(dims=("alpha",))


OUTCOMES = [Outcome("order", "Barrett & Dherin", 1.0, 1.05, 0.05, 0.2, quantity="order in η"),
            Outcome("gap", "Berthier", 0.5, 0.98, 0.0, 0.0, refuted=True),
            Outcome("statement", "paper", 0.5, 0.2, 0.3, 0.0, refuted=True)]


def test_outcome_repr_says_the_result():
    assert [repr(o).split(",")[0] for o in OUTCOMES] == ["Outcome(order: PASS", "Outcome(gap: FAIL",
                                                         "Outcome(statement: REFUTED"]
    assert "error 5.00e-02 ≤ tolerance 2.00e-01; order in η; Barrett & Dherin)" in repr(OUTCOMES[0])
    assert "error 3.00e-01 > tolerance 0.00e+00" in repr(OUTCOMES[2])


def test_outcomes_as_a_data_frame():
    pytest.importorskip("pandas")
    df = to_dataframe(OUTCOMES)
    assert list(df.index) == ["order", "gap", "statement"]
    assert list(df["result"]) == ["PASS", "FAIL", "REFUTED"] and list(df["passed"]) == [True, False, True]
    assert df.loc["order", "simulated"] == 1.05
