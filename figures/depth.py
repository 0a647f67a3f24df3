"""Kernel vs rich transition for deeper diagonal networks, P-W depth D = 2, 3, 4.

Woodworth et al. (arXiv:2002.09277), P-W parametrization β = w₊^D − w₋^D, w±(0) = α: gradient
flow ends at argmin_{Xβ=y} Q_α (D = 2) or Q^D_α (D ≥ 3, docs/conventions.md §2). Deeper networks reach
the rich regime from larger α^D, and the transition in α is sharper.

(a) ‖β − β*‖² vs α: predictions (lines, `min_potential_interpolant(..., PW(D))` vmapped over α)
    and gradient-flow endpoints (markers, `GradientFlow` on `PW(D)` run until L < 1e-20);
    min-ℓ1 / min-ℓ2 levels in grey.
(b) the same against the initial scale of β, α^D.
"""

from dataclasses import dataclass
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

import dln_theory as dt
from dln_theory import plotting
from dln_theory.sweep import sweep
from dln_theory.theory.interpolators import min_l1_interpolant, min_l2_interpolant, min_potential_interpolant

from ._common import fmt, memo, relative_distance


@dataclass(frozen=True)
class Config:
    d: int = 100
    k: int = 5
    n: int = 30
    seed: int = 0
    depths: tuple = (2, 3, 4)
    scale_range: tuple = (-4.0, 1.5, 45)  # predictions at α^D = logspace(lo, hi, num)
    scale_sim: tuple = (-2.5, 1.0, 6)  # gradient-flow markers at α^D = logspace(lo, hi, num)
    flow_steps: int = 2000  # steps per run; runs stop once L < loss_tol
    save_every: int = 10
    max_eta: float = 20.0  # flow time per step; smaller at large α (see `_flow_eta`)
    # At large α^D the adaptive solver's own error (atol 1e-12 on θ, stiffness ∝ α^{2D−2}) keeps the
    # loss near 1e-18, so 1e-20 is out of reach there; 1e-16 means ‖Xβ − y‖ ≲ 1e-8·√n.
    loss_tol: float = 1e-16
    tolerance: float = 1e-5  # relative ‖β_GF − argmin Q‖/‖argmin Q‖


FULL = Config()
QUICK = Config(d=40, k=3, n=16, depths=(2, 3), scale_range=(-3.0, 1.0, 15), scale_sim=(-1.5, 0.5, 2),
               flow_steps=500)


def _alphas(config, depth, rng):
    return np.logspace(*rng) ** (1.0 / depth)


@lru_cache(maxsize=None)
def _predictor(depth):
    return jax.jit(jax.vmap(lambda X, y, a: min_potential_interpolant(X, y, a, dt.PW(depth)), (None, None, 0)))


def _predictions(config):
    p = dt.SparseRegression(n=config.n, d=config.d, k=config.k).sample(config.seed)
    out = {"error": {}, "beta_sim_alpha": {},
           "l1": float(p.test_error(jnp.asarray(min_l1_interpolant(p.X, p.y)))),
           "l2": float(p.test_error(jnp.asarray(min_l2_interpolant(p.X, p.y))))}
    for D in config.depths:
        a, a_sim = _alphas(config, D, config.scale_range), _alphas(config, D, config.scale_sim)
        beta = np.asarray(_predictor(D)(p.X, p.y, jnp.asarray(np.concatenate([a, a_sim]))))
        out["error"][D] = np.asarray(p.test_error(jnp.asarray(beta[: len(a)])))
        out["beta_sim_alpha"][D] = beta[len(a):]
    return out


def _flow_eta(config, problem, depth, alpha):
    """Flow time per step: ≤ 100/λ with λ ≈ D²·max(α, ½)^{2D−2}·λ_max(K) the Hessian scale at init.

    diffrax's explicit solver takes steps ≲ 3/λ, so one flow step stays far below ``max_steps``.
    """
    lam = np.linalg.eigvalsh(np.asarray(problem.X.T @ problem.X) / problem.n)[-1]
    return float(min(config.max_eta, 100.0 / (depth**2 * max(alpha, 0.5) ** (2 * depth - 2) * lam)))


def _simulate(config, depth, cache_dir):
    problem = dt.SparseRegression(n=config.n, d=config.d, k=config.k).sample(config.seed)
    rows = []
    for alpha in _alphas(config, depth, config.scale_sim):
        # one sweep per α: η (a traced leaf) differs, so the compiled function is reused
        eta = _flow_eta(config, problem, depth, alpha)
        res = sweep(dt.GradientFlow(eta), dt.PW(depth), problem, {"alpha": [alpha]}, config.flow_steps,
                    config.save_every, loss_tol=config.loss_tol, cache_dir=cache_dir)
        tr = res.trajectory
        rows.append((np.asarray(tr.beta[0, -1]), float(res.test_error[0, -1]), bool(tr.converged_at[0] >= 0)))
    beta, err, conv = zip(*rows)
    return {"beta": np.stack(beta), "error": np.array(err), "converged": np.array(conv)}


def compute(config: Config, cache_dir=None) -> dict:
    pred = memo("depth", config, lambda: _predictions(config), cache_dir)
    sims = {D: _simulate(config, D, cache_dir) for D in config.depths}
    return {"config": config, "pred": pred, "sim": sims}


def plot(results):
    config, pred, sims = results["config"], results["pred"], results["sim"]
    fig, axes = plotting.figure(ncols=2, aspect=0.8, sharey=True)
    # min-ℓ1 may recover β* exactly (error ~1e-30): then it is named in the legend, not drawn
    floor = 0.3 * min(min(float(e.min()) for e in pred["error"].values()), pred["l2"])
    exact = pred["l1"] <= floor
    for ax, power in zip(axes, (False, True)):
        for i, D in enumerate(config.depths):
            c = plotting.color(i)
            a, a_sim = _alphas(config, D, config.scale_range), _alphas(config, D, config.scale_sim)
            x, x_sim = (a**D, a_sim**D) if power else (a, a_sim)
            ax.plot(x, pred["error"][D], color=c, label=f"$D={D}$")
            ax.plot(x_sim, sims[D]["error"], ls="none", marker=plotting.marker(i), mfc="none", mew=0.9, color=c)
        if not exact:
            plotting.reference_line(ax, pred["l1"], style=":")
        plotting.reference_line(ax, pred["l2"], style="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(floor, 2 * pred["l2"])
        ax.set_xlabel(r"initial scale $\alpha^D$" if power else r"initial scale $\alpha$")
    axes[0].plot([], [], color="k", label=r"argmin $Q^D_\alpha$")
    axes[0].plot([], [], ls="none", marker="o", mfc="none", color="k", label="gradient flow")
    axes[0].plot([], [], color=plotting.REFERENCE, ls="none" if exact else ":",
                 label=r"min-$\ell_1=\beta^*$" if exact else r"min-$\ell_1$")
    axes[0].plot([], [], color=plotting.REFERENCE, ls="--", label=r"min-$\ell_2$")
    axes[0].set_ylabel(r"test error $\|\beta-\beta^*\|^2$")
    axes[0].legend(loc="lower right", ncol=2, columnspacing=0.8)
    plotting.panel_label(axes[0], "a")
    plotting.panel_label(axes[1], "b")
    axes[1].set_title(f"P-W, $n={config.n}$, $d={config.d}$, $k={config.k}$", loc="right")
    return fig


def check(results):
    config, pred, sims = results["config"], results["pred"], results["sim"]
    dist = {D: relative_distance(sims[D]["beta"], pred["beta_sim_alpha"][D]) for D in config.depths}
    worst = max(float(np.max(v)) for v in dist.values())
    converged = all(bool(np.all(s["converged"])) for s in sims.values())
    per = ", ".join(f"D={D}: {fmt(float(np.max(v)))}" for D, v in dist.items())
    msg = (f"gradient-flow endpoints vs argmin Q^D_alpha, max rel. distance {per} (tol {fmt(config.tolerance)};"
           f" {sum(len(v) for v in dist.values())} runs)")
    if not converged:
        msg += "; some runs did not reach the loss tolerance"
    metrics = {"max_rel_distance": worst, "max_rel_distance_by_depth": {str(D): float(np.max(v)) for D, v in dist.items()},
               "tolerance": config.tolerance, "runs": sum(len(v) for v in dist.values()), "converged": converged}
    return converged and worst <= config.tolerance, msg, metrics


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["depth"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
