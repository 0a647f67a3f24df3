"""Initialization shape (Azulay et al. arXiv:2102.09769): the (α, z0) of any u(0), v(0) on P-E."""

import numpy as np
import pytest

import dln_theory as dt
from dln_theory.theory.init_shape import beta_from_shape, min_shape_interpolant, shape_scale_and_tilt
from dln_theory.theory.interpolators import min_potential_interpolant


def test_standard_init_has_scale_alpha_and_no_tilt():
    """u(0) = √2·α, v(0) = 0 (P-E) gives α back and z0 = 0; so does u(0) = 0, v(0) = √2·α."""
    alpha = np.array([0.1, 0.7, 2.0])
    for u0, v0 in ((np.sqrt(2) * alpha, 0 * alpha), (0 * alpha, np.sqrt(2) * alpha)):
        a, z0 = shape_scale_and_tilt(u0, v0)
        np.testing.assert_allclose(a, alpha, rtol=1e-15)
        np.testing.assert_allclose(z0, 0.0, atol=0)


def test_beta0_is_u0_v0_for_every_sign_pattern():
    """α² sinh(z0) = u0·v0 whichever of |u0|, |v0| is larger and whatever the signs."""
    rng = np.random.default_rng(0)
    u0, v0 = rng.standard_normal((2, 1000))
    np.testing.assert_allclose(beta_from_shape(u0, v0), u0 * v0, rtol=1e-11, atol=1e-15)


def test_flow_ends_at_the_tilted_interpolant():
    problem = dt.SparseRegression(n=8, d=16, k=2).sample(3)
    rng = np.random.default_rng(2)
    u0, v0 = 0.4 * rng.standard_normal((2, problem.d))
    run = dt.simulate(dt.GradientFlow(100.0), dt.PE(), problem, 0.1, 200, 200,
                      params0=np.stack([u0, v0]), loss_tol=1e-26)
    pred = np.asarray(min_shape_interpolant(problem.X, problem.y, u0, v0))
    np.testing.assert_allclose(np.asarray(run.beta[-1]), pred, rtol=0, atol=1e-7 * np.abs(pred).max())
    untilted = np.asarray(min_potential_interpolant(problem.X, problem.y, shape_scale_and_tilt(u0, v0)[0]))
    assert np.abs(untilted - pred).max() > 1e-3  # the tilt matters here: the check can fail


def test_degenerate_shape_refused():
    with pytest.raises(ValueError, match="u0² = v0²"):
        shape_scale_and_tilt([1.0, 0.5], [1.0, 0.2])
