"""Diagonal linear network parametrizations.

Parameters are one array ``params`` of shape (2, d): rows (u, v) for P-E, rows (w₊, w₋) for P-W.

* **P-E** (Even et al. arXiv:2302.08982, Pesme et al. arXiv:2106.09524): β = u ⊙ v,
  u(0) = √2·α, v(0) = 0 by default, or any init shape (u₀, v₀) scaled by α.
* **P-W** (Woodworth et al. arXiv:2002.09277): β = w₊^D − w₋^D, w±(0) = α, depth D ≥ 2.

With u = w₊ + w₋, v = w₊ − w₋ the two are the same network at D = 2 and α_E = √2·α_W
(docs/conventions.md §1); GD with step η on w equals GD with step 2η on (u, v). That convention lives in
one place, `Model.alpha_e2`; theory functions take the model object (``PE()``, ``PW(D)``) and α
as the simulator does, never a parametrization name.
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _validate

PARAMETRIZATIONS = ("PE", "PW")


def _python_int(value):
    """NumPy integers become ``int`` (a static field must hash and compare as the Python value)."""
    return int(value) if isinstance(value, np.integer) else value


class Model(eqx.Module):
    """A DLN parametrization: ``init``, ``beta`` and the effective initialization ``alpha_eff2``."""

    def init(self, alpha, d: int) -> jax.Array:
        raise NotImplementedError

    def beta(self, params) -> jax.Array:
        raise NotImplementedError

    def alpha_eff2(self, params) -> jax.Array:
        raise NotImplementedError

    def alpha_e2(self, alpha) -> jax.Array:
        """α_E²: squared scale of the P-E network equal to this one at init scale α (depth 2).

        The implicit-bias potential of gradient flow is ψ_{α_E} (Pesme et al. arXiv:2106.09524),
        and Q_{α_W} = 2ψ_{α_E} for P-W (Woodworth et al. arXiv:2002.09277).
        """
        raise NotImplementedError


class PE(Model):
    """P-E: β = u ⊙ v; u(0) = α·u_shape, v(0) = α·v_shape (default u_shape = √2, v_shape = 0).

    α_eff² = ½(u² − v²) per coordinate (docs/conventions.md §3); it equals α² at the default init and is
    conserved by gradient flow.
    """

    u_shape: jax.Array | float = np.sqrt(2.0)
    v_shape: jax.Array | float = 0.0

    depth: ClassVar[int] = 2

    def __check_init__(self):
        _validate.finite("u_shape", self.u_shape)
        _validate.finite("v_shape", self.v_shape)

    def init(self, alpha, d):
        _validate.scalar_or_vector("u_shape", self.u_shape, d)
        _validate.scalar_or_vector("v_shape", self.v_shape, d)
        alpha = jnp.broadcast_to(jnp.asarray(alpha, dtype=float), (d,))
        u = alpha * jnp.broadcast_to(jnp.asarray(self.u_shape, dtype=float), (d,))
        v = alpha * jnp.broadcast_to(jnp.asarray(self.v_shape, dtype=float), (d,))
        return jnp.stack([u, v])

    def beta(self, params):
        return params[..., 0, :] * params[..., 1, :]

    def beta_vjp(self, params, g):
        """(∂β/∂θ)ᵀ g = (g ⊙ v, g ⊙ u): a product with θ's rows swapped, the values of autodiff (up to the
        sign of a zero) without its pad and sum, which XLA on the CPU runs about four times
        slower under ``vmap``."""
        return jnp.expand_dims(g, -2) * params[..., ::-1, :]

    def alpha_eff2(self, params):
        return 0.5 * (params[..., 0, :] ** 2 - params[..., 1, :] ** 2)

    def alpha_e2(self, alpha):
        """α² (P-E is its own reference)."""
        return alpha**2


class PW(Model):
    """P-W depth D: β = w₊^D − w₋^D, w±(0) = α.

    Effective initialization: D = 2, α_eff² = w₊w₋ (conserved by gradient flow); D ≥ 3,
    α_eff^{2−D} = ½(w₊^{2−D} + w₋^{2−D}) (conserved since w±^{2−D} = α^{2−D} ± D(D−2)S(t),
    docs/conventions.md §2).
    """

    depth: int = eqx.field(static=True, default=2, converter=_python_int)

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

    def alpha_e2(self, alpha):
        """2α²: w±(0) = α_W gives u(0) = 2α_W = √2·α_E (docs/conventions.md §1); depth 2 only."""
        if self.depth != 2:
            raise ValueError(
                f"depth={self.depth} is not allowed here: a P-E equivalent exists at depth 2 only"
            )
        return 2.0 * alpha**2


def make_model(parametrization: str = "PE", depth: int = 2) -> Model:
    """Model by name: ``"PE"`` (depth 2 only) or ``"PW"`` (any depth ≥ 2)."""
    _validate.one_of("parametrization", parametrization, PARAMETRIZATIONS)
    depth = _validate.integer_at_least("depth", depth, 2)
    if parametrization == "PE":
        if depth != 2:
            raise ValueError(
                f"depth={depth} is not allowed for parametrization 'PE': use 'PW' for depth > 2"
            )
        return PE()
    return PW(depth)


def check_model(model) -> Model:
    """Require a parametrization object; a name such as ``"PE"`` is refused with the fix."""
    if not isinstance(model, Model):
        raise _validate.InputTypeError(
            f"model={model!r} is not allowed: pass a parametrization object, PE() or PW(depth) "
            "from dln_theory (alpha then means what it means in simulate)"
        )
    return model


def check_alpha(alpha, d: int) -> None:
    """α must be real, finite, > 0, and a scalar or of shape (d,)."""
    _validate.positive("alpha", alpha)
    _validate.scalar_or_vector("alpha", alpha, d)
