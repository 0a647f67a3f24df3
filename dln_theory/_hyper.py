"""One declaration per numeric hyper-parameter: a float64 array leaf whose constraint is field metadata.

    gamma: jax.Array = hyperparameter(_validate.nonnegative, kw_only=True)

A field declared this way is converted to a float64 array (so that one compiled function serves a
whole grid under vmap) and checked by its constraint when the module is built. `declared` reads the
list back: validation (`check`), sweeps (the grid axes a method accepts) and caches read this one
list, so a hyper-parameter is never named a second time. Methods (`dln_theory.dynamics`) and
modified fields (`dln_theory.theory`) declare their η, γ, ε, ρ, b, λ, μ this way.
"""

import dataclasses
from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp

_CONSTRAINT = "hyperparameter_constraint"


def hyperparameter(constraint: Callable, **kwargs):
    """A numeric hyper-parameter field: float64 array leaf (or None), checked by ``constraint(name, value)``."""
    return eqx.field(converter=_as_float, metadata={_CONSTRAINT: constraint}, **kwargs)


def _as_float(x):
    return None if x is None else jnp.asarray(x, dtype=float)


def declared(cls) -> dict[str, Callable]:
    """{name: constraint} of the hyper-parameter fields of the module class ``cls``, in field order."""
    return {f.name: f.metadata[_CONSTRAINT] for f in dataclasses.fields(cls) if _CONSTRAINT in f.metadata}


def check(module) -> None:
    """Apply each declared constraint to the module's value (None means "not used" and is skipped)."""
    for name, constraint in declared(type(module)).items():
        value = getattr(module, name)
        if value is not None:
            constraint(name, value)
