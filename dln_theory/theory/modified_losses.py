"""First-order modified losses and fields of backward error analysis (science.md §5).

Registered against the derivations that prove them (`derivations`, "gd" and "heavy_ball").
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _tree
from ..dynamics.flow import LossField, ModifiedField
from ..dynamics._base import hyperparameter


def gd_modified_loss(objective, params, h):
    """Ẽ = E + (h/4)‖∇E‖²: GD with step h follows its gradient flow to O(h²) at fixed time.

    Barrett & Dherin, arXiv:2009.11162, Theorem 3.1 (implicit gradient regularization).
    """
    g = objective.grad(params)
    return objective.loss(params) + 0.25 * h * _tree.vdot(g, g)


def gd_field(order: int = 1) -> ModifiedField:
    """The modified field of GD truncated after the h^order term (order 0 is the plain flow)."""
    if order == 0:
        return LossField(lambda objective, params, h: objective.loss(params))
    if order == 1:
        return LossField(gd_modified_loss)
    raise ValueError(f"order={order} is not allowed here: orders 0 and 1 are hand-written")


class SGDField(ModifiedField):
    """Random-reshuffling SGD, m = ⌊n/B⌋ batches per epoch: C̃ = C + (h/4m)Σ_k‖∇Ĉ_k‖².

    Smith, Dherin, Barrett, De, arXiv:2101.12176 (mean iterate over orderings); batches are the
    consecutive groups of ``batch_size`` examples.
    """

    batch_size: int = eqx.field(static=True)

    def __call__(self, objective, params, h):
        m = objective.n // self.batch_size
        data = jax.tree.map(lambda a: a[: m * self.batch_size].reshape((m, self.batch_size) + a.shape[1:]),
                            objective.data)

        def modified(p):
            grads = jax.vmap(lambda part: objective.with_data(part).grad(p))(data)
            penalty = jnp.sum(jax.vmap(lambda g: _tree.vdot(g, g))(grads))
            return objective.loss(p) + h / (4 * m) * penalty

        return _tree.scale(-1.0, jax.grad(modified)(params))


class HeavyBallField(ModifiedField):
    """θ̇ = −(1/(1−β)) ∇[L + h(1+β)/(4(1−β)²)‖∇L‖²] for heavy ball with momentum β.

    Ghosh et al., arXiv:2302.00849 (science.md §5, derived).
    """

    momentum: jax.Array = hyperparameter()

    def __call__(self, objective, params, h):
        b = self.momentum

        def modified(p):
            g = objective.grad(p)
            return objective.loss(p) + h * (1 + b) / (4 * (1 - b) ** 2) * _tree.vdot(g, g)

        return _tree.scale(-1.0 / (1.0 - b), jax.grad(modified)(params))
