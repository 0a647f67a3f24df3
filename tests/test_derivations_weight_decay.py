"""Weight decay on the factors is an ℓ1 penalty on β: the sympy derivation and its conventions."""

import sympy as sp
import pytest

from dln_theory.derivations import weight_decay as wd


def test_every_check_passes():
    assert all(passed for _, passed, _ in wd.check())


def test_minima_in_both_conventions():
    assert sp.simplify(wd.pe_minimum() - wd.b) == 0
    assert sp.simplify(wd.pw_minimum() - wd.b / 2) == 0


@pytest.mark.negative
def test_pw_minimum_is_not_the_pe_one():
    """Defect: the P-E weight |β| used for P-W — the derivation tells them apart."""
    assert sp.simplify(wd.pw_minimum() - wd.b) != 0
    assert sp.simplify(wd.pe_minimum() - wd.b / 2) != 0
