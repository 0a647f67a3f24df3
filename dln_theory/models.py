"""Diagonal linear network parametrizations.

Parameters are one array ``params`` of shape (2, d): rows (u, v) for P-E, rows (w₊, w₋) for P-W.

* **P-E** (Even et al. arXiv:2302.08982, Pesme et al. arXiv:2106.09524): β = u ⊙ v,
  u(0) = √2·α, v(0) = 0 by default, or any init shape (u₀, v₀) scaled by α.
* **P-W** (Woodworth et al. arXiv:2002.09277): β = w₊^D − w₋^D, w±(0) = α, depth D ≥ 2.

With u = w₊ + w₋, v = w₊ − w₋ the two are the same network at D = 2 and α_E = √2·α_W
(science.md §1); GD with step η on w equals GD with step 2η on (u, v).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _validate

PARAMETRIZATIONS = ("PE", "PW")


class Model(eqx.Module):
    """A DLN parametrization: ``init``, ``beta`` and the effective initialization ``alpha_eff2``."""

    def init(self, alpha, d: int) -> jax.Array:
        raise NotImplementedError

    def beta(self, params) -> jax.Array:
        raise NotImplementedError

    def alpha_eff2(self, params) -> jax.Array:
        raise NotImplementedError


class PE(Model):
    """P-E: β = u ⊙ v; u(0) = α·u_shape, v(0) = α·v_shape (default u_shape = √2, v_shape = 0).

    α_eff² = ½(u² − v²) per coordinate (science.md §3); it equals α² at the default init and is
    conserved by gradient flow.
    """

    u_shape: jax.Array | float = np.sqrt(2.0)
    v_shape: jax.Array | float = 0.0

    def __check_init__(self):
        _validate.finite("u_shape", self.u_shape)
        _validate.finite("v_shape", self.v_shape)

    def init(self, alpha, d):
        alpha = jnp.broadcast_to(jnp.asarray(alpha, dtype=float), (d,))
        u = alpha * jnp.broadcast_to(jnp.asarray(self.u_shape, dtype=float), (d,))
        v = alpha * jnp.broadcast_to(jnp.asarray(self.v_shape, dtype=float), (d,))
        return jnp.stack([u, v])

    def beta(self, params):
        return params[..., 0, :] * params[..., 1, :]

    def alpha_eff2(self, params):
        return 0.5 * (params[..., 0, :] ** 2 - params[..., 1, :] ** 2)


class PW(Model):
    """P-W depth D: β = w₊^D − w₋^D, w±(0) = α.

    Effective initialization: D = 2, α_eff² = w₊w₋ (conserved by gradient flow); D ≥ 3,
    α_eff^{2−D} = ½(w₊^{2−D} + w₋^{2−D}) (conserved since w±^{2−D} = α^{2−D} ± D(D−2)S(t),
    science.md §2).
    """

    depth: int = eqx.field(static=True, default=2)

    def __check_init__(self):
        _validate.integer_at_least("depth", self.depth, 2)

    def init(self, alpha, d):
        alpha = jnp.broadcast_to(jnp.asarray(alpha, dtype=float), (d,))
        return jnp.stack([alpha, alpha])

    def beta(self, params):
        return params[..., 0, :] ** self.depth - params[..., 1, :] ** self.depth

    def alpha_eff2(self, params):
        wp, wm = params[..., 0, :], params[..., 1, :]
        if self.depth == 2:
            return wp * wm
        e = 2.0 - self.depth
        return (0.5 * (wp**e + wm**e)) ** (2.0 / e)


def make_model(parametrization: str = "PE", depth: int = 2) -> Model:
    """Model by name: ``"PE"`` (depth 2 only) or ``"PW"`` (any depth ≥ 2)."""
    _validate.one_of("parametrization", parametrization, PARAMETRIZATIONS)
    _validate.integer_at_least("depth", depth, 2)
    if parametrization == "PE":
        if depth != 2:
            raise ValueError(f"depth={depth} is not allowed for parametrization 'PE': use 'PW' for depth > 2")
        return PE()
    return PW(depth)


def check_alpha(alpha, d: int) -> None:
    """α must be finite, > 0, and a scalar or of shape (d,)."""
    _validate.positive("alpha", alpha)
    if np.ndim(alpha) not in (0, 1) or (np.ndim(alpha) == 1 and np.shape(alpha) != (d,)):
        raise ValueError(f"alpha has shape {np.shape(alpha)}: alpha must be a scalar or of shape (d,) = ({d},)")
