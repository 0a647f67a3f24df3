"""`dln-theory export-tex`: the checked numbers as LaTeX macros with letters-only names, values
that read back as the recorded numbers, and claims from a verify JSON or a quick run."""

import json
import re
import shutil
from pathlib import Path

import pytest

from dln_theory import cli, export_tex, verify
from dln_theory.verify import Outcome

REPO = Path(__file__).resolve().parents[1]
MACRO = re.compile(r"\\newcommand\{\\(dln[A-Za-z]+)\}\{(.*)\}")


def _value(text: str) -> float:
    """A macro's number back as a float: '1.02', '4.07\\ensuremath{\\times 10^{-10}}', '\\ensuremath{10^{-5}}'."""
    match = re.fullmatch(r"(-?[0-9.]+)?(?:\\ensuremath\{(?:\\times )?10\^\{(-?\d+)\}\})?", text)
    assert match and (match[1] or match[2]), text
    return float(match[1] or 1.0) * 10.0 ** int(match[2] or 0)


def _macros(text: str) -> dict:
    lines = [line for line in text.splitlines() if not line.startswith("%")]
    found = [MACRO.fullmatch(line) for line in lines]
    assert all(found), [line for line, m in zip(lines, found) if not m]
    names = [m[1] for m in found]
    assert len(names) == len(set(names))
    return {m[1]: m[2] for m in found}


def test_names_are_letters_only():
    assert export_tex.macro_name("gd_vs_flow_order_1", "simulated") == "dlnGdVsFlowOrderOneSimulated"
    assert export_tex.macro_name("phase", "F-GR (α, ε)", "moved") == "dlnPhaseFGRAlphaEpsilonMoved"
    assert export_tex.macro_name("alpha_identity_1-SAM", "ℓ₂") == "dlnAlphaIdentityOneSAMLTwo"


@pytest.mark.parametrize("x, text", [(1.0234, "1.02"), (-0.5, "-0.5"), (18, "18"), (0.0, "0"),
                                     (4.07e-10, r"4.07\ensuremath{\times 10^{-10}}"), (1e-5, r"\ensuremath{10^{-5}}"),
                                     (123456.0, r"1.23\ensuremath{\times 10^{5}}")])
def test_numbers_are_tex(x, text):
    assert export_tex.tex_number(x) == text


def test_figure_metrics_read_back_within_the_rounding(tmp_path):
    folder = tmp_path / "figures"
    folder.mkdir()
    for name in ("kernel_rich", "modified_flow"):
        shutil.copy(REPO / "figures" / f"{name}.json", folder)
    path = export_tex.export(tmp_path / "numbers.tex", folder, claims=None)
    macros = _macros(path.read_text())
    rec = json.loads((folder / "kernel_rich.json").read_text())
    assert macros["dlnKernelRichCheck"] == ("PASS" if rec["passed"] else "FAIL")
    # 3 significant digits: relative rounding error at most 5e-3
    assert _value(macros["dlnKernelRichMaxRelDistance"]) == pytest.approx(rec["metrics"]["max_rel_distance"], rel=5e-3)
    slopes = json.loads((folder / "modified_flow.json").read_text())["metrics"]["slopes"]
    for order, slope in slopes.items():
        key = "dlnModifiedFlowSlopes" + export_tex.macro_name(order).removeprefix("dln")
        assert _value(macros[key]) == pytest.approx(slope, rel=5e-3)
    assert not any(k.startswith("dlnDepth") for k in macros)  # only the records present


def _outcomes():
    return [Outcome("gd_vs_flow_order_1", "Barrett & Dherin", 1.0, 1.013, 0.013, 0.2),
            Outcome("lasso_gap", "Berthier", 0.5, 0.98, 0.0, 0.0, refuted=True),
            Outcome("wrong", "nobody", 1.0, 2.0, 1.0, 0.5)]


def test_claims_from_a_verify_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(verify, "run_claims", lambda *a, **k: pytest.fail("a JSON was given: nothing runs"))
    claims = tmp_path / "claims.json"
    claims.write_text(verify.to_json(_outcomes()))
    out = tmp_path / "n.tex"
    assert cli.main(["export-tex", str(out), "--figures", str(tmp_path), "--verify", str(claims)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    macros = _macros(out.read_text())
    assert _value(macros["dlnClaimGdVsFlowOrderOneSimulated"]) == pytest.approx(1.013, rel=5e-3)
    assert _value(macros["dlnClaimGdVsFlowOrderOneTolerance"]) == 0.2
    assert [macros[f"dlnClaim{n}Result"] for n in ("GdVsFlowOrderOne", "LassoGap", "Wrong")] == [
        "PASS", "FAIL", "FAIL"]  # lasso_gap: refuted but agreeing, so the refutation failed
    assert str(claims) in out.read_text()  # the header names where the claims come from


def test_without_a_json_the_claims_run_in_quick_mode(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(verify, "run_claims", lambda quick, names, **k: seen.update(quick=quick) or _outcomes()[:1])
    monkeypatch.setattr(verify, "all_claims", lambda: {"gd_vs_flow_order_1": ("s", None)})
    assert cli.main(["export-tex", str(tmp_path / "n.tex"), "--figures", str(tmp_path)]) == 0
    assert seen == {"quick": True} and "dlnClaimGdVsFlowOrderOneResult" in (tmp_path / "n.tex").read_text()


def test_bad_arguments_fail_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(verify, "run_claims", lambda *a, **k: pytest.fail("work started"))
    for argv, match in ((["export-tex", str(tmp_path / "no" / "n.tex")], "does not exist"),
                        (["export-tex", str(tmp_path / "n.tex"), "--figures", str(tmp_path / "none")], "no such folder"),
                        (["export-tex", str(tmp_path / "n.tex"), "--verify", "x.json", "--no-claims"], "exclude")):
        assert cli.main(argv) == 2
        assert match in capsys.readouterr().err
    assert not (tmp_path / "n.tex").exists()


def test_two_sources_of_one_name_are_refused():
    with pytest.raises(ValueError, match="dlnAB comes from both"):
        export_tex.render([("dlnAB", "1", "x"), ("dlnAB", "2", "y")])
