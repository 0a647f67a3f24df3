"""Extragradient (Korpelevich 1976)."""

from ._base import perturbed_grad
from ._gradient import GradientMethod


class Extragradient(GradientMethod):
    """θ ← θ − η∇L(θ − η∇L(θ)): a gradient step taken from an explicit Euler look-ahead.

    An explicit two-stage Runge–Kutta map of θ̇ = −∇L (derivations/methods.py, EXTRAGRADIENT).
    """

    def direction(self, params, objective, key):
        return perturbed_grad(objective, params, objective.grad(params), -self.eta)
