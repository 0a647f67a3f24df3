"""Gradient descent."""

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp

from .. import _tree
from ._base import Method


class GD(Method):
    """Gradient descent θ_{k+1} = θ_k − η_k ∇L(θ_k), with η_k = η·schedule(k) when a schedule is given.

    Args:
        eta: step size η (t = k·η, science.md §1).
        schedule: optional static function k ↦ multiplier of η (jax-traceable in k).
    """

    schedule: Callable | None = eqx.field(static=True, default=None)

    def init(self, params):
        return jnp.zeros((), dtype=int)

    def step(self, params, k, objective, key):
        eta = self.eta if self.schedule is None else self.eta * self.schedule(k)
        g = objective.grad(params)
        return _tree.axpy(-eta, g, params), k + 1, {"dt": eta}
