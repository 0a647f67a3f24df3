"""Stochastic theory on P-E DLNs (`dln_theory.theory.stochastic`): the loss-integral form of α_∞
(Pesme et al. arXiv:2106.09524), the flow's loss integral ½ψ_α(argmin ψ_α), the first-order
gains of GD and SGD, minibatch variance factors, label noise's lasso weight (Pillaud-Vivien et
al. arXiv:2206.09841), and reproducible Monte Carlo."""

import itertools

import numpy as np
import pytest

import dln_theory as dt
from dln_theory.sweep import sweep
from dln_theory.theory import stochastic
from dln_theory.verify import loglog_slope
from dln_theory.verify.stochastic import weighted_lasso


@pytest.fixture(scope="module")
def problem():
    return dt.SparseRegression(n=8, d=12, k=2).sample(3)


@pytest.fixture(scope="module")
def flow(problem):
    return stochastic.flow_integrals(problem.X, problem.y, 0.2, t_max=5e3)


def test_flow_loss_integral_is_half_psi_of_the_endpoint(problem, flow):
    """∫₀^∞ L dt = ½ψ_α(argmin ψ_α) (Bregman identity of the mirror flow, exact). The ODE is solved
    to rtol 1e-10 and its final loss is < 1e-16, so 1e-8 relative is far above both errors."""
    assert float(flow["final_loss"]) < 1e-16
    closed = float(stochastic.flow_loss_integral(problem.X, problem.y, 0.2))
    assert abs(closed - float(flow["loss"])) <= 1e-8 * closed


def test_loss_integral_trapezoid():
    """The trapezoid rule integrates e^{−t} over [0, 5] with error (Δt²/12)·(1 − e^{−5}) ≈ 8e-6 at Δt = 0.01."""
    t = np.linspace(0.0, 5.0, 501)
    got = float(stochastic.loss_integral(np.exp(-t), 0.01))
    assert abs(got - (1 - np.exp(-5))) <= 1e-5


def _one_example_gd(eta, alpha=0.1, d=5):
    """GD on one example (n = 1: batch-1 SGD is GD and (1/n)Σr²x_j² = 2L·K_jj exactly)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((1, d)), np.ones(1)
    n_steps = int(round(60.0 / eta))
    traj = dt.simulate(dt.GD(eta), dt.PE(), dt.from_data(X, y), alpha, n_steps, 1)
    return X, np.asarray(traj.loss), np.log(alpha**2 / np.asarray(traj.alpha_eff2[-1]))


def test_pesme_constant_is_exact_to_first_order_for_one_example():
    """For n = 1, each step multiplies α_eff² by 1 − η²g_k² with g_k² = 2L_k K_jj exactly, so the
    gain is −Σ_k ln(1 − x_k) with x_k = 2η²L_k K_jj and 2ηK_jj·(ηΣ_k L_k) is its first order:
    relative error ≤ max_k x_k (for x ≤ ½, x ≤ −ln(1 − x) ≤ x + x²)."""
    eta = 0.02
    X, loss, gain = _one_example_gd(eta)
    K = np.mean(X**2, axis=0)
    left_sum = eta * loss[:-1].sum()  # Σ_k η L(β_k) over the steps taken
    pred = np.asarray(stochastic.sgd_gain_loss_integral(eta, K, left_sum))
    x_max = 2 * eta**2 * loss.max() * K.max()
    assert x_max < 0.5
    np.testing.assert_allclose(pred, gain, rtol=x_max)


@pytest.mark.negative
def test_pesme_constant_with_the_wrong_factor_is_rejected():
    """Negative control: ηK_jj∫L (half the gain) misses the same runs by far more than max x_k."""
    eta = 0.02
    X, loss, gain = _one_example_gd(eta)
    K = np.mean(X**2, axis=0)
    wrong = 0.5 * np.asarray(stochastic.sgd_gain_loss_integral(eta, K, eta * loss[:-1].sum()))
    assert np.max(np.abs(wrong / gain - 1)) > 0.4


def test_gd_gain_from_the_flow_is_first_order(problem, flow):
    """GD's gain against η∫g_j² dt along the flow (Even et al.'s product with the path replaced by
    the flow): the error is O(η) (GD leaves the flow by O(η)), so halving η halves it: fitted
    order 1 ± 0.3 on η = 0.04, 0.02, 0.01."""
    etas, errors = [0.04, 0.02, 0.01], []
    pred_unit = np.asarray(flow["grad2"])
    for eta in etas:
        traj = dt.simulate(dt.GD(eta), dt.PE(), problem, 0.2, int(round(400 / eta)), int(round(400 / eta)))
        gain = np.log(0.04 / np.asarray(traj.alpha_eff2[-1]))
        errors.append(np.sum(np.abs(gain - eta * pred_unit)) / np.sum(gain))
    assert abs(loglog_slope(etas, errors) - 1.0) <= 0.3


def test_noise_density_is_the_mean_square_of_one_example_gradients(problem):
    """N_j = E_i[(r_i X_ij)²] over a uniformly drawn example, by enumeration (exact)."""
    beta = np.linspace(-0.5, 0.5, problem.d)
    X, y = np.asarray(problem.X), np.asarray(problem.y)
    per_example = (X @ beta - y)[:, None] * X
    np.testing.assert_allclose(stochastic.noise_density(X, y, beta), np.mean(per_example**2, axis=0), rtol=1e-13)


@pytest.mark.parametrize("replacement", [True, False])
def test_batch_noise_scale_by_enumeration(replacement):
    """Var(mean of B draws)/Var(one draw) over every batch of B = 2 of n = 5 values: 1/B with
    replacement, (n − B)/(B(n − 1)) without (exact enumeration)."""
    values, n, B = np.array([0.3, -1.2, 2.0, 0.7, -0.4]), 5, 2
    batches = itertools.product(range(n), repeat=B) if replacement else itertools.combinations(range(n), B)
    means = np.array([values[list(b)].mean() for b in batches])
    ratio = np.mean((means - values.mean()) ** 2) / np.var(values)
    assert ratio == pytest.approx(stochastic.batch_noise_scale(B, n, replacement), rel=1e-12)


def test_label_noise_lambda_is_half_the_per_step_log_variance():
    """λ_j·η = E[(η(Xᵀξ)_j/n)²]/2 for ξ ~ N(0, σ²I): the second-order term of E ln(1 ∓ ηg̃) per step
    (exact second moment: σ²Σ_i X_ij²/n²)."""
    rng = np.random.default_rng(1)
    X, eta, sigma = rng.standard_normal((6, 4)), 0.05, 3.0
    second_moment = sigma**2 * np.sum(X**2, axis=0) / 36
    np.testing.assert_allclose(eta * stochastic.label_noise_lambda(eta, sigma, X), eta**2 * second_moment / 2, rtol=1e-14)


def test_weighted_lasso_meets_its_optimality_conditions(problem):
    """KKT of argmin L + Σλ_j|β_j|: g_j = −λ_j sign(β_j) on the support, |g_j| ≤ λ_j off it
    (coordinate descent run to steps < 1e-15; 1e-9 leaves room for its conditioning)."""
    X, y = np.asarray(problem.X), np.asarray(problem.y)
    lam = 0.02 * (1 + np.arange(problem.d) / problem.d)
    beta = weighted_lasso(X, y, lam)
    g = X.T @ (X @ beta - y) / len(y)
    on = beta != 0
    assert on.any() and (~on).any()
    np.testing.assert_allclose(g[on], -lam[on] * np.sign(beta[on]), atol=1e-9)
    assert np.all(np.abs(g[~on]) <= lam[~on] + 1e-9)


def test_seed_sweep_is_reproducible(problem):
    """Same seeds, same numbers bit for bit (label-noise SGD; no cache)."""
    method = dt.SGD(0.05, batch_size=4, label_noise=0.5)
    runs = [sweep(method, dt.PE(), problem, {"seed": np.arange(3)}, 200, 50, alpha=0.2, cache=False, progress=False)
            for _ in range(2)]
    a, b = (np.asarray(r.trajectory.beta) for r in runs)
    assert np.array_equal(a, b)
    assert not np.array_equal(a[0], a[1])  # different seeds, different noise


@pytest.fixture(scope="module")
def step_size_quick(tmp_path_factory):
    from dln_theory.figures import step_size

    return step_size.compute(step_size.QUICK, cache_dir=tmp_path_factory.mktemp("step-size-cache"))


@pytest.mark.slow
@pytest.mark.negative
@pytest.mark.parametrize("defect", ["isotropic SGD shape (Pesme et al.)", "GD shape for SGD", "SGD shape for GD"])
def test_step_size_shape_check_fails_under_defects(step_size_quick, defect):
    """The step_size figure's per-coordinate check passes on its quick results and fails when
    SGD's predicted gain shape is Pesme et al.'s isotropic 2ηK_jj∫L (ℓ1 distance ≈ 0.27 measured) or
    when the GD and SGD shapes are swapped (GD's gain sits on the support, SGD's is spread)."""
    from dln_theory.figures import step_size

    assert step_size.check(step_size_quick)[0]
    results = {**step_size_quick, "pred": {**step_size_quick["pred"], "shape": dict(step_size_quick["pred"]["shape"])}}
    shape = results["pred"]["shape"]
    if defect == "isotropic SGD shape (Pesme et al.)":
        shape["SGD"] = shape["isotropic"]
    elif defect == "GD shape for SGD":
        shape["SGD"] = shape["GD"]
    else:
        shape["GD"] = shape["SGD"]
    assert not step_size.check(results)[0]
