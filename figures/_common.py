"""Helpers shared by the figure scripts: a disk memo for theory predictions, small numerics."""

import hashlib
import inspect
import pickle
from dataclasses import asdict

import numpy as np

from dln_theory import _cache


def memo(tag: str, config, compute_fn, cache_dir=None, *extra):
    """``compute_fn()`` cached on disk under the sweep cache root (``figures/<tag>-<hash>.pkl``).

    The key hashes the config, ``extra``, the source of ``compute_fn``'s module and the package
    version, so an edited figure script never replots stale predictions. Simulations are cached
    separately, chunk by chunk, by `dln_theory.sweep.sweep`.
    """
    import dln_theory

    module = inspect.getmodule(compute_fn)
    source = inspect.getsource(module) if module is not None else ""
    h = hashlib.sha256()
    h.update(repr(sorted(asdict(config).items())).encode())
    h.update(repr(extra).encode())
    h.update(source.encode())
    h.update(dln_theory.__version__.encode())
    path = _cache.root_dir(cache_dir) / "figures" / f"{tag}-{h.hexdigest()[:20]}.pkl"
    if path.exists():
        with open(path, "rb") as f:
            return pickle.load(f)
    value = compute_fn()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(value, f)
    tmp.replace(path)
    return value


def relative_distance(a, b, axis=-1):
    """‖a − b‖/‖b‖ along ``axis``."""
    a, b = np.asarray(a), np.asarray(b)
    return np.linalg.norm(a - b, axis=axis) / np.linalg.norm(b, axis=axis)


def fmt(x: float) -> str:
    """Compact number formatting for check messages."""
    return f"{x:.2g}" if abs(x) < 1e-2 or abs(x) >= 1e3 else f"{x:.3g}"
