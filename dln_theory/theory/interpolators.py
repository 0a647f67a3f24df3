"""Interpolators predicted by implicit-bias theory (docs/conventions.md §2).

Gradient flow on a DLN that reaches zero loss ends at argmin_{Xβ = y} of a potential: ψ_α
(P-E), Q_α (P-W, D = 2) or Q^D_α (P-W, D ≥ 3). α → ∞ gives the min-ℓ2 interpolant, α → 0 the
min-ℓ1 one. X has shape (n, d) with full row rank, y shape (n,). Every function checks its
inputs (shapes, real and finite data) before any compilation.
"""

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular
from scipy.optimize import linprog

from .. import _validate
from ..models import PE, Model, check_alpha, check_model
from .potentials import exp_bregman, pow_bregman

_ARMIJO = 0.25  # sufficient-decrease constant of the backtracking line search
_MAX_HALVINGS = 60
_MAX_DS = 5.0  # D = 2: largest change of Xᵀν per Newton step (cosh grows by ≤ e^5)
_TO_BOUNDARY = 0.99  # D ≥ 3: a step goes at most this fraction of the way to |Xᵀν| = 1
_LP_TOL = 1e-10  # HiGHS primal/dual feasibility tolerances (its tightest allowed)


class InterpolantSolution(NamedTuple):
    """Result of `min_potential_interpolant` (``full_output=True``).

    Attributes:
        beta: the interpolant.
        nu: dual variable ν (β = α_E² sinh(Xᵀν + z0) at D = 2).
        residual: ‖Xβ − y‖/‖y‖ of ``beta``.
        decrement: squared Newton decrement λ² at ν; λ²/2 ≈ Φ(ν) − min Φ.
        iterations: Newton iterations taken.
    """

    beta: jax.Array
    nu: jax.Array
    residual: jax.Array
    decrement: jax.Array
    iterations: jax.Array


def min_l2_interpolant(X, y) -> np.ndarray:
    """argmin ‖β‖₂ s.t. Xβ = y (X⁺y): the α → ∞ kernel limit (Woodworth et al. arXiv:2002.09277)."""
    X, y = _validate.data(X, y)
    return np.linalg.lstsq(X, y, rcond=None)[0]


def min_l1_interpolant(X, y) -> np.ndarray:
    """argmin ‖β‖₁ s.t. Xβ = y: the α → 0 (rich) limit (Woodworth et al. arXiv:2002.09277).

    Linear program in β = p − q, p, q ≥ 0: min 1ᵀ(p + q) s.t. X(p − q) = y (HiGHS).
    """
    X, y = _validate.data(X, y)
    d = X.shape[1]
    res = linprog(
        np.ones(2 * d),
        A_eq=np.hstack([X, -X]),
        b_eq=y,
        bounds=(0, None),
        method="highs",
        options={"primal_feasibility_tolerance": _LP_TOL, "dual_feasibility_tolerance": _LP_TOL},
    )
    if res.status != 0:
        raise RuntimeError(f"min_l1_interpolant: linprog failed ({res.message})")
    return res.x[:d] - res.x[d:]


def min_potential_interpolant(
    X,
    y,
    alpha,
    model: Model = PE(),
    *,
    z0=None,
    tol=1e-12,
    max_iter=500,
    full_output=False,
):
    """argmin_{Xβ = y} of the implicit-bias potential, by damped Newton on the convex dual (JAX).

    ``model`` and ``alpha`` mean what they mean in `simulate`: the interpolant is where gradient
    flow from ``model.init(alpha)`` ends.

    * ``PE()``: ψ_α(β) − ½⟨z0, β⟩, β = α² sinh(Xᵀν + z0) (Pesme et al. arXiv:2106.09524).
    * ``PW(2)``: Q_α(β) − ⟨z0, β⟩, β = 2α² sinh(Xᵀν + z0) (Woodworth et al.
      arXiv:2002.09277). At depth 2 both are β = α_E² sinh(Xᵀν + z0), α_E² = ``model.alpha_e2(α)``.
    * ``PW(D)``, D ≥ 3: Q^D_α(β), β = α^D h_D(α^{D−2} ⊙ Xᵀν) (docs/conventions.md §2; for per-coordinate
      α this is argmin Σ_i α_i² q_D(β_i/α_i^D), the gradient-flow limit).

    The dual Φ(ν) = Σ_i (w_i/c_i) F(c_i(Xᵀν)_i + z0_i) − νᵀy (F = cosh or H_D) is minimized by
    Newton steps from ν = 0 with Armijo backtracking, the Φ-decrease computed as a sum of
    non-negative Bregman terms (no cancellation). Newton directions come from a QR factor of
    diag(√∂β/∂(Xᵀν)) Xᵀ. The loop stops when ‖Xβ − y‖ ≤ tol·‖y‖, when the line search stalls, or
    after ``max_iter`` steps; a last Newton step taken in β-space then restores Xβ = y to
    rounding. jit-compiled and ``jax.vmap``-able (e.g. over a grid of α).

    Args:
        X: (n, d) data of full row rank, n ≤ d, real and finite.
        y: (n,) targets, real and finite.
        alpha: initialization scale (> 0), scalar or shape (d,), as passed to `simulate`.
        model: the parametrization object, ``PE()`` (default) or ``PW(depth)``.
        z0: tilt, scalar or shape (d,), default 0; depth 2 only.
        tol: relative residual ‖Xβ − y‖/‖y‖ at which the Newton loop stops.
        max_iter: cap on Newton iterations.
        full_output: return an `InterpolantSolution` instead of β.

    Returns:
        β (shape (d,)) or an `InterpolantSolution`, as JAX arrays.
    """
    X, y = _validate.data(X, y)
    n, d = X.shape
    if n > d:
        raise ValueError(
            f"X has shape {X.shape}: an interpolant of this potential needs n <= d (full row rank)"
        )
    depth = check_model(model).depth
    check_alpha(alpha, d)
    _validate.scalar("tol", tol)
    _validate.positive("tol", tol)
    max_iter = _validate.integer_at_least("max_iter", max_iter, 1)
    full_output = _validate.flag("full_output", full_output)
    if z0 is not None:
        if depth != 2:
            raise ValueError(f"z0 is not allowed at depth={depth}: the tilt z0 needs depth 2")
        z0 = _validate.real_array("z0", z0)
        _validate.all_finite("z0", z0)
        _validate.scalar_or_vector("z0", z0, d)
    X, y, alpha = (jnp.asarray(v, dtype=float) for v in (X, y, alpha))
    if depth == 2:
        w, c = model.alpha_e2(alpha), jnp.ones(())
    else:
        w, c = alpha**depth, alpha ** (depth - 2)
    z0 = 0.0 if z0 is None else z0
    w, c, z0 = (jnp.broadcast_to(jnp.asarray(v, dtype=float), (d,)) for v in (w, c, z0))
    tol = jnp.asarray(tol, dtype=float)
    sol = _solve(X, y, w, c, z0, tol, depth=depth, max_iter=max_iter)
    return sol if full_output else sol.beta


def min_potential_interpolant_np(X, y, alpha, model: Model = PE(), **kwargs):
    """`min_potential_interpolant` with NumPy inputs and outputs (same arguments)."""
    sol = min_potential_interpolant(X, y, alpha, model, **kwargs)
    return jax.tree.map(np.asarray, sol)


class _Cosh:
    """D = 2: F = cosh, β = w sinh(s); the state is s itself."""

    @staticmethod
    def start(z0):
        return z0

    @staticmethod
    def shift(s, step):
        return s + step

    @staticmethod
    def beta_jac(s, w, c):
        """β and ∂β/∂(Xᵀν)."""
        return w * jnp.sinh(s), w * c * jnp.cosh(s)

    @staticmethod
    def bregman(s, b):
        """cosh(s + b) − cosh(s) − b sinh(s) = ½[eˢ(eᵇ − 1 − b) + e⁻ˢ(e⁻ᵇ − 1 + b)] ≥ 0."""
        return 0.5 * (jnp.exp(s) * exp_bregman(b) + jnp.exp(-s) * exp_bregman(-b))

    @staticmethod
    def first_step(s, delta):
        return jnp.minimum(1.0, _MAX_DS / jnp.max(jnp.abs(delta)))


class _Power:
    """D ≥ 3: F = H_D = [(1 − s)^{1−p} + (1 + s)^{1−p}]/(p − 1), β = w h_D(s), |s| < 1.

    The state stacks s and the gaps 1 ∓ s, all updated by the steps themselves: a gap near 0 is
    far below the resolution of s at small α (1 − s ≈ 10⁻⁴⁸ at D = 10, α = 10⁻⁶) and s near 0
    below that of the gaps at large α, so each is read where it is precise (|s| < ½ or not).
    """

    def __init__(self, depth):
        self.p = depth / (depth - 2)

    @staticmethod
    def start(z0):
        return jnp.stack([z0, 1.0 - z0, 1.0 + z0])

    @staticmethod
    def shift(state, step):
        s, gm, gp = state + jnp.stack([step, -step, step])
        small = jnp.abs(s) < 0.5
        s = jnp.where(small, s, jnp.where(s > 0, 1.0 - gm, gp - 1.0))
        return jnp.stack([s, jnp.where(small, 1.0 - s, gm), jnp.where(small, 1.0 + s, gp)])

    @staticmethod
    def _log_gaps(state):
        """log(1 − s), log(1 + s) to relative precision."""
        s, small = state[0], jnp.abs(state[0]) < 0.5
        return jnp.where(small, jnp.stack([jnp.log1p(-s), jnp.log1p(s)]), jnp.log(state[1:]))

    def beta_jac(self, state, w, c):
        p, (lm, lp) = self.p, self._log_gaps(state)
        beta = w * (jnp.expm1(-p * lm) - jnp.expm1(-p * lp))
        return beta, p * w * c * (jnp.exp(-(p + 1) * lm) + jnp.exp(-(p + 1) * lp))

    def bregman(self, state, b):
        """H_D(s + b) − H_D(s) − b h_D(s) = Σ_± g±^k [(1 + r±)^k − 1 − k r±]/(p − 1).

        Here g± = 1 ± s, r± = ±b/g±, k = 1 − p; every term is ≥ 0.
        """
        k = 1.0 - self.p
        r = jnp.stack([-b, b]) / state[1:]
        terms = jnp.exp(k * self._log_gaps(state)) * pow_bregman(jnp.log1p(r), r, k)
        return jnp.sum(terms, axis=0) / (self.p - 1.0)

    @staticmethod
    def first_step(state, delta):
        room = jnp.where(delta > 0, state[1], state[2])
        return jnp.minimum(1.0, _TO_BOUNDARY * jnp.min(room / jnp.abs(delta)))


@partial(jax.jit, static_argnames=("depth", "max_iter"))
def _solve(X, y, w, c, z0, tol, depth, max_iter):
    fam = _Cosh() if depth == 2 else _Power(depth)
    y_norm = jnp.linalg.norm(y)

    def newton(state):
        beta, jac = fam.beta_jac(state, w, c)  # the dual Hessian is X diag(jac) Xᵀ
        g = X @ beta - y  # ∇Φ(ν)
        r = jnp.linalg.qr(jnp.sqrt(jac)[:, None] * X.T, mode="r")
        u = solve_triangular(r.T, -g, lower=True)
        dnu = solve_triangular(r, u, lower=False)
        return beta, jac, g, dnu, u @ u

    def line_search(state, delta, lam2, skip):
        def armijo(t):
            return jnp.sum(w / c * fam.bregman(state, t * delta)) <= (1.0 - _ARMIJO) * t * lam2

        t, _ = jax.lax.while_loop(
            lambda tk: ~skip & ~armijo(tk[0]) & (tk[1] < _MAX_HALVINGS),
            lambda tk: (0.5 * tk[0], tk[1] + 1),
            (fam.first_step(state, delta), 0),
        )
        return jnp.where(armijo(t) & ~skip, t, 0.0)

    def body(carry):
        nu, state, it, _ = carry
        _, _, g, dnu, lam2 = newton(state)
        converged = jnp.linalg.norm(g) <= tol * y_norm
        delta = c * (X.T @ dnu)
        t = line_search(state, delta, lam2, converged)
        done = converged | (t == 0.0)
        return nu + t * dnu, fam.shift(state, t * delta), it + jnp.where(done, 0, 1), done

    init = (jnp.zeros_like(y), fam.start(z0), 0, False)
    nu, state, it, _ = jax.lax.while_loop(lambda cy: ~cy[3] & (cy[2] < max_iter), body, init)
    beta, jac, _, dnu, lam2 = newton(state)
    beta = beta + jac * (X.T @ dnu)
    residual = jnp.linalg.norm(X @ beta - y) / jnp.where(y_norm > 0, y_norm, 1.0)
    return InterpolantSolution(beta, nu, residual, lam2, it)
