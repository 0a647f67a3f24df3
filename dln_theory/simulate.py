"""simulate(): one jitted call per run, a while-loop over save points around a scan over steps.

Memory is O(number of saves), not O(steps). Per configuration (so also under vmap):

* **divergence**: a step whose parameters leave the finite box |θ| ≤ ``divergence_bound`` is
  rejected, the run is frozen at its last good iterate and ``diverged_at`` records that step's index;
* **convergence**: once the training loss at a save point is below ``loss_tol`` the run is frozen
  and ``converged_at`` records the step count. The loop stops when every configuration is frozen.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _tree, _validate
from .dynamics._base import Method
from .models import Model, check_alpha
from .objective import Objective
from .problems import Problem


class Trajectory(eqx.Module):
    """Saved quantities, one row per save point (leading batch axes under `sweep`).

    Attributes:
        t: time t = Σ η_k at each save (science.md §1).
        beta: β(θ) at each save.
        loss: training loss L(θ).
        grad_norm: ‖∇_θ L(θ)‖.
        alpha_eff2: effective initialization per coordinate (P-E: ½(u² − v²); see `models`).
        params: the final parameters θ.
        steps: number of steps taken.
        diverged_at: index of the rejected step, or −1.
        converged_at: step count at which loss < loss_tol, or −1.
    """

    t: jax.Array
    beta: jax.Array
    loss: jax.Array
    grad_norm: jax.Array
    alpha_eff2: jax.Array
    params: jax.Array
    steps: jax.Array
    diverged_at: jax.Array
    converged_at: jax.Array

    @property
    def diverged(self):
        return self.diverged_at >= 0


def default_save_every(n_steps: int, max_saves: int = 100) -> int:
    """The smallest save interval that divides ``n_steps`` into at most ``max_saves`` blocks."""
    return next(s for s in range(1, n_steps + 1) if n_steps % s == 0 and n_steps // s <= max_saves)


def check_run_arguments(n_steps, save_every, loss_tol, divergence_bound) -> int:
    """Validate the run length arguments; return the save interval."""
    _validate.integer_at_least("n_steps", n_steps, 1)
    save_every = default_save_every(n_steps) if save_every is None else save_every
    _validate.integer_at_least("save_every", save_every, 1)
    if n_steps % save_every:
        raise ValueError(f"save_every={save_every} is not allowed: it must divide n_steps={n_steps}")
    _validate.nonnegative("loss_tol", loss_tol)
    _validate.positive("divergence_bound", divergence_bound)
    return save_every


def use_gram(gram, n: int, d: int) -> bool:
    """Whether to precompute XᵀX: as asked, else when n > d (where it is the cheaper form)."""
    return n > d if gram is None else bool(gram)


def check_precision(precision: str):
    """The JAX dtype for ``"float64"`` or ``"float32"``."""
    _validate.one_of("precision", precision, ("float64", "float32"))
    return jnp.dtype(precision)


def check_inputs(method, model, problem, problem_types=(Problem,)) -> None:
    """Type checks shared by `simulate` and `sweep`."""
    if not isinstance(method, Method):
        raise ValueError(f"method={method!r} is not allowed: pass a dln_theory method such as GD(eta=0.1)")
    _validate.scalar_leaves(method)
    if not isinstance(model, Model):
        raise ValueError(f"model={model!r} is not allowed: pass a parametrization, PE() or PW(depth)")
    if not isinstance(problem, problem_types):
        allowed = " or ".join(t.__name__ for t in problem_types)
        raise ValueError(f"problem={problem!r} is not allowed: pass a {allowed} (see dln_theory.problems)")


def simulate(
    method: Method,
    model: Model,
    problem: Problem,
    alpha,
    n_steps: int,
    save_every: int | None = None,
    *,
    key=0,
    params0=None,
    loss_tol: float = 0.0,
    divergence_bound: float = 1e8,
    precision: str = "float64",
    gram: bool | None = None,
) -> Trajectory:
    """Run ``method`` on the DLN ``model`` fitted to ``problem`` for ``n_steps`` steps.

    Args:
        method: a method (GD, GradientFlow, …); its hyper-parameters are traced, not static.
        model: PE() or PW(depth).
        problem: training data (and optionally β* and a test set).
        alpha: initialization scale α, scalar or per coordinate (ignored when ``params0`` given).
        n_steps: number of steps; time T = n_steps·η for a constant step.
        save_every: steps between saves (must divide n_steps; default: at most 100 saves).
        key: PRNG seed or key for stochastic methods.
        params0: explicit initial parameters (2, d), overriding ``model.init(alpha)``.
        loss_tol: freeze the run once the training loss at a save point is below this.
        divergence_bound: reject steps with a non-finite entry or one above this bound.
        precision: ``"float64"`` (default) or ``"float32"`` (faster; iterates then agree with
            float64 to about 1e-6 relative, so the 1e-12 identities no longer resolve).
        gram: full-batch gradients through K = XᵀX/n (O(d²) per step instead of O(nd));
            default: when n > d.
    """
    n_steps, save_every = _validate.run_length(n_steps, save_every, loss_tol, divergence_bound)
    check_inputs(method, model, problem)
    check_alpha(alpha, problem.d)
    save_every = check_run_arguments(n_steps, save_every, loss_tol, divergence_bound)
    params0 = None if params0 is None else _validate.params0(params0, problem.d)
    if params0 is None:
        params0 = model.init(alpha, problem.d)
    key = jax.random.PRNGKey(key) if np.ndim(key) == 0 else key
    dtype = check_precision(precision)
    objective = _tree.cast_floats(Objective(model, problem.X, problem.y), dtype)
    if use_gram(gram, problem.n, problem.d):
        objective = objective.with_gram()
    method.check_objective(objective)
    method, params0 = _tree.cast_floats((method, jnp.asarray(params0)), dtype)
    return _run_jit(
        method, objective, params0, key, loss_tol, divergence_bound, n_steps // save_every, save_every
    )


def run(method, objective, params0, key, loss_tol, divergence_bound, n_blocks: int, save_every: int,
        early_exit: bool = True):
    """The traceable core of `simulate` (vmapped by `sweep`).

    A run is frozen per configuration once it diverges (at the rejected step) or converges (at a
    save point). With ``early_exit`` the loop over save blocks is a ``while_loop`` that stops when
    the run is frozen (one configuration); without it, a ``scan`` over blocks whose records are
    its outputs: under ``vmap`` a batched while-loop would copy every save buffer at every block.
    """

    def record(params, t):
        loss, grad = objective.value_and_grad(params)
        return (t, objective.model.beta(params), loss, _tree.norm(grad), objective.model.alpha_eff2(params))

    def one_step(carry, _):
        params, state, t, k, key, diverged_at, converged_at = carry
        key, sub = jax.random.split(key) if method.stochastic else (key, key)
        new_params, new_state, aux = method.step(params, state, objective, sub)
        running = (diverged_at < 0) & (converged_at < 0)
        ok = _tree.is_bounded(new_params, divergence_bound)
        move = running & ok
        diverged_at = jnp.where(running & ~ok, k, diverged_at)
        # Only the parameters are frozen: a frozen configuration never moves again, so its method
        # state may run on, and counters shared by all configurations stay unbatched under vmap
        # (SGD then reshuffles at epoch starts only, with one permutation for the whole sweep).
        params = _tree.select(move, new_params, params)
        state = new_state
        t = jnp.where(move, t + aux["dt"], t)
        return (params, state, t, jnp.where(move, k + 1, k), key, diverged_at, converged_at), None

    def block(carry):
        carry, _ = jax.lax.scan(one_step, carry, None, length=save_every)
        params, state, t, k, key, diverged_at, converged_at = carry
        rec = record(params, t)
        converged_at = jnp.where((converged_at < 0) & (rec[2] < loss_tol), k, converged_at)
        return (params, state, t, k, key, diverged_at, converged_at), rec

    t0 = jnp.zeros((), dtype=float)
    rec0 = record(params0, t0)
    minus_one = -jnp.ones((), dtype=int)
    carry = (params0, method.init(params0, objective), t0, jnp.zeros((), dtype=int), key, minus_one, minus_one)
    if early_exit:
        def body(loop):
            i, carry, saves = loop
            carry, rec = block(carry)
            return i + 1, carry, jax.tree.map(lambda buf, r: buf.at[i + 1].set(r), saves, rec)

        def running(loop):
            i, carry, _ = loop
            return (i < n_blocks) & (carry[5] < 0) & (carry[6] < 0)

        saves = jax.tree.map(lambda r: jnp.zeros((n_blocks + 1,) + r.shape, r.dtype).at[0].set(r), rec0)
        i, carry, saves = jax.lax.while_loop(running, body, (0, carry, saves))
        rows = jnp.arange(n_blocks + 1)
        saves = jax.tree.map(lambda buf: jnp.where(_expand(rows > i, buf), buf[i], buf), saves)
    else:
        carry, recs = jax.lax.scan(lambda c, _: block(c), carry, None, length=n_blocks)
        saves = jax.tree.map(lambda r0, rs: jnp.concatenate([r0[None], rs]), rec0, recs)
    params, _, _, k, _, diverged_at, converged_at = carry
    return Trajectory(*saves, params, k, diverged_at, converged_at)


def _expand(mask, like):
    return mask.reshape(mask.shape + (1,) * (like.ndim - 1))


_run_jit = eqx.filter_jit(run)
