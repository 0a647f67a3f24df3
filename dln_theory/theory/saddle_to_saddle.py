"""The α → 0 limit of gradient flow on a 2-layer DLN: saddle-to-saddle dynamics.

Pesme & Flammarion, *Saddle-to-Saddle Dynamics in Diagonal Linear Networks*, NeurIPS 2023
(arXiv:2304.00488), Algorithm 1 and Theorem 2. Parametrization P-E (docs/conventions.md §1):
β = u ⊙ v, u(0) = √2·α, v(0) = 0, for which gradient flow is exactly

    β(t) = α² sinh(2 S(t)),   S(t) = −∫₀ᵗ ∇L(β(τ)) dτ.

In accelerated time t̃ = t / ln(1/α) and with s̃ = S / ln(1/α), coordinate i can leave zero only
once |s̃_i| = 1. As α → 0 the flow jumps between saddles β_0 = 0, β_1, …, β_K at times
t̃_1 < … < t̃_K computed by the recursion below, and β_K is the min-ℓ1 interpolant (n < d) or the
least-squares solution (n ≥ d). P-W with w±(0) = α_W run for time t equals P-E run for time 2t at
α_E = √2·α_W (docs/conventions.md §1, §7).

Recursion (the paper's Algorithm 1), with s_0 = 0, β_0 = 0, t̃_0 = 0:
    g = ∇L(β_k); stop when g = 0;
    τ = the first time at which a coordinate of s_k − τ g reaches ±1;  t̃_{k+1} = t̃_k + τ;
    s_{k+1} = s_k − τ g;
    β_{k+1} = argmin L(β) subject to s_{k+1,i} β_i ≥ 0 where |s_{k+1,i}| = 1, β_i = 0 elsewhere.
A coordinate at ±1 whose s moves back inside (β_i = 0, s_i g_i > 0) leaves the active set: a
deactivation, which the recursion handles without a special case.
"""

from typing import NamedTuple

import numpy as np
from scipy.optimize import nnls

from .. import _validate

#: |s̃_i| within this of 1 counts as saturated (rounding of s − τg, not a modelling choice).
_AT_BOUND = 1e-12
#: ∇L is zero when every |g_i| ≤ this times max_i |∇L(0)_i| (NNLS solves to ~1e-15 relative).
_ZERO_GRADIENT = 1e-11


class SaddleToSaddle(NamedTuple):
    """The limit process of `saddle_to_saddle`.

    Attributes:
        times: (K,) jump times t̃_1 < … < t̃_K in accelerated time t / ln(1/α) (P-E α).
        betas: (K + 1, d) saddles β_0 = 0, β_1, …, β_K; β_k holds on [t̃_k, t̃_{k+1}).
        s: (K + 1, d) the dual variable s̃ at each jump (s̃ = −∫∇L dt̃; |s̃_i| ≤ 1).
        losses: (K + 1,) training loss L(β_k) on each plateau.
    """

    times: np.ndarray
    betas: np.ndarray
    s: np.ndarray
    losses: np.ndarray

    def beta_at(self, t_tilde) -> np.ndarray:
        """The limit β at accelerated times ``t_tilde`` (shape (..., d)), right-continuous."""
        index = np.searchsorted(self.times, np.asarray(t_tilde, dtype=float), side="right")
        return self.betas[index]

    def loss_at(self, t_tilde) -> np.ndarray:
        """The limit training loss at accelerated times ``t_tilde``."""
        return self.losses[np.searchsorted(self.times, np.asarray(t_tilde, dtype=float), side="right")]


def _loss(X, y, beta) -> float:
    r = X @ beta - y
    return float(r @ r / (2 * len(y)))


def _saddle(X, y, s) -> np.ndarray:
    """argmin L(β) s.t. s_iβ_i ≥ 0 on A = {|s_i| = 1}, β = 0 off A: a sign-flipped NNLS."""
    active = np.flatnonzero(np.abs(s) == 1.0)
    beta = np.zeros(X.shape[1])
    if active.size:
        sign = s[active]
        coef, _ = nnls(X[:, active] * sign, y, maxiter=50 * X.shape[1])
        beta[active] = sign * coef
    return beta


def saddle_to_saddle(X, y, max_jumps: int | None = None) -> SaddleToSaddle:
    """Saddles and jump times of the α → 0 limit of gradient flow (P-E, arXiv:2304.00488 Alg. 1).

    Args:
        X: (n, d) data; y: (n,) labels. L(β) = (1/2n)‖Xβ − y‖².
        max_jumps: safety bound on the number of jumps (default 10·d); reaching it raises.

    Returns:
        `SaddleToSaddle` with the jump times in accelerated time t̃ = t/ln(1/α) and the saddles.
    """
    X, y = (np.asarray(a, dtype=float) for a in _validate.data(X, y))
    n, d = X.shape
    max_jumps = 10 * d if max_jumps is None else int(max_jumps)
    scale = np.max(np.abs(X.T @ y)) / n
    s, beta, t = np.zeros(d), np.zeros(d), 0.0
    times, betas, duals = [], [beta], [s]
    for _ in range(max_jumps):
        g = X.T @ (X @ beta - y) / n
        moving = np.abs(g) > _ZERO_GRADIENT * scale
        if not moving.any():
            break
        target = -np.sign(g[moving])  # s_i moves toward −sign(g_i)·1
        tau_i = (target - s[moving]) / (-g[moving])
        hit = np.flatnonzero(moving)[np.argmin(tau_i)]
        tau = float(np.min(tau_i))
        s = np.clip(s - tau * np.where(moving, g, 0.0), -1.0, 1.0)
        s[hit] = -np.sign(g[hit])
        at_bound = np.abs(np.abs(s) - 1.0) <= _AT_BOUND  # exactly ±1, not 1 − 1e-16
        s[at_bound] = np.sign(s[at_bound])
        t += tau
        beta = _saddle(X, y, s)
        times.append(t)
        betas.append(beta)
        duals.append(s.copy())
    else:
        raise RuntimeError(f"saddle_to_saddle: no fixed point after max_jumps={max_jumps} jumps")
    return SaddleToSaddle(
        times=np.array(times),
        betas=np.array(betas),
        s=np.array(duals),
        losses=np.array([_loss(X, y, b) for b in betas]),
    )
