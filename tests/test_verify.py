"""Every registered claim passes in quick mode; the command prints the table and writes JSON."""

import json

import pytest

from dln_theory import verify
from dln_theory.cli import main

#: claims whose quick run alone takes longer than about 20 s on 2 cores: run with ``-m slow``
#: (`make test-slow`), with their defects (tests/test_claims_negative.py).
SLOW_CLAIMS = {"sme_weak_order_2", "sme_weak_order_1"}
CLAIMS = [pytest.param(name, marks=[pytest.mark.slow] if name in SLOW_CLAIMS else [])
          for name in sorted(verify.all_claims())]


@pytest.mark.parametrize("name", CLAIMS)
def test_claim_passes(name):
    (outcome,) = verify.run_claims(quick=True, names=[name], progress=False)
    assert outcome.passed, outcome


def test_cli_table_and_json(tmp_path, capsys):
    path = tmp_path / "claims.json"
    assert main(["verify", "--quick", "--json", str(path), "gd_alpha_factor_exact"]) == 0
    out = capsys.readouterr().out
    assert "gd_alpha_factor_exact" in out and "PASS" in out
    (record,) = json.loads(path.read_text())["claims"]
    assert set(record) == {"name", "source", "predicted", "simulated", "error", "tolerance", "passed", "note", "refuted",
                           "quantity"}
    assert record["passed"] is True and record["source"] and record["quantity"].startswith("mean α_∞²")


def test_unknown_claim_is_a_clear_error(capsys):
    assert main(["verify", "no_such_claim"]) == 2
    assert "no_such_claim" in capsys.readouterr().err


def test_a_failing_claim_fails_the_command(monkeypatch, capsys):
    monkeypatch.setitem(verify._REGISTRY, "always_wrong", ("test", lambda quick: (1.0, 2.0, 1.0, 0.5)))
    assert main(["verify", "always_wrong"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_a_refuted_statement_is_as_registered_only_while_it_disagrees(monkeypatch, capsys):
    # A statement registered as refuted: disagreement (error 1 > tolerance 0.5) is the registered
    # outcome; the same statement agreeing with the simulation (error 0) fails the command.
    monkeypatch.setitem(verify._REGISTRY, "refuted_statement", ("test", lambda quick: (1.0, 2.0, 1.0, 0.5)))
    monkeypatch.setattr(verify, "_REFUTED", {"refuted_statement"})
    assert main(["verify", "refuted_statement"]) == 0
    assert "REFUTED" in capsys.readouterr().out
    monkeypatch.setitem(verify._REGISTRY, "refuted_statement", ("test", lambda quick: (1.0, 1.0, 0.0, 0.5)))
    assert main(["verify", "refuted_statement"]) == 1
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.negative
def test_a_refuted_statement_with_a_nan_error_fails(monkeypatch):
    # Defect: a NaN simulation must not count as a refutation (NaN > tolerance is False).
    monkeypatch.setitem(verify._REGISTRY, "refuted_statement", ("test", lambda quick: (1.0, float("nan"), float("nan"), 0.5)))
    monkeypatch.setattr(verify, "_REFUTED", {"refuted_statement"})
    (outcome,) = verify.run_claims(names=["refuted_statement"], progress=False)
    assert not outcome.passed and outcome.result == "FAIL"
