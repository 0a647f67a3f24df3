"""Negative controls: every registered claim FAILS under each of its declared defects.

A defect is a named plausible mistake (a wrong sign, a dropped factor, α instead of α_∞, GR
reduced to GD, the P-W convention for P-E, …) declared with the claim (`verify.claim`); a claim
that no defect fails would be a check that cannot fail.
"""

import pytest

from test_verify import SLOW_CLAIMS

from dln_theory import verify

CLAIMS = sorted(verify.all_claims())
#: the first declared defect of every claim runs by default; the others (each another run of
#: the claim, a minute or more in all) with ``-m slow``.
#: claims that are slow even in quick mode (tests/test_verify.py) run all their defects with them;
#: so do the claims whose first defect takes 5 s or more on 2 cores (the default suite stays
#: under 15 minutes; `pytest -m negative` runs every pair).
SLOW_FIRST_DEFECT = {"saddle_to_saddle_plateaus", "saddle_to_saddle_jump_times_rate", "rich_limit_min_l1",
                     "heavy_ball_modified_flow_order2", "lasso_path_gap_with_deactivation",
                     "weight_decay_switched_off_gd", "lasso_path_time_average"}
PAIRS = [pytest.param(name, defect, id=f"{name}[{defect}]",
                      marks=[pytest.mark.slow] if i or name in SLOW_CLAIMS | SLOW_FIRST_DEFECT else [])
         for name in CLAIMS for i, defect in enumerate(verify.defects(name))]


@pytest.mark.negative
@pytest.mark.parametrize("name, defect", PAIRS)
def test_claim_fails_under_its_defect(name, defect):
    with verify.with_defect(name, defect):
        (outcome,) = verify.run_claims(quick=True, names=[name], progress=False)
    assert not outcome.passed, outcome


def test_every_claim_declares_a_defect():
    assert [name for name in CLAIMS if not verify.defects(name)] == []


def test_a_defect_is_undone_after_its_block():
    name, defect = "gd_alpha_factor_exact", verify.defects("gd_alpha_factor_exact")[0]
    with verify.with_defect(name, defect):
        pass
    (outcome,) = verify.run_claims(quick=True, names=[name], progress=False)
    assert outcome.passed, outcome
