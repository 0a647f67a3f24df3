"""SignGD, RMSProp and Adam (`dln_theory.dynamics.adaptive`): update rules by value against NumPy
loops, exact identities between them, the common interface (jit, vmap, sweep), input checks, and
one step on a deep network."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dln_theory as dt
from dln_theory.dynamics import Adam, AdaptiveState, RMSProp, SignGD
from dln_theory.objective import Objective
from dln_theory.sweep import sweep
from dln_theory.verify import adaptive as claims
from dln_theory.verify.derived import iterate

ETA = 0.01


@pytest.fixture(scope="module")
def setup():
    problem = dt.SparseRegression(n=8, d=12, k=2).sample(0)
    objective = Objective(dt.PE(), problem.X, problem.y)
    # a generic start (no zero gradient) and the P-E start (∂L/∂u = 0 at the first step)
    generic = 0.5 + 0.3 * np.asarray(jax.random.normal(jax.random.PRNGKey(3), (2, problem.d)))
    return problem, objective, generic


CASES = {
    "SignGD": (SignGD(ETA), dict(kind="sign")),
    "RMSProp": (RMSProp(ETA, beta2=0.99, eps=1e-2), dict(kind="adam", beta2=0.99, eps=1e-2)),
    "RMSProp_bias_eps_root": (RMSProp(ETA, beta2=0.95, eps=0.0, eps_root=1e-3, bias_correction=True),
                              dict(kind="adam", beta2=0.95, eps_root=1e-3, bias_correction=True)),
    "Adam": (Adam(ETA, beta1=0.8, beta2=0.9, eps=1e-3, eps_root=1e-4),
             dict(kind="adam", beta1=0.8, beta2=0.9, eps=1e-3, eps_root=1e-4, bias_correction=True)),
    "Adam_no_bias_correction": (Adam(ETA, beta1=0.5, beta2=0.99, eps=1e-2, bias_correction=False),
                                dict(kind="adam", beta1=0.5, beta2=0.99, eps=1e-2)),
    "Adam_defaults": (Adam(ETA), dict(kind="adam", beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True)),
    "SignGD_weight_decay": (SignGD(ETA, weight_decay=0.3), dict(kind="sign", weight_decay=0.3)),
    "Adam_weight_decay": (Adam(ETA, beta1=0.8, beta2=0.9, eps=1e-3, weight_decay=0.1),
                          dict(kind="adam", beta1=0.8, beta2=0.9, eps=1e-3, bias_correction=True, weight_decay=0.1)),
}


@pytest.mark.parametrize("start", ["generic", "pe"])
@pytest.mark.parametrize("name", CASES)
def test_matches_numpy_loop_of_the_update_rule(name, start, setup):
    """30 steps equal `verify.adaptive.reference_run` (NumPy, hand-derived P-E gradients) to
    1e-12 relative: two code paths rounding differently by ~1e-16 per operation (measured
    ≤ 1e-15 here; near the minimum RMSProp at β₂ = 0.9 amplifies rounding ~3× a step, so the
    runs stop at 30 steps)."""
    problem, objective, generic = setup
    method, options = CASES[name]
    theta0 = generic if start == "generic" else np.asarray(dt.PE().init(0.5, problem.d))
    want = claims.reference_run(np.asarray(problem.X), np.asarray(problem.y), theta0, ETA, 30, **options)
    got = np.asarray(iterate(method, objective, jnp.asarray(theta0), 30))
    assert np.max(np.abs(got - want)) <= 1e-12 * np.max(np.abs(want))
    assert np.max(np.abs(got - theta0)) > 30 * ETA * 1e-2  # it moved


def test_first_adam_step_is_a_sign_step_up_to_eps(setup):
    """With bias correction, m̂₁ = g and v̂₁ = g², so the first Adam step is −η g/(|g| + ε) for any
    β₁, β₂ (Kingma & Ba §2: |Δθ| ≤ η at the start). Exact up to rounding (1e-15)."""
    _, objective, generic = setup
    g = np.asarray(objective.grad(jnp.asarray(generic)))
    for b1, b2, eps in ((0.9, 0.999, 1e-8), (0.3, 0.5, 0.1)):
        got = np.asarray(iterate(Adam(ETA, beta1=b1, beta2=b2, eps=eps), objective, jnp.asarray(generic), 1))
        np.testing.assert_allclose(got, generic - ETA * g / (np.abs(g) + eps), rtol=0, atol=1e-15)


def test_rmsprop_with_no_memory_and_no_eps_is_sign_descent(setup):
    """β₂ = 0, ε = ε_root = 0: g/√(g²) = sign(g), exactly in IEEE arithmetic (√ of a correctly
    rounded square returns |g|), and a zero gradient gives no move in both."""
    problem, objective, generic = setup
    for theta0 in (jnp.asarray(generic), dt.PE().init(0.5, problem.d)):
        a = iterate(RMSProp(ETA, beta2=0.0, eps=0.0), objective, theta0, 40)
        b = iterate(SignGD(ETA), objective, theta0, 40)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_adam_without_first_moment_is_rmsprop(setup):
    """β₁ = 0: m = g, and with bias correction m̂ = g, so Adam is RMSProp (same β₂, ε, ε_root)."""
    _, objective, generic = setup
    a = iterate(Adam(ETA, beta1=0.0, beta2=0.9, eps=1e-3, eps_root=1e-4), objective, jnp.asarray(generic), 40)
    b = iterate(RMSProp(ETA, beta2=0.9, eps=1e-3, eps_root=1e-4, bias_correction=True), objective,
               jnp.asarray(generic), 40)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-15)


@pytest.mark.negative
def test_reference_loop_tells_the_methods_apart(setup):
    """Negative control: the NumPy loop of Adam without bias correction misses Adam by ≫ 1e-12."""
    problem, objective, generic = setup
    want = claims.reference_run(np.asarray(problem.X), np.asarray(problem.y), generic, ETA, 30,
                                kind="adam", beta1=0.8, beta2=0.9, eps=1e-3, eps_root=1e-4)
    got = np.asarray(iterate(CASES["Adam"][0], objective, jnp.asarray(generic), 30))
    assert np.max(np.abs(got - want)) > 1e-4


def test_state_is_typed_and_hyperparameters_declared():
    assert list(Adam.hyperparameters()) == ["eta", "weight_decay", "beta2", "eps", "eps_root", "beta1"]
    assert list(RMSProp.hyperparameters()) == ["eta", "weight_decay", "beta2", "eps", "eps_root"]
    assert list(SignGD.hyperparameters()) == ["eta", "weight_decay"]
    method = Adam(0.1)
    assert method.weight_decay is None
    assert all(getattr(method, f).dtype == jnp.float64 for f in Adam.hyperparameters() if f != "weight_decay")
    objective = Objective(dt.PE(), jnp.ones((3, 4)), jnp.ones(3))
    state = method.init(dt.PE().init(0.1, 4), objective)
    assert isinstance(state, AdaptiveState) and state.m.shape == (2, 4) and state.perm is None
    assert SignGD(0.1).init(dt.PE().init(0.1, 4), objective).v is None


@pytest.mark.parametrize("make, message", [
    (lambda: Adam(0.1, beta1=1.0), r"^beta1=1.0 is not allowed: beta1 must lie in \[0, 1\)"),
    (lambda: RMSProp(0.1, beta2=-0.1), r"^beta2=-0.1 is not allowed"),
    (lambda: Adam(0.1, eps=-1e-8), r"^eps=-1e-08 is not allowed"),
    (lambda: RMSProp(0.1, eps_root=np.nan), r"^eps_root=nan is not allowed"),
    (lambda: SignGD(0.0), r"^eta=0.0 is not allowed"),
    (lambda: Adam(0.1, weight_decay=-0.1), r"^weight_decay=-0.1 is not allowed"),
    (lambda: SignGD(0.1, batch_size=0), r"^batch_size=0 is not allowed"),
])
def test_bad_hyperparameters_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


METHODS = {"SignGD": SignGD(ETA), "RMSProp": RMSProp(ETA, beta2=0.9, eps=1e-3),
           "Adam_minibatch": Adam(ETA, beta1=0.5, beta2=0.9, batch_size=4),
           "Adam_schedule": Adam(ETA, schedule=lambda k: 1.0 / (1.0 + 1e-2 * k))}


@pytest.mark.parametrize("name", METHODS)
def test_simulate_keeps_shapes_and_time(name, setup):
    problem = setup[0]
    traj = dt.simulate(METHODS[name], dt.PE(), problem, 0.3, 20, 5)
    assert traj.params.shape == (2, 12) and traj.params.dtype == jnp.float64
    assert int(traj.diverged_at) == -1 and np.all(np.isfinite(traj.beta))
    assert traj.loss[-1] < traj.loss[0]
    if "schedule" not in name:
        np.testing.assert_allclose(traj.t[-1], 20 * ETA, rtol=1e-12)


def test_sweep_over_hyperparameter_equals_separate_runs(setup):
    """One compiled sweep over a hyper-parameter of Adam equals one simulate per value (to
    rounding of the batched program, 1e-11)."""
    problem, axis, values = setup[0], "beta1", [0.0, 0.5, 0.9]
    method = Adam(ETA, beta2=0.9, eps=1e-3)
    res = sweep(method, dt.PE(), problem, {axis: values}, 30, 10, alpha=0.3, cache=False, progress=False)
    assert res.traces <= 1
    for i, value in enumerate(values):
        single = dt.simulate(dataclasses.replace(method, **{axis: value}), dt.PE(), problem, 0.3, 30, 10)
        np.testing.assert_allclose(res.trajectory.params[i], single.params, rtol=1e-11, atol=1e-14)


def test_one_adam_step_on_a_tiny_mlp():
    """One Adam step on a float32 MLP: weights stay float32, and with bias correction every weight
    moves by −η g/(|g| + ε) (the first-step identity above), to float32 rounding (1e-6 relative to η)."""
    from dln_theory.deepnet import MLP, load_dataset
    from dln_theory.deepnet.objective import NetObjective

    ds = load_dataset("digits", n_train=32, dtype=np.float32)
    objective, params = NetObjective.create(MLP(64, 8, 1, 10, jax.random.key(0)), ds.x_train, ds.y_train)
    method = Adam(0.01, batch_size=None)
    new, state, aux = method.step(params, method.init(params, objective), objective, jax.random.PRNGKey(0))
    grads = objective.grad(params)
    for p, q, g in zip(jax.tree.leaves(params), jax.tree.leaves(new), jax.tree.leaves(grads)):
        assert q.dtype == jnp.float32
        want = np.asarray(p, float) - 0.01 * np.asarray(g, float) / (np.abs(np.asarray(g, float)) + 1e-8)
        np.testing.assert_allclose(np.asarray(q, float), want, rtol=0, atol=1e-6 * 0.01 + 1e-7)
    assert int(state.k) == 1 and float(aux["dt"]) == 0.01
    assert objective.loss(new) < objective.loss(params)


@pytest.mark.parametrize("method", [SignGD(0.01, batch_size=16), RMSProp(0.01, beta2=0.9, batch_size=16)],
                         ids=["SignGD", "RMSProp"])
def test_steps_a_tiny_mlp_on_minibatches(method):
    """Eight jitted minibatch steps on a float32 MLP: weights stay float32 and the loss drops."""
    from dln_theory.deepnet import MLP, load_dataset
    from dln_theory.deepnet.objective import NetObjective

    ds = load_dataset("digits", n_train=32, dtype=np.float32)
    objective, params = NetObjective.create(MLP(64, 8, 1, 10, jax.random.key(0)), ds.x_train, ds.y_train)

    @eqx.filter_jit
    def run(params):
        def body(i, carry):
            return method.step(*carry, objective, jax.random.fold_in(jax.random.PRNGKey(1), i))[:2]
        return jax.lax.fori_loop(0, 8, body, (params, method.init(params, objective)))[0]

    new = run(params)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(new))
    assert objective.loss(new) < objective.loss(params) - 0.05
