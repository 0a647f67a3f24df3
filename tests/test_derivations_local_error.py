"""Exact local error of the modified flows (derivations/local_error.py): series in h on a generic
quartic loss at a symbolic point, the step written from the update rule, the flow by its own
Lie series. Exact rational arithmetic: no tolerance anywhere."""

import pytest
import sympy as sp

from dln_theory.derivations import local_error as le, methods, modified_equations as me, trees

ORDERS = [(m, p) for m in le.METHODS for p in range(4)]


@pytest.mark.parametrize("method,p", ORDERS, ids=[f"{m.name}-p{p}" for m, p in ORDERS])
def test_step_and_modified_flow_agree_to_order_p_plus_2(method, p):
    name, ok, detail = le.check_method(method, p)
    assert ok, (name, detail)


@pytest.mark.parametrize("name", ["gd", "sam"])
def test_published_first_order_losses(name):
    # GD: L + (η/4)‖∇L‖² (Barrett & Dherin Thm 3.1); SAM with ρ = cη: L + (η/4 + ρ/2)‖∇L‖².
    for label, ok, detail in le.check_published(name):
        assert ok, (label, detail)


def test_sam_first_order_coefficient_with_rho_proportional_to_eta():
    # With ρ = c·η the first-order field is −∇L − η(1/4 + c/2)∇‖∇L‖², at every c: compare with the
    # flow of the loss written with the number 1/4 + c/2 (not through ``sam_loss``).
    g = sp.Matrix([le.LOSS.diff(v) for v in le.THETA])
    loss = le.LOSS + methods.eta * (sp.Rational(1, 4) + le.c / 2) * (g.T * g)[0, 0]
    field = tuple(-le._poly(loss.diff(v)) for v in le.THETA)
    assert le.modified_vector_field(methods.SAM, 1) == field


@pytest.mark.negative
@pytest.mark.parametrize("factor", [sp.Rational(21, 20), sp.Rational(19, 20)])
def test_h2_coefficient_off_by_5_percent_fails(factor):
    field = me.modified_field(methods.GD, 2)
    wrong = {t: c * factor if trees.order(t) == 3 else c for t, c in field.items()}
    ok, detail = le.agrees_to_order(le.local_error("gd", le.modified_vector_field(
        methods.GD, 2, field=wrong), 2), 2)
    assert not ok and "nonzero below h^4: [3]" in detail


@pytest.mark.negative
def test_h3_coefficient_off_by_5_percent_fails():
    field = me.modified_field(methods.EXTRAGRADIENT, 3)
    tall = ((((),),),)  # f'f'f'f
    wrong = {**field, tall: field[tall] * sp.Rational(21, 20)}
    ok, detail = le.agrees_to_order(le.local_error("extragradient", le.modified_vector_field(
        methods.EXTRAGRADIENT, 3, field=wrong), 3), 3)
    assert not ok and "nonzero below h^5: [4]" in detail


@pytest.mark.negative
def test_bgr_with_the_wrong_sign_of_eps_fails():
    # Stage at θ + ε∇L (F-GR's sign) with B-GR's weights: the field differs at first order.
    wrong = methods.Method("bgr", "wrong sign", ((0, 0), (-methods.eps / methods.eta, 0)),
                           methods.BGR.b)
    ok, detail = le.agrees_to_order(le.local_error("bgr", le.modified_vector_field(wrong, 2), 2), 2)
    assert not ok and detail.startswith("nonzero below h^4: [2")


@pytest.mark.negative
def test_wrong_published_sam_loss_fails():
    # ρ/4 instead of ρ/2: the flow no longer matches SAM's step at h².
    g = sp.Matrix([le.LOSS.diff(v) for v in le.THETA])
    loss = le.LOSS + (methods.eta / 4 + methods.rho / 4) * (g.T * g)[0, 0]
    field = tuple(-le._poly(loss.diff(v)) for v in le.THETA)
    ok, detail = le.agrees_to_order(le.local_error("sam", field, 1), 1)
    assert not ok and "[2]" in detail


@pytest.mark.negative
def test_a_field_of_higher_order_fails_the_not_better_half():
    # The order-2 field checked as order 1: its h³ coefficient vanishes, so "O(h³) and not
    # better" fails; the check can tell the order, not only an upper bound.
    ok, detail = le.agrees_to_order(
        le.local_error("sam", le.modified_vector_field(methods.SAM, 2), 1), 1)
    assert not ok and detail == "h^3 coefficient nonzero: False"


@pytest.mark.parametrize("name", ["fgr", "sam"])
def test_step_expansion_is_the_sympy_series_of_the_map(name):
    # The exact polynomial expansion of Φ_h equals sympy.series of the map built in plain sympy.
    g = sp.Matrix([le.LOSS.diff(v) for v in le.THETA])
    grad = lambda th: tuple(g.xreplace(dict(zip(le.THETA, th))))  # noqa: E731
    image = le.STEPS[name](grad, le.THETA)
    series = [sp.series(sp.expand(e.xreplace(le.RATIOS)), methods.eta, 0, 4).removeO()
              for e in image]
    assert tuple(le._poly(s) for s in series) == le.step_series(name, 3)
