"""Classification problems and objectives: exact log-loss far below 1e-308, the methods unchanged,
normalized GD, and the input checks."""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

import dln_theory as dt
from dln_theory.classification import ExponentialObjective, LogisticObjective, log_softplus
from dln_theory.dynamics import NormalizedFlow, NormalizedGD
from dln_theory.problems import SparseClassification
from dln_theory.theory.margins import max_margin

PROBLEM = SparseClassification(n=8, d=12, k=2).sample(0)
X, Y = np.asarray(PROBLEM.X), np.asarray(PROBLEM.y)
A = Y[:, None] * X
BETA_HAT = max_margin(X, Y, 2)  # min margin exactly 1: s·BETA_HAT has loss ≤ e^{−s}


def _mp_log_loss(margins, loss):
    """log (1/n) Σ ℓ(m_i) in 60-digit arithmetic (the reference for the float64 forms)."""
    mpmath.mp.dps = 60
    terms = [mpmath.exp(-mpmath.mpf(m)) if loss == "exponential" else mpmath.log1p(mpmath.exp(-mpmath.mpf(m)))
             for m in margins]
    return float(mpmath.log(mpmath.fsum(terms) / len(terms)))


def _params(beta):
    """P-E parameters (u, v) with u ⊙ v = β, u = √|β| sign(β), v = √|β| (any factorization works)."""
    r = np.sqrt(np.abs(beta))
    return jnp.asarray(np.stack([np.sign(beta) * r, r]))


@pytest.mark.parametrize("loss", ["exponential", "logistic"])
@pytest.mark.parametrize("scale", [0.3, 30.0, 3000.0])
def test_log_loss_exact_at_any_level(loss, scale):
    """log L to 1e-13 relative (float64 rounding of margins ~1e3 and a logsumexp) against 60-digit
    arithmetic, at losses about 0.5, 1e-13 and 1e-1300 (where L itself is 0 in float64)."""
    beta = scale * BETA_HAT
    objective = PROBLEM.objective(dt.PE())
    got = float(objective.log_loss(_params(beta)))
    want = _mp_log_loss(A @ beta, loss) if loss == PROBLEM.loss else None
    if loss != PROBLEM.loss:
        problem = dt.from_data(X, Y, loss=loss)
        got = float(problem.objective(dt.PE()).log_loss(_params(beta)))
        want = _mp_log_loss(A @ beta, loss)
    assert got == pytest.approx(want, rel=1e-13, abs=1e-13)


def test_log_softplus_branches_agree_and_have_finite_gradients():
    """Both sides of the switch at z = −30 agree to 1e-15 (the dropped e^{2z}/3 ≈ 3e-27), and the
    gradient e^z/((1 + e^z) log(1 + e^z)) is finite from z = −1e4 to 1e3."""
    mpmath.mp.dps = 40
    for z in (-29.9, -30.0, -30.1, -700.0, 5.0):
        assert float(log_softplus(z)) == pytest.approx(float(mpmath.log(mpmath.log1p(mpmath.exp(z)))), rel=1e-15)
    grads = jax.vmap(jax.grad(log_softplus))(jnp.array([-1e4, -745.0, -30.0, 0.0, 1e3]))
    assert np.all(np.isfinite(grads))
    assert float(grads[0]) == pytest.approx(1.0, abs=1e-15)  # d/dz (z − e^z/2) → 1


def test_normalized_gradient_exact_where_the_loss_underflows():
    """∇_β log L = −Aᵀ softmax(−m) for the exponential loss; at L ≈ 1e-1300 the chain rule through
    P-E (∇_u = v ⊙ g, ∇_v = u ⊙ g) gives it to 1e-9 against 60-digit arithmetic: margins of
    size ~3000·‖x‖ carry a float64 rounding of ~1e-12 (β = u ⊙ v rounds first), which the softmax
    turns into ~1e-12 relative weights and the cancellation in Aᵀp amplifies ~30×."""
    beta = 3000.0 * BETA_HAT
    params = _params(beta)
    mpmath.mp.dps = 60
    m = A @ beta
    w = [mpmath.exp(-mpmath.mpf(mi) + mpmath.mpf(m.min())) for mi in m]
    p = np.array([float(wi / mpmath.fsum(w)) for wi in w])
    g_beta = -A.T @ p
    got = np.asarray(PROBLEM.objective(dt.PE()).log_loss_grad(params))
    u, v = np.asarray(params)
    np.testing.assert_allclose(got, np.stack([v * g_beta, u * g_beta]), rtol=1e-9, atol=1e-9)
    assert float(PROBLEM.objective(dt.PE()).loss(params)) == 0.0  # the plain mean underflows


@pytest.mark.parametrize("make", [lambda: dt.GD(0.1), lambda: dt.SAM(0.1, rho=0.05), lambda: dt.FGR(0.1, gamma=0.01, eps=0.1),
                                  lambda: dt.SGD(0.1, batch_size=4), lambda: dt.GR(0.1, gamma=0.01), lambda: NormalizedGD(0.1)])
def test_methods_step_unchanged_on_classification(make):
    """One step of each method runs on the classification objective; GD's equals
    θ − η∇L with ∇_β L = −Aᵀe^{−m}/n written out by hand (P-E, exponential loss)."""
    method = make()
    objective = PROBLEM.objective(dt.PE())
    params = dt.PE().init(0.5, PROBLEM.d)
    new, _, aux = method.step(params, method.init(params, objective), objective, jax.random.PRNGKey(0))
    assert new.shape == params.shape and np.all(np.isfinite(new))
    if isinstance(method, dt.GD):
        u, v = np.asarray(params)
        g = -A.T @ np.exp(-A @ (u * v)) / len(Y)
        np.testing.assert_allclose(new, np.stack([u - 0.1 * v * g, v - 0.1 * u * g]), rtol=1e-14, atol=1e-15)


def test_simulate_runs_classification_and_the_loss_decreases():
    for method in (dt.GD(0.2), dt.SAM(0.2, rho=0.05), dt.GradientFlow(0.2)):
        traj = dt.simulate(method, dt.PE(), PROBLEM, alpha=0.5, n_steps=40, save_every=10)
        assert np.all(np.diff(np.asarray(traj.loss)) < 0)


def test_normalized_gd_is_gd_with_step_eta_over_loss():
    """NormalizedGD(η) = GD with step η/L(θ) (normalize="loss") and a step of length η
    (normalize="grad"), to 1e-14."""
    objective = PROBLEM.objective(dt.PE())
    params = dt.PE().init(0.5, PROBLEM.d)
    loss, g = objective.value_and_grad(params)
    step = lambda m: m.step(params, m.init(params, objective), objective, None)[0]  # noqa: E731
    np.testing.assert_allclose(step(NormalizedGD(0.1)), params - 0.1 * g / loss, rtol=1e-14)
    assert float(jnp.linalg.norm(step(NormalizedGD(0.1, normalize="grad")) - params)) == pytest.approx(0.1, rel=1e-14)


def test_normalized_gd_reaches_the_margin_regime_in_few_steps():
    """From L ≈ 1, 3000 steps of η = 3e-3 reach log L < −50·ln 10 (L < 1e-50): log(1/L) grows
    exponentially in τ = kη under the normalized step; GD with the same η stays above 1e-3."""
    traj = dt.simulate(NormalizedGD(3e-3), dt.PE(), PROBLEM, alpha=0.5, n_steps=3000, save_every=300)
    log_loss = np.asarray(PROBLEM.log_train_loss(traj.beta))
    assert log_loss[-1] < -50 * np.log(10) and not traj.diverged
    gd = dt.simulate(dt.GD(3e-3), dt.PE(), PROBLEM, alpha=0.5, n_steps=3000, save_every=300)
    assert float(gd.loss[-1]) > 1e-3


def test_normalized_flow_matches_normalized_gd_to_order_eta():
    """NormalizedGD is the Euler scheme of θ̇ = −∇log L: at τ = 1 the gap halves with η (order 1,
    slope within 0.15 of 1 over η = 0.02, 0.01, 0.005)."""
    flow = dt.simulate(NormalizedFlow(1.0), dt.PE(), PROBLEM, alpha=0.5, n_steps=1, save_every=1)
    gaps = []
    for eta in (0.02, 0.01, 0.005):
        run = dt.simulate(NormalizedGD(eta), dt.PE(), PROBLEM, alpha=0.5, n_steps=round(1 / eta), save_every=round(1 / eta))
        gaps.append(float(jnp.linalg.norm(run.params - flow.params)))
    slope = np.polyfit(np.log([0.02, 0.01, 0.005]), np.log(gaps), 1)[0]
    assert abs(slope - 1.0) < 0.15


def test_sparse_classification_is_separated_by_its_teacher():
    p = SparseClassification(n=50, d=20, k=3, loss="logistic").sample(3)
    assert p.loss == "logistic"
    assert np.all(np.asarray(p.y) * np.asarray(p.X @ p.beta_star) > 0)
    assert set(np.unique(np.asarray(p.y_test))) <= {-1.0, 1.0}
    assert isinstance(p.objective(dt.PE()), LogisticObjective)
    assert isinstance(PROBLEM.objective(dt.PE()), ExponentialObjective)


@pytest.mark.parametrize("call, match", [
    (lambda: dt.from_data(X, Y, loss="hinge"), r"^loss='hinge' is not allowed: choose one of"),
    (lambda: dt.from_data(X, 2 * Y, loss="logistic"), r"^y\[0\]=.* is not allowed: classification labels \(y\) must be -1 or \+1"),
    (lambda: dt.Problem(X, Y, loss="exp"), r"^loss='exp' is not allowed"),
    (lambda: SparseClassification(5, 4, 0), r"^k=0 is not allowed"),
    (lambda: SparseClassification(5, 4, 2, loss="square"), r"^loss='square' is not allowed"),
    (lambda: NormalizedGD(0.1, normalize="sum"), r"^normalize='sum' is not allowed"),
])
def test_bad_inputs_name_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_square_loss_default_unchanged():
    p = dt.from_data(X, Y)
    assert p.loss == "square"
    beta = np.asarray(PROBLEM.beta_star)
    assert float(p.train_loss(beta)) == pytest.approx(0.5 * np.mean((X @ beta - Y) ** 2), rel=1e-14)
