"""Modified vector fields f_h(θ) of backward error analysis (Barrett & Dherin arXiv:2009.11162).

A field is evaluated on an objective (`dln_theory.objective.AbstractObjective`), at parameters θ,
for the step size h of the discrete method it models; `dln_theory.ModifiedFlow` integrates it.
The fields of `modified_losses` (and any user field) subclass `ModifiedField`; `NSAMField` and
`AdamField` evaluate the generated Lie-series results (``generated/lie_fields.py``).
"""

import abc
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _hyper, _tree, _validate
from .._hyper import hyperparameter
from . import generated


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


def _check_order(order):
    if order not in (0, 1):
        raise ValueError(f"order={order!r} is not allowed: the Lie-series fields have orders 0 and 1")


class NSAMField(ModifiedField):
    """Normalized SAM θ ← θ − h∇L(θ + ρ∇L/‖∇L‖) (Foret et al. 2021): θ̇ = −∇L̃ with
    L̃ = L + ρ‖∇L‖ + (h/4)‖∇L‖² (``order=1``, ρ = O(h); derived by the Lie-series engine,
    derivations/adaptive_maps.py, generated ``nsam_modified_loss``), or −∇L (``order=0``).
    The ρ‖∇L‖ term is the drift of Compagnoni et al. arXiv:2301.08203, Sec. 3."""

    rho: jax.Array = hyperparameter(_validate.nonnegative, kw_only=True)
    order: int = eqx.field(static=True, default=1, kw_only=True)

    def __check_init__(self):
        _check_order(self.order)

    def __call__(self, objective, params, h):
        def loss(p):
            if self.order == 0:
                return objective.loss(p)
            return generated.nsam_modified_loss(objective.loss(p), _tree.norm(objective.grad(p)), h, self.rho)

        return _tree.scale(-1.0, jax.grad(loss)(params))


class AdamField(ModifiedField):
    """Adam θ ← θ − h m̂/√(v̂ + ε) (``dln_theory.dynamics.Adam(h, beta1, beta2, eps=0, eps_root=ε)``;
    RMSProp: β₁ = 0) to first order in h with β₁, β₂, ε fixed (Cattaneo, Klusowski & Shigida
    arXiv:2309.00079; our derivation by the Lie-series engine, derivations/adaptive_maps.py):

        θ̇_j = f₀ + h f₁,  f₀ = −g_j/√(g_j² + ε),
        f₁ = −[(β₁/(1 − β₁) − β₂/(1 − β₂)) g_j² + ε(1 + β₁)/(2(1 − β₁))] n_j/(g_j² + ε)^{3/2},

    g = ∇L, n = ∇‖∇L‖_{1,ε}, ‖∇L‖_{1,ε} = Σ_k √(∂_kL² + ε) (generated ``adam_f0``, ``adam_f1``);
    ``order=0`` keeps f₀ only.
    """

    beta1: jax.Array = hyperparameter(_validate.unit_interval, kw_only=True)
    beta2: jax.Array = hyperparameter(_validate.unit_interval, kw_only=True)
    eps_root: jax.Array = hyperparameter(_validate.positive, kw_only=True)
    order: int = eqx.field(static=True, default=1, kw_only=True)

    def __check_init__(self):
        _check_order(self.order)

    def __call__(self, objective, params, h):
        def one_norm(p):
            return sum(jnp.sum(jnp.sqrt(g**2 + self.eps_root)) for g in jax.tree.leaves(objective.grad(p)))

        coefficients = (self.beta1, self.beta2, self.eps_root)
        grad = objective.grad(params)
        if self.order == 0:
            return jax.tree.map(lambda g: generated.adam_f0(g, g, *coefficients), grad)
        n = jax.grad(one_norm)(params)
        return jax.tree.map(lambda g, m: generated.adam_f0(g, m, *coefficients)
                            + h * generated.adam_f1(g, m, *coefficients), grad, n)
