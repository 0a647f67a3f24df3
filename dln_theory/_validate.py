"""Input checks that run before any compilation and name the parameter, the value and what is allowed."""

import jax
import numpy as np


def _concrete(value):
    """Return ``value`` as a NumPy array, or None while it is being traced."""
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(value)):
        return None
    return np.asarray(value, dtype=float)


def positive(name, value):
    """Require every entry finite and > 0."""
    arr = _concrete(value)
    if arr is not None and not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
        raise ValueError(f"{name}={_show(value)} is not allowed: {name} must be finite and > 0")


def nonnegative(name, value):
    """Require every entry finite and >= 0."""
    arr = _concrete(value)
    if arr is not None and not (np.all(np.isfinite(arr)) and np.all(arr >= 0)):
        raise ValueError(f"{name}={_show(value)} is not allowed: {name} must be finite and >= 0")


def unit_interval(name, value):
    """Require every entry in [0, 1)."""
    arr = _concrete(value)
    if arr is not None and not (np.all(np.isfinite(arr)) and np.all((arr >= 0) & (arr < 1))):
        raise ValueError(f"{name}={_show(value)} is not allowed: {name} must lie in [0, 1)")


def finite(name, value):
    """Require every entry finite."""
    arr = _concrete(value)
    if arr is not None and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}={_show(value)} is not allowed: {name} must be finite")


def one_of(name, value, allowed):
    """Require ``value`` to be one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed: choose one of {sorted(allowed)}")


def integer_at_least(name, value, low):
    """Require an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name}={value!r} is not allowed: {name} must be an integer >= {low}")


def _show(value):
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return repr(arr.item())
    return f"<array of shape {arr.shape}, min {np.min(arr)!r}, max {np.max(arr)!r}>"
