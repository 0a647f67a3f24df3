"""Effective initialization of P-E DLNs: the exact per-step identity (science.md §3).

Any update u ← u − η(A⊙v + B⊙u), v ← v − η(A⊙u + B⊙v) gives exactly
u² − v² ← [(1 − ηB)² − η²A²] ⊙ (u² − v²), so α_eff² = ½(u² − v²) evolves multiplicatively.
`pe_terms` writes A and B of each method in β-space, independently of the method's own
parameter-space code, so that the identity checks the implementation.
"""

import functools

import jax
import jax.numpy as jnp

from ..dynamics import BGR, FGR, GD, GR, SAM, Flooding, Method
from ..dynamics.gd import HeavyBall


def alpha_eff2_factor(A, B, eta):
    """(1 − ηB)² − η²A²: the per-step factor of u² − v² (science.md §3, derived)."""
    return (1.0 - eta * B) ** 2 - (eta * A) ** 2


def alpha_inf2_gd(alpha, eta, gradients):
    """α_∞² = α² ⊙ Π_k (1 − η² g_k²) over the β-gradients g_k of a GD run (Even et al. arXiv:2302.08982)."""
    return alpha**2 * jnp.prod(1.0 - (eta * gradients) ** 2, axis=0)


def gain(alpha, alpha_inf2):
    """‖Gain‖₁ = Σ_i ln(α_i² / α_∞,i²) (Even et al., arXiv:2302.08982)."""
    return jnp.sum(jnp.log(jnp.broadcast_to(alpha**2, jnp.shape(alpha_inf2)) / alpha_inf2), axis=-1)


def _shifted_grad(objective, params, g, eps):
    """g(β±) with β± = (u ± εg⊙v)⊙(v ± εg⊙u) (science.md §3)."""
    u, v = params
    return objective.beta_grad(jnp.stack([u + eps * g * v, v + eps * g * u]))


def _theta_grad_norm(objective, params, g):
    u, v = params
    return jnp.sqrt(jnp.sum(g**2 * (u**2 + v**2)))


@functools.singledispatch
def pe_terms(method: Method, objective, params):
    """(A, B) of one step of ``method`` at P-E ``params`` on ``objective`` (science.md §3 table).

    ``objective`` is the step's (mini)batch objective. Methods whose update is not of the form
    (momentum) raise ValueError.
    """
    raise ValueError(f"method={type(method).__name__} is not allowed: its update is not of the A/B form")


def _plain(method, A, B, params):
    """Weight decay λ adds λ to B; momentum breaks the form."""
    if method.momentum is not None:
        raise ValueError(f"momentum={method.momentum} is not allowed: the A/B form needs no momentum")
    return A, B if method.weight_decay is None else B + method.weight_decay


@pe_terms.register
def _(method: GD, objective, params):
    if isinstance(method, HeavyBall):
        return pe_terms.dispatch(Method)(method, objective, params)
    g = objective.beta_grad(params)
    return _plain(method, g, jnp.zeros_like(g), params)


@pe_terms.register
def _(method: Flooding, objective, params):
    g = objective.beta_grad(params)
    return _plain(method, jnp.sign(objective.loss(params) - method.b) * g, jnp.zeros_like(g), params)


@pe_terms.register
def _(method: GR, objective, params):
    if method.per_example:
        raise ValueError("per_example=True is not allowed here: the A/B table is for full-batch GR")
    u, v = params
    g = objective.beta_grad(params)
    K = objective.X.T @ objective.X / objective.n
    return _plain(method, g + method.gamma * K @ (g * (u**2 + v**2)), method.gamma * g**2, params)


def _ascent_scale(method, objective, params, g):
    """1, or 1/‖∇_θL‖ for a normalized ascent."""
    return 1.0 / _theta_grad_norm(objective, params, g) if method.normalize else 1.0


@pe_terms.register
def _(method: FGR, objective, params):
    g = objective.beta_grad(params)
    s = _ascent_scale(method, objective, params, g)
    g_plus = _shifted_grad(objective, params, g, method.eps * s)
    r = method.gamma / method.eps
    return _plain(method, (1 - r) * g + r * g_plus, method.gamma * s * g * g_plus, params)


@pe_terms.register
def _(method: BGR, objective, params):
    g = objective.beta_grad(params)
    s = _ascent_scale(method, objective, params, g)
    g_minus = _shifted_grad(objective, params, g, -method.eps * s)
    r = method.gamma / method.eps
    return _plain(method, (1 + r) * g - r * g_minus, method.gamma * s * g * g_minus, params)


@pe_terms.register
def _(method: SAM, objective, params):
    def one_group(group):
        g = group.beta_grad(params)
        s = _ascent_scale(method, group, params, g)
        g_plus = _shifted_grad(group, params, g, method.rho * s)
        return g_plus, method.rho * s * g * g_plus

    if method.group_size is None:
        return _plain(method, *one_group(objective), params)
    groups = objective.n // method.group_size
    data = jax.tree.map(lambda a: a.reshape((groups, method.group_size) + a.shape[1:]), objective.data)
    A, B = jax.vmap(lambda part: one_group(objective.with_data(part)))(data)
    return _plain(method, A.mean(axis=0), B.mean(axis=0), params)
