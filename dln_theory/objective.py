"""The loss oracle that every method steps on.

`AbstractObjective` writes the oracle once: ``grad``, ``value_and_grad``, ``subset`` (minibatches)
and ``with_labels`` (label noise) from four model-specific pieces, ``loss``, ``predict``,
``example_loss`` and ``data``/``with_data``. Methods call ``loss``/``grad`` at any point (SAM, GR,
F-GR, B-GR and flooding need other points than the current one) and ``predict``/``example_loss``
for input-gradient penalties. Two final objectives implement it: `Objective` (a diagonal linear
network on a regression problem) and `dln_theory.deepnet.NetObjective` (a classification network).
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp

from .models import Model


class AbstractObjective(eqx.Module):
    """L(θ) = (1/n) Σ_i ℓ(f_θ(x_i), y_i) over the examples ``data`` = (inputs, labels)."""

    @property
    @abc.abstractmethod
    def data(self) -> tuple:
        """The examples (inputs, labels), leaves sharing a leading example axis."""

    @abc.abstractmethod
    def with_data(self, data) -> "AbstractObjective":
        """The same objective on other examples ``data`` = (inputs, labels)."""

    @abc.abstractmethod
    def predict(self, params, X):
        """f_θ(x) for each row of ``X``."""

    @staticmethod
    @abc.abstractmethod
    def example_loss(prediction, y):
        """ℓ(f, y) of one example (or of a batch, along leading axes)."""

    @abc.abstractmethod
    def loss(self, params):
        """L(θ), the mean of ``example_loss`` over the examples."""

    @property
    def labels(self):
        return self.data[1]

    @property
    def n(self) -> int:
        """Number of examples."""
        return self.data[1].shape[0]

    def value_and_grad(self, params):
        """(L(θ), ∇L(θ))."""
        return jax.value_and_grad(self.loss)(params)

    def grad(self, params):
        """∇L(θ)."""
        return jax.grad(self.loss)(params)

    def subset(self, idx) -> "AbstractObjective":
        """The objective on examples ``idx`` (a minibatch, averaged over its size)."""
        return self.with_data(jax.tree.map(lambda a: a[idx], self.data))

    def with_labels(self, y) -> "AbstractObjective":
        """The same inputs with other labels (label noise)."""
        return self.with_data((self.data[0], y))


class Objective(AbstractObjective):
    """L(θ) = (1/2n)‖X β(θ) − y‖² for a DLN parametrization β(θ) (docs/conventions.md §1).

    With the Gram data ``gram = (K, b) = (XᵀX/n, Xᵀy/n)`` (see `with_gram`), derivatives use
    ∇_β L = Kβ − b: O(d²) instead of O(nd) per gradient, the faster form when n > d. Other
    examples and labels drop it, so minibatch methods stay exact.
    """

    model: Model
    X: jax.Array
    y: jax.Array
    gram: tuple | None = None

    def with_gram(self) -> "Objective":
        """The same objective with K = XᵀX/n and b = Xᵀy/n precomputed for its gradients."""
        return Objective(self.model, self.X, self.y, (self.X.T @ self.X / self.n, self.X.T @ self.y / self.n))

    @property
    def data(self):
        return (self.X, self.y)

    def with_data(self, data) -> "Objective":
        return Objective(self.model, *data)

    def predict(self, params, X):
        """f(x) = ⟨x, β(θ)⟩ for each row of ``X``."""
        return X @ self.model.beta(params)

    @staticmethod
    def example_loss(prediction, y):
        """ℓ(f, y) = ½(f − y)²."""
        return 0.5 * (prediction - y) ** 2

    def loss(self, params):
        return self.beta_loss(self.model.beta(params))

    def beta_loss(self, beta):
        """L as a function of β = β(θ)."""
        if self.gram is None:
            return jnp.mean(self.example_loss(self.X @ beta, self.y))
        return _gram_loss(beta, self.X, self.y, *self.gram)

    def grad(self, params):
        """∇L(θ) = (∂β/∂θ)ᵀ ∇_β L, through the model's ``beta_vjp`` where it has one (P-E; see
        `_grad`), else by autodiff."""
        if not hasattr(self.model, "beta_vjp"):
            return super().grad(params)
        return _grad(self, params)

    def beta_grad(self, params):
        """g = ∇_β L = Xᵀ(Xβ − y)/n."""
        return self.X.T @ (self.X @ self.model.beta(params) - self.y) / self.n


@jax.custom_jvp
def _gram_loss(beta, X, y, K, b):
    """(1/2n)‖Xβ − y‖², differentiated in β through ∇_β L = Kβ − b (data held fixed)."""
    return jnp.mean(0.5 * (X @ beta - y) ** 2)


@_gram_loss.defjvp
def _gram_loss_jvp(primals, tangents):
    beta, X, y, K, b = primals
    return _gram_loss(*primals), jnp.dot(K @ beta - b, tangents[0])


@jax.custom_jvp
def _grad(objective, params):
    """∇L(θ) by autodiff in β and the model's ``beta_vjp`` in θ: the values of ``jax.grad`` (up to
    the sign of a zero) in about a quarter of the time under ``vmap`` on the CPU. Differentiated
    (GR's double backpropagation, Hessian-vector products) through ``jax.grad`` itself, so that
    second derivatives are those of autodiff bit for bit."""
    return objective.model.beta_vjp(params, jax.grad(objective.beta_loss)(objective.model.beta(params)))


@_grad.defjvp
def _grad_jvp(primals, tangents):
    return jax.jvp(lambda objective, params: jax.grad(objective.loss)(params), primals, tangents)
