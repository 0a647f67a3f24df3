"""The one interface every method implements (style.md: equinox/diffrax-style frozen modules).

A method is a frozen ``eqx.Module`` whose numeric hyper-parameters (η, γ, ε, ρ, b, momentum) are
float64 array leaves, so that one compiled function serves a whole grid, and whose structural
choices (batch size, normalization, group size) are static fields.

    state = method.init(params, objective)
    params, state, aux = method.step(params, state, objective, key)

``aux["dt"]`` is the time the step advances (η for a discrete step, t = k·η; science.md §1).
The objective is a loss oracle (``loss``, ``grad``, ``value_and_grad``, ``data``, ``with_data``,
``subset``, ``with_labels``, ``n``), so methods can evaluate it anywhere and on any examples.
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _validate


def hyperparameter(**kwargs):
    """A numeric hyper-parameter: a float64 array leaf (sweepable under vmap)."""
    return eqx.field(converter=_as_float, **kwargs)


def _as_float(x):
    return None if x is None else jnp.asarray(x, dtype=float)


class Method(eqx.Module):
    """Base class: subclasses declare ``constraints`` {field: check} and implement ``step``."""

    eta: jax.Array = hyperparameter()

    constraints: ClassVar[dict] = {"eta": _validate.positive}

    def __check_init__(self):
        for name, check in self.constraints.items():
            if getattr(self, name) is not None:
                check(name, getattr(self, name))

    @classmethod
    def hyperparameters(cls) -> tuple[str, ...]:
        """Names of the sweepable numeric fields."""
        return tuple(cls.constraints)

    @property
    def stochastic(self) -> bool:
        """Whether a step uses its key (minibatches, label noise, random projections)."""
        return False

    def check_objective(self, objective) -> None:
        """Checks that need the data (e.g. batch size ≤ n); run before compilation."""

    def init(self, params, objective):
        return ()

    def step(self, params, state, objective, key):
        raise NotImplementedError


def perturbed_grad(objective, params, direction, eps):
    """∇L(θ + ε·d): the gradient at a perturbed point, shared by SAM, F-GR and B-GR."""
    shifted = jax.tree.map(lambda p, g: p + eps * g, params, direction)
    return objective.grad(shifted)
