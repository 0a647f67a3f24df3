"""Effective initialization of P-E DLNs: the exact per-step identity (docs/conventions.md §3).

Any update u ← u − η(A⊙v + B⊙u), v ← v − η(A⊙u + B⊙v) gives exactly
u² − v² ← [(1 − ηB)² − η²A²] ⊙ (u² − v²), so α_eff² = ½(u² − v²) evolves multiplicatively.
The ``pe_terms_*`` functions write A and B of each method in β-space,
independently of the methods' parameter-space code (`dln_theory.dynamics`), so that the identity
checks the implementation; `dln_theory.verify.pe_table.pe_terms` picks the row of a method object.
Each takes the step's (mini)batch objective and P-E ``params`` = (u, v).
"""

import jax
import jax.numpy as jnp


def alpha_eff2_factor(A, B, eta):
    """(1 − ηB)² − η²A²: the per-step factor of u² − v² (docs/conventions.md §3, derived)."""
    return (1.0 - eta * B) ** 2 - (eta * A) ** 2


def alpha_inf2_gd(alpha, eta, gradients):
    """α_∞² = α² ⊙ Π_k (1 − η² g_k²) over the β-gradients g_k of a GD run (Even et al. arXiv:2302.08982)."""
    return alpha**2 * jnp.prod(1.0 - (eta * gradients) ** 2, axis=0)


def gain(alpha, alpha_inf2):
    """‖Gain‖₁ = Σ_i ln(α_i² / α_∞,i²) (Even et al., arXiv:2302.08982)."""
    return jnp.sum(jnp.log(jnp.broadcast_to(alpha**2, jnp.shape(alpha_inf2)) / alpha_inf2), axis=-1)


def _shifted_grad(objective, params, g, eps):
    """g(β±) with β± = (u ± εg⊙v)⊙(v ± εg⊙u) (docs/conventions.md §3)."""
    u, v = params
    return objective.beta_grad(jnp.stack([u + eps * g * v, v + eps * g * u]))


def _theta_grad_norm(objective, params, g):
    u, v = params
    return jnp.sqrt(jnp.sum(g**2 * (u**2 + v**2)))


def pe_terms_gd(objective, params):
    """GD (and SGD on its minibatch): A = g, B = 0."""
    g = objective.beta_grad(params)
    return g, jnp.zeros_like(g)


def pe_terms_gr(objective, params, gamma):
    """Full-batch GR: A = g + γK(g⊙(u² + v²)), B = γg²."""
    u, v = params
    g = objective.beta_grad(params)
    K = objective.X.T @ objective.X / objective.n
    return g + gamma * K @ (g * (u**2 + v**2)), gamma * g**2


def _ascent_scale(objective, params, g, normalize):
    """1, or 1/‖∇_θL‖ for a normalized ascent."""
    return 1.0 / _theta_grad_norm(objective, params, g) if normalize else 1.0


def pe_terms_fgr(objective, params, gamma, eps, normalize=False):
    """F-GR: A = (1 − γ/ε)g + (γ/ε)g⁺, B = γ g⊙g⁺ (ε → ε/‖∇_θL‖ with ``normalize``)."""
    g = objective.beta_grad(params)
    s = _ascent_scale(objective, params, g, normalize)
    g_plus = _shifted_grad(objective, params, g, eps * s)
    r = gamma / eps
    return (1 - r) * g + r * g_plus, gamma * s * g * g_plus


def pe_terms_bgr(objective, params, gamma, eps, normalize=False):
    """B-GR: A = (1 + γ/ε)g − (γ/ε)g⁻, B = γ g⊙g⁻."""
    g = objective.beta_grad(params)
    s = _ascent_scale(objective, params, g, normalize)
    g_minus = _shifted_grad(objective, params, g, -eps * s)
    r = gamma / eps
    return (1 + r) * g - r * g_minus, gamma * s * g * g_minus


def pe_terms_sam(objective, params, rho, normalize=True, group_size=None):
    """SAM: A = g⁺ (ε = ρ), B = ρ g⊙g⁺; m-SAM averages A and B over groups of ``group_size`` examples."""
    def one_group(group):
        g = group.beta_grad(params)
        s = _ascent_scale(group, params, g, normalize)
        g_plus = _shifted_grad(group, params, g, rho * s)
        return g_plus, rho * s * g * g_plus

    if group_size is None:
        return one_group(objective)
    groups = objective.n // group_size
    data = jax.tree.map(lambda a: a.reshape((groups, group_size) + a.shape[1:]), objective.data)
    A, B = jax.vmap(lambda part: one_group(objective.with_data(part)))(data)
    return A.mean(axis=0), B.mean(axis=0)
