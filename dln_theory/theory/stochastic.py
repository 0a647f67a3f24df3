"""Stochasticity on P-E DLNs: SGD's effective initialization from the loss integral, and label noise.

Conventions of docs/conventions.md §1 (L = (1/2n)‖Xβ − y‖², g = ∇_βL, K = XᵀX/n, P-E β = u ⊙ v
with u(0) = √2α, v(0) = 0, time t = Σ_k η_k). Gain := ln(α²/α_∞²) per coordinate (Even et al.
arXiv:2302.08982); α_∞ = α·exp(−Gain/2).

**SGD's α_∞ (Pesme, Pillaud-Vivien & Flammarion, NeurIPS 2021, arXiv:2106.09524, Thm. 1).** The
stochastic gradient flow of batch-1 SGD ends at argmin_{Xβ=y} ψ_{α_∞}(β) with
α_∞ = α ⊙ exp(−c·γ·diag(XᵀX)·∫₀^∞ L(β_s) ds): the effective initialization shrinks by the
integral of the training loss along the run, the same for every coordinate of equal ‖X_{:,j}‖.
(The paper's text was not available to this project; the form is recalled, and the constant is
derived here in the project's conventions, as follows.) Each SGD step multiplies α_eff² exactly
by 1 − η²g̃_k² (docs/conventions.md §3, g̃_k the minibatch gradient), so
Gain = −Σ_k ln(1 − η²g̃_k²) ≈ η²Σ_k g̃_k². For a batch of one example drawn uniformly,
E[g̃_j²] = (1/n)Σ_i r_i²X_ij² (r = Xβ − y), hence to first order in η

    Gain_j ≈ η ∫₀^∞ N_j dt,   N_j(β) = (1/n) Σ_i r_i² X_ij²            (`sgd_gain_noise`),

and Pesme et al.'s decoupling (1/n)Σ_i r_i²X_ij² ≈ (1/n)Σ_i r_i² · K_jj = 2L·K_jj gives

    Gain_j ≈ 2η K_jj ∫₀^∞ L dt,   α_∞ = α ⊙ exp(−η diag(K) ∫₀^∞ L dt)  (`sgd_gain_loss_integral`).

For a batch of B examples, the noise part of E[g̃²] (N − g²) is scaled by c_B = 1/B (with
replacement) or (n − B)/(B(n − 1)) (random reshuffling), while GD's own g² stays.
For Gaussian rows the decoupling misses a per-coordinate factor (Isserlis):
E[(xᵀδ)²x_j²] = ‖δ‖² + 2δ_j² for r = xᵀδ, so Pesme's isotropic form under-counts the gain on the
coordinates where the error β − β* lives (the support).

**The loss integral before the run (derived here).** On gradient flow, ∇ψ_α(β_t) = −∫₀ᵗ g
(mirror flow, docs/conventions.md §7), so for an interpolator β̂ the Bregman divergence obeys
d/dt D_ψ(β̂, β_t) = ⟨g, β̂ − β_t⟩ = −2L(β_t). With β̂ = β_∞ = argmin ψ_α and β_0 = 0:

    ∫₀^∞ L(β_t) dt = ½ D_ψα(β_∞, 0) = ½ ψ_α(argmin_{Xβ=y} ψ_α)          (`flow_loss_integral`).

To first order in η SGD follows the flow, so α_∞ ≈ α ⊙ exp(−(η/2) diag(K) ψ_α(β_α)) is predicted
without running SGD, and `flow_integrals` gives the per-coordinate integrals ∫g_j², ∫N_j
along the flow (GD's gain Gain_j ≈ η∫g_j² dt, Even et al.).

**Label noise (Pillaud-Vivien, Reygner & Flammarion, COLT 2022, arXiv:2206.09841).** Full-batch
GD with fresh labels y + ξ, ξ ~ N(0, σ²I), on the quadratic parametrization implicitly solves a
lasso whose weight grows like ηδ² (the paper's δ is the noise level σ here; the statement is
recalled, the constant derived in our conventions): with p = u + v, m = u − v each step is
p ← p(1 − ηg̃), m ← m(1 + ηg̃), g̃ = g − Xᵀξ/n, and E ln(1 ∓ ηg̃) = ∓ηg − (η²/2)(g² + σ²K_jj/n) + O(η⁴σ⁴),
which is weight decay of strength (per unit time)

    λ_j = η σ² K_jj / (2n)                                            (`label_noise_lambda`).

Weight decay λ on P-E ends at the lasso argmin L(β) + Σ λ_j|β_j| (docs/conventions.md §7). The
iterate keeps fluctuating (ln p receives noise of variance 2λ_j per unit time), but a stationary
ln p has zero mean drift, so E[g_j] = −λ_j sign(β_j) on the support and, g being affine, the
time-averaged iterate satisfies the lasso's optimality conditions: it is the weighted lasso, up to
O(η) terms (the fluctuation of g in E g̃²).
"""

import diffrax
import jax
import jax.numpy as jnp

from .. import _validate
from .interpolators import min_potential_interpolant
from .potentials import hyperbolic_entropy


def loss_integral(loss, dt):
    """∫L dt by the trapezoid rule over saved losses ``loss[..., k]`` spaced by ``dt`` in time."""
    loss = jnp.asarray(loss)
    return dt * (jnp.sum(loss, axis=-1) - 0.5 * (loss[..., 0] + loss[..., -1]))


def noise_density(X, y, beta):
    """N_j(β) = (1/n) Σ_i r_i² X_ij², r = Xβ − y: E[g̃_j²] of a one-example batch (module doc).
    ``beta`` may carry leading axes."""
    r = beta @ X.T - y
    return (r**2) @ (X**2) / X.shape[0]


def batch_noise_scale(batch_size: int, n: int, replacement: bool):
    """c_B: the variance of a B-example minibatch gradient over that of one example, 1/B with
    replacement, (n − B)/(B(n − 1)) without (random reshuffling within an epoch)."""
    if replacement:
        return 1.0 / batch_size
    return (n - batch_size) / (batch_size * (n - 1)) if n > 1 else 0.0


def sgd_gain_noise(eta, noise_integral, grad2_integral, batch_size=1, n=None, replacement=True):
    """Gain_j ≈ η[∫g_j² + c_B(∫N_j − ∫g_j²)] (module doc): SGD's per-coordinate gain to first
    order in η from the integrals of N_j and g_j² along the run (or along the flow)."""
    c = 1.0 if batch_size == 1 else batch_noise_scale(batch_size, n, replacement)
    return eta * (grad2_integral + c * (noise_integral - grad2_integral))


def sgd_gain_loss_integral(eta, K_diag, loss_int):
    """Gain_j = 2η K_jj ∫L dt: Pesme et al. arXiv:2106.09524 Thm. 1 in the conventions of
    docs/conventions.md §1 (batch 1; module doc)."""
    return 2.0 * eta * jnp.asarray(K_diag) * jnp.asarray(loss_int)[..., None]


def alpha_inf(alpha, gain):
    """α_∞ = α ⊙ exp(−Gain/2)."""
    return alpha * jnp.exp(-0.5 * jnp.asarray(gain))


def gd_gain_flow(eta, grad2_integral):
    """Gain_j ≈ η ∫ g_j² dt: GD's gain to first order in η (Even et al. arXiv:2302.08982,
    α_∞² = α² Π_k (1 − η²g_k²) with the GD path replaced by the flow)."""
    return eta * grad2_integral


def flow_loss_integral(X, y, alpha):
    """∫₀^∞ L(β_t) dt = ½ ψ_α(argmin_{Xβ=y} ψ_α) for gradient flow on P-E from scale α
    (module doc; derived from the mirror-flow form, checked by `flow_integrals`)."""
    beta = min_potential_interpolant(X, y, alpha)
    return 0.5 * hyperbolic_entropy(beta, jnp.broadcast_to(jnp.asarray(alpha, dtype=float), beta.shape))


def flow_integrals(X, y, alpha, t_max=2e4, rtol=1e-10, atol=1e-14):
    """Gradient flow on P-E from scale α, β = α² sinh(2S), Ṡ = −g(β) (docs/conventions.md §7),
    integrated by diffrax (Tsit5) to ``t_max`` together with the integrals used by the gains.

    Returns a dict: ``loss`` ∫L dt, ``grad2`` ∫g_j² dt, ``noise`` ∫N_j dt, ``beta`` β(t_max),
    ``final_loss`` L(β(t_max)) (the integrals' tails are ≲ final_loss × the slowest time scale).
    """
    X, y = _validate.data(X, y)
    X, y = jnp.asarray(X, dtype=float), jnp.asarray(y, dtype=float)
    n, d = X.shape
    a2 = jnp.broadcast_to(jnp.asarray(alpha, dtype=float) ** 2, (d,))

    def field(t, state, args):
        beta = a2 * jnp.sinh(2.0 * state["S"])
        r = X @ beta - y
        g = X.T @ r / n
        return {"S": -g, "loss": 0.5 * jnp.mean(r**2), "grad2": g**2, "noise": (r**2) @ (X**2) / n}

    zero = {"S": jnp.zeros(d), "loss": jnp.zeros(()), "grad2": jnp.zeros(d), "noise": jnp.zeros(d)}
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field), diffrax.Tsit5(), t0=0.0, t1=t_max, dt0=1e-3, y0=zero,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol), saveat=diffrax.SaveAt(t1=True),
        max_steps=2**20,
    )
    end = jax.tree.map(lambda a: a[-1], sol.ys)
    beta = a2 * jnp.sinh(2.0 * end["S"])
    return {"loss": end["loss"], "grad2": end["grad2"], "noise": end["noise"], "beta": beta,
            "final_loss": 0.5 * jnp.mean((X @ beta - y) ** 2)}


def label_noise_lambda(eta, sigma, X):
    """λ_j = η σ² K_jj/(2n): the per-coordinate lasso weight that label noise N(0, σ²) on every
    label of full-batch GD with step η induces on P-E (module doc; Pillaud-Vivien et al.
    arXiv:2206.09841 give λ ∝ ηδ²)."""
    X = jnp.asarray(X, dtype=float)
    n = X.shape[0]
    K_diag = jnp.sum(X**2, axis=0) / n
    return eta * sigma**2 * K_diag / (2.0 * n)
