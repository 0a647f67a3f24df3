"""SGD as an SDE: the weak error of the first- and second-order stochastic modified equations.

Li, Tai & E (arXiv:1511.06251, Thm 1): SGD with replacement and its SME of order p (`dln_theory.SME`)
agree in the weak sense to O(η^p) at a fixed time T. The problem, the test functions and the Monte
Carlo design are those of the claims (`dln_theory.verify.sme`): d = 1, n = 2, y = 1 ± 0.3, B = 1,
P-E from α = 0.7, T = 0.8, g ∈ {L, ‖β‖², u₁}, independent paths for SGD and SME.

One panel per test function: |E g(SGD) − E g(SME_p)| against η for p = 1, 2, and the difference
between random reshuffling and sampling with replacement |E g(RR) − E g(WR)| (the SMEs model the
latter), with error bars of ±2 standard errors and the fitted slopes in the legend.
Check: fitted slopes within ``slope_tolerance`` (`dln_theory.verify.sme.SLOPE_TOLERANCE` in full
mode) of 1 (SME order 1), 2 (SME order 2), and every bias at least `Design.se_ratio` standard
errors from zero.
"""

from dataclasses import dataclass

import numpy as np

from dln_theory import plotting
from dln_theory.verify import sme as claims

from ._common import fmt

LABELS = {"loss": r"$L(\theta)$", "beta_sq": r"$\|\beta\|^2$", "u1": r"$u_1$"}
SERIES = {"1": "SME order 1", "2": "SME order 2", "rr": "RR − WR"}
EXPECTED = {"1": 1.0, "2": 2.0}


@dataclass(frozen=True)
class Config:
    order_1: claims.Design = claims.ORDER_1[False]
    order_2: claims.Design = claims.ORDER_2[False]
    reshuffling: claims.Design = claims.RESHUFFLING[False]
    slope_tolerance: float = claims.SLOPE_TOLERANCE


FULL = Config()
#: A smoke run: 2¹⁴ SME-2 paths scatter the order-2 slope by about ±0.3 (the claim keeps 2¹⁷).
QUICK = Config(claims.ORDER_1[True], claims.Design((0.4, 0.2), 2**17, 2**14, 3.0), claims.RESHUFFLING[True],
               slope_tolerance=0.6)


def compute(config: Config, cache_dir=None) -> dict:
    """The weak errors of both SMEs and of RR vs WR (Monte Carlo sweeps, cached on disk)."""
    return {"config": config,
            "1": claims.weak_errors(1, config.order_1, cache_dir=cache_dir),
            "2": claims.weak_errors(2, config.order_2, cache_dir=cache_dir),
            "rr": claims.weak_errors(None, config.reshuffling, replacement=False, cache_dir=cache_dir)}


def plot(results):
    fig, axes = plotting.figure(ncols=len(claims.TEST_FUNCTIONS), aspect=0.9)
    for j, (ax, g) in enumerate(zip(axes, claims.TEST_FUNCTIONS)):
        for i, key in enumerate(SERIES):
            res = results[key]
            etas, bias, se = res["etas"], res["bias"][g], res["se"][g]
            ax.errorbar(etas, bias, yerr=2 * se, color=plotting.color(i), marker=plotting.marker(i), ms=3,
                        capsize=2, label=f"{SERIES[key]}: slope {res['slope'][g]:.2f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        plotting.log_ticks(ax.xaxis, subs=(1.0, 2.0, 4.0))
        plotting.log_ticks(ax.yaxis)
        ax.set_xlabel(r"step size $\eta$")
        ax.set_ylabel(rf"weak error of {LABELS[g]} at $T={claims.HORIZON:g}$")
        ax.legend(loc="upper left", fontsize=6)
        plotting.panel_label(ax, "abc"[j])
    return fig


def check(results):
    config = results["config"]
    designs = {"1": config.order_1, "2": config.order_2}
    slopes = {key: {g: results[key]["slope"][g] for g in claims.TEST_FUNCTIONS} for key in SERIES}
    ratios = {key: min(float(np.min(results[key]["bias"][g] / results[key]["se"][g])) for g in claims.TEST_FUNCTIONS)
              for key in SERIES}
    ok = all(abs(s - EXPECTED[key]) <= config.slope_tolerance for key in EXPECTED for s in slopes[key].values())
    ok = ok and all(ratios[key] >= designs[key].se_ratio for key in designs)
    listed = "; ".join(f"{SERIES[key]}: " + ", ".join(f"{g} {fmt(s)}" for g, s in slopes[key].items())
                       for key in SERIES)
    metrics = {"slopes": slopes, "min_bias_over_se": ratios, "slope_tolerance": config.slope_tolerance,
               "etas": {key: list(map(float, results[key]["etas"])) for key in SERIES},
               "bias": {key: {g: results[key]["bias"][g].tolist() for g in claims.TEST_FUNCTIONS} for key in SERIES},
               "standard_error": {key: {g: results[key]["se"][g].tolist() for g in claims.TEST_FUNCTIONS}
                                  for key in SERIES},
               "paths": {"sgd": config.order_1.n_sgd, "sme_order_1": config.order_1.n_sme,
                         "sme_order_2": config.order_2.n_sme}}
    return ok, (f"fitted weak orders: {listed} (expected 1 and 2 +- {config.slope_tolerance}); min bias/SE "
                + ", ".join(f"{SERIES[k]} {ratios[k]:.1f}" for k in SERIES)), metrics


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["sde"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
