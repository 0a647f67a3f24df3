"""sweep(): a `Run` batched over a grid of values of its numeric fields, in cached chunks.

The axes of the grid are paths to numeric fields of the run (`dln_theory.run.Run.path`):
``alpha``, ``seed``, ``loss_tol``, ``divergence_bound``, a hyper-parameter of the method
(``eta``, ``gamma``, ``eps``, ``rho``, ``b``, ``momentum``, or a dotted path such as
``field.beta``), or any other numeric field (``model.u_shape``). The grid is the Cartesian product
of the axes; results carry the grid shape in front. Configurations run in chunks of equal size
through one compilation (`dln_theory.run.execute`, sharded over all JAX devices); chunks are
mapped by `dln_theory._jobs.map_chunks`, which loads finished chunks from the cache (keyed by
the run and the grid, `dln_theory._cache.fingerprint`) and computes the others here or on an
executor, so an interrupted sweep resumes without recomputing them. A diverging configuration is
frozen and flagged (``diverged_at``) without touching its neighbours.
"""

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import jax
import numpy as np

from . import _cache, _jobs, _validate
from .dynamics import GradientFlow, Method, ModifiedFlow
from .models import Model, check_alpha
from .objective import Objective
from .problems import Problem, SparseRegression
from .run import Run, Trajectory, execute
from .simulate import check_inputs, check_precision, check_run_arguments, use_gram


@dataclass(frozen=True)
class SweepResult:
    """Results on a grid.

    Attributes:
        axes: name → 1-D array of the values along that axis, in grid order.
        trajectory: a `Trajectory` whose arrays have the grid shape in front.
        test_error: ‖β − β*‖² at each save (grid shape + (saves,)), when β* is known.
        test_loss: held-out loss at each save, when a test set is known.
        traces: how many programs running a segment of steps were compiled during this call (0 when
            every chunk came from the cache, or ran on an executor, or reused an earlier compilation).
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
            {**{name: values[i] for (name, values), i in zip(self.axes.items(), index)},
             "diverged_at": int(steps[index])}
            for index in zip(*np.nonzero(steps >= 0))
        ]

    def __repr__(self) -> str:
        """One line: the grid axes with their ranges, the trajectory summary, the cache folder."""
        axes = ", ".join(f"{name}: {len(v)} in [{np.min(v):.3g}, {np.max(v):.3g}]" for name, v in self.axes.items())
        error = ("" if self.test_error is None else
                 f", final test error {np.nanmin(np.asarray(self.test_error)[..., -1]):.3g} … "
                 f"{np.nanmax(np.asarray(self.test_error)[..., -1]):.3g}")
        return f"SweepResult(grid {self.shape} over {{{axes}}}{error}; {self.trajectory!r}; cache {self.cache_path})"

    def to_xarray(self):
        """The grid as an ``xarray.Dataset`` with the grid axes as dimensions and their values as
        coordinates (`Trajectory.to_xarray`), plus ``test_error`` and ``test_loss`` when known::

            ds = dt.sweep(...).to_xarray()
            ds.test_error.isel(save=-1).sel(eps=0.1).plot()    # or .to_dataframe()
        """
        ds = self.trajectory.to_xarray(dims=tuple(self.axes), coords=self.axes)
        for name in ("test_error", "test_loss"):
            value = getattr(self, name)
            if value is not None:
                ds[name] = (tuple(self.axes) + ("save",), np.asarray(value))
        return ds


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
        cache: write/read finished chunks on disk (``cache_dir``, see `dln_theory._cache.root_dir`).
        progress: show a progress bar over chunks (default: when attached to a terminal).
        precision: ``"float64"`` or ``"float32"`` (see `simulate`).
        gram: precompute XᵀX/n for full-batch gradients (default: when n > d; see `simulate`).
        executor: run the missing chunks on an existing engine with a ``submit(fn, *args)`` method
            returning futures with ``.result()``: a `concurrent.futures.ProcessPoolExecutor`
            (spawn context) on one machine, a `dask.distributed.Client` on a cluster. Finished
            chunks are read from the cache and never resubmitted; each result is cached on arrival.
    """
    n_steps, save_every = _validate.run_length(n_steps, save_every, loss_tol, divergence_bound)
    _validate.nonempty_mapping("grid", grid, "a sweep needs at least one axis; run one configuration "
                               "with simulate(...) or give a one-value axis such as {'seed': [0]}")
    check_inputs(method, model, problem, (Problem, SparseRegression))
    save_every = check_run_arguments(n_steps, save_every, loss_tol, divergence_bound)
    check_precision(precision)
    example = problem if isinstance(problem, Problem) else problem.sample(seed)
    method.check_objective(Objective(model, example.X, example.y))
    if alpha is None and "alpha" not in grid:
        raise ValueError("alpha=None is not allowed: give alpha=... or a grid axis 'alpha'")
    if "alpha" not in grid:
        check_alpha(alpha, problem.d)
    # With an α axis the run's own α is a placeholder, replaced in every configuration.
    run = Run(method, model, problem, 1.0 if alpha is None else alpha, n_steps, save_every, seed=seed,
              loss_tol=loss_tol, divergence_bound=divergence_bound, precision=precision,
              gram=use_gram(gram, problem.n, problem.d))
    axes = check_grid(run, grid)

    mesh = np.meshgrid(*axes.values(), indexing="ij")
    flat = {name: m.reshape(-1) for name, m in zip(axes, mesh)}
    n_configs = mesh[0].size
    if chunk_size is None:
        # An adaptive ODE solve under vmap takes as many steps as its stiffest configuration, so
        # flows run one configuration per device; discrete methods batch up to 4096 at once.
        chunk_size = 1 if isinstance(method, GradientFlow | ModifiedFlow) else min(n_configs, 4096)
    chunk_size = _validate.integer_at_least("chunk_size", chunk_size, 1)
    n_devices = jax.device_count()
    chunk_size = -(-chunk_size // n_devices) * n_devices  # equal shards on every device
    n_chunks = -(-n_configs // chunk_size)

    store = None
    if cache:
        meta = {"run": repr(run), "axes": {k: v.tolist() for k, v in axes.items()}, "chunk_size": chunk_size}
        store = _cache.ChunkStore(_cache.root_dir(cache_dir) / _cache.fingerprint(run, axes, chunk_size), meta)
    programs = _jobs.Programs()

    def chunk_args(c):
        values = {k: _pad(v[c * chunk_size:(c + 1) * chunk_size], chunk_size) for k, v in flat.items()}
        return run, values, chunk_size, None if executor is not None else programs

    chunks = _jobs.map_chunks(execute, chunk_args, n_chunks, store=store, executor=executor, progress=progress,
                              desc="sweep")
    shape = tuple(len(v) for v in axes.values())
    merged = {k: np.concatenate([ch[k] for ch in chunks])[:n_configs] for k in chunks[0]}
    merged = {k: v.reshape(shape + v.shape[1:]) for k, v in merged.items()}
    traj = Trajectory(**{f.name: merged[f.name] for f in dataclasses.fields(Trajectory)})
    return SweepResult(axes, traj, merged.get("test_error"), merged.get("test_loss"),
                       programs.new["_advance"], None if store is None else str(store.directory))


def numeric_fields(run: Run) -> list[str]:
    """The names of the scalar numeric fields of ``run`` (what a grid axis can be), fields of the
    method without the ``method.`` prefix."""
    names = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(run)[0]:
        if not all(isinstance(k, jax.tree_util.GetAttrKey) for k in path) or np.ndim(leaf) != 0:
            continue
        if not np.issubdtype(np.asarray(leaf).dtype, np.number):
            continue
        parts = [k.name for k in path]
        names.append(".".join(parts[1:] if parts[0] == "method" else parts))
    return names


def check_grid(run: Run, grid: Mapping[str, object]) -> dict:
    """Axis name → 1-D NumPy values, each value checked by the field's own checks."""
    allowed = numeric_fields(run)
    axes = {}
    for name, values in grid.items():
        values = np.atleast_1d(np.asarray(values))
        if name not in allowed and not (name.startswith("method.") and name[len("method."):] in allowed):
            raise ValueError(f"grid axis {name!r} is not allowed for {type(run.method).__name__}: "
                             f"choose from {sorted(allowed)} (numeric fields of the run and its method)")
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"grid axis {name!r} has shape {values.shape}: it must be a non-empty 1-D list")
        if np.issubdtype(np.asarray(run.get(name)).dtype, np.integer):
            if not np.issubdtype(values.dtype, np.integer):
                raise ValueError(f"grid axis {name!r}={values!r} is not allowed: {name}s must be integers")
        else:
            _validate.real_array(f"grid axis {name!r}", values)
            values = values.astype(float)
        run.checked(name, values)  # the field's own checks, on all values at once
        axes[name] = values
    return axes


def _pad(values, size):
    return np.concatenate([values, np.repeat(values[-1:], size - len(values))])
