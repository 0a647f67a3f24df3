"""Exact local error of the modified flows: series in h, independent of the B-series engine.

Backward error analysis (Hairer, Lubich, Wanner, *Geometric Numerical Integration*, IX.1)
claims: if f_h^{[p]} is the modified field truncated after h^p, then one step Φ_h of the
method and the time-h flow of f_h^{[p]} agree to O(h^{p+2}).  Here both sides are computed
on a generic polynomial loss in 2 variables at a symbolic point θ = (x, y), as power series in
h = η, by two paths that share nothing but the field under test:

* the step Φ_h is written from the method's update rule (not from its Butcher tableau) and
  expanded in h (for a polynomial loss it is a polynomial in h, so the expansion is its Taylor
  series; ``tests/test_derivations_local_error.py`` compares it with ``sympy.series``);
* the flow of f_h is its Lie series Σ_k (h^k/k!) D^k θ, D g = (∂g/∂θ) f_h, computed directly
  from the concrete vector field (not from the B-series of the flow).

The check passes when the coefficients of h^1 … h^{p+1} of Φ_h(θ) − exp(h f_h)(θ) vanish as
polynomials in θ and the coefficient of h^{p+2} does not (so the check can fail).  Stage
offsets are held proportional to η (ε = a·η, γ = b·ε, ρ = c·η), the expansion convention of
``methods.py``; a, b, c stay symbolic unless rational values are given.

The published first-order modified losses are checked the same way, their flows built from
the loss alone: GD, L̃ = L + (η/4)‖∇L‖² (Barrett & Dherin, arXiv:2009.11162, Thm 3.1);
unnormalized SAM with ρ = c·η, L̃ = L + (η/4 + ρ/2)‖∇L‖² (Andriushchenko & Flammarion,
arXiv:2206.06232, and the B-series split of ``modified_equations``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import sympy as sp
from sympy import QQ
from sympy.polys.rings import ring

from . import gradient_form, modified_equations, trees
from .methods import BGR, EXTRAGRADIENT, FGR, GD, SAM, Method, eps, eta, gamma, rho
from .trees import Tree

x, y = sp.symbols("x y", real=True)
THETA = (x, y)
#: A generic quartic loss: every monomial of degree 2–4 with a distinct rational coefficient,
#: so the elementary differentials up to order 4 are independent functions of θ.
LOSS = (x**2 / 2 + y**2 + x * y / 4 + x**3 / 3 - x**2 * y / 2 + x * y**2 / 5 + y**3 / 7
        + x**4 / 6 + x**3 * y / 9 - x**2 * y**2 / 8 + x * y**3 / 10 + y**4 / 4)

#: Stage offsets in units of η: ε = a·η, γ = b·ε, ρ = c·η.
a, b, c = sp.symbols("a b c", positive=True)
RATIOS = {eps: a * eta, gamma: b * a * eta, rho: c * eta}

#: Polynomials in (x, y, η, a, b, c) over Q (sympy's sparse ring: fast exact arithmetic).
RING, _X, _Y, _H, *_ = ring((x, y, eta, a, b, c), QQ)

Vector = tuple  # a pair (component x, component y)
Gradient = Callable[[Vector], Vector]


def _gd(g: Gradient, th: Vector) -> Vector:
    """GD: θ − η∇L(θ)."""
    return _axpy(-eta, g(th), th)


def _fgr(g: Gradient, th: Vector) -> Vector:
    """F-GR (Karakida et al., arXiv:2210.02720, Alg. 1): θ − η[(1 − γ/ε)∇L + (γ/ε)∇L(θ + ε∇L)]."""
    g0 = g(th)
    g1 = g(_axpy(eps, g0, th))
    return _axpy(-eta, tuple((1 - gamma / eps) * u + gamma / eps * v for u, v in zip(g0, g1)), th)


def _bgr(g: Gradient, th: Vector) -> Vector:
    """B-GR: θ − η[(1 + γ/ε)∇L − (γ/ε)∇L(θ − ε∇L)]."""
    g0 = g(th)
    g1 = g(_axpy(-eps, g0, th))
    return _axpy(-eta, tuple((1 + gamma / eps) * u - gamma / eps * v for u, v in zip(g0, g1)), th)


def _sam(g: Gradient, th: Vector) -> Vector:
    """Unnormalized SAM (Andriushchenko & Flammarion, arXiv:2206.06232): θ − η∇L(θ + ρ∇L)."""
    return _axpy(-eta, g(_axpy(rho, g(th), th)), th)


def _extragradient(g: Gradient, th: Vector) -> Vector:
    """Extragradient (Korpelevich 1976): θ − η∇L(θ − η∇L)."""
    return _axpy(-eta, g(_axpy(-eta, g(th), th)), th)


def _axpy(s, u: Vector, v: Vector) -> Vector:
    return tuple(s * ui + vi for ui, vi in zip(u, v))


#: One-step maps written from the update rules, keyed like ``methods.METHODS``.
STEPS: dict[str, Callable[[Gradient, Vector], Vector]] = {
    "gd": _gd, "fgr": _fgr, "bgr": _bgr, "sam": _sam, "extragradient": _extragradient,
}
METHODS = (GD, FGR, BGR, SAM, EXTRAGRADIENT)
METHODS_BY_NAME = {m.name: m for m in METHODS}


def _poly(expr, ratios=RATIOS):
    """A sympy expression in (x, y, η, γ, ε, ρ) as a ring element, stage offsets ∝ η."""
    return RING.from_expr(sp.expand(sp.sympify(expr).xreplace(ratios)))


def _truncate(p, n: int):
    """Drop the powers of η above n."""
    return RING({m: v for m, v in p.terms() if m[2] <= n})


def gradient(loss: sp.Expr = LOSS, n: int = 8) -> Gradient:
    """θ' ↦ ∇L(θ') (composition of ring elements, truncated after η^n)."""
    grad = [_poly(loss.diff(v)) for v in THETA]
    return lambda th: tuple(_truncate(gi.compose([(_X, _poly(th[0])), (_Y, _poly(th[1]))]), n)
                            for gi in grad)


def step_series(name: str, n: int, loss: sp.Expr = LOSS) -> Vector:
    """Φ_h(θ) of method ``name`` through h^n, h = η.

    For a polynomial loss Φ_h(θ) is a polynomial in h, so its Taylor series is its expansion:
    the stage offsets are substituted (ε = a·η, …) and the composition expanded exactly.
    """
    g = gradient(loss, n)
    step = STEPS[name]
    image = step(lambda th: tuple(gi.as_expr() for gi in g(th)), (x, y))
    return tuple(_truncate(_poly(e), n) for e in image)


def flow_series(field: Vector, n: int) -> Vector:
    """exp(h f_h)(θ) through h^n: the Lie series Σ_{k ≤ n} (h^k/k!) D^k θ, D g = (∂g/∂θ) f_h.

    ``field`` is a pair of ring elements and may depend on h = η; every term is truncated
    after h^n.
    """
    field = tuple(_truncate(fi, n) for fi in field)
    term, out = [_X, _Y], [_X, _Y]
    for k in range(1, n + 1):
        fk = [_truncate(fi, n - k) for fi in field]
        term = [_truncate(t.diff(_X) * fk[0] + t.diff(_Y) * fk[1], n - k) for t in term]
        out = [o + _H**k * t / sp.factorial(k) for o, t in zip(out, term)]
    return tuple(_truncate(o, n) for o in out)


def coefficients(diff: Vector, n: int) -> list[Vector]:
    """Coefficients of h^0 … h^n of a pair of ring elements (each in x, y, a, b, c)."""
    return [tuple(RING({m: v for m, v in d.terms() if m[2] == k}) for d in diff)
            for k in range(n + 1)]


def modified_vector_field(method: Method, p: int, field: dict[Tree, sp.Expr] | None = None,
                          loss: sp.Expr = LOSS) -> Vector:
    """Concrete f_h^{[p]} = Σ_τ C(τ) F(τ)(θ), f = −∇L, with C from ``modified_equations``.

    ``field`` replaces the derived coefficients (negative controls inject defects here).
    F(τ) is evaluated here by its recursive definition F([τ₁, …, τ_m]) = f^{(m)}(F(τ₁), …, F(τ_m))
    (HLW III.1), on ring elements.
    """
    coeffs = modified_equations.modified_field(method, p) if field is None else field
    f = tuple(-_poly(loss.diff(v)) for v in THETA)
    values: dict[Tree, Vector] = {}
    out = [RING(0), RING(0)]
    for t in sorted(coeffs, key=trees.order):
        values[t] = _elementary(f, [values[ch] for ch in t])
        out = [o + _poly(coeffs[t]) * v for o, v in zip(out, values[t])]
    return tuple(out)


def _elementary(f: Vector, args: list[Vector]) -> Vector:
    """f^{(m)}(θ)[w₁, …, w_m] = Σ_{i₁…i_m} ∂^m f/∂θ_{i₁}…∂θ_{i_m} w₁_{i₁} … w_m_{i_m}."""
    gens = (_X, _Y)
    out = [RING(0) for _ in f]
    for index in itertools.product(range(len(gens)), repeat=len(args)):
        weight = RING(1)
        for w, i in zip(args, index):
            weight *= w[i]
        for j, fj in enumerate(f):
            for i in index:
                fj = fj.diff(gens[i])
            out[j] += fj * weight
    return tuple(out)


def local_error(step: str, field: Vector, p: int, loss: sp.Expr = LOSS) -> list[Vector]:
    """Coefficients of h^0 … h^{p+2} of Φ_h(θ) − exp(h f_h)(θ)."""
    n = p + 2
    diff = tuple(s - e for s, e in zip(step_series(step, n, loss), flow_series(field, n)))
    return coefficients(diff, n)


def agrees_to_order(coeffs: list[Vector], p: int) -> tuple[bool, str]:
    """(h^0 … h^{p+1} coefficients vanish and the h^{p+2} one does not, detail)."""
    low = [k for k in range(p + 2) if any(coeffs[k])]
    top = any(coeffs[p + 2])
    detail = f"nonzero below h^{p + 2}: {low}" if low else f"h^{p + 2} coefficient nonzero: {top}"
    return not low and top, detail


def check_method(method: Method, p: int) -> tuple[str, bool, str]:
    """Step and time-h flow of the order-p modified field agree to O(h^{p+2}), not better."""
    ok, detail = agrees_to_order(local_error(method.name, modified_vector_field(method, p), p), p)
    return (f"{method.name}: Φ_h − exp(h f_h^[{p}]) = O(h^{p + 2}) exactly (series in h)", ok,
            detail)


def gd_loss(loss: sp.Expr = LOSS, theta=THETA) -> sp.Expr:
    """Barrett & Dherin's L̃ = L + (η/4)‖∇L‖² (arXiv:2009.11162, Thm 3.1)."""
    grad = sp.Matrix([loss.diff(v) for v in theta])
    return loss + eta / 4 * (grad.T * grad)[0, 0]


def sam_loss(loss: sp.Expr = LOSS, theta=THETA) -> sp.Expr:
    """Unnormalized SAM, ρ = O(η): L̃ = L + (η/4 + ρ/2)‖∇L‖² (arXiv:2206.06232)."""
    grad = sp.Matrix([loss.diff(v) for v in theta])
    return loss + (eta / 4 + rho / 2) * (grad.T * grad)[0, 0]


PUBLISHED = {"gd": gd_loss, "sam": sam_loss}


def check_published(name: str) -> list[tuple[str, bool, str]]:
    """The flow of −∇L̃ (published first-order loss) matches the step to O(h³), and the
    derived first-order field equals −∇L̃ (ρ = c·η for SAM)."""
    loss = PUBLISHED[name]()
    field = tuple(-_poly(loss.diff(v)) for v in THETA)
    ok, detail = agrees_to_order(local_error(name, field, 1), 1)
    derived = modified_vector_field(METHODS_BY_NAME[name], 1)
    return [(f"{name}: flow of −∇(published L̃) matches the step to O(h³) exactly", ok, detail),
            (f"{name}: derived first-order field = −∇(published L̃)", derived == field, "")]


METHODS_BY_NAME = {m.name: m for m in METHODS}


def check(p: int = 3) -> list[tuple[str, bool, str]]:
    """Every method at orders 0 … p, then the published first-order losses."""
    out = [check_method(m, q) for m in METHODS for q in range(p + 1)]
    return out + check_published("gd") + check_published("sam")


def equations(_: int) -> list[tuple[str, sp.Expr]]:
    """The published first-order modified losses checked here, in tree-scalar symbols."""
    grad_norm2 = trees.scalar_symbol(((),))
    return [("GD first-order modified loss", gradient_form.L + eta / 4 * grad_norm2),
            ("SAM first-order modified loss (rho = c eta)",
             gradient_form.L + (eta / 4 + rho / 2) * grad_norm2)]
