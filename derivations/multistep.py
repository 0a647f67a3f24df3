"""Modified flows of heavy-ball momentum and of SGD with random reshuffling.

Heavy ball (Ghosh et al., arXiv:2302.00849; docs/conventions.md §5), θ_{n+1} = θ_n − h∇L + β(θ_n − θ_{n−1}),
is the two-step method θ_{n+1} − (1+β)θ_n + βθ_{n−1} = h f(θ_n), f = −∇L.  Its principal
modified field f_h solves Σ_j α_j Φ_{jh}(θ) = h Σ_j β_j f(Φ_{jh}(θ)) with Φ_t the flow of f_h
(HLW IX.9, multistep methods); order 1:
    θ̇ = −(1/(1−β)) ∇[L + h(1+β)/(4(1−β)²) ‖∇L‖²].
SGD with random reshuffling (Smith et al., arXiv:2101.12176), C = (1/m)Σ_k Ĉ_k, step ε, the
epoch map averaged over all m! orderings follows, at first order in ε,
    θ̇ = −∇[C + (ε/4m) Σ_k ‖∇Ĉ_k‖²]     (time mε per epoch).
"""

from __future__ import annotations

from itertools import permutations
from math import factorial

import numpy as np
import sympy as sp

from . import _numerics, bseries, examples, gradient_form, trees
from .methods import eta
from .modified_equations import GD, modified_field
from .trees import Tree

beta = sp.Symbol("beta", positive=True)
epsilon_sgd = sp.Symbol("epsilon", positive=True)


def lmm_coefficients(alpha: dict, betas: dict, n: int) -> dict[Tree, sp.Expr]:
    """d(τ), |τ| ≤ n, of the principal modified field of Σ_j α_j y_{k+j} = h Σ_j β_j f(y_{k+j}).

    The flow at time j·h has coefficient j d(τ) + (lower-order terms), so order by order
    d(τ) = −[Σ_j α_j R_j(τ) − Σ_j β_j (f∘Φ_{jh})(τ)] / Σ_j j α_j.
    """
    offsets = sorted(set(alpha) | set(betas))
    denom = sum(j * a for j, a in alpha.items())
    d: dict[Tree, sp.Expr] = {}
    for k in range(1, n + 1):
        level = trees.trees_of_order(k)
        d.update({t: sp.Integer(0) for t in level})
        flows = {j: bseries.flow(d, k, s=j) for j in offsets}
        composed = {j: bseries.compose_f(flows[j], k) for j in betas}
        for t in level:
            lhs = sum(a * flows[j][t] for j, a in alpha.items())
            rhs = sum(b * composed[j][t] for j, b in betas.items())
            d[t] = sp.factor(sp.expand(-(lhs - rhs) / denom))
    return d


def heavy_ball_field(p: int) -> dict[Tree, sp.Expr]:
    """Coefficients C(τ) = h^{|τ|-1} d(τ) (h = η) of heavy ball's modified field up to h^p."""
    d = lmm_coefficients({-1: beta, 0: -(1 + beta), 1: sp.Integer(1)}, {0: sp.Integer(1)}, p + 1)
    return {t: sp.factor(eta ** (trees.order(t) - 1) * c) for t, c in d.items()}


def heavy_ball_loss(p: int = 1) -> sp.Expr:
    """(1−β) L̃ for heavy ball: the bracket of θ̇ = −(1/(1−β))∇[…] (+ remainder from order 2)."""
    loss, _ = gradient_form.split(heavy_ball_field(p))
    return sp.expand(sp.simplify((1 - beta) * loss))


def rr_epoch(losses, theta, order: int = 2) -> sp.Matrix:
    """Mean over all orderings of one epoch of GD steps on the batch losses, to O(ε^order).

    Returns the displacement θ_m − θ as a polynomial in ε (coefficients at θ).
    """
    grads = [sp.Matrix([c.diff(v) for v in theta]) for c in losses]
    total = sp.zeros(len(theta), 1)
    for perm in permutations(range(len(losses))):
        delta = sp.zeros(len(theta), 1)
        for k in perm:
            delta = delta - epsilon_sgd * _shifted(grads[k], theta, delta, order - 1)
            delta = delta.applyfunc(lambda e: _truncate(e, order))
        total += delta
    return (total / factorial(len(losses))).applyfunc(sp.expand)


def _shifted(g: sp.Matrix, theta, delta: sp.Matrix, order: int) -> sp.Matrix:
    """g(θ + δ) to O(ε^order) by the Taylor series Σ_m (1/m!) D^m g[δ, …, δ]."""
    out = g
    for m in range(1, order + 1):
        expr, holders = bseries.directional_derivatives(g, theta, m)
        repl = {w: dk for k in range(m) for w, dk in zip(holders[k], delta)}
        out = out + expr.xreplace(repl) / factorial(m)
    return out


def _truncate(expr: sp.Expr, order: int) -> sp.Expr:
    expr = sp.expand(expr)
    return sum(expr.coeff(epsilon_sgd, k) * epsilon_sgd**k for k in range(order + 1))


def rr_first_order_field(losses, theta) -> sp.Matrix:
    """F₁ in θ̇ = −∇C + ε F₁ matching the mean epoch map over time mε at O(ε²).

    Flow over time mε: θ + mε F + (mε)²/2 F'F; with F = −∇C + εF₁ the ε² term gives
    m F₁ = [mean epoch]_{ε²} − (m²/2) H_C ∇C.
    """
    m = len(losses)
    C = sum(losses) / m
    grad = sp.Matrix([C.diff(v) for v in theta])
    hess = sp.hessian(C, theta)
    second = rr_epoch(losses, theta).applyfunc(lambda e: e.coeff(epsilon_sgd, 2))
    return ((second - sp.Rational(m**2, 2) * hess * grad) / m).applyfunc(sp.expand)


def rr_modified_loss(losses, theta) -> sp.Expr:
    """Smith et al.: C + (ε/4m) Σ_k ‖∇Ĉ_k‖²."""
    m = len(losses)
    norms = [sum(c.diff(v) ** 2 for v in theta) for c in losses]
    return sum(losses) / m + epsilon_sgd / (4 * m) * sum(norms)


def rr_general_m() -> tuple[sp.Expr, sp.Expr]:
    """General-m argument: (P(batch a precedes b), F₁ in units of Σ_a H_a∇Ĉ_a).

    In an epoch the ε² term is Σ_{j<k} H_{π(k)}∇Ĉ_{π(j)}; its mean is P·Σ_{a≠b}H_b∇Ĉ_a with
    P = Σ_{j<k} 1/(m(m−1)) = 1/2.  With S = Σ_{a,b}H_b∇Ĉ_a = m²H_C∇C and Q = Σ_a H_a∇Ĉ_a,
    m F₁ = P(S − Q) − S/2, so F₁ = −Q/(2m) = −∇[(1/4m)Σ_a‖∇Ĉ_a‖²].
    """
    m, j, k = sp.symbols("m j k", positive=True, integer=True)
    P = sp.simplify(sp.summation(sp.summation(1 / (m * (m - 1)), (k, j + 1, m)), (j, 1, m)))
    S, Q = sp.symbols("S Q")
    F1 = sp.simplify((P * (S - Q) - S / 2) / m)
    return P, F1


def heavy_ball_order(p: int, steps=(0.04, 0.02, 0.01, 0.005), T: float = 1.0,
                     momentum: float = 0.5):
    """Fitted order of ‖θ_HB(T) − θ_mod(T)‖ (modified field truncated at h^p; expect p + 1).

    θ_{−1} = Φ_{−h}(θ₀) by the same modified flow (principal solution; the parasitic root β
    decays geometrically).  Loss ``examples.LOSS_2D``.
    """
    theta = examples.THETA_2D
    f = -sp.Matrix([examples.LOSS_2D.diff(v) for v in theta])
    field = bseries.evaluate(heavy_ball_field(p), f, theta).xreplace({beta: momentum})
    field_fn = _numerics.vector_function(field, theta, (eta,))
    grad_fn = _numerics.vector_function(-f, theta)
    errors = []
    for h in steps:
        back = _numerics.flow(lambda th, hh: -field_fn(th, hh), examples.START_2D, h, (h,))
        prev, cur = back, np.asarray(examples.START_2D, dtype=float)
        for _ in range(round(T / h)):
            prev, cur = cur, cur - h * grad_fn(cur) + momentum * (cur - prev)
        errors.append(float(np.linalg.norm(cur - _numerics.flow(field_fn, examples.START_2D,
                                                                   T, (h,)))))
    return _numerics.fitted_order(steps, errors), errors


#: Per-batch losses for the numeric reshuffling check (m = 3).
x, y = examples.THETA_2D
BATCH_LOSSES = (x**2 / 2 + x * y / 2 + y**4 / 4, y**2 + x**2 * y / 2 - x / 2,
                (x - y) ** 2 / 2 + x**3 / 6 + y / 3)


def rr_order(modified: bool, steps=(0.04, 0.02, 0.01, 0.005), T: float = 1.2):
    """Fitted order of the mean-over-orderings RR iterate vs C̃'s flow (2) or C's flow (1)."""
    theta, m = examples.THETA_2D, len(BATCH_LOSSES)
    loss = rr_modified_loss(BATCH_LOSSES, theta)
    if not modified:
        loss = loss.subs(epsilon_sgd, 0)
    field_fn = _numerics.vector_function(-sp.Matrix([loss.diff(v) for v in theta]), theta,
                                         (epsilon_sgd,))
    grads = [_numerics.vector_function(sp.Matrix([c.diff(v) for v in theta]), theta)
             for c in BATCH_LOSSES]
    errors = []
    for step in steps:
        cur = np.asarray(examples.START_2D, dtype=float)
        for _ in range(round(T / (m * step))):
            ends = []
            for perm in permutations(range(m)):
                th = cur
                for k in perm:
                    th = th - step * grads[k](th)
                ends.append(th)
            cur = np.mean(ends, axis=0)
        end = _numerics.flow(field_fn, examples.START_2D, T, (step,))
        errors.append(float(np.linalg.norm(cur - end)))
    return _numerics.fitted_order(steps, errors), errors


def check_heavy_ball(p: int = 2) -> list[tuple[str, bool, str]]:
    """First-order modified loss, β = 0 reduces to GD, fitted orders q + 1 for q ≤ min(p, 2)."""
    want = gradient_form.L + eta * (1 + beta) / (4 * (1 - beta) ** 2) * trees.scalar_symbol(((),))
    got = heavy_ball_loss(1)
    out = [("heavy ball: θ̇ = −(1/(1−β))∇[L + h(1+β)/(4(1−β)²)‖∇L‖²]",
            sp.simplify(got - want) == 0, str(got))]
    hb0 = {t: c.subs(beta, 0) for t, c in heavy_ball_field(p).items()}
    gd = modified_field(GD, p)
    out.append(("heavy ball with β = 0 has GD's modified field",
                all(sp.simplify(hb0[t] - gd[t]) == 0 for t in gd), ""))
    for q in range(min(p, 2) + 1):
        slope, errors = heavy_ball_order(q)
        out.append((f"heavy ball: global error vs modified flow of order {q} ~ h^{q + 1}",
                    abs(slope - (q + 1)) <= 0.3, f"slope {slope:.3f}, errors {errors}"))
    return out


def check_sgd_rr() -> list[tuple[str, bool, str]]:
    """Smith et al.'s modified loss for m = 2, 3, 4 (symbolic), general m, fitted orders."""
    out = []
    theta = examples.THETA_2D
    for m in (2, 3, 4):
        losses = [sp.Function(f"C{k + 1}")(*theta) for k in range(m)]
        F1 = rr_first_order_field(losses, theta)
        target = rr_modified_loss(losses, theta).coeff(epsilon_sgd, 1)
        diff = (F1 + sp.Matrix([target.diff(v) for v in theta])).applyfunc(sp.expand)
        out.append((f"sgd rr, m = {m}: C̃ = C + (ε/4m)Σ‖∇Ĉ_k‖² (symbolic per-batch losses)",
                    diff == sp.zeros(2, 1), str(diff.T)))
    P, F1 = rr_general_m()
    m = sp.Symbol("m", positive=True, integer=True)
    out.append(("sgd rr, general m: P(a before b) = 1/2, F₁ = −Q/(2m)",
                P == sp.Rational(1, 2) and sp.simplify(F1 + sp.Symbol("Q") / (2 * m)) == 0,
                f"P = {P}, F1 = {F1}"))
    for modified, expected in ((False, 1), (True, 2)):
        slope, errors = rr_order(modified)
        out.append((f"sgd rr (m = 3): mean iterate vs {'modified' if modified else 'plain'} "
                    f"flow ~ ε^{expected}", abs(slope - expected) <= 0.3,
                    f"slope {slope:.3f}, errors {errors}"))
    return out


def check(p: int = 2) -> list[tuple[str, bool, str]]:
    """All checks of this module."""
    return check_heavy_ball(p) + check_sgd_rr()
