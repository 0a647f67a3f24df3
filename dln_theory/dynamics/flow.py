"""Gradient flow and modified flows, integrated by diffrax with the time convention t = k·η.

One ``step`` integrates the flow over a time η, so a GD run and a flow run with the same η and
number of steps are compared at equal times (docs/conventions.md §1, §5). Flows have no state (None).
"""

import abc

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _tree, _validate
from .._hyper import hyperparameter
from ..theory.fields import ModifiedField
from ._base import Method


class AbstractFlow(Method):
    """Abstract: an ODE θ̇ = velocity(θ) advanced by an adaptive diffrax solver over [0, η] per step."""

    rtol: float = eqx.field(static=True, default=1e-10, kw_only=True)
    atol: float = eqx.field(static=True, default=1e-12, kw_only=True)
    solver: diffrax.AbstractSolver = eqx.field(static=True, default=diffrax.Dopri8(), kw_only=True)
    max_steps: int = eqx.field(static=True, default=65536, kw_only=True)

    @abc.abstractmethod
    def velocity(self, objective, params):
        """θ̇ at ``params``."""

    @property
    def stochastic(self) -> bool:
        return False

    def check_objective(self, objective) -> None:
        """A flow accepts any objective."""

    def init(self, params, objective) -> None:
        return None

    def step(self, params, state, objective, key):
        term = diffrax.ODETerm(lambda t, y, args: self.velocity(objective, y))
        sol = diffrax.diffeqsolve(
            term,
            self.solver,
            t0=0.0,
            t1=self.eta,
            dt0=None,
            y0=params,
            stepsize_controller=diffrax.PIDController(rtol=self.rtol, atol=self.atol),
            saveat=diffrax.SaveAt(t1=True),
            max_steps=self.max_steps,
            throw=False,
        )
        end = jax.tree.map(lambda a: a[-1], sol.ys)
        failed = jax.tree.map(lambda a: jnp.full_like(a, jnp.nan), end)
        ok = sol.result == diffrax.RESULTS.successful
        return _tree.select(ok, end, failed), state, {"dt": self.eta}


class GradientFlow(AbstractFlow):
    """Gradient flow θ̇ = −∇L(θ); ``eta`` is the time advanced per step (t = k·η)."""

    def velocity(self, objective, params):
        return _tree.scale(-1.0, objective.grad(params))


class ModifiedFlow(AbstractFlow):
    """Flow θ̇ = field(objective, θ, h) of a modified equation (Barrett & Dherin arXiv:2009.11162).

    Args:
        eta: time advanced per step.
        field: a `dln_theory.theory.fields.ModifiedField` (its numeric coefficients are sweepable
            leaves, as ``field.gamma`` etc.).
        h: the step size of the discrete method being modelled (defaults to ``eta``).
    """

    field: ModifiedField = eqx.field(kw_only=True)
    h: jax.Array | None = hyperparameter(_validate.nonnegative, default=None, kw_only=True)

    def velocity(self, objective, params):
        return self.field(objective, params, self.eta if self.h is None else self.h)
