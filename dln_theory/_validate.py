"""Input checks run before any compilation; each names the parameter, its value and what is allowed.

Every check works on concrete values only: NumPy, no JAX operation, so that a refused input never
reaches tracing or XLA compilation. Values that are being traced (a public function called inside
``jax.jit``/``jax.vmap``) are checked for dtype and shape only. NumPy integer types are accepted
wherever a Python ``int`` is, and integers are returned as Python ``int``.

Errors are ``ValueError`` for a wrong value (range, shape, NaN) and `InputTypeError`, both a
``TypeError`` and a ``ValueError``, for a wrong kind of value (a float where an integer is needed,
complex or text data, a string where a model object is needed).
"""

import jax
import jax.numpy as jnp
import numpy as np


class InputTypeError(TypeError, ValueError):
    """A value of the wrong kind; also a ``ValueError``, which catches every input error."""


def is_traced(value) -> bool:
    """Whether any leaf of ``value`` is a JAX tracer (the call is inside a transformation)."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(value))


def real_array(name, value):
    """``value`` as a float64 NumPy array; a tracer is returned as is after its dtype is checked.

    Refuses complex, text, object and ragged input (bool and integers are converted to float).
    """
    if isinstance(value, jax.core.Tracer):
        _check_dtype(name, value.dtype)
        return value
    if value is None:
        raise InputTypeError(f"{name}=None is not allowed: {name} must be an array of real numbers")
    try:
        arr = np.asarray(value)
    except ValueError:
        raise InputTypeError(
            f"{name} is a ragged sequence: {name} must be a rectangular array of real numbers"
        ) from None
    _check_dtype(name, arr.dtype)
    return arr.astype(float)


def _check_dtype(name, dtype):
    if np.dtype(dtype).kind not in "biuf" and not jnp.issubdtype(dtype, jnp.floating):  # bfloat16 …
        raise InputTypeError(
            f"{name} has dtype {dtype}: {name} must be real (float, integer or bool)"
        )


def all_finite(name, arr) -> None:
    """Require every entry of ``arr`` (from `real_array`) finite; tracers pass."""
    if isinstance(arr, jax.core.Tracer):
        return
    bad = ~np.isfinite(arr)
    if np.any(bad):
        first = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        kinds = f"{int(np.isnan(arr).sum())} NaN and {int(np.isinf(arr).sum())} infinite entries"
        raise ValueError(f"{name} contains {kinds} (first at index {first}): {name} must be finite")


def shape_is(name, arr, shape, described=None) -> None:
    """Require ``arr.shape == shape``; ``described`` says it in symbols, e.g. ``"(n,) = (5,)"``."""
    if tuple(np.shape(arr)) != tuple(shape):
        allowed = described or tuple(shape)
        raise ValueError(f"{name} has shape {tuple(np.shape(arr))}: "
                         f"{name} must have shape {allowed}")


def scalar_or_vector(name, arr, d: int) -> None:
    """Require a scalar or a vector of shape (d,)."""
    if np.ndim(arr) != 0 and tuple(np.shape(arr)) != (d,):
        raise ValueError(
            f"{name} has shape {tuple(np.shape(arr))}: "
            f"{name} must be a scalar or of shape (d,) = ({d},)"
        )


def data(X, y, x_name="X", y_name="y"):
    """Training data: X real, finite, shape (n, d), n, d ≥ 1; y of shape (n,); as float arrays."""
    X, y = real_array(x_name, X), real_array(y_name, y)
    if X.ndim != 2 or 0 in X.shape:
        raise ValueError(
            f"{x_name} has shape {X.shape}: {x_name} must be a 2-D array of shape (n, d), n, d >= 1"
        )
    shape_is(y_name, y, (X.shape[0],), f"(n,) = ({X.shape[0]},) to match {x_name}")
    all_finite(x_name, X)
    all_finite(y_name, y)
    return X, y


def _concrete(name, value):
    """``value`` as a float NumPy array, or None while it is being traced (dtype checked first)."""
    if is_traced(value):
        return None
    return real_array(name, value)


def positive(name, value):
    """Require every entry finite and > 0."""
    arr = _concrete(name, value)
    if arr is not None and not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
        raise ValueError(f"{name}={_show(arr)} is not allowed: {name} must be finite and > 0")


def nonnegative(name, value):
    """Require every entry finite and >= 0."""
    arr = _concrete(name, value)
    if arr is not None and not (np.all(np.isfinite(arr)) and np.all(arr >= 0)):
        raise ValueError(f"{name}={_show(arr)} is not allowed: {name} must be finite and >= 0")


def unit_interval(name, value):
    """Require every entry in [0, 1)."""
    arr = _concrete(name, value)
    if arr is not None and not (np.all(np.isfinite(arr)) and np.all((arr >= 0) & (arr < 1))):
        raise ValueError(f"{name}={_show(arr)} is not allowed: {name} must lie in [0, 1)")


def open_interval(name, value, low, high):
    """Require every entry in (low, high)."""
    arr = _concrete(name, value)
    if arr is not None and not np.all((arr > low) & (arr < high)):
        raise ValueError(f"{name}={_show(arr)} is not allowed: {name} must lie in ({low}, {high})")


def finite(name, value):
    """Require every entry finite."""
    arr = _concrete(name, value)
    if arr is not None and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}={_show(arr)} is not allowed: {name} must be finite")


def scalar(name, value) -> None:
    """Require a single number (shape ())."""
    if np.ndim(value) != 0:
        raise ValueError(f"{name} has shape {tuple(np.shape(value))}: {name} must be a scalar")


def one_of(name, value, allowed):
    """Require ``value`` to be one of ``allowed``."""
    try:
        ok = value in allowed
    except (TypeError, ValueError):  # an array compares elementwise
        ok = False
    if not ok:
        raise ValueError(f"{name}={value!r} is not allowed: choose one of {sorted(allowed)}")


def integer_at_least(name, value, low) -> int:
    """Require an integer (Python or NumPy) >= ``low``; return it as a Python ``int``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputTypeError(
            f"{name}={value!r} is not allowed: {name} must be an integer >= {low} "
            f"(int or NumPy integer), not {type(value).__name__}"
        )
    if value < low:
        raise ValueError(f"{name}={value!r} is not allowed: {name} must be an integer >= {low}")
    return int(value)


def flag(name, value) -> bool:
    """Require a bool (Python or NumPy)."""
    if not isinstance(value, bool | np.bool_):
        raise InputTypeError(f"{name}={value!r} is not allowed: {name} must be True or False")
    return bool(value)


def nonempty_mapping(name, value, hint: str) -> None:
    """Require a dict-like with at least one entry; ``hint`` says what to do instead."""
    if not hasattr(value, "keys") or not hasattr(value, "items"):
        raise InputTypeError(
            f"{name}={_short(value)} is not allowed: {name} must be a dict of axis name -> values"
        )
    if len(value) == 0:
        raise ValueError(f"{name}={{}} is not allowed: {hint}")


def scalar_leaves(module) -> None:
    """Require every concrete array leaf of ``module`` (a method's hyper-parameters) to be a scalar.

    The message names the field by its path (``eta``, ``field.beta``), its shape, and the way to
    run several values: a `sweep` grid axis.
    """
    for path, leaf in jax.tree_util.tree_flatten_with_path(module)[0]:
        if isinstance(leaf, np.ndarray | jax.Array) and not is_traced(leaf) and np.ndim(leaf) != 0:
            field = jax.tree_util.keystr(path).lstrip(".")
            raise ValueError(
                f"{field} has shape {tuple(np.shape(leaf))}: {field} of {type(module).__name__} "
                f"must be a scalar; to run several values use sweep(..., grid={{{field!r}: [...]}})"
            )


def params0(value, d: int):
    """Explicit initial parameters: real, finite, of shape (2, d); as a float array."""
    arr = real_array("params0", value)
    shape_is("params0", arr, (2, d), f"(2, d) = (2, {d}) (rows (u, v) for PE, (w+, w-) for PW)")
    all_finite("params0", arr)
    return arr


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _show(arr):
    arr = np.asarray(arr, dtype=float)
    if arr.ndim == 0:
        return repr(arr.item())
    if arr.size == 0:
        return f"<empty array of shape {arr.shape}>"
    return f"<array of shape {arr.shape}, min {np.min(arr)!r}, max {np.max(arr)!r}>"


def run_length(n_steps, save_every, loss_tol, divergence_bound):
    """Run-length arguments of `simulate`/`sweep`: integers returned as ``int``, tolerances scalars.

    ``n_steps`` fixes the length of a ``lax.scan``, so a NumPy integer must become a Python ``int``
    here (traced, it would fail inside JAX).
    """
    n_steps = integer_at_least("n_steps", n_steps, 1)
    if save_every is not None:
        save_every = integer_at_least("save_every", save_every, 1)
    for name, value in (("loss_tol", loss_tol), ("divergence_bound", divergence_bound)):
        real_array(name, value)
        scalar(name, value)
    return n_steps, save_every

