"""Float64 helpers for the numeric checks: RK maps, accurate flows, fitted error orders."""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp


def vector_function(expr: sp.Matrix, theta, extra=()):
    """numpy function (θ, *extra) -> float64 vector from a sympy column vector."""
    fn = sp.lambdify((list(theta), *extra), list(expr), modules="numpy", cse=True)
    return lambda th, *args: np.asarray(fn(list(th), *args), dtype=float)


def rk_orbit(A, b, f, theta0, h: float, T: float) -> np.ndarray:
    """θ after round(T/h) steps of the explicit RK map (A, b) for θ̇ = f(θ)."""
    theta = np.asarray(theta0, dtype=float)
    for _ in range(round(T / h)):
        k = []
        for i in range(len(b)):
            stage = theta + h * sum((A[i][j] * k[j] for j in range(i)), np.zeros_like(theta))
            k.append(f(stage))
        theta = theta + h * sum(bi * ki for bi, ki in zip(b, k))
    return theta


def flow(field, theta0, T: float, args=()) -> np.ndarray:
    """θ(T) of θ̇ = field(θ, *args) by DOP853 (rtol 1e-13)."""
    sol = solve_ivp(lambda _, th: field(th, *args), (0.0, T), np.asarray(theta0, dtype=float),
                    method="DOP853", rtol=1e-13, atol=1e-15)
    return sol.y[:, -1]


def fitted_order(hs, errors) -> float:
    """Least-squares slope of log(error) against log(h)."""
    return float(np.polyfit(np.log(hs), np.log(errors), 1)[0])
