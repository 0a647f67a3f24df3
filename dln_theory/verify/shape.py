"""Claims about the initialization shape (issue [10] §4): any u(0), v(0) on P-E.

Azulay et al. arXiv:2102.09769 (2-layer diagonal networks): the flow's limit depends on the
shape through α_i² = |u_i(0)² − v_i(0)²|/2 and the tilt z0_i = ln|(u_i(0) + v_i(0))/(u_i(0) − v_i(0))|
(`dln_theory.theory.init_shape`).
"""

import numpy as np

from .. import PE, GradientFlow, SparseRegression, simulate
from ..theory.init_shape import min_shape_interpolant, shape_scale_and_tilt
from ..theory.interpolators import min_potential_interpolant
from . import claim

#: Looked up when the claim runs, so that defects can replace it.
_prediction = min_shape_interpolant


def _without_tilt(X, y, u0, v0):
    """Defect: the shape's scale is kept but its tilt z0 (β(0) ≠ 0) is dropped."""
    return min_potential_interpolant(X, y, shape_scale_and_tilt(u0, v0)[0], PE())


def _scale_from_u(X, y, u0, v0):
    """Defect: the scale read off u(0) alone, as for the standard init u(0) = √2·α, v(0) = 0."""
    return min_potential_interpolant(X, y, np.abs(u0) / np.sqrt(2), PE())


@claim("init_shape_endpoint", "Azulay et al. arXiv:2102.09769 (2-layer diagonal nets); P-E shape (α, z0) derived",
       defects={"tilt z0 dropped (β(0) ignored)": {"_prediction": _without_tilt},
                "scale from u(0) alone": {"_prediction": _scale_from_u}})
def init_shape_endpoint(quick):
    """Gradient flow from random u(0), v(0) (either larger, both signs) ends at argmin ψ_α − ½⟨z0, β⟩.

    Tolerance 1e-6 relative, as for the standard-init endpoint claims: the flow is integrated to
    rtol 1e-10 and stopped at loss < 1e-26, the dual Newton solve reaches residual 1e-12.
    """
    problem = SparseRegression(n=10, d=20, k=2).sample(0) if quick else SparseRegression(n=20, d=30, k=3).sample(0)
    rng = np.random.default_rng(1)
    u0, v0 = 0.3 * rng.standard_normal((2, problem.d))
    run = simulate(GradientFlow(100.0), PE(), problem, 0.1, 200, 200, params0=np.stack([u0, v0]), loss_tol=1e-26)
    sim = np.asarray(run.beta[-1])
    pred = np.asarray(_prediction(problem.X, problem.y, u0, v0))
    error = float(np.linalg.norm(sim - pred) / np.linalg.norm(pred))
    return float(np.abs(pred).sum()), float(np.abs(sim).sum()), error, 1e-6
