"""Momentum on a 2-layer DLN: the intrinsic λ = γ/(1 − β)² and the endpoint it selects.

Papazov, Pesme & Flammarion, *Leveraging Continuous Time to Understand Momentum When Training
Diagonal Linear Networks*, AISTATS 2024 (arXiv:2403.05293). Their momentum gradient descent (MGD)
with step γ and momentum β,

    w_{k+1} = w_k − γ∇F(w_k) + β(w_k − w_{k−1}),

is the library's `HeavyBall(γ, momentum=β)` exactly (v ← βv − γ∇F, w ← w + v, v₀ = 0, so
w₁ = w₀ − γ∇F(w₀)). Its continuous-time model, the momentum gradient flow (MGF),

    λ ẅ + ẇ + ∇F(w) = 0,   w(0) = w₀, ẇ(0) = 0,   λ = γ/(1 − β)²,   τ_k = k·γ/(1 − β),

depends on (γ, β) only through λ: runs with equal λ follow one path in the time τ (the paper's
"acceleration rule"). In the library's clock t = k·γ (docs/conventions.md §1), τ = t/(1 − β).
Derived here (a Taylor expansion of the recursion at τ-step h = γ/(1 − β) = √(γλ)): MGD follows
λ' ẅ + ẇ = −∇F with λ' = λ(1 + β)/2 = λ − √(γλ)/2 plus O(h) terms, so at fixed λ the gap
between MGD and the MGF closes as O(√γ) when γ → 0 (and β → 1). Nesterov's update differs from
heavy ball by its look-ahead μ(w_k − w_{k−1}) = O(h), so it has the same limit at the same order.

Endpoint on P-E (β = u ⊙ v, u(0) = √2·α, v(0) = 0; derived here, the exact MGF counterpart of
docs/conventions.md §3): with p = u + v = e^a and m = u − v = e^b, the MGF reads
λ(ä + ȧ²) + ȧ = −g and λ(b̈ + ḃ²) + ḃ = g (g = ∇L(β)). Adding and subtracting and integrating
from ȧ(0) = ḃ(0) = 0,

    α_τ² := ½(u² − v²) = α² exp(−λ ∫₀^τ (ȧ² + ḃ²)),
    β(τ) = α_τ² sinh(2S(τ) + z_τ),  S = −∫₀^τ g ∈ range(Xᵀ),  z_τ = −λ(ȧ − ḃ)(τ) − λ ∫₀^τ (ȧ² − ḃ²).

So an interpolating MGF run ends at argmin_{Xβ=y} ψ_{α_∞}(β) − ½⟨z_∞, β⟩, with α_∞ ≤ α (momentum
shrinks the effective scale, more so for larger λ, on the coordinates that move most) and a tilt
z_∞ = O(λ); λ → 0 recovers gradient flow (α_∞ = α, z = 0). This is our derivation of the paper's
"implicit regularisation problem" (only its abstract could be consulted here, so its equation
numbers and its exact form of α_∞ are not reproduced); both quantities are read off the MGF run
by `momentum_flow`, and the claims in `dln_theory.verify.momentum` check the endpoint (7e-13)
and that dropping the tilt fails (3e-2). Larger λ raising the test error matches the paper's
"small λ helps recover sparse solutions" (`figures/momentum.py`).
"""

from typing import NamedTuple

import numpy as np
from scipy.integrate import solve_ivp

from ..models import PE
from .interpolators import min_potential_interpolant


def intrinsic_lambda(gamma, beta):
    """λ = γ/(1 − β)² (Papazov et al. arXiv:2403.05293, abstract)."""
    return np.asarray(gamma, dtype=float) / (1.0 - np.asarray(beta, dtype=float)) ** 2


def momentum_for(lam, gamma):
    """The momentum β with γ/(1 − β)² = λ: β = 1 − √(γ/λ) (needs γ < λ for β > 0)."""
    return 1.0 - np.sqrt(np.asarray(gamma, dtype=float) / np.asarray(lam, dtype=float))


def mgf_time(t, beta):
    """MGF time τ = t/(1 − β) of library time t = k·γ (the paper's τ_k = kγ/(1 − β))."""
    return np.asarray(t, dtype=float) / (1.0 - np.asarray(beta, dtype=float))


class MomentumFlow(NamedTuple):
    """The MGF on P-E at times ``taus``: β (K, d), loss (K,), and α_τ², z_τ at the last time (d,)."""

    taus: np.ndarray
    beta: np.ndarray
    loss: np.ndarray
    alpha2: np.ndarray
    z: np.ndarray


def momentum_flow(X, y, alpha, lam, taus, rtol=1e-11, atol=1e-14) -> MomentumFlow:
    """Integrate the MGF λẅ + ẇ + ∇F(w) = 0 on P-E from u(0) = √2·α, v(0) = 0, ẇ(0) = 0.

    The state is (u, v, u̇, v̇, S) with S = −∫g, integrated by DOP853 to ``rtol``. At the last
    time α_τ² = ½(u² − v²) and z_τ = ln|(u + v)/(u − v)| − 2S (the module docstring's
    identities, read off the state; they need u² > v² along the run, which holds while the MGF
    is overdamped, small λ). Raises if the integration fails.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    n, d = X.shape
    taus = np.asarray(taus, dtype=float)
    u0 = np.sqrt(2.0) * np.broadcast_to(np.asarray(alpha, dtype=float), (d,))

    def rhs(_, state):
        u, v, du, dv = state[:d], state[d:2 * d], state[2 * d:3 * d], state[3 * d:4 * d]
        g = X.T @ (X @ (u * v) - y) / n
        return np.concatenate([du, dv, (-g * v - du) / lam, (-g * u - dv) / lam, -g])

    state0 = np.concatenate([u0, np.zeros(4 * d)])
    sol = solve_ivp(rhs, (0.0, float(taus[-1])), state0, method="DOP853", t_eval=taus, rtol=rtol, atol=atol)
    if not sol.success or not np.all(np.isfinite(sol.y)):
        raise RuntimeError(f"MGF integration failed at λ={lam:g}: {sol.message}")
    u, v, _, _, S = np.split(sol.y, 5)
    beta = (u * v).T
    loss = 0.5 * np.mean((beta @ X.T - y) ** 2, axis=1)
    uT, vT = u[:, -1], v[:, -1]
    alpha2 = 0.5 * (uT**2 - vT**2)
    z = np.log(np.abs((uT + vT) / (uT - vT))) - 2 * S[:, -1]
    return MomentumFlow(taus, beta, loss, alpha2, z)


def momentum_endpoint(X, y, alpha, lam, tau_end, tilt=True, **kwargs):
    """Predicted limit of MGF/MGD at intrinsic λ: argmin_{Xβ=y} ψ_{α_∞}(β) − ½⟨z_∞, β⟩ on P-E.

    α_∞ and z_∞ are read off the MGF at ``tau_end`` (`momentum_flow`; take ``tau_end`` where
    the loss has converged). ``tilt=False`` drops z_∞ (argmin ψ_{α_∞} alone). Returns
    (β_pred, α_∞ (d,), z_∞ (d,)).
    """
    flow = momentum_flow(X, y, alpha, lam, np.array([tau_end]), **kwargs)
    alpha_inf = np.sqrt(flow.alpha2)
    z0 = flow.z if tilt else None
    pred = np.asarray(min_potential_interpolant(np.asarray(X), np.asarray(y), alpha_inf, PE(), z0=z0))
    return pred, alpha_inf, flow.z
