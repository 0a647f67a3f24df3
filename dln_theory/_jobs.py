"""Work shared by sweeps and deep-net training: compiled programs, and chunks computed or loaded.

* `Programs` compiles a function ahead of time once per signature (the shapes, dtypes and
  shardings of its array arguments, everything else by value), in a process-wide cache bounded to
  `MAX_PROGRAMS` entries (least recently used dropped), and counts the new compilations of one
  call of the library, with their seconds and memory.
* `map_chunks` maps a function over numbered chunks: a chunk already in the cache is loaded,
  the others are computed here or on an executor (``submit(fn, *args)``), each result is cached
  on arrival, with one progress bar.
"""

import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from typing import NamedTuple

import equinox as eqx
import jax
from tqdm.auto import tqdm

MAX_PROGRAMS = 64


class Program(NamedTuple):
    """A compiled function, the seconds its compilation took and its memory in bytes (XLA's
    arguments + outputs + temporaries, None where the backend does not report it)."""

    fn: Callable
    compile_s: float
    compiled_bytes: int | None


_PROGRAMS: OrderedDict = OrderedDict()


class Programs:
    """Compiled programs used by one call; ``new[name]`` counts those compiled for it."""

    def __init__(self):
        self.new = Counter()

    def compiled(self, fn, *args, donate: str = "none") -> Callable:
        """``fn`` compiled for ``args`` (see `program`)."""
        return self.program(fn, *args, donate=donate).fn

    def value(self, fn, *args):
        """``fn(*args)``, computed once per signature of ``args`` (a result of tracing them)."""
        key = _signature(fn, "value", args)
        if key not in _PROGRAMS:
            _PROGRAMS[key] = fn(*args)
        _PROGRAMS.move_to_end(key)
        while len(_PROGRAMS) > MAX_PROGRAMS:
            _PROGRAMS.popitem(last=False)
        return _PROGRAMS[key]

    def program(self, fn, *args, donate: str = "none") -> Program:
        """The `Program` of ``fn`` for arguments like ``args``: array leaves are traced, the other
        leaves are static; ``donate`` as in `equinox.filter_jit`."""
        key = _signature(fn, donate, args)
        if key in _PROGRAMS:
            _PROGRAMS.move_to_end(key)
            return _PROGRAMS[key]
        t0 = time.perf_counter()
        compiled = eqx.filter_jit(fn, donate=donate).lower(*args).compile()
        program = Program(compiled, time.perf_counter() - t0, _compiled_bytes(compiled))
        self.new[fn.__name__] += 1
        _PROGRAMS[key] = program
        while len(_PROGRAMS) > MAX_PROGRAMS:
            _PROGRAMS.popitem(last=False)
        return program


def _signature(fn, donate, args):
    dynamic, static = eqx.partition(args, eqx.is_array)
    leaves, treedef = jax.tree.flatten(dynamic)
    avals = tuple((a.shape, a.dtype, getattr(a, "weak_type", False), getattr(a, "sharding", None))
                  for a in leaves)
    return fn, donate, treedef, avals, jax.tree.structure(static), tuple(jax.tree.leaves(static))


def _compiled_bytes(compiled):
    try:
        m = compiled.compiled.memory_analysis()
        return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes
                   - m.alias_size_in_bytes)
    except Exception:  # memory analysis is not available on every backend
        return None


def map_chunks(
    fn: Callable,
    chunk_args: Callable[[int], tuple],
    n_chunks: int,
    *,
    store=None,
    executor=None,
    in_order: bool = False,
    progress: bool | None = None,
    desc: str = "",
    unit: str = "chunk",
    weights: Sequence[int] | None = None,
    postfix: Callable[[dict], dict] | None = None,
) -> list[dict]:
    """``[fn(*chunk_args(c)) for c in range(n_chunks)]``, each a dict of arrays, through the cache.

    Args:
        fn: computes one chunk; with an executor it must be picklable (a module-level function).
        chunk_args: the arguments of chunk ``c``.
        store: a `dln_theory._cache.ChunkStore` (None: no cache).
        executor: an engine with ``submit(fn, *args)`` returning futures (``.result()``), e.g. a
            `concurrent.futures.ProcessPoolExecutor` or a `dask.distributed.Client`; the missing
            chunks are all submitted at once. None: computed here, in order.
        in_order: chunks depend on the previous ones (a training run): only the leading run of
            cached chunks is loaded, the rest is computed in order, here.
        progress: show a progress bar (default: when attached to a terminal and there is more
            than one chunk).
        weights: progress units of each chunk (default 1).
        postfix: the bar's postfix after a chunk, from its result.
    """
    weights = [1] * n_chunks if weights is None else list(weights)
    results = [None] * n_chunks
    if store is not None:
        for c in range(n_chunks):
            results[c] = store.load(c)
            if in_order and results[c] is None:
                break
    missing = [c for c in range(n_chunks) if results[c] is None]
    if in_order:
        missing = list(range(missing[0], n_chunks)) if missing else []
    done = sum(weights[c] for c in range(n_chunks) if c not in missing)
    disable = (None if n_chunks > 1 else True) if progress is None else not progress
    futures = {c: executor.submit(fn, *chunk_args(c)) for c in missing} if executor is not None else {}
    with tqdm(total=sum(weights), initial=done, desc=desc, unit=unit, disable=disable) as bar:
        for c in missing:
            results[c] = futures[c].result() if executor is not None else fn(*chunk_args(c))
            if store is not None:
                store.save(c, results[c])
            bar.update(weights[c])
            if postfix is not None:
                bar.set_postfix(postfix(results[c]))
    return results
