"""SAM on a diagonal linear network: 1-SAM vs n-SAM (Andriushchenko & Flammarion, arXiv:2206.06232).

Setup of science.md §6: n = 20, d = 30, 3 nonzeros, x ~ N(0, I), β* = |N(0, 1)| normalized to
‖β*‖ = 1, 1000 test points, 10⁴ iterations, P-E with u(0) ∈ {0.1, 0.02}, v(0) = 0 (here
`PE(u_shape=1)` with α = u(0)), step η = 5/d. Unnormalized SAM (ascent θ + ρ∇L): n-SAM ascends on
the full batch, 1-SAM per example and averages (`SAM(group_size=1)`); GD and SGD (batch 1) are
the ρ = 0 references.

Theory check: SAM is an update of the form of science.md §3 (A = g⁺, B = ρ g ⊙ g⁺; 1-SAM: the
average over examples), so a run ends near argmin ψ_{α_∞} with α_∞ read off the run. Runs stop at
10⁴ iterations, not at convergence, so only those within a train loss of ``fit_loss`` are compared.
The mirror step of SAM carries a tilt of relative size O(η²) + O(ηρ) that α_∞ does not see (the
B = ρ g ⊙ g⁺ term enters it, as γ does for GR, see gr_bias.py), so the comparison is made where
ηρ ≤ ``max_eta_rho`` and the mismatch is measured in units of GD's test loss at the same scale
(the differences between methods the figure is about); it grows with ρ beyond that (open markers).
"""

from dataclasses import dataclass
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

import dln_theory as dt
from dln_theory import plotting
from dln_theory.sweep import sweep
from dln_theory.theory.interpolators import min_potential_interpolant

from ._common import fmt, memo


@dataclass(frozen=True)
class Config:
    n: int = 20
    d: int = 30
    k: int = 3
    seed: int = 0
    scales: tuple = (0.1, 0.02)  # u(0)
    eta_times_d: float = 5.0
    rhos: tuple = (0.0, 0.6, 13)  # linspace
    n_steps: int = 10_000
    save_every: int = 100
    fit_loss: float = 1e-7  # runs compared with the prediction: train loss below this
    max_eta_rho: float = 0.025  # ... and ηρ below this
    tolerance: float = 0.05  # |test loss(run) − test loss(argmin ψ_{α_∞})| / test loss(GD)


FULL = Config()
QUICK = Config(rhos=(0.0, 0.3, 3))


def _problem(config):
    return dt.SparseRegression(n=config.n, d=config.d, k=config.k, beta_dist="abs_normal_unit",
                               n_test=1000).sample(config.seed)


def _methods(config):
    eta = config.eta_times_d / config.d
    return {
        "GD": dt.GD(eta),
        "SGD": dt.SGD(eta, batch_size=1),
        "n-SAM": dt.SAM(eta, rho=0.1, normalize=False),
        "1-SAM": dt.SAM(eta, rho=0.1, normalize=False, group_size=1),
    }


@lru_cache(maxsize=None)
def _predictor():
    return jax.jit(jax.vmap(lambda X, y, a: min_potential_interpolant(X, y, a, dt.PE()), (None, None, 0)))


def compute(config: Config, cache_dir=None) -> dict:
    problem = _problem(config)
    model = dt.PE(u_shape=1.0)
    rhos = np.linspace(*config.rhos)
    runs = {}
    for name, method in _methods(config).items():
        grid = {"alpha": np.asarray(config.scales)}
        if "SAM" in name:
            grid["rho"] = rhos
        res = sweep(method, model, problem, grid, config.n_steps, config.save_every, seed=config.seed,
                    cache_dir=cache_dir)
        tr = res.trajectory
        shape = (len(config.scales), -1)
        runs[name] = {"test_loss": np.asarray(res.test_loss[..., -1]).reshape(shape),
                      "loss": np.asarray(tr.loss[..., -1]).reshape(shape),
                      "alpha_inf2": np.asarray(tr.alpha_eff2[..., -1, :]).reshape(shape + (config.d,)),
                      "diverged": (np.asarray(tr.diverged_at) >= 0).reshape(shape)}

    def predictions():
        out = {}
        for name, r in runs.items():
            a2 = r["alpha_inf2"].reshape(-1, config.d)
            ok = np.all(a2 > 0, axis=-1)
            beta = _predictor()(problem.X, problem.y, jnp.asarray(np.sqrt(np.where(ok[:, None], a2, 1.0))))
            out[name] = np.where(ok, np.asarray(problem.test_loss(beta)), np.nan).reshape(r["loss"].shape)
        return out

    pred = memo("sam", config, predictions, cache_dir, [r["alpha_inf2"].tobytes() for r in runs.values()])
    return {"config": config, "rhos": rhos, "runs": runs, "pred": pred}


def plot(results):
    config, rhos, runs, pred = results["config"], results["rhos"], results["runs"], results["pred"]
    fig, axes = plotting.figure(ncols=2, aspect=0.85, sharey=True)
    colors = {"GD": plotting.color(0), "SGD": plotting.color(2), "n-SAM": plotting.color(1), "1-SAM": plotting.color(4)}
    for s, (ax, scale) in enumerate(zip(axes, config.scales)):
        for name in ("n-SAM", "1-SAM"):
            r = runs[name]
            ok = ~r["diverged"][s]
            ax.plot(rhos[ok], r["test_loss"][s, ok], color=colors[name], marker="o", ms=3, label=name)
            ax.plot(rhos[ok], pred[name][s, ok], color=colors[name], ls="none", marker="o", mfc="none", ms=6,
                    mew=0.7)
            if (~ok).any():
                ax.axvspan(rhos[~ok].min(), rhos.max(), color=colors[name], alpha=0.12, lw=0)
        for name, ls in (("GD", "--"), ("SGD", ":")):
            ax.axhline(runs[name]["test_loss"][s, 0], color=colors[name], ls=ls, lw=1.1, label=f"{name} ($\\rho=0$)")
        ax.set_yscale("log")
        ax.set_xlabel(r"SAM radius $\rho$ (unnormalized)")
        ax.set_title(rf"$u(0)={scale:g}$", loc="right")
        plotting.panel_label(ax, "ab"[s])
    axes[0].set_ylabel("test loss after " + f"$10^{{{int(np.log10(config.n_steps))}}}$" + " steps"
                       if config.n_steps in (10**3, 10**4, 10**5) else f"test loss after {config.n_steps} steps")
    axes[0].plot([], [], color="k", ls="none", marker="o", mfc="none", ms=6, mew=0.7,
                 label=r"argmin $\psi_{\alpha_\infty}$")
    axes[0].legend(loc="lower left")
    return fig


def check(results):
    config, runs, pred = results["config"], results["runs"], results["pred"]
    worst, used = 0.0, 0
    eta = config.eta_times_d / config.d
    gd_scale = runs["GD"]["test_loss"][:, :1]
    for name, r in runs.items():
        rho = results["rhos"][None, :] if "SAM" in name else np.zeros((1, 1))
        use = (r["loss"] <= config.fit_loss) & ~r["diverged"] & np.isfinite(pred[name]) & (eta * rho <= config.max_eta_rho)
        if use.any():
            mismatch = np.abs(r["test_loss"] - pred[name]) / gd_scale
            worst = max(worst, float(np.max(mismatch[use])))
            used += int(use.sum())
    s = 0
    gd = runs["GD"]["test_loss"][s, 0]
    best1 = float(np.nanmin(np.where(runs["1-SAM"]["diverged"][s], np.nan, runs["1-SAM"]["test_loss"][s])))
    bestn = float(np.nanmin(np.where(runs["n-SAM"]["diverged"][s], np.nan, runs["n-SAM"]["test_loss"][s])))
    ok = used > 0 and worst <= config.tolerance
    return ok, (f"argmin psi_{{alpha_inf}} vs run test loss: max mismatch {fmt(100 * worst)}% of GD's test loss over "
                f"{used} runs with train loss <= {fmt(config.fit_loss)}, eta*rho <= {config.max_eta_rho:g} (tol "
                f"{fmt(100 * config.tolerance)}%); at u(0)={config.scales[0]:g}"
                f" best test loss / GD: 1-SAM {fmt(best1 / gd)}, n-SAM {fmt(bestn / gd)}")


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["sam"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
