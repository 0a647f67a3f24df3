"""The stochastic modified equation `SME`: its noise covariance, its Itô drift, reproducibility."""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dln_theory as dt
from dln_theory.dynamics import SME
from dln_theory.objective import Objective
from dln_theory.sweep import sweep

X = np.array([[1.0, 0.5], [-0.3, 1.2], [0.8, -0.7]])
Y = np.array([1.0, 0.4, -0.5])
PROBLEM = dt.from_data(X, Y)
ALPHA = 0.5


def _example_grads(params, X, y):
    """∇_θ ℓ_i and ∇_θ f_i for P-E in NumPy: ℓ_i = ½(x_i·(u⊙v) − y_i)², rows (u, v)."""
    u, v = params
    r = X @ (u * v) - y
    grad_f = np.stack([X * v, X * u], axis=1)  # (n, 2, d)
    return r[:, None, None] * grad_f, grad_f


@pytest.mark.parametrize("batch_size, sigma", [(1, None), (2, None), (2, 0.3), (None, 0.3)])
def test_noise_covariance_is_the_minibatch_covariance(batch_size, sigma):
    """GGᵀ equals the covariance of the with-replacement minibatch gradient (1/B)Σ_b (∇ℓ_{i_b} −
    ξ_b∇f_{i_b}), computed by enumerating all n^B index tuples (ξ_b ~ N(0, σ²) adds σ²∇f∇fᵀ per
    drawn example); batch_size=None is the full batch with label noise. Exact up to rounding (1e-12)."""
    rng = np.random.default_rng(0)
    params = rng.standard_normal((2, 2))
    n = len(Y)
    grad_l, grad_f = _example_grads(params, X, Y)
    grad_l, grad_f = grad_l.reshape(n, -1), grad_f.reshape(n, -1)
    if batch_size is None:
        cov = sigma**2 * grad_f.T @ grad_f / n**2
    else:
        tuples = np.array(list(itertools.product(range(n), repeat=batch_size)))
        batch = grad_l[tuples].mean(axis=1)
        centred = batch - batch.mean(axis=0)
        cov = centred.T @ centred / len(tuples)
        if sigma is not None:
            cov += sigma**2 * np.einsum("tbi,tbj->ij", grad_f[tuples], grad_f[tuples]) / len(tuples) / batch_size**2
    method = SME(0.1, batch_size, 1, label_noise=sigma)
    G = method.noise_factor(Objective(dt.PE(), jnp.asarray(X), jnp.asarray(Y)), jnp.asarray(params).ravel(),
                            lambda f: f.reshape(2, 2))
    np.testing.assert_allclose(np.asarray(G @ G.T), cov, rtol=1e-12, atol=1e-14)


def test_order_two_drift_is_the_modified_gradient():
    """Order 2: b = −∇L − (η/2)H∇L (∇ of (η/4)‖∇L‖²), with H∇L by central differences of the NumPy
    gradient (error O(δ²) ≈ 1e-10 at δ = 1e-5, tolerance 1e-8)."""
    rng = np.random.default_rng(1)
    params, eta, delta = rng.standard_normal((2, 2)), 0.3, 1e-5
    grad = lambda p: _example_grads(p, X, Y)[0].mean(axis=0)  # noqa: E731
    g = grad(params)
    Hg = (grad(params + delta * g) - grad(params - delta * g)) / (2 * delta)
    objective = Objective(dt.PE(), jnp.asarray(X), jnp.asarray(Y))
    for order, expected in ((1, -g), (2, -g - 0.5 * eta * Hg)):
        b = SME(eta, 1, order).drift(objective, jnp.asarray(params))
        np.testing.assert_allclose(np.asarray(b), expected, rtol=0, atol=1e-8)


OBJECTIVE = Objective(dt.PE(), jnp.asarray(X), jnp.asarray(Y))
LABEL_NOISE_SME = SME(0.2, None, 1, label_noise=0.5)


def _label_noise_prediction(method, n_steps):
    """α_eff² after ``n_steps`` SME steps with label noise only, from the P-E init at scale α.

    With label noise alone the noise columns are σ x_j ⊙ (v, u)/n, so by Itô's formula
    q_i = u_i² − v_i² obeys dq_i = −(ησ²/n²)(Σ_j x_{ji}²) q_i dt with no dW term: pathwise,
    α_eff² = α² exp(−(ησ²/n²) Σ_j x_{ji}² T) (the drift −∇L keeps u² − v², docs/conventions.md §3).
    A Stratonovich reading (the Itô correction dropped) would conserve it.
    """
    rate = float(method.eta) * float(method.label_noise) ** 2 * (X**2).sum(axis=0) / len(Y) ** 2
    return ALPHA**2 * np.exp(-rate * n_steps * float(method.eta))


@functools.partial(jax.jit, static_argnums=1)
def _run(method, n_steps, seed):
    """``n_steps`` steps from the P-E init, keys split as `simulate` splits them."""
    def one(carry, _):
        params, key = carry
        key, sub = jax.random.split(key)
        return (method.step(params, None, OBJECTIVE, sub)[0], key), None
    return jax.lax.scan(one, (dt.PE().init(ALPHA, 2), jax.random.PRNGKey(seed)), length=n_steps)[0][0]


def test_label_noise_ito_shrinkage_and_bit_for_bit_seeds():
    """The SME solution keeps dq = −(ησ²/n²)Σ_j x_j² q dt (see `_label_noise_prediction`) on every
    path: here the exponent is 0.03-0.04, which a dropped Itô correction misses entirely; the
    solver (deterministic order 2, commutative noise here) meets it to relative 1e-4 at 8
    substeps (measured ~1e-6). A seed fixes the Brownian paths: the same seed gives identical
    bits, another seed other numbers (`simulate` and `sweep`: the slow test below).
    """
    pred = _label_noise_prediction(LABEL_NOISE_SME, 10)
    assert np.min(np.abs(pred / ALPHA**2 - 1)) > 100 * 1e-4
    first, again, other = (np.asarray(_run(LABEL_NOISE_SME, 10, seed)) for seed in (3, 3, 4))
    np.testing.assert_allclose(np.asarray(dt.PE().alpha_eff2(first)), pred, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(dt.PE().alpha_eff2(other)), pred, rtol=1e-4)
    assert np.array_equal(first, again)
    assert np.max(np.abs(first - other)) > 1e-3


class _Stratonovich(SME):
    """Negative control: the Itô–Stratonovich correction dropped."""

    def ito_correction(self, factor, flat):
        return jnp.zeros_like(flat)


@pytest.mark.negative
def test_label_noise_check_catches_a_dropped_ito_correction():
    method = _Stratonovich(0.2, None, 1, label_noise=0.5)
    end = np.asarray(_run(method, 10, 3))
    assert np.max(np.abs(np.asarray(dt.PE().alpha_eff2(end)) / _label_noise_prediction(method, 10) - 1)) > 1e-2


@pytest.mark.slow
def test_simulate_and_sweep_bit_for_bit():
    """`simulate` twice with one seed: identical bits; a sweep over seeds runs the same paths (to
    1e-12: vmap compiles another program); the label-noise shrinkage holds through `simulate`."""
    runs = [dt.simulate(LABEL_NOISE_SME, dt.PE(), PROBLEM, ALPHA, 10, 10, key=3) for _ in range(2)]
    assert np.array_equal(np.asarray(runs[0].beta), np.asarray(runs[1].beta))
    assert np.array_equal(np.asarray(runs[0].params), np.asarray(runs[1].params))
    np.testing.assert_allclose(np.asarray(runs[0].alpha_eff2[-1]), _label_noise_prediction(LABEL_NOISE_SME, 10),
                               rtol=1e-4)
    grid = sweep(LABEL_NOISE_SME, dt.PE(), PROBLEM, {"seed": [3, 4]}, 10, 10, alpha=ALPHA, cache=False)
    np.testing.assert_allclose(np.asarray(grid.trajectory.beta[0]), np.asarray(runs[0].beta), rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("kwargs, message", [
    (dict(order=3), r"^order=3 is not allowed: choose one of"),
    (dict(substeps=6), r"^substeps=6 is not allowed: it must be a power of 2"),
    (dict(batch_size=0), r"^batch_size=0 is not allowed"),
    (dict(batch_size=None), r"^batch_size=None and label_noise=None is not allowed"),
    (dict(label_noise=-1.0), r"^label_noise=-1.0 is not allowed"),
])
def test_bad_arguments_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SME(**{"eta": 0.1, "batch_size": 1, "order": 1, **kwargs})


def _synthetic_results(orders):
    """Figure results whose biases are exactly c·η^p (p per series) with SE = bias/20."""
    from dln_theory.figures import sde
    from dln_theory.verify import sme as claims

    results = {"config": sde.QUICK}
    for key, design in (("1", sde.QUICK.order_1), ("2", sde.QUICK.order_2), ("rr", sde.QUICK.reshuffling)):
        etas = np.array(design.etas)
        bias = {g: 0.1 * etas ** orders[key] for g in claims.TEST_FUNCTIONS}
        results[key] = {"etas": etas, "bias": bias, "se": {g: b / 20 for g, b in bias.items()},
                        "slope": {g: claims.loglog_slope(etas, b) for g, b in bias.items()}}
    return results


def test_sde_figure_check_passes_exact_orders():
    from dln_theory.figures import sde

    passed, message, metrics = sde.check(_synthetic_results({"1": 1.0, "2": 2.0, "rr": 1.0}))
    assert passed, message
    assert metrics["slopes"]["2"]["loss"] == pytest.approx(2.0, abs=1e-12)


@pytest.mark.negative
def test_sde_figure_check_fails_on_a_wrong_order_or_unresolved_bias():
    """A second-order SME error of order 1 (drift correction dropped) fails; so does a bias that is
    not 10 standard errors from zero."""
    from dln_theory.figures import sde

    assert not sde.check(_synthetic_results({"1": 1.0, "2": 1.0, "rr": 1.0}))[0]
    results = _synthetic_results({"1": 1.0, "2": 2.0, "rr": 1.0})
    results["2"]["se"]["u1"] = results["2"]["bias"]["u1"] / 2
    assert not sde.check(results)[0]
