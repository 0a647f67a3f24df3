"""Saddle-to-saddle limit (Pesme & Flammarion arXiv:2304.00488) and the accelerated-time simulator."""

import numpy as np
import pytest

import dln_theory as dt
from dln_theory.accelerated import accelerated_flow, accelerated_gd, jump_times, pe_scale_and_time
from dln_theory.theory.interpolators import min_l1_interpolant
from dln_theory.theory.saddle_to_saddle import saddle_to_saddle
from dln_theory.verify import loglog_slope


def _data(seed, n=5, d=7):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


@pytest.mark.parametrize("seed", range(12))
def test_last_saddle_is_min_l1_interpolant(seed):
    """Theorem 2 of the paper: the process ends at the min-ℓ1 interpolant (n < d); LP to 1e-10."""
    X, y = _data(seed)
    limit = saddle_to_saddle(X, y)
    np.testing.assert_allclose(limit.betas[-1], min_l1_interpolant(X, y), atol=1e-9)
    assert limit.losses[-1] < 1e-25


def test_underparametrized_ends_at_least_squares():
    X, y = _data(3, n=12, d=4)
    limit = saddle_to_saddle(X, y)
    np.testing.assert_allclose(limit.betas[-1], np.linalg.lstsq(X, y, rcond=None)[0], atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_saddles_are_constrained_critical_points(seed):
    """KKT of argmin L s.t. s_iβ_i ≥ 0 on A, β = 0 off A: ∇L_i = 0 where β_i ≠ 0, s_i∇L_i ≥ 0 on A."""
    X, y = _data(seed)
    limit = saddle_to_saddle(X, y)
    assert np.all(np.diff(limit.times) > 0) and np.all(np.abs(limit.s) <= 1.0)
    for beta, s in zip(limit.betas[1:], limit.s[1:]):
        g = X.T @ (X @ beta - y) / len(y)
        on = beta != 0
        np.testing.assert_allclose(g[on], 0.0, atol=1e-12)
        assert np.all(np.sign(beta[on]) == s[on])
        at_zero = (np.abs(s) == 1) & ~on
        assert np.all(s[at_zero] * g[at_zero] >= -1e-12)


def test_a_deactivation_is_handled():
    """Seed 1 has a coordinate that enters and later leaves the active set; the end is still min-ℓ1."""
    X, y = _data(1)
    limit = saddle_to_saddle(X, y)
    active = np.abs(limit.s) == 1
    assert np.any(active[:-1] & ~active[1:])
    np.testing.assert_allclose(limit.betas[-1], min_l1_interpolant(X, y), atol=1e-9)


def test_accelerated_flow_equals_the_simulator_pe_and_pw():
    """The log-domain flow at ℓ = ln(1/α) equals GradientFlow on (u, v) and on P-W (α_E = √2α_W, 2t)."""
    X, y = _data(0)
    problem = dt.Problem(X, y)
    alpha_w, t_end = 1e-2, 8.0
    alpha_e, t_pe = pe_scale_and_time(alpha_w, t_end)
    ell = np.log(1 / alpha_e)
    fast = accelerated_flow(X, y, ell, [t_pe / ell], rtol=1e-12, atol=1e-14)
    pe = dt.simulate(dt.GradientFlow(t_pe / 4), dt.PE(), problem, alpha_e, 4, 4)
    pw = dt.simulate(dt.GradientFlow(t_end / 4), dt.PW(2), problem, alpha_w, 4, 4)
    np.testing.assert_allclose(fast.beta[0], pe.beta[-1], atol=1e-8)  # both integrated to rtol ≤ 1e-10
    np.testing.assert_allclose(fast.beta[0], pw.beta[-1], atol=1e-8)


def test_accelerated_gd_equals_gd_on_u_v():
    """Log-domain GD is GD: same β as the simulator's GD on P-E after the same number of steps."""
    X, y = _data(2)
    alpha, eta, steps = 1e-3, 0.05, 400
    ell = np.log(1 / alpha)
    fast = accelerated_gd(X, y, ell, eta, steps * eta / ell, n_saves=4)
    slow = dt.simulate(dt.GD(eta), dt.PE(), dt.Problem(X, y), alpha, steps, steps // 4)
    np.testing.assert_allclose(fast.beta, np.asarray(slow.beta[1:]), atol=1e-12)


def _jump_time_errors(X, y, time_factor=1.0):
    """max_k |t̃_k(α) − factor·t̃_k| at ℓ = ln(1/α) ∈ {300, 1000, 3000}, past the pre-asymptotic range.

    Seed 1's last jump has C_k ≈ 104 (t̃_k(α) − t̃_k ≈ C_k/ℓ), so ℓ = 100 is not yet asymptotic.
    """
    limit = saddle_to_saddle(X, y)
    ells = np.array([300.0, 1000.0, 3000.0])
    return ells, [np.max(np.abs(jump_times(X, y, ell, limit.losses, 1.2 * limit.times[-1])
                                - time_factor * limit.times)) for ell in ells]


def test_jump_times_converge_at_rate_one_over_log_inv_alpha():
    """t̃_k(α) − t̃_k = C_k/ln(1/α) + O(1/ln²): the fitted order of the largest jump-time error is −1."""
    ells, errors = _jump_time_errors(*_data(1))
    assert loglog_slope(ells, errors) == pytest.approx(-1.0, abs=0.05)


@pytest.mark.negative
def test_negative_wrong_time_scale_breaks_the_rate():
    """Defect: jump times predicted in units of ln(1/α²) (twice the P-E ℓ): the error stays O(1)."""
    ells, errors = _jump_time_errors(*_data(1), time_factor=0.5)
    assert not loglog_slope(ells, errors) == pytest.approx(-1.0, abs=0.05)


def test_bad_inputs_named():
    X, y = _data(0)
    with pytest.raises(ValueError, match="y"):
        saddle_to_saddle(X, y[:-1])
    with pytest.raises(ValueError, match="NaN"):
        saddle_to_saddle(np.where(X > 1, np.nan, X), y)
    with pytest.raises(ValueError, match="log_inv_alpha"):
        accelerated_flow(X, y, -1.0, [1.0])
    with pytest.raises(ValueError, match="t_tilde"):
        accelerated_flow(X, y, 10.0, [2.0, 1.0])
    with pytest.raises(ValueError, match="eta"):
        accelerated_gd(X, y, 10.0, 0.0, 1.0)


@pytest.fixture(scope="module")
def figure_results(tmp_path_factory):
    from dln_theory.figures import saddle_to_saddle as fig

    results = fig.compute(fig.QUICK, cache_dir=tmp_path_factory.mktemp("s2s-cache"))
    passed, message, _ = fig.check(results)
    assert passed, message
    return fig, results


@pytest.mark.negative
def test_figure_check_fails_with_pw_time_units(figure_results):
    """Defect: limit times in units of ln(1/α_W) = ln(1/α²)/2-style P-W time (×2): the check fails."""
    import copy

    fig, results = figure_results
    damaged = copy.deepcopy(results)
    damaged["limit"]["times"] = 2 * damaged["limit"]["times"]
    assert not fig.check(damaged)[0]


@pytest.mark.negative
def test_figure_check_fails_with_the_kernel_saddles(figure_results):
    """Defect: saddles replaced by min-ℓ2 of the active support (no sign constraints): plateaus fail."""
    import copy

    fig, results = figure_results
    damaged = copy.deepcopy(results)
    X, y = fig._data(fig.QUICK)
    for k, s in enumerate(damaged["limit"]["s"]):
        on = np.abs(s) == 1
        if on.any():
            damaged["limit"]["betas"][k][on] = np.linalg.lstsq(X[:, on], y, rcond=None)[0]
    assert not fig.check(damaged)[0]


def test_lasso_of_the_lasso_path_claim_matches_lars():
    """The coordinate descent used by ``lasso_path_time_average`` against scikit-learn's LARS path."""
    from sklearn.linear_model import lars_path

    from dln_theory.verify.values import lasso

    X, y = _data(0)
    alphas, _, coefs = lars_path(X, y, method="lasso")
    for lam in np.geomspace(alphas[0] * 0.95, alphas[-2] * 1.05, 7):
        path = np.array([np.interp(lam, alphas[::-1], c[::-1]) for c in coefs])  # piecewise linear in λ
        np.testing.assert_allclose(lasso(X, y, lam), path, atol=1e-10)
