"""Shared update rule of the discrete methods: minibatches, momentum, weight decay, schedule.

Each method supplies a *direction* D(θ) (∇L for GD, ∇L + γH∇L for GR, …); the update is

    v ← μ·v − η_k·(D(θ + μ·v·[Nesterov]) + λ·θ),   θ ← θ + v,

with η_k = η·schedule(k). Without momentum (μ = None) and weight decay (λ = None) this is
θ ← θ − η·D(θ); μ = 0 and λ = 0 give the same iterates bit for bit.
Minibatches of ``batch_size`` examples are drawn by random reshuffling (a fresh permutation each
epoch of ⌊n/B⌋ batches; the remainder is dropped); `dln_theory.SGD` also draws them uniformly with
replacement and adds label noise (`Minibatches`).
"""

import abc
from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _tree, _validate
from .._hyper import hyperparameter
from ._base import DiscreteMethod


class GradientState(NamedTuple):
    """State of a discrete method.

    Attributes:
        k: steps taken (drives the schedule and the position in the epoch).
        perm: the epoch's order of the examples under random reshuffling, else None.
        velocity: v of the momentum update (a pytree like the parameters), else None.
    """

    k: jax.Array
    perm: jax.Array | None
    velocity: object | None


class Minibatches(eqx.Module):
    """Batches of ``batch_size`` examples and the labels a step sees.

    Random reshuffling (a fresh permutation at the start of each epoch of ⌊n/B⌋ batches, the
    remainder dropped) or, with ``replacement``, B examples uniformly with replacement; with
    ``label_noise`` σ, N(0, σ²) is added to the batch's labels (Pesme et al. arXiv:2106.09524 §5).
    """

    batch_size: int = eqx.field(static=True)
    replacement: bool = eqx.field(static=True, default=False)
    label_noise: jax.Array | None = None

    def init(self, n: int):
        """The permutation that random reshuffling starts from (None with replacement)."""
        return None if self.replacement else jnp.arange(n)

    def draw(self, perm, k, objective, key_perm, key_batch):
        """(perm, batch objective) of step ``k``."""
        B = self.batch_size
        k_index, k_noise = jax.random.split(key_batch)
        if self.replacement:
            idx = jax.random.randint(k_index, (B,), 0, objective.n)
        else:
            position = k % (objective.n // B)
            perm = jax.lax.cond(position == 0, lambda: jax.random.permutation(key_perm, objective.n),
                                lambda: perm)
            idx = jax.lax.dynamic_slice(perm, (position * B,), (B,))
        batch = objective.subset(idx)
        if self.label_noise is not None:
            noise = self.label_noise * jax.random.normal(k_noise, jnp.shape(batch.labels))
            batch = batch.with_labels(batch.labels + noise)
        return perm, batch


class GradientMethod(DiscreteMethod):
    """Abstract: θ ← θ − η·D(θ), with optional minibatches, momentum μ, weight decay λ, schedule.

    Concrete methods implement `direction`. Class constants (not options): ``lookahead`` evaluates
    D at θ + μv (Nesterov), ``random_direction`` says that D uses its key (SpectReg).
    """

    momentum: jax.Array | None = hyperparameter(_validate.unit_interval, default=None, kw_only=True)

    lookahead: ClassVar[bool] = False
    random_direction: ClassVar[bool] = False

    @abc.abstractmethod
    def direction(self, params, objective, key):
        """D(θ): the descent direction of this method on ``objective``."""

    @property
    def sampler(self) -> Minibatches | None:
        """How a step draws its examples (None: the full batch)."""
        return None if self.batch_size is None else Minibatches(self.batch_size)

    @property
    def stochastic(self) -> bool:
        return self.batch_size is not None or self.random_direction

    def init(self, params, objective) -> GradientState:
        sampler = self.sampler
        return GradientState(
            k=jnp.zeros((), dtype=int),
            perm=None if sampler is None else sampler.init(objective.n),
            velocity=None if self.momentum is None else jax.tree.map(jnp.zeros_like, params),
        )

    def minibatch(self, state: GradientState, objective, key):
        """(state, batch objective, key for the direction) of the step taken with ``key``."""
        if not self.stochastic:
            return state, objective, key
        k_perm, k_batch, k_dir = jax.random.split(key, 3)
        sampler = self.sampler
        if sampler is None:
            return state, objective, k_dir
        perm, batch = sampler.draw(state.perm, state.k, objective, k_perm, k_batch)
        return state._replace(perm=perm), batch, k_dir

    def step(self, params, state: GradientState, objective, key):
        state, batch, k_dir = self.minibatch(state, objective, key)
        eta = self.eta if self.schedule is None else self.eta * self.schedule(state.k)
        state = state._replace(k=state.k + 1)
        at = _tree.axpy(self.momentum, state.velocity, params) if self.lookahead else params
        d = self.direction(at, batch, k_dir)
        if self.weight_decay is not None:
            d = _tree.axpy(self.weight_decay, params, d)
        if self.momentum is None:
            return _tree.like(_tree.axpy(-eta, d, params), params), state, {"dt": eta}
        v = _tree.like(_tree.axpy(self.momentum, state.velocity, _tree.scale(-eta, d)), params)
        return _tree.add(params, v), state._replace(velocity=v), {"dt": eta}
