"""Input-gradient (Jacobian) regularizers of Varga, Csiszárik, Zombori, arXiv:1712.09936.

Gradients are taken with respect to the input x, not θ (docs/conventions.md §4). On the DLN, f(x) = ⟨x, β⟩,
so DataGrad's penalty is λ·mean_i (f(x_i) − y_i)²‖β‖² and SpectReg's is λ(rᵀ…)² ‖β‖².
"""

from typing import ClassVar

import jax
import jax.numpy as jnp

from .. import _validate
from .._hyper import hyperparameter
from ._gradient import GradientMethod


def _input_grad_norm2(fn, X, *rest):
    """mean_i ‖∂fn(x_i, …)/∂x_i‖² for a scalar function of one example."""
    grads = jax.vmap(jax.grad(fn))(X, *rest)
    return jnp.mean(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1))


class DataGrad(GradientMethod):
    """D = ∇_θ[L + λ·mean_i ‖∂ℓ(f(x_i), y_i)/∂x_i‖²] (DataGrad, Varga et al. eq. 3)."""

    lam: jax.Array = hyperparameter(_validate.nonnegative, kw_only=True)

    def direction(self, params, objective, key):
        X, y = objective.data[0], objective.labels

        def regularized(p):
            per_example = lambda x, yi: objective.example_loss(objective.predict(p, x[None])[0], yi)  # noqa: E731
            return objective.loss(p) + self.lam * _input_grad_norm2(per_example, X, y)

        return jax.grad(regularized)(params)


class SpectReg(GradientMethod):
    """D = ∇_θ[L + λ·mean_i ‖∂(rᵀf(x_i))/∂x_i‖²], r ~ N(0, I) fresh each step (Varga et al. §3).

    E‖∂(rᵀf)/∂x‖² = ‖J_f‖_F², with one backward pass instead of one per output.
    """

    lam: jax.Array = hyperparameter(_validate.nonnegative, kw_only=True)

    random_direction: ClassVar[bool] = True

    def direction(self, params, objective, key):
        X = objective.data[0]
        r = jax.random.normal(key, jnp.shape(objective.predict(params, X[:1]))[1:])

        def regularized(p):
            projected = lambda x: jnp.sum(r * objective.predict(p, x[None])[0])  # noqa: E731
            return objective.loss(p) + self.lam * _input_grad_norm2(projected, X)

        return jax.grad(regularized)(params)
