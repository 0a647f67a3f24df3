"""Modified loss and non-gradient remainder of a B-series field for f = −∇L.

For f = −∇L, F(τ) = (−1)^{|τ|} G(τ) with G(τ) the contraction of derivative tensors of L
along τ.  Each free tree t with n vertices gives a scalar S(t) (‖∇L‖², ∇LᵀH∇L, …) with
    ∇S(t) = Σ_{v ∈ t} G(t rooted at v)            (one derivative more at one vertex).
The order-n part of a field, Σ c(τ)F(τ), is split as ∇(Σ_t w_t S(t)) + Σ r(τ)F(τ) with r
supported on the trees that are not pivots of the gradient span (bushy trees are pivots), so
    f_h = −∇L̃ + R,  L̃ = c(•) L − Σ_t w_t S(t).
Barrett & Dherin (arXiv:2009.11162) give order 1; the order-2 remainder −(1/6)H²∇L for GD is
docs/conventions.md §5 [derived].
"""

from __future__ import annotations

import sympy as sp

from . import trees
from .bseries import elementary_differentials
from .trees import Tree

L = sp.Symbol("L")


def gradient_basis(n: int) -> tuple[list[Tree], list[Tree], sp.Matrix]:
    """(free-tree representatives, rooted trees of order n, matrix of ∇S(t) in F-coordinates)."""
    rooted = list(trees.trees_of_order(n))
    free = trees.free_trees_of_order(n)
    rows = [[(-1) ** n * counts.get(t, 0) for t in rooted] for _, counts in free]
    return [rep for rep, _ in free], rooted, sp.Matrix(rows)


def split(field: dict[Tree, sp.Expr]) -> tuple[sp.Expr, dict[Tree, sp.Expr]]:
    """Split a field (coefficients of F(τ), h-powers included) into L̃ and the remainder.

    Returns (L̃ as an expression in L and scalar symbols S(t), remainder coefficients r(τ)).
    """
    loss = field.get(trees.LEAF, 0) * L
    remainder: dict[Tree, sp.Expr] = {}
    top = max(trees.order(t) for t in field)
    for n in range(2, top + 1):
        reps, rooted, basis = gradient_basis(n)
        c = sp.Matrix([[field.get(t, 0) for t in rooted]])
        _, pivots = basis.rref()
        w = basis[:, list(pivots)].T.solve(c[:, list(pivots)].T)
        r = c - w.T * basis
        loss -= sum(wi * trees.scalar_symbol(rep) for wi, rep in zip(w, reps))
        remainder.update(
            {t: sp.factor(ri) for t, ri in zip(rooted, r) if sp.simplify(ri) != 0}
        )
    return sp.expand(loss), remainder


def remainder_symbols(remainder: dict[Tree, sp.Expr]) -> sp.Expr:
    """Remainder Σ r(τ)F(τ) written with G-labels: Σ r(τ)(−1)^{|τ|} G(τ) (H²∇L, …)."""
    return sp.Add(
        *[(-1) ** trees.order(t) * c * trees.grad_symbol(t) for t, c in remainder.items()]
    )


def grad_values(loss: sp.Expr, theta, n: int) -> dict[Tree, sp.Matrix]:
    """Concrete G(τ)(θ) = (−1)^{|τ|} F(τ)(θ) for f = −∇L, trees up to order n."""
    f = -sp.Matrix([loss.diff(x) for x in theta])
    return {
        t: (-1) ** trees.order(t) * v
        for t, v in elementary_differentials(f, theta, n).items()
    }


def scalar_value(tree: Tree, loss: sp.Expr, theta) -> sp.Expr:
    """Concrete S(t) = ∇Lᵀ G(τ') for the free tree of ``tree``."""
    rest = trees.leaf_split(tree)
    g = grad_values(loss, theta, trees.order(rest))
    return (g[trees.LEAF].T * g[rest])[0, 0]


def concrete_loss(loss_expr: sp.Expr, loss: sp.Expr, theta, n: int) -> sp.Expr:
    """Substitute the concrete L and S(t) (free trees up to n vertices) into L̃."""
    repl: dict[sp.Symbol, sp.Expr] = {L: loss}
    for k in range(2, n + 1):
        for rep, _ in trees.free_trees_of_order(k):
            repl[trees.scalar_symbol(rep)] = scalar_value(rep, loss, theta)
    return loss_expr.xreplace(repl)


def curl(field: sp.Matrix, theta) -> sp.Expr:
    """∂₁F₂ − ∂₂F₁ of a 2-D field: zero for every gradient field."""
    return sp.simplify(field[1].diff(theta[0]) - field[0].diff(theta[1]))
