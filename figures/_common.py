"""Helpers shared by the figure scripts: a disk memo for theory predictions, small numerics."""

import numpy as np

from dln_theory import cache


def memo(tag: str, config, compute_fn, cache_dir=None, *extra):
    """``compute_fn()`` cached on disk by `dln_theory.cache.memo`, keyed by the config, ``extra``,
    the code and closed-over values of ``compute_fn`` and the package's source, so an edited
    figure script never replots stale predictions. Simulations are cached separately, chunk by
    chunk, by `dln_theory.sweep.sweep`.
    """
    return cache.memo(tag, compute_fn, config, *extra, cache_dir=cache_dir)


def relative_distance(a, b, axis=-1):
    """‖a − b‖/‖b‖ along ``axis``."""
    a, b = np.asarray(a), np.asarray(b)
    return np.linalg.norm(a - b, axis=axis) / np.linalg.norm(b, axis=axis)


def fmt(x: float) -> str:
    """Compact number formatting for check messages."""
    return f"{x:.2g}" if abs(x) < 1e-2 or abs(x) >= 1e3 else f"{x:.3g}"
