"""Weight decay in the P-W convention (issue [10] §2): ½(w₊² + w₋²) over w₊² − w₋² = β is ½|β|.

`dln_theory.derivations.weight_decay` derives both conventions; the P-E claim is
``weight_decay_endpoint_lasso`` (verify.values).
"""

import numpy as np

from .. import GD, PW, SparseRegression, simulate
from . import claim
from .values import lasso

#: penalty weight of the P-W prediction per unit of weight decay (derived: ½).
PW_LASSO_WEIGHT = 0.5


@claim("weight_decay_endpoint_lasso_PW", "derived: weight decay λ on P-W (β = w₊² − w₋²) is the lasso with penalty (λ/2)‖β‖₁",
       defects={"P-E weight (λ‖β‖₁ on P-W)": {"PW_LASSO_WEIGHT": 1.0},
                "2λ (the P-E/P-W step doubling applied to λ)": {"PW_LASSO_WEIGHT": 2.0}})
def weight_decay_lasso_pw(quick):
    """GD with weight decay λ on P-W (w±(0) = α) ends at argmin L(β) + (λ/2)‖β‖₁.

    Tolerance 1e-8 relative, as for the P-E claim: GD converges linearly to the stationary point
    (the movement over the last quarter of the run is reported: ~1e-10 in quick mode, the error
    4.9e-13); coordinate descent runs to steps < 1e-15.
    """
    problem = SparseRegression(n=20, d=30, k=3).sample(0)
    lam = 0.02
    steps = 20_000 if quick else 40_000
    run = simulate(GD(0.1, weight_decay=lam), PW(2), problem, 0.5, steps, steps // 4)
    sim = np.asarray(run.beta[-1])
    moved = float(np.linalg.norm(sim - np.asarray(run.beta[-2])))
    pred = lasso(np.asarray(problem.X), np.asarray(problem.y), PW_LASSO_WEIGHT * lam)
    err = float(np.linalg.norm(sim - pred) / np.linalg.norm(pred))
    return np.abs(pred).sum(), np.abs(sim).sum(), err, 1e-8, f"last quarter of the run moved β by {moved:.1e}"
