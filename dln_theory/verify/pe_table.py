"""The row of the P-E A/B table (`dln_theory.theory.effective_init`) for a method object.

`pe_terms` reads a method's hyper-parameters and calls the β-space formula of its family, so
the exact identity u'² − v'² = [(1 − ηB)² − η²A²](u² − v²) can check the method's own
parameter-space step. Weight decay λ adds λ to B; momentum breaks the form.
"""

import functools

import jax.numpy as jnp

from ..dynamics import BGR, FGR, GD, GR, SAM, SGD, Flooding, Method
from ..theory import effective_init as eff


@functools.singledispatch
def pe_terms(method: Method, objective, params):
    """(A, B) of one step of ``method`` at P-E ``params`` on ``objective``, the step's (mini)batch.

    Raises:
        ValueError: the method's update is not of the A/B form (momentum, per-example GR, …).
    """
    raise ValueError(f"method={type(method).__name__} is not allowed: its update is not of the A/B form")


def _with_options(method, terms):
    A, B = terms
    if method.momentum is not None:
        raise ValueError(f"momentum={method.momentum} is not allowed: the A/B form needs no momentum")
    return A, B if method.weight_decay is None else B + method.weight_decay


@pe_terms.register(GD)
@pe_terms.register(SGD)
def _(method, objective, params):
    return _with_options(method, eff.pe_terms_gd(objective, params))


@pe_terms.register
def _(method: Flooding, objective, params):
    A, B = eff.pe_terms_gd(objective, params)
    return _with_options(method, (jnp.sign(objective.loss(params) - method.b) * A, B))


@pe_terms.register
def _(method: GR, objective, params):
    if method.per_example:
        raise ValueError("per_example=True is not allowed here: the A/B table is for full-batch GR")
    return _with_options(method, eff.pe_terms_gr(objective, params, method.gamma))


@pe_terms.register
def _(method: FGR, objective, params):
    return _with_options(method, eff.pe_terms_fgr(objective, params, method.gamma, method.eps, method.normalize))


@pe_terms.register
def _(method: BGR, objective, params):
    return _with_options(method, eff.pe_terms_bgr(objective, params, method.gamma, method.eps, method.normalize))


@pe_terms.register
def _(method: SAM, objective, params):
    return _with_options(method, eff.pe_terms_sam(objective, params, method.rho, method.normalize,
                                                  method.group_size))
