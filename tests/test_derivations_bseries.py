"""B-series engine and modified equations of one-step maps (derivations/)."""

import pytest
import sympy as sp

from dln_theory.derivations import bseries, gradient_form, methods, modified_equations as me, trees

R = sp.Rational


def test_tree_counts_and_exact_flow():
    assert [len(trees.trees_of_order(n)) for n in range(1, 7)] == [1, 1, 2, 4, 9, 20]
    assert [len(trees.free_trees_of_order(n)) for n in range(2, 7)] == [1, 1, 2, 3, 6]
    # The Lie series of f alone is the exact flow, c(τ) = 1/(σ(τ)γ(τ)).
    assert bseries.flow({trees.LEAF: sp.Integer(1)}, 5) == bseries.exact_flow(5)
    assert bseries.exact_flow(3)[((), ())] == R(1, 6)


def test_euler_coefficients():
    d = me.modified_coefficients(bseries.runge_kutta(((0,),), (1,), 3), 3)
    assert d[((),)] == R(-1, 2)
    assert d[((), ())] == R(1, 12)
    assert d[(((),),)] == R(1, 3)


def test_gd_on_quadratic_is_log_series():
    got, want = me.log_series(4)
    assert got == want == [1, R(-1, 2), R(1, 3), R(-1, 4), R(1, 5)]


def test_rk4_modified_field_is_trivial_to_order_four():
    d = me.modified_coefficients(bseries.runge_kutta(*me.RK4, 4), 4)
    assert all(c == 0 for t, c in d.items() if trees.order(t) > 1)


def test_gd_modified_loss_and_remainder():
    loss, rem = gradient_form.split(me.modified_field(methods.GD, 2))
    S2, S3 = trees.scalar_symbol(((),)), trees.scalar_symbol(((), ()))
    eta = methods.eta
    assert sp.expand(loss - gradient_form.L - eta / 4 * S2 - eta**2 / 12 * S3) == 0
    assert rem == {(((),),): eta**2 / 6}  # (η²/6) f'f'f = −(η²/6) H²∇L
    assert sp.expand(gradient_form.remainder_symbols(rem)
                     + eta**2 / 6 * trees.grad_symbol((((),),))) == 0


@pytest.mark.parametrize("check", [me._check_curl, lambda: me._check_decomposition(methods.GD, 3),
                                   me._check_fgr_is_sam, me._check_gr])
def test_symbolic_checks(check):
    name, passed, detail = check()
    assert passed, (name, detail)


@pytest.mark.parametrize("method,coef", [(methods.FGR, methods.gamma), (methods.BGR, methods.gamma),
                                         (methods.SAM, methods.rho)])
def test_first_order_modified_losses(method, coef):
    loss, rem = gradient_form.split(me.modified_field(method, 1))
    assert not rem
    assert sp.expand(loss - gradient_form.L
                     - (coef / 2 + methods.eta / 4) * trees.scalar_symbol(((),))) == 0


def test_fgr_leading_coefficients():
    field = me.modified_field(methods.FGR, 2)
    g, e, h = methods.gamma, methods.eps, methods.eta
    assert sp.expand(field[((),)] + g + h / 2) == 0
    assert sp.expand(field[((), ())] - (g * e / 2 + h * g / 2 + h**2 / 12)) == 0


@pytest.mark.parametrize("method,p", [(methods.GD, 0), (methods.GD, 1), (methods.GD, 2),
                                      (methods.GD, 3), (methods.FGR, 1), (methods.FGR, 2),
                                      (methods.BGR, 2), (methods.SAM, 1), (methods.SAM, 2),
                                      (methods.EXTRAGRADIENT, 2), (methods.GR, 1)])
def test_fitted_global_order(method, p):
    slope, errors = me.numeric_order(method, p)
    assert abs(slope - (p + 1)) <= 0.3, errors


def test_timing_targets():
    import dln_theory.derivations as derivations

    times = derivations.timing(orders=(4,))[4]
    assert times["tree"] < 5.0
    assert times["dln"] < 10.0
