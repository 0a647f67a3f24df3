"""Classification objectives: exponential and logistic losses on a diagonal linear network.

Labels y_i ∈ {−1, +1}, margins m_i = y_i⟨x_i, β(θ)⟩ and L(θ) = (1/n) Σ_i ℓ(m_i) with
ℓ(m) = e^{−m} (exponential; Soudry et al. arXiv:1710.10345, Moroshko et al. arXiv:2007.06738) or
ℓ(m) = log(1 + e^{−m}) (logistic). On separable data L → 0 and the direction of β converges to a
max-margin solution (`dln_theory.theory.margins`); the interesting regime has L far below
float64's smallest normal number (1e-308), where L itself underflows.

So every objective also gives ``log_loss(θ) = log L(θ)`` in log-sum-exp form, exact to a relative
1e-16 at any loss level, and its gradient ∇log L = ∇L/L, the step of normalized GD
(`dln_theory.dynamics.NormalizedGD`). ``loss`` is the plain mean (it underflows to 0 below 1e-308,
as the true value rounds), so every method of `dln_theory.dynamics` runs on these objectives
unchanged.
"""

import abc

import jax
import jax.numpy as jnp

from .models import Model
from .objective import AbstractObjective

LOSSES = ("exponential", "logistic")
"""The classification losses, by the name ``from_data(..., loss=...)`` takes."""

_SWITCH = -30.0
"""Below z = −30, log softplus(z) = z − e^z/2 + O(e^{2z}): the omitted term is < 1e-26 relative."""


def log_softplus(z):
    """log log(1 + e^z), exact for every z (no underflow of log(1 + e^z) at z < −745).

    z ≥ −30: log(softplus(z)); z < −30: z + log1p(−e^z/2 + …) = z − e^z/2 to 1e-26. Each branch is
    evaluated at a clamped z so that neither produces inf or NaN in the gradient of the other.
    """
    low = jnp.minimum(z, _SWITCH)
    high = jnp.maximum(z, _SWITCH)
    return jnp.where(z < _SWITCH, low - 0.5 * jnp.exp(low), jnp.log(jax.nn.softplus(high)))


class ClassificationObjective(AbstractObjective):
    """Abstract: L(θ) = (1/n) Σ_i ℓ(y_i⟨x_i, β(θ)⟩) for a DLN parametrization β(θ), labels ±1.

    Concrete objectives give ``example_loss`` ℓ(f, y) and ``log_example_loss`` log ℓ(f, y).
    """

    model: Model
    X: jax.Array
    y: jax.Array

    @staticmethod
    @abc.abstractmethod
    def log_example_loss(prediction, y):
        """log ℓ(f, y), exact where ℓ underflows."""

    @property
    def data(self):
        return (self.X, self.y)

    def with_data(self, data):
        return type(self)(self.model, *data)

    def with_gram(self):
        """The objective itself: the Gram form ∇L = Kβ − b is a square-loss identity only."""
        return self

    def predict(self, params, X):
        """f(x) = ⟨x, β(θ)⟩ for each row of ``X``."""
        return X @ self.model.beta(params)

    def margins(self, params):
        """m_i = y_i⟨x_i, β(θ)⟩."""
        return self.y * self.predict(params, self.X)

    def loss(self, params):
        return jnp.mean(self.example_loss(self.predict(params, self.X), self.y))

    def log_loss(self, params):
        """log L(θ) = logsumexp_i log ℓ_i − log n, exact at any loss level."""
        logs = self.log_example_loss(self.predict(params, self.X), self.y)
        return jax.nn.logsumexp(logs) - jnp.log(self.n)

    def log_loss_grad(self, params):
        """∇log L(θ) = ∇L/L, exact where L and ∇L underflow."""
        return jax.grad(self.log_loss)(params)


class ExponentialObjective(ClassificationObjective):
    """ℓ(m) = e^{−m}: log L = logsumexp(−m) − log n."""

    @staticmethod
    def example_loss(prediction, y):
        """ℓ(f, y) = exp(−y f)."""
        return jnp.exp(-y * prediction)

    @staticmethod
    def log_example_loss(prediction, y):
        return -y * prediction


class LogisticObjective(ClassificationObjective):
    """ℓ(m) = log(1 + e^{−m}) = softplus(−m); ℓ(m) = e^{−m}(1 + O(e^{−m})) in the margin regime."""

    @staticmethod
    def example_loss(prediction, y):
        """ℓ(f, y) = log(1 + exp(−y f))."""
        return jax.nn.softplus(-y * prediction)

    @staticmethod
    def log_example_loss(prediction, y):
        return log_softplus(-y * prediction)


OBJECTIVES = {"exponential": ExponentialObjective, "logistic": LogisticObjective}
"""The objective class of each loss of `LOSSES`."""


def classification_objective(model: Model, X, y, loss: str) -> ClassificationObjective:
    """The objective of ``loss`` ("exponential" or "logistic") on the data (X, y)."""
    return OBJECTIVES[loss](model, X, y)
