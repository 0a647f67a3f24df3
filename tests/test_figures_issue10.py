"""Negative controls of the issue-[10] figures (momentum, …): each check must FAIL when a named
defect is applied to a copy of its computed quick results. (The positive quick runs are in
`test_figures.py`, which renders every registered figure.)"""

import copy

import numpy as np
import pytest

from dln_theory import figures


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """name → quick results of the figure, computed once (private cache)."""
    cache_dir = tmp_path_factory.mktemp("figure-cache")
    done = {}

    def get(name):
        if name not in done:
            module = figures.FIGURES[name]
            results = module.compute(module.QUICK, cache_dir=cache_dir)
            passed, message, _ = module.check(results)
            assert passed, message  # a control is only meaningful if the undamaged check passes
            done[name] = results
        return copy.deepcopy(done[name])

    return get


def check(name, results):
    return figures.FIGURES[name].check(results)


@pytest.mark.negative
def test_momentum_fails_with_alpha_instead_of_alpha_inf(quick):
    """Momentum changes nothing (the gradient-flow endpoint argmin ψ_α for every λ)."""
    r = quick("momentum")
    r["pred_lambda"] = np.full_like(r["pred_lambda"], r["gradient_flow"])
    assert not check("momentum", r)[0]


@pytest.mark.negative
def test_momentum_fails_when_the_gap_does_not_close(quick):
    """Panel (b) with its runs in reverse order: the gap to the prediction grows as β → 1."""
    r = quick("momentum")
    r["sim_beta"] = r["sim_beta"][::-1]
    assert not check("momentum", r)[0]


@pytest.mark.negative
def test_weight_decay_fails_with_the_pw_penalty(quick):
    """The lasso weight of the P-W convention (λ/2) predicted for P-E runs."""
    from dln_theory.figures import weight_decay
    from dln_theory.verify.values import lasso

    r = quick("weight_decay")
    problem = weight_decay._problem(r["config"])
    X, y = np.asarray(problem.X), np.asarray(problem.y)
    r["lasso"] = np.array([lasso(X, y, lam / 2) for lam in r["lams"]])
    assert not check("weight_decay", r)[0]


@pytest.mark.negative
def test_init_shape_fails_when_the_tilt_is_dropped(quick):
    """Predictions argmin ψ_α without the tilt z0 of β(0) ≠ 0 shapes."""
    r = quick("init_shape")
    for name, rows in r["shapes"].items():
        rows["pred"] = rows["untilted"]
    assert not check("init_shape", r)[0]

