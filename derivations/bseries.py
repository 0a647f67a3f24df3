"""B-series algebra (Hairer, Lubich, Wanner, *Geometric Numerical Integration*, ch. III and IX).

Convention (unnormalized): a B-series is ``c: tree -> coefficient`` standing for
    B(c, y) = y + Σ_τ h^{|τ|} c(τ) F(τ)(y),
so c(τ) = a(τ)/σ(τ) in HLW's normalization.  A B-series *field* ``d`` stands for
    f_h(y) = Σ_τ h^{|τ|-1} d(τ) F(τ)(y).
With this convention the Lie derivative is plain grafting (``trees.graft``) and
    h f(B(c, y)) = Σ_τ h^{|τ|} c'(τ) F(τ),  c'(•) = 1,  c'([τ₁^{k₁}, …]) = Π c(τ_j)^{k_j}/k_j!.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from math import factorial

import sympy as sp

from . import trees
from .trees import Tree


def exact_flow(n: int) -> dict[Tree, sp.Rational]:
    """Exact h-flow of y' = f: c(τ) = 1/(σ(τ)γ(τ)) (HLW §III.1)."""
    return {
        t: sp.Rational(1, trees.symmetry(t) * trees.density(t)) for t in trees.trees_up_to(n)
    }


def compose_f(c: dict[Tree, sp.Expr], n: int) -> dict[Tree, sp.Expr]:
    """Coefficients of h f(B(c, y)) up to order n (HLW §III.1, composition with f)."""
    return {t: _compose_one(c, t) for t in trees.trees_up_to(n)}


def runge_kutta(A, b, n: int) -> dict[Tree, sp.Expr]:
    """B-series of one explicit Runge–Kutta step with Butcher tableau (A, b), up to order n.

    Stages Y_i = y + h Σ_j a_ij f(Y_j), y₁ = y + h Σ_i b_i f(Y_i).  Entries may be symbolic.
    Returns c(τ) = Σ_i b_i ψ_i(τ) with ψ_i the coefficients of h f(Y_i) (HLW §III.1).
    """
    s = len(b)
    eta: list[dict[Tree, sp.Expr]] = [dict() for _ in range(s)]
    out: dict[Tree, sp.Expr] = {}
    for t in trees.trees_up_to(n):
        psi = [_compose_one(eta[i], t) for i in range(s)]
        for i in range(s):
            eta[i][t] = sp.expand(sum(A[i][j] * psi[j] for j in range(s)))
        out[t] = sp.expand(sum(b[i] * psi[i] for i in range(s)))
    return out


def _compose_one(c: dict[Tree, sp.Expr], t: Tree) -> sp.Expr:
    value = sp.Integer(1)
    for child, k in Counter(t).items():
        value *= c.get(child, 0) ** k / factorial(k)
    return value


def lie_terms(d: dict[Tree, sp.Expr], n: int) -> list[dict[Tree, sp.Expr]]:
    """Terms D^k y (k = 1..n) of the Lie series of the field d, up to tree order n.

    The flow of f_h at time s·h is B(c, y) with c = Σ_k s^k/k! (D^k y) (HLW IX.9).
    """
    terms = [dict(d)]
    for _ in range(1, n):
        nxt: dict[Tree, sp.Expr] = defaultdict(lambda: sp.Integer(0))
        for t, ct in terms[-1].items():
            for u, du in d.items():
                if trees.order(t) + trees.order(u) > n or ct == 0 or du == 0:
                    continue
                for g in trees.graft(t, u):
                    nxt[g] += ct * du
        terms.append(dict(nxt))
    return terms


def flow(d: dict[Tree, sp.Expr], n: int, s=1) -> dict[Tree, sp.Expr]:
    """B-series coefficients of the flow of the field d at time s·h, up to order n."""
    out: dict[Tree, sp.Expr] = defaultdict(lambda: sp.Integer(0))
    for k, term in enumerate(lie_terms(d, n), start=1):
        for t, ct in term.items():
            out[t] += sp.Integer(s) ** k / factorial(k) * ct
    return {t: sp.expand(out[t]) for t in trees.trees_up_to(n)}


def as_tree_symbols(coeffs: dict[Tree, sp.Expr], label=trees.f_symbol) -> sp.Expr:
    """Σ_τ C(τ) · symbol(τ), a linear combination of tree symbols (f, f'f, …)."""
    return sp.Add(*[c * label(t) for t, c in coeffs.items()])


def directional_derivatives(f: sp.Matrix, theta, m: int):
    """f^{(m)}(y)[w₁, …, w_m] with placeholder vectors w_k (nested directional derivatives).

    Returns (expression, placeholders) where placeholders[k] are the symbols of w_{k+1}.
    """
    dim = len(theta)
    placeholders = [sp.symbols(f"_w{k}_0:{dim}") for k in range(m)]
    expr = sp.Matrix(f)
    for k in range(m):
        expr = sum((expr.diff(theta[i]) * placeholders[k][i] for i in range(dim)),
                   sp.zeros(*expr.shape))
    return expr, placeholders


def elementary_differentials(f: sp.Matrix, theta, n: int) -> dict[Tree, sp.Matrix]:
    """Concrete F(τ)(θ) for all trees up to order n, for a sympy vector field f(θ)."""
    f = sp.Matrix(f)
    derivs = {}
    out: dict[Tree, sp.Matrix] = {}
    for t in trees.trees_up_to(n):
        if not t:
            out[t] = f
            continue
        m = len(t)
        if m not in derivs:
            derivs[m] = directional_derivatives(f, theta, m)
        expr, holders = derivs[m]
        repl = {}
        for k, child in enumerate(t):
            repl.update(zip(holders[k], out[child]))
        out[t] = expr.xreplace(repl)
    return out


def evaluate(coeffs: dict[Tree, sp.Expr], f: sp.Matrix, theta) -> sp.Matrix:
    """Concrete vector Σ_τ C(τ) F(τ)(θ)."""
    diffs = elementary_differentials(f, theta, max(trees.order(t) for t in coeffs))
    out = sp.zeros(len(theta), 1)
    for t, c in coeffs.items():
        if c != 0:
            out += c * diffs[t]
    return out
