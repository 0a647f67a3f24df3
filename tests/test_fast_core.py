"""Fast closed-form checks of the theory formulas: the test set of ``make mutants``.

Each test takes well under a second (also with ``JAX_DISABLE_JIT=1``, as the mutation run uses)
and compares a formula of ``dln_theory.theory`` with a value that the mathematics fixes:
a textbook formula evaluated in NumPy or mpmath, a Legendre/KKT condition, a known limit.
Tolerances: 1e-12 relative where both sides are direct float64 evaluations of the same
closed form (a few ulps of rounding per operation); looser ones are justified where they occur.
"""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy.optimize import brentq

from dln_theory import PE, PW
from dln_theory.theory import interpolators, potentials

RTOL = 1e-12
BETA = np.array([-2.5, -0.3, 0.0, 1e-3, 0.7, 4.0])
ALPHA = np.array([0.2, 0.5, 1.0, 0.1, 0.3, 2.0])


def _psi(beta, alpha):
    """ψ_α(β) = ½ Σ (β asinh(β/α²) − √(β² + α⁴) + α²), mpmath at 30 digits."""
    mpmath.mp.dps = 30
    return float(sum(0.5 * (b * mpmath.asinh(b / a**2) - mpmath.sqrt(b**2 + a**4) + a**2)
                     for b, a in zip(map(mpmath.mpf, beta), map(mpmath.mpf, alpha))))


def _woodworth(beta, alpha):
    """Q_α(β) = Σ α² q(β/α²), q(z) = 2 − √(4 + z²) + z asinh(z/2), mpmath at 30 digits."""
    mpmath.mp.dps = 30
    out = 0
    for b, a in zip(map(mpmath.mpf, beta), map(mpmath.mpf, alpha)):
        z = b / a**2
        out += a**2 * (2 - mpmath.sqrt(4 + z**2) + z * mpmath.asinh(z / 2))
    return float(out)


def _h(z, depth):
    """h_D(z) = (1 − z)^{−p} − (1 + z)^{−p}, p = D/(D − 2), mpmath at 40 digits (no cancellation)."""
    mpmath.mp.dps = 40
    p = mpmath.mpf(depth) / (depth - 2)
    one = lambda s: float((1 - s) ** (-p) - (1 + s) ** (-p))  # noqa: E731
    return np.vectorize(lambda s: one(mpmath.mpf(float(s))))(z)


def _q_depth(b, depth):
    """q_D(b) = b z − H_D(z) + H_D(0), z = h_D^{-1}(b) (Legendre transform), by bisection."""
    p = depth / (depth - 2)
    z = brentq(lambda s: float(_h(s, depth)) - b, -1 + 1e-15, 1 - 1e-15, xtol=1e-15, rtol=1e-15)
    H = lambda s: ((1 - s) ** (1 - p) + (1 + s) ** (1 - p)) / (p - 1)  # noqa: E731
    return b * z - H(z) + H(0.0)


# --- potentials -------------------------------------------------------------------------------

def test_hyperbolic_entropy_closed_form_and_gradient():
    assert float(potentials.hyperbolic_entropy(BETA, ALPHA)) == pytest.approx(_psi(BETA, ALPHA),
                                                                             rel=RTOL)
    grad = jax.grad(lambda b: potentials.hyperbolic_entropy(b, ALPHA))(jnp.asarray(BETA))
    np.testing.assert_allclose(grad, 0.5 * np.arcsinh(BETA / ALPHA**2), rtol=RTOL, atol=1e-15)
    assert float(potentials.hyperbolic_entropy(np.zeros(3), 0.4)) == 0.0  # ψ_α(0) = 0


def test_hyperbolic_entropy_scalar_alpha_and_batch_axis():
    betas = np.stack([BETA, -BETA])
    got = potentials.hyperbolic_entropy(betas, 0.3)
    assert got.shape == (2,)
    want = _psi(BETA, np.full(BETA.shape, 0.3))
    np.testing.assert_allclose(got, [want, want], rtol=RTOL)  # ψ is even in β


def test_woodworth_q_closed_form_and_twice_psi():
    assert float(potentials.woodworth_q(BETA, ALPHA)) == pytest.approx(_woodworth(BETA, ALPHA),
                                                                       rel=RTOL)
    # Q_{α_W} = 2 ψ_{α_E}, α_E = √2 α_W (Woodworth vs Even conventions).
    assert float(potentials.woodworth_q(BETA, ALPHA)) == pytest.approx(
        2 * _psi(BETA, np.sqrt(2) * ALPHA), rel=RTOL)
    grad = jax.grad(lambda b: potentials.woodworth_q(b, ALPHA))(jnp.asarray(BETA))
    np.testing.assert_allclose(grad, np.arcsinh(BETA / (2 * ALPHA**2)), rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("bad,match", [(dict(alpha=-1.0), "^alpha="), (dict(alpha=0.0), "^alpha="),
                                       (dict(beta=[np.nan]), "^beta contains 1 NaN"),
                                       (dict(beta=[1j]), "^beta"),
                                       (dict(alpha=np.ones(4)), "^alpha has shape")])
def test_potentials_refuse_bad_inputs(bad, match):
    if "alpha" in bad and np.ndim(bad["alpha"]):  # the message names both shapes
        match = r"^alpha has shape \(4,\): .* beta of shape \(6,\)"

    beta, alpha = bad.get("beta", BETA), bad.get("alpha", ALPHA)
    for fn in (potentials.hyperbolic_entropy, potentials.woodworth_q):
        with pytest.raises(ValueError, match=match):
            fn(beta, alpha)
    with pytest.raises(ValueError, match=match):
        potentials.depth_potential(beta, alpha, 3)


@pytest.mark.parametrize("depth", [3, 4, 7])
def test_depth_link_closed_form_and_inverse(depth):
    z = np.array([-0.999, -0.6, -1e-4, 0.0, 0.3, 0.5, 0.9, 0.9999])
    np.testing.assert_allclose(potentials.depth_link(z, depth), _h(z, depth), rtol=1e-11, atol=0)
    b = np.array([-1e6, -40.0, -1.0, -1e-9, 0.0, 1e-3, 0.5, 7.0, 3e4])
    z_back = np.asarray(potentials.depth_link_inverse(b, depth))
    assert np.all(np.abs(z_back) < 1) and np.all(np.sign(z_back) == np.sign(b))
    # h_D(h_D^{-1}(b)) = b: h_D has relative condition number ≤ ~2p/(1 − |z|) near |z| → 1,
    # so 1e-9 relative covers the 1e6 end; the interior is at 1e-12.
    np.testing.assert_allclose(_h(z_back, depth), b, rtol=1e-9, atol=1e-300)
    inner = np.abs(b) < 100
    np.testing.assert_allclose(_h(z_back[inner], depth), b[inner], rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("depth", [3, 5])
def test_depth_potential_legendre_form_and_gradient(depth):
    beta, alpha = np.array([-3.0, -0.2, 0.0, 0.05, 1.5]), np.array([0.7, 1.2, 0.5, 0.9, 1.1])
    scale = alpha**depth
    want = sum(s * _q_depth(b / s, depth) for b, s in zip(beta, scale))
    # brentq resolves z to 1e-15, q_D is stationary in z (q_D' = h_D^{-1}), so 1e-12 holds.
    assert float(potentials.depth_potential(beta, alpha, depth)) == pytest.approx(want, rel=1e-12)
    grad = jax.grad(lambda b: potentials.depth_potential(b, alpha, depth))(jnp.asarray(beta))
    np.testing.assert_allclose(grad, potentials.depth_link_inverse(beta / scale, depth), rtol=RTOL)


@pytest.mark.parametrize("bad", [dict(z=1.0), dict(z=-1.5), dict(depth=2), dict(depth=2.5)])
def test_depth_link_refuses_bad_inputs(bad):
    match = "^depth=" if "depth" in bad else "^z="
    with pytest.raises((ValueError, TypeError), match=match):
        potentials.depth_link(bad.get("z", 0.5), bad.get("depth", 3))
    if "depth" in bad:
        with pytest.raises((ValueError, TypeError), match=match):
            potentials.depth_link_inverse(0.5, bad["depth"])
        with pytest.raises((ValueError, TypeError), match=match):
            potentials.depth_potential(BETA, ALPHA, bad["depth"])


@pytest.mark.parametrize("x", [-0.5, -5e-3, -1e-5, 2e-6, 9e-3, 0.011, 0.3])
def test_bregman_helpers_without_cancellation(x):
    mpmath.mp.dps = 40
    X = mpmath.mpf(x)
    want = float(mpmath.expm1(X) - X)
    assert float(potentials.exp_bregman(jnp.asarray(x))) == pytest.approx(want, rel=1e-13)
    k = -1.5  # (1 + r)^k − 1 − k r with k = 1 − p < 0
    want = float((1 + X) ** k - 1 - k * X)
    got = potentials.pow_bregman(jnp.log1p(jnp.asarray(x)), jnp.asarray(x), k)
    assert float(got) == pytest.approx(want, rel=1e-13)


# --- interpolators ----------------------------------------------------------------------------

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 6))
BETA_STAR = np.array([1.5, 0.0, -0.8, 0.0, 0.0, 0.0])
Y = X @ BETA_STAR


def _null_projector(X):
    return np.eye(X.shape[1]) - np.linalg.pinv(X) @ X


def test_min_l2_is_the_pseudoinverse_solution():
    np.testing.assert_allclose(interpolators.min_l2_interpolant(X, Y), np.linalg.pinv(X) @ Y,
                               rtol=1e-12, atol=1e-13)


def test_min_l1_satisfies_the_lp_optimality_conditions():
    beta = interpolators.min_l1_interpolant(X, Y)
    np.testing.assert_allclose(X @ beta, Y, atol=1e-9)  # HiGHS feasibility tolerance 1e-10
    # No feasible direction in null(X) decreases ‖β‖₁: compare with a dense set of them.
    null = np.linalg.svd(X)[2][3:]
    dirs = RNG.standard_normal((400, 3)) @ null
    l1 = np.abs(beta).sum()
    assert np.all(np.abs(beta + 1e-3 * dirs).sum(axis=1) >= l1 - 1e-9)
    assert l1 <= np.abs(BETA_STAR).sum() + 1e-9


@pytest.mark.parametrize("model,grad_potential", [
    (PE(), lambda b, a: 0.5 * np.arcsinh(b / a**2)),
    (PW(2), lambda b, a: np.arcsinh(b / (2 * a**2))),
    # depth 3, per-coordinate α: argmin Σ α_i² q_D(β_i/α_i^D), gradient α^{2−D} h_D^{-1}(β/α^D)
    (PW(3), lambda b, a: np.asarray(potentials.depth_link_inverse(b / a**3, 3)) / a),
    (PW(4), lambda b, a: np.asarray(potentials.depth_link_inverse(b / a**4, 4)) / a**2),
])
def test_min_potential_interpolant_kkt(model, grad_potential):
    # argmin_{Xβ=y} Φ(β) ⇔ Xβ = y and ∇Φ(β) ∈ range(Xᵀ), i.e. P_null ∇Φ(β) = 0.
    alpha = np.array([0.3, 0.5, 0.2, 0.4, 0.6, 0.25])
    sol = interpolators.min_potential_interpolant(X, Y, alpha, model, full_output=True)
    beta = np.asarray(sol.beta)
    np.testing.assert_allclose(X @ beta, Y, atol=1e-12)
    assert float(sol.residual) <= 1e-12 and int(sol.iterations) > 0
    assert float(sol.decrement) < 1e-12
    scale = 1.0 if model.depth == 2 else np.abs(grad_potential(beta, alpha)).max()
    np.testing.assert_allclose(_null_projector(X) @ grad_potential(beta, alpha) / scale, 0,
                               atol=1e-9)  # ν from Newton to ~1e-12, P_null conditioned O(1)


@pytest.mark.parametrize("depth,alpha", [(3, 1e-4), (4, 1e-3)])
def test_min_potential_interpolant_deep_rich_limit(depth, alpha):
    # Q^D_α(β) = ‖β‖₁ − O(α^{D−2}‖β‖^{2/D}) (q_D(b) = |b| − O(|b|^{1−1/p}) as |b| → ∞), so at
    # α^{D−2} ≤ 1e-3 the interpolant is the (unique, non-degenerate) min-ℓ1 vertex up to a
    # perturbation O(α^{D−2}); here s = Xᵀν runs to |s| > ½, where the gaps 1 ∓ s carry the
    # precision. The Newton loop must stop by its tolerance, not by max_iter (500).
    sol = interpolators.min_potential_interpolant(X, Y, alpha, PW(depth), full_output=True)
    beta = np.asarray(sol.beta)
    np.testing.assert_allclose(X @ beta, Y, atol=1e-12)
    np.testing.assert_allclose(beta, interpolators.min_l1_interpolant(X, Y),
                               atol=alpha ** (depth - 2))
    assert int(sol.iterations) < 500 and float(sol.decrement) < 1e-12


def test_min_potential_interpolant_tilt():
    # With tilt z0: ∇ψ_α(β) − ½ z0 ∈ range(Xᵀ) (β = α² sinh(Xᵀν + z0)).
    alpha, z0 = 0.4, np.array([0.3, -0.2, 0.0, 0.5, 0.1, -0.4])
    beta = np.asarray(interpolators.min_potential_interpolant(X, Y, alpha, z0=z0))
    np.testing.assert_allclose(X @ beta, Y, atol=1e-12)
    np.testing.assert_allclose(_null_projector(X) @ (np.arcsinh(beta / alpha**2) - z0), 0,
                               atol=1e-9)


def test_min_potential_interpolant_limits():
    # α → ∞: min-ℓ2 (the potential is ‖β‖²/(4α²) + O(α⁻⁶)); α → 0: min-ℓ1 (error O(1/ln(1/α))).
    big = interpolators.min_potential_interpolant_np(X, Y, 1e3)
    np.testing.assert_allclose(big, interpolators.min_l2_interpolant(X, Y), atol=1e-8)
    small = interpolators.min_potential_interpolant_np(X, Y, 1e-8)
    l1 = interpolators.min_l1_interpolant(X, Y)
    assert np.abs(small - l1).max() < 0.1 * np.abs(l1).max()
    assert isinstance(big, np.ndarray)
    # the NumPy variant passes the model and the options on: P-W(2) at α is P-E at α_E = √2 α
    sol = interpolators.min_potential_interpolant_np(X, Y, 0.3, full_output=True, max_iter=1)
    assert isinstance(sol.beta, np.ndarray) and int(sol.iterations) == 1
    np.testing.assert_allclose(interpolators.min_potential_interpolant_np(X, Y, 0.3, PW(2)),
                               interpolators.min_potential_interpolant(X, Y, np.sqrt(2) * 0.3),
                               rtol=1e-10)


def test_min_l1_reports_an_infeasible_program():
    with pytest.raises(RuntimeError, match="min_l1_interpolant: linprog failed"):
        interpolators.min_l1_interpolant(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, 2.0]))


@pytest.mark.parametrize("kwargs,match", [
    (dict(X=np.ones((4, 3)), y=np.ones(4)), "n <= d"),
    (dict(model=PW(3), z0=0.1), "z0 is not allowed"),
    (dict(tol=-1.0), "tol"),
    (dict(max_iter=0), "max_iter"),
    (dict(alpha=-0.1), "alpha"),
])
def test_min_potential_interpolant_refuses(kwargs, match):
    args = dict(X=X, y=Y, alpha=0.3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        interpolators.min_potential_interpolant(args.pop("X"), args.pop("y"), args.pop("alpha"),
                                                **args)


def test_min_potential_interpolant_max_iter_caps_newton():
    sol = interpolators.min_potential_interpolant(X, Y, 1e-3, max_iter=2, full_output=True)
    # Stopped after 2 Newton steps far from the optimum (λ² ≫ 0); the closing β-space step
    # still restores Xβ = y.
    assert int(sol.iterations) == 2 and float(sol.decrement) > 1.0
    np.testing.assert_allclose(X @ np.asarray(sol.beta), Y, atol=1e-12)


# --- effective initialization -----------------------------------------------------------------

from dln_theory import Objective  # noqa: E402
from dln_theory.objective import AbstractObjective  # noqa: E402
from dln_theory.theory import effective_init as ei, modified_losses as ml  # noqa: E402

XD = np.array([[1.0, -0.5, 0.3], [0.2, 0.8, -1.1], [-0.7, 0.4, 0.9], [0.5, 1.2, 0.1]])
YD = np.array([0.3, -0.2, 0.8, 0.1])
UV = np.array([[0.9, -0.4, 0.6], [0.3, 0.7, -0.5]])  # P-E parameters (u, v), β = u ⊙ v


def _pe_obj():
    """The P-E objective on (XD, YD), built in the test: no JAX array exists at import time (the
    mutation run forks workers from a process that imported this module; JAX must not be
    initialized before a fork)."""
    return Objective(PE(), jnp.asarray(XD), jnp.asarray(YD))


def _loss(theta, X=XD, y=YD):
    """(1/2n)‖X(u⊙v) − y‖², written here (not through Objective)."""
    return 0.5 * jnp.mean((jnp.asarray(X) @ (theta[0] * theta[1]) - jnp.asarray(y)) ** 2)


def _grad(theta, X=XD, y=YD):
    return jax.grad(_loss)(jnp.asarray(theta), X, y)


def _steps(eta, gamma, eps, rho):
    """One step of each method in parameter space, from its update rule."""
    g = _grad(UV)
    norm = jnp.sqrt(jnp.sum(g**2))
    gr_loss = lambda t: _loss(t) + gamma / 2 * jnp.sum(jax.grad(_loss)(t) ** 2)  # noqa: E731
    halves = [(XD[:2], YD[:2]), (XD[2:], YD[2:])]
    msam = sum(_grad(UV + rho * gk / jnp.sqrt(jnp.sum(gk**2)), Xk, yk) for Xk, yk, gk in
               ((Xk, yk, _grad(UV, Xk, yk)) for Xk, yk in halves)) / 2
    r = gamma / eps
    return {
        "gd": UV - eta * g,
        "gr": UV - eta * jax.grad(gr_loss)(jnp.asarray(UV)),
        "fgr": UV - eta * ((1 - r) * g + r * _grad(UV + eps * g)),
        "fgr_normalized": UV - eta * ((1 - r) * g + r * _grad(UV + eps * g / norm)),
        "bgr": UV - eta * ((1 + r) * g - r * _grad(UV - eps * g)),
        "bgr_normalized": UV - eta * ((1 + r) * g - r * _grad(UV - eps * g / norm)),
        "sam": UV - eta * _grad(UV + rho * g / norm),
        "sam_unnormalized": UV - eta * _grad(UV + rho * g),
        "msam": UV - eta * msam,
    }


def test_pe_terms_reproduce_one_step_of_each_method():
    # u' = u − η(A⊙v + B⊙u), v' = v − η(A⊙u + B⊙v) with (A, B) from the β-space table, against
    # the parameter-space step; and then u'² − v'² = [(1 − ηB)² − η²A²](u² − v²) exactly.
    eta, gamma, eps, rho = 0.3, 0.05, 0.1, 0.08
    terms = {
        "gd": ei.pe_terms_gd(_pe_obj(), UV),
        "gr": ei.pe_terms_gr(_pe_obj(), UV, gamma),
        "fgr": ei.pe_terms_fgr(_pe_obj(), UV, gamma, eps),
        "fgr_normalized": ei.pe_terms_fgr(_pe_obj(), UV, gamma, eps, normalize=True),
        "bgr": ei.pe_terms_bgr(_pe_obj(), UV, gamma, eps),
        "bgr_normalized": ei.pe_terms_bgr(_pe_obj(), UV, gamma, eps, normalize=True),
        "sam": ei.pe_terms_sam(_pe_obj(), UV, rho),
        "sam_unnormalized": ei.pe_terms_sam(_pe_obj(), UV, rho, normalize=False),
        "msam": ei.pe_terms_sam(_pe_obj(), UV, rho, group_size=2),
    }
    u, v = UV
    for name, step in _steps(eta, gamma, eps, rho).items():
        A, B = (np.asarray(t) for t in terms[name])
        np.testing.assert_allclose(step, [u - eta * (A * v + B * u), v - eta * (A * u + B * v)],
                                   rtol=1e-12, atol=1e-14, err_msg=name)
        factor = ei.alpha_eff2_factor(A, B, eta)
        np.testing.assert_allclose(step[0] ** 2 - step[1] ** 2, factor * (u**2 - v**2),
                                   rtol=1e-12, atol=1e-14, err_msg=name)


def test_alpha_formulas():
    assert float(ei.alpha_eff2_factor(0.4, 0.25, 0.5)) == pytest.approx((1 - 0.125) ** 2 - 0.04)
    grads = np.array([[0.5, -1.0], [0.2, 0.3], [-0.4, 0.1]])
    want = 0.3**2 * np.prod(1 - (0.1 * grads) ** 2, axis=0)
    np.testing.assert_allclose(ei.alpha_inf2_gd(0.3, 0.1, grads), want, rtol=RTOL)
    a2 = np.array([0.04, 0.01])
    assert float(ei.gain(np.array([0.3, 0.2]), a2)) == pytest.approx(
        np.log(0.09 / 0.04) + np.log(0.04 / 0.01), rel=RTOL)
    assert float(ei.gain(0.2, np.full(3, 0.04))) == pytest.approx(0.0, abs=1e-15)
    # one gain per row of a batch of α_∞² (e.g. saved steps): the sum runs over the last axis only
    rows = np.array([[0.04, 0.01], [0.09, 0.02]])
    np.testing.assert_allclose(ei.gain(np.array([0.3, 0.2]), rows),
                               np.log(np.array([0.09, 0.04]) / rows).sum(axis=1), rtol=RTOL)


# --- modified losses and fields ---------------------------------------------------------------

class _LeastSquares(AbstractObjective):
    """L(θ) = (1/2n)‖Xθ − y‖² for a linear predictor: ∇L = Kθ − b, K = XᵀX/n, so every modified
    field is a power series in hK applied to ∇L (HLW IX: f_h = log(I − M)/h on linear maps)."""

    X: jax.Array
    y: jax.Array

    @property
    def data(self):
        return (self.X, self.y)

    def with_data(self, data):
        return _LeastSquares(*data)

    def predict(self, params, X):
        return X @ params

    @staticmethod
    def example_loss(prediction, y):
        return 0.5 * (prediction - y) ** 2

    def loss(self, params):
        return jnp.mean(self.example_loss(self.predict(params, self.X), self.y))




def _ls():
    return _LeastSquares(jnp.asarray(XD), jnp.asarray(YD))
K = XD.T @ XD / 4
THETA0 = np.array([0.4, -0.7, 1.1])
G0 = K @ THETA0 - XD.T @ YD / 4


def _series_field(c, p, h):
    """Σ_{j ≤ p} φ_j (hK)^j ∇L, φ(x) = log(1 − x − c x²)/x = Σ φ_j x^j: the order-p modified field
    of θ ← θ − h(I + c·hK)∇L (GD: c = 0; SAM, F-GR, B-GR: c = ρ/h or γ/h; extragradient: c = −1)."""
    import sympy as sp

    xs = sp.Symbol("x")
    phi = sp.series(sp.log(1 - xs - c * xs**2) / xs, xs, 0, p + 1).removeO()
    out, power = np.zeros(3), G0.copy()
    for j in range(p + 1):
        out += float(phi.coeff(xs, j)) * power
        power = h * K @ power
    return out


@pytest.mark.parametrize("p", [0, 1, 2, 3])
def test_generated_fields_on_least_squares(p):
    h = 0.1
    fields = {
        0.0: [ml.BEAField("gd", p), ml.gd_field(p)],
        0.5: [ml.BEAField("sam", p, rho=0.5 * h), ml.BEAField("fgr", p, gamma=0.5 * h, eps=0.2),
              ml.BEAField("bgr", p, gamma=0.5 * h, eps=0.3)],
        -1.0: [ml.BEAField("extragradient", p)],
    }
    for c, group in fields.items():
        for field in group:
            np.testing.assert_allclose(field(_ls(), jnp.asarray(THETA0), h), _series_field(c, p, h),
                                       rtol=1e-12, atol=1e-15, err_msg=f"{field} c={c}")


def test_gd_modified_loss_and_gr_field():
    h, gamma = 0.2, 0.3
    g = _grad(UV)
    assert float(ml.gd_modified_loss(_pe_obj(), jnp.asarray(UV), h)) == pytest.approx(
        float(_loss(UV) + h / 4 * jnp.sum(g**2)), rel=RTOL)
    # GR's field is GD's on L̃ = L + (γ/2)‖∇L‖²: on least squares ∇L̃ = (I + γK)∇L and L̃ has
    # Hessian K̃ = K(I + γK), so the order-1 field is −(I + (h/2)K̃)(I + γK)∇L.
    Kt = K @ (np.eye(3) + gamma * K)
    want = -(np.eye(3) + h / 2 * Kt) @ (np.eye(3) + gamma * K) @ G0
    np.testing.assert_allclose(ml.BEAField("gr", 1, gamma=gamma)(_ls(), jnp.asarray(THETA0), h), want,
                               rtol=1e-12)


def test_sgd_and_heavy_ball_fields():
    h, beta = 0.1, 0.6
    theta = jnp.asarray(THETA0)
    # SGD, two batches of two: C̃ = C + (h/8)(‖∇C₁‖² + ‖∇C₂‖²), each batch least squares.
    Ks = [XD[k:k + 2].T @ XD[k:k + 2] / 2 for k in (0, 2)]
    gs = [Kk @ THETA0 - XD[k:k + 2].T @ YD[k:k + 2] / 2 for Kk, k in zip(Ks, (0, 2))]
    want = -(G0 + h / 8 * sum(2 * Kk @ gk for Kk, gk in zip(Ks, gs)))
    np.testing.assert_allclose(ml.SGDField(2)(_ls(), theta, h), want, rtol=1e-12)
    # Heavy ball: −(1/(1−β))(I + h(1+β)/(2(1−β)²) K)∇L.
    want = -(G0 + h * (1 + beta) / (2 * (1 - beta) ** 2) * K @ G0) / (1 - beta)
    np.testing.assert_allclose(ml.HeavyBallField(beta)(_ls(), theta, h), want, rtol=1e-12)


@pytest.mark.parametrize("make", [
    lambda: ml.gd_field(4), lambda: ml.gd_field(-1), lambda: ml.gd_field(True),
    lambda: ml.gd_field(1.0), lambda: ml.BEAField("nope", 1), lambda: ml.BEAField("sam", 1),
    lambda: ml.BEAField("gd", 1, rho=0.1), lambda: ml.BEAField("fgr", 1, gamma=0.1, eps=0.0),
    lambda: ml.BEAField("sam", 1, rho=-0.1), lambda: ml.HeavyBallField(1.5),
])
def test_fields_refuse_bad_arguments(make):
    with pytest.raises((ValueError, TypeError)):
        make()


# --- dynamics: one step of each method against its update rule --------------------------------

import dln_theory as dt  # noqa: E402


def _one_step(method, params=UV, steps=1):
    theta = jnp.asarray(params)
    state = method.init(theta, _pe_obj())
    for _ in range(steps):
        theta, state, aux = method.step(theta, state, _pe_obj(), jax.random.PRNGKey(0))
    return np.asarray(theta), aux


def test_one_step_of_each_method_is_its_update_rule():
    eta, gamma, eps, rho = 0.3, 0.05, 0.1, 0.08
    want = _steps(eta, gamma, eps, rho)
    methods = {
        "gd": dt.GD(eta),
        "gr": dt.GR(eta, gamma=gamma),
        "fgr": dt.FGR(eta, gamma=gamma, eps=eps),
        "fgr_normalized": dt.FGR(eta, gamma=gamma, eps=eps, normalize=True),
        "bgr": dt.BGR(eta, gamma=gamma, eps=eps),
        "bgr_normalized": dt.BGR(eta, gamma=gamma, eps=eps, normalize=True),
        "sam": dt.SAM(eta, rho=rho),
        "sam_unnormalized": dt.SAM(eta, rho=rho, normalize=False),
        "msam": dt.SAM(eta, rho=rho, group_size=2),
    }
    for name, method in methods.items():
        theta, aux = _one_step(method)
        np.testing.assert_allclose(theta, want[name], rtol=1e-12, atol=1e-15, err_msg=name)
        assert float(aux["dt"]) == eta  # t = k·η


def test_extragradient_flooding_weight_decay_schedule():
    eta, g = 0.3, _grad(UV)
    theta, _ = _one_step(dt.Extragradient(eta))
    np.testing.assert_allclose(theta, UV - eta * _grad(UV - eta * g), rtol=1e-12, atol=1e-15)
    loss = float(_loss(UV))
    for b, sign in ((0.5 * loss, 1.0), (2.0 * loss, -1.0)):  # descent above the flood, ascent below
        theta, _ = _one_step(dt.Flooding(eta, b=b))
        np.testing.assert_allclose(theta, UV - sign * eta * g, rtol=1e-12, atol=1e-15)
    theta, _ = _one_step(dt.GD(eta, weight_decay=0.2))
    np.testing.assert_allclose(theta, UV - eta * (g + 0.2 * UV), rtol=1e-12, atol=1e-15)
    theta, aux = _one_step(dt.GD(eta, schedule=lambda k: 0.5 ** (k + 1)), steps=2)
    theta1 = UV - 0.5 * eta * g
    np.testing.assert_allclose(theta, theta1 - 0.25 * eta * _grad(theta1), rtol=1e-12, atol=1e-15)
    assert float(aux["dt"]) == 0.25 * eta


def test_momentum_methods_two_steps():
    eta, mu = 0.3, 0.6
    g0 = _grad(UV)
    theta1 = UV - eta * g0  # v₁ = −η∇L(θ₀)
    heavy = theta1 + mu * (theta1 - UV) - eta * _grad(theta1)
    nesterov = theta1 + mu * (theta1 - UV) - eta * _grad(theta1 + mu * (theta1 - UV))
    np.testing.assert_allclose(_one_step(dt.HeavyBall(eta, momentum=mu), steps=2)[0], heavy,
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(_one_step(dt.Nesterov(eta, momentum=mu), steps=2)[0], nesterov,
                               rtol=1e-12, atol=1e-15)


def test_method_refusals_name_the_argument():
    with pytest.raises(ValueError, match="^batch_size=None is not allowed for SGD"):
        dt.SGD(0.1)
    for method in (dt.HeavyBall, dt.Nesterov):
        with pytest.raises(ValueError, match=f"^momentum=None is not allowed for {method.__name__}"):
            method(0.1)
    with pytest.raises(ValueError, match="group_size=3 is not allowed: it must divide the batch of 4"):
        dt.SAM(0.1, rho=0.1, group_size=3).check_objective(_pe_obj())
    with pytest.raises(ValueError, match="group_size=3 is not allowed: it must divide the batch of 2"):
        dt.SAM(0.1, rho=0.1, group_size=3, batch_size=2).check_objective(_pe_obj())
    dt.SAM(0.1, rho=0.1, group_size=2, batch_size=2).check_objective(_pe_obj())  # divides: accepted
    with pytest.raises(ValueError, match="batch_size=5 is not allowed"):
        dt.SAM(0.1, rho=0.1, batch_size=5).check_objective(_pe_obj())
    with pytest.raises(ValueError, match="^group_size=0 is not allowed: group_size must be an integer >= 1"):
        dt.SAM(0.1, rho=0.1, group_size=0)
    dt.SAM(0.1, rho=0.1, group_size=1).check_objective(_pe_obj())  # 1-SAM: accepted


def test_per_example_gr_step():
    # GR(per_example=True): θ − η∇[L + (γ/2n)Σ_i‖∇ℓ_i‖²], ℓ_i = ½(x_iᵀ(u⊙v) − y_i)² (Karakida et al.).
    eta, gamma = 0.3, 0.05

    def penalized(t):
        norms = sum(jnp.sum(jax.grad(_loss)(t, XD[i:i + 1], YD[i:i + 1]) ** 2) for i in range(4))
        return _loss(t) + gamma / 2 * norms / 4

    want = UV - eta * jax.grad(penalized)(jnp.asarray(UV))
    np.testing.assert_allclose(_one_step(dt.GR(eta, gamma=gamma, per_example=True))[0], want,
                               rtol=1e-12, atol=1e-15)


# --- dynamics: adaptive and normalized steps against their update rules -----------------------

def _adam_reference(theta, grads_of, steps, eta, beta1, beta2, eps, eps_root, bias, wd=0.0,
                    schedule=lambda k: 1.0):
    """Kingma & Ba, Algorithm 1, in NumPy (β₁ = 0 with m̂ → g: RMSProp; coupled weight decay)."""
    theta, m, v = np.array(theta), 0.0, 0.0
    for k in range(steps):
        g = np.asarray(grads_of(theta)) + wd * theta
        m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1 ** (k + 1)) if bias and beta1 else m
        v_hat = v / (1 - beta2 ** (k + 1)) if bias else v
        theta = theta - eta * schedule(k) * m_hat / (np.sqrt(v_hat + eps_root) + eps)
    return theta


def test_adaptive_methods_two_steps_are_their_update_rules():
    eta, sched = 0.3, lambda k: 0.5 ** k
    cases = [  # (method, reference arguments β₁, β₂, ε, ε_root, bias correction, λ, schedule)
        (dt.Adam(eta, beta1=0.8, beta2=0.9, eps=1e-3, eps_root=1e-4), (0.8, 0.9, 1e-3, 1e-4, True)),
        (dt.Adam(eta, beta1=0.5, beta2=0.7, eps=1e-2, bias_correction=False),
         (0.5, 0.7, 1e-2, 0.0, False)),
        (dt.Adam(eta, weight_decay=0.2, schedule=sched), (0.9, 0.999, 1e-8, 0.0, True, 0.2, sched)),
        (dt.RMSProp(eta, eps=1e-3), (0.0, 0.99, 1e-3, 0.0, False)),
        (dt.RMSProp(eta, beta2=0.6, eps=0.0, eps_root=1e-3, bias_correction=True),
         (0.0, 0.6, 0.0, 1e-3, True)),
    ]
    for method, ref in cases:
        want = _adam_reference(UV, _grad, 2, eta, *ref)
        theta, aux = _one_step(method, steps=2)
        np.testing.assert_allclose(theta, want, rtol=1e-12, atol=1e-15, err_msg=repr(method))
        assert float(aux["dt"]) == eta * (ref[6](1) if len(ref) > 6 else 1.0)
    # Adam's defaults are Kingma & Ba's (β₁, β₂, ε) = (0.9, 0.999, 1e-8) with bias correction;
    # RMSProp's β₂ = 0.99 without it (Tieleman & Hinton).
    np.testing.assert_allclose(_one_step(dt.Adam(eta), steps=2)[0],
                               _adam_reference(UV, _grad, 2, eta, 0.9, 0.999, 1e-8, 0.0, True),
                               rtol=1e-12, atol=1e-15)
    # SignGD with weight decay and a schedule: θ ← θ − η_k sign(∇L + λθ).
    theta, aux = _one_step(dt.SignGD(eta, weight_decay=0.2, schedule=sched), steps=2)
    theta1 = UV - eta * np.sign(_grad(UV) + 0.2 * UV)
    np.testing.assert_allclose(theta, theta1 - 0.5 * eta * np.sign(_grad(theta1) + 0.2 * theta1),
                               rtol=1e-12, atol=1e-15)
    assert float(aux["dt"]) == 0.5 * eta


def test_adaptive_state_and_zero_gradient_coordinates():
    # A coordinate with u_i = v_i = 0 has ∇L = 0 forever: with ε = ε_root = 0 its denominator is
    # 0 and it stays put (sign(0) = 0), so RMSProp with β₂ = 0 is SignGD (module docstring).
    start = UV * np.array([1.0, 0.0, 1.0])
    for method in (dt.RMSProp(0.1, beta2=0.0, eps=0.0), dt.Adam(0.1, beta1=0.0, beta2=0.0, eps=0.0),
                   dt.SignGD(0.1)):
        theta1 = start - 0.1 * np.sign(_grad(start))  # the zero column stays 0
        np.testing.assert_allclose(_one_step(method, start)[0], theta1, rtol=1e-12, atol=1e-15,
                                   err_msg=repr(method))
        np.testing.assert_allclose(_one_step(method, start, steps=2)[0],
                                   theta1 - 0.1 * np.sign(_grad(theta1)), rtol=1e-12, atol=1e-15,
                                   err_msg=repr(method))
    state = dt.Adam(0.1).init(jnp.asarray(UV), _pe_obj())
    assert np.all(np.asarray(state.m) == 0) and np.all(np.asarray(state.v) == 0)
    assert int(state.k) == 0 and state.perm is None
    state = dt.RMSProp(0.1).init(jnp.asarray(UV), _pe_obj())
    assert state.m is None and state.v.shape == UV.shape
    state = dt.SignGD(0.1, batch_size=2).init(jnp.asarray(UV), _pe_obj())
    assert state.m is None and state.v is None and np.all(np.asarray(state.perm) == np.arange(4))
    assert dt.SignGD(0.1, batch_size=2).stochastic and not dt.SignGD(0.1).stochastic


def test_adaptive_minibatches_and_refusals():
    # batch_size = 2 on n = 4: random reshuffling, the two steps of the epoch see perm[:2], perm[2:].
    method = dt.SignGD(0.1, batch_size=2)
    theta = jnp.asarray(UV)
    state = method.init(theta, _pe_obj())
    for k in range(2):
        theta, state, _ = method.step(theta, state, _pe_obj(), jax.random.PRNGKey(k))
        if k == 0:
            perm = np.asarray(state.perm)
            theta1 = np.asarray(theta)
    assert sorted(perm) == [0, 1, 2, 3] and int(state.k) == 2
    np.testing.assert_array_equal(np.asarray(state.perm), perm)  # one permutation per epoch
    halves = [(XD[perm[:2]], YD[perm[:2]]), (XD[perm[2:]], YD[perm[2:]])]
    want1 = UV - 0.1 * np.sign(_grad(UV, *halves[0]))
    np.testing.assert_allclose(theta1, want1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(theta, want1 - 0.1 * np.sign(_grad(want1, *halves[1])), rtol=1e-12,
                               atol=1e-15)
    with pytest.raises(ValueError, match="^batch_size=5 is not allowed: it must be <= the number "
                                         "of examples n=4$"):
        dt.Adam(0.1, batch_size=5).check_objective(_pe_obj())
    dt.Adam(0.1, batch_size=4).check_objective(_pe_obj())  # B = n: accepted
    dt.Adam(0.1).check_objective(_pe_obj())
    with pytest.raises(ValueError, match="^batch_size=0 is not allowed"):
        dt.RMSProp(0.1, batch_size=0)
    dt.RMSProp(0.1, batch_size=1).check_objective(_pe_obj())  # B = 1: accepted


def _classification(scale):
    """Exponential loss on (XD, sign(XD β̄)), β̄ = (1, −1, 0.5), at θ = scale·(β̄, 1): margins
    m_i = scale²·|x_iᵀβ̄|, so L = mean e^{−m} underflows to 0 for scale² ≳ 2000."""
    from dln_theory.classification import classification_objective

    bbar = np.array([1.0, -1.0, 0.5])
    y = np.sign(XD @ bbar)
    obj = classification_objective(PE(), jnp.asarray(XD), jnp.asarray(y), "exponential")
    theta = scale * np.stack([bbar, np.ones(3)])
    margins = y * (XD @ (theta[0] * theta[1]))
    w = np.exp(-(margins - margins.min()))
    w /= w.sum()  # ∇_β log L = −Σ_i w_i y_i x_i, w = softmax(−m) (no underflow)
    g_beta = -(w * y) @ XD
    return obj, theta, np.stack([theta[1] * g_beta, theta[0] * g_beta])


def test_normalized_gd_and_flow_are_log_loss_gradient_steps():
    eta = 0.3
    g, loss = np.asarray(_grad(UV)), float(_loss(UV))
    np.testing.assert_allclose(_one_step(dt.NormalizedGD(eta))[0], UV - eta * g / loss, rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(_one_step(dt.NormalizedGD(eta, normalize="grad"))[0],
                               UV - eta * g / np.linalg.norm(g), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dt.NormalizedFlow(eta).velocity(_pe_obj(), jnp.asarray(UV)),
                               -g / loss, rtol=1e-12, atol=1e-15)
    # Classification far in the margin regime: L underflows to 0, ∇log L stays exact (1e-12: the
    # softmax weights are O(1) numbers computed the same way on both sides).
    obj, theta, want = _classification(60.0)
    assert float(obj.loss(jnp.asarray(theta))) == 0.0
    for method in (dt.NormalizedGD(eta), dt.NormalizedGD(eta, normalize="grad")):
        step = want if method.normalize == "loss" else want / np.linalg.norm(want)
        got, _, _ = method.step(jnp.asarray(theta), method.init(jnp.asarray(theta), obj), obj,
                                jax.random.PRNGKey(0))
        np.testing.assert_allclose(got, theta - eta * step, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dt.NormalizedFlow(eta).velocity(obj, jnp.asarray(theta)), -want,
                               rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="^normalize='sign' is not allowed: choose one of "
                                         r"\['grad', 'loss'\]"):
        dt.NormalizedGD(eta, normalize="sign")


def _draws(sampler, k, seeds=1024):
    """The batch labels of step ``k`` for ``seeds`` keys (vmapped; P-E objective on (XD, YD))."""
    perm = sampler.init(4)
    keys = jax.random.split(jax.random.PRNGKey(1), (seeds, 2))
    draw = jax.vmap(lambda kp, kb: sampler.draw(perm, k, _pe_obj(), kp, kb)[1].labels)
    return np.asarray(draw(keys[:, 0], keys[:, 1]))


def test_minibatch_sampling_moments():
    # 1024 draws of B = 4 of the n = 4 examples (labels YD are distinct, so a label names its
    # example). Tolerances: 5 standard errors of the estimated frequency or moment.
    N = 1024
    labels = _draws(dt.SGD(0.1, batch_size=4, replacement=True).sampler, 0)
    counts = (labels[:, :, None] == YD).sum(axis=(0, 1))
    assert counts.sum() == 4 * N  # every draw is one of the examples
    np.testing.assert_allclose(counts / (4 * N), 0.25, atol=5 * np.sqrt(0.25 * 0.75 / (4 * N)))
    # i.i.d. uniform: all four distinct with probability 4!/4⁴ = 3/32
    distinct = np.mean([len(set(row)) == 4 for row in labels])
    assert abs(distinct - 3 / 32) < 5 * np.sqrt(3 / 32 * 29 / 32 / N)
    # random reshuffling: a batch of B = n is a permutation of the examples, every order equally
    # likely (the first slot holds each example with probability ¼)
    labels = _draws(dt.SGD(0.1, batch_size=4).sampler, 0)
    np.testing.assert_array_equal(np.sort(labels, axis=1), np.broadcast_to(np.sort(YD), (N, 4)))
    first = (labels[:, :1] == YD).mean(axis=0)
    np.testing.assert_allclose(first, 0.25, atol=5 * np.sqrt(0.25 * 0.75 / N))
    # label noise σ: y + N(0, σ²) on the batch's labels; its mean 0 and variance σ², to 5 s.e.
    sigma = 0.5
    labels = _draws(dt.SGD(0.1, batch_size=4, label_noise=sigma).sampler, 0)
    clean = _draws(dt.SGD(0.1, batch_size=4).sampler, 0)
    noise = (labels - clean).ravel()
    assert abs(noise.mean()) < 5 * sigma / np.sqrt(noise.size)
    assert abs(noise.var() / sigma**2 - 1) < 5 * np.sqrt(2 / noise.size)
    # independent per example: the spread within a batch is σ² too (a common shift would give 0)
    within = np.var((labels - clean), axis=1, ddof=1).mean()
    assert abs(within / sigma**2 - 1) < 5 * np.sqrt(2 / (3 * N))
    assert dt.GD(0.1).init(jnp.asarray(UV), _pe_obj()).velocity is None  # no momentum, no velocity
    assert dt.SGD(0.1, batch_size=2).stochastic and not dt.GD(0.1).stochastic
    # the state holds an epoch permutation under random reshuffling only (GradientState.perm)
    assert dt.SGD(0.1, batch_size=2, replacement=True).init(jnp.asarray(UV), _pe_obj()).perm is None


def test_gd_minibatch_steps_follow_the_epoch_permutation():
    # GD(batch_size=2) on n = 4: the epoch's two steps see perm[:2] and perm[2:]; the third step
    # starts a new epoch (k = 2 ≡ 0 mod 2) with a fresh permutation.
    eta, method = 0.3, dt.GD(0.3, batch_size=2)
    theta = jnp.asarray(UV)
    state = method.init(theta, _pe_obj())
    np.testing.assert_array_equal(state.perm, np.arange(4))
    trail = []
    for k in range(3):
        theta, state, _ = method.step(theta, state, _pe_obj(), jax.random.PRNGKey(10 + k))
        trail.append((np.asarray(theta), np.asarray(state.perm)))
    perm = trail[0][1]
    np.testing.assert_array_equal(trail[1][1], perm)
    assert sorted(perm) == [0, 1, 2, 3] and int(state.k) == 3
    want = UV
    for k, idx in enumerate((perm[:2], perm[2:], trail[2][1][:2])):
        want = want - eta * _grad(want, XD[idx], YD[idx])
        np.testing.assert_allclose(trail[k][0], want, rtol=1e-12, atol=1e-15, err_msg=f"step {k}")
    with pytest.raises(ValueError, match="^batch_size=5 is not allowed: it must be <= the number "
                                         "of examples n=4$"):
        dt.GD(0.1, batch_size=5).check_objective(_pe_obj())
    dt.GD(0.1, batch_size=4).check_objective(_pe_obj())
    with pytest.raises(ValueError, match="^batch_size=0 is not allowed"):
        dt.GD(0.1, batch_size=0)
    dt.GD(0.1, batch_size=1).check_objective(_pe_obj())  # B = 1: accepted


@pytest.mark.parametrize("depth", [3, 5])
def test_newton_parts_of_the_deep_interpolant(depth):
    # The D ≥ 3 Newton solver's parts against mpmath: β = w h_D(s), ∂β/∂(Xᵀν) = w c h_D'(s),
    # the Armijo Bregman term H_D(s + b) − H_D(s) − b h_D(s) (H_D' = h_D), the state shift and
    # the largest first step (0.99 of the way to |s| = 1). The state is (s, 1 − s, 1 + s); the
    # gaps carry the precision where |s| ≥ ½ (s = 1 − 1e-20 is 1.0 in float64, its gap is not).
    mpmath.mp.dps = 50
    p = mpmath.mpf(depth) / (depth - 2)
    gaps = [(mpmath.mpf(1) + s, mpmath.mpf(1) - s) for s in map(mpmath.mpf, ["-0.9", "-0.2", "0",
                                                                              "0.3", "0.95"])]
    gaps.append((mpmath.mpf(2) - mpmath.mpf("1e-20"), mpmath.mpf("1e-20")))  # s = 1 − 1e-20
    gp, gm = (np.array([float(g[i]) for g in gaps]) for i in (0, 1))
    state = jnp.asarray(np.stack([np.array([float(1 - g[1]) for g in gaps]), gm, gp]))
    fam, w, c = interpolators._Power(depth), 0.7, 0.4
    h = lambda a, b: a ** (-p) - b ** (-p)  # noqa: E731  h_D(s) from the gaps (1 − s, 1 + s)
    H = lambda a, b: (a ** (1 - p) + b ** (1 - p)) / (p - 1)  # noqa: E731
    beta, jac = (np.asarray(v) for v in fam.beta_jac(state, w, c))
    np.testing.assert_allclose(beta, [float(w * h(m, q)) for q, m in gaps], rtol=1e-13)
    np.testing.assert_allclose(jac, [float(w * c * p * (m ** (-p - 1) + q ** (-p - 1)))
                                     for q, m in gaps], rtol=1e-13)
    b = np.array([0.05, -0.5, 1e-4, -0.01, 0.04, -0.3])  # 1e-4, −0.01: Taylor branch (|r| < 1e-2)
    want = [float(H(m - bi, q + bi) - H(m, q) - bi * h(m, q)) for (q, m), bi in
            zip(gaps, map(mpmath.mpf, b))]
    # rtol 1e-11: the exact branch subtracts O(1) terms to a result ≥ 1e-9 of them (r ≥ 1e-2)
    np.testing.assert_allclose(fam.bregman(state, jnp.asarray(b)), want, rtol=1e-11)
    step = np.array([0.05, 0.3, -0.6, 0.25, -0.5, -0.2])
    s_new, gm_new, gp_new = np.asarray(fam.shift(state, jnp.asarray(step)))
    exact = [(q + si, m - si) for (q, m), si in zip(gaps, map(mpmath.mpf, step))]
    np.testing.assert_allclose(s_new, [float(e[0] - 1) for e in exact], rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(gm_new, [float(e[1]) for e in exact], rtol=1e-15)
    np.testing.assert_allclose(gp_new, [float(e[0]) for e in exact], rtol=1e-15)
    delta = np.array([0.5, -0.1, 0.0, 2.0, 0.0, 0.0])  # s = 0.3 reaches 0.99 of its gap 0.7
    assert float(fam.first_step(state, jnp.asarray(delta))) == pytest.approx(0.99 * 0.7 / 2.0,
                                                                             rel=1e-15)
    delta = np.array([0.0, -0.1, 0.0, 0.0, -0.1, 0.0])  # gaps 0.8 (s = −0.2) and 1.95 (s = 0.95)
    assert float(fam.first_step(state, jnp.asarray(delta))) == 1.0
    delta = np.array([0.0, 0.0, 0.0, 0.0, -3.0, 0.0])  # toward −1: the gap 1 + s = 1.95
    assert float(fam.first_step(state, jnp.asarray(delta))) == pytest.approx(0.99 * 1.95 / 3.0,
                                                                             rel=1e-15)


def test_newton_parts_of_the_depth_two_interpolant():
    # D = 2 (F = cosh): β = w sinh(s), ∂β/∂(Xᵀν) = w c cosh(s), the Armijo Bregman term
    # cosh(s + b) − cosh(s) − b sinh(s) (mpmath), the first step min(1, 5/max|δ|).
    mpmath.mp.dps = 40
    s, b = np.array([-3.0, -0.2, 0.0, 0.4, 2.5]), np.array([0.7, -1e-3, 0.02, -0.5, 5e-3])
    fam, w, c = interpolators._Cosh(), 0.7, 0.4
    beta, jac = (np.asarray(v) for v in fam.beta_jac(jnp.asarray(s), w, c))
    np.testing.assert_allclose(beta, w * np.sinh(s), rtol=1e-14)
    np.testing.assert_allclose(jac, w * c * np.cosh(s), rtol=1e-14)
    want = [float(mpmath.cosh(si + bi) - mpmath.cosh(si) - bi * mpmath.sinh(si))
            for si, bi in zip(map(mpmath.mpf, s), map(mpmath.mpf, b))]
    np.testing.assert_allclose(fam.bregman(jnp.asarray(s), jnp.asarray(b)), want, rtol=1e-13)
    assert float(fam.first_step(jnp.asarray(s), jnp.asarray([0.1, -10.0, 0.0, 1.0, 2.0]))) == 0.5
    assert float(fam.first_step(jnp.asarray(s), jnp.asarray([0.1, -1.0, 0.0, 1.0, 2.0]))) == 1.0
