"""Effective initialization of P-E DLNs: the exact per-step identity (science.md §3).

Any update u ← u − η(A⊙v + B⊙u), v ← v − η(A⊙u + B⊙v) gives exactly
u² − v² ← [(1 − ηB)² − η²A²] ⊙ (u² − v²), so α_eff² = ½(u² − v²) evolves multiplicatively.
"""

import jax.numpy as jnp


def alpha_eff2_factor(A, B, eta):
    """(1 − ηB)² − η²A²: the per-step factor of u² − v² (science.md §3, derived)."""
    return (1.0 - eta * B) ** 2 - (eta * A) ** 2


def gd_terms(g):
    """GD / SGD (Even et al. arXiv:2302.08982): A = g (the (minibatch) gradient in β), B = 0."""
    return g, jnp.zeros_like(g)


def alpha_inf2_gd(alpha, eta, gradients):
    """α_∞² = α² ⊙ Π_k (1 − η² g_k²) over the β-gradients g_k of a GD run (Even et al., Prop. 1)."""
    return alpha**2 * jnp.prod(1.0 - (eta * gradients) ** 2, axis=0)


def gain(alpha, alpha_inf2):
    """‖Gain‖₁ = Σ_i ln(α_i² / α_∞,i²) (Even et al., arXiv:2302.08982)."""
    return jnp.sum(jnp.log(jnp.broadcast_to(alpha**2, jnp.shape(alpha_inf2)) / alpha_inf2), axis=-1)
