"""Finite-difference GR expansions and flooding (derivations/finite_difference.py)."""

import pytest
import sympy as sp

from dln_theory.derivations import examples, finite_difference as fd


@pytest.mark.parametrize("name,sign", [("fgr", 1), ("bgr", -1)])
def test_leading_coefficient_is_plus_minus_half(name, sign):
    L, (x,) = examples.L1, examples.THETA_1D
    diff = fd.directions(L, (x,))[name][0]
    third = L.diff(x, 3) * L.diff(x) ** 2
    assert sp.simplify(diff.coeff(fd.eps, 1) / (fd.gamma * third)) == sign * sp.Rational(1, 2)
    fourth = L.diff(x, 4) * L.diff(x) ** 3
    assert sp.simplify(diff.coeff(fd.eps, 2) / (fd.gamma * fourth)) == sp.Rational(1, 6)


def test_checks_pass():
    for name, passed, detail in fd.check():
        assert passed, (name, detail)


def test_numeric_orders():
    for (name, kept), (slope, errors) in fd.numeric_orders().items():
        assert abs(slope - (kept + 1)) <= 0.3, (name, kept, errors)
