"""Gradient flow and GD on a P-E DLN at vanishing initialization, in accelerated time, in float64.

At scale α the interesting times are of order ln(1/α) and β is of order α² until a coordinate
activates, so plain float64 simulation stops near α ≈ 1e-150 and is slow long before. The exact
solution of gradient flow in P-E (docs/conventions.md §7; Pesme & Flammarion, arXiv:2304.00488),

    β(t) = α² sinh(2S(t)),   Ṡ = −∇L(β),

written with ℓ = ln(1/α), t̃ = t/ℓ and s̃ = S/ℓ, is

    ds̃/dt̃ = −∇L(β(s̃)),   β_i(s̃) = ½(exp(2ℓ(s̃_i − 1)) − exp(−2ℓ(s̃_i + 1))),

an ODE whose state stays of order one for every ℓ: ℓ = 1e4 (α = e^{−10⁴}) is as cheap as ℓ = 7.
GD is exact in the log-domain too: with p = u + v and m = u − v one GD step multiplies p by
(1 − ηg) and m by (1 + ηg), and β = (p² − m²)/4; the state (ln p, ln m) never underflows.

P-W with w±(0) = α_W run for time t equals P-E run for time 2t at α_E = √2·α_W
(docs/conventions.md §1); use `pe_scale_and_time` to convert.
"""

from functools import partial
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from . import _validate


#: solver step bound: ≈ 3·ℓ·t̃·‖K‖ steps are taken, so ℓ·t̃ up to ~10⁶; one value, one compilation.
_MAX_STEPS = 1 << 24


class AcceleratedTrajectory(NamedTuple):
    """Saves of an accelerated-time run (leading axes: those of ``log_inv_alpha``).

    Attributes:
        t_tilde: (saves,) accelerated times t/ln(1/α).
        beta: (..., saves, d) β at each save.
        loss: (..., saves) training loss at each save.
        beta_mean: (..., saves, d) the time average (1/t̃)∫₀^t̃ β dt̃ (β(0) at t̃ = 0), the iterate
            Berthier (arXiv:2509.18766) compares with the lasso path; NaN-free only for the flow.
    """

    t_tilde: np.ndarray
    beta: np.ndarray
    loss: np.ndarray
    beta_mean: np.ndarray | None = None


def pe_scale_and_time(alpha_w, t):
    """P-W (α_W, time t) → P-E (α_E = √2·α_W, time 2t): the same β (docs/conventions.md §1)."""
    return np.sqrt(2.0) * np.asarray(alpha_w), 2.0 * np.asarray(t)


def _beta(s, ell):
    """β(s̃) = ½(e^{2ℓ(s̃ − 1)} − e^{−2ℓ(s̃ + 1)}): α² sinh(2ℓs̃) without forming α."""
    return 0.5 * (jnp.exp(2 * ell * (s - 1)) - jnp.exp(-2 * ell * (s + 1)))


def _loss(X, y, beta):
    r = X @ beta - y
    return r @ r / (2 * y.shape[0])


def _check(X, y, log_inv_alpha, t_tilde):
    X, y = (np.asarray(a, dtype=float) for a in _validate.data(X, y))
    ell = np.asarray(log_inv_alpha, dtype=float)
    if not np.all(ell > 0) or not np.all(np.isfinite(ell)):
        raise ValueError(f"log_inv_alpha={ell}: ln(1/α) must be finite and > 0 (α < 1)")
    t = np.asarray(t_tilde, dtype=float)
    if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) <= 0) or t[0] < 0:
        raise ValueError(f"t_tilde={t}: a non-empty increasing 1-D array of times ≥ 0 is required")
    return X, y, ell, t


def _rms_of_s(scaled_error):
    return jnp.sqrt(jnp.mean(scaled_error[0] ** 2))


@partial(jax.jit, static_argnames="max_steps")
def _flow(X, y, ell, t, rtol, atol, max_steps):
    """β and loss at times ``t`` for every ℓ in ``ell`` (any shape), one compiled solve."""

    def one(ell):
        def field(_, state, args):
            beta = _beta(state[0], ell)
            return -X.T @ (X @ beta - y) / y.shape[0], beta  # (ds̃/dt̃, d∫β/dt̃)

        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(field),
            diffrax.Tsit5(),
            t0=0.0,
            t1=t[-1],
            dt0=None,
            y0=(jnp.zeros(X.shape[1]), jnp.zeros(X.shape[1])),
            saveat=diffrax.SaveAt(ts=t),
            # steps are controlled on s̃ alone: ∫β is a by-product, smoother than β, and controlling
            # it too (absolute tolerance near ∫β = 0) multiplies the step count
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol, norm=_rms_of_s),
            max_steps=max_steps,
            throw=False,
        )
        ok = sol.result == diffrax.RESULTS.successful
        s, integral = sol.ys
        beta = jnp.where(ok, jax.vmap(lambda s: _beta(s, ell))(s), jnp.nan)
        mean = jnp.where(t[:, None] > 0, integral / jnp.where(t > 0, t, 1.0)[:, None], beta)
        return beta, jax.vmap(lambda b: _loss(X, y, b))(beta), jnp.where(ok, mean, jnp.nan)

    return jnp.vectorize(one, signature="()->(t,d),(t),(t,d)")(ell)


def accelerated_flow(X, y, log_inv_alpha, t_tilde, rtol: float = 1e-10, atol: float = 1e-12):
    """Gradient flow on P-E at α = exp(−log_inv_alpha), saved at accelerated times ``t_tilde``.

    Args:
        X, y: data (n, d), (n,); L(β) = (1/2n)‖Xβ − y‖².
        log_inv_alpha: ℓ = ln(1/α) of the P-E scale (u(0) = √2·α), scalar or array (vmapped).
        t_tilde: increasing accelerated times t/ℓ at which to save (t̃ = 0 allowed).
        rtol, atol: tolerances of the adaptive solver (Tsit5) on s̃, which is of order one.

    Returns:
        `AcceleratedTrajectory`; a run whose solver fails is NaN. The ODE is stiff on plateaus
        (its Jacobian scales like ℓ·|β|·‖K‖), so the step count grows like ℓ·t̃ (≈ 10⁵ steps,
        under a second, at ℓ = 1000 and t̃ = 30). Implicit solvers (Kvaerno5 with a chord or
        Newton root finder) fail on the exponential nonlinearity and are not used.
    """
    X, y, ell, t = _check(X, y, log_inv_alpha, t_tilde)
    beta, loss, mean = _flow(jnp.asarray(X), jnp.asarray(y), jnp.asarray(ell), jnp.asarray(t), rtol, atol, _MAX_STEPS)
    return AcceleratedTrajectory(t, np.asarray(beta), np.asarray(loss), np.asarray(mean))


def accelerated_gd(X, y, log_inv_alpha, eta: float, t_tilde_end: float, n_saves: int = 200):
    """GD with step η on P-E at α = exp(−log_inv_alpha), exact in the log-domain state (ln p, ln m).

    p = u + v, m = u − v start at √2·α; a step multiplies p by (1 − ηg) and m by (1 + ηg), which
    needs η|g_i| < 1 (otherwise a factor turns negative and the run becomes NaN from that step).
    Saves ``n_saves`` times at equal spacing up to accelerated time ``t_tilde_end``
    (t = kη, t̃ = kη/ℓ, the first save after the first block of steps); ℓ is one scalar per call.
    """
    X, y, ell, _ = _check(X, y, log_inv_alpha, [t_tilde_end])
    if ell.ndim:
        raise ValueError(f"log_inv_alpha has shape {ell.shape}: accelerated_gd takes one ℓ per call")
    if not (np.isfinite(eta) and eta > 0):
        raise ValueError(f"eta={eta}: the step size must be finite and > 0")
    if int(n_saves) != n_saves or n_saves < 1:
        raise ValueError(f"n_saves={n_saves}: a positive integer is required")
    per_save = max(1, int(np.ceil(t_tilde_end * ell / eta / n_saves)))
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    log0 = 0.5 * np.log(2.0) - float(ell)

    def beta_of(a, b):
        return 0.25 * (jnp.exp(2 * a) - jnp.exp(2 * b))

    def step(state, _):
        a, b = state
        g = Xj.T @ (Xj @ beta_of(a, b) - yj) / yj.shape[0]
        return (a + jnp.log1p(-eta * g), b + jnp.log1p(eta * g)), None

    def block(state, _):
        state = jax.lax.scan(step, state, None, length=per_save)[0]
        beta = beta_of(*state)
        return state, (beta, _loss(Xj, yj, beta))

    @jax.jit
    def run():
        start = (jnp.full(X.shape[1], log0), jnp.full(X.shape[1], log0))
        return jax.lax.scan(block, start, None, length=int(n_saves))[1]

    beta, loss = run()
    t = np.arange(1, int(n_saves) + 1) * per_save * eta / float(ell)
    return AcceleratedTrajectory(t, np.asarray(beta), np.asarray(loss))


def crossing_times(t_tilde, loss, levels) -> np.ndarray:
    """First time the (decreasing) ``loss`` goes below each of ``levels``, linearly interpolated.

    With ``levels`` the midpoints between consecutive plateau losses of the limit process, these
    are the simulated jump times compared with `saddle_to_saddle`'s t̃_k. NaN where never crossed.
    """
    t, loss = np.asarray(t_tilde), np.asarray(loss)
    out = np.full(len(levels), np.nan)
    for k, level in enumerate(levels):
        below = np.flatnonzero(loss <= level)
        if below.size and below[0] > 0:
            i = below[0]
            w = (loss[i - 1] - level) / (loss[i - 1] - loss[i])
            out[k] = t[i - 1] + w * (t[i] - t[i - 1])
    return out


def jump_times(X, y, log_inv_alpha: float, plateau_losses, t_tilde_end: float, resolution: float = 1e-4):
    """Simulated jump times at one ℓ = ln(1/α): loss crossings of the midpoints between plateaus.

    Two passes of `accelerated_flow`: a uniform grid of spacing ≈ t_tilde_end/2000 locates each
    crossing, then a window of ±2 coarse spacings around it is resolved to ``resolution``.
    ``plateau_losses`` are the limit process's L(β_k) (`SaddleToSaddle.losses`). The grids do not
    depend on ℓ, so calls over several ℓ share one compilation.
    """
    levels = 0.5 * (np.asarray(plateau_losses)[:-1] + np.asarray(plateau_losses)[1:])
    coarse = np.linspace(0.0, t_tilde_end, 2001)
    first = crossing_times(coarse, accelerated_flow(X, y, log_inv_alpha, coarse).loss, levels)
    if np.any(np.isnan(first)):
        return first
    spacing = coarse[1]
    offsets = np.linspace(-2 * spacing, 2 * spacing, int(np.ceil(4 * spacing / resolution)) + 1)
    fine = np.sort(np.clip(first[:, None] + offsets, 0.0, None).ravel())
    return crossing_times(fine, accelerated_flow(X, y, log_inv_alpha, fine).loss, levels)
