"""Max-margin predictions for classification on separable data (labels ±1, A = diag(y)X).

* ``max_margin(X, y, 2)``: argmin ‖β‖₂ s.t. y_i⟨x_i, β⟩ ≥ 1, the hard-margin SVM, limit direction
  of gradient descent on a linear model with the exponential or logistic loss (Soudry et al.
  arXiv:1710.10345, Thm. 3) and the kernel (α → ∞) limit of a diagonal network. A least-distance
  program, solved exactly by non-negative least squares (Lawson & Hanson, *Solving Least Squares
  Problems*, ch. 23).
* ``max_margin(X, y, 1)``: argmin ‖β‖₁ s.t. y_i⟨x_i, β⟩ ≥ 1, the rich (α → 0) limit for depth 2
  (Moroshko et al. arXiv:2007.06738; Woodworth et al. arXiv:2002.09277 for regression). A linear
  program in β = p − q, p, q ≥ 0 (HiGHS).
* ``q_margin(X, y, mu, depth)``: argmin Q_μ(b) = μ Σ_i q_D(b_i/μ) s.t. y_i⟨x_i, b⟩ ≥ 1, with
  Woodworth's q_2(z) = 2 − √(4 + z²) + z·arcsinh(z/2) and q_D of docs/conventions.md §2 for
  D ≥ 3: the Q_μ-margin problem of Moroshko et al., whose solution moves from the ℓ2 (μ → ∞) to
  the ℓ1 (μ → 0) max-margin solution.
* ``margin_mu(model, alpha, log_loss)``: μ = α_W^D/log(1/ε) for P-W (α_E²/(2 log(1/ε)) for P-E)
  at training loss ε. Derived here (not copied from the paper's statement, whose text was not
  available to check the theorem numbers): gradient flow on P-W follows β(t) = 2α² sinh(Aᵀν(t)),
  ν ≥ 0 (the mirror form of docs/conventions.md §2 with the exponential loss's weights ν_i(t) =
  ∫ℓ_i/n dt). Rescaled by the margin γ ≈ log(1/ε), b = β/γ = 2μ sinh(Aᵀν) is the KKT form of the
  Q_μ-margin problem with μ = α²/γ, except for complementary slackness, which holds up to the
  weight that non-support examples gathered early: an O(1/γ) = O(1/log(1/ε)) error in the
  direction, the 1/log t rate of Soudry et al. (Thm. 3) in loss units. Depth D ≥ 3 reads the
  same with β = α^D h_D(Aᵀν) (docs/conventions.md §2) and μ = α^D/γ. Moroshko et al. state the
  same transition: the kernel regime while α^D ≫ log(1/ε), the rich one when α^D ≪ log(1/ε).
"""

import numpy as np
from scipy.optimize import linprog, minimize, nnls

from .. import _validate
from ..models import Model, check_model
from .potentials import depth_link_inverse, depth_potential

_LP_TOL = 1e-10
_EXP_CAP = 700.0


def _margin_data(X, y):
    """(A, y) with A = diag(y)X, after checking the data and the labels ±1."""
    X, y = _validate.data(X, y)
    if not np.all(np.isin(y, (-1.0, 1.0))):
        first = int(np.argmax(~np.isin(y, (-1.0, 1.0))))
        raise ValueError(f"y[{first}]={y[first]!r} is not allowed: labels y must be -1 or +1")
    return y[:, None] * X


def max_margin(X, y, p: int) -> np.ndarray:
    """argmin ‖β‖_p s.t. y_i⟨x_i, β⟩ ≥ 1 for all i, p ∈ {1, 2} (module docstring).

    Raises:
        ValueError: labels other than ±1, p not 1 or 2, or data that no β separates.
    """
    _validate.one_of("p", p, (1, 2))
    A = _margin_data(X, y)
    return _l2_max_margin(A) if p == 2 else _l1_max_margin(A)


def _l2_max_margin(A):
    """Least-distance program min ‖β‖ s.t. Aβ ≥ 1 by NNLS (Lawson & Hanson, Alg. LDP, ch. 23):
    u = argmin_{u ≥ 0} ‖Eu − f‖ with E = [Aᵀ; 1ᵀ], f = e_{d+1}; then β = −r_{1:d}/r_{d+1},
    r = Eu − f; r = 0 means the constraints are infeasible."""
    n, d = A.shape
    E = np.vstack([A.T, np.ones((1, n))])
    f = np.zeros(d + 1)
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * (n + d))
    r = E @ u - f
    if np.linalg.norm(r) < 1e-12:
        raise ValueError("the data are not linearly separable: no β has y_i<x_i, β> >= 1 for all i")
    return -r[:d] / r[d]


def _l1_max_margin(A):
    n, d = A.shape
    res = linprog(np.ones(2 * d), A_ub=-np.hstack([A, -A]), b_ub=-np.ones(n), bounds=(0, None),
                  method="highs",
                  options={"primal_feasibility_tolerance": _LP_TOL, "dual_feasibility_tolerance": _LP_TOL})
    if res.status == 2:
        raise ValueError("the data are not linearly separable: no β has y_i<x_i, β> >= 1 for all i")
    if res.status != 0:
        raise RuntimeError(f"max_margin(p=1): linprog failed ({res.message})")
    return res.x[:d] - res.x[d:]


def q_margin(X, y, mu, depth: int = 2) -> np.ndarray:
    """argmin_b μ Σ_i q_D(b_i/μ) s.t. y_i⟨x_i, b⟩ ≥ 1: the Q_μ-margin solution (module docstring);
    its direction tends to that of ``max_margin(X, y, 2)`` as μ → ∞ and of ``max_margin(X, y, 1)``
    as μ → 0. q_2 = q of Woodworth et al.; q_D (D ≥ 3) of docs/conventions.md §2.

    Depth 2 is solved in the dual: KKT gives b = 2μ sinh(Aᵀλ), λ ≥ 0, λ_i(Ab − 1)_i = 0, so λ
    minimizes 2μ Σ_j (cosh(Aᵀλ)_j − 1) − 1ᵀλ over λ ≥ 0 (L-BFGS-B), then Newton's method on the
    active examples solves A_S b(λ_S) = 1 to machine precision. Depth D ≥ 3 is solved in the primal
    (SLSQP on Q^D with ∇ = h_D^{-1}(b/μ), `dln_theory.theory.potentials`; KKT to ~1e-8).
    """
    A = _margin_data(X, y)
    _validate.positive("mu", mu)
    _validate.scalar("mu", mu)
    depth = _validate.integer_at_least("depth", depth, 2)
    mu = float(mu)
    if depth > 2:
        return _q_margin_depth(A, mu, depth)
    lam = np.zeros(A.shape[0])
    # Continuation in μ below 1e-3 (a factor 1e10 per stage, λ rescaled by the growth of
    # log(1/μ)): a cold start at μ = 1e-20 overshoots into cosh's overflow.
    stages = np.geomspace(1e-3, mu, int(np.ceil(np.log10(1e-3 / mu) / 10)) + 1) if mu < 1e-3 else [mu]
    previous = None
    for m in stages:
        if previous is not None:
            lam = lam * np.log(1.0 / m) / np.log(1.0 / previous)
        lam = _dual_solve(A, lam, float(m))
        previous = m
    b = _newton_active(A, lam, mu)
    if np.min(A @ b) < 1.0 - 1e-6:
        raise ValueError("the data are not linearly separable: no b has y_i<x_i, b> >= 1 for all i")
    return b


def _dual_solve(A, lam0, mu):
    """λ minimizing the Q_μ-margin dual from the start λ0 (L-BFGS-B; `_newton_active` polishes)."""
    scale = max(mu, 1.0)  # λ is O(1/μ) in the kernel regime, O(log(1/μ)) in the rich one
    log_mu = np.log(mu)

    def dual(nu):  # μ·f(λ) at λ = ν/scale, in the form e^{±z + log μ} (no overflow of cosh)
        sinh2, cosh2 = _link(A.T @ nu / scale, log_mu)
        return (np.sum(cosh2 - 2.0 * mu) - nu.sum() / scale) * scale, A @ sinh2 - 1.0

    res = minimize(dual, lam0 * scale, jac=True, method="L-BFGS-B", bounds=[(0, None)] * A.shape[0],
                   options={"ftol": 0.0, "gtol": 1e-10, "maxiter": 20000, "maxcor": 10})
    return res.x / scale


def _q_margin_depth(A, mu, depth):
    """The Q^D_μ-margin problem, D ≥ 3, by SLSQP from the ℓ2 (μ ≥ 1) or ℓ1 (μ < 1) max-margin
    solution. SLSQP's "positive directional derivative" stop (mode 8) comes at the optimum to
    rounding here and is accepted when the constraints hold to 1e-9."""
    alpha = mu ** (1.0 / depth)  # Q^D_α with α^D = μ
    start = _l2_max_margin(A) if mu >= 1.0 else _l1_max_margin(A)
    res = minimize(lambda b: float(depth_potential(b, alpha, depth)), start,
                   jac=lambda b: np.asarray(depth_link_inverse(b / mu, depth)), method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda b: A @ b - 1.0, "jac": lambda b: A}],
                   options={"ftol": 1e-15, "maxiter": 5000})
    if not (res.success or res.status == 8) or np.min(A @ res.x) < 1.0 - 1e-9:
        raise RuntimeError(f"q_margin(depth={depth}): SLSQP failed ({res.message})")
    return res.x


def _link(z, log_mu):
    """(2μ sinh z, 2μ cosh z) as e^{±z + log μ}, capped below overflow."""
    up, down = np.exp(np.minimum(z + log_mu, _EXP_CAP)), np.exp(np.minimum(-z + log_mu, _EXP_CAP))
    return up - down, up + down


def _newton_active(A, lam, mu, iterations=50):
    """Polish the dual solution: on S = {i: λ_i > 0}, damped Newton on A_S·2μ sinh(A_Sᵀλ_S) = 1;
    keeps the L-BFGS-B point when the polished one leaves λ ≥ 0 or the constraints."""
    log_mu = np.log(mu)
    b0 = _link(A.T @ lam, log_mu)[0]
    active = lam > 1e-12 * np.max(lam, initial=0.0)
    if not np.any(active):
        return b0
    As, x = A[active], lam[active].copy()

    def residual(x):
        return As @ _link(As.T @ x, log_mu)[0] - 1.0

    r = residual(x)
    for _ in range(iterations):
        J = (As * _link(As.T @ x, log_mu)[1]) @ As.T
        step = np.linalg.lstsq(J, r, rcond=None)[0]
        t = 1.0
        while t > 1e-4 and not np.linalg.norm(residual(x - t * step)) < np.linalg.norm(r):
            t /= 2
        if t <= 1e-4:
            break
        x = x - t * step
        r = residual(x)
    b = _link(As.T @ x, log_mu)[0]
    feasible = np.all(x >= 0) and np.min(A @ b) >= 1.0 - 1e-9
    return b if feasible else b0


def margin_mu(model: Model, alpha, log_loss) -> float:
    """μ = α_W^D/log(1/ε) at training loss ε = exp(``log_loss``) (module docstring).

    ``model`` is PE(), or PW(D), and α its initialization scale as in `dln_theory.simulate`
    (depth 2: α_W² = α_E²/2, docs/conventions.md §1); ``log_loss`` < 0 is log ε, so that losses
    below 1e-308 can be given.
    """
    model = check_model(model)
    _validate.positive("alpha", alpha)
    _validate.scalar("alpha", alpha)
    _validate.scalar("log_loss", log_loss)
    if not np.isfinite(log_loss) or log_loss >= 0:
        raise ValueError(f"log_loss={log_loss!r} is not allowed: log_loss = log ε must be finite and < 0")
    scale = float(model.alpha_e2(alpha)) / 2.0 if model.depth == 2 else float(alpha) ** model.depth
    return scale / (-float(log_loss))


def predicted_direction(X, y, model: Model, alpha, log_loss) -> np.ndarray:
    """The Q_μ-margin solution at μ = `margin_mu`(model, α, log ε), depth D of ``model``: the
    direction that gradient flow from scale α has at training loss ε (exponential loss; module
    docstring)."""
    return q_margin(X, y, margin_mu(model, alpha, log_loss), model.depth)


def unit(beta) -> np.ndarray:
    """β/‖β‖₂ along the last axis: the direction compared between runs and predictions."""
    beta = np.asarray(beta, dtype=float)
    return beta / np.linalg.norm(beta, axis=-1, keepdims=True)
