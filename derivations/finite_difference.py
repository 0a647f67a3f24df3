"""Finite-difference GR directions and the flooding ascent–descent pair, expanded in ε.

Karakida et al. (arXiv:2210.02720) F-GR and B-GR directions, g = ∇L, H = ∇²L:
    d_F = (1 − γ/ε) g + (γ/ε) ∇L(θ + εg) = g + γHg + (γε/2)∇³L[g,g] + (γε²/6)∇⁴L[g,g,g] + O(ε³),
    d_B = (1 + γ/ε) g − (γ/ε) ∇L(θ − εg) = g + γHg − (γε/2)∇³L[g,g] + (γε²/6)∇⁴L[g,g,g] + O(ε³).
Flooding (Ishida et al. 2020; docs/conventions.md §4): an ascent then a descent step of size η gives
    θ + ηg − η∇L(θ + ηg) = θ − (η²/2)∇‖∇L‖² − (η³/2)∇³L[g,g] + O(η⁴),
the forward-difference GR step with γ = ε = η (and no plain-gradient term).
Expansions are Taylor series in ε of the exact sympy expressions for generic L(x), L(x, y).
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations_with_replacement

import numpy as np
import sympy as sp

from . import _numerics, examples
from .bseries import directional_derivatives

gamma, eps, eta = sp.symbols("gamma epsilon eta", positive=True)


def gradient(loss: sp.Expr, theta) -> sp.Matrix:
    """∇L as a column vector."""
    return sp.Matrix([loss.diff(v) for v in theta])


def contract(loss: sp.Expr, theta, vectors) -> sp.Matrix:
    """∇^{k+1}L[v₁, …, v_k] for k vectors (a vector; the v's are held fixed)."""
    expr, holders = directional_derivatives(gradient(loss, theta), theta, len(vectors))
    return expr.xreplace({w: vk for ws, vec in zip(holders, vectors) for w, vk in zip(ws, vec)})


def shifted_gradient(loss: sp.Expr, theta, shift: sp.Matrix) -> sp.Matrix:
    """∇L(θ + shift) for a concrete loss."""
    return gradient(loss, theta).subs(dict(zip(theta, (v + s for v, s in zip(theta, shift)))),
                                      simultaneous=True)


def taylor_shift(loss: sp.Expr, theta, var: sp.Symbol, direction: sp.Matrix,
                 order: int) -> sp.Matrix:
    """Taylor polynomial in var (to var^order) of ∇L(θ + var·a), a = ``direction``.

    Multi-index form Σ_{|k| ≤ order} var^{|k|} a^k/k! ∂^k∇L(θ) (independent of ``contract``).
    """
    g = gradient(loss, theta)
    out = sp.zeros(*g.shape)
    for k in range(order + 1):
        for index in combinations_with_replacement(range(len(theta)), k):
            counts = Counter(index)
            weight = sp.Integer(1)
            deriv = g
            for i, m in counts.items():
                weight *= direction[i] ** m / sp.factorial(m)
                deriv = deriv.diff(theta[i], m)
            out += var**k * weight * deriv
    return out.applyfunc(sp.expand)


def taylor_shift_1d(loss: sp.Expr, x: sp.Symbol, var: sp.Symbol, order: int) -> sp.Expr:
    """sympy's own series of L'(x + var·L'(x)) for a scalar loss (composite, Subs evaluated)."""
    shifted = loss.diff(x).subs(x, x + var * loss.diff(x))
    out, term = sp.Integer(0), shifted
    for k in range(order + 1):
        out += term.subs(var, 0).doit() * var**k / sp.factorial(k)
        term = term.diff(var)
    return sp.expand(out)


def directions(loss: sp.Expr, theta, order: int = 2) -> dict[str, sp.Matrix]:
    """Taylor polynomials in ε (to ε^order) of d_F − d_GR and d_B − d_GR."""
    g = gradient(loss, theta)
    gr = g + gamma * contract(loss, theta, [g])
    out = {}
    for name, sign in (("fgr", 1), ("bgr", -1)):
        shifted = taylor_shift(loss, theta, eps, sign * g, order + 1)
        d = (1 - sign * gamma / eps) * g + sign * gamma / eps * shifted
        out[name] = (d - gr).applyfunc(sp.expand)
    return out


def predicted(loss: sp.Expr, theta, sign: int) -> sp.Matrix:
    """±(γε/2)∇³L[g,g] + (γε²/6)∇⁴L[g,g,g]."""
    g = gradient(loss, theta)
    return (sign * gamma * eps / 2 * contract(loss, theta, [g, g])
            + gamma * eps**2 / 6 * contract(loss, theta, [g, g, g])).applyfunc(sp.expand)


def flooding_pair(loss: sp.Expr, theta) -> sp.Matrix:
    """Ascent θ⁺ = θ + η∇L(θ), then descent θ⁺ − η∇L(θ⁺); returns the displacement."""
    g = gradient(loss, theta)
    ascent = eta * g
    return ascent - eta * shifted_gradient(loss, theta, ascent)


def flooding_expansion(loss: sp.Expr, theta, order: int = 3) -> sp.Matrix:
    """Taylor polynomial in η (to η^order) of the flooding displacement + (η²/2)∇‖∇L‖²."""
    g = gradient(loss, theta)
    target = -eta**2 / 2 * gradient((g.T * g)[0, 0], theta)
    pair = eta * g - eta * taylor_shift(loss, theta, eta, g, order - 1)
    return (pair - target).applyfunc(sp.expand)


def numeric_orders(steps=(0.1, 0.05, 0.025, 0.0125), point=examples.START_2D,
                   gamma_value: float = 0.3):
    """Fitted orders in ε on LOSS_2D_SMOOTH (float64) of d_F − d_GR minus its ε and ε² terms.

    Returns {(method, terms kept): (slope, errors)}; expected slopes 2 (one term) and 3 (two).
    """
    loss, theta = examples.LOSS_2D_SMOOTH, examples.THETA_2D
    g = gradient(loss, theta)
    exact = {}
    for name, sign in (("fgr", 1), ("bgr", -1)):
        d = ((1 - sign * gamma / eps) * g + sign * gamma / eps
             * shifted_gradient(loss, theta, sign * eps * g))
        exact[name] = d - g - gamma * contract(loss, theta, [g])
    out = {}
    for name, sign in (("fgr", 1), ("bgr", -1)):
        one = predicted(loss, theta, sign).applyfunc(lambda e: e.coeff(eps, 1) * eps)
        for kept, model in ((1, one), (2, predicted(loss, theta, sign))):
            fn = _numerics.vector_function((exact[name] - model).subs(gamma, gamma_value),
                                           theta, (eps,))
            errors = [float(np.linalg.norm(fn(point, e))) for e in steps]
            out[(name, kept)] = (_numerics.fitted_order(steps, errors), errors)
    return out


def check_directions() -> list[tuple[str, bool, str]]:
    """F-GR/B-GR expansions on generic scalar and 2-D losses, and float64 order fits."""
    out = []
    for label, loss, theta in _GENERIC:
        for name, sign in (("fgr", 1), ("bgr", -1)):
            diff = directions(loss, theta)[name]
            zero = (diff - predicted(loss, theta, sign)).applyfunc(sp.expand)
            out.append((f"{name} on generic {label} L: d − (g + γHg) = {'+' if sign > 0 else '−'}"
                        "(γε/2)∇³L[g,g] + (γε²/6)∇⁴L[g,g,g] + O(ε³)",
                        zero == sp.zeros(len(theta), 1), str(zero.T)))
    x = examples.THETA_1D[0]
    series = taylor_shift_1d(examples.L1, x, eps, 3)
    mine = taylor_shift(examples.L1, examples.THETA_1D, eps, gradient(examples.L1, (x,)), 3)[0]
    out.append(("scalar: multi-index Taylor of L'(x + εL') = sympy's composite series",
                sp.expand(series - mine) == 0, str(sp.expand(series - mine))))
    for (name, kept), (slope, errors) in numeric_orders().items():
        out.append((f"{name}: float64 remainder after {kept} term(s) ~ ε^{kept + 1}",
                    abs(slope - (kept + 1)) <= 0.3, f"slope {slope:.3f}, errors {errors}"))
    return out


def check_flooding() -> list[tuple[str, bool, str]]:
    """Flooding pair expansion and its identity with the forward-difference GR step."""
    out = []
    for label, loss, theta in _GENERIC:
        g = gradient(loss, theta)
        rest = flooding_expansion(loss, theta)
        third = (rest + eta**3 / 2 * contract(loss, theta, [g, g])).applyfunc(sp.expand)
        out.append((f"flooding on generic {label} L: θ − (η²/2)∇‖∇L‖² − (η³/2)∇³L[g,g] + O(η⁴)",
                    third == sp.zeros(len(theta), 1), str(third.T)))
        pair = flooding_pair(loss, theta)
        fd = -eta * (gamma / eps) * (shifted_gradient(loss, theta, eps * g) - g)
        same = (pair - fd.subs({gamma: eta, eps: eta})).applyfunc(sp.simplify)
        out.append((f"flooding pair = forward-difference GR step with γ = ε = η ({label})",
                    same == sp.zeros(len(theta), 1), str(same.T)))
    return out


def check() -> list[tuple[str, bool, str]]:
    """All checks of this module."""
    return check_directions() + check_flooding()


_GENERIC = (("scalar", examples.L1, examples.THETA_1D), ("2-D", examples.L2, examples.THETA_2D))
