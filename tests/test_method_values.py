"""Value checks of the methods against independent sources (issue [7]).

Closed forms on the P-E DLN β = u ⊙ v (the input gradient of a linear predictor is β), a convex
solve (scikit-learn's lasso), and the first two moments of the stochastic methods over many keys
with tolerances set by the standard error of the estimate. Each test names the source it
compares with; the update rules themselves are checked step by step against NumPy loops by the
``matches_reference_loop_*`` claims (``dln_theory/verify/values.py``).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from sklearn.linear_model import Lasso

import dln_theory as dt
from dln_theory.objective import Objective
from dln_theory.verify import reference, values

#: tolerance in standard errors of a Monte Carlo moment: a false alarm has probability < 1e-6.
Z = 5.0


def _setup(n=8, d=12, seed=0):
    problem = dt.SparseRegression(n=n, d=d, k=2).sample(seed)
    objective = Objective(dt.PE(), problem.X, problem.y)
    params = 0.5 * jax.random.normal(jax.random.PRNGKey(seed + 1), (2, d))
    return problem, objective, params


def _one_step(method, objective, params, keys):
    """θ after one step of ``method`` from ``params``, one row per key (the public step)."""
    state = method.init(params, objective)
    return jax.vmap(lambda key: method.step(params, state, objective, key)[0])(keys)


def test_datagrad_direction_is_the_closed_form_in_beta():
    """DataGrad on a linear predictor: ∂ℓ_i/∂x_i = r_i β, penalty 2λL‖β‖² (Varga et al. eq. 3).

    Tolerance 1e-12 relative: a few dozen float64 operations on O(1) numbers.
    """
    _, objective, params = _setup()
    X, y = np.asarray(objective.X), np.asarray(objective.y)
    for lam in (0.1, 1.0):
        got = np.asarray(dt.DataGrad(0.1, lam=lam).direction(params, objective, jax.random.PRNGKey(0)))
        want = reference.datagrad_direction(X, y, np.asarray(params), lam)
        assert np.max(np.abs(got - want)) <= 1e-12 * np.max(np.abs(want))


def test_datagrad_endpoint_minimizes_its_closed_form_objective():
    """Overdetermined data (n > d, no interpolant): GD with DataGrad ends at argmin L(β)(1 + 2λ‖β‖²).

    The reference is BFGS on the closed form in β (started at least squares, gradient norm
    < 1e-12). Tolerance 1e-7 relative: the DLN run converges linearly, to ‖∇‖ ≈ 1e-12 by the
    last of its 20,000 steps, and the minimizer's condition number is ≈ 10 on these data.
    """
    problem = dt.SparseRegression(n=30, d=6, k=2, sigma=0.5).sample(3)
    X, y, lam = np.asarray(problem.X), np.asarray(problem.y), 0.2

    def objective(beta):
        r = X @ beta - y
        loss = 0.5 * np.mean(r**2)
        g = X.T @ r / len(y)
        return loss * (1 + 2 * lam * beta @ beta), g * (1 + 2 * lam * beta @ beta) + 4 * lam * loss * beta

    start = np.linalg.lstsq(X, y, rcond=None)[0]
    want = scipy.optimize.minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-13}).x
    traj = dt.simulate(dt.DataGrad(0.2, lam=lam), dt.PE(), problem, 1.0, 20_000, 20_000)
    got = np.asarray(traj.beta[-1])
    assert np.linalg.norm(got - want) <= 1e-7 * np.linalg.norm(want)
    assert np.linalg.norm(got - start) > 1e-3 * np.linalg.norm(start)  # the penalty moved it


def test_spectreg_direction_is_ridge_with_a_chi2_weight():
    """SpectReg on a scalar-output linear predictor: ∂(r f)/∂x = rβ, so D = ∇L + λ r² ∇_θ‖β‖² with
    r ~ N(0, 1): in expectation ridge in β. Per key the direction lies on that line to 1e-12; over
    4,000 keys c = r² has mean 1 and second moment 3 (χ²₁), within Z standard errors.
    """
    _, objective, params = _setup()
    lam, keys = 0.3, jax.random.split(jax.random.PRNGKey(7), 4000)
    method = dt.SpectReg(0.1, lam=lam)
    dirs = np.asarray(jax.vmap(lambda k: method.direction(params, objective, k))(keys)).reshape(len(keys), -1)
    grad = np.asarray(objective.grad(params)).ravel()
    u, v = np.asarray(params)
    ridge = np.concatenate([2 * u * v * v, 2 * u * v * u])  # ∇_θ‖u ⊙ v‖²
    c = (dirs - grad) @ ridge / (lam * ridge @ ridge)
    residual = dirs - grad - lam * c[:, None] * ridge
    assert np.max(np.abs(residual)) <= 1e-12 * np.max(np.abs(dirs))
    se1, se2 = np.std(c) / np.sqrt(len(c)), np.std(c**2) / np.sqrt(len(c))
    assert abs(c.mean() - 1.0) <= Z * se1
    assert abs(np.mean(c**2) - 3.0) <= Z * se2


def test_per_example_gr_direction_is_the_closed_form():
    """GR(per_example=True): ∇_θ[L + (γ/2n)Σ_i‖∇ℓ_i‖²], ‖∇_θℓ_i‖² = r_i² Σ_j x_ij²(u_j² + v_j²),
    against the hand-derived gradient (`verify.reference`) to 1e-12, and not the full-batch GR."""
    _, objective, params = _setup()
    X, y, theta = np.asarray(objective.X), np.asarray(objective.y), np.asarray(params)
    got = np.asarray(dt.GR(0.1, gamma=0.4, per_example=True).direction(params, objective, jax.random.PRNGKey(0)))
    want = reference.gr_per_example_direction(X, y, theta, 0.4)
    assert np.max(np.abs(got - want)) <= 1e-12 * np.max(np.abs(want))
    full = reference.gr_direction(X, y, theta, 0.4)
    assert np.max(np.abs(got - full)) > 1e-3 * np.max(np.abs(want))


def test_per_example_minus_full_batch_gr_is_the_gradient_of_the_variance():
    """(1/n)Σ‖∇ℓ_i‖² = ‖∇L‖² + (1/n)Σ‖∇ℓ_i − ∇L‖², so the per-example and full-batch GR directions
    (γ = 1) differ by ∇_θ of ½·mean_i‖∇ℓ_i − ∇L‖², here by central differences of its value."""
    _, objective, params = _setup(seed=2)
    X, y, theta = np.asarray(objective.X), np.asarray(objective.y), np.asarray(params)
    n = len(y)
    # ∇ of (γ/2n)Σ‖∇ℓ_i − ∇L‖² by central differences of its closed form value.
    def variance(t):
        u, v = t.reshape(2, -1)
        r = X @ (u * v) - y
        per = np.stack([np.concatenate([r[i] * X[i] * v, r[i] * X[i] * u]) for i in range(n)])
        return 0.5 * np.mean(np.sum((per - per.mean(axis=0)) ** 2, axis=1))

    step = 1e-5
    fd = np.array([(variance(theta.ravel() + step * e) - variance(theta.ravel() - step * e)) / (2 * step)
                   for e in np.eye(theta.size)])
    per_example = reference.gr_per_example_direction(X, y, theta, 1.0)
    full = reference.gr_direction(X, y, theta, 1.0)
    # central differences: error O(step²·‖∇³‖) ≈ 1e-10 relative here.
    assert np.max(np.abs((per_example - full).ravel() - fd)) <= 1e-8 * np.max(np.abs(fd))


def test_label_noise_step_has_the_predicted_mean_and_variance():
    """One full-batch SGD step with labels y + ξ, ξ ~ N(0, σ²I): the step is linear in ξ, so for a direction w,
    wᵀθ₁ has mean wᵀ(θ₀ − η∇L) and variance η²σ²‖Xa‖²/n², a = w_u ⊙ v + w_v ⊙ u (Pesme et al.
    arXiv:2106.09524 §5). 20,000 keys; tolerance Z standard errors of each (Gaussian: the
    variance's standard error is s²√(2/(N − 1)))."""
    _, objective, params = _setup()
    eta, sigma, n = 0.1, 0.5, objective.n
    keys = jax.random.split(jax.random.PRNGKey(3), 20_000)
    after = np.asarray(_one_step(dt.SGD(eta, batch_size=n, label_noise=sigma), objective, params, keys))
    w = np.asarray(jax.random.normal(jax.random.PRNGKey(4), params.shape))
    proj = np.tensordot(after, w, axes=2)
    u, v = np.asarray(params)
    mean = np.sum(w * (np.asarray(params) - eta * np.asarray(objective.grad(params))))
    a = w[0] * v + w[1] * u
    var = (eta * sigma / n) ** 2 * np.sum((np.asarray(objective.X) @ a) ** 2)
    assert abs(proj.mean() - mean) <= Z * np.sqrt(var / len(proj))
    assert abs(proj.var(ddof=1) - var) <= Z * var * np.sqrt(2 / (len(proj) - 1))


@pytest.mark.parametrize("replacement, factor_name", [(True, "1/B"), (False, "(n − B)/(B(n − 1))")])
def test_minibatch_gradient_has_the_sampling_moments(replacement, factor_name):
    """One SGD step on B of n examples: E[∇L_B] = ∇L; Var(wᵀ∇L_B) = V/B with replacement and
    V(n − B)/(B(n − 1)) without (the first batch of a random reshuffle is a uniform B-subset),
    V = (1/n)Σ_i (wᵀ∇ℓ_i − wᵀ∇L)². Here n = 8, B = 2: the two differ by 14 %, over 15 standard
    errors at 40,000 keys, so each formula also rejects the other sampling scheme."""
    _, objective, params = _setup()
    eta, B, n = 1.0, 2, objective.n
    keys = jax.random.split(jax.random.PRNGKey(11), 40_000)
    method = dt.SGD(eta, batch_size=B, replacement=replacement)
    grads = (np.asarray(params)[None] - np.asarray(_one_step(method, objective, params, keys))) / eta
    w = np.asarray(jax.random.normal(jax.random.PRNGKey(5), params.shape))
    proj = np.tensordot(grads, w, axes=2)
    per_example = np.array([np.sum(w * np.asarray(objective.subset(jnp.array([i])).grad(params))) for i in range(n)])
    V = per_example.var()
    with_replacement, without = V / B, V * (n - B) / (B * (n - 1))
    want, other = (with_replacement, without) if replacement else (without, with_replacement)
    se_var = np.sqrt(np.mean((proj - proj.mean()) ** 4) - proj.var() ** 2) / np.sqrt(len(proj))
    assert abs(proj.mean() - per_example.mean()) <= Z * np.sqrt(want / len(proj))
    assert abs(proj.var() - want) <= Z * se_var, factor_name
    assert abs(proj.var() - other) > Z * se_var


def test_lasso_solver_of_the_weight_decay_claim_matches_scikit_learn():
    """The coordinate descent of ``weight_decay_endpoint_lasso`` against scikit-learn's Lasso
    (objective (1/2n)‖y − Xβ‖² + λ‖β‖₁, the same scaling as L) to 1e-10 relative."""
    problem = dt.SparseRegression(n=20, d=30, k=3).sample(0)
    X, y = np.asarray(problem.X), np.asarray(problem.y)
    for lam in (0.02, 0.1):
        ours = values.lasso(X, y, lam)
        sk = Lasso(alpha=lam, fit_intercept=False, tol=1e-16, max_iter=1_000_000).fit(X, y).coef_
        assert np.linalg.norm(ours - sk) <= 1e-10 * np.linalg.norm(sk)


def test_weight_decay_on_pe_ends_at_the_lasso_solution_of_scikit_learn():
    """GD with weight decay λ on P-E: min (u² + v²)/2 over uv = β is |β|, so the endpoint is
    argmin L + λ‖β‖₁; against scikit-learn on a second problem, to 1e-8 relative (linear
    convergence over 40,000 steps, rate ≥ ηλ off the support)."""
    problem = dt.SparseRegression(n=10, d=20, k=2).sample(2)
    X, y, lam = np.asarray(problem.X), np.asarray(problem.y), 0.05
    sk = Lasso(alpha=lam, fit_intercept=False, tol=1e-16, max_iter=1_000_000).fit(X, y).coef_
    traj = dt.simulate(dt.GD(0.2, weight_decay=lam), dt.PE(), problem, 0.5, 40_000, 40_000)
    assert np.linalg.norm(np.asarray(traj.beta[-1]) - sk) <= 1e-8 * np.linalg.norm(sk)
