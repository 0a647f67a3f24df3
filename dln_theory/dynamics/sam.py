"""Sharpness-aware minimization (Foret et al. 2021; Andriushchenko & Flammarion arXiv:2206.06232)."""

import equinox as eqx
import jax

from .. import _tree, _validate
from .._hyper import hyperparameter
from ._base import perturbed_grad
from ._gradient import GradientMethod


class SAM(GradientMethod):
    """SAM: D = ∇L(θ + ρ∇L/‖∇L‖) (``normalize=True``) or ∇L(θ + ρ∇L) (unnormalized).

    ``group_size=None`` is n-SAM (one ascent on the whole batch); ``group_size=m`` is m-SAM: the
    batch is cut into consecutive groups of m examples, each group ascends on its own loss and the
    gradients at the perturbed points are averaged (m = 1: 1-SAM), vectorized over the groups.
    """

    rho: jax.Array = hyperparameter(_validate.nonnegative, kw_only=True)
    normalize: bool = eqx.field(static=True, default=True, kw_only=True)
    group_size: int | None = eqx.field(static=True, default=None, kw_only=True)

    def __check_init__(self):
        if self.group_size is not None:
            _validate.integer_at_least("group_size", self.group_size, 1)

    def check_objective(self, objective):
        super().check_objective(objective)
        n = objective.n if self.batch_size is None else self.batch_size
        if self.group_size is not None and n % self.group_size:
            raise ValueError(
                f"group_size={self.group_size} is not allowed: it must divide the batch of {n} examples"
            )

    def _ascent_grad(self, params, objective):
        g = objective.grad(params)
        direction = _tree.normalized(g) if self.normalize else g
        return perturbed_grad(objective, params, direction, self.rho)

    def direction(self, params, objective, key):
        if self.group_size is None:
            return self._ascent_grad(params, objective)
        groups = objective.n // self.group_size
        data = jax.tree.map(lambda a: a.reshape((groups, self.group_size) + a.shape[1:]), objective.data)
        grads = jax.vmap(lambda part: self._ascent_grad(params, objective.with_data(part)))(data)
        return jax.tree.map(lambda a: a.mean(axis=0), grads)
