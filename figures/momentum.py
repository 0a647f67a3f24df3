"""Momentum: the test error is set by λ = γ/(1 − β)², not by γ and β separately.

Papazov, Pesme & Flammarion (arXiv:2403.05293): heavy ball with step γ and momentum β follows the
momentum gradient flow λẅ + ẇ + ∇F = 0 (`dln_theory.theory.momentum`) and ends, to leading order,
at argmin ψ_{α_∞} − ½⟨z_∞, ·⟩ with α_∞ ≤ α shrinking as λ grows. P-E, α = 0.3, sparse regression.

(a) test error ‖β − β*‖² of heavy ball at β = 0.9 against λ (dots), the MGF prediction (line) and
gradient flow's argmin ψ_α (λ → 0, dashed);
(b) at fixed λ, against the momentum β (γ = λ(1 − β)²): the prediction is one number.
Check: (a) every simulated test error within ``rel_tolerance`` of its prediction (the MGD–MGF
gap is O(√γ) = O(λ(1 − β)), measured ≤ 0.3 % here) and the predicted rise over λ at least 3× that
tolerance (momentum visibly matters); (b) the gap |TE(β) − TE_pred| closes at order 1 in 1 − β
(± ``order_tolerance``).
"""

from dataclasses import dataclass

import numpy as np

from dln_theory import PE, HeavyBall, SparseRegression, plotting, simulate
from dln_theory.theory.interpolators import min_potential_interpolant
from dln_theory.theory.momentum import momentum_endpoint
from dln_theory.verify import loglog_slope

from ._common import fmt, memo


@dataclass(frozen=True)
class Config:
    n: int = 15
    d: int = 30
    k: int = 3
    alpha: float = 0.3
    lams: tuple = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)  # panel (a), at momentum `beta_a`
    beta_a: float = 0.9
    lam_b: float = 0.3  # panel (b)
    betas: tuple = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
    tau_end: float = 600.0  # MGF time of every run (loss < 1e-13 for λ ≤ 0.5)
    rel_tolerance: float = 0.01
    order_tolerance: float = 0.25


FULL = Config()
QUICK = Config(lams=(0.1, 0.3, 0.5), betas=(0.5, 0.8, 0.95))


def _problem(config):
    return SparseRegression(n=config.n, d=config.d, k=config.k).sample(0)


def _heavy_ball(config, problem, lams, betas):
    """Test error at the end of heavy ball for each (λ, β), all runs n_steps long (one compilation)."""
    lams, betas = np.broadcast_arrays(np.asarray(lams, float), np.asarray(betas, float))
    steps = int(np.ceil(config.tau_end / np.min(lams * (1 - betas)) / 100) * 100)  # τ-step h = λ(1 − β)
    runs = [simulate(HeavyBall(lam * (1 - b) ** 2, momentum=b), PE(), problem, config.alpha, steps, steps // 100)
            for lam, b in zip(lams, betas)]
    return np.array([float(problem.test_error(r.beta[-1])) for r in runs])


def _predicted(config, problem, lams):
    X, y = np.asarray(problem.X), np.asarray(problem.y)
    return np.array([float(problem.test_error(momentum_endpoint(X, y, config.alpha, lam, config.tau_end)[0]))
                     for lam in lams])


def _compute(config):
    problem = _problem(config)
    X, y = np.asarray(problem.X), np.asarray(problem.y)
    gf = float(problem.test_error(min_potential_interpolant(X, y, config.alpha, PE())))
    return {"sim_lambda": _heavy_ball(config, problem, config.lams, config.beta_a),
            "pred_lambda": _predicted(config, problem, config.lams),
            "sim_beta": _heavy_ball(config, problem, config.lam_b, config.betas),
            "pred_beta": float(_predicted(config, problem, [config.lam_b])[0]),
            "gradient_flow": gf}


def compute(config: Config, cache_dir=None) -> dict:
    return {"config": config, **memo("momentum", config, lambda: _compute(config), cache_dir)}


def plot(results):
    config = results["config"]
    fig, (ax_l, ax_b) = plotting.figure(ncols=2, aspect=0.8)
    ax_l.plot(config.lams, results["pred_lambda"], color="k", lw=1.2,
              label=r"MGF: $\psi_{\alpha_\infty}$, tilt $z_\infty$")
    ax_l.plot(config.lams, results["sim_lambda"], "o", color=plotting.color(0),
              label=rf"heavy ball, $\beta={config.beta_a}$")
    ax_l.axhline(results["gradient_flow"], color="k", ls="--", lw=0.9, label=r"gradient flow ($\lambda\to0$)")
    ax_l.set_xlabel(r"$\lambda = \gamma/(1-\beta)^2$")
    ax_l.set_ylabel(r"test error $\|\beta_\infty-\beta^*\|^2$")
    ax_l.legend(loc="upper left")
    ax_b.axhline(results["pred_beta"], color="k", lw=1.2, label=rf"MGF prediction, $\lambda={config.lam_b}$")
    ax_b.plot(config.betas, results["sim_beta"], "s", color=plotting.color(1),
              label=r"heavy ball, $\gamma=\lambda(1-\beta)^2$")
    ax_b.axhline(results["gradient_flow"], color="k", ls="--", lw=0.9)
    ax_b.set_xlabel(r"momentum $\beta$")
    ax_b.set_ylabel(r"test error")
    ax_b.legend(loc="center right")
    plotting.panel_label(ax_l, "a")
    plotting.panel_label(ax_b, "b")
    ax_b.set_title(rf"P-E, $\alpha={config.alpha}$, $n={config.n}$, $d={config.d}$", loc="right")
    return fig


def check(results):
    config = results["config"]
    pred, sim = np.asarray(results["pred_lambda"]), np.asarray(results["sim_lambda"])
    rel = float(np.max(np.abs(sim - pred) / pred))
    rise = float((pred[-1] - pred[0]) / pred[0])
    gaps = np.abs(np.asarray(results["sim_beta"]) - results["pred_beta"])
    order = loglog_slope(1 - np.asarray(config.betas), gaps)
    passed = bool(rel <= config.rel_tolerance and rise >= 3 * config.rel_tolerance
                  and abs(order - 1) <= config.order_tolerance)
    message = (f"(a) heavy ball vs MGF prediction: max relative gap {fmt(rel)} (tol {fmt(config.rel_tolerance)}), "
               f"predicted rise over λ {fmt(rise)}; (b) gap order in 1−β {order:.3f} "
               f"(theory 1 ± {config.order_tolerance})")
    metrics = {"max_relative_gap_lambda": rel, "predicted_relative_rise": rise, "gap_order_beta": order,
               "gaps_beta": [float(g) for g in gaps], "rel_tolerance": config.rel_tolerance,
               "order_tolerance": config.order_tolerance, "gradient_flow_test_error": results["gradient_flow"]}
    return passed, message, metrics


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["momentum"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
