"""Heavy-ball and random-reshuffling modified flows (derivations/multistep.py)."""

import pytest
import sympy as sp

from dln_theory.derivations import examples, gradient_form, multistep as ms, trees
from dln_theory.derivations.methods import eta


def test_heavy_ball_first_order_loss():
    beta = ms.beta
    want = gradient_form.L + eta * (1 + beta) / (4 * (1 - beta) ** 2) * trees.scalar_symbol(((),))
    assert sp.simplify(ms.heavy_ball_loss(1) - want) == 0
    assert sp.simplify(ms.heavy_ball_field(1)[()] - 1 / (1 - beta)) == 0


@pytest.mark.parametrize("p", [0, 1, 2])
def test_heavy_ball_fitted_order(p):
    slope, errors = ms.heavy_ball_order(p)
    assert abs(slope - (p + 1)) <= 0.3, errors


@pytest.mark.parametrize("m", [2, 3, 4])
def test_rr_modified_loss_symbolic(m):
    theta = examples.THETA_2D
    losses = [sp.Function(f"C{k + 1}")(*theta) for k in range(m)]
    F1 = ms.rr_first_order_field(losses, theta)
    target = sum(sum(c.diff(v) ** 2 for v in theta) for c in losses) / (4 * m)
    assert (F1 + sp.Matrix([target.diff(v) for v in theta])).applyfunc(sp.expand) == sp.zeros(2, 1)


def test_rr_general_m():
    P, F1 = ms.rr_general_m()
    assert P == sp.Rational(1, 2)
    assert sp.simplify(F1 + sp.Symbol("Q") / (2 * sp.Symbol("m", positive=True, integer=True))) == 0


@pytest.mark.parametrize("modified,expected", [(False, 1), (True, 2)])
def test_rr_fitted_order(modified, expected):
    slope, errors = ms.rr_order(modified)
    assert abs(slope - expected) <= 0.3, errors
