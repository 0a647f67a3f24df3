"""Flooding performs gradient regularization at the flood level (Ishida et al. 2020; Karakida et al.).

Flooding θ ← θ − η·sign(L − b)∇L descends to the flood level b and then alternates ascent and
descent. An ascent step followed by a descent step is θ − η[∇L(θ + η∇L) − ∇L(θ)]
= θ − (η²/2)∇‖∇L‖² + O(η³): the regularization part of a forward-difference GR step with
ε = η (docs/conventions.md §4). Per unit time (two steps, 2η) that is the flow of (η/4)‖∇L‖², and since
the sign pattern keeps L ≈ b, the prediction is that flow *on the level set* {L = b}:
θ̇ = −P∇R, R = (η/4)‖∇L‖², P = I − ĝĝᵀ (a `ModifiedField`). For contrast, GD and the F-GR run
with ε = η and the same regularization strength (γ = η/2, `FGR(η, gamma=η/2, eps=η)`) keep
descending the loss. All runs start where the GD phase of flooding first crosses L < b.

(a) training loss vs time t; (b) parameter distance from the flooding run, and the distance
flooding has moved since the start (grey).

P-E DLN (β = u ⊙ v, u(0) = √2α, v(0) = 0). Parameters along the runs are read off the saved
β = uv and α_eff² = ½(u² − v²) (u > 0 throughout, since u² − v² > 0 is kept by every step).
"""

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

import dln_theory as dt
from dln_theory import plotting
from dln_theory.theory.fields import ModifiedField

from ._common import fmt, memo
from .modified_flow import ab_from_saves


@dataclass(frozen=True)
class Config:
    n: int = 20
    d: int = 30
    k: int = 3
    seed: int = 0
    alpha: float = 0.3
    eta: float = 0.02
    b: float = 0.02  # flood level
    warmup: int = 4000  # GD steps searched for the first crossing L < b
    pairs: int = 2000  # ascent/descent pairs compared after the crossing
    tolerance: float = 0.3  # final ‖θ_flood − θ_flow‖ / ‖θ_flood − θ_start‖


FULL = Config()
QUICK = Config(pairs=1000)


class LevelSetGR(ModifiedField):
    """θ̇ = −P∇R with R = (h/4)‖∇L‖² and P the projection orthogonal to ∇L (keeps L constant)."""

    def __call__(self, objective, params, h):
        g = objective.grad(params)
        gr = jax.grad(lambda p: 0.25 * h * jnp.vdot(objective.grad(p), objective.grad(p)))(params)
        c = jnp.vdot(gr, g) / jnp.vdot(g, g)
        return c * g - gr  # the params are one (2, d) array


def _params(tr):
    """(saves, 2, d) parameters from saved β and α_eff²."""
    u, v = ab_from_saves(tr.beta, tr.alpha_eff2)
    return np.stack([u, v], axis=1)


def _compute(config):
    problem = dt.SparseRegression(n=config.n, d=config.d, k=config.k).sample(config.seed)
    model, eta, a = dt.PE(), config.eta, config.alpha
    warm = dt.simulate(dt.GD(eta), model, problem, a, config.warmup, 1)
    loss = np.asarray(warm.loss)
    kc = int(np.nonzero(loss < config.b)[0][0])
    start = jnp.asarray(_params(warm)[kc])
    M = config.pairs
    runs = {
        "flooding": dt.simulate(dt.Flooding(eta, b=config.b), model, problem, a, 2 * M, 2, params0=start),
        "GD": dt.simulate(dt.GD(eta), model, problem, a, 2 * M, 2, params0=start),
        "F-GR": dt.simulate(dt.FGR(eta, gamma=eta / 2, eps=eta), model, problem, a, 2 * M, 2, params0=start),
        "level-set GR flow": dt.simulate(dt.ModifiedFlow(2 * eta, field=LevelSetGR(), h=eta), model, problem, a, M, 1,
                                         params0=start),
    }
    out = {"t_start": float(warm.t[kc]), "start": np.asarray(start)}
    for name, tr in runs.items():
        out[name] = {"t": np.asarray(tr.t), "loss": np.asarray(tr.loss), "params": _params(tr),
                     "diverged": int(tr.diverged_at)}
    return out


def compute(config: Config, cache_dir=None) -> dict:
    return {"config": config, **memo("flooding", config, lambda: _compute(config), cache_dir)}


def distances(results):
    flood = results["flooding"]["params"]
    dist = {name: np.linalg.norm((results[name]["params"] - flood).reshape(len(flood), -1), axis=1)
            for name in ("level-set GR flow", "F-GR", "GD")}
    moved = np.linalg.norm((flood - results["start"][None]).reshape(len(flood), -1), axis=1)
    return dist, moved


STYLE = {"flooding": (plotting.color(1), "-"), "level-set GR flow": (plotting.color(2), "--"),
         "F-GR": (plotting.color(4), "-."), "GD": (plotting.color(0), ":")}


def plot(results):
    config = results["config"]
    fig, (ax, bx) = plotting.figure(ncols=2, aspect=0.8)
    for name, (c, ls) in STYLE.items():
        r = results[name]
        label = {"F-GR": r"F-GR, $\varepsilon=\eta$, $\gamma=\eta/2$",
                 "level-set GR flow": r"GR flow of $\frac{\eta}{4}\|\nabla L\|^2$ on $L=b$"}.get(name, name)
        ax.plot(r["t"] + results["t_start"], r["loss"], color=c, ls=ls, label=label, lw=1.0 if name == "flooding" else 1.4)
    plotting.reference_line(ax, config.b, style=(0, (1, 3)), label="flood level $b$")
    ax.set_yscale("log")
    ax.set_xlabel("time $t$")
    ax.set_ylabel("training loss")
    ax.legend(loc="lower left")
    plotting.panel_label(ax, "a")
    ax.set_title(rf"$\eta={config.eta:g}$, $b={config.b:g}$, $\alpha={config.alpha:g}$", loc="right")

    dist, moved = distances(results)
    t = results["flooding"]["t"] + results["t_start"]
    for name, d in dist.items():
        c, ls = STYLE[name]
        bx.plot(t[1:], d[1:], color=c, ls=ls, lw=1.4)
    bx.plot(t[1:], moved[1:], color=plotting.REFERENCE, lw=1.0, label=r"$\|\theta_{\mathrm{flood}}(t)-\theta_{\mathrm{start}}\|$")
    bx.set_yscale("log")
    bx.set_xlabel("time $t$")
    bx.set_ylabel(r"$\|\theta_{\mathrm{flood}}-\theta\|$")
    bx.legend(loc="lower right")
    plotting.panel_label(bx, "b")
    return fig


def check(results):
    config = results["config"]
    dist, moved = distances(results)
    ratio = float(dist["level-set GR flow"][-1] / moved[-1])
    ok = ratio <= config.tolerance and results["flooding"]["diverged"] < 0
    others = ", ".join(f"{name} {fmt(float(d[-1] / moved[-1]))}" for name, d in dist.items() if name != "level-set GR flow")
    metrics = {"relative_distance": ratio, "tolerance": config.tolerance, "pairs": config.pairs,
               "flooding_diverged": results["flooding"]["diverged"] >= 0,
               "relative_distance_others": {name: float(d[-1] / moved[-1]) for name, d in dist.items()
                                            if name != "level-set GR flow"}}
    return ok, (f"after {config.pairs} ascent/descent pairs, ||theta_flood - theta_flow|| / distance moved = "
                f"{fmt(ratio)} (tol {config.tolerance}) for the level-set GR flow (eps = eta); {others}"), metrics


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["flooding"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
