"""Saddle-to-saddle: gradient flow at vanishing initialization against its α → 0 limit.

Pesme & Flammarion (arXiv:2304.00488, Fig. 1 setting): P-E, β = u ⊙ v, u(0) = √2·α. In accelerated
time t̃ = t/ln(1/α) the training loss is piecewise constant in the limit and β jumps between the
saddles of Algorithm 1 (`dln_theory.theory.saddle_to_saddle`); one coordinate here enters and
later leaves the active set (a deactivation). The runs use the exact log-domain flow of
`dln_theory.accelerated`, down to α = e^{−3000}.

(a) training loss vs t̃ for several α, the limit process dashed;
(b) |β_i(t̃)| at the smallest α (solid) and the limit saddles (dashed), coordinate by coordinate.
Check: the jump times converge at the rate 1/ln(1/α) (fitted order −1 ± 0.05 over ℓ = ln(1/α)
in `rate_ells`) and β at the middle of every plateau is within 1e-3 (relative) of its saddle at
the largest ℓ.
"""

from dataclasses import dataclass

import numpy as np

from dln_theory import plotting
from dln_theory.accelerated import accelerated_flow, jump_times
from dln_theory.theory.saddle_to_saddle import saddle_to_saddle
from dln_theory.verify import loglog_slope

from ._common import fmt, memo


@dataclass(frozen=True)
class Config:
    n: int = 5
    d: int = 7
    seed: int = 1  # Gaussian data with a deactivation
    ells: tuple = (5.0, 20.0, 100.0, 3000.0)  # ln(1/α) of the drawn runs
    rate_ells: tuple = (300.0, 1000.0, 3000.0, 10000.0)  # ln(1/α) of the jump-time fit
    saves: int = 1500
    slope_tolerance: float = 0.05
    plateau_tolerance: float = 1e-3


FULL = Config()
QUICK = Config(ells=(5.0, 3000.0), rate_ells=(300.0, 3000.0), saves=400)


def _data(config):
    rng = np.random.default_rng(config.seed)
    return rng.standard_normal((config.n, config.d)), rng.standard_normal(config.n)


def _compute(config):
    X, y = _data(config)
    limit = saddle_to_saddle(X, y)
    t_end = 1.25 * limit.times[-1]
    t = np.linspace(0.0, t_end, config.saves)
    runs = accelerated_flow(X, y, np.array(config.ells), t)
    jumps = np.array([jump_times(X, y, ell, limit.losses, t_end) for ell in config.rate_ells])
    edges = np.r_[0.0, limit.times, t_end]
    middles = accelerated_flow(X, y, config.ells[-1], 0.5 * (edges[:-1] + edges[1:])).beta
    return {"t": t, "loss": runs.loss, "beta": runs.beta, "jumps": jumps, "middles": middles,
            "limit": limit._asdict()}


def compute(config: Config, cache_dir=None) -> dict:
    return {"config": config, **memo("saddle_to_saddle", config, lambda: _compute(config), cache_dir)}


def plot(results):
    config, t, limit = results["config"], results["t"], results["limit"]
    fig, (ax_loss, ax_beta) = plotting.figure(ncols=2, aspect=0.8)
    for i, ell in enumerate(config.ells):
        ax_loss.plot(t, results["loss"][i], color=plotting.color(i), label=rf"$\ln(1/\alpha)={ell:g}$")
    index = np.searchsorted(limit["times"], t, side="right")
    ax_loss.plot(t, limit["losses"][index], color="k", ls="--", lw=0.9, label=r"limit $\alpha\to0$")
    ax_loss.set_yscale("log")
    ax_loss.set_ylim(max(1e-6, 0.3 * float(np.min(limit["losses"][:-1]))), 2 * float(limit["losses"][0]))
    ax_loss.set_xlabel(r"accelerated time $\tilde t = t/\ln(1/\alpha)$")
    ax_loss.set_ylabel(r"training loss $L(\beta)$")
    ax_loss.legend(loc="lower left")
    for j in range(config.d):
        c = plotting.color(j)
        ax_beta.plot(t, np.abs(results["beta"][-1][:, j]), color=c, lw=1.2)
        ax_beta.plot(t, np.abs(limit["betas"][index, j]), color=c, ls="--", lw=0.9)
    ax_beta.plot([], [], color="k", label=rf"flow, $\ln(1/\alpha)={config.ells[-1]:g}$")
    ax_beta.plot([], [], color="k", ls="--", label="saddles (Alg. 1)")
    ax_beta.set_xlabel(r"accelerated time $\tilde t$")
    ax_beta.set_ylabel(r"$|\beta_i|$")
    ax_beta.legend(loc="upper left")
    plotting.panel_label(ax_loss, "a")
    plotting.panel_label(ax_beta, "b")
    ax_beta.set_title(f"P-E, $n={config.n}$, $d={config.d}$", loc="right")
    return fig


def check(results):
    config, limit = results["config"], results["limit"]
    errors = np.max(np.abs(results["jumps"] - limit["times"]), axis=1)
    slope = loglog_slope(config.rate_ells, errors)
    scale = np.max(np.abs(limit["betas"]))
    plateau = float(np.max(np.abs(results["middles"] - limit["betas"])) / scale)
    passed = bool(abs(slope + 1.0) <= config.slope_tolerance and plateau <= config.plateau_tolerance)
    message = (f"jump-time error order {slope:.3f} (theory −1 ± {config.slope_tolerance}; max error "
               f"{fmt(float(errors[-1]))} at ln(1/α)={config.rate_ells[-1]:g}), plateau β error "
               f"{fmt(plateau)} relative (tol {fmt(config.plateau_tolerance)}); {len(limit['times'])} jumps")
    metrics = {"jump_time_order": slope, "jump_time_errors": [float(e) for e in errors],
               "rate_ells": list(config.rate_ells), "plateau_relative_error": plateau,
               "jumps": int(len(limit["times"])), "slope_tolerance": config.slope_tolerance,
               "plateau_tolerance": config.plateau_tolerance}
    return passed, message, metrics


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["saddle_to_saddle"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
