"""The loss oracle that every method steps on.

``Objective`` holds a model and data; methods call ``loss``/``grad`` at any point (SAM, GR, F-GR,
B-GR and flooding need other points than the current one) and ``subset`` for minibatches.
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from .models import Model


class Objective(eqx.Module):
    """L(θ) = (1/2n)‖X β(θ) − y‖² for a DLN parametrization β(θ) (science.md §1)."""

    model: Model
    X: jax.Array
    y: jax.Array

    @property
    def n(self) -> int:
        return self.X.shape[0]

    def loss(self, params):
        r = self.X @ self.model.beta(params) - self.y
        return 0.5 * jnp.mean(r**2)

    def value_and_grad(self, params):
        return jax.value_and_grad(self.loss)(params)

    def grad(self, params):
        return jax.grad(self.loss)(params)

    def beta_grad(self, params):
        """g = ∇_β L = Xᵀ(Xβ − y)/n."""
        return self.X.T @ (self.X @ self.model.beta(params) - self.y) / self.n

    def subset(self, idx) -> "Objective":
        """The objective on examples ``idx`` (a minibatch, averaged over its size)."""
        return Objective(self.model, self.X[idx], self.y[idx])

    def with_labels(self, y) -> "Objective":
        """The same inputs with other labels (label noise)."""
        return Objective(self.model, self.X, y)
