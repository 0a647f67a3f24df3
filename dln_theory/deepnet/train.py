"""train(): the simulator's methods on a classification network, one compiled block per evaluation.

The training loop is ``lax.scan`` over the steps of an epoch inside ``lax.scan`` over the
``eval_every`` epochs of a block; one jitted call runs a block, then a jitted evaluation records
the full-training-set loss, accuracy and ‖∇L‖² and the test loss and accuracy. An epoch is
⌊n/B⌋ steps of a method with ``batch_size`` B (its own random reshuffling, see
`dln_theory.dynamics.GradientMethod`), or one step of a full-batch method. With ``augment`` the
training images are augmented afresh at the start of every epoch.

Blocks are mapped through the same cache helper as the chunks of `dln_theory.sweep`
(`dln_theory._jobs.map_chunks`, in order; programs compiled once per signature by
`dln_theory._jobs.Programs`): the key hashes the method (numeric and structural settings), the
initial network, the data, the run settings, the augmentation, the key and the package source.
Each finished block writes its metrics and the latest parameters and optimizer state, so an
interrupted run (or comparison) resumes from its last finished block.

Float32 networks stay float32: the method's hyper-parameters (float64 leaves, as everywhere in
`dln_theory`) are cast to the dtype of the weights, and each step's parameters and state are
cast back to their own dtypes.
"""

import dataclasses
import resource
import time
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _cache, _jobs, _validate
from ..dynamics import DiscreteMethod
from . import measure
from .data import Dataset, augment_crop_flip
from .objective import NetObjective

CACHE_SUBDIR = "deepnet"


@dataclasses.dataclass(frozen=True)
class Cosine:
    """η_k = η·½(1 + cos(π·min(k, K)/K)) over K = ``total_steps`` steps (Loshchilov & Hutter)."""

    total_steps: int

    def __post_init__(self):
        _validate.integer_at_least("total_steps", self.total_steps, 1)

    def __call__(self, k):
        frac = jnp.minimum(k, self.total_steps) / self.total_steps
        return (0.5 * (1.0 + jnp.cos(jnp.pi * frac))).astype(jnp.float32)


@dataclasses.dataclass(frozen=True)
class Piecewise:
    """η_k = η·factor^(number of boundaries ≤ k): step decay (e.g. ÷5 at epochs 60/120/160)."""

    boundaries: tuple[int, ...]
    factor: float

    def __post_init__(self):
        for b in self.boundaries:
            _validate.integer_at_least("boundaries", b, 0)
        _validate.positive("factor", self.factor)

    def __call__(self, k):
        passed = sum((k >= b).astype(jnp.int32) for b in self.boundaries) if self.boundaries else 0
        return jnp.asarray(self.factor, jnp.float32) ** passed


def steps_per_epoch(method, n: int) -> int:
    """⌊n/B⌋ for a method with ``batch_size`` B, 1 for a full-batch method."""
    b = getattr(method, "batch_size", None)
    return 1 if b is None else n // b


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """Curves at every evaluation (epoch 0 is the initialization) and the final network.

    Attributes:
        epoch: epochs completed at each evaluation.
        train_loss, train_acc: loss L (not the regularized objective) and accuracy on the whole
            training set, without augmentation.
        test_loss, test_acc: on the test set.
        grad_norm2: ‖∇L‖² on the whole training set.
        step_time_s: median wall-clock seconds per training step (compiled, evaluation excluded).
        compile_s: seconds to trace and compile one block.
        memory: ``compiled_bytes`` (arguments + outputs + temporaries of one compiled block, from
            XLA's memory analysis), ``device_peak_bytes`` (the device's peak bytes in use, where
            the backend reports it, e.g. GPU) and ``process_peak_rss_bytes`` (peak resident set
            of this process).
        network: the trained network.
        settings: the run settings (also in the cache's meta.json).
        cache_path: the cache folder, or None.
        resumed_blocks: blocks read from the cache instead of computed.
        device: the JAX device the run used.
    """

    epoch: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    grad_norm2: np.ndarray
    step_time_s: float
    compile_s: float
    memory: dict
    network: eqx.Module
    settings: dict
    cache_path: str | None
    resumed_blocks: int
    device: str

    def summary(self) -> dict:
        """Final values and costs as plain floats."""
        return {
            "train_loss": float(self.train_loss[-1]), "train_acc": float(self.train_acc[-1]),
            "test_loss": float(self.test_loss[-1]), "test_acc": float(self.test_acc[-1]),
            "grad_norm2": float(self.grad_norm2[-1]), "step_time_s": self.step_time_s,
            "compile_s": self.compile_s, **{k: v for k, v in self.memory.items() if v is not None},
        }


def check_train_inputs(method, network, dataset, epochs, eval_every):
    """Checks that run before any compilation; return the training objective and params."""
    if not isinstance(method, DiscreteMethod):
        raise ValueError(f"method={method!r} is not allowed: pass a discrete dln_theory method "
                         f"(GD, SGD, HeavyBall, GR, FGR, BGR, SAM, Flooding, DataGrad, SpectReg, "
                         f"SignGD, RMSProp, Adam)")
    if not isinstance(network, eqx.Module):
        raise ValueError(f"network of type {type(network).__name__} is not allowed: pass an equinox "
                         f"module such as dln_theory.deepnet.make_network(...)")
    if not isinstance(dataset, Dataset):
        raise ValueError(f"dataset of type {type(dataset).__name__} is not allowed: pass a "
                         f"dln_theory.deepnet.Dataset (load_dataset(...))")
    _validate.integer_at_least("epochs", epochs, 1)
    _validate.integer_at_least("eval_every", eval_every, 1)
    if epochs % eval_every:
        raise ValueError(f"eval_every={eval_every} is not allowed: it must divide epochs={epochs}")
    if getattr(method, "label_noise", None) is not None:
        raise ValueError("label_noise is not allowed for classification: labels are integers")
    objective, params = NetObjective.create(network, dataset.x_train, dataset.y_train)
    if not jax.tree.leaves(params):
        raise ValueError("network has no trainable floating-point arrays")
    method.check_objective(objective)
    return objective, params


def train(
    method: DiscreteMethod,
    network: eqx.Module,
    dataset: Dataset,
    epochs: int,
    key,
    eval_every: int = 1,
    *,
    augment: bool | Callable = False,
    eval_chunk: int | None = 1000,
    cache: bool = True,
    cache_dir=None,
    progress: bool | None = None,
) -> TrainResult:
    """Train ``network`` on ``dataset`` with ``method`` for ``epochs`` epochs.

    Args:
        method: a discrete method (`dln_theory.SGD`, `GR`, `FGR`, `BGR`, `SAM`, `Flooding`,
            `DataGrad`, `SpectReg`, …) with its batch size, momentum, weight decay and schedule
            (`Cosine`, `Piecewise`; their step counter counts steps, see `steps_per_epoch`).
        network: the initialized network (its initial weights are part of the cache key).
        dataset: train and test splits (`load_dataset`).
        epochs: training epochs.
        key: PRNG key (or int seed) for minibatches, augmentation and random regularizers.
        eval_every: epochs between evaluations; must divide ``epochs``.
        augment: False, True (`augment_crop_flip`, pad 4) or a function (key, images) → images.
        eval_chunk: examples per chunk in evaluations (None: all at once).
        cache: read/write finished blocks on disk (``cache_dir``, $DLN_THEORY_CACHE or
            ./.dln_cache, subfolder ``deepnet``).
        progress: progress bar over epochs (default: when attached to a terminal).

    Raises:
        ValueError: bad inputs (before any compilation).
    """
    objective, params = check_train_inputs(method, network, dataset, epochs, eval_every)
    if augment is True:
        augment = augment_crop_flip
    elif augment is False:
        augment = None
    elif not callable(augment):
        raise ValueError(f"augment={augment!r} is not allowed: pass True, False or a function "
                         f"(key, images) -> images")
    if eval_chunk is not None:
        _validate.integer_at_least("eval_chunk", eval_chunk, 1)
    key = _as_key(key)
    dtype = jax.tree.leaves(params)[0].dtype
    run_method = _cast_floats(method, dtype)
    test = objective.with_data((jnp.asarray(dataset.x_test), jnp.asarray(dataset.y_test)))
    spe = steps_per_epoch(method, objective.n)
    n_blocks = epochs // eval_every
    aug_name = None if augment is None else getattr(augment, "__qualname__", repr(augment))
    settings = {
        "method": repr(method), "network": type(network).__name__, "dataset": dataset.name,
        "n_train": int(objective.n), "n_test": int(test.n), "data_seed": dataset.seed,
        "epochs": epochs, "eval_every": eval_every, "steps_per_epoch": spe, "augment": aug_name,
        "key": np.asarray(jax.random.key_data(key)).tolist(), "eval_chunk": eval_chunk,
        "dtype": str(dtype), "version": _version(),
    }

    store = state_store = None
    if cache:
        digest = _cache.fingerprint(
            method, network, (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test),
            jax.random.key_data(key), (epochs, eval_every, spe, augment, eval_chunk), dataset.name)
        directory = _cache.root_dir(cache_dir) / CACHE_SUBDIR / digest
        store = _cache.ChunkStore(directory, settings)
        state_store = _cache.ChunkStore(directory / "state", settings)

    programs, computed = _jobs.Programs(), []
    initial = (params, run_method.init(params, objective), key)
    latest = {"block": 0, "carry": initial, "compiled": None}

    def advance(carry):
        """``eval_every`` epochs from ``carry`` (one compiled program per signature); the seconds of
        the compiled call alone, compilation excluded, go to ``latest["seconds"]``."""
        args = (run_method, objective, *carry, eval_every, spe, augment)
        latest["compiled"] = programs.program(_run_block, *args)
        t0 = time.perf_counter()
        carry = jax.block_until_ready(latest["compiled"].fn(*args))
        latest["seconds"] = time.perf_counter() - t0
        return carry

    def carry_after(b):
        """The state after block ``b``: the newest loadable cached state at or before it, replayed
        forward (blocks are deterministic, so the replay is bit-identical). A damaged or deleted
        state costs recomputation, never a traceback."""
        for s in range(b, 0, -1):
            arrays = state_store.load(s)
            if arrays is not None:
                carry = _restore(arrays, initial)
                break
        else:
            s, carry = 0, initial
        for _ in range(s, b):
            carry = advance(carry)
        return carry

    def block(b):
        """Block ``b``: ``eval_every`` epochs after block b − 1 (none for b = 0), then an evaluation."""
        computed.append(b)
        if b > 0 and latest["block"] != b - 1:  # resuming: the state after block b − 1 is cached
            latest["carry"] = carry_after(b - 1)
        seconds = float("nan")
        if b > 0:
            latest["carry"] = advance(latest["carry"])
            seconds = latest["seconds"]
        latest["block"] = b
        evaluate = programs.compiled(_evaluate, objective, test, latest["carry"][0], eval_chunk)
        metrics = {k: np.asarray(v) for k, v in evaluate(objective, test, latest["carry"][0], eval_chunk).items()}
        program = latest["compiled"]
        metrics.update(epoch=np.asarray(b * eval_every), block_s=np.asarray(seconds),
                       compile_s=np.asarray(float("nan") if program is None else program.compile_s),
                       **_memory_arrays(_peak_memory(None if program is None else program.compiled_bytes)))
        if state_store is not None and b > 0:
            state_store.save(b, _flatten(latest["carry"]))
            state_store.path(b - 2).unlink(missing_ok=True)  # block b − 1 is cached: b − 2 is not needed
        return metrics

    blocks = _jobs.map_chunks(
        block, lambda b: (b,), n_blocks + 1, store=store, in_order=True,
        progress=progress, desc=type(method).__name__, unit="epoch", weights=[0] + [eval_every] * n_blocks,
        postfix=lambda m: {"loss": f"{float(m['train_loss']):.4f}", "test_acc": f"{float(m['test_acc']):.4f}"})
    resumed = max(min(computed, default=n_blocks + 1) - 1, 0)
    if state_store is not None:
        if latest["block"] != n_blocks:  # everything came from the cache
            latest["carry"] = carry_after(n_blocks)
        state_store.path(n_blocks - 1).unlink(missing_ok=True)

    curves = {k: np.stack([blk[k] for blk in blocks]) for k in blocks[0]}
    block_s = curves["block_s"][1:]
    finite = block_s[np.isfinite(block_s)]
    step_time = float(np.median(finite)) / (spe * eval_every) if finite.size else float("nan")
    compiles = curves["compile_s"][np.isfinite(curves["compile_s"])]
    memory = {name: _last_valid(curves[f"memory_{name}"]) for name in _MEMORY_KEYS}
    return TrainResult(
        epoch=curves["epoch"], train_loss=curves["train_loss"], train_acc=curves["train_acc"],
        test_loss=curves["test_loss"], test_acc=curves["test_acc"],
        grad_norm2=curves["grad_norm2"], step_time_s=step_time,
        compile_s=float(compiles[0]) if compiles.size else float("nan"), memory=memory,
        network=objective.network(latest["carry"][0]), settings=settings,
        cache_path=None if store is None else str(store.directory), resumed_blocks=resumed,
        device=str(jax.devices()[0]),
    )


# ---------------------------------------------------------------------------------- compiled parts


def _run_block(method, objective, params, state, key, n_epochs, spe, augment):
    """``n_epochs`` epochs of ``spe`` steps; (params, state, key) after them."""

    def epoch(carry, _):
        params, state, key = carry
        key, k_aug, k_steps = jax.random.split(key, 3)
        obj = objective
        if augment is not None:
            obj = objective.with_data((augment(k_aug, objective.x), objective.y))

        def step(c, k):
            p, s = c
            p_new, s_new, _ = method.step(p, s, obj, k)
            return (_match_dtypes(p_new, p), _match_dtypes(s_new, s)), None

        (params, state), _ = jax.lax.scan(step, (params, state), jax.random.split(k_steps, spe))
        return (params, state, key), None

    carry, _ = jax.lax.scan(epoch, (params, state, key), None, length=n_epochs)
    return carry


def _evaluate(objective, test, params, chunk):
    train_loss, train_acc = measure.loss_and_accuracy(objective, params, chunk)
    test_loss, test_acc = measure.loss_and_accuracy(test, params, chunk)
    return {"train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss,
            "test_acc": test_acc, "grad_norm2": measure.grad_norm2(objective, params, chunk)}


_MEMORY_KEYS = ("compiled_bytes", "device_peak_bytes", "process_peak_rss_bytes")


def _peak_memory(compiled_bytes):
    stats = jax.devices()[0].memory_stats() or {}
    return {"compiled_bytes": compiled_bytes, "device_peak_bytes": stats.get("peak_bytes_in_use"),
            "process_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def _memory_arrays(memory):
    return {f"memory_{k}": np.asarray(np.nan if memory.get(k) is None else float(memory[k]))
            for k in _MEMORY_KEYS}


def _last_valid(values):
    values = np.asarray(values, dtype=float)
    ok = values[np.isfinite(values)]
    return int(ok[-1]) if ok.size else None


# ---------------------------------------------------------------------------------------- helpers


def _as_key(key):
    """A typed PRNG key from an int seed, a raw uint32 key or a typed key."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if key.dtype == jnp.uint32 and key.shape == (2,):
        return jax.random.wrap_key_data(key)
    raise ValueError(f"key={key!r} is not allowed: pass an int seed or a PRNG key")


def _cast_floats(tree, dtype):
    """``tree`` with every floating array leaf cast to ``dtype`` (converters are not re-run)."""
    return jax.tree.map(lambda a: a.astype(dtype) if eqx.is_inexact_array(a) else a, tree)


def _match_dtypes(new, old):
    return jax.tree.map(lambda a, b: a.astype(b.dtype), new, old)


def _flatten(carry):
    params, state, key = carry
    leaves = jax.tree.leaves((params, state, jax.random.key_data(key)))
    return {f"leaf_{i:05d}": np.asarray(a) for i, a in enumerate(leaves)}


def _restore(arrays, carry):
    params, state, key = carry
    treedef = jax.tree.structure((params, state, jax.random.key_data(key)))
    leaves = [jnp.asarray(arrays[f"leaf_{i:05d}"]) for i in range(len(arrays))]
    params, state, key_data = jax.tree.unflatten(treedef, leaves)
    return params, state, jax.random.wrap_key_data(key_data, impl=jax.random.key_impl(key))


def _version():
    from .. import __version__

    return __version__
