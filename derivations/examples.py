"""Concrete losses shared by the checks: generic scalar and 2-D losses and a 2-coordinate DLN."""

from __future__ import annotations

import sympy as sp

x, y = sp.symbols("x y", real=True)
THETA_2D = (x, y)
THETA_1D = (x,)

#: A non-quadratic 2-D loss (its H²∇L is not a gradient).
LOSS_2D = x**2 / 2 + y**2 + x**2 * y / 2 + y**4 / 4 + x * y / 4
START_2D = (0.8, -0.5)

#: A non-polynomial 2-D loss (Taylor series in a shift do not terminate).
LOSS_2D_SMOOTH = LOSS_2D + sp.exp(x - y) / 4

#: A non-quadratic scalar loss.
LOSS_1D = x**2 / 2 + x**3 / 6 + x**4 / 12

#: Generic (undefined) losses for symbolic identities.
L1 = sp.Function("L")(x)
L2 = sp.Function("L")(x, y)


def dln_loss(n: int = 2):
    """2-coordinate P-E DLN loss L(u, v) = (1/2n)‖X(u⊙v) − y‖² with symbolic data.

    Parametrization P-E (docs/conventions.md §1): β = u ⊙ v.  Returns (loss, θ = (u₁, u₂, v₁, v₂),
    X, y) with X an n×2 matrix of symbols and y an n-vector of symbols.
    """
    u = sp.symbols("u1:3", real=True)
    v = sp.symbols("v1:3", real=True)
    X = sp.Matrix(n, 2, lambda i, j: sp.Symbol(f"X{i + 1}{j + 1}", real=True))
    Y = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"y{i + 1}", real=True))
    beta = sp.Matrix([u[0] * v[0], u[1] * v[1]])
    r = X * beta - Y
    return (r.T * r)[0, 0] / (2 * n), tuple(u) + tuple(v), X, Y
