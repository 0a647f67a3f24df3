"""DLN implicit bias and the effective-initialization identity (implicit_bias, alpha_identity)."""

import pytest
import sympy as sp

from dln_theory.derivations import alpha_identity, implicit_bias as ib


@pytest.mark.parametrize("check", [ib.check_pw, ib.check_pe, ib.check_depth, alpha_identity.check])
def test_checks_pass(check):
    for name, passed, detail in check():
        assert passed, (name, detail)


def test_woodworth_equals_integrated_link():
    assert sp.simplify(ib.pw_flow()["Q"] - ib.woodworth_Q(ib.b)) == 0


def test_step_identity_and_flow_limit():
    assert alpha_identity.step_identity() == 0
    assert alpha_identity.flow_limit() == -sp.Symbol("B", real=True)
