"""Modified equations of one-step maps by B-series (HLW, *Geometric Numerical Integration*, IX.9).

The modified field f_h = f + h f₂ + h² f₃ + … (f_j a combination of elementary differentials
of trees of order j) is defined by: its exact h-flow has the B-series of the map.  Order by
order, d(τ) = c_map(τ) − c_flow(τ)|_{d(τ)=0}, since the Lie-series coefficient of τ is d(τ)
plus products of lower-order d's.  Known result (explicit Euler, docs/conventions.md §5):
    f_h = f − (h/2) f'f + h² [(1/12) f''(f,f) + (1/3) f'f'f] + O(h³).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from . import _numerics, bseries, examples, gradient_form, trees
from .methods import (BGR, EXTRAGRADIENT, FGR, GD, GR, SAM, Method, eps, eta, gamma,
                                 rho)
from .trees import Tree


def modified_coefficients(map_coeffs: dict[Tree, sp.Expr], n: int) -> dict[Tree, sp.Expr]:
    """d(τ), |τ| ≤ n, such that the exact h-flow of Σ h^{|τ|-1} d(τ)F(τ) has B-series c_map."""
    d: dict[Tree, sp.Expr] = {}
    for k in range(1, n + 1):
        level = trees.trees_of_order(k)
        d.update({t: sp.Integer(0) for t in level})
        flow = bseries.flow(d, k)
        d.update({t: sp.expand(map_coeffs[t] - flow[t]) for t in level})
    return d


def modified_field(method: Method, p: int) -> dict[Tree, sp.Expr]:
    """Coefficients C(τ) = h^{|τ|-1} d(τ) (h = η) of the modified field truncated at h^p.

    The C(τ) are polynomials in (η, γ, ε, ρ); f_h = Σ_τ C(τ) F(τ) + O(h^{p+1}).
    """
    n = p + 1
    d = modified_coefficients(bseries.runge_kutta(method.A, method.b, n), n)
    return {t: sp.expand(eta ** (trees.order(t) - 1) * c) for t, c in d.items()}


def tree_form(field: dict[Tree, sp.Expr]) -> sp.Expr:
    """The field as a combination of tree symbols: f + C([•]) f'f + …"""
    return bseries.as_tree_symbols(field)


def vector_field(method: Method, loss: sp.Expr, theta, p: int) -> sp.Matrix:
    """Concrete modified field for a sympy loss L(θ): Σ C(τ) F(τ)(θ), f = −∇L (−∇L̃ for GR)."""
    return bseries.evaluate(modified_field(method, p), field_of(method, loss, theta), theta)


def field_of(method: Method, loss: sp.Expr, theta) -> sp.Matrix:
    """f = −∇L, or −∇(L + (γ/2)‖∇L‖²) for GR."""
    grad = sp.Matrix([loss.diff(x) for x in theta])
    if method.regularized:
        loss = loss + gamma / 2 * (grad.T * grad)[0, 0]
        grad = sp.Matrix([loss.diff(x) for x in theta])
    return -grad


#: Ratios held fixed in the numeric checks: ε/η, γ/ε, ρ/η; GR uses a fixed γ.
NUMERIC_RATIOS = {"eps_over_eta": 0.5, "gamma_over_eps": 0.8, "rho_over_eta": 0.5, "gamma": 0.1}
NUMERIC_STEPS = (0.04, 0.02, 0.01, 0.005)


def _parameters(method: Method, step):
    r = NUMERIC_RATIOS
    if method.regularized:
        return {eta: step, gamma: r["gamma"]}
    return {eta: step, eps: r["eps_over_eta"] * step,
            gamma: r["gamma_over_eps"] * r["eps_over_eta"] * step,
            rho: r["rho_over_eta"] * step}


def numeric_order(method: Method, p: int, steps=NUMERIC_STEPS, T: float = 1.0):
    """Fitted order of ‖θ_map(T) − θ_mod(T)‖ over the steps; the modified field is truncated
    at h^p (p = 0 is the plain flow), so the expected order is p + 1.

    Loss ``examples.LOSS_2D``; stage offsets scale with η (``NUMERIC_RATIOS``).
    """
    theta = examples.THETA_2D
    field = vector_field(method, examples.LOSS_2D, theta, p).xreplace(_parameters(method, eta))
    field_fn = _numerics.vector_function(field, theta, (eta,))
    f = field_of(method, examples.LOSS_2D, theta).xreplace(_parameters(method, eta))
    f_fn = _numerics.vector_function(f, theta, (eta,))
    errors = []
    for step in steps:
        A, b = method.numeric_tableau(_parameters(method, step))
        end_map = _numerics.rk_orbit(A, b, lambda th: f_fn(th, step), examples.START_2D, step, T)
        end_flow = _numerics.flow(field_fn, examples.START_2D, T, (step,))
        errors.append(float(np.linalg.norm(end_map - end_flow)))
    return _numerics.fitted_order(steps, errors), errors


def log_series(p: int) -> tuple[list[sp.Expr], list[sp.Expr]]:
    """(GD coefficients of the tall trees f'…f'f, series coefficients of log(1 − hλ)/(−λh)).

    For f = −λθ only tall trees survive: F(tall_n) = (−λ)^n θ; the exact modified flow of GD
    is θ̇ = (log(1 − hλ)/h) θ, so d(tall_n) = (−1)^{n+1}/n.
    """
    field = modified_coefficients(bseries.runge_kutta(GD.A, GD.b, p + 1), p + 1)
    tall = [trees.LEAF]
    while len(tall) < p + 1:
        tall.append((tall[-1],))
    lam, hh = sp.symbols("lambda h", positive=True)
    series = sp.series(sp.log(1 - hh * lam) / hh, hh, 0, p + 1).removeO()
    expected = [series.coeff(hh, n - 1) / (-lam) ** n for n in range(1, p + 2)]
    return [field[t] for t in tall], [sp.simplify(e) for e in expected]


def check_engine(p: int = 3) -> list[tuple[str, bool, str]]:
    """Known coefficients: explicit Euler, classical RK4, GD on λθ²/2 (log(1 − hλ)/h)."""
    d = modified_coefficients(bseries.runge_kutta(GD.A, GD.b, 3), 3)
    got = [d[((),)], d[((), ())], d[(((),),)]]
    want = [sp.Rational(-1, 2), sp.Rational(1, 12), sp.Rational(1, 3)]
    out = [("euler: f'f, f''(f,f), f'f'f coefficients -1/2, 1/12, 1/3", got == want, str(got))]
    rk4 = modified_coefficients(bseries.runge_kutta(*RK4, 5), 5)
    nonzero = [trees.label_f(t)[0] for t, c in rk4.items() if c != 0 and t]
    out.append(("engine: classical RK4 has f_h = f + O(h⁴)",
                all(trees.order(t) in (1, 5) for t, c in rk4.items() if c != 0), str(nonzero)))
    got, want = log_series(p)
    out.append((f"gd on λθ²/2: modified flow log(1-hλ)/h to order h^{p}", got == want, str(got)))
    return out


def check_method(method: Method, p: int = 2) -> list[tuple[str, bool, str]]:
    """Method-specific symbolic checks and fitted orders p' + 1 for p' ≤ min(p, 3)."""
    out = [c() for c in _SYMBOLIC.get(method.name, ())]
    first = 0 if method is GD else 1
    for q in range(first, min(p, 3) + 1):
        slope, errors = numeric_order(method, q)
        out.append((f"{method.name}: global error vs modified flow of order {q} ~ h^{q + 1}",
                    abs(slope - (q + 1)) <= 0.3, f"slope {slope:.3f}, errors {errors}"))
    return out


def check(p: int = 3) -> list[tuple[str, bool, str]]:
    """All checks of this module: engine, then every method."""
    out = check_engine(p)
    for method in (GD, FGR, BGR, SAM, EXTRAGRADIENT, GR):
        out += check_method(method, p if method is GD else min(p, 2))
    return out


def _check_gd_loss() -> tuple[str, bool, str]:
    loss, _ = gradient_form.split(modified_field(GD, 2))
    want = (gradient_form.L + eta / 4 * trees.scalar_symbol(((),))
            + eta**2 / 12 * trees.scalar_symbol(((), ())))
    return ("gd: L̃ = L + (η/4)‖∇L‖² + (η²/12)∇LᵀH∇L", sp.expand(loss - want) == 0, str(loss))


def _check_gd_remainder() -> tuple[str, bool, str]:
    _, rem = gradient_form.split(modified_field(GD, 2))
    R = gradient_form.remainder_symbols(rem)
    ok = sp.expand(R + eta**2 / 6 * trees.grad_symbol((((),),))) == 0
    return ("gd: order-2 remainder −(η²/6)H²∇L", ok, str(R))


def _check_curl() -> tuple[str, bool, str]:
    values = gradient_form.grad_values(examples.LOSS_2D, examples.THETA_2D, 3)
    curl = gradient_form.curl(values[(((),),)], examples.THETA_2D)
    return ("curl of H²∇L on LOSS_2D is nonzero (no exact order-2 modified loss)", curl != 0,
            str(curl))


def _check_fgr_is_sam(p: int = 3) -> tuple[str, bool, str]:
    sam = modified_field(SAM, p)
    fgr = {t: c.xreplace({gamma: rho, eps: rho}) for t, c in modified_field(FGR, p).items()}
    return ("fgr: with γ = ε = ρ it has the modified field of unnormalized SAM",
            all(sp.expand(sam[t] - fgr[t]) == 0 for t in sam), "")


def _check_first_order(method: Method, coef: sp.Symbol) -> tuple[str, bool, str]:
    loss, _ = gradient_form.split(modified_field(method, 1))
    want = gradient_form.L + (coef / 2 + eta / 4) * trees.scalar_symbol(((),))
    return (f"{method.name}: L̃ = L + ({coef}/2 + η/4)‖∇L‖² at first order",
            sp.expand(loss - want) == 0, str(loss))


#: Classical RK4 tableau, used only to check the engine (its modified field is f + O(h⁴)).
RK4 = (((0, 0, 0, 0), (sp.Rational(1, 2), 0, 0, 0), (0, sp.Rational(1, 2), 0, 0), (0, 0, 1, 0)),
       (sp.Rational(1, 6), sp.Rational(1, 3), sp.Rational(1, 3), sp.Rational(1, 6)))


def _check_decomposition(method: Method, p: int) -> tuple[str, bool, str]:
    """Concrete Σ C(τ)F(τ) = −∇L̃ + R on LOSS_2D (validates the tree-level split)."""
    theta, loss = examples.THETA_2D, examples.LOSS_2D
    field = modified_field(method, p)
    ltilde, rem = gradient_form.split(field)
    concrete = gradient_form.concrete_loss(ltilde, loss, theta, p + 1)
    rhs = -sp.Matrix([concrete.diff(v) for v in theta])
    if rem:
        rhs += bseries.evaluate(rem, field_of(method, loss, theta), theta)
    diff = (vector_field(method, loss, theta, p) - rhs).applyfunc(sp.expand)
    return (f"{method.name}: f_h = −∇L̃ + R concretely on LOSS_2D to order {p}",
            diff == sp.zeros(2, 1), str(diff.T))


def _check_gr() -> tuple[str, bool, str]:
    """GR: L̃ + (η/4)‖∇L̃‖² = L + (γ/2 + η/4)‖∇L‖² + (ηγ/2)∇LᵀH∇L + (ηγ²/4)‖H∇L‖²."""
    theta, loss = examples.THETA_2D, examples.LOSS_2D
    g = sp.Matrix([loss.diff(v) for v in theta])
    H = sp.hessian(loss, theta)
    want = (loss + (gamma / 2 + eta / 4) * (g.T * g)[0, 0] + eta * gamma / 2 * (g.T * H * g)[0, 0]
            + eta * gamma**2 / 4 * ((H * g).T * (H * g))[0, 0])
    field = vector_field(GR, loss, theta, 1)
    diff = (field + sp.Matrix([want.diff(v) for v in theta])).applyfunc(sp.expand)
    return ("gr: L̃ = L + (γ/2 + η/4)‖∇L‖² + (ηγ/2)∇LᵀH∇L + (ηγ²/4)‖H∇L‖² at first order in η",
            diff == sp.zeros(2, 1), str(diff.T))


_SYMBOLIC = {
    "gd": (_check_gd_loss, _check_gd_remainder, lambda: _check_decomposition(GD, 3), _check_curl),
    "fgr": (_check_fgr_is_sam, lambda: _check_first_order(FGR, gamma)),
    "bgr": (lambda: _check_first_order(BGR, gamma),),
    "sam": (lambda: _check_first_order(SAM, rho),),
    "gr": (_check_gr,),
}
