"""Implicit-bias potentials of diagonal linear networks (docs/conventions.md §2).

* P-W (Woodworth): β = w₊^D − w₋^D, w±(0) = α.
* P-E (Even/Pesme): β = u ⊙ v, u(0) = √2α, v(0) = 0.

At D = 2 the two are one network with α_E = √2 α_W (`dln_theory.models.PW.alpha_e2`), and
Q_{α_W} = 2 ψ_{α_E}. Every α may be a scalar or per coordinate (broadcast against β); potentials
sum over the last axis of β. Inputs are checked (real, finite, α > 0, broadcastable shapes)
before any compilation; under a JAX transformation only dtypes and shapes are.
"""

from functools import partial
from math import factorial

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate
from ..models import PW

_TAYLOR_BELOW = 1e-2  # |x| below which second-order remainders use their Taylor series
_NEWTON_STEPS = 30  # h_D^{-1}: monotone Newton from a bracket; converges in < 10 steps
_PW2 = PW(2)


def woodworth_q(beta, alpha):
    """Q_α(β) = Σ_i α² q(β_i/α²), q(z) = 2 − √(4 + z²) + z·arcsinh(z/2).

    Woodworth et al. 2020 (arXiv:2002.09277), D = 2; docs/conventions.md §2. Parametrization P-W.
    ∇Q_α(β) = arcsinh(β/(2α²)); Q_α = 2ψ_{α_E} with α_E² = 2α² (`PW.alpha_e2`).
    """
    _check_beta_alpha(beta, alpha)
    return _woodworth_q(beta, alpha)


def hyperbolic_entropy(beta, alpha):
    """ψ_α(β) = ½ Σ_i (β_i arcsinh(β_i/α_i²) − √(β_i² + α_i⁴) + α_i²).

    Pesme et al. 2021 (arXiv:2106.09524), Even et al. 2023 (arXiv:2302.08982); docs/conventions.md §2.
    Parametrization P-E. ∇ψ_α(β) = ½ arcsinh(β/α²).
    """
    _check_beta_alpha(beta, alpha)
    return _hyperbolic_entropy(beta, alpha)


@jax.jit
def _woodworth_q(beta, alpha):
    return jnp.sum(_entropy_terms(beta, _PW2.alpha_e2(alpha)), axis=-1)


@jax.jit
def _hyperbolic_entropy(beta, alpha):
    return 0.5 * jnp.sum(_entropy_terms(beta, alpha**2), axis=-1)


def _check_beta_alpha(beta, alpha):
    """β real and finite, α real, finite and > 0, their shapes broadcastable."""
    _validate.all_finite("beta", _validate.real_array("beta", beta))
    _validate.positive("alpha", alpha)
    try:
        np.broadcast_shapes(np.shape(beta), np.shape(alpha))
    except ValueError:
        raise ValueError(
            f"alpha has shape {np.shape(alpha)}: alpha must be a scalar or broadcast against "
            f"beta of shape {np.shape(beta)} (per coordinate: the last axis)"
        ) from None


def _entropy_terms(beta, a2):
    """β arcsinh(β/a²) − √(β² + a⁴) + a², written β arcsinh(β/a²) − β²/(a² + √(β² + a⁴))."""
    return beta * jnp.arcsinh(beta / a2) - beta**2 / (a2 + jnp.hypot(beta, a2))


def depth_link(z, depth: int):
    """h_D(z) = (1 − z)^{−p} − (1 + z)^{−p}, p = D/(D − 2), for |z| < 1 (docs/conventions.md §2, P-W).

    Gradient flow of depth D ≥ 3 ends at β = α^D h_D(Xᵀν): h_D is odd, increasing, onto R.
    """
    depth = _validate.integer_at_least("depth", depth, 3)
    _validate.open_interval("z", z, -1.0, 1.0)
    return _depth_link(z, depth)


@partial(jax.jit, static_argnames="depth")
def _depth_link(z, depth):
    p = _exponent(depth)
    return jnp.expm1(-p * jnp.log1p(-z)) - jnp.expm1(-p * jnp.log1p(z))


def depth_link_inverse(b, depth: int):
    """h_D^{-1}(b) ∈ (−1, 1) to machine precision (monotone Newton, vectorized; docs/conventions.md §2)."""
    depth = _validate.integer_at_least("depth", depth, 3)
    _validate.all_finite("b", _validate.real_array("b", b))
    return _depth_link_inverse(b, depth)


@partial(jax.jit, static_argnames="depth")
def _depth_link_inverse(b, depth):
    z, _ = _inverse_parts(jnp.abs(b), _exponent(depth))
    return jnp.sign(b) * z


def depth_potential(beta, alpha, depth: int):
    """Q^D_α(β) = α^D Σ_i q_D(β_i/α^D), q_D' = h_D^{-1}, q_D(0) = 0 (P-W, depth D ≥ 3).

    Woodworth et al. 2020 (arXiv:2002.09277) form, derived in docs/conventions.md §2. Closed form by
    Legendre transform: q_D(b) = b z − H_D(z) + H_D(0), z = h_D^{-1}(b),
    H_D(z) = [(1 − z)^{1−p} + (1 + z)^{1−p}]/(p − 1). ∇Q^D_α(β) = h_D^{-1}(β/α^D).
    For per-coordinate α, gradient flow instead minimizes Σ_i α_i² q_D(β_i/α_i^D) [derived]
    (the same minimizer when α is a scalar); `min_potential_interpolant` solves that one.
    """
    depth = _validate.integer_at_least("depth", depth, 3)
    _check_beta_alpha(beta, alpha)
    return _depth_potential(beta, alpha, depth)


@partial(jax.jit, static_argnames="depth")
def _depth_potential(beta, alpha, depth):
    scale = alpha**depth
    return jnp.sum(scale * _q_depth(beta / scale, _exponent(depth)), axis=-1)


def _exponent(depth):
    return depth / (depth - 2)


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def _q_depth(b, p):
    """q_D(b) = |b| z − [B(−z) + B(z)]/(p − 1), B(r) = (1 + r)^{1−p} − 1 − (1 − p) r ≥ 0."""
    z, x = _inverse_parts(jnp.abs(b), p)
    k = 1.0 - p
    bregman = pow_bregman(jnp.log(x), -z, k) + pow_bregman(jnp.log1p(z), z, k)
    return jnp.abs(b) * z - bregman / (p - 1.0)


@_q_depth.defjvp
def _q_depth_jvp(p, primals, tangents):
    (b,) = primals
    z, _ = _inverse_parts(jnp.abs(b), p)
    return _q_depth(b, p), jnp.sign(b) * z * tangents[0]


@partial(jax.jit, static_argnames="p")
def _inverse_parts(a, p):
    """(z, 1 − z) with h_D(z) = a ≥ 0, each to relative precision.

    h_D is convex and increasing on [0, 1), so Newton from the upper bound
    z₀ = min(a/(2p), 1 − (1 + a)^{−1/p}) decreases monotonically to the root. The iterate is
    stored as z where z ≤ ½ and as x = 1 − z otherwise (Newton is the same map in both).
    """
    x_lo = jnp.maximum(jnp.exp(-jnp.log1p(a) / p), 1.0 - a / (2.0 * p))
    z_hi = jnp.minimum(a / (2.0 * p), -jnp.expm1(-jnp.log1p(a) / p))

    def step(_, zx):
        z, x = zx
        hz = jnp.expm1(-p * jnp.log1p(-z)) - jnp.expm1(-p * jnp.log1p(z))
        dz = (hz - a) / (p * ((1.0 - z) ** (-p - 1) + (1.0 + z) ** (-p - 1)))
        hx = x ** (-p) - (2.0 - x) ** (-p)
        dx = (hx - a) / (p * (x ** (-p - 1) + (2.0 - x) ** (-p - 1)))
        return z - dz, x + dx

    z, x = jax.lax.fori_loop(0, _NEWTON_STEPS, step, (z_hi, x_lo))
    small = a <= 2.0**p - (2.0 / 3.0) ** p  # h_D(½)
    return jnp.where(small, z, 1.0 - x), jnp.where(small, 1.0 - z, x)


def exp_bregman(x):
    """e^x − 1 − x ≥ 0 without cancellation (Taylor series for |x| < 1e-2)."""
    coeffs = [1.0 / factorial(j) for j in range(2, 10)]
    return _taylor_or(x, jnp.expm1(x) - x, coeffs)


def pow_bregman(log_base, r, k):
    """(1 + r)^k − 1 − k r ≥ 0 (k < 0) given log(1 + r), without cancellation at small r."""
    coeffs = [_binom(k, j) for j in range(2, 10)]
    return _taylor_or(r, jnp.expm1(k * log_base) - k * r, coeffs)


def _binom(k, j):
    out = 1.0
    for i in range(j):
        out *= (k - i) / (i + 1)
    return out


def _taylor_or(x, exact, coeffs):
    """``exact`` where |x| ≥ 1e-2, else Σ_j coeffs[j] x^{j+2} (Horner)."""
    series = jnp.zeros_like(x)
    for c in reversed(coeffs):
        series = (series + c) * x
    return jnp.where(jnp.abs(x) < _TAYLOR_BELOW, series * x, exact)
