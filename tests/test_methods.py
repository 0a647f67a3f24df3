"""One common test body over every method (style.md: optax/diffrax common tests)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dln_theory as dt
from dln_theory.dynamics import AbstractFlow, GradientMethod, GradientState
from dln_theory.objective import Objective
from dln_theory.simulate import run
from dln_theory.sweep import sweep
from dln_theory.theory.modified_losses import HeavyBallField, gd_field

METHODS = {
    "GD": dt.GD(0.05),
    "GD_schedule": dt.GD(0.05, schedule=lambda k: 1.0 / (1.0 + 1e-3 * k)),
    "SGD": dt.SGD(0.05, batch_size=2),
    "SGD_replacement_noise": dt.SGD(0.05, batch_size=2, replacement=True, label_noise=0.1),
    "HeavyBall": dt.HeavyBall(0.05, momentum=0.5),
    "Nesterov": dt.Nesterov(0.05, momentum=0.5),
    "GR": dt.GR(0.05, gamma=0.1),
    "GR_per_example": dt.GR(0.05, gamma=0.1, per_example=True),
    "FGR": dt.FGR(0.05, gamma=0.1, eps=0.1),
    "FGR_normalized": dt.FGR(0.05, gamma=0.1, eps=0.1, normalize=True),
    "BGR": dt.BGR(0.05, gamma=0.1, eps=0.1),
    "SAM": dt.SAM(0.05, rho=0.05),
    "1-SAM": dt.SAM(0.05, rho=0.05, group_size=1, normalize=False),
    "Flooding": dt.Flooding(0.05, b=0.01),
    "Extragradient": dt.Extragradient(0.05),
    "DataGrad": dt.DataGrad(0.05, lam=0.01),
    "SpectReg": dt.SpectReg(0.05, lam=0.01),
    "GradientFlow": dt.GradientFlow(0.05),
    "ModifiedFlow": dt.ModifiedFlow(0.05, field=gd_field(1)),
    "ModifiedFlow_heavy_ball": dt.ModifiedFlow(0.05, field=HeavyBallField(momentum=0.3)),
    "SignGD": dt.SignGD(0.05),
    "RMSProp": dt.RMSProp(0.05, beta2=0.9),
    "Adam": dt.Adam(0.05, beta1=0.5, beta2=0.9),
    "NormalizedGD": dt.NormalizedGD(0.05),
    "NormalizedGD_grad": dt.NormalizedGD(0.05, normalize="grad"),
    "SME": dt.SME(0.05, batch_size=2, order=1),
}

#: the SME solves an SDE per step (12 s for the jit test alone): its common tests run with -m slow,
#: its own in tests/test_sme.py by default.
METHOD_NAMES = [pytest.param(n, marks=[pytest.mark.slow] if n == "SME" else []) for n in METHODS]

# The numeric hyper-parameter that each method adds to GD (swept in the vmap test).
EXTRA = {"GR": "gamma", "FGR": "eps", "BGR": "gamma", "SAM": "rho", "Flooding": "b", "HeavyBall": "momentum",
         "DataGrad": "lam", "ModifiedFlow_heavy_ball": "field.momentum"}


@pytest.fixture(scope="module")
def problem():
    return dt.SparseRegression(n=8, d=12, k=2).sample(0)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_shapes_and_dtypes_kept(name, problem):
    traj = dt.simulate(METHODS[name], dt.PE(), problem, 0.3, 20, 5)
    assert traj.params.shape == (2, 12) and traj.params.dtype == jnp.float64
    assert traj.beta.shape == (5, 12) and traj.loss.shape == (5,)
    assert int(traj.diverged_at) == -1 and np.all(np.isfinite(traj.beta))
    np.testing.assert_allclose(traj.t[-1], 20 * 0.05, rtol=1e-12 if "schedule" not in name else 1e-2)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_jit_equals_no_jit(name, problem):
    method = METHODS[name]
    objective = Objective(dt.PE(), problem.X, problem.y)
    params0 = dt.PE().init(0.3, 12)
    args = (method, objective, params0, jax.random.PRNGKey(1), 0.0, 1e8, 2, 3)
    with jax.disable_jit():
        eager = run(*args)
    jitted = jax.jit(run, static_argnums=(6, 7))(*args)
    np.testing.assert_allclose(eager.params, jitted.params, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_vmap_over_hyperparameter_equals_loop_and_traces_once(name, problem):
    method, field = METHODS[name], EXTRA[name]
    values = [0.01, 0.02, 0.05]
    res = sweep(method, dt.PE(), problem, {field: values}, 30, 10, alpha=0.3, cache=False)
    assert res.traces <= 1
    for i, value in enumerate(values):
        single = dt.simulate(_replace(method, field, value), dt.PE(), problem, 0.3, 30, 10)
        np.testing.assert_allclose(res.trajectory.params[i], single.params, rtol=1e-11, atol=1e-14)


def _replace(method, dotted, value):
    import equinox as eqx

    def get(m):
        for part in dotted.split("."):
            m = getattr(m, part)
        return m

    return eqx.tree_at(get, method, jnp.asarray(value, dtype=float))


def test_sgd_random_reshuffling_visits_every_example_once_per_epoch(problem):
    """Over one epoch of batch-1 RR, the batches are a permutation of the examples."""
    method = dt.SGD(0.05, batch_size=1)
    objective = Objective(dt.PE(), problem.X, problem.y)
    state = method.init(dt.PE().init(0.3, 12), objective)
    seen = []
    key = jax.random.PRNGKey(3)
    for _ in range(problem.n):
        key, sub = jax.random.split(key)
        state, batch, _ = method.minibatch(state, objective, sub)
        seen.append(int(np.flatnonzero(np.all(np.asarray(problem.X) == np.asarray(batch.X[0]), axis=1))[0]))
        state = state._replace(k=state.k + 1)
    assert sorted(seen) == list(range(problem.n))


BAD = [
    (lambda: dt.GD(0.0), "eta"),
    (lambda: dt.GD(-1.0), "eta"),
    (lambda: dt.GD(float("nan")), "eta"),
    (lambda: dt.FGR(0.1, gamma=0.1, eps=0.0), "eps"),
    (lambda: dt.BGR(0.1, gamma=-0.1, eps=0.1), "gamma"),
    (lambda: dt.GR(0.1, gamma=-1.0), "gamma"),
    (lambda: dt.SAM(0.1, rho=-0.1), "rho"),
    (lambda: dt.SAM(0.1, rho=0.1, group_size=0), "group_size"),
    (lambda: dt.HeavyBall(0.1, momentum=1.0), "momentum"),
    (lambda: dt.Nesterov(0.1, momentum=-0.1), "momentum"),
    (lambda: dt.Flooding(0.1, b=-1.0), "b"),
    (lambda: dt.SGD(0.1), "batch_size"),
    (lambda: dt.SGD(0.1, batch_size=0), "batch_size"),
    (lambda: dt.DataGrad(0.1, lam=-1.0), "lam"),
    (lambda: dt.GradientFlow(0.0), "eta"),
]


@pytest.mark.parametrize("make, parameter", BAD)
def test_bad_hyperparameters_raise_clear_errors(make, parameter):
    with pytest.raises(ValueError, match=parameter):
        make()


def test_data_dependent_checks_run_before_compiling(problem):
    with pytest.raises(ValueError, match="batch_size=9"):
        dt.simulate(dt.SGD(0.1, batch_size=9), dt.PE(), problem, 0.1, 10)
    with pytest.raises(ValueError, match="group_size=3"):
        dt.simulate(dt.SAM(0.1, rho=0.1, group_size=3), dt.PE(), problem, 0.1, 10)
    with pytest.raises(ValueError, match="grid axis 'rho'"):
        sweep(dt.GD(0.1), dt.PE(), problem, {"rho": [0.1]}, 10, alpha=0.1, cache=False)
    with pytest.raises(ValueError, match="eps"):
        sweep(dt.FGR(0.1, gamma=0.1, eps=0.1), dt.PE(), problem, {"eps": [0.1, 0.0]}, 10, alpha=0.1, cache=False)


@pytest.mark.parametrize("name", ["GD", "HeavyBall", "FGR", "SAM"])
def test_float32_parameters_stay_float32(name, problem):
    """A step keeps the dtype of each parameter leaf (float64 hyper-parameters do not promote it)."""
    method = METHODS[name]
    objective = Objective(dt.PE(), problem.X.astype(np.float32), problem.y.astype(np.float32))
    params = dt.PE().init(0.3, 12).astype(np.float32)
    new, state, _ = method.step(params, method.init(params, objective), objective, jax.random.PRNGKey(0))
    assert new.dtype == np.float32
    assert all(leaf.dtype == np.float32 for leaf in jax.tree.leaves(state) if jnp.issubdtype(leaf.dtype, jnp.floating))


# Structure: one declaration per hyper-parameter, options only where used, typed state.

ALL_METHODS = [dt.GD, dt.SGD, dt.HeavyBall, dt.Nesterov, dt.GR, dt.FGR, dt.BGR, dt.SAM, dt.Flooding,
               dt.Extragradient, dt.DataGrad, dt.SpectReg, dt.GradientFlow, dt.ModifiedFlow, dt.SignGD, dt.RMSProp,
               dt.Adam, dt.NormalizedGD, dt.NormalizedFlow, dt.SME]


def test_hyperparameters_are_the_declared_float_leaves():
    """Each class lists exactly its numeric hyper-parameters, each with the check its field declares."""
    assert set(dt.GD.hyperparameters()) == {"eta", "momentum", "weight_decay"}
    assert set(dt.SGD.hyperparameters()) == {"eta", "momentum", "weight_decay", "label_noise"}
    assert set(dt.FGR.hyperparameters()) == {"eta", "momentum", "weight_decay", "gamma", "eps"}
    assert set(dt.GradientFlow.hyperparameters()) == {"eta"}
    assert set(dt.ModifiedFlow.hyperparameters()) == {"eta", "h"}
    for cls in ALL_METHODS:
        for name, check in cls.hyperparameters().items():
            with pytest.raises(ValueError, match=name):
                check(name, float("nan"))


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_every_declared_hyperparameter_is_a_float64_leaf(name):
    method = METHODS[name]
    leaves = {f: getattr(method, f) for f in type(method).hyperparameters() if getattr(method, f) is not None}
    assert leaves and all(v.dtype == jnp.float64 and v.ndim == 0 for v in leaves.values())


def test_options_only_on_the_methods_that_use_them():
    """Sampling options belong to SGD (label noise also to its SME); Nesterov is a class, not a flag; flows take no step options."""
    for cls in ALL_METHODS:
        fields = {f.name for f in dataclasses.fields(cls)}
        assert "nesterov" not in fields
        assert ("replacement" in fields) == (cls is dt.SGD)
        assert ("label_noise" in fields) == (cls in (dt.SGD, dt.SME))  # the SME models SGD with replacement
        if cls in (dt.GradientFlow, dt.ModifiedFlow, dt.NormalizedFlow):
            assert not fields & {"momentum", "weight_decay", "batch_size", "schedule"}
    with pytest.raises(TypeError):
        dt.GD(0.1, label_noise=0.1)


def test_state_is_typed(problem):
    objective = Objective(dt.PE(), problem.X, problem.y)
    params = dt.PE().init(0.3, 12)
    plain = dt.GD(0.1).init(params, objective)
    assert isinstance(plain, GradientState) and plain.perm is None and plain.velocity is None
    full = dt.SGD(0.1, batch_size=2, momentum=0.5).init(params, objective)
    assert sorted(np.asarray(full.perm)) == list(range(problem.n)) and full.velocity.shape == params.shape
    assert dt.SGD(0.1, batch_size=2, replacement=True).init(params, objective).perm is None
    assert dt.GradientFlow(0.1).init(params, objective) is None


def test_abstract_classes_cannot_be_instantiated():
    for cls in (dt.Method, GradientMethod, AbstractFlow):
        with pytest.raises(TypeError, match="abstract"):
            cls(0.1)
