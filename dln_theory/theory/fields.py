"""Modified vector fields f_h(θ) of backward error analysis (Barrett & Dherin arXiv:2009.11162).

A field is evaluated on an objective (`dln_theory.objective.AbstractObjective`), at parameters θ,
for the step size h of the discrete method it models; `dln_theory.ModifiedFlow` integrates it.
The fields of `modified_losses` (and any user field) subclass `ModifiedField`.
"""

import abc
from collections.abc import Callable

import equinox as eqx
import jax

from .. import _hyper, _tree


class ModifiedField(eqx.Module):
    """A modified vector field f_h(θ); subclasses hold their coefficients as array leaves, so that
    a sweep can vary them (``field.gamma`` etc.), declared with `dln_theory._hyper.hyperparameter`
    and checked when the field is built."""

    def __check_init__(self):
        _hyper.check(self)

    @classmethod
    def hyperparameters(cls) -> dict[str, Callable]:
        """{name: constraint(name, value)} of the numeric coefficients."""
        return _hyper.declared(cls)

    @abc.abstractmethod
    def __call__(self, objective, params, h):
        """f_h(θ) on ``objective``."""


class LossField(ModifiedField):
    """θ̇ = −∇L̃_h(θ) for a modified loss ``modified_loss(objective, params, h)``."""

    modified_loss: Callable = eqx.field(static=True)

    def __call__(self, objective, params, h):
        return _tree.scale(-1.0, jax.grad(lambda p: self.modified_loss(objective, p, h))(params))
