"""`Run`: one value describing a simulation, both what is computed and what the cache hashes.

A `Run` holds every input that decides a trajectory: the method (with its hyper-parameters), the
parametrization, the data (a fixed `Problem`, or a `SparseRegression` spec sampled with the
seed), the initialization scale α, the seed, the horizon and saving, the stopping rules and the
precision. `simulate` builds one and computes it; `sweep` batches one over a grid of values of
any of its numeric fields, addressed by path (``"alpha"``, ``"seed"``, ``"loss_tol"``, or a
field of the method: ``"eta"``, ``"field.beta"``). Adding a setting means adding one field.

A run is computed as a while-loop over save points around a loop over steps, per configuration
(so also under ``vmap``), with memory O(saves):

* **divergence**: a step whose parameters leave the finite box |θ| ≤ ``divergence_bound`` is
  rejected, the run is frozen at its last good iterate and ``diverged_at`` records that step;
* **convergence**: once the training loss at a save point is below ``loss_tol`` the run is
  frozen and ``converged_at`` records the step count.

`execute` drives it from the host in segments of steps (one compiled call each, the same
compilation for every segment, sized to about a quarter of a second), so that Ctrl-C
(KeyboardInterrupt) stops a long run between segments; it stops early at the first save point
where every configuration is frozen.
"""

import dataclasses
import time
from collections.abc import Mapping
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _jobs, _tree, _validate
from .dynamics import Method
from .models import Model
from .problems import Problem, SparseRegression

AXIS = "configs"
"""The vmap axis name of the configurations of a batch (early stopping reduces over it)."""

SEGMENT_SECONDS = 0.25
"""Target wall-clock time of one compiled segment: the latency of Ctrl-C."""


class Trajectory(eqx.Module):
    """Saved quantities, one row per save point (leading batch axes under `sweep`).

    Attributes:
        t: time t = Σ η_k at each save (docs/conventions.md §1).
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

    def __repr__(self) -> str:
        """One line: batch shape, saves, dimension, time span, and how the runs ended."""
        try:
            loss = np.asarray(self.loss)
        except jax.errors.TracerArrayConversionError:  # inside a transformation: shapes only
            return eqx.tree_pformat(self)
        batch, saves, d = loss.shape[:-1], loss.shape[-1], np.shape(self.beta)[-1]
        t = np.asarray(self.t)
        diverged, converged = np.asarray(self.diverged_at) >= 0, np.asarray(self.converged_at) >= 0
        final = loss[..., -1]
        head = f"batch {batch}, " if batch else ""
        if not batch:
            ended = (f"diverged at step {int(self.diverged_at)}" if diverged else
                     f"converged at step {int(self.converged_at)}" if converged else f"{int(self.steps)} steps")
            return (f"Trajectory({saves} saves, d={d}, t ∈ [{t[0]:.4g}, {t[-1]:.4g}], {ended}, "
                    f"final loss {final:.3g})")
        return (f"Trajectory({head}{saves} saves, d={d}, t ≤ {np.nanmax(t):.4g}, {int(diverged.sum())} diverged, "
                f"{int(converged.sum())} converged, final loss {np.nanmin(final):.3g} … {np.nanmax(final):.3g})")

    def to_xarray(self, dims=(), coords=None):
        """The trajectory as an ``xarray.Dataset`` (``pip install -e '.[xarray]'``).

        Dimensions: the batch axes named by ``dims`` (default ``batch_0``, …) with values
        ``coords`` (name → 1-D values), then ``save`` (t is a coordinate of a single run), and
        ``coordinate`` (i = 0 … d−1) for β and α_eff², ``factor`` × ``coordinate`` for the final
        parameters θ; ``steps``, ``diverged_at`` and ``converged_at`` have the batch axes only.
        """
        import xarray as xr

        batch = np.shape(self.loss)[:-1]
        dims = tuple(dims) or tuple(f"batch_{i}" for i in range(len(batch)))
        if len(dims) != len(batch):
            raise ValueError(f"dims={dims} names {len(dims)} batch axes; the trajectory has {len(batch)}: {batch}")
        tail = {"t": ("save",), "beta": ("save", "coordinate"), "loss": ("save",), "grad_norm": ("save",),
                "alpha_eff2": ("save", "coordinate"), "params": ("factor", "coordinate")}
        data = {}
        for name in (f.name for f in dataclasses.fields(self)):
            value = np.asarray(getattr(self, name))
            extra = tail.get(name, tuple(f"{name}_{i}" for i in range(value.ndim - len(batch))))
            data[name] = (dims + extra, value)
        labels = {k: np.asarray(v) for k, v in (coords or {}).items()}
        labels["coordinate"] = np.arange(np.shape(self.beta)[-1])
        if not batch:
            labels["t"] = ("save", np.asarray(self.t))
            data.pop("t")
        return xr.Dataset(data, coords=labels)


def _float(x):
    return jnp.asarray(x, dtype=float)


class Run(eqx.Module):
    """Everything that decides one simulation (see the module docstring).

    Attributes:
        method: a method (GD, GradientFlow, …); its numeric hyper-parameters are array leaves.
        model: PE() or PW(depth).
        data: a fixed `Problem`, or a `SparseRegression` spec sampled with ``seed``.
        alpha: initialization scale α, scalar or per coordinate (unused when ``params0`` is given).
        n_steps: number of steps; time T = n_steps·η for a constant step.
        save_every: steps between saves; divides ``n_steps``.
        seed: integer seed of the PRNG (minibatches, label noise) and of the data of a spec; or a
            PRNG key array.
        params0: explicit initial parameters (2, d), overriding ``model.init(alpha)``.
        loss_tol: freeze a configuration once its training loss at a save point is below this.
        divergence_bound: reject steps with a non-finite entry or one above this bound.
        precision: ``"float64"`` or ``"float32"``.
        gram: full-batch gradients through K = XᵀX/n (see `Objective.with_gram`).
    """

    method: Method
    model: Model
    data: Problem | SparseRegression
    alpha: jax.Array = eqx.field(converter=_float)
    n_steps: int = eqx.field(static=True)
    save_every: int = eqx.field(static=True)
    seed: jax.Array = eqx.field(converter=jnp.asarray, default=0)
    params0: jax.Array | None = None
    loss_tol: jax.Array = eqx.field(converter=_float, default=0.0)
    divergence_bound: jax.Array = eqx.field(converter=_float, default=1e8)
    precision: str = eqx.field(static=True, default="float64")
    gram: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        _validate.positive("alpha", self.alpha)
        _validate.nonnegative("loss_tol", self.loss_tol)
        _validate.positive("divergence_bound", self.divergence_bound)
        _validate.one_of("precision", self.precision, ("float64", "float32"))
        if self.n_steps % self.save_every:
            raise ValueError(f"save_every={self.save_every} is not allowed: it must divide n_steps={self.n_steps}")
        if not jnp.issubdtype(self.seed.dtype, jnp.integer):  # an int seed, or a raw PRNG key (uint32)
            raise _validate.InputTypeError(f"seed={self.seed!r} is not allowed: pass an integer seed or a PRNG key")

    @property
    def n_saves(self) -> int:
        """Save points, the initial one included."""
        return self.n_steps // self.save_every + 1

    def path(self, name: str) -> tuple[str, ...]:
        """The attribute path of a field named ``name``: a field of the run, else of the method
        (``"eta"`` → ("method", "eta"), ``"field.beta"`` → ("method", "field", "beta"))."""
        parts = tuple(name.split("."))
        return parts if parts[0] in _FIELDS else ("method",) + parts

    def get(self, name: str):
        obj = self
        for part in self.path(name):
            obj = getattr(obj, part)
        return obj

    def at(self, values: Mapping[str, object]) -> "Run":
        """This run with the fields at the paths in ``values`` replaced (traceable; unchecked)."""
        run = self
        for name, value in values.items():
            run = eqx.tree_at(lambda r, n=name: r.get(n), run, jnp.asarray(value))
        return run

    def checked(self, name: str, value) -> "Run":
        """This run with field ``name`` set to ``value`` through the constructors, so that every
        check of the field (its converter and ``__check_init__``) applies to it."""
        return _replace(self, self.path(name), value)

    def configuration(self):
        """(method, objective, params0, key, data) of this run, cast to its precision (traceable)."""
        data = self.data.sample(self.seed) if isinstance(self.data, SparseRegression) else self.data
        params0 = self.model.init(self.alpha, data.d) if self.params0 is None else self.params0
        method, data, params0 = _tree.cast_floats((self.method, data, jnp.asarray(params0)),
                                                  jnp.dtype(self.precision))
        objective = data.objective(self.model)
        if self.gram:
            objective = objective.with_gram()
        key = jax.random.PRNGKey(self.seed) if self.seed.ndim == 0 else self.seed
        return method, objective, params0, key, data


_FIELDS = {f.name for f in dataclasses.fields(Run)}


def _replace(obj, parts, value):
    if len(parts) == 1:
        return dataclasses.replace(obj, **{parts[0]: value})
    return dataclasses.replace(obj, **{parts[0]: _replace(getattr(obj, parts[0]), parts[1:], value)})


# ------------------------------------------------------------------------- one configuration


class Progress(NamedTuple):
    """The state of one configuration between steps: parameters, method state, time, counters,
    PRNG key and the save buffers (t and θ, one row per save point)."""

    params: jax.Array
    state: object
    t: jax.Array
    steps: jax.Array
    key: jax.Array
    diverged_at: jax.Array
    converged_at: jax.Array
    saves: tuple


def record(objective, params, t) -> tuple:
    """(t, β, L, ‖∇L‖, α_eff²) at ``params``: one row of the trajectory."""
    loss, grad = objective.value_and_grad(params)
    return (t, objective.model.beta(params), loss, _tree.norm(grad), objective.model.alpha_eff2(params))


def begin(method, objective, params0, key, n_saves: int) -> Progress:
    """The progress before the first step, with the initial save (t = 0, θ₀) in row 0.

    A save stores only (t, θ); `finish` derives the rows of the trajectory (`record`) from them
    after the run, all save points at once, so the loop over steps never evaluates a gradient for
    a save and never copies the buffers.
    """
    t0 = jnp.zeros((), dtype=float)
    saves = jax.tree.map(lambda r: jnp.zeros((n_saves,) + jnp.shape(r), r.dtype).at[0].set(r),
                         (t0, params0))
    minus_one = -jnp.ones((), dtype=int)
    return Progress(jnp.copy(params0), method.init(params0, objective), t0, jnp.zeros((), dtype=int),
                    jnp.copy(key), minus_one, minus_one, saves)


def advance(method, objective, progress: Progress, start, stop, save_every: int, loss_tol,
            divergence_bound, axis_name=None):
    """Steps ``start`` … ``stop − 1`` (global step indices), recording at multiples of ``save_every``.

    Stops early at a save point where the configuration is frozen (every configuration on
    ``axis_name``, under ``vmap``). Returns (step index reached, progress); the loops' counters
    are unbatched, so under ``vmap`` nothing is copied per block.
    """

    def one_step(_, p):
        key, sub = jax.random.split(p.key) if method.stochastic else (p.key, p.key)
        new_params, new_state, aux = method.step(p.params, p.state, objective, sub)
        running = (p.diverged_at < 0) & (p.converged_at < 0)
        ok = _tree.is_bounded(new_params, divergence_bound)
        move = running & ok
        # Only the parameters are frozen: a frozen configuration never moves again, so its method
        # state may run on, and counters shared by all configurations stay unbatched under vmap
        # (SGD then reshuffles at epoch starts only, with one permutation for the whole sweep).
        return p._replace(
            params=_tree.select(move, new_params, p.params), state=new_state,
            t=jnp.where(move, p.t + aux["dt"], p.t), steps=jnp.where(move, p.steps + 1, p.steps),
            key=key, diverged_at=jnp.where(running & ~ok, p.steps, p.diverged_at))

    def save(p, row, due):
        # Written in place whether due or not (a row rewritten as it was): a conditional around
        # the write would copy the buffers at every block.
        saves = jax.tree.map(lambda buf, r: buf.at[row].set(jnp.where(due, r, buf[row])), p.saves,
                             (p.t, p.params))
        # The loss is needed only for a positive loss_tol (any configuration's, so that the
        # predicate stays unbatched under vmap and the conditional is not a select).
        below = jax.lax.cond(due & anywhere(jnp.asarray(loss_tol) > 0),
                             lambda q: objective.loss(q) < loss_tol, lambda q: jnp.zeros((), bool), p.params)
        converged_at = jnp.where((p.converged_at < 0) & below, p.steps, p.converged_at)
        return p._replace(converged_at=converged_at, saves=saves)

    def anywhere(flag):
        return flag if axis_name is None else jax.lax.psum(flag.astype(int), axis_name) > 0

    def frozen(p):
        stopped = (p.diverged_at >= 0) | (p.converged_at >= 0)
        if axis_name is None:
            return stopped
        return jax.lax.psum(1 - stopped.astype(int), axis_name) == 0

    def keep_going(loop):
        i, p = loop
        return (i < stop) & ((i % save_every != 0) | ~frozen(p))

    def block(loop):
        i, p = loop
        end = jnp.minimum((i // save_every + 1) * save_every, stop)
        # The save buffers stay out of the loop over steps (carried there, they cost a copy a step).
        p = jax.lax.fori_loop(i, end, one_step, p._replace(saves=()))._replace(saves=p.saves)
        p = save(p, end // save_every, end % save_every == 0)
        return end, p

    return jax.lax.while_loop(keep_going, block, (jnp.asarray(start), progress))


def finish(objective, progress: Progress, reached, save_every: int) -> Trajectory:
    """The trajectory: `record` at each saved (t, θ), after the run; save rows after the stopping
    point repeat the last one."""
    last = reached // save_every
    rows = jnp.arange(progress.saves[0].shape[0])

    def pad(buf):
        return jnp.where((rows > last).reshape((-1,) + (1,) * (buf.ndim - 1)), buf[last], buf)

    t, params = jax.tree.map(pad, progress.saves)
    # One save point at a time (a loop, not vmap): memory of one gradient per configuration.
    records = jax.lax.map(lambda row: record(objective, row[1], row[0]), (t, params))
    return Trajectory(*records, progress.params, progress.steps, progress.diverged_at, progress.converged_at)


def outputs(run: "Run", progress: Progress, reached) -> dict:
    """Trajectory fields, and ‖β − β*‖² and the test loss at each save when the data has them."""
    _, objective, *_, data = run.configuration()
    traj = finish(objective, progress, reached, run.save_every)
    out = {f.name: getattr(traj, f.name) for f in dataclasses.fields(Trajectory)}
    if data.beta_star is not None:
        out["test_error"] = data.test_error(traj.beta)
    if data.X_test is not None and data.X_test.shape[0] > 0:
        out["test_loss"] = data.test_loss(traj.beta)
    return out


# ------------------------------------------------------------------------------- a batch of runs


def _begin(run, v, i, loop: bool = True) -> Progress:
    """The progress of configuration ``v`` before its first step; with ``loop``, passed through a
    loop of no steps, which gives it the batching that the loop gives it under vmap (what
    `vmap_axes` traces; `_start` knows the axes and leaves the loop, and its compilation, out)."""
    r = run.at(v)
    method, objective, params0, key, _ = r.configuration()
    # θ is per configuration (batched by the index i under vmap) even where no grid value reaches
    # it (one configuration), so that the method state derived from it is batched as in `_advance`.
    params0 = jnp.where(i >= 0, params0, params0)
    progress = begin(method, objective, params0, key, r.n_saves)
    if not loop:
        return progress
    return advance(method, objective, progress, 0, 0, r.save_every, r.loss_tol, r.divergence_bound, AXIS)[1]


def _axes(like: Progress, unbatched) -> Progress:
    """vmap axes of a progress: None for the leaves of its method state and key numbered in
    ``unbatched``, else 0."""
    treedef = jax.tree.structure((like.state, like.key))
    state, key = jax.tree.unflatten(treedef, [None if i in unbatched else 0 for i in range(treedef.num_leaves)])
    return Progress(0, state, 0, 0, key, 0, 0, 0)


def vmap_axes(run: Run, values, index) -> Progress:
    """The vmap axes of the progress of a batch: 0, or None for the leaves of the method state and
    the PRNG key that stay the same for every configuration (under vmap: unbatched), e.g. SGD's
    epoch counter and permutation in a sweep over α, and all of them for one configuration.
    An unbatched step counter keeps SGD's reshuffle a conditional taken once per epoch (a batched
    one would turn it into a select that draws a permutation at every step).

    Those cross the boundary between compiled segments unbatched, as they would stay inside one
    compiled loop, so that a sweep does not pay per configuration for them. Found by tracing
    (`jax.eval_shape`): vmap refuses an unbatched output axis for a batched leaf.
    """
    like = jax.eval_shape(jax.vmap(lambda v, i: _begin(run, v, i), axis_name=AXIS), values, index)
    n = len(jax.tree.leaves((like.state, like.key)))

    def unbatched(ids):
        try:
            jax.eval_shape(jax.vmap(lambda v, i: _begin(run, v, i), out_axes=_axes(like, ids), axis_name=AXIS),
                           values, index)
        except ValueError:
            return False
        return True

    def split(ids):
        if not ids or unbatched(ids):
            return set(ids)
        return set() if len(ids) == 1 else split(ids[:len(ids) // 2]) | split(ids[len(ids) // 2:])

    return _axes(like, split(list(range(n))))


def _start(run, values, index, axes):
    progress = jax.vmap(lambda v, i: _begin(run, v, i, loop=False), out_axes=axes, axis_name=AXIS)(values, index)
    # Strongly typed, as the loop of `_advance` returns it, so that every segment has one signature.
    return jax.tree.map(lambda x: jax.lax.convert_element_type(x, x.dtype) if _weak(x) else x, progress)


def _weak(x) -> bool:
    return bool(getattr(getattr(x, "aval", x), "weak_type", False))


def _advance(fixed, progress):
    run, values, start, stop, axes = fixed

    def one(v, p):
        r = run.at(v)
        method, objective, *_ = r.configuration()
        return advance(method, objective, p, start, stop, r.save_every, r.loss_tol, r.divergence_bound, AXIS)

    return jax.vmap(one, in_axes=(0, axes), out_axes=(None, axes), axis_name=AXIS)(values, progress)


def _outputs(run, values, progress, reached, axes):
    return jax.vmap(lambda v, p: outputs(run.at(v), p, reached), in_axes=(0, axes), axis_name=AXIS)(values, progress)


def execute(run: Run, values: Mapping[str, np.ndarray], size: int = 1,
            programs: _jobs.Programs | None = None) -> dict:
    """Compute ``run`` for every configuration of ``values`` (path → ``size`` values), as NumPy
    arrays with a leading axis of length ``size``. The configurations are sharded over all JAX devices.

    Runs in compiled segments of steps (the same compilation for every segment of a run, and for
    every run with the same shapes and static settings); the segment length adapts to take about
    `SEGMENT_SECONDS`, so a KeyboardInterrupt lands within about that time. ``programs`` collects
    the compilations (how many were new).
    """
    programs = _jobs.Programs() if programs is None else programs
    values, index = _shard(({name: jnp.asarray(v) for name, v in values.items()}, jnp.arange(size)))
    axes = programs.value(vmap_axes, run, values, index)
    progress = _shard_progress(programs.compiled(_start, run, values, index, axes)(run, values, index, axes), axes,
                               size)
    stop = run.n_steps
    i, length, reached = 0, 1, None
    advance_fn = None
    while reached is None:
        fixed = (run, values, jnp.asarray(i), jnp.asarray(min(i + length, stop)), axes)
        if advance_fn is None:
            advance_fn = programs.compiled(_advance, fixed, progress, donate="all-except-first")
        t0 = time.perf_counter()
        j, progress = advance_fn(fixed, progress)
        j = int(j)  # waits for the segment: a KeyboardInterrupt is raised here at the latest
        seconds = time.perf_counter() - t0
        if j < min(i + length, stop) or j == stop:
            reached = j
        length = _next_length(length, j - i, seconds)
        i = j
    reached = jnp.asarray(reached)
    out = programs.compiled(_outputs, run, values, progress, reached, axes)(run, values, progress, reached, axes)
    return jax.tree.map(np.asarray, out)


def _next_length(length: int, done: int, seconds: float) -> int:
    """Steps of the next segment, in proportion to the time of the last one so that it takes about
    `SEGMENT_SECONDS` (the dispatch overhead in ``seconds`` only makes it shorter), growing at
    most ×64 per segment."""
    if done < length or seconds <= 0:
        return length
    return max(1, min(64 * length, int(length * SEGMENT_SECONDS / seconds)))


def _shard_progress(progress: Progress, axes: Progress, size: int) -> Progress:
    """The progress as `_advance` returns it: leaves with a configuration axis sharded like the
    configurations (`_shard`), the others replicated (so that every segment has one signature)."""
    if jax.device_count() == 1 or size % jax.device_count():
        return progress
    mesh = jax.sharding.Mesh(np.array(jax.devices()), (AXIS,))
    spec = {0: jax.sharding.PartitionSpec(AXIS), None: jax.sharding.PartitionSpec()}
    return jax.tree.map(lambda a, sub: jax.device_put(sub, jax.sharding.NamedSharding(mesh, spec[a])),
                        axes, progress, is_leaf=lambda x: x is None)


def _shard(values):
    """Spread the configurations over all JAX devices (one shard each); a count the devices do not
    divide (a single `simulate`) stays on the default device."""
    if jax.device_count() == 1 or len(values[1]) % jax.device_count():
        return values
    mesh = jax.sharding.Mesh(np.array(jax.devices()), (AXIS,))
    return jax.device_put(values, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(AXIS)))
