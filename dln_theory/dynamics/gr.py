"""Gradient regularization: exact (double backprop) and finite-difference forms.

Karakida, Takase, Hayase, Osawa, arXiv:2210.02720 (docs/conventions.md §4). Objective L + (γ/2)‖∇L‖²,
whose gradient is ∇L + γH∇L.
"""

import equinox as eqx
import jax

from .. import _tree, _validate
from .._hyper import hyperparameter
from ..theory.modified_losses import gr_objective
from ._base import perturbed_grad
from ._gradient import GradientMethod


class GR(GradientMethod):
    """Explicit GR: D = ∇[L + (γ/2)‖∇L‖²] by double backpropagation (a Hessian-vector product).

    ``per_example=True`` regularizes (γ/2n)Σ_i‖∇ℓ_i‖² instead (the per-example variant).
    """

    gamma: jax.Array = hyperparameter(_validate.nonnegative, kw_only=True)
    per_example: bool = eqx.field(static=True, default=False, kw_only=True)

    def direction(self, params, objective, key):
        return jax.grad(lambda p: gr_objective(objective, p, self.gamma, self.per_example))(params)


class _FiniteDifferenceGR(GradientMethod):
    """Abstract: GR by a gradient at θ ± ε∇L (ascent along ∇L/‖∇L‖ with ``normalize``)."""

    gamma: jax.Array = hyperparameter(_validate.nonnegative, kw_only=True)
    eps: jax.Array = hyperparameter(_validate.positive, kw_only=True)
    normalize: bool = eqx.field(static=True, default=False, kw_only=True)

    def _ascent(self, g):
        return _tree.normalized(g) if self.normalize else g


class FGR(_FiniteDifferenceGR):
    """Forward-difference GR (Karakida et al. Algorithm 1, ascent first):
    D = (1 − γ/ε)∇L(θ) + (γ/ε)∇L(θ + ε∇L(θ)).

    ``normalize=True`` ascends along ∇L/‖∇L‖. With γ = ε = ρ this is unnormalized SAM.
    """

    def direction(self, params, objective, key):
        g = objective.grad(params)
        g_plus = perturbed_grad(objective, params, self._ascent(g), self.eps)
        r = self.gamma / self.eps
        return _tree.axpy(1.0 - r, g, _tree.scale(r, g_plus))


class BGR(_FiniteDifferenceGR):
    """Backward-difference GR: D = (1 + γ/ε)∇L(θ) − (γ/ε)∇L(θ − ε∇L(θ)) (docs/conventions.md §4)."""

    def direction(self, params, objective, key):
        g = objective.grad(params)
        g_minus = perturbed_grad(objective, params, self._ascent(g), -self.eps)
        r = self.gamma / self.eps
        return _tree.axpy(1.0 + r, g, _tree.scale(-r, g_minus))
