"""sweep(): a grid of configurations in one compiled function (vmap), chunked and cached.

Axes of the grid are ``alpha``, ``seed`` and any numeric hyper-parameter of the method (``eta``,
``gamma``, ``eps``, ``rho``, ``b``, ``momentum``, or a dotted path such as ``field.beta``). The grid
is the Cartesian product of the axes; results carry the grid shape in front. Configurations run in
chunks of equal size through one trace; each finished chunk is written to the cache, so an
interrupted sweep resumes without recomputing it. A diverging configuration is frozen and
flagged (``diverged_at``) without touching its neighbours.
"""

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from . import _cache, _tree, _validate
from .dynamics._base import Method
from .dynamics.flow import _Flow
from .models import Model, check_alpha
from .objective import Objective
from .problems import Problem, SparseRegression
from .simulate import Trajectory, check_inputs, check_precision, check_run_arguments, run, use_gram

_trace_count = 0


@dataclass(frozen=True)
class SweepResult:
    """Results on a grid.

    Attributes:
        axes: name → 1-D array of the values along that axis, in grid order.
        trajectory: a `Trajectory` whose arrays have the grid shape in front.
        test_error: ‖β − β*‖² at each save (grid shape + (saves,)), when β* is known.
        test_loss: held-out loss at each save, when a test set is known.
        traces: how many times the sweep's function was traced during this call.
        cache_path: the cache folder of this sweep, or None.
    """

    axes: dict
    trajectory: Trajectory
    test_error: np.ndarray | None
    test_loss: np.ndarray | None
    traces: int
    cache_path: str | None

    @property
    def shape(self) -> tuple:
        return tuple(len(v) for v in self.axes.values())

    def divergences(self) -> list[dict]:
        """One record per diverged configuration: its axis values and the step where it diverged."""
        steps = np.asarray(self.trajectory.diverged_at)
        return [
            {**{name: values[i] for (name, values), i in zip(self.axes.items(), index)}, "diverged_at": int(steps[index])}
            for index in zip(*np.nonzero(steps >= 0))
        ]


def sweep(
    method: Method,
    model: Model,
    problem: Problem | SparseRegression,
    grid: Mapping[str, object],
    n_steps: int,
    save_every: int | None = None,
    *,
    alpha=None,
    seed: int = 0,
    loss_tol: float = 0.0,
    divergence_bound: float = 1e8,
    chunk_size: int | None = None,
    cache: bool = True,
    cache_dir=None,
    progress: bool | None = None,
    executor=None,
    precision: str = "float64",
    gram: bool | None = None,
) -> SweepResult:
    """Run ``method`` on every point of ``grid`` (see module docstring).

    Args:
        method: the method; its values for swept hyper-parameters are replaced per configuration.
        model: PE() or PW(depth).
        problem: fixed data, or a `SparseRegression` spec sampled per ``seed``.
        grid: axis name → 1-D values.
        n_steps, save_every, loss_tol, divergence_bound: as in `simulate`.
        alpha: α when ``alpha`` is not a grid axis.
        seed: the seed when ``seed`` is not a grid axis (data for a spec, noise for SGD).
        chunk_size: configurations per compiled call (default: all at once, at most 4096; one per
            device for flows, whose adaptive solves would wait on the stiffest config), rounded
            up to a multiple of the number of JAX devices; a chunk is sharded across all devices.
        cache: write/read finished chunks on disk (``cache_dir``, $DLN_THEORY_CACHE or ./.dln_cache).
        progress: show a progress bar over chunks (default: when attached to a terminal).
        precision: ``"float64"`` or ``"float32"`` (see `simulate`).
        gram: precompute XᵀX/n for full-batch gradients (default: when n > d; see `simulate`).
        executor: run the missing chunks on an existing engine with a ``submit(fn, *args)`` method
            returning futures with ``.result()``: a `concurrent.futures.ProcessPoolExecutor`
            (spawn context) on one machine, a `dask.distributed.Client` on a cluster. Finished
            chunks are read from the cache and never resubmitted; each result is cached on arrival.
    """
    global _trace_count
    n_steps, save_every = _validate.run_length(n_steps, save_every, loss_tol, divergence_bound)
    _validate.nonempty_mapping("grid", grid, "a sweep needs at least one axis; run one configuration "
                               "with simulate(...) or give a one-value axis such as {'seed': [0]}")
    check_inputs(method, model, problem, (Problem, SparseRegression))
    save_every = check_run_arguments(n_steps, save_every, loss_tol, divergence_bound)
    check_precision(precision)
    axes = _check_grid(method, grid, alpha)
    d = problem.d
    example = problem if isinstance(problem, Problem) else problem.sample(seed)
    method.check_objective(Objective(model, example.X, example.y))
    if "alpha" not in axes:
        check_alpha(alpha, d)
    names = list(axes)
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    flat = {name: m.reshape(-1) for name, m in zip(names, mesh)}
    n_configs = mesh[0].size if mesh else 1
    if chunk_size is None:
        # An adaptive ODE solve under vmap takes as many steps as its stiffest configuration, so
        # flows run one configuration per device; discrete methods batch up to 4096 at once.
        chunk_size = 1 if isinstance(method, _Flow) else min(n_configs, 4096)
    _validate.integer_at_least("chunk_size", chunk_size, 1)
    n_devices = jax.device_count()
    chunk_size = -(-chunk_size // n_devices) * n_devices  # equal shards on every device
    n_chunks = -(-n_configs // chunk_size)

    fixed = dict(alpha=alpha, seed=seed, n_steps=n_steps, save_every=save_every, loss_tol=loss_tol,
                 divergence_bound=divergence_bound, chunk_size=chunk_size, precision=precision,
                 gram=use_gram(gram, problem.n, d))
    store = None
    if cache:
        key = _cache.fingerprint(method, model, _data_identity(problem), axes, fixed, _version())
        meta = {"method": repr(method), "model": repr(model), "problem": repr(_data_identity(problem))[:2000],
                "axes": {k: v.tolist() for k, v in axes.items()}, **fixed, "alpha": np.asarray(alpha).tolist(),
                "version": _version()}
        store = _cache.ChunkStore(_cache.root_dir(cache_dir) / key, meta)

    traces_before = _trace_count
    alpha_fixed = None if "alpha" in axes else np.asarray(alpha, dtype=float)
    job_args = (method, model, problem, alpha_fixed, seed, n_steps // save_every, save_every, loss_tol,
                divergence_bound, precision, fixed["gram"])

    def chunk_hp(c):
        sl = slice(c * chunk_size, (c + 1) * chunk_size)
        return {k: _pad(v[sl], chunk_size) for k, v in flat.items()}

    chunks = [store.load(c) if store else None for c in range(n_chunks)]
    missing = [c for c in range(n_chunks) if chunks[c] is None]
    submitted = {c: executor.submit(compute_chunk, chunk_hp(c), *job_args) for c in missing} if executor else {}
    bar = tqdm(total=n_chunks, initial=n_chunks - len(missing), desc="sweep", unit="chunk",
               disable=_no_progress(progress, n_chunks))
    for c in missing:
        chunks[c] = submitted[c].result() if executor else compute_chunk(chunk_hp(c), *job_args)
        if store:
            store.save(c, chunks[c])
        bar.update()
    bar.close()
    merged = {k: np.concatenate([ch[k] for ch in chunks])[:n_configs] for k in chunks[0]}
    shape = tuple(len(v) for v in axes.values())
    merged = {k: v.reshape(shape + v.shape[1:]) for k, v in merged.items()}
    traj = Trajectory(**{f.name: merged[f.name] for f in dataclasses.fields(Trajectory)})
    return SweepResult(axes, traj, merged.get("test_error"), merged.get("test_loss"),
                       _trace_count - traces_before, str(store.directory) if store else None)


def compute_chunk(hp, method, model, problem, alpha, seed, n_blocks, save_every, loss_tol, bound,
                  precision="float64", gram=False) -> dict:
    """One chunk of configurations as NumPy arrays (what an executor's worker runs)."""
    alpha = None if alpha is None else jnp.asarray(alpha, dtype=float)
    out = _run_chunk(method, model, problem, _shard({k: jnp.asarray(v) for k, v in hp.items()}), alpha, seed,
                     n_blocks, save_every, loss_tol, bound, precision, gram)
    return jax.tree.map(np.asarray, out)


@eqx.filter_jit
def _run_chunk(method, model, problem, hp, alpha, seed, n_blocks, save_every, loss_tol, bound, precision, gram):
    global _trace_count
    _trace_count += 1

    def one(hp_one):
        m = method
        for name, value in hp_one.items():
            if name not in ("alpha", "seed"):
                m = eqx.tree_at(lambda obj, n=name: _get(obj, n), m, value)
        s = hp_one.get("seed", seed)
        data = problem.sample(s) if isinstance(problem, SparseRegression) else problem
        a = hp_one.get("alpha", alpha)
        m, data, params0 = _tree.cast_floats((m, data, model.init(a, data.d)), jnp.dtype(precision))
        objective = Objective(model, data.X, data.y)
        traj = run(m, objective.with_gram() if gram else objective, params0, jax.random.PRNGKey(s), loss_tol, bound,
                   n_blocks, save_every, early_exit=one_per_device)
        out = {f.name: getattr(traj, f.name) for f in dataclasses.fields(Trajectory)}
        if data.beta_star is not None:
            out["test_error"] = data.test_error(traj.beta)
        if data.X_test is not None and data.X_test.shape[0] > 0:
            out["test_loss"] = data.test_loss(traj.beta)
        return out

    # One configuration per device: stop at convergence like `simulate` (a batched while-loop
    # would copy every save buffer at every block for larger chunks, so those scan instead).
    one_per_device = jax.tree.leaves(hp)[0].shape[0] == jax.device_count()
    return jax.vmap(one)(hp)


def _get(obj, dotted):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _check_grid(method, grid, alpha) -> dict:
    allowed = {"alpha", "seed", *method.hyperparameters()}
    axes = {}
    for name, values in grid.items():
        values = np.atleast_1d(np.asarray(values))
        top = name.split(".")[0]
        if name not in allowed and not (top in {f.name for f in dataclasses.fields(method)} and "." in name):
            raise ValueError(f"grid axis {name!r} is not allowed for {type(method).__name__}: "
                             f"choose from {sorted(allowed)} (or a dotted path to a numeric field)")
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"grid axis {name!r} has shape {values.shape}: it must be a non-empty 1-D list")
        if name == "seed":
            if not np.issubdtype(values.dtype, np.integer):
                raise ValueError(f"grid axis 'seed'={values!r} is not allowed: seeds must be integers")
        elif name == "alpha":
            _validate.positive("alpha", values)
        else:
            values = values.astype(float)
            check = method.constraints.get(name)
            if check is not None:
                check(name, values)
            if _get(method, name) is None:
                raise ValueError(f"grid axis {name!r}: the method has no value there to replace")
        axes[name] = values
    if "alpha" not in axes and alpha is None:
        raise ValueError("alpha=None is not allowed: give alpha=... or a grid axis 'alpha'")
    return axes


def _data_identity(problem):
    return problem if isinstance(problem, Problem) else repr(problem)


def _shard(hp):
    """Spread the configurations of a chunk over all JAX devices (one shard each)."""
    if jax.device_count() == 1:
        return hp
    mesh = jax.sharding.Mesh(np.array(jax.devices()), ("configs",))
    return jax.device_put(hp, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("configs")))


def _pad(values, size):
    return np.concatenate([values, np.repeat(values[-1:], size - len(values))])


def _no_progress(progress, n_chunks):
    if progress is None:
        return None if n_chunks > 1 else True
    return not progress


def _version():
    from . import __version__

    return __version__
