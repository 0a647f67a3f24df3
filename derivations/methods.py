"""One-step optimizers as explicit Runge–Kutta maps for θ̇ = f = −∇L with step h = η.

A stage at θ ± ε∇L(θ) = θ ∓ ε f(θ) is an RK stage with coefficient ∓ε/η relative to h = η
(docs/conventions.md §4).  Expansion convention: the B-series is expanded in h with the ratios γ/ε,
ε/η, ρ/η held fixed.  The order-n coefficient is then h^{n-1} P_n(γ/ε, ε/η) with P_n a
polynomial, and h^{n-1} P_n is a homogeneous polynomial of degree n−1 in (η, γ, ε): holding
the ratios fixed is the same as expanding jointly in (η, γ, ε, ρ) by total degree.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

eta, gamma, eps, rho = sp.symbols("eta gamma epsilon rho", positive=True)


@dataclass(frozen=True)
class Method:
    """An explicit RK map θ₁ = θ + h Σ b_i f(Y_i), Y_i = θ + h Σ a_ij f(Y_j).

    Attributes:
        name: registry name.
        update: the map in words (θ ← …).
        A, b: Butcher tableau (sympy entries in eta, gamma, epsilon, rho).
        regularized: True for GR, whose field is f = −∇(L + (γ/2)‖∇L‖²).
    """

    name: str
    update: str
    A: tuple
    b: tuple
    regularized: bool = False

    def numeric_tableau(self, values: dict) -> tuple[list[list[float]], list[float]]:
        """Float tableau after substituting ``values`` (e.g. {eta: 0.1, epsilon: 0.05})."""
        A = [[float(sp.sympify(a).subs(values)) for a in row] for row in self.A]
        b = [float(sp.sympify(x).subs(values)) for x in self.b]
        return A, b


GD = Method("gd", "θ ← θ − η∇L(θ)  (explicit Euler)", ((0,),), (1,))
GR = Method(
    "gr", "θ ← θ − η∇L̃(θ), L̃ = L + (γ/2)‖∇L‖²  (explicit Euler on the GR field)",
    ((0,),), (1,), regularized=True,
)
FGR = Method(
    "fgr", "θ ← θ − η[(1 − γ/ε)∇L(θ) + (γ/ε)∇L(θ + ε∇L(θ))]  (Karakida Alg. 1)",
    ((0, 0), (-eps / eta, 0)), (1 - gamma / eps, gamma / eps),
)
BGR = Method(
    "bgr", "θ ← θ − η[(1 + γ/ε)∇L(θ) − (γ/ε)∇L(θ − ε∇L(θ))]",
    ((0, 0), (eps / eta, 0)), (1 + gamma / eps, -gamma / eps),
)
SAM = Method(
    "sam", "θ ← θ − η∇L(θ + ρ∇L(θ))  (unnormalized SAM)",
    ((0, 0), (-rho / eta, 0)), (0, 1),
)
EXTRAGRADIENT = Method(
    "extragradient", "θ ← θ − η∇L(θ − η∇L(θ))",
    ((0, 0), (1, 0)), (0, 1),
)

METHODS = {m.name: m for m in (GD, FGR, BGR, SAM, EXTRAGRADIENT, GR)}
