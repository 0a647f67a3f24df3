"""Normalized gradient descent and gradient flow in log-time: the margin regime in few steps.

On separable classification data gradient flow drives L(θ) → 0 while ∇L shrinks with it, so a
constant step needs exponentially many steps to reach L = 1e-50. Dividing the step by L keeps the
*path* and changes only its clock: θ̇ = −∇L/L = −∇log L is gradient flow reparametrized by
dτ = L dt (Nacson et al. arXiv:1803.01905, "aggressive step sizes" η_k = η/L(θ_k)). Steps use
``objective.log_loss`` where the objective has one (`dln_theory.classification`: exact when L
underflows), else log of ``objective.loss``.
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _tree, _validate
from ._gradient import GradientMethod
from .flow import AbstractFlow

NORMALIZATIONS = ("loss", "grad")


def log_loss_grad(objective, params):
    """∇log L(θ) = ∇L/L, through ``objective.log_loss`` when the objective defines it."""
    log_loss = getattr(objective, "log_loss", None)
    if log_loss is None:
        return jax.grad(lambda p: jnp.log(objective.loss(p)))(params)
    return jax.grad(log_loss)(params)


class NormalizedGD(GradientMethod):
    """Normalized GD: θ ← θ − η∇L/L = θ − η∇log L (``normalize="loss"``, the step η_k = η/L(θ_k)
    of Nacson et al. arXiv:1803.01905 §4), or θ ← θ − η∇L/‖∇L‖ (``normalize="grad"``).

    Both are computed from ∇log L, whose direction is that of ∇L, so neither underflows at losses
    below 1e-308. ``aux["dt"]`` is η: the run's time is τ = Σ_k η, the log-time clock dτ = L dt of
    gradient flow for ``normalize="loss"``. Options of `GradientMethod` apply.
    """

    normalize: str = eqx.field(static=True, default="loss", kw_only=True)

    def __check_init__(self):
        _validate.one_of("normalize", self.normalize, NORMALIZATIONS)

    def direction(self, params, objective, key):
        g = log_loss_grad(objective, params)
        return g if self.normalize == "loss" else _tree.normalized(g)


class NormalizedFlow(AbstractFlow):
    """Gradient flow in log-time, θ̇ = −∇log L(θ) = −∇L/L: the path of `GradientFlow` on the clock
    dτ = L dt (``eta`` is the τ advanced per step), the η → 0 limit of `NormalizedGD`."""

    def velocity(self, objective, params):
        return _tree.scale(-1.0, log_loss_grad(objective, params))
