"""Effective initialization: α_∞ read off a run predicts the GD endpoint to a higher order than α."""

import numpy as np

import dln_theory as dt
from dln_theory.theory import interpolators
from dln_theory.theory.effective_init import gain


def test_gd_endpoint_error_orders_with_alpha_inf_and_alpha():
    """argmin ψ_{α_∞} misses the GD endpoint by O(η²) (the atanh tilt, η³ per step over ~1/η steps),
    argmin ψ_α by O(η) (the shrinkage of α itself, Even et al.): fitted slopes 2 and 1 (± 0.3)."""
    problem = dt.SparseRegression(n=20, d=30, k=3).sample(0)
    etas = np.array([0.05, 0.1, 0.2])
    err_inf, err_alpha = [], []
    for eta in etas:
        n = int(4000 / eta)
        traj = dt.simulate(dt.GD(eta), dt.PE(), problem, 0.1, n, n, loss_tol=1e-26)
        sim = np.asarray(traj.beta[-1])
        err = lambda a: np.linalg.norm(sim - interpolators.min_potential_interpolant(problem.X, problem.y, a))  # noqa: E731
        err_inf.append(err(np.sqrt(np.asarray(traj.alpha_eff2[-1]))))
        err_alpha.append(err(0.1))
        assert float(gain(0.1, traj.alpha_eff2[-1])) > 0
    slope = lambda e: np.polyfit(np.log(etas), np.log(e), 1)[0]  # noqa: E731
    assert abs(slope(err_inf) - 2) < 0.3 and abs(slope(err_alpha) - 1) < 0.3


def test_gain_of_gradient_flow_is_zero():
    """Gradient flow keeps α_eff = α (docs/conventions.md §3), so ‖Gain‖₁ = 0 to integration accuracy."""
    problem = dt.SparseRegression(n=10, d=20, k=2).sample(0)
    traj = dt.simulate(dt.GradientFlow(10.0), dt.PE(), problem, 0.2, 10, 10)
    assert abs(float(gain(0.2, traj.alpha_eff2[-1]))) < 1e-7
