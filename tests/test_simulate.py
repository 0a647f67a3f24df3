"""simulate(): time convention, saving, early stopping, divergence, jit/vmap consistency."""

import jax
import numpy as np
import pytest

import dln_theory as dt
from dln_theory.objective import Objective
from dln_theory.simulate import run


@pytest.fixture(scope="module")
def problem():
    return dt.SparseRegression(n=10, d=20, k=2).sample(0)


def test_time_is_k_eta_and_saves_are_spaced(problem):
    traj = dt.simulate(dt.GD(0.05), dt.PE(), problem, 0.3, 200, 20)
    assert traj.t.shape == (11,)
    np.testing.assert_allclose(traj.t, 0.05 * 20 * np.arange(11), rtol=1e-13)
    assert int(traj.steps) == 200


def test_gd_step_is_theta_minus_eta_grad(problem):
    """One saved step equals θ − η∇L computed independently with jax.grad."""
    model, eta = dt.PE(), 0.07
    traj = dt.simulate(dt.GD(eta), model, problem, 0.3, 1, 1)
    theta0 = model.init(0.3, problem.d)
    loss = lambda p: 0.5 * np.mean((problem.X @ (p[0] * p[1]) - problem.y) ** 2)  # noqa: E731
    expected = theta0 - eta * jax.grad(loss)(theta0)
    np.testing.assert_allclose(traj.params, expected, rtol=1e-14, atol=1e-15)


def test_init_and_alpha_eff(problem):
    """P-E: u = √2α, v = 0, α_eff² = α²; P-W: w± = α, α_eff² = w₊w₋ = α²; depth 3 likewise."""
    alpha = np.linspace(0.1, 0.5, problem.d)
    for model in (dt.PE(), dt.PW(2), dt.PW(3)):
        traj = dt.simulate(dt.GD(1e-3), model, problem, alpha, 1, 1)
        np.testing.assert_allclose(traj.alpha_eff2[0], alpha**2, rtol=1e-14)
        np.testing.assert_allclose(traj.beta[0], 0.0, atol=1e-15)  # FMA rounding of w₊² − w₋²


def test_gradient_flow_conserves_alpha_eff(problem):
    """Gradient flow leaves α_eff² = ½(u² − v²) (P-E) and the depth-D invariant unchanged."""
    for model in (dt.PE(), dt.PW(2), dt.PW(3)):
        traj = dt.simulate(dt.GradientFlow(5.0), model, problem, 0.2, 10, 10)
        np.testing.assert_allclose(traj.alpha_eff2[-1], 0.04, rtol=1e-8)


def test_early_stop_freezes_and_pads(problem):
    traj = dt.simulate(dt.GD(0.2), dt.PE(), problem, 0.5, 20000, 100, loss_tol=1e-12)
    assert 0 < int(traj.converged_at) < 20000
    assert int(traj.steps) == int(traj.converged_at)
    last = int(traj.converged_at) // 100
    assert traj.loss[last] < 1e-12 <= traj.loss[last - 1]
    np.testing.assert_array_equal(traj.beta[last:], np.broadcast_to(traj.beta[last], traj.beta[last:].shape))


def test_divergence_is_flagged_and_frozen(problem):
    traj = dt.simulate(dt.GD(50.0), dt.PE(), problem, 0.5, 1000, 10)
    assert int(traj.diverged_at) >= 0
    assert bool(traj.diverged)
    assert int(traj.steps) == int(traj.diverged_at)
    assert np.all(np.isfinite(traj.params)) and np.all(np.abs(traj.params) <= 1e8)


def test_jit_equals_no_jit(problem):
    objective = Objective(dt.PE(), problem.X, problem.y)
    params0 = dt.PE().init(0.3, problem.d)
    with jax.disable_jit():
        eager = run(dt.GD(0.1), objective, params0, jax.random.PRNGKey(0), 0.0, 1e8, 5, 4)
    jitted = dt.simulate(dt.GD(0.1), dt.PE(), problem, 0.3, 20, 4)
    np.testing.assert_allclose(eager.beta, jitted.beta, rtol=1e-13, atol=1e-15)


def test_user_data_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 8))
    y = X @ np.r_[1.0, np.zeros(7)]
    problem = dt.from_data(X, y)
    traj = dt.simulate(dt.GD(0.1), dt.PE(), problem, 0.5, 4000, 4000)
    assert traj.loss[-1] < 1e-10


def test_float32_option_keeps_dtype_and_agrees_to_single_precision(problem):
    """float32 runs stay float32; after 500 steps they agree with float64 to ~√steps·2⁻²⁴ ≈ 1e-5."""
    lo = dt.simulate(dt.GD(0.05), dt.PE(), problem, 0.3, 500, 100, precision="float32")
    hi = dt.simulate(dt.GD(0.05), dt.PE(), problem, 0.3, 500, 100)
    assert lo.beta.dtype == np.float32 and lo.params.dtype == np.float32
    np.testing.assert_allclose(lo.beta[-1], hi.beta[-1], rtol=0, atol=1e-4 * np.abs(hi.beta[-1]).max())
    with pytest.raises(ValueError, match="precision='float16'"):
        dt.simulate(dt.GD(0.05), dt.PE(), problem, 0.3, 10, precision="float16")


@pytest.mark.parametrize("method", [dt.GD(0.05), dt.GR(0.05, gamma=0.1), dt.SAM(0.05, rho=0.05),
                                    dt.SGD(0.05, batch_size=4), dt.Flooding(0.05, b=0.01)])
def test_gram_form_equals_residual_form_when_n_exceeds_d(method):
    """g = (XᵀX/n)β − Xᵀy/n is the same gradient as Xᵀ(Xβ − y)/n: runs agree to rounding."""
    problem = dt.SparseRegression(n=60, d=10, k=2, sigma=0.1).sample(0)
    fast = dt.simulate(method, dt.PE(), problem, 0.3, 200, 50)  # n > d: Gram form by default
    slow = dt.simulate(method, dt.PE(), problem, 0.3, 200, 50, gram=False)
    np.testing.assert_allclose(fast.beta, slow.beta, rtol=1e-10, atol=1e-13)
    res = dt.sweep(method, dt.PE(), problem, {"alpha": [0.3]}, 200, 50, cache=False)
    np.testing.assert_allclose(res.trajectory.beta[0], slow.beta, rtol=1e-10, atol=1e-13)
