"""Symbolic derivations of dln-theory (sympy): B-series backward error analysis, momentum and
SGD modified flows, finite-difference GR expansions, DLN implicit bias, code generation.

Each module returns sympy objects and has ``check() -> [(name, passed, detail)]``.
Public entry points:
    run(names, check=True, latex=False, order=2, out="derivations") -> exit code  (``registry.run``)
    check() -> all checks of all modules
    timing(orders=(1, 2, 3, 4)) -> {order: {"tree": s, "dln": s}}
"""

from __future__ import annotations

import time

from .registry import list_names as list_names, run as run


def check(p: int = 2) -> list[tuple[str, bool, str]]:
    """Every check of every module (modified equations to order p)."""
    from . import (alpha_identity, finite_difference, implicit_bias,
                             modified_equations, multistep)

    return (modified_equations.check(p) + multistep.check(p) + finite_difference.check()
            + implicit_bias.check() + alpha_identity.check())


def timing(orders=(1, 2, 3, 4)) -> dict[int, dict[str, float]]:
    """Seconds per order p: "tree" = modified fields of GD, F-GR and SAM in elementary-differential
    form (trees up to order p + 1, uncached); "dln" = GD's order-p field on the symbolic
    2-coordinate P-E DLN loss, built and evaluated exactly at a rational point."""
    import sympy as sp

    from . import examples, methods, modified_equations, trees

    loss, theta, X, Y = examples.dln_loss(2)
    point = {s: sp.Rational(k + 2, 7)
             for k, s in enumerate((*theta, *X, *Y, methods.eta))}
    out = {}
    for p in orders:
        trees.trees_of_order.cache_clear()
        trees.free_trees_of_order.cache_clear()
        start = time.perf_counter()
        for method in (methods.GD, methods.FGR, methods.SAM):
            modified_equations.tree_form(modified_equations.modified_field(method, p))
        mid = time.perf_counter()
        modified_equations.vector_field(methods.GD, loss, theta, p).xreplace(point)
        out[p] = {"tree": mid - start, "dln": time.perf_counter() - mid}
    return out
