"""The one interface every method implements (style.md: equinox/diffrax-style frozen modules).

A method is a frozen ``eqx.Module`` whose numeric hyper-parameters (η, γ, ε, ρ, b, λ, μ) are
float64 array leaves, each declared once with `dln_theory._hyper.hyperparameter` (its constraint
is field metadata), so that one compiled function serves a whole grid; structural choices (batch
size, normalization, group size, solver) are static fields. Abstract classes (`Method`,
`DiscreteMethod`, `GradientMethod`, `AbstractFlow`) declare what a family shares; the concrete
methods are final.

    state = method.init(params, objective)
    params, state, aux = method.step(params, state, objective, key)

The state is typed per family (`GradientState` for the discrete methods, None for the flows).
``aux["dt"]`` is the time the step advances (η for a discrete step, t = k·η; docs/conventions.md §1).
The objective is a `dln_theory.objective.AbstractObjective` (a loss oracle), so methods can
evaluate it anywhere and on any examples.
"""

import abc
from collections.abc import Callable

import equinox as eqx
import jax

from .. import _hyper, _validate
from .._hyper import hyperparameter


class Method(eqx.Module):
    """Abstract base of every method: a step size η and the ``init``/``step`` interface."""

    eta: jax.Array = hyperparameter(_validate.positive)

    def __check_init__(self):
        _hyper.check(self)

    @classmethod
    def hyperparameters(cls) -> dict[str, Callable]:
        """{name: constraint(name, value)} of the numeric hyper-parameters: the float64 array leaves
        a sweep may vary (its grid axes), each with the check it must pass."""
        return _hyper.declared(cls)

    @property
    @abc.abstractmethod
    def stochastic(self) -> bool:
        """Whether a step uses its key (minibatches, label noise, random projections)."""

    @abc.abstractmethod
    def check_objective(self, objective) -> None:
        """Checks that need the data (e.g. batch size ≤ n); run before compilation."""

    @abc.abstractmethod
    def init(self, params, objective):
        """The method's state before the first step."""

    @abc.abstractmethod
    def step(self, params, state, objective, key):
        """(params, state, aux) after one step from ``params`` on ``objective``."""


def perturbed_grad(objective, params, direction, eps):
    """∇L(θ + ε·d): the gradient at a perturbed point, shared by SAM, F-GR and B-GR."""
    shifted = jax.tree.map(lambda p, g: p + eps * g, params, direction)
    return objective.grad(shifted)


class DiscreteMethod(Method):
    """Abstract: a method of discrete steps θ_{k+1} = θ_k − η_k·U_k, with the options every such
    method shares: weight decay λ (added to the gradient), minibatches of ``batch_size``
    examples (None: the full batch) and a step-size ``schedule`` k ↦ η_k/η."""

    weight_decay: jax.Array | None = hyperparameter(_validate.nonnegative, default=None, kw_only=True)
    batch_size: int | None = eqx.field(static=True, default=None, kw_only=True)
    schedule: Callable | None = eqx.field(static=True, default=None, kw_only=True)

    def __check_init__(self):
        if self.batch_size is not None:
            _validate.integer_at_least("batch_size", self.batch_size, 1)

    def check_objective(self, objective):
        if self.batch_size is not None and self.batch_size > objective.n:
            raise ValueError(
                f"batch_size={self.batch_size} is not allowed: it must be <= the number of examples n={objective.n}"
            )
