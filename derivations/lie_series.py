"""Modified equations of any smooth one-step map by Lie-series matching (HLW, *Geometric
Numerical Integration*, IX.1, eqs. (1.2)–(1.4)).

A one-step map θ ↦ Φ_h(θ) is given as a sympy column vector in the state symbols θ and the step
``h`` (stage offsets written as multiples of h: ε = a·h, ρ = c·h, the convention of
``methods.py``).  The modified field is f_h = f₀ + h f₁ + … + h^p f_p; its *order* is p, the
highest power of h kept, exactly as in ``modified_equations.modified_field(method, p)``
(order 0 is the plain flow θ̇ = f₀).  Convention: θ̇ = f_h, and one step is the time-h map of
f_h, so that

    Φ_h(θ) − exp(h L_{f_h}) θ = O(h^{p+2}),   exp(h L_f) θ = Σ_k (h^k/k!) D^k θ,  D g = (∂g/∂θ) f_h,

the Lie series of the field computed from the field itself.  Matching the coefficients of
h^{k+1} order by order gives f_k = φ_{k+1} − [h^{k+1}] exp(h L_{f₀ + … + h^{k−1} f_{k−1}}) θ,
where Φ_h = θ + Σ_m h^m φ_m.  Nothing here uses trees or Runge–Kutta structure, so the map may
contain ‖∇L‖, square roots, divisions (normalized SAM, RMSProp, Adam); on RK maps the result
equals the B-series field of ``modified_equations`` (``tests/test_derivations_lie_series.py``).
"""

from __future__ import annotations

from math import factorial

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

#: The step size symbol of the maps of this module.
h = sp.Symbol("h", positive=True)

Series = list  # [c₀, c₁, …]: coefficients of h^0, h^1, … (sympy column vectors)


def map_coefficients(step: sp.Matrix, n: int, step_symbol: sp.Symbol = h) -> Series:
    """[φ₀, …, φ_n] with Φ_h = Σ h^m φ_m + O(h^{n+1}): φ_m = (1/m!) ∂_h^m Φ|_{h=0}."""
    out, deriv = [], sp.Matrix(step)
    for m in range(n + 1):
        out.append((deriv.subs(step_symbol, 0).doit() / factorial(m)).applyfunc(sp.expand))
        deriv = deriv.diff(step_symbol)
    return out


def _lie(series: Series, field: Series, theta, n: int) -> Series:
    """D G as a series: (D G)_m = Σ_{i+j=m} (∂G_i/∂θ) f_j, truncated after h^n."""
    out = [sp.zeros(len(theta), 1) for _ in range(n + 1)]
    for i, g in enumerate(series[: n + 1]):
        if g == sp.zeros(*g.shape):
            continue
        jac = g.jacobian(list(theta))
        for j, f in enumerate(field[: n + 1 - i]):
            out[i + j] += jac * f
    return out


def lie_series(field: Series, theta, n: int) -> Series:
    """Coefficients of h^0 … h^n of exp(h L_{f_h}) θ, f_h = Σ_j h^j field[j]."""
    term = [sp.Matrix(theta)] + [sp.zeros(len(theta), 1) for _ in range(n)]
    out = [c for c in term]
    for k in range(1, n + 1):
        term = _lie(term, field, theta, n - k)
        for m, c in enumerate(term[: n - k + 1]):
            out[m + k] += c / factorial(k)
    return out


def modified_field(step: sp.Matrix, theta, p: int, step_symbol: sp.Symbol = h,
                   simplify=sp.expand) -> Series:
    """[f₀, …, f_p]: the order-p modified field of the map ``step`` (a column vector in θ, h).

    ``simplify`` is applied to every f_k (``sp.expand`` for polynomial maps; pass
    ``sp.simplify`` or ``sp.together`` for maps with roots and quotients).
    """
    phi = map_coefficients(step, p + 1, step_symbol)
    if (phi[0] - sp.Matrix(theta)).applyfunc(sp.simplify) != sp.zeros(len(theta), 1):
        raise ValueError("the map is not consistent: Φ_0(θ) ≠ θ")
    field: Series = []
    for k in range(p + 1):
        flow = lie_series(field + [sp.zeros(len(theta), 1)], theta, k + 1)
        field.append((phi[k + 1] - flow[k + 1]).applyfunc(simplify))
    return field


def as_vector(field: Series, step_symbol: sp.Symbol = h) -> sp.Matrix:
    """f_h = Σ_k h^k f_k as one column vector."""
    return sum((step_symbol**k * f for k, f in enumerate(field)), sp.zeros(*field[0].shape))


def local_error(step: sp.Matrix, field: Series, theta, p: int,
                step_symbol: sp.Symbol = h) -> Series:
    """Coefficients of h^0 … h^{p+2} of Φ_h(θ) − exp(h L_{f_h}) θ (not simplified)."""
    n = p + 2
    phi = map_coefficients(step, n, step_symbol)
    flow = lie_series(list(field), theta, n)
    return [a - b for a, b in zip(phi, flow)]


def is_zero(vector: sp.Matrix) -> bool:
    """Every component is exactly 0, for rational functions of θ and square roots √B.

    Each component is brought to one fraction; in its numerator every B^{k/2} becomes r_B^k for
    a new symbol r_B, and the numerator is reduced modulo r_B² − B (exact polynomial division),
    which is 0 exactly when the component is.
    """
    return all(_numerator_reduced(c) == 0 for c in vector)


def is_nonzero(vector: sp.Matrix, digits: int = 30) -> bool:
    """Some component is nonzero: its value at a rational point (every free symbol s_k set to
    (k + 3)/7) exceeds 1e-10 at ``digits`` digits (a nonzero value proves it nonzero)."""
    free = sorted(set().union(*(c.free_symbols for c in vector)), key=str)
    point = {s: sp.Rational(k + 3, 7) for k, s in enumerate(free)}
    return any(abs(sp.N(c.xreplace(point).doit(), digits)) > 1e-10 for c in vector)


def _numerator_reduced(expr: sp.Expr) -> sp.Expr:
    num = sp.numer(sp.together(sp.expand(expr)))
    roots = {p.base: sp.Dummy() for p in num.atoms(sp.Pow) if sp.Rational(p.exp).q == 2
             if p.exp.is_Rational}
    num = sp.expand(num.replace(
        lambda e: e.is_Pow and e.base in roots and e.exp.is_Rational and e.exp.q == 2,
        lambda e: roots[e.base] ** int(2 * e.exp)))
    for base, r in roots.items():
        num = sp.expand(sp.rem(num, r**2 - base, r))
    return num


def agrees_to_order(coeffs: Series, p: int, point: dict | None = None) -> tuple[bool, str]:
    """(h^0 … h^{p+1} coefficients vanish exactly and the h^{p+2} one does not, detail).

    ``point`` ({symbol: rational}) evaluates the coefficients exactly there first (fast for
    large root expressions; the identity is then checked at that point only).
    """
    if point:
        coeffs = [c.xreplace(point) for c in coeffs]
    low = [k for k in range(p + 2) if not is_zero(coeffs[k])]
    top = is_nonzero(coeffs[p + 2])
    detail = f"nonzero below h^{p + 2}: {low}" if low else f"h^{p + 2} coefficient nonzero: {top}"
    return not low and top, detail


def gradient(loss: sp.Expr, theta) -> sp.Matrix:
    """∇L as a column vector."""
    return sp.Matrix([loss.diff(v) for v in theta])


def at(vector: sp.Matrix, theta, point) -> sp.Matrix:
    """``vector`` with θ replaced by ``point`` (simultaneous substitution; derivatives of an
    undefined loss become ``Subs`` objects, evaluated by ``map_coefficients``)."""
    return vector.subs(dict(zip(theta, point)), simultaneous=True)


def numeric_order(step_fn, field_fn, theta0, T: float = 1.0, steps=(0.04, 0.02, 0.01, 0.005)):
    """Fitted slope of log‖θ_map(T) − θ_flow(T)‖ against log h, and the errors.

    ``step_fn(state, h) -> state`` is one step of the simulated method; ``theta0`` is its
    initial state: θ₀, or a tuple (θ₀, *buffers) for a method with memory (Adam's m, v).
    ``field_fn(θ, h) -> θ̇`` is the modified field (order p); the flow is DOP853 at rtol 1e-13.
    The expected slope is p + 1 (HLW IX.1, Thm 1.2 over a fixed time T).
    """
    errors = []
    for step in steps:
        state = theta0
        for _ in range(round(T / step)):
            state = step_fn(state, step)
        theta_map = np.asarray(state[0] if isinstance(state, tuple) else state, dtype=float)
        start = np.asarray(theta0[0] if isinstance(theta0, tuple) else theta0, dtype=float)
        sol = solve_ivp(lambda _, th: np.asarray(field_fn(th, step), dtype=float), (0.0, T),
                        start, method="DOP853", rtol=1e-13, atol=1e-15)
        errors.append(float(np.linalg.norm(theta_map - sol.y[:, -1])))
    slope = float(np.polyfit(np.log(steps), np.log(errors), 1)[0])
    return slope, errors
