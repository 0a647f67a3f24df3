"""simulate(): time convention, saving, early stopping, divergence, jit/vmap consistency."""

import jax
import jax.numpy as jnp
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


# ----------------------------------------------------------------------- SGD: one shuffle per epoch


def _batches(method, n, steps, key=0):
    """The example indices of each step's batch (labels y = 0, …, n − 1 identify the examples),
    drawn as `advance` draws them (one key split per step)."""
    import jax.numpy as jnp

    objective = Objective(dt.PE(), jnp.zeros((n, 3)), jnp.arange(n, dtype=float))
    params = dt.PE().init(0.1, 3)

    def one(carry, _):
        state, key = carry
        key, sub = jax.random.split(key)
        state, batch, _ = method.minibatch(state, objective, sub)
        return (state._replace(k=state.k + 1), key), batch.labels

    return np.asarray(jax.lax.scan(one, (method.init(params, objective), jax.random.PRNGKey(key)),
                                   None, length=steps)[1]).astype(int)


@pytest.mark.parametrize("n, batch_size", [(12, 3), (11, 2)])
def test_reshuffling_uses_each_example_at_most_once_per_epoch(n, batch_size):
    """Random reshuffling (Minibatches): an epoch is ⌊n/B⌋ batches of distinct examples, all n when
    B divides n (else n mod B are dropped), and the order changes between epochs. Exact counts."""
    m = n // batch_size
    idx = _batches(dt.SGD(0.1, batch_size=batch_size), n, 4 * m).reshape(4, m * batch_size)
    for epoch in idx:
        assert len(set(epoch.tolist())) == m * batch_size  # no example twice in an epoch
        if n % batch_size == 0:
            assert sorted(epoch.tolist()) == list(range(n))
    assert len({tuple(e) for e in idx}) == 4  # a fresh permutation each epoch (equal ones: 1/n! odds)


def test_replacement_and_label_noise_draw_fresh_batches():
    """replacement=True draws each batch i.i.d. uniformly (examples may repeat within an epoch):
    over 400 draws of n = 5 every example appears (P(one missing) = 5·0.8⁴⁰⁰ ≈ 1e-38); label
    noise σ moves the labels by N(0, σ²), checked by the sample standard deviation to 15 % (400
    samples: standard error of σ̂ is σ/√800 ≈ 3.5 %)."""
    import jax.numpy as jnp

    n = 5
    idx = _batches(dt.SGD(0.1, batch_size=1, replacement=True), n, 400)
    assert set(idx.ravel().tolist()) == set(range(n))
    assert any(len(set(idx[i:i + n, 0].tolist())) < n for i in range(0, 400, n))  # repeats happen
    sigma = 0.5
    method = dt.SGD(0.1, batch_size=1, label_noise=sigma)
    objective = Objective(dt.PE(), jnp.zeros((n, 3)), jnp.zeros(n))
    state = method.init(dt.PE().init(0.1, 3), objective)
    keys = jax.random.split(jax.random.PRNGKey(1), 400)
    noise = jax.vmap(lambda k: method.minibatch(state, objective, k)[1].labels)(keys)
    assert abs(float(np.std(noise)) / sigma - 1) < 0.15


def _primitives_outside_cond(jaxpr, found, inside=False):
    """Names of the primitives of ``jaxpr`` (recursively) that run outside a `lax.cond` branch."""
    for eqn in jaxpr.eqns:
        branch = inside or eqn.primitive.name == "cond"
        if not branch:
            found.add(eqn.primitive.name)
        for value in eqn.params.values():
            for sub in value if isinstance(value, tuple | list) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    _primitives_outside_cond(inner, found, branch)
    return found


@pytest.mark.parametrize("grid", [None, {"alpha": [0.1, 0.2]}, {"seed": [0, 1]}])
def test_sgd_draws_a_permutation_only_at_epoch_starts(problem, grid):
    """The permutation (a sort) of random reshuffling is drawn inside a conditional taken at epoch
    starts, not at every step: the step counter stays unbatched for one configuration (simulate)
    and in sweeps, so the `lax.cond` is not turned into a select that computes both branches."""
    import equinox as eqx
    import jax.numpy as jnp

    from dln_theory import run as R

    run = R.Run(dt.SGD(0.01, batch_size=2), dt.PE(), problem, 0.3, 20, 10)
    values = {} if grid is None else {k: jnp.asarray(v) for k, v in grid.items()}
    index = jnp.arange(1 if grid is None else 2)
    axes = R.vmap_axes(run, values, index)
    progress = R._start(run, values, index, axes)
    fixed = (run, values, jnp.asarray(0), jnp.asarray(10), axes)
    jaxpr = eqx.filter_make_jaxpr(R._advance)(fixed, progress)[0].jaxpr
    assert "sort" not in _primitives_outside_cond(jaxpr, set())
    # negative control: the same walk sees the sort of a permutation drawn outside a cond
    control = jax.make_jaxpr(lambda k: jax.random.permutation(k, 5))(jax.random.PRNGKey(0)).jaxpr
    assert "sort" in _primitives_outside_cond(control, set())


def test_saved_rows_are_the_records_at_the_saved_iterates(problem):
    """Row k of a trajectory (β, L, ‖∇_θ L‖, α_eff², t) is evaluated at the iterate θ_{k·s}: the
    final iterate of a run of k·s steps. Checked against the P-E closed forms in NumPy: β = u ⊙ v,
    L = ‖Xβ − y‖²/2n, ∇_u L = g ⊙ v, ∇_v L = g ⊙ u with g = Xᵀ(Xβ − y)/n, α_eff² = (u² − v²)/2,
    t = k·s·η. Tolerance 1e-12 relative: the same float64 formulas in another summation order."""
    eta, s = 0.05, 5
    traj = dt.simulate(dt.GD(eta), dt.PE(), problem, 0.3, 4 * s, s)
    X, y = np.asarray(problem.X), np.asarray(problem.y)
    for k in range(1, 5):
        u, v = np.asarray(dt.simulate(dt.GD(eta), dt.PE(), problem, 0.3, k * s, k * s).params)
        beta = u * v
        r = X @ beta - y
        g = X.T @ r / len(y)
        expected = {"beta": beta, "loss": 0.5 * np.mean(r**2),
                    "grad_norm": np.sqrt(np.sum((g * v) ** 2) + np.sum((g * u) ** 2)),
                    "alpha_eff2": 0.5 * (u**2 - v**2), "t": k * s * eta}
        for name, value in expected.items():
            np.testing.assert_allclose(getattr(traj, name)[k], value, rtol=1e-12, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("gram", [False, True])
def test_pe_gradient_and_its_derivative_are_those_of_autodiff(problem, gram):
    """`Objective.grad` on P-E goes through ``PE.beta_vjp`` (g ⊙ v, g ⊙ u) instead of autodiff's
    pad and sum, for speed: its values, batched, and its Hessian-vector product (GR's double
    backpropagation differentiates it) equal those of ``jax.grad`` of the same loss bit for bit
    (the same products, one rounding each; only the sign of a zero may differ, which == ignores)."""
    objective = problem.objective(dt.PE())
    objective = objective.with_gram() if gram else objective
    reference = jax.grad(objective.loss)
    params = jax.random.normal(jax.random.PRNGKey(1), (5, 2, problem.d))
    np.testing.assert_array_equal(jax.vmap(objective.grad)(params), jax.vmap(reference)(params))
    tangent = jax.random.normal(jax.random.PRNGKey(2), (2, problem.d))
    hvp = jax.jvp(objective.grad, (params[0],), (tangent,))[1]
    np.testing.assert_array_equal(hvp, jax.jvp(reference, (params[0],), (tangent,))[1])
    penalty = lambda f: jax.grad(lambda p: jnp.sum(f(p) ** 2))(params[0])  # noqa: E731
    np.testing.assert_array_equal(penalty(objective.grad), penalty(reference))
