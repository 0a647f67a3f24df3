"""Initialization shape: test error against the naive scale and against the combined scale α.

Azulay et al. (arXiv:2102.09769), P-E (β = u ⊙ v): gradient flow from any u(0), v(0) ends at
argmin_{Xβ=y} ψ_α(β) − ½⟨z0, β⟩ with α_i² = |u_i(0)² − v_i(0)²|/2 and the tilt
z0_i = ln|(u_i(0) + v_i(0))/(u_i(0) − v_i(0))| (`dln_theory.theory.init_shape`). Shapes, at
naive scale σ = √(u_i(0)² + v_i(0)²) on every coordinate:

* ``standard``: (σ, 0), β(0) = 0;
* ``swapped``: (0, σ) on a random half of the coordinates, (σ, 0) on the rest, β(0) = 0;
* ``θ = …``: (σ cos θ, ±σ sin θ) with random signs, β(0) ≠ 0 and α = σ√(cos 2θ/2).

(a) test error of the flow endpoints (markers) against σ; (b) against the combined α, with the
predictions (lines) and, dashed, argmin ψ_α without the tilt: the β(0) = 0 shapes collapse onto
one curve, the tilted ones leave it by the tilt alone.
Check: every endpoint within ``tolerance`` of its prediction (relative), the β(0) = 0 shapes equal
at equal α, and the tilt visible (the untilted prediction off by more than 100 × ``tolerance``).
"""

from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import NullFormatter

from dln_theory import PE, GradientFlow, SparseRegression, plotting, simulate
from dln_theory.theory.init_shape import min_shape_interpolant, shape_scale_and_tilt
from dln_theory.theory.interpolators import min_potential_interpolant

from ._common import fmt, memo


@dataclass(frozen=True)
class Config:
    n: int = 15
    d: int = 30
    k: int = 3
    log_sigmas: tuple = (-1.5, 0.0, 7)  # np.logspace arguments
    thetas: tuple = (0.3, 0.6)
    tolerance: float = 1e-6


FULL = Config()
QUICK = Config(log_sigmas=(-1.5, 0.0, 3), thetas=(0.5,))


def shapes(config, sigma):
    """name → (u0, v0) at naive scale ``sigma`` (fixed random signs and halves)."""
    rng = np.random.default_rng(0)
    swap = rng.permutation(config.d) < config.d // 2
    signs = rng.choice([-1.0, 1.0], config.d)
    one, zero = np.full(config.d, sigma), np.zeros(config.d)
    out = {"standard": (one, zero), "swapped": (np.where(swap, 0.0, one), np.where(swap, one, 0.0))}
    out.update({f"θ = {t}": (sigma * np.cos(t) * np.ones(config.d), sigma * np.sin(t) * signs) for t in config.thetas})
    return out


def _compute(config):
    problem = SparseRegression(n=config.n, d=config.d, k=config.k).sample(0)
    X, y = np.asarray(problem.X), np.asarray(problem.y)
    sigmas = np.logspace(*config.log_sigmas)
    out = {}
    for name in shapes(config, 1.0):
        rows = {"alpha": [], "sim": [], "pred": [], "untilted": [], "te_sim": [], "te_pred": [], "te_untilted": []}
        for sigma in sigmas:
            u0, v0 = shapes(config, sigma)[name]
            alpha, _ = shape_scale_and_tilt(u0, v0)
            run = simulate(GradientFlow(100.0), PE(), problem, sigma, 400, 400, params0=np.stack([u0, v0]),
                           loss_tol=1e-26)
            sim = np.asarray(run.beta[-1])
            pred = np.asarray(min_shape_interpolant(X, y, u0, v0))
            untilted = np.asarray(min_potential_interpolant(X, y, alpha, PE()))
            for key, value in (("alpha", float(alpha[0])), ("sim", sim), ("pred", pred), ("untilted", untilted),
                               ("te_sim", float(problem.test_error(sim))), ("te_pred", float(problem.test_error(pred))),
                               ("te_untilted", float(problem.test_error(untilted)))):
                rows[key].append(value)
        out[name] = {key: np.asarray(value) for key, value in rows.items()}
    return {"sigmas": sigmas, "shapes": out}


def compute(config: Config, cache_dir=None) -> dict:
    return {"config": config, **memo("init_shape", config, lambda: _compute(config), cache_dir)}


def plot(results):
    sigmas, data = results["sigmas"], results["shapes"]
    fig, (ax_s, ax_a) = plotting.figure(ncols=2, aspect=0.8)
    for i, (name, r) in enumerate(data.items()):
        c = plotting.color(i)
        marker = "os^v"[i % 4]
        size = 9 if name == "standard" else 5  # drawn under ``swapped``, which it equals
        ax_s.plot(sigmas, r["te_sim"], marker, color=c, ls="-", lw=0.8, ms=size, label=name)
        ax_a.plot(r["alpha"], r["te_sim"], marker, color=c, ms=size, label=name)
        ax_a.plot(r["alpha"], r["te_pred"], color=c, lw=1.0)
        if name.startswith("θ"):
            ax_a.plot(r["alpha"], r["te_untilted"], color=c, lw=0.9, ls="--")
    ax_a.plot([], [], color="k", label=r"prediction $\psi_\alpha-\frac{1}{2}\langle z_0,\beta\rangle$")
    ax_a.plot([], [], color="k", ls="--", label=r"$\arg\min\psi_\alpha$ (tilt dropped)")
    for ax, label in ((ax_s, r"naive scale $\sigma=\sqrt{u_0^2+v_0^2}$"), (ax_a, r"combined scale $\alpha$")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax_s.set_ylabel(r"test error $\|\beta_\infty-\beta^*\|^2$")
    ax_s.legend(loc="upper left")
    ax_a.legend(loc="upper left", fontsize="small")
    plotting.panel_label(ax_s, "a")
    plotting.panel_label(ax_a, "b")
    return fig


def _relative(a, b):
    return np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)


def check(results):
    config, data = results["config"], results["shapes"]
    endpoint = float(max(np.max(_relative(r["sim"], r["pred"])) for r in data.values()))
    collapse = float(np.max(_relative(data["swapped"]["sim"], data["standard"]["sim"])))
    tilt = float(min(np.max(_relative(r["pred"], r["untilted"])) for name, r in data.items() if name.startswith("θ")))
    passed = bool(endpoint <= config.tolerance and collapse <= config.tolerance and tilt >= 100 * config.tolerance)
    message = (f"flow endpoints vs prediction: max {fmt(endpoint)} relative (tol {fmt(config.tolerance)}); "
               f"β(0) = 0 shapes apart by {fmt(collapse)}; tilt moves the tilted endpoints by ≥ {fmt(tilt)}")
    metrics = {"max_endpoint_error": endpoint, "beta0_zero_collapse": collapse, "min_tilt_effect": tilt,
               "tolerance": config.tolerance}
    return passed, message, metrics


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["init_shape"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
