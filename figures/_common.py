"""Helpers shared by the figure scripts: a disk memo for theory predictions, small numerics."""

import pickle
import warnings

import numpy as np

from dln_theory import _cache


def memo(tag: str, config, compute_fn, cache_dir=None, *extra):
    """``compute_fn()`` cached on disk under the cache root (``figures/<tag>-<key>.pkl``).

    The key (`dln_theory._cache.fingerprint`) hashes ``tag``, the config, ``extra``, ``compute_fn``
    by its code and closed-over values, and the package's source, so an edited figure script or
    formula never replots stale predictions. The entry carries a checksum: a damaged one is
    reported, removed and recomputed. Simulations are cached separately, chunk by chunk, by
    `dln_theory.sweep.sweep`.
    """
    key = _cache.fingerprint(tag, config, compute_fn, extra)
    path = _cache.root_dir(cache_dir) / "figures" / f"{tag}-{key}.pkl"
    payload = _cache.load_bytes(path)
    if payload is not None:
        try:
            return pickle.loads(payload)
        except Exception as exc:  # a payload this code cannot unpickle: recompute it
            _cache.discard(path, exc)
    _cache.ensure_writable(path.parent)
    value = compute_fn()
    try:
        _cache.save_bytes(path, pickle.dumps(value))
    except OSError as exc:
        warnings.warn(f"{_cache.unwritable(path.parent, exc)}; the result is not cached", _cache.CacheWarning,
                      stacklevel=2)
    return value


def relative_distance(a, b, axis=-1):
    """‖a − b‖/‖b‖ along ``axis``."""
    a, b = np.asarray(a), np.asarray(b)
    return np.linalg.norm(a - b, axis=axis) / np.linalg.norm(b, axis=axis)


def fmt(x: float) -> str:
    """Compact number formatting for check messages."""
    return f"{x:.2g}" if abs(x) < 1e-2 or abs(x) >= 1e3 else f"{x:.3g}"
