"""Weight decay on P-E over (α, λ): every run ends at the lasso, so α stops mattering.

GD with weight decay λ (loss L + (λ/2)‖θ‖², P-E) ends at argmin L(β) + λ‖β‖₁ whatever α
(docs/conventions.md; `dln_theory.derivations.weight_decay`), while without it the run ends at
argmin ψ_α over the interpolants. The map shows, over an (α, λ) grid, the test error of the
weight-decay endpoint minus that of the weight-decay-free one (argmin ψ_α): weight decay helps
below the predicted boundary TE(lasso(λ)) = TE(argmin ψ_α) (black line, from the two predictions
alone) and hurts above it. Noiseless sparse regression, so the lasso's bias grows with λ.

Check: every endpoint within ``tolerance`` (relative) of the lasso solution of its λ (coordinate
descent), and the sign of the simulated difference equals the predicted one at every grid point.
"""

from dataclasses import dataclass

import numpy as np

from dln_theory import GD, PE, SparseRegression, plotting, sweep
from dln_theory.theory.interpolators import min_potential_interpolant
from dln_theory.verify.values import lasso

from ._common import fmt, memo


@dataclass(frozen=True)
class Config:
    n: int = 15
    d: int = 30
    k: int = 3
    log_alphas: tuple = (-2.0, 0.0, 6)  # np.logspace arguments (GD at η = 0.1 diverges near α = 3)
    log_lams: tuple = (-2.0, -0.5, 6)  # λ < λ_max = ‖Xᵀy‖∞/n (the lasso is not 0)
    eta: float = 0.1
    steps: int = 200_000  # t = 2e4: the slowest (λ = 1e-2) is within 1e-11 of its lasso
    boundary_points: int = 60
    tolerance: float = 1e-8


FULL = Config()
QUICK = Config(log_alphas=(-2.0, 0.0, 4), log_lams=(-1.5, -0.5, 4), steps=60_000)


def _problem(config):
    return SparseRegression(n=config.n, d=config.d, k=config.k).sample(0)


def _compute(config):
    problem = _problem(config)
    X, y = np.asarray(problem.X), np.asarray(problem.y)
    alphas, lams = np.logspace(*config.log_alphas), np.logspace(*config.log_lams)
    res = sweep(GD(config.eta, weight_decay=float(lams[0])), PE(), problem, {"alpha": alphas, "weight_decay": lams},
                config.steps, config.steps // 10)
    fine_a = np.logspace(config.log_alphas[0], config.log_alphas[1], config.boundary_points)
    fine_l = np.logspace(config.log_lams[0], config.log_lams[1], config.boundary_points)

    def te(beta):
        return float(problem.test_error(beta))

    lasso_sol = np.array([lasso(X, y, lam) for lam in lams])
    return {"alphas": alphas, "lams": lams, "beta": np.asarray(res.trajectory.beta)[:, :, -1], "lasso": lasso_sol,
            "pred_te_lasso": np.array([te(b) for b in lasso_sol]),
            "te_psi": np.array([te(min_potential_interpolant(X, y, a, PE())) for a in alphas]),
            "fine_alphas": fine_a, "fine_lams": fine_l,
            "fine_te_psi": np.array([te(min_potential_interpolant(X, y, a, PE())) for a in fine_a]),
            "fine_te_lasso": np.array([te(lasso(X, y, lam)) for lam in fine_l]),
            "te_sim": np.asarray(res.test_error)[:, :, -1]}


def compute(config: Config, cache_dir=None) -> dict:
    return {"config": config, **memo("weight_decay", config, lambda: _compute(config), cache_dir)}


def plot(results):
    config = results["config"]
    diff = results["te_sim"] - results["te_psi"][:, None]
    fig, ax = plotting.figure(ncols=1, aspect=0.8)
    bound = float(np.max(np.abs(diff)))
    mesh = ax.pcolormesh(results["alphas"], results["lams"], diff.T, cmap="RdBu_r", vmin=-bound, vmax=bound,
                         shading="nearest")
    fig.colorbar(mesh, ax=ax, label=r"TE(weight decay) $-$ TE($\arg\min\psi_\alpha$)")
    grid = results["fine_te_lasso"][None, :] - results["fine_te_psi"][:, None]
    ax.contour(results["fine_alphas"], results["fine_lams"], grid.T, levels=[0.0], colors="k", linewidths=1.2)
    ax.plot([], [], color="k", label="predicted boundary")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"initialization scale $\alpha$")
    ax.set_ylabel(r"weight decay $\lambda$")
    ax.legend(loc="upper left")
    ax.set_title(f"P-E, GD $\\eta={config.eta}$, $n={config.n}$, $d={config.d}$", loc="right")
    return fig


def check(results):
    config = results["config"]
    lasso_sol = np.asarray(results["lasso"])
    dist = np.linalg.norm(results["beta"] - lasso_sol[None], axis=-1) / np.linalg.norm(lasso_sol, axis=-1)[None]
    predicted = np.sign(results["pred_te_lasso"][None, :] - results["te_psi"][:, None])
    simulated = np.sign(results["te_sim"] - results["te_psi"][:, None])
    agree = float(np.mean(predicted == simulated))
    worst = float(np.max(dist))
    passed = bool(worst <= config.tolerance and agree == 1.0)
    message = (f"max distance of the endpoints to the lasso {fmt(worst)} relative (tol {fmt(config.tolerance)}); "
               f"sign of the weight-decay effect as predicted at {agree:.0%} of {predicted.size} grid points")
    metrics = {"max_relative_distance_to_lasso": worst, "sign_agreement": agree, "grid_points": int(predicted.size),
               "tolerance": config.tolerance}
    return passed, message, metrics


def main(quick=False, out=None, cache_dir=None):
    from . import run

    return run(["weight_decay"], quick=quick, out=out, cache_dir=cache_dir)


if __name__ == "__main__":
    import sys

    sys.exit(main(quick="--quick" in sys.argv))
