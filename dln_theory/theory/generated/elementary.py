"""Runtime evaluator of elementary differentials and modified fields (plain JAX, no sympy).

Hand-written companion of the generated coefficient tables in ``modified_fields.py``.
For θ̇ = f(θ) = −∇L(θ), the elementary differential of a rooted tree τ = [τ₁, …, τ_m] is
    F(•) = f,  F(τ) = f^{(m)}(θ)[F(τ₁), …, F(τ_m)]
(Hairer, Lubich, Wanner, *Geometric Numerical Integration*, III.1), evaluated by m nested
forward-mode directional derivatives (``jax.jvp``) of f with the F(τ_k) held fixed.
Trees are nested tuples: ``()`` is •, ``((),)`` is [•] (f'f), ``((), ())`` is f''(f,f).
A modified field is f_h = Σ_τ C(τ) F(τ) with C(τ) a polynomial in (h, γ, ε, ρ, β, …).
θ may be any pytree of float arrays (it is flattened with ``ravel_pytree``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

Tree = tuple


def tree_order(tree: Tree) -> int:
    """Number of vertices |τ|."""
    return 1 + sum(tree_order(child) for child in tree)


def _directional(fn: Callable, vector: jax.Array) -> Callable:
    return lambda x: jax.jvp(fn, (x,), (vector,))[1]


def elementary_differentials(loss: Callable, theta, trees: Iterable[Tree]) -> dict:
    """{τ: F(τ)(θ)} for f = −∇L, as flat arrays (θ flattened by ``ravel_pytree``)."""
    flat, unravel = ravel_pytree(theta)

    def field(x):
        return -ravel_pytree(jax.grad(loss)(unravel(x)))[0]

    cache: dict[Tree, jax.Array] = {}

    def value(tree: Tree) -> jax.Array:
        if tree not in cache:
            fn = field
            for child in tree:
                fn = _directional(fn, value(child))
            cache[tree] = fn(flat)
        return cache[tree]

    return {tree: value(tree) for tree in trees}


def evaluate(loss: Callable, theta, terms: Iterable[tuple[Tree, jax.Array]]):
    """Σ_τ C(τ) F(τ)(θ) for (τ, C(τ)) pairs; returns a pytree shaped like θ."""
    terms = list(terms)
    diffs = elementary_differentials(loss, theta, [tree for tree, _ in terms])
    flat, unravel = ravel_pytree(theta)
    total = jnp.zeros_like(flat)
    for tree, coeff in terms:
        total = total + coeff * diffs[tree]
    return unravel(total)


def modified_field(loss: Callable, table: Callable, order: int, max_order: int) -> Callable:
    """(θ, *params) -> f_h(θ) truncated after h^order, from a coefficient ``table(*params)``.

    ``table`` returns (τ, C(τ)) pairs for all trees up to order ``max_order + 1``.
    """
    if not 0 <= order <= max_order:
        raise ValueError(f"order must be in 0..{max_order}, got {order}")

    def field(theta, *params):
        terms = [(t, c) for t, c in table(*params) if tree_order(t) <= order + 1]
        return evaluate(loss, theta, terms)

    return field
