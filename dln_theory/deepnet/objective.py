"""`dln_theory.objective.AbstractObjective` for a classification network.

A network (an equinox module) is split by ``eqx.partition`` into its trainable arrays, the
*params* pytree that every method updates, and the rest (the structure), which the objective
holds. The loss is the mean cross-entropy of the logits, so that the simulator's method classes
(`dln_theory.GD`, `SGD`, `GR`, `FGR`, `BGR`, `SAM`, `Flooding`, `DataGrad`, `SpectReg`, …) step on
a network exactly as they step on a diagonal linear network:

    objective, params = NetObjective.create(network, x_train, y_train)
    params, state, aux = method.step(params, method.init(params, objective), objective, key)
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _validate
from ..objective import AbstractObjective


class NetObjective(AbstractObjective):
    """L(θ) = (1/n) Σ_i ℓ(f_θ(x_i), y_i), ℓ the cross-entropy of the logits f_θ(x_i).

    Attributes:
        structure: the network with its trainable arrays replaced by None (static structure).
        x: inputs, leading example axis (images (n, H, W, C) or features (n, D)).
        y: int labels in [0, num_classes).
    """

    structure: eqx.Module
    x: jax.Array
    y: jax.Array

    @classmethod
    def create(cls, network: eqx.Module, x, y) -> tuple["NetObjective", object]:
        """(objective, params): the network's inexact arrays become the params pytree.

        Raises:
            ValueError: x and y disagree in length, or y is not an integer vector.
        """
        x, y = jnp.asarray(x), jnp.asarray(y)
        if y.ndim != 1 or not jnp.issubdtype(y.dtype, jnp.integer):
            raise ValueError(f"y of shape {y.shape} and dtype {y.dtype} is not allowed: "
                             f"labels must be a 1-D integer array")
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x has {x.shape[0]} examples but y has {y.shape[0]}: they must match")
        _validate.integer_at_least("number of examples", int(y.shape[0]), 1)
        params, structure = eqx.partition(network, eqx.is_inexact_array)
        return cls(structure, x, y), params

    def network(self, params) -> eqx.Module:
        """The network with weights ``params``."""
        return eqx.combine(params, self.structure)

    def predict(self, params, X):
        """Logits f_θ(X), shape (N, num_classes); X is cast to the dtype of the weights."""
        leaves = jax.tree.leaves(params)
        dtype = leaves[0].dtype if leaves else X.dtype
        return self.network(params)(jnp.asarray(X, dtype=dtype))

    @staticmethod
    def example_loss(prediction, y):
        """ℓ(f, y) = logsumexp(f) − f_y, for one logit vector or a batch (leading axes)."""
        picked = jnp.take_along_axis(prediction, jnp.asarray(y)[..., None], axis=-1)[..., 0]
        return jax.nn.logsumexp(prediction, axis=-1) - picked

    def loss(self, params):
        return jnp.mean(self.example_loss(self.predict(params, self.x), self.y))

    def accuracy(self, params):
        """Fraction of examples whose largest logit is the label."""
        return jnp.mean(jnp.argmax(self.predict(params, self.x), axis=-1) == self.y)

    @property
    def data(self):
        """The examples (x, y), sharing a leading example axis."""
        return (self.x, self.y)

    def with_data(self, data) -> "NetObjective":
        """The same network on other examples ``data`` = (x, y)."""
        return eqx.tree_at(lambda o: (o.x, o.y), self, tuple(data))
