"""Implicit-bias potentials and the interpolators they predict (docs/conventions.md §2).

Every number asserted is fixed by theory: KKT conditions, limits α → ∞ / α → 0 with tolerances
from their expansions, the P-W/P-E identity, and the gradient-flow limit itself.
"""

import itertools

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import minimize

from dln_theory.models import PE, PW
from dln_theory.theory.interpolators import (
    min_l1_interpolant,
    min_l2_interpolant,
    min_potential_interpolant,
    min_potential_interpolant_np,
)
from dln_theory.theory.potentials import (
    depth_link,
    depth_link_inverse,
    depth_potential,
    hyperbolic_entropy,
    woodworth_q,
)

ALPHAS = (1e-6, 1e-3, 1.0, 1e3)


def gaussian(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def sparse(n=40, d=100, k=5, seed=0):
    """Gaussian X, k-sparse β* with N(0, 1) entries, y = Xβ* (Pesme/Even setup, docs/conventions.md §6)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    beta_star = np.zeros(d)
    beta_star[rng.choice(d, k, replace=False)] = rng.standard_normal(k)
    return X, X @ beta_star, beta_star


def off_range(X, s):
    """‖s − P s‖ with P the orthogonal projector onto range(Xᵀ)."""
    q, _ = np.linalg.qr(X.T)
    return np.linalg.norm(s - q @ (q.T @ s))


def null_basis(X):
    return np.linalg.svd(X)[2][X.shape[0] :].T


def mirror(beta, alpha, model):
    """∇ of the potential (up to a positive factor): it lies in range(Xᵀ) at the minimizer."""
    depth = model.depth
    if depth > 2:  # α^{2−D} h_D^{-1}(β/α^D), times max α^{D−2} (so h_D^{-1} for scalar α)
        z = np.asarray(depth_link_inverse(beta / alpha**depth, depth))
        return z * (np.max(alpha) / alpha) ** (depth - 2)
    return np.arcsinh(beta / ((2.0 if isinstance(model, PW) else 1.0) * alpha**2))  # α_E² = 2α_W²


def potential(beta, alpha, model):
    if model.depth > 2:
        return np.asarray(depth_potential(beta, alpha, model.depth))
    return np.asarray((woodworth_q if isinstance(model, PW) else hyperbolic_entropy)(beta, alpha))


CASES = pytest.mark.parametrize("model", [PE(), PW(2), PW(3), PW(4)],
                                ids=["PE", "PW2", "PW3", "PW4"])


# --- potentials --------------------------------------------------------------------------------


def test_woodworth_q_is_twice_hyperbolic_entropy_and_gradients():
    """Q_{α_W} = 2ψ_{√2α_W}; ∇ψ_α = ½ arcsinh(β/α²), ∇Q_α = arcsinh(β/2α²); both vanish at 0."""
    rng = np.random.default_rng(1)
    beta = rng.standard_normal(60) * np.logspace(-8, 8, 60)
    for alpha in (0.3, np.logspace(-3, 2, 60)):
        twice_psi = 2 * hyperbolic_entropy(beta[:, None], np.sqrt(2) * alpha)
        np.testing.assert_allclose(woodworth_q(beta[:, None], alpha), twice_psi, rtol=1e-13)
        grad = jax.grad(hyperbolic_entropy)(jnp.asarray(beta), alpha)
        np.testing.assert_allclose(grad, 0.5 * np.arcsinh(beta / alpha**2), rtol=1e-13, atol=1e-300)
        grad = jax.grad(woodworth_q)(jnp.asarray(beta), alpha)
        np.testing.assert_allclose(grad, np.arcsinh(beta / (2 * alpha**2)), rtol=1e-13, atol=1e-300)
    assert float(hyperbolic_entropy(jnp.zeros(3), 0.1)) == 0.0
    mpmath.mp.dps = 40  # the textbook form in high precision: no cancellation at small β
    z = [-30.0, -0.5, 1e-3, 1e-9, 2.0]
    a2 = mpmath.mpf(0.7) ** 2
    exact = [(b * mpmath.asinh(b / a2) - mpmath.sqrt(b**2 + a2**2) + a2) / 2 for b in z]
    psi = hyperbolic_entropy(np.array(z)[:, None], 0.7)
    np.testing.assert_allclose(psi, np.array(exact, dtype=float), rtol=1e-14)


@pytest.mark.parametrize("depth", [3, 4, 7])
def test_depth_link_inverse_round_trips(depth):
    z = np.concatenate([np.linspace(-1 + 1e-6, 1 - 1e-6, 101), [1e-300, 1e-12, -1e-8]])
    np.testing.assert_allclose(depth_link_inverse(depth_link(z, depth), depth), z, rtol=1e-13)
    b = np.concatenate([-np.logspace(-12, 6, 40), np.logspace(-12, 6, 40)])
    np.testing.assert_allclose(depth_link(depth_link_inverse(b, depth), depth), b, rtol=1e-12)


@pytest.mark.parametrize("depth", [3, 4, 7])
def test_depth_potential_gradient_is_inverse_link_and_convex(depth):
    """Central differences of Q^D_α match h_D^{-1}(β/α^D) (O(h²) + rounding < 1e-7); convex."""
    alpha = 0.7
    scale = alpha**depth
    beta = np.concatenate([-np.logspace(-4, 8, 25), np.logspace(-4, 8, 25)])
    h = 1e-5 * np.abs(beta)
    q = lambda b: np.asarray(depth_potential(b[:, None], alpha, depth))  # noqa: E731  per entry
    fd = (q(beta + h) - q(beta - h)) / (2 * h)
    grad = np.asarray(depth_link_inverse(beta / scale, depth))
    np.testing.assert_allclose(fd, grad, rtol=1e-7)
    autodiff = jax.grad(depth_potential)(jnp.asarray(beta), alpha, depth)
    np.testing.assert_allclose(autodiff, grad, rtol=1e-14)
    order = np.argsort(beta)  # convex: the gradient increases, and chords lie above the graph
    assert np.all(np.diff(fd[order]) > 0)
    assert np.all(q(beta) > 0) and float(depth_potential(jnp.zeros(2), alpha, depth)) == 0.0
    rng = np.random.default_rng(2)
    b1, b2 = rng.standard_normal((2, 200, 5)) * 10.0 ** rng.uniform(-3, 3, (2, 200, 1))
    Q = lambda b: np.asarray(depth_potential(b, alpha, depth))  # noqa: E731
    assert np.all(Q(0.5 * (b1 + b2)) <= 0.5 * (Q(b1) + Q(b2)) * (1 + 1e-14))


# --- the min-potential interpolant ---------------------------------------------------------------


@CASES
def test_kkt_and_feasibility(model):
    """Xβ = y to 1e-10 and ∇(potential)(β) ∈ range(Xᵀ) to 1e-8, for α from 1e-6 to 1e3."""
    X, y = gaussian(10, 100)
    for alpha in ALPHAS:
        sol = min_potential_interpolant_np(X, y, alpha, model, full_output=True)
        assert np.linalg.norm(X @ sol.beta - y) <= 1e-10 * np.linalg.norm(y), alpha
        assert sol.residual <= 1e-10 and sol.iterations < 500
        assert off_range(X, mirror(sol.beta, alpha, model)) <= 1e-8, alpha


@CASES
def test_minimizer_beats_feasible_points(model):
    X, y = gaussian(10, 100, seed=3)
    N = null_basis(X)
    scales = np.repeat([1e-3, 1e-1, 1.0], 20)[:, None]
    xi = np.random.default_rng(4).standard_normal((60, N.shape[1])) * scales
    for alpha in (1e-3, 1.0):
        beta = np.asarray(min_potential_interpolant(X, y, alpha, model))
        best = potential(beta, alpha, model)
        assert np.all(potential(beta + xi @ N.T, alpha, model) > best)


def test_pw_equals_pe_at_sqrt2_alpha():
    """Q_{α_W} = 2ψ_{√2α_W}: P-W at α_W and P-E at √2α_W have the same minimizer (also tilted)."""
    X, y = gaussian(10, 100)
    z0 = np.random.default_rng(5).standard_normal(100)
    for alpha in (1e-4, 0.3, 10.0):
        np.testing.assert_allclose(
            min_potential_interpolant(X, y, alpha, PW(2), z0=z0),
            min_potential_interpolant(X, y, np.sqrt(2) * alpha, PE(), z0=z0),
            rtol=1e-9,
            atol=1e-13,
        )


def test_large_alpha_gives_min_l2():
    """ψ_α = (‖β‖² − ‖β‖₄⁴/(12α⁴))/(4α²) + O(α⁻¹⁰), so β_α = β₂ + P_N(β₂³)/(6α⁴) + O(‖β‖⁵/α⁸).

    (KKT: β − β³/(6α⁴) ∈ range(Xᵀ), β − β₂ ∈ null(X).) At α = 1e3 the correction is below
    rounding; at α = 3 the first-order term is checked to relative O(max β₂²/α⁴).
    """
    X, y = gaussian(10, 100)
    beta2 = min_l2_interpolant(X, y)
    np.testing.assert_allclose(beta2, np.linalg.pinv(X) @ y, rtol=1e-10)
    N = null_basis(X)
    correction = lambda a: N @ (N.T @ beta2**3) / (6 * a**4)  # noqa: E731
    rounding = 1e-14 * np.linalg.norm(beta2)
    beta = np.asarray(min_potential_interpolant(X, y, 1e3))
    assert np.linalg.norm(beta - beta2) <= 1.1 * np.linalg.norm(correction(1e3)) + rounding
    alpha = 3.0
    beta = np.asarray(min_potential_interpolant(X, y, alpha))
    second_order = 10 * np.max(beta2**2) / alpha**4
    error = np.linalg.norm(beta - beta2 - correction(alpha))
    assert error <= second_order * np.linalg.norm(correction(alpha))


def test_small_alpha_gives_min_l1():
    """ψ_α = (L/2)‖β‖₁ + R(β), L = log(1/α²), R bounded on bounded sets (asinh x ≈ log 2x)

    So 2ψ_α/L = ‖β‖₁ + O(1/L); the ℓ1 minimizer is unique and sharp (it recovers β*), hence
    ‖β_α − β₁‖₁/‖β₁‖₁ = O(1/L): tolerance 1/L ≈ 0.036 at α = 1e-6. (With a strict dual
    certificate of margin γ the error is in fact O(α^{2γ}); the test also asserts that it shrinks
    with α.)
    """
    X, y, beta_star = sparse()
    beta1 = min_l1_interpolant(X, y)
    np.testing.assert_allclose(beta1, beta_star, atol=1e-9)  # exact recovery: β₁ is unique
    alphas = jnp.array([1e-2, 1e-4, 1e-6])
    betas = np.asarray(jax.vmap(lambda a: min_potential_interpolant(X, y, a))(alphas))
    err = np.abs(betas - beta1).sum(axis=1) / np.abs(beta1).sum()
    assert np.all(np.diff(err) < 0), err
    assert err[-1] <= 1.0 / np.log(1.0 / 1e-12), err


def test_min_l1_lp_matches_brute_force():
    """An LP optimum is a vertex: β supported on n columns with X_S β_S = y. Enumerate them all."""
    X, y = gaussian(3, 7, seed=6)
    vertices = []
    for S in itertools.combinations(range(7), 3):
        beta = np.zeros(7)
        beta[list(S)] = np.linalg.solve(X[:, S], y)
        vertices.append(beta)
    norms = np.abs(vertices).sum(axis=1)
    order = np.argsort(norms)
    assert norms[order[1]] - norms[order[0]] > 1e-6  # unique minimizer
    beta1 = min_l1_interpolant(X, y)
    np.testing.assert_allclose(beta1, vertices[order[0]], atol=1e-9)
    np.testing.assert_allclose(X @ beta1, y, atol=1e-9)


def test_matches_scipy_slsqp_on_tiny_problem():
    X, y = gaussian(3, 6, seed=7)
    alpha = 0.5
    f = lambda b: float(hyperbolic_entropy(b, alpha))  # noqa: E731
    jac = lambda b: 0.5 * np.arcsinh(b / alpha**2)  # noqa: E731
    res = minimize(
        f,
        min_l2_interpolant(X, y),
        jac=jac,
        method="SLSQP",
        constraints={"type": "eq", "fun": lambda b: X @ b - y, "jac": lambda b: X},
        options={"ftol": 1e-15, "maxiter": 500},
    )
    assert res.success
    beta = np.asarray(min_potential_interpolant(X, y, alpha))
    np.testing.assert_allclose(beta, res.x, atol=1e-6)
    assert f(beta) <= f(res.x) + 1e-12


def test_per_coordinate_alpha():
    X, y = gaussian(10, 100)
    scalar = min_potential_interpolant(X, y, 0.1)
    uniform = min_potential_interpolant(X, y, np.full(100, 0.1))
    np.testing.assert_allclose(uniform, scalar, rtol=1e-12, atol=1e-15)
    alpha = np.logspace(-4, 1, 100)
    beta = np.asarray(min_potential_interpolant(X, y, alpha))
    assert np.linalg.norm(X @ beta - y) <= 1e-10 * np.linalg.norm(y)
    assert off_range(X, np.arcsinh(beta / alpha**2)) <= 1e-8


def test_tilt():
    """argmin ψ_α − ½⟨z0, β⟩: arcsinh(β/α²) − z0 ∈ range(Xᵀ); a tilt in range(Xᵀ) does nothing."""
    X, y = gaussian(10, 100)
    rng = np.random.default_rng(8)
    z0 = rng.standard_normal(100)
    beta = np.asarray(min_potential_interpolant(X, y, 0.01, z0=z0))
    assert np.linalg.norm(X @ beta - y) <= 1e-10 * np.linalg.norm(y)
    assert off_range(X, np.arcsinh(beta / 1e-4) - z0) <= 1e-8
    np.testing.assert_allclose(
        min_potential_interpolant(X, y, 0.01, z0=X.T @ rng.standard_normal(10)),
        min_potential_interpolant(X, y, 0.01),
        rtol=1e-9,
        atol=1e-14,
    )


def test_vmap_over_alpha_equals_loop():
    X, y = gaussian(10, 100)
    alphas = jnp.logspace(-5, 2, 8)
    solve = lambda a: min_potential_interpolant(X, y, a, PW(3), full_output=True)  # noqa: E731
    batched = jax.vmap(solve)(alphas)
    for i, alpha in enumerate(alphas):
        one = solve(alpha)
        np.testing.assert_allclose(batched.beta[i], one.beta, rtol=1e-12, atol=1e-15)
        assert int(batched.iterations[i]) == int(one.iterations)


def _flow_limit(X, y, alpha, depth):
    """β(∞) of gradient flow on L = ‖Xβ − y‖²/2n: P-E (u(0) = √2α, v(0) = 0) or P-W depth D."""
    n, d = X.shape

    def rhs(_, theta):
        a, b = theta[:d], theta[d:]
        beta = a * b if depth == 2 else a**depth - b**depth
        g = X.T @ (X @ beta - y) / n
        if depth == 2:  # (u, v): u̇ = −v g, v̇ = −u g
            return np.concatenate([-b * g, -a * g])
        return np.concatenate([-depth * a ** (depth - 1) * g, depth * b ** (depth - 1) * g])

    init = np.concatenate([np.sqrt(2) * alpha, 0 * alpha] if depth == 2 else [alpha, alpha])
    sol = solve_ivp(rhs, (0, 2e4), init, method="LSODA", rtol=1e-12, atol=1e-14)
    a, b = sol.y[:d, -1], sol.y[d:, -1]
    return a * b if depth == 2 else a**depth - b**depth


@pytest.mark.parametrize("model", [PE(), PW(3)], ids=["PE", "PW3"])
def test_gradient_flow_limit_with_per_coordinate_alpha(model):
    """The interpolant is where gradient flow ends, also for per-coordinate α (docs/conventions.md §2)."""
    X, y = gaussian(3, 6, seed=9)
    alpha = np.linspace(0.2, 0.7, 6)
    flow = _flow_limit(X, y, alpha, model.depth)
    assert np.linalg.norm(X @ flow - y) <= 1e-7
    beta = min_potential_interpolant(X, y, alpha, model)
    np.testing.assert_allclose(beta, flow, atol=1e-9)


# --- validation ----------------------------------------------------------------------------------

X0, Y0 = gaussian(4, 8)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: min_potential_interpolant(X0[0], Y0, 0.1), "X"),
        (lambda: min_potential_interpolant(X0, Y0[:3], 0.1), "y"),
        (lambda: min_l1_interpolant(X0, Y0[:3]), "y"),
        (lambda: min_l2_interpolant(X0, Y0[:, None]), "y"),
        (lambda: min_potential_interpolant(X0, Y0, 0.0), "alpha"),
        (lambda: min_potential_interpolant(X0, Y0, -1.0), "alpha"),
        (lambda: min_potential_interpolant(X0, Y0, np.inf), "alpha"),
        (lambda: min_potential_interpolant(X0, Y0, np.nan), "alpha"),
        (lambda: min_potential_interpolant(X0, Y0, np.ones(3)), "alpha"),
        (lambda: min_potential_interpolant(X0, Y0, 0.1, PW(1)), "depth"),
        (lambda: min_potential_interpolant(X0, Y0, 0.1, PW(2.5)), "depth"),
        (lambda: min_potential_interpolant(X0, Y0, 0.1, "PE"), "model"),
        (lambda: min_potential_interpolant(X0, Y0, 0.1, "XY"), "model"),
        (lambda: min_potential_interpolant(X0, Y0, 0.1, PW(3), z0=np.zeros(8)), "z0"),
        (lambda: min_potential_interpolant(X0, Y0, 0.1, z0=np.zeros(3)), "z0"),
        (lambda: depth_potential(np.ones(3), 0.1, 2), "depth"),
    ],
)
def test_invalid_input_raises_value_error_naming_parameter(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
