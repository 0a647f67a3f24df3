"""Measurement helpers shared by the benchmarks: wall-clock timers, float64 matmul peak, memory.

Timers take the best of a few repetitions (the minimum is the least disturbed by other processes
on a shared machine). For JAX, the first call of a jitted function traces and compiles:
`time_jit` separates compilation (ahead-of-time ``lower().compile()``) from the run, and
`time_first_and_steady` does the same for an opaque callable (such as `dln_theory.sweep`) as
first call − best later call.
Every JAX result is waited for with ``jax.block_until_ready`` before the clock stops.

This module imports JAX lazily, so that a NumPy-only worker process does not pay for it.
"""

import os
import platform
import resource
import time
import tracemalloc
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of one measured job.

    Attributes:
        run_s: best steady-state run time over ``repeats`` calls (compiled code only, for JAX).
        compile_s: tracing + compilation time (0 for NumPy).
        repeats: number of timed steady-state calls.
    """

    run_s: float
    compile_s: float = 0.0
    repeats: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


def _block(x):
    """Wait for JAX arrays in ``x`` (no-op for NumPy results, and without importing JAX)."""
    import sys

    if "jax" in sys.modules:
        import jax

        return jax.block_until_ready(x)
    return x


def best_time(fn, repeats: int = 3):
    """(best wall-clock seconds over ``repeats`` calls of ``fn()``, last result)."""
    best, out = float("inf"), None
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        out = _block(fn())
        best = min(best, time.perf_counter() - t0)
    return best, out


def time_numpy(fn, repeats: int = 1):
    """Time a NumPy job: ``(Timing, result)`` with the best of ``repeats`` calls."""
    run_s, out = best_time(fn, repeats)
    return Timing(run_s, 0.0, repeats), out


def time_jit(fn, *args, repeats: int = 3):
    """Time a jittable ``fn(*args)``: AOT compile time, then best run time of the compiled code.

    Returns ``(Timing, result)``.
    """
    import jax

    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    run_s, out = best_time(lambda: compiled(*args), repeats)
    return Timing(run_s, compile_s, repeats), out


def time_first_and_steady(fn, repeats: int = 1):
    """Time an opaque JAX-backed callable whose first call compiles (e.g. a `sweep` call).

    compile_s = first call − best steady call (tracing, compilation and first-run effects).
    Returns ``(Timing, result)``.
    """
    t0 = time.perf_counter()
    _block(fn())
    first = time.perf_counter() - t0
    run_s, out = best_time(fn, repeats)
    return Timing(run_s, max(first - run_s, 0.0), repeats), out


class CompileCounter:
    """Counts what JAX compiles inside a ``with`` block, from its monitoring events.

    Attributes (after the block): ``traces`` (functions traced to a jaxpr), ``programs`` (XLA
    programs built, each compiled or loaded from the persistent compilation cache), ``compile_s``
    (their seconds), ``cache_hits`` / ``cache_misses`` (persistent cache lookups).
    """

    _EVENTS = {"/jax/core/compile/jaxpr_trace_duration": "traces",
               "/jax/core/compile/backend_compile_duration": "programs"}

    def __init__(self):
        self.traces = self.programs = self.cache_hits = self.cache_misses = 0
        self.compile_s = 0.0

    def _duration(self, event, seconds, **_):
        name = self._EVENTS.get(event)
        if name is not None:
            setattr(self, name, getattr(self, name) + 1)
        if name == "programs":
            self.compile_s += seconds

    def _event(self, event, **_):
        if event == "/jax/compilation_cache/cache_hits":
            self.cache_hits += 1
        elif event == "/jax/compilation_cache/cache_misses":
            self.cache_misses += 1

    def __enter__(self):
        import jax.monitoring

        jax.monitoring.register_event_duration_secs_listener(self._duration)
        jax.monitoring.register_event_listener(self._event)
        return self

    def __exit__(self, *exc):
        import jax.monitoring

        jax.monitoring.unregister_event_duration_listener(self._duration)
        jax.monitoring.unregister_event_listener(self._event)
        return False

    def as_dict(self) -> dict:
        return {"traces": self.traces, "programs": self.programs, "compile_s": self.compile_s,
                "cache_hits": self.cache_hits, "cache_misses": self.cache_misses}


def matmul_peak(size: int = 2048, repeats: int = 3, backend: str = "numpy") -> float:
    """float64 FLOP/s of a square ``size``×``size`` matrix product (2·size³ flop), best of a few.

    ``backend`` is ``"numpy"`` (the BLAS NumPy links to) or ``"jax"`` (XLA on the default device).
    This is the practical peak the benchmarks quote fractions of.
    """
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    if backend == "numpy":
        fn = lambda: a @ b  # noqa: E731
        fn()
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        aj, bj = jnp.asarray(a), jnp.asarray(b)
        mm = jax.jit(jnp.matmul).lower(aj, bj).compile()
        fn = lambda: mm(aj, bj)  # noqa: E731
        _block(fn())
    else:
        raise ValueError(f"backend={backend!r} is not allowed: choose 'numpy' or 'jax'")
    seconds, _ = best_time(fn, repeats)
    return 2.0 * size**3 / seconds


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (``getrusage`` high-water mark; Linux KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int:
    """Current resident set size of this process (from /proc/self/statm; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def numpy_peak_bytes(fn) -> int:
    """Peak bytes NumPy (and Python) allocated while running ``fn()`` (tracemalloc).

    tracemalloc slows allocation down: call this on a short run, not on the timed one.
    """
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (0 where unavailable)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def blas_threads() -> str:
    """The BLAS library NumPy uses and its thread count (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    found = [f"{p['internal_api']} {p['num_threads']} threads" for p in pools]
    return ", ".join(found) or "none found"


def machine_info() -> dict:
    """What a timing depends on: CPU count, load average, library versions, BLAS threads."""
    info = {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "numpy": np.__version__,
        "blas": blas_threads(),
    }
    try:
        import jax

        info["jax"] = jax.__version__
        info["jax_device"] = str(jax.devices()[0])
    except ImportError:
        pass
    return info


def fmt_bytes(n: float) -> str:
    """Human-readable byte count."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def fmt_seconds(s: float) -> str:
    """Seconds with a sensible unit."""
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"
