"""Lie-series engine (derivations/lie_series.py) and the maps it expands
(derivations/adaptive_maps.py): exact agreement with the B-series engine on RK maps, a closed
form, exact local errors, and fitted global-error orders on simulations."""

import pytest
import sympy as sp

from dln_theory.derivations import adaptive_maps as am, bseries, lie_series as ls, methods
from dln_theory.derivations import local_error as le
from dln_theory.derivations import modified_equations as me

h = ls.h
#: ε = aη, γ = b·ε, ρ = cη (the convention of methods.py), and η = h.
RATIOS = {k: v.xreplace({methods.eta: h}) for k, v in le.RATIOS.items()} | {methods.eta: h}
#: A sextic with distinct rational coefficients: its derivatives up to order 6 are independent,
#: enough for every elementary differential of the order-4 field.
SEXTIC = le.LOSS + (le.x**5 / 11 - le.x**3 * le.y**2 / 13 + le.y**5 / 17 + le.x * le.y**4 / 19
                    + le.x**6 / 23 + le.y**6 / 29 + le.x**2 * le.y**4 / 31)


def _rk_map(name, loss):
    """The step written from the update rule (local_error.STEPS), on sympy vectors."""
    grad = ls.gradient(loss, le.THETA)
    image = le.STEPS[name](lambda th: tuple(ls.at(grad, le.THETA, th)), le.THETA)
    return sp.Matrix(image).xreplace(RATIOS)


def _difference(name, p, loss):
    lie = ls.as_vector(ls.modified_field(_rk_map(name, loss), le.THETA, p))
    tree = bseries.evaluate(me.modified_field(methods.METHODS[name], p),
                            -ls.gradient(loss, le.THETA), le.THETA).xreplace(RATIOS)
    return (lie - tree).applyfunc(sp.expand)


@pytest.mark.parametrize("name", ["gd", "fgr", "sam"])
def test_agrees_exactly_with_bseries_order_3(name):
    # Two engines that share nothing (trees vs Lie-series matching on the concrete map); the
    # generic quartic makes every elementary differential up to order 4 independent.
    assert _difference(name, 3, le.LOSS) == sp.zeros(2, 1)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gd", "fgr", "sam"])
def test_agrees_exactly_with_bseries_order_4(name):
    # Order 4 needs trees of order 5: a sextic loss (minutes per method on 2 shared cores).
    assert _difference(name, 4, SEXTIC) == sp.zeros(2, 1)


def test_gd_on_quadratic_is_the_log_series():
    # f = −λθ: the exact modified flow of θ ← (1 − hλ)θ is θ̇ = (log(1 − hλ)/h)θ (closed form).
    lam, t = sp.symbols("lambda theta", positive=True)
    field = ls.modified_field(sp.Matrix([t - h * lam * t]), (t,), 4)
    want = sp.series(sp.log(1 - h * lam) / h, h, 0, 5).removeO() * t
    assert sp.expand(ls.as_vector(field)[0] - want) == 0


def test_inconsistent_map_is_refused():
    t = sp.Symbol("theta")
    with pytest.raises(ValueError, match="not consistent"):
        ls.modified_field(sp.Matrix([2 * t + h]), (t,), 1)


def test_nsam_first_order_modified_loss():
    label, ok, detail = am.check_nsam_derived()
    assert ok, (label, detail)


def test_nsam_local_error_exact():
    label, ok, detail = am.check_local("nsam", am.nsam_map(), am.loss_field(am.nsam_loss()))
    assert ok, (label, detail)


def test_adam_first_order_field_exact():
    label, ok, detail = am.check_adam_derived()
    assert ok, (label, detail)


@pytest.mark.slow
def test_adam_local_error_exact():
    # The written field reproduces the memoryless map to O(h³), not O(h⁴), at a rational point.
    pt = {**am.POINTS[1], am.beta: sp.Rational(1, 3), am.rho2: sp.Rational(3, 5),
          am.eps: sp.Rational(1, 10)}
    label, ok, detail = am.check_local("adam", am.adam_map(am.QUADRATIC),
                                       am.adam_field(am.QUADRATIC), point=pt)
    assert ok, (label, detail)


# Fitted slopes over h = 0.04 … 0.005 at T = 1: tolerance 0.3, the spread of the local slopes
# measured between consecutive steps (normalized SAM approaches 2 from below: 1.79, 1.90, 1.95).
@pytest.mark.parametrize("p", [0, 1])
def test_nsam_global_order(p):
    slope, errors = am.nsam_order(p)
    assert abs(slope - (p + 1)) <= 0.3, errors


@pytest.mark.parametrize("rmsprop", [False, True])
@pytest.mark.parametrize("p", [0, 1])
def test_adam_global_order_with_memory(p, rmsprop):
    # Simulated with its buffers m, v (not the memoryless map): slope p + 1.
    slope, errors = am.adam_order(p, rmsprop=rmsprop)
    assert abs(slope - (p + 1)) <= 0.3, errors


def test_nsam_second_order_field_from_the_engine():
    # Order 2 derived by the engine alone (no written formula): slope 3.
    slope, errors = am.nsam_order(2)
    assert abs(slope - 3) <= 0.3, errors


@pytest.mark.negative
@pytest.mark.parametrize("factor", [sp.Rational(21, 20), sp.Rational(19, 20)])
def test_wrong_first_order_coefficient_fails_the_local_error_check(factor):
    f0, f1 = am.loss_field(am.nsam_loss())
    label, ok, detail = am.check_local("nsam", am.nsam_map(), [f0, factor * f1])
    assert not ok and "nonzero below h^3: [2]" in detail


@pytest.mark.negative
def test_wrong_sign_of_rho_in_nsam_fails():
    # Map with the descent-direction perturbation −ρ∇L/‖∇L‖ against the published loss.
    label, ok, detail = am.check_local("nsam", am.nsam_map(sign=-1), am.loss_field(am.nsam_loss()))
    assert not ok
    slope, _ = am.nsam_order(1, rho_coef=-1)  # the loss L − ρ‖∇L‖ + …: back to slope 1
    assert abs(slope - 1) <= 0.3


@pytest.mark.negative
def test_adam_without_the_momentum_term_fails():
    # Drop β/(1−β) from the correction (the RMSProp field used for Adam): not the derived field.
    f0, f1 = am.adam_field(am.QUADRATIC)
    wrong = [f0, f1.xreplace({am.beta: 0})]
    _, ok, _ = am.check_adam_derived(field=wrong)
    assert not ok


def test_adam_one_norm_term_sign():
    # Cattaneo et al.: for ρ > β and small ε the first-order term hinders the decrease of ‖∇L‖_{1,ε}.
    label, ok, detail = am.check_one_norm_sign()
    assert ok, (label, detail)


@pytest.mark.negative
def test_adam_one_norm_sign_with_beta_and_rho_swapped_fails():
    f0, f1 = am.adam_terms()
    _, ok, _ = am.check_one_norm_sign([f0, f1.xreplace({am.beta: am.rho2, am.rho2: am.beta})])
    assert not ok
