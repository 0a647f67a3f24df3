"""The loss oracle that every method steps on.

``Objective`` holds a model and data. Methods call ``loss``/``grad`` at any point (SAM, GR, F-GR,
B-GR and flooding need other points than the current one), ``subset`` for minibatches,
``with_labels`` for label noise, and ``predict``/``example_loss`` for input-gradient penalties.
A deep-net objective (`dln_theory.deepnet`) implements the same protocol.
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from .models import Model


class Objective(eqx.Module):
    """L(θ) = (1/2n)‖X β(θ) − y‖² for a DLN parametrization β(θ) (science.md §1).

    With the Gram data ``gram = (K, b) = (XᵀX/n, Xᵀy/n)`` (see `with_gram`), gradients use
    g = Kβ − b: O(d²) instead of O(nd) per step, the faster form when n > d. Subsets and other
    labels drop it, so minibatch methods stay exact.
    """

    model: Model
    X: jax.Array
    y: jax.Array
    gram: tuple | None = None

    def with_gram(self) -> "Objective":
        """The same objective with K = XᵀX/n and b = Xᵀy/n precomputed for its gradients."""
        return Objective(self.model, self.X, self.y, (self.X.T @ self.X / self.n, self.X.T @ self.y / self.n))

    @property
    def labels(self):
        return self.y

    @property
    def n(self) -> int:
        return self.X.shape[0]

    def predict(self, params, X):
        """f(x) = ⟨x, β(θ)⟩ for each row of ``X``."""
        return X @ self.model.beta(params)

    @staticmethod
    def example_loss(prediction, y):
        """ℓ(f, y) = ½(f − y)²."""
        return 0.5 * (prediction - y) ** 2

    def loss(self, params):
        return jnp.mean(self.example_loss(self.predict(params, self.X), self.y))

    def value_and_grad(self, params):
        if self.gram is None:
            return jax.value_and_grad(self.loss)(params)
        return self.loss(params), self.grad(params)

    def grad(self, params):
        if self.gram is None:
            return jax.grad(self.loss)(params)
        beta, pullback = jax.vjp(self.model.beta, params)
        K, b = self.gram
        return pullback(K @ beta - b)[0]

    def beta_grad(self, params):
        """g = ∇_β L = Xᵀ(Xβ − y)/n."""
        return self.X.T @ (self.X @ self.model.beta(params) - self.y) / self.n

    @property
    def data(self):
        """The examples, a pytree whose leaves share a leading example axis."""
        return (self.X, self.y)

    def with_data(self, data) -> "Objective":
        """The same objective on other examples ``data`` = (X, y)."""
        return Objective(self.model, *data)

    def subset(self, idx) -> "Objective":
        """The objective on examples ``idx`` (a minibatch, averaged over its size)."""
        return self.with_data(jax.tree.map(lambda a: a[idx], self.data))

    def with_labels(self, y) -> "Objective":
        """The same inputs with other labels (label noise)."""
        return Objective(self.model, self.X, y)
