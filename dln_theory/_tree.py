"""Small pytree helpers shared by the dynamics (DLN parameters and network weights alike)."""

import jax
import jax.numpy as jnp
import numpy as np


def axpy(a, x, y):
    """Return ``a * x + y`` leaf by leaf."""
    return jax.tree.map(lambda xi, yi: a * xi + yi, x, y)


def scale(a, x):
    """Return ``a * x`` leaf by leaf."""
    return jax.tree.map(lambda xi: a * xi, x)


def add(x, y):
    return jax.tree.map(jnp.add, x, y)


def sub(x, y):
    return jax.tree.map(jnp.subtract, x, y)


def vdot(x, y):
    """Euclidean inner product of two pytrees."""
    return sum(jnp.vdot(a, b) for a, b in zip(jax.tree.leaves(x), jax.tree.leaves(y)))


def norm(x):
    """Euclidean norm of a pytree."""
    return jnp.sqrt(vdot(x, x))


def is_bounded(x, bound):
    """True when every leaf is finite and no entry exceeds ``bound`` in absolute value."""
    leaves = jax.tree.leaves(x)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(a) & (jnp.abs(a) <= bound)) for a in leaves]))


def select(pred, on_true, on_false):
    """``jnp.where(pred, on_true, on_false)`` over matching pytrees with a scalar predicate."""
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def normalized(x):
    """x/‖x‖, and 0 where x = 0 (the ascent direction of normalized SAM and F-GR)."""
    n = norm(x)
    return scale(jnp.where(n > 0, 1.0 / jnp.where(n > 0, n, 1.0), 0.0), x)


def like(x, reference):
    """``x`` with each leaf cast to the dtype of the matching leaf of ``reference``.

    Hyper-parameters are float64 leaves; this keeps float32 weights float32 through a step.
    """
    return jax.tree.map(lambda a, r: a.astype(r.dtype), x, reference)


def cast_floats(tree, dtype):
    """``tree`` with every floating-point array leaf cast to ``dtype`` (other leaves untouched)."""
    def cast(leaf):
        if isinstance(leaf, (jax.Array, np.ndarray)) and jnp.issubdtype(leaf.dtype, jnp.floating):
            return jnp.asarray(leaf, dtype=dtype)
        return leaf

    return jax.tree.map(cast, tree)
