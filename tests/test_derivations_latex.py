"""The LaTeX that `dln-theory derive --latex` writes is ASCII, current, and renders (KaTeX, strict)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from dln_theory.derivations import registry

LATEX = Path(__file__).resolve().parents[1] / "derivations" / "latex"

RENDER = """
const katex = require("katex"); const fs = require("fs");
for (const f of process.argv.slice(2)) {
  katex.renderToString(fs.readFileSync(f, "utf8"), {displayMode: true, throwOnError: true, strict: "error"});
}
"""


def test_committed_latex_is_ascii_and_current(tmp_path):
    assert registry.run(["all"], check=False, latex=True, out=tmp_path) == 0
    fresh_files = sorted((tmp_path / "latex").glob("*.tex"))
    # files of other orders (NAME.orderP.tex) are written on request only
    committed_files = [p for p in LATEX.glob("*.tex") if ".order" not in p.name]
    assert [p.name for p in fresh_files] == sorted(p.name for p in committed_files)
    for fresh in fresh_files:
        committed = LATEX / fresh.name
        assert fresh.read_text().isascii()
        assert committed.read_text() == fresh.read_text(), (
            f"{committed} is stale: run dln-theory derive all --check --latex at the repository root")


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs node and npm to install KaTeX")
def test_latex_renders_with_katex_in_strict_mode(tmp_path):
    subprocess.run(["npm", "install", "--silent", "--prefix", str(tmp_path), "katex@0.16"], check=True,
                   capture_output=True, timeout=300)
    script = tmp_path / "render.js"
    script.write_text(RENDER)
    files = [str(p) for p in sorted(LATEX.glob("*.tex"))]
    assert files
    out = subprocess.run(["node", str(script), *files], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
