"""Implicit bias of the initialization shape: any u(0), v(0) per coordinate (P-E, β = u ⊙ v).

Azulay et al., *On the Implicit Bias of Initialization Shape*, ICML 2021 (arXiv:2102.09769),
2-layer diagonal networks: the limit of gradient flow depends on u(0), v(0) through the conserved
u_i² − v_i² and through β(0). Derivation (docs/conventions.md §2): with p = u + v, m = u − v,
gradient flow is ṗ = −g ⊙ p, ṁ = g ⊙ m, so with S = −∫₀ᵗ g dt ∈ range(Xᵀ),

    β = (p² − m²)/4 = α² sinh(2S + z0),   α_i² = |u_i(0)² − v_i(0)²|/2,
    z0_i = ln|(u_i(0) + v_i(0))/(u_i(0) − v_i(0))|  (= 2 artanh(v/u) when |v| < |u|),

whatever the signs. Hence the flow ends at the minimizer over {Xβ = y} of the tilted hyperbolic
entropy ψ_α(β) − ½⟨z0, β⟩ = D_ψα(β, β(0)) + const, the Bregman divergence from β(0) = α² sinh(z0):
the scale is the "combined" α of the shape and the shape enters only through the tilt z0.
u_i² = v_i² (α_i = 0) is the boundary where coordinate i can never change sign: not covered.
"""

import jax.numpy as jnp
import numpy as np

from ..models import PE
from .interpolators import min_potential_interpolant


def shape_scale_and_tilt(u0, v0):
    """(α, z0) of the initialization (u0, v0): α = √(|u0² − v0²|/2), z0 = ln|(u0 + v0)/(u0 − v0)|.

    Raises ValueError if some |u0_i| = |v0_i| (α_i = 0) or the inputs are not finite.
    """
    u0, v0 = np.broadcast_arrays(np.asarray(u0, dtype=float), np.asarray(v0, dtype=float))
    if not (np.all(np.isfinite(u0)) and np.all(np.isfinite(v0))):
        raise ValueError("u0 and v0 must be finite")
    gap = np.abs(u0**2 - v0**2)
    if np.any(gap == 0):
        bad = np.flatnonzero(gap.ravel() == 0)[:5].tolist()
        raise ValueError(f"u0² = v0² at coordinates {bad}: the shape needs |u0_i| ≠ |v0_i| (α_i > 0)")
    return np.sqrt(gap / 2), np.log(np.abs((u0 + v0) / (u0 - v0)))


def beta_from_shape(u0, v0):
    """β(0) = α² sinh(z0) — equal to u0 ⊙ v0, stated through (α, z0) for the Bregman reading."""
    alpha, z0 = shape_scale_and_tilt(u0, v0)
    return alpha**2 * np.sinh(z0)


def min_shape_interpolant(X, y, u0, v0, **kwargs) -> jnp.ndarray:
    """Where gradient flow on P-E from (u(0), v(0)) = (u0, v0) ends: argmin_{Xβ=y} ψ_α(β) − ½⟨z0, β⟩.

    ``kwargs`` go to `min_potential_interpolant` (``tol``, ``max_iter``, ``full_output``).
    """
    alpha, z0 = shape_scale_and_tilt(u0, v0)
    return min_potential_interpolant(X, y, alpha, PE(), z0=z0, **kwargs)
