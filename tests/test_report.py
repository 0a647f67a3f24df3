"""`dln-theory report`: one static page with every claim, derivation and figure, opened from the
file system in headless Chromium (`tests/browser.py`): no failed or external request, no script
error, every formula typeset, every image decoded, every local link resolving. The screenshot is
kept in out/report/."""

import html
import json
import re
import shutil
from pathlib import Path

import pytest

import browser
from dln_theory import cli, report, verify
from dln_theory.verify import Outcome

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "out" / "report"
OUTCOMES = [Outcome("gd_vs_flow_order_1", "Barrett & Dherin arXiv:2009.11162", 1.0, 1.013, 0.013, 0.2,
                    quantity="order in η"),
            Outcome("lasso_gap", "Berthier arXiv:2509.18766", 0.5, 0.98, 0.0, 0.0, refuted=True),
            Outcome("statement_refuted", "Someone 2020", 0.5, 0.2, 0.3, 0.0, "measured 0.2", refuted=True),
            Outcome("wrong", "nobody", 1.0, 2.0, 1.0, 0.5)]
EXPECTED = {"gd_vs_flow_order_1": "PASS", "lasso_gap": "FAIL", "statement_refuted": "REFUTED", "wrong": "FAIL"}
ROWS = """[...document.querySelectorAll('#claims-table tr[id]')].map(r => [...r.cells].map(c => c.textContent))"""


def _needs_mathjax():
    if report.mathjax_dir() is None:
        pytest.skip("MathJax (django-static-mathjax, the docs extra) is not installed: the page shows LaTeX source")


def _open(page_path, shot=None):
    with browser.Browser() as chrome:
        page = chrome.open(page_path.resolve().as_uri())
        found = {"problems": browser.page_problems(page), "math": page.evaluate(browser.RENDERED_MATH),
                 "rows": page.evaluate(ROWS),
                 "images": page.evaluate("[...document.images].map(i => [i.getAttribute('src'), i.naturalWidth])")}
        if shot:
            page.screenshot(shot, full_page=False)
        page.close()
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The report of the committed figures and derivations with four claims, opened in Chromium."""
    _needs_mathjax()
    folder = tmp_path_factory.mktemp("report")
    claims = folder / "claims.json"
    claims.write_text(verify.to_json(OUTCOMES))
    out = folder / "out"
    assert cli.main(["report", "--out", str(out), "--figures", str(ROOT / "figures"),
                     "--derivations", str(ROOT / "derivations"), "--verify", str(claims)]) == 0
    return out, _open(out / "index.html", SHOTS / "report.png")


def test_page_loads_offline_with_everything_rendered(built):
    out, found = built
    assert found["problems"] == []  # no failed/external request, script error, raw TeX, broken image
    assert browser.broken_links(out) == []


def test_every_derivation_equation_is_typeset(built):
    _, found = built
    text = (ROOT / "derivations" / "README.md").read_text(encoding="utf-8")
    equations = len(re.findall(r"^\$\$\n.*?\n\$\$", text, flags=re.M | re.S))
    assert equations > 30 and found["math"] == equations


def test_every_figure_is_shown_with_its_check(built):
    out, found = built
    committed = sorted(p.stem for p in (ROOT / "figures").glob("*.json") if not p.name.endswith(".provenance.json")
                       and (ROOT / "figures" / f"{p.stem}.png").exists())
    assert sorted(Path(src).stem for src, _ in found["images"]) == committed
    assert all(width > 100 for _, width in found["images"])  # decoded, real figures
    page = (out / "index.html").read_text(encoding="utf-8")
    for name in committed:
        rec = json.loads((ROOT / "figures" / f"{name}.json").read_text())
        assert f'id="figure-{name}"' in page and html.escape(rec["message"]) in page


def test_claim_rows_show_numbers_result_and_source(built):
    _, found = built
    rows = {row[0]: row for row in found["rows"]}
    assert list(rows) == [o.name for o in OUTCOMES]
    for o in OUTCOMES:
        name, quantity, predicted, simulated, error, tolerance, result, source, note = rows[o.name]
        assert result == EXPECTED[o.name] and source == o.source and note == o.note
        assert float(predicted) == o.predicted and float(simulated) == o.simulated
        assert float(tolerance) == o.tolerance and quantity == o.quantity


@pytest.mark.negative
def test_a_formula_mathjax_cannot_typeset_is_reported(tmp_path):
    """A planted TeX error in a derivation shows up as a page problem: the check looks at the math."""
    _needs_mathjax()
    derivations = tmp_path / "derivations"
    derivations.mkdir()
    (derivations / "README.md").write_text("# Derivations\n\n## `bad`: planted\n\nSource: test.\n\n"
                                           "$$\nx = \\frac{1}{\n$$\n\n$$\ny = \\alpha^2\n$$\n\n- ✅ fine\n")
    (tmp_path / "figures").mkdir()
    page = report.build(tmp_path / "out", None, "", tmp_path / "figures", derivations)
    problems = _open(page)["problems"]
    assert any(p.startswith("not typeset") and "frac" in p for p in problems), problems
    assert not any("alpha" in p for p in problems)  # the good formula next to it is typeset


def test_without_mathjax_the_latex_is_shown_as_source(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "mathjax_dir", lambda: None)
    (tmp_path / "figures").mkdir()
    page = report.build(tmp_path / "out", None, "", tmp_path / "figures", ROOT / "derivations")
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "MathJax is not installed" in text
    assert r"<pre><code>f_h = \frac{" in text and not (tmp_path / "out" / "assets").exists()


def test_derivation_summary_is_parsed():
    text = ("# Derivations\n\n## `gd`: Modified equation\n\nSource: HLW IX.\n\n$$\na = b\n$$\n\n$$\nc\n$$\n\n"
            "- ✅ one\n- ❌ two\n\n## `pe`: Potential\n\nSource: Even et al..\n\n$$\n\\psi\n$$\n")
    assert report.parse_derivations(text) == [
        {"name": "gd", "title": "Modified equation", "source": "HLW IX", "equations": ["a = b", "c"],
         "checks": [(True, "one"), (False, "two")]},
        {"name": "pe", "title": "Potential", "source": "Even et al.", "equations": ["\\psi"], "checks": []}]


def test_bad_outputs_fail_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(verify, "run_claims", lambda *a, **k: pytest.fail("work started"))
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["report", "--out", str(blocker / "r")]) == 2
    assert "cannot create the folder" in capsys.readouterr().err
    assert cli.main(["report", "--out", str(tmp_path / "r"), "--figures", str(tmp_path / "none")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert cli.main(["report", "--out", str(tmp_path / "r"), "--verify", str(tmp_path / "none.json")]) == 2
    assert "no such file" in capsys.readouterr().err
