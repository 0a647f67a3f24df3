"""Every public entry point rejects bad input with a ValueError naming parameter, value and rule."""

import numpy as np
import pytest

import dln_theory as dt
from dln_theory.sweep import sweep


@pytest.fixture(scope="module")
def problem():
    return dt.SparseRegression(n=5, d=8, k=1).sample(0)


@pytest.mark.parametrize("alpha", [0.0, -0.1, np.inf, np.nan, np.ones(3)])
def test_alpha(problem, alpha):
    with pytest.raises(ValueError, match="alpha"):
        dt.simulate(dt.GD(0.1), dt.PE(), problem, alpha, 10)


def test_alpha_in_sweep_grid(problem):
    with pytest.raises(ValueError, match="alpha"):
        sweep(dt.GD(0.1), dt.PE(), problem, {"alpha": [0.1, -1.0]}, 10, cache=False)


def test_shapes_of_X_and_y():
    with pytest.raises(ValueError, match="y has shape"):
        dt.from_data(np.ones((5, 3)), np.ones(4))
    with pytest.raises(ValueError, match="X has shape"):
        dt.from_data(np.ones(5), np.ones(5))


def test_k_larger_than_d():
    with pytest.raises(ValueError, match="k=9"):
        dt.SparseRegression(n=5, d=8, k=9)


@pytest.mark.parametrize("depth", [1, 0])
def test_depth(depth):
    with pytest.raises(ValueError, match="depth"):
        dt.PW(depth)
    with pytest.raises(ValueError, match="depth"):
        dt.make_model("PW", depth)


def test_unknown_parametrization_and_method(problem):
    with pytest.raises(ValueError, match="parametrization='XY'"):
        dt.make_model("XY")
    with pytest.raises(ValueError, match="method='adam'"):
        dt.simulate("adam", dt.PE(), problem, 0.1, 10)
    with pytest.raises(ValueError, match="model="):
        dt.simulate(dt.GD(0.1), "PE", problem, 0.1, 10)


def test_run_lengths(problem):
    with pytest.raises(ValueError, match="n_steps"):
        dt.simulate(dt.GD(0.1), dt.PE(), problem, 0.1, 0)
    with pytest.raises(ValueError, match="save_every=3"):
        dt.simulate(dt.GD(0.1), dt.PE(), problem, 0.1, 10, 3)
