"""Flooding (Ishida et al. 2020, arXiv:2002.08709)."""

import jax
import jax.numpy as jnp

from .. import _tree, _validate
from .._hyper import hyperparameter
from ._gradient import GradientMethod


class Flooding(GradientMethod):
    """θ ← θ − η·sign(L − b)∇L: descend above the flood level b, ascend below it.

    An ascent step followed by a descent step is a forward-difference GR step with ε = η up to
    O(η³) (docs/conventions.md §4, derived).
    """

    b: jax.Array = hyperparameter(_validate.nonnegative, kw_only=True)

    def direction(self, params, objective, key):
        loss, g = objective.value_and_grad(params)
        return _tree.scale(jnp.sign(loss - self.b), g)
