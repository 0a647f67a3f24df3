"""Rooted trees for B-series (Hairer, Lubich, Wanner, *Geometric Numerical Integration*, ch. III).

A rooted tree is a canonical nested tuple: the one-vertex tree • is ``()`` and
τ = [τ₁, …, τ_m] is the sorted tuple of its canonical children.  Python's tuple order is a
total order on these, so ``sorted`` gives a canonical form and a deterministic tree order
(bushy trees first: ``((), ())`` = f''(f,f) before ``(((),),)`` = f'f'f).

Two label families are provided:
  * ``label_f``: elementary differentials F(τ) of a field f (f, f'f, f''(f,f), f'f'f, …);
  * ``label_grad``: G(τ) = (−1)^{|τ|} F(τ) for f = −∇L (∇L, H∇L, ∇³L[∇L,∇L], H²∇L, …).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from math import factorial

import sympy as sp

Tree = tuple

LEAF: Tree = ()


def canonical(children) -> Tree:
    """Canonical tree [children] (children already canonical)."""
    return tuple(sorted(children))


def order(tree: Tree) -> int:
    """Number of vertices |τ|."""
    return 1 + sum(order(c) for c in tree)


@lru_cache(maxsize=None)
def trees_of_order(n: int) -> tuple[Tree, ...]:
    """All rooted trees with n vertices, sorted (1, 1, 2, 4, 9, 20, … of them)."""
    if n == 1:
        return (LEAF,)
    found = set()
    for tree in trees_of_order(n - 1):
        found.update(graft(tree, LEAF))
    return tuple(sorted(found))


def trees_up_to(n: int) -> tuple[Tree, ...]:
    """All rooted trees with at most n vertices, by order then canonical order."""
    return tuple(t for k in range(1, n + 1) for t in trees_of_order(k))


def symmetry(tree: Tree) -> int:
    """σ(τ) = Π k_j! σ(τ_j)^{k_j} for τ = [τ₁^{k₁}, …] (HLW III.1)."""
    out = 1
    for child, k in Counter(tree).items():
        out *= factorial(k) * symmetry(child) ** k
    return out


def density(tree: Tree) -> int:
    """γ(τ) = |τ| Π γ(τ_j) (HLW III.1); the exact flow has coefficient 1/(σ(τ)γ(τ))."""
    out = order(tree)
    for child in tree:
        out *= density(child)
    return out


def graft(tree: Tree, sub: Tree) -> list[Tree]:
    """Trees obtained by attaching ``sub`` to each vertex of ``tree`` (with multiplicity).

    This is the Leibniz rule: F(τ)'(y)·F(u) = Σ_{v ∈ vertices(τ)} F(τ ∘_v u).
    """
    out = [canonical(tree + (sub,))]
    for i, child in enumerate(tree):
        rest = tree[:i] + tree[i + 1 :]
        out.extend(canonical(rest + (g,)) for g in graft(child, sub))
    return out


def _adjacency(tree: Tree) -> list[list[int]]:
    adj: list[list[int]] = []

    def walk(t: Tree, parent: int | None) -> None:
        me = len(adj)
        adj.append([] if parent is None else [parent])
        if parent is not None:
            adj[parent].append(me)
        for child in t:
            walk(child, me)

    walk(tree, None)
    return adj


def _rooted_at(adj: list[list[int]], v: int, parent: int | None = None) -> Tree:
    return canonical(_rooted_at(adj, w, v) for w in adj[v] if w != parent)


def rerootings(tree: Tree) -> list[Tree]:
    """The rooted trees obtained by rooting the underlying free tree at each vertex."""
    adj = _adjacency(tree)
    return [_rooted_at(adj, v) for v in range(len(adj))]


@lru_cache(maxsize=None)
def free_trees_of_order(n: int) -> tuple[tuple[Tree, Counter], ...]:
    """Free (unrooted) trees with n vertices, each as (representative, Counter of rootings).

    For f = −∇L the scalar S(t) of a free tree t (tensors ∇^{deg v}L contracted along edges)
    has gradient ∇S(t) = Σ_v G(t rooted at v): the Counter lists these rooted trees.
    """
    groups: dict[Tree, Counter] = {}
    for tree in trees_of_order(n):
        roots = rerootings(tree)
        key = min(roots)
        if key not in groups:
            groups[key] = Counter(roots)
    return tuple((key, groups[key]) for key in sorted(groups))


def label_f(tree: Tree) -> tuple[str, str]:
    """(text, LaTeX) of the elementary differential F(τ): f, f'f, f''(f,f), f'f'f, …"""
    if not tree:
        return "f", "f"
    primes = "'" * len(tree)
    parts = [label_f(c) for c in tree]
    if len(tree) == 1:
        return "f" + primes + parts[0][0], "f" + primes + parts[0][1]
    text = ",".join(p[0] for p in parts)
    tex = ",".join(p[1] for p in parts)
    return f"f{primes}({text})", f"f{primes}({tex})"


def label_grad(tree: Tree) -> tuple[str, str]:
    """(text, LaTeX) of G(τ) = (−1)^{|τ|}F(τ) for f = −∇L: ∇L, H∇L, ∇³L[∇L,∇L], H²∇L, …"""
    if not tree:
        return "∇L", r"\nabla L"
    if len(tree) == 1:
        power, inner = 1, tree[0]
        while len(inner) == 1:
            power, inner = power + 1, inner[0]
        text, tex = label_grad(inner)
        sup = "" if power == 1 else _superscript(power)
        texsup = "" if power == 1 else f"^{{{power}}}"
        return f"H{sup}{text}", f"H{texsup}{tex}"
    parts = [label_grad(c) for c in tree]
    m = len(tree) + 1
    text = f"∇{_superscript(m)}L[" + ",".join(p[0] for p in parts) + "]"
    tex = rf"\nabla^{{{m}}}L[" + ",".join(p[1] for p in parts) + "]"
    return text, tex


def leaf_split(tree: Tree) -> Tree:
    """τ' with S(t) = ∇Lᵀ G(τ'): the free tree of ``tree`` rooted next to a leaf, leaf removed.

    Among the candidates the smallest in tree order is taken (deterministic labels).
    """
    candidates = [
        root[:i] + root[i + 1 :]
        for root in rerootings(tree)
        for i, child in enumerate(root)
        if child == LEAF
    ]
    if not candidates:
        raise ValueError("a free tree needs n ≥ 2 vertices")
    return min(candidates)


def label_scalar(tree: Tree) -> tuple[str, str]:
    """(text, LaTeX) of the scalar S(t) = ∇Lᵀ G(τ') of the free tree of ``tree`` (n ≥ 2).

    ‖∇L‖² and ∇^kL[∇L, …] are used where they apply.
    """
    rest = leaf_split(tree)
    if rest == LEAF:
        return "‖∇L‖²", r"\|\nabla L\|^{2}"
    if len(rest) >= 2:
        parts = [label_grad(c) for c in (LEAF,) + rest]
        m = len(rest) + 1
        text = f"∇{_superscript(m)}L[" + ",".join(p[0] for p in parts) + "]"
        tex = rf"\nabla^{{{m}}}L[" + ",".join(p[1] for p in parts) + "]"
        return text, tex
    text, tex = label_grad(rest)
    return f"∇Lᵀ{text}", rf"\nabla L^\top {tex}"


def _superscript(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


_LATEX: dict[sp.Symbol, str] = {}


def _symbol(text: str, tex: str) -> sp.Symbol:
    sym = sp.Symbol(text, commutative=True)
    _LATEX[sym] = tex
    return sym


def f_symbol(tree: Tree) -> sp.Symbol:
    """Sympy symbol standing for F(τ) (name from ``label_f``)."""
    return _symbol(*label_f(tree))


def grad_symbol(tree: Tree) -> sp.Symbol:
    """Sympy symbol standing for G(τ) (name from ``label_grad``)."""
    return _symbol(*label_grad(tree))


def scalar_symbol(tree: Tree) -> sp.Symbol:
    """Sympy symbol standing for the scalar S(t) of the free tree of ``tree``."""
    return _symbol(*label_scalar(tree))


def latex_names() -> dict[sp.Symbol, str]:
    """LaTeX names for every tree symbol created so far (for ``sympy.latex(symbol_names=…)``)."""
    return dict(_LATEX)
