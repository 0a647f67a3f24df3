"""Margins: a depth-2 DLN's direction between the ℓ2 and ℓ1 max margins, vs α and the loss.

The direction of β on separable data (exponential loss), as a function of the initialization
scale α and of the training loss ε.

P-E, `SparseClassification(10, 20, 3)`, normalized GD (θ ← θ − η∇log L, the gradient-flow path in
log-time), losses read in log-space down to log(1/ε) ≈ 1e130. Gaps are between unit ℓ2
directions, ‖β/‖β‖ − β̂/‖β̂‖‖.

(a) at L ≈ 1e-100, the gap to the ℓ1 and to the ℓ2 max-margin solutions against α (solid), and
the same gaps of the Q_μ-margin direction with μ = α_W²/log(1/ε) (dashed; Moroshko et al.
arXiv:2007.06738, `dln_theory.theory.margins`);
(b) the gaps against log(1/ε) for three α: the kernel-side run follows Q_μ, the rich-side runs
reach ℓ1 only at log(1/ε) ≈ 1e100 and beyond.
Check: on the kernel side (α ≥ 3) the run is within `kernel_tolerance` of the Q_μ direction, and
at α = 0.1 the last gap to ℓ1 is below `l1_tolerance`; the rich-side gaps to Q_μ are recorded
(the reading that `margin_transition_alpha_rich_side` registers as refuted).
"""

from dataclasses import dataclass

import numpy as np

from dln_theory import plotting
from dln_theory.dynamics import NormalizedGD
from dln_theory.models import PE
from dln_theory.problems import SparseClassification
from dln_theory.simulate import simulate
from dln_theory.sweep import sweep
from dln_theory.theory import margins

from ._common import fmt, memo


@dataclass(frozen=True)
class Config:
    n: int = 10
    d: int = 20
    k: int = 3
    seed: int = 0
    alphas: tuple = tuple(np.round(np.geomspace(0.1, 30.0, 10), 4))  # panel (a), α_E
    level: float = 1e-100  # training loss of panel (a)
    eta: float = 1e-4  # normalized GD step of panel (a)
    loss_alphas: tuple = (0.1, 1.0, 30.0)  # panel (b)
    loss_taus: tuple = (300.0, 300.0, 2.0)  # log-time τ = kη of each run of (b), η = τ/loss_steps
    loss_steps: int = 300_000
    saves: int = 150
    q_every: int = 5  # panel (b): the Q_μ direction at every q_every-th save
    kernel_tolerance: float = 0.05
    l1_tolerance: float = 0.01


FULL = Config()
QUICK = Config(alphas=(0.1, 3.0, 30.0), eta=2e-4, loss_steps=75_000, saves=20, q_every=4)


def _unit_references(X, y):
    return margins.unit(margins.max_margin(X, y, 1)), margins.unit(margins.max_margin(X, y, 2))


def _gaps(X, y, beta, alpha, log_loss, with_q=True):
    """Gaps of unit(β) to ℓ1 and ℓ2, then (``with_q``, else NaN) of the Q_μ direction to ℓ1, ℓ2
    and unit(β)."""
    u1, u2 = _unit_references(X, y)
    ub = margins.unit(beta)
    if not with_q:
        return [np.linalg.norm(ub - u1), np.linalg.norm(ub - u2), np.nan, np.nan, np.nan]
    uq = margins.unit(margins.predicted_direction(X, y, PE(), alpha, log_loss))
    return [np.linalg.norm(ub - u1), np.linalg.norm(ub - u2), np.linalg.norm(uq - u1), np.linalg.norm(uq - u2),
            np.linalg.norm(ub - uq)]


def _compute(config):
    problem = SparseClassification(config.n, config.d, config.k).sample(config.seed)
    X, y = np.asarray(problem.X), np.asarray(problem.y)
    every = 250
    result = sweep(NormalizedGD(config.eta), PE(), problem, {"alpha": np.array(config.alphas)}, n_steps=300_000,
                   save_every=every, loss_tol=config.level, divergence_bound=1e300, progress=False)
    last = np.asarray(result.trajectory.converged_at) // every
    beta = np.asarray(result.trajectory.beta)[np.arange(len(config.alphas)), last]
    level = np.asarray(problem.log_train_loss(beta))
    by_alpha = np.array([_gaps(X, y, b, a, ll) for a, ll, b in zip(config.alphas, level, beta)])
    curves = []
    for alpha, tau in zip(config.loss_alphas, config.loss_taus):  # one compilation for the three
        traj = simulate(NormalizedGD(tau / config.loss_steps), PE(), problem, alpha=alpha, n_steps=config.loss_steps,
                        save_every=config.loss_steps // config.saves, divergence_bound=1e300)
        betas = np.asarray(traj.beta)[1:]  # row 0 is β = 0
        log_loss = np.asarray(problem.log_train_loss(betas))
        keep = np.flatnonzero(log_loss < -1.0)
        q_rows = set(keep[:: config.q_every].tolist()) | {int(keep[-1])}  # Q_μ solves are the cost
        curves.append({"log_loss": log_loss[keep],
                       "gaps": np.array([_gaps(X, y, betas[i], alpha, log_loss[i], i in q_rows) for i in keep])})
    return {"level": level, "by_alpha": by_alpha, "curves": curves}


def compute(config: Config, cache_dir=None) -> dict:
    return {"config": config, **memo("margins", config, lambda: _compute(config), cache_dir)}


def plot(results):
    config = results["config"]
    fig, (ax_a, ax_l) = plotting.figure(ncols=2, aspect=0.8)
    g = results["by_alpha"]
    ax_a.plot(config.alphas, g[:, 0], color=plotting.color(0), marker="o", ms=3, label=r"run, gap to $\ell_1$")
    ax_a.plot(config.alphas, g[:, 1], color=plotting.color(1), marker="o", ms=3, label=r"run, gap to $\ell_2$")
    ax_a.plot(config.alphas, g[:, 2], color=plotting.color(0), ls="--", lw=0.9, label=r"$Q_\mu$, gap to $\ell_1$")
    ax_a.plot(config.alphas, g[:, 3], color=plotting.color(1), ls="--", lw=0.9, label=r"$Q_\mu$, gap to $\ell_2$")
    ax_a.set_xscale("log")
    ax_a.set_xlabel(r"initialization scale $\alpha$ (P-E)")
    ax_a.set_ylabel("direction gap")
    ax_a.set_title(rf"$L \approx 10^{{{np.log10(config.level):.0f}}}$", loc="right")
    ax_a.legend(loc="center left")
    for i, (alpha, curve) in enumerate(zip(config.loss_alphas, results["curves"])):
        x = np.log10(-curve["log_loss"])
        c = plotting.color(i + 2)
        ax_l.plot(x, curve["gaps"][:, 0], color=c, label=rf"$\alpha={alpha:g}$, gap to $\ell_1$")
        ax_l.plot(x, curve["gaps"][:, 1], color=c, ls=":", lw=1.0)
        q = np.isfinite(curve["gaps"][:, 2])
        ax_l.plot(x[q], curve["gaps"][q, 2], color=c, ls="--", lw=0.9)
    ax_l.plot([], [], color="k", ls=":", lw=1.0, label=r"gap to $\ell_2$")
    ax_l.plot([], [], color="k", ls="--", lw=0.9, label=r"$Q_\mu$, gap to $\ell_1$")
    ax_l.set_xscale("log")
    ax_l.set_xlabel(r"$\log_{10}\log(1/\varepsilon)$, training loss $\varepsilon$")
    ax_l.set_ylabel("direction gap")
    ax_l.legend(loc="center left")
    plotting.panel_label(ax_a, "a")
    plotting.panel_label(ax_l, "b")
    return fig


def check(results):
    config = results["config"]
    alphas = np.array(config.alphas)
    to_q = results["by_alpha"][:, 4]
    kernel = float(np.max(to_q[alphas >= 3.0]))
    rich = float(np.max(to_q[alphas <= 1.0]))
    l1_final = float(results["curves"][0]["gaps"][-1, 0])
    l1_at = float(np.log10(-results["curves"][0]["log_loss"][-1]))
    passed = bool(kernel <= config.kernel_tolerance and l1_final <= config.l1_tolerance)
    message = (f"kernel side (α ≥ 3): gap to Q_μ {fmt(kernel)} (tol {fmt(config.kernel_tolerance)}); "
               f"α = {config.loss_alphas[0]:g}: gap to ℓ1 {fmt(l1_final)} at log10 log(1/ε) = {l1_at:.0f} "
               f"(tol {fmt(config.l1_tolerance)}); rich side (α ≤ 1) gap to Q_μ {fmt(rich)} (recorded)")
    metrics = {"alphas": [float(a) for a in alphas], "gap_to_q_mu": [float(v) for v in to_q],
               "gap_to_l1": [float(v) for v in results["by_alpha"][:, 0]],
               "gap_to_l2": [float(v) for v in results["by_alpha"][:, 1]],
               "log10_loss_reached": [float(v) for v in results["level"] / np.log(10)],
               "kernel_side_gap_to_q_mu": kernel, "rich_side_gap_to_q_mu": rich,
               "final_gap_to_l1": l1_final, "final_log10_log_inverse_loss": l1_at,
               "kernel_tolerance": config.kernel_tolerance, "l1_tolerance": config.l1_tolerance}
    return passed, message, metrics


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["margins"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
