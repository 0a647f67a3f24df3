"""Shared update rule of the discrete methods: minibatching, momentum, weight decay, schedule.

Each method supplies a *direction* D(θ) (∇L for GD, ∇L + γH∇L for GR, …); the update is

    v ← μ·v − η_k·(D(θ + μ·v·[nesterov]) + λ·θ),   θ ← θ + v,

with η_k = η·schedule(k). Without momentum (μ = None) and weight decay (λ = None) this is
θ ← θ − η·D(θ); μ = 0 and λ = 0 give the same iterates bit for bit.
Minibatches of ``batch_size`` examples are drawn by random reshuffling (a fresh permutation each
epoch of ⌊n/B⌋ batches; the remainder is dropped) or, with ``replacement=True``, uniformly with
replacement; ``label_noise`` σ adds N(0, σ²) to the labels of each step (Pesme et al. §5).
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _tree, _validate
from ._base import Method, hyperparameter


class GradientMethod(Method):
    """θ ← θ − η·D(θ) with optional minibatches, momentum μ, weight decay λ and a schedule."""

    momentum: jax.Array | None = hyperparameter(default=None, kw_only=True)
    weight_decay: jax.Array | None = hyperparameter(default=None, kw_only=True)
    label_noise: jax.Array | None = hyperparameter(default=None, kw_only=True)
    batch_size: int | None = eqx.field(static=True, default=None, kw_only=True)
    replacement: bool = eqx.field(static=True, default=False, kw_only=True)
    nesterov: bool = eqx.field(static=True, default=False, kw_only=True)
    schedule: Callable | None = eqx.field(static=True, default=None, kw_only=True)

    constraints = {
        "eta": _validate.positive,
        "momentum": _validate.unit_interval,
        "weight_decay": _validate.nonnegative,
        "label_noise": _validate.nonnegative,
    }

    def __check_init__(self):
        super().__check_init__()
        if self.batch_size is not None:
            _validate.integer_at_least("batch_size", self.batch_size, 1)

    def direction(self, params, objective, key):
        """D(θ): the descent direction of this method on ``objective``."""
        raise NotImplementedError

    def check_objective(self, objective):
        if self.batch_size is not None and self.batch_size > objective.n:
            raise ValueError(
                f"batch_size={self.batch_size} is not allowed: it must be <= the number of examples n={objective.n}"
            )

    @property
    def stochastic(self) -> bool:
        return self.batch_size is not None or self.label_noise is not None

    def init(self, params, objective):
        state = {"k": jnp.zeros((), dtype=int)}
        if self.momentum is not None:
            state["velocity"] = jax.tree.map(jnp.zeros_like, params)
        if self.batch_size is not None and not self.replacement:
            state["perm"] = jnp.arange(objective.n)
        return state

    def batch(self, objective, state, key):
        """The objective of this step's minibatch (and labels with noise)."""
        k_batch, k_noise = jax.random.split(key)
        if self.batch_size is not None:
            B = self.batch_size
            if self.replacement:
                idx = jax.random.randint(k_batch, (B,), 0, objective.n)
            else:
                idx = jax.lax.dynamic_slice(state["perm"], (self._position(state, objective) * B,), (B,))
            objective = objective.subset(idx)
        if self.label_noise is not None:
            noise = self.label_noise * jax.random.normal(k_noise, jnp.shape(objective.labels))
            objective = objective.with_labels(objective.labels + noise)
        return objective

    def _position(self, state, objective):
        return state["k"] % (objective.n // self.batch_size)

    def _reshuffle(self, state, objective, key):
        if "perm" not in state:
            return state
        new_epoch = self._position(state, objective) == 0
        perm = jax.lax.cond(new_epoch, lambda: jax.random.permutation(key, objective.n), lambda: state["perm"])
        return {**state, "perm": perm}

    def minibatch(self, state, objective, key):
        """(state, batch objective, key for the direction) of the step taken with ``key``."""
        if not self.stochastic:
            return state, objective, key
        k_perm, k_batch, k_dir = jax.random.split(key, 3)
        state = self._reshuffle(state, objective, k_perm)
        return state, self.batch(objective, state, k_batch), k_dir

    def step(self, params, state, objective, key):
        state, batch, k_dir = self.minibatch(state, objective, key)
        eta = self.eta if self.schedule is None else self.eta * self.schedule(state["k"])
        state = {**state, "k": state["k"] + 1}
        at = _tree.axpy(self.momentum, state["velocity"], params) if self.nesterov else params
        d = self.direction(at, batch, k_dir)
        if self.weight_decay is not None:
            d = _tree.axpy(self.weight_decay, params, d)
        if self.momentum is None:
            return _tree.like(_tree.axpy(-eta, d, params), params), state, {"dt": eta}
        v = _tree.like(_tree.axpy(self.momentum, state["velocity"], _tree.scale(-eta, d)), params)
        return _tree.add(params, v), {**state, "velocity": v}, {"dt": eta}
