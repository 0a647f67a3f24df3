"""Phase diagrams of the test error: (α, η) for GD, (α, γ) and (α, ε) for F-GR.

P-E DLN on sparse regression (n, d, k) = (20, 30, 3). Each grid is one compiled sweep. The
theoretical boundary: gradient flow from scale α ends at argmin ψ_α, whose test error moves from
the rich level (α → 0) to the kernel level (α → ∞); α_c is where it crosses the midpoint of the
two (computed from `min_potential_interpolant` over α). A run with effective
initialization α_∞ (read off the run; geometric mean over coordinates) is predicted to be on the
rich side when α_∞ < α_c: the white contour α_∞ = α_c. Grey with crosses: diverged.

Check: away from the boundary (|log₁₀(α_∞/α_c)| > ``margin``) the side predicted by α_∞ agrees
with the side of the measured test error (below/above the midpoint level) in ≥ ``min_agreement``
of the cells.
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

from ._common import memo


@dataclass(frozen=True)
class Config:
    n: int = 20
    d: int = 30
    k: int = 3
    seed: int = 0
    alphas: tuple = (-1.5, 0.5, 13)  # logspace, all grids
    etas: tuple = (-2.0, 0.0, 11)  # logspace, GD
    fgr_eta: float = 0.05
    gammas: tuple = (-2.0, 0.3, 11)  # logspace, F-GR at eps = fgr_eps
    fgr_eps: float = 0.3
    epsilons: tuple = (-2.0, 0.3, 11)  # logspace, F-GR at gamma = fgr_gamma
    fgr_gamma: float = 0.5
    n_steps: int = 40_000
    save_every: int = 1000
    loss_tol: float = 1e-12
    margin: float = 0.15  # decades around the boundary not scored
    min_agreement: float = 0.9


FULL = Config()
QUICK = Config(alphas=(-1.0, 0.5, 4), etas=(-1.5, 0.0, 4), gammas=(-1.5, 0.3, 4), epsilons=(-1.5, 0.3, 4),
               n_steps=10_000)


def _problem(config):
    return dt.SparseRegression(n=config.n, d=config.d, k=config.k).sample(config.seed)


@lru_cache(maxsize=None)
def _predictor():
    return jax.jit(jax.vmap(lambda X, y, a: min_potential_interpolant(X, y, a, dt.PE()), (None, None, 0)))


def _boundary(config):
    """α_c and the midpoint test error from the gradient-flow prediction."""
    p = _problem(config)
    grid = np.logspace(-3, 1.5, 91)
    err = np.asarray(p.test_error(_predictor()(p.X, p.y, jnp.asarray(grid))))
    rich = float(p.test_error(jnp.asarray(min_l1_interpolant(p.X, p.y))))
    kernel = float(p.test_error(jnp.asarray(min_l2_interpolant(p.X, p.y))))
    level = 0.5 * (max(rich, float(err.min())) + kernel)
    i = int(np.nonzero(err >= level)[0][0])
    f = (np.log(level) - np.log(err[i - 1])) / (np.log(err[i]) - np.log(err[i - 1]))
    alpha_c = float(np.exp(np.log(grid[i - 1]) + f * (np.log(grid[i]) - np.log(grid[i - 1]))))
    return {"alpha_c": alpha_c, "level": level, "rich": rich, "kernel": kernel}


def _grid(config, method, axis, values, cache_dir):
    res = sweep(method, dt.PE(), _problem(config), {"alpha": np.logspace(*config.alphas), axis: values},
                config.n_steps, config.save_every, loss_tol=config.loss_tol, cache_dir=cache_dir)
    tr = res.trajectory
    a2 = np.asarray(tr.alpha_eff2[..., -1, :])
    ok = np.all(a2 > 0, axis=-1)
    alpha_inf = np.where(ok, np.exp(0.5 * np.mean(np.log(np.where(a2 > 0, a2, 1.0)), axis=-1)), np.nan)
    return {"values": np.asarray(values), "error": np.asarray(res.test_error[..., -1]),
            "diverged": np.asarray(tr.diverged_at) >= 0, "alpha_inf": alpha_inf}


def compute(config: Config, cache_dir=None) -> dict:
    boundary = memo("phase", config, lambda: _boundary(config), cache_dir)
    grids = {
        "GD": ("eta", r"step size $\eta$", _grid(config, dt.GD(0.1), "eta", np.logspace(*config.etas), cache_dir)),
        "F-GR, γ": ("gamma", rf"F-GR $\gamma$ ($\eta={config.fgr_eta:g}$, $\varepsilon={config.fgr_eps:g}$)",
                    _grid(config, dt.FGR(config.fgr_eta, gamma=0.1, eps=config.fgr_eps), "gamma",
                          np.logspace(*config.gammas), cache_dir)),
        "F-GR, ε": ("eps", rf"F-GR $\varepsilon$ ($\eta={config.fgr_eta:g}$, $\gamma={config.fgr_gamma:g}$)",
                    _grid(config, dt.FGR(config.fgr_eta, gamma=config.fgr_gamma, eps=0.1), "eps",
                          np.logspace(*config.epsilons), cache_dir)),
    }
    return {"config": config, "alphas": np.logspace(*config.alphas), "boundary": boundary, "grids": grids}


def _edges(v):
    lv = np.log(v)
    mid = 0.5 * (lv[1:] + lv[:-1])
    return np.exp(np.concatenate([[2 * lv[0] - mid[0]], mid, [2 * lv[-1] - mid[-1]]]))


def plot(results):
    from matplotlib.colors import ListedColormap, LogNorm
    from matplotlib.lines import Line2D

    alphas, boundary, grids = results["alphas"], results["boundary"], results["grids"]
    fig, axes = plotting.figure(ncols=3, aspect=1.0)
    finite = np.concatenate([g["error"][~g["diverged"]] for _, _, g in grids.values()])
    norm = LogNorm(vmin=max(finite.min(), 1e-4), vmax=finite.max())
    for ax, (name, (axis, label, g)), lab in zip(axes, grids.items(), "abc"):
        err = np.ma.masked_where(g["diverged"], g["error"])
        mesh = ax.pcolormesh(_edges(alphas), _edges(g["values"]), err.T, norm=norm, cmap="viridis", shading="flat")
        if g["diverged"].any():
            ax.pcolormesh(_edges(alphas), _edges(g["values"]), np.ma.masked_where(~g["diverged"], g["error"]).T,
                          cmap=ListedColormap(["0.85"]), shading="flat")
            ia, iv = np.nonzero(g["diverged"])
            ax.plot(alphas[ia], g["values"][iv], ls="none", marker="x", color="0.4", ms=3, mew=0.7)
        ratio = np.log10(g["alpha_inf"] / boundary["alpha_c"])
        if np.nanmin(ratio) < 0 < np.nanmax(ratio):
            ax.contour(alphas, g["values"], np.where(g["diverged"], np.nan, ratio).T, levels=[0.0], colors="w",
                       linestyles="--", linewidths=1.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"initial scale $\alpha$")
        ax.set_ylabel(label)
        plotting.panel_label(ax, lab)
    cb = fig.colorbar(mesh, ax=list(axes), pad=0.01, fraction=0.03)
    cb.set_label(r"test error $\|\beta-\beta^*\|^2$")
    handles = [Line2D([], [], color="k", ls="--", label=rf"boundary $\bar\alpha_\infty=\alpha_c={boundary['alpha_c']:.2g}$"
                      r" (white; $\bar\alpha_\infty$: geometric mean of $\alpha_\infty$)"),
               Line2D([], [], color="0.4", ls="none", marker="x", label="diverged")]
    fig.legend(handles=handles, loc="outside lower center", ncol=2)
    return fig


def check(results):
    config, boundary, grids = results["config"], results["boundary"], results["grids"]
    agree = total = 0
    for _, _, g in grids.values():
        ratio = np.log10(g["alpha_inf"] / boundary["alpha_c"])
        scored = ~g["diverged"] & np.isfinite(ratio) & (np.abs(ratio) > config.margin)
        predicted_rich = ratio < 0
        measured_rich = g["error"] < boundary["level"]
        agree += int(np.sum(scored & (predicted_rich == measured_rich)))
        total += int(np.sum(scored))
    frac = agree / total if total else 0.0
    return frac >= config.min_agreement, (
        f"side of the boundary predicted by alpha_inf (alpha_c={boundary['alpha_c']:.3g}, midpoint error "
        f"{boundary['level']:.3g}) matches the measured test error in {agree}/{total} cells = {100 * frac:.1f}% "
        f"(>= {100 * config.min_agreement:.0f}% required, cells within {config.margin} decades of the boundary not scored)")


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["phase"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
