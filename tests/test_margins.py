"""Max-margin predictions: KKT and duality certificates, the μ → ∞ and μ → 0 limits of Q_μ."""

import numpy as np
import pytest
from scipy.optimize import linprog, nnls

import dln_theory as dt
from dln_theory.problems import SparseClassification
from dln_theory.theory import margins as mg

PROBLEM = SparseClassification(n=10, d=20, k=3).sample(0)
X, Y = np.asarray(PROBLEM.X), np.asarray(PROBLEM.y)
A = Y[:, None] * X


def _cone_residual(rows, target):
    """min_{λ ≥ 0} ‖rowsᵀλ − target‖: 0 when target lies in the cone of the rows (KKT)."""
    return nnls(rows.T, target)[1]


def test_l2_max_margin_satisfies_kkt():
    """β̂ = Aᵀλ with λ ≥ 0 supported on the examples at margin 1, all margins ≥ 1 (to 1e-12):
    the KKT conditions of the convex QP, which make β̂ its unique solution."""
    beta = mg.max_margin(X, Y, 2)
    margins = A @ beta
    assert margins.min() == pytest.approx(1.0, abs=1e-12)
    active = margins < 1 + 1e-9
    assert _cone_residual(A[active], beta) < 1e-12 * np.linalg.norm(beta)


def test_l1_max_margin_meets_the_dual_lp():
    """Strong duality: max 1ᵀλ s.t. ‖Aᵀλ‖_∞ ≤ 1, λ ≥ 0 (solved here independently) equals ‖β̂‖₁,
    and β̂ is feasible (HiGHS tolerances 1e-10 give 1e-8 after scaling)."""
    beta = mg.max_margin(X, Y, 1)
    n, d = A.shape
    dual = linprog(-np.ones(n), A_ub=np.vstack([A.T, -A.T]), b_ub=np.ones(2 * d), bounds=(0, None), method="highs")
    assert (A @ beta).min() >= 1 - 1e-8
    assert np.abs(beta).sum() == pytest.approx(-dual.fun, rel=1e-8)


def test_q_margin_kkt_and_limits():
    """Q_μ-margin solution: arcsinh(b/2μ) ∈ cone of the active rows (KKT, 1e-8); its direction is
    within O(1/μ) of the ℓ2 solution for μ large (μ = 1e4: < 1e-6), and approaches the ℓ1 solution
    as μ → 0 (monotonically over μ = 1e-2, 1e-10, 1e-40)."""
    for mu in (1e4, 1.0, 1e-3):
        b = mg.q_margin(X, Y, mu)
        active = A @ b < 1 + 1e-8
        assert (A @ b).min() >= 1 - 1e-9
        assert _cone_residual(A[active], np.arcsinh(b / (2 * mu))) < 1e-8
    u2, u1 = mg.unit(mg.max_margin(X, Y, 2)), mg.unit(mg.max_margin(X, Y, 1))
    assert np.linalg.norm(mg.unit(mg.q_margin(X, Y, 1e4)) - u2) < 1e-6
    gaps = [np.linalg.norm(mg.unit(mg.q_margin(X, Y, mu)) - u1) for mu in (1e-2, 1e-10, 1e-40)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.05


def test_q_margin_depth3_kkt_and_kernel_limit():
    """Depth 3: h_3^{-1}(b/μ) ∈ cone of the active rows (KKT, SLSQP to 1e-7 relative), and the
    direction is the ℓ2 one to 1e-6 at μ = 100 (q_3(z) is quadratic near 0)."""
    from dln_theory.theory.potentials import depth_link_inverse

    for mu in (100.0, 0.5, 1e-2):
        b = mg.q_margin(X, Y, mu, depth=3)
        active = A @ b < 1 + 1e-7
        assert (A @ b).min() >= 1 - 1e-9
        assert _cone_residual(A[active], np.asarray(depth_link_inverse(b / mu, 3))) < 1e-7
    assert np.linalg.norm(mg.unit(mg.q_margin(X, Y, 100.0, depth=3)) - mg.unit(mg.max_margin(X, Y, 2))) < 1e-6


def test_margin_mu_conventions():
    """μ = α_W^D/log(1/ε); P-E at α_E = √2·α_W gives the depth-2 μ (docs/conventions.md §1)."""
    assert mg.margin_mu(dt.PW(2), 0.5, -100.0) == pytest.approx(0.25 / 100, rel=1e-15)
    assert mg.margin_mu(dt.PE(), np.sqrt(2) * 0.5, -100.0) == pytest.approx(0.25 / 100, rel=1e-15)
    assert mg.margin_mu(dt.PW(3), 2.0, -100.0) == pytest.approx(8.0 / 100, rel=1e-15)


@pytest.mark.parametrize("call, match", [
    (lambda: mg.max_margin(X, Y, 3), r"^p=3 is not allowed"),
    (lambda: mg.max_margin(X, 2 * Y, 2), r"^y\[0\]=.* labels y must be -1 or \+1"),
    (lambda: mg.max_margin(np.ones((2, 1)), np.array([1.0, -1.0]), 2), r"not linearly separable"),
    (lambda: mg.max_margin(np.ones((2, 1)), np.array([1.0, -1.0]), 1), r"not linearly separable"),
    (lambda: mg.q_margin(X, Y, 0.0), r"^mu=0.0 is not allowed"),
    (lambda: mg.margin_mu(dt.PE(), 1.0, 0.5), r"^log_loss=0.5 is not allowed"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
