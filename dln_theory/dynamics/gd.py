"""Gradient descent, SGD, heavy ball and Nesterov: the plain gradient direction D(θ) = ∇L(θ)."""

from typing import ClassVar

import equinox as eqx
import jax

from .. import _validate
from .._hyper import hyperparameter
from ._gradient import GradientMethod, Minibatches


class _PlainGradient(GradientMethod):
    """Abstract: D(θ) = ∇L(θ)."""

    def direction(self, params, objective, key):
        return objective.grad(params)


class GD(_PlainGradient):
    """Gradient descent θ_{k+1} = θ_k − η_k ∇L(θ_k) (full batch unless ``batch_size`` is set).

    Options of `GradientMethod` (momentum, weight decay, schedule, minibatches) apply.
    """


class SGD(_PlainGradient):
    """Minibatch SGD: θ ← θ − η∇L_B(θ) on ``batch_size`` examples per step.

    Random reshuffling each epoch by default, ``replacement=True`` for i.i.d. batches; optional
    label noise σ (Pesme et al. arXiv:2106.09524; Smith et al. arXiv:2101.12176).
    """

    replacement: bool = eqx.field(static=True, default=False, kw_only=True)
    label_noise: jax.Array | None = hyperparameter(_validate.nonnegative, default=None, kw_only=True)

    def __check_init__(self):
        if self.batch_size is None:
            raise ValueError("batch_size=None is not allowed for SGD: give batch_size >= 1 (GD is the full batch)")

    @property
    def sampler(self) -> Minibatches:
        return Minibatches(self.batch_size, self.replacement, self.label_noise)


def _require_momentum(method):
    if method.momentum is None:
        raise ValueError(f"momentum=None is not allowed for {type(method).__name__}: give momentum in [0, 1)")


class HeavyBall(_PlainGradient):
    """Heavy ball θ_{k+1} = θ_k − η∇L(θ_k) + μ(θ_k − θ_{k−1}) (Polyak; Ghosh et al. arXiv:2302.00849)."""

    def __check_init__(self):
        _require_momentum(self)


class Nesterov(_PlainGradient):
    """Nesterov momentum: v ← μv − η∇L(θ + μv), θ ← θ + v."""

    lookahead: ClassVar[bool] = True

    def __check_init__(self):
        _require_momentum(self)
