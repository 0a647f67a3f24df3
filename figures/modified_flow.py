"""Implicit gradient regularization: GD follows a modified flow (Barrett & Dherin, arXiv:2009.11162).

Two-parameter model E(a, b) = ½(y − abx)², minima on the hyperbola ab = y/x with sharpness
λ_max = x²(a² + b²). Built as `from_data([[x]], [y])` with `PE()` on d = 1: params (2, 1) =
(a, b), β = ab; the initial point (a₀, b₀) is the init shape `PE(u_shape=a₀, v_shape=b₀)`, α = 1.

(a) GD at a large step h, the plain gradient flow, the first-order modified flow of
    Ẽ = E + (h/4)‖∇E‖² and the third-order modified flow in the (a, b) plane: GD ends at a
    flatter, more balanced minimum than the plain flow, and the modified flows move towards it
    order by order (docs/conventions.md §5); inset: the endpoints.
(b) ‖θ_GD(T) − θ_p(T)‖ at fixed time T against h, for the modified flows truncated after h^p
    (p = 0: plain flow; p = 1: Ẽ; p = 2, 3: generated B-series fields, `gd_field(p)`): slope p + 1.

Trajectories in (a) are read off the saved β = ab and α_eff² = ½(a² − b²) (a > 0 throughout).
"""

from dataclasses import dataclass

import numpy as np
from matplotlib.colors import LinearSegmentedColormap

import dln_theory as dt
from dln_theory import plotting
from dln_theory.sweep import sweep
from dln_theory.theory.modified_losses import gd_field
from dln_theory.verify import loglog_slope

from ._common import fmt


@dataclass(frozen=True)
class Config:
    x: float = 1.0
    y: float = 1.0
    a0: float = 2.5
    b0: float = -0.6
    h_large: float = 0.15  # panel (a): GD step (h·λ_max ≈ 1 at the start)
    steps_large: int = 80  # panel (a): GD steps; the flows run for the same time
    path_orders: tuple = (0, 1, 3)  # panel (a): flows drawn
    flow_saves: int = 240  # panel (a): saved points along each flow
    horizon: float = 1.0  # panel (b): fixed time T
    hs: tuple = (0.1, 0.05, 0.025, 0.0125, 0.00625)  # panel (b): step sizes, each divides T
    orders: tuple = (0, 1, 2, 3)
    rtol: float = 1e-13  # flows integrated far below the smallest error in (b) (~1e-7)
    atol: float = 1e-15
    slope_tolerance: float = 0.3


FULL = Config()
#: one colour per truncation order, in both panels (GD itself is vermillion)
ORDER_COLORS = {0: plotting.color(0), 1: plotting.color(2), 2: plotting.color(3), 3: plotting.color(4)}
QUICK = Config(hs=(0.1, 0.05, 0.025), flow_saves=60, orders=(0, 1, 2), path_orders=(0, 1))


def _problem(config):
    return dt.from_data([[config.x]], [config.y])


def _model(config):
    return dt.PE(u_shape=config.a0, v_shape=config.b0)


def ab_from_saves(beta, alpha_eff2):
    """(a, b) from β = ab and α_eff² = ½(a² − b²), taking a > 0."""
    c = 2.0 * np.asarray(alpha_eff2)
    beta = np.asarray(beta)
    a = np.sqrt(0.5 * (c + np.sqrt(c**2 + 4 * beta**2)))
    return a, beta / a


def _path(result):
    tr = result.trajectory
    return ab_from_saves(tr.beta[0, :, 0], tr.alpha_eff2[0, :, 0])


def _trajectories(config, cache_dir):
    problem, model = _problem(config), _model(config)
    h, n = config.h_large, config.steps_large
    T = h * n
    gd = sweep(dt.GD(h), model, problem, {"eta": [h]}, n, 1, alpha=1.0, cache_dir=cache_dir)
    dt_flow = T / config.flow_saves
    flows = {}
    for order in config.path_orders:
        method = dt.ModifiedFlow(dt_flow, field=gd_field(order), h=h, rtol=config.rtol, atol=config.atol)
        flows[order] = _path(sweep(method, model, problem, {"h": [h]}, config.flow_saves, 1, alpha=1.0,
                                   cache_dir=cache_dir))
    return {"gd": _path(gd), "flows": flows}


def _errors(config, cache_dir):
    """‖θ_GD(T) − θ_p(T)‖ for every step h and order p (one compiled sweep per order)."""
    problem, model = _problem(config), _model(config)
    hs = np.asarray(config.hs)
    n_max = int(round(config.horizon / hs.min()))
    # one GD sweep over η with n_max steps saved every step; θ_GD(T) is the save at step T/h
    gd = sweep(dt.GD(hs[0]), model, problem, {"eta": hs}, n_max, 1, alpha=1.0, cache_dir=cache_dir)
    idx = np.rint(config.horizon / hs).astype(int)
    rows = np.arange(len(hs))
    a, b = ab_from_saves(gd.trajectory.beta[rows, idx, 0], gd.trajectory.alpha_eff2[rows, idx, 0])
    errors = {}
    for order in config.orders:
        flow = dt.ModifiedFlow(config.horizon / 4, field=gd_field(order), h=hs[0], rtol=config.rtol,
                               atol=config.atol)
        res = sweep(flow, model, problem, {"h": hs}, 4, 4, alpha=1.0, cache_dir=cache_dir)
        fa, fb = res.trajectory.params[:, 0, 0], res.trajectory.params[:, 1, 0]
        errors[order] = np.hypot(a - fa, b - fb)
    return errors


def compute(config: Config, cache_dir=None) -> dict:
    return {"config": config, "paths": _trajectories(config, cache_dir), "errors": _errors(config, cache_dir)}


def plot(results):
    config, paths, errors = results["config"], results["paths"], results["errors"]
    fig, (ax, bx) = plotting.figure(ncols=2, aspect=0.85)

    a = np.linspace(0.25, 3.0, 400)
    b = config.y / (config.x * a)
    sharp = config.x**2 * (a**2 + b**2)
    keep = (b > -1.0) & (b < 3.0)
    inset = ax.inset_axes([0.07, 0.06, 0.42, 0.4])
    ga, gb = paths["gd"]
    styles = {0: ("--", "gradient flow"), 1: ("-", r"modified, $O(h)$"), 2: ("-", r"modified, $O(h^2)$"),
              3: ("-", r"modified, $O(h^3)$")}
    # the minima in grey shades (light: flat, dark: sharp), so that they do not compete with the series
    cmap = LinearSegmentedColormap.from_list("sharpness", ["0.88", "0.1"])
    sc = ax.scatter(a[keep], b[keep], c=sharp[keep], cmap=cmap, s=2, zorder=1, rasterized=True)
    for target in (ax, inset):
        target.plot(ga, gb, ls="-", lw=0.4, color=plotting.color(1), marker="o", ms=2.0,
                    label=rf"GD, $h={config.h_large:g}$", zorder=3)
        for order in config.path_orders:
            (ls, label), c = styles[order], ORDER_COLORS[order]
            fa, fb = paths["flows"][order]
            target.plot(fa, fb, ls=ls, color=c, lw=1.2, label=label, zorder=2)
            target.plot(fa[-1:], fb[-1:], "o", color=c, ms=3, zorder=4)
    ends = [ga[-1]] + [paths["flows"][o][0][-1] for o in config.path_orders]
    lo, hi = min(ends), max(ends)
    pad = 0.15 * (hi - lo)
    fine = np.linspace(lo - pad, hi + pad, 50)
    inset.plot(fine, config.y / (config.x * fine), color="0.6", lw=0.8, zorder=1)
    inset.set_xlim(lo - pad, hi + pad)
    bl, bh = config.y / (config.x * (hi + pad)), config.y / (config.x * (lo - pad))
    inset.set_ylim(bl, bh)
    inset.tick_params(labelsize=5, length=2)
    inset.set_title("endpoints", fontsize=6, pad=2)
    ax.indicate_inset_zoom(inset, edgecolor="0.5", lw=0.6)
    cb = fig.colorbar(sc, ax=ax, pad=0.01, fraction=0.05)
    cb.set_label(r"sharpness $x^2(a^2+b^2)$ on $ab=y/x$")
    ax.plot([config.a0], [config.b0], "k*", ms=6, zorder=4, label="start")
    ax.set_xlim(0, 3.0)
    ax.set_ylim(-1.0, 2.0)
    ax.set_xlabel("$a$")
    ax.set_ylabel("$b$")
    ax.legend(loc="upper right", handlelength=2.2)
    plotting.panel_label(ax, "a")
    ax.set_title(rf"$E=\frac{{1}}{{2}}(y-abx)^2$, $x={config.x:g}$, $y={config.y:g}$", loc="right")

    hs = np.asarray(config.hs)
    for i, order in enumerate(config.orders):
        err = errors[order]
        slope = loglog_slope(hs, err)
        name = "plain flow" if order == 0 else f"order {order}"
        bx.plot(hs, err, color=ORDER_COLORS[order], marker=plotting.marker(i), label=f"{name}: slope {slope:.2f}")
    bx.set_xscale("log")
    bx.set_yscale("log")
    bx.set_xlabel("step size $h$")
    bx.set_ylabel(rf"$\|\theta_{{\mathrm{{GD}}}}(T)-\theta_p(T)\|$, $T={config.horizon:g}$")
    bx.legend(loc="lower right")
    plotting.panel_label(bx, "b")
    return fig


def check(results):
    config, errors = results["config"], results["errors"]
    hs = np.asarray(config.hs)
    slopes = {p: loglog_slope(hs, errors[p]) for p in config.orders}
    ok = all(abs(s - (p + 1)) <= config.slope_tolerance for p, s in slopes.items())
    listed = ", ".join(f"p={p}: {s:.2f}" for p, s in slopes.items())
    ga, gb = results["paths"]["gd"]
    sharp = lambda a, b: config.x**2 * (a**2 + b**2)  # noqa: E731
    flows = ", ".join(f"order {p} {fmt(sharp(*(v[-1] for v in results['paths']['flows'][p])))}"
                      for p in config.path_orders)
    metrics = {"slopes": {str(p): s for p, s in slopes.items()}, "slope_tolerance": config.slope_tolerance,
               "hs": list(config.hs), "sharpness_gd": sharp(ga[-1], gb[-1]),
               "sharpness_flows": {str(p): sharp(*(v[-1] for v in results["paths"]["flows"][p]))
                                   for p in config.path_orders}}
    return ok, (f"fitted slopes of ||theta_GD - theta_p|| vs h: {listed} (expected p+1 +- "
                f"{config.slope_tolerance}); final sharpness at h={config.h_large:g}: GD "
                f"{fmt(sharp(ga[-1], gb[-1]))}, flows {flows}"), metrics


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["modified_flow"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
