"""Gradient descent, SGD, heavy ball and Nesterov: the plain gradient direction D(θ) = ∇L(θ)."""

import equinox as eqx

from ._gradient import GradientMethod


class GD(GradientMethod):
    """Gradient descent θ_{k+1} = θ_k − η_k ∇L(θ_k) (full batch unless ``batch_size`` is set).

    Options of `GradientMethod` (momentum, weight decay, schedule, minibatches) apply.
    """

    def direction(self, params, objective, key):
        return objective.grad(params)


class SGD(GD):
    """Minibatch SGD: θ ← θ − η∇L_B(θ) on ``batch_size`` examples per step.

    Random reshuffling each epoch by default, ``replacement=True`` for i.i.d. batches; optional
    label noise σ (Pesme et al. arXiv:2106.09524; Smith et al. arXiv:2101.12176).
    """

    def __check_init__(self):
        super().__check_init__()
        if self.batch_size is None:
            raise ValueError("batch_size=None is not allowed for SGD: give batch_size >= 1 (GD is the full batch)")


class HeavyBall(GD):
    """Heavy ball θ_{k+1} = θ_k − η∇L(θ_k) + μ(θ_k − θ_{k−1}) (Polyak; Ghosh et al. arXiv:2302.00849)."""

    def __check_init__(self):
        super().__check_init__()
        if self.momentum is None:
            raise ValueError(f"momentum=None is not allowed for {type(self).__name__}: give momentum in [0, 1)")


class Nesterov(HeavyBall):
    """Nesterov momentum: v ← μv − η∇L(θ + μv), θ ← θ + v."""

    nesterov: bool = eqx.field(static=True, default=True, kw_only=True)
