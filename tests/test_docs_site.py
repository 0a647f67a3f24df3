"""The documentation site, built and opened in headless Chromium (`tests/browser.py`).

`make docs` builds the site into site/ (``mkdocs build --strict``: a warning, a broken link in the
Markdown or a failing tutorial block stops the build) and runs this module on it with
``DLN_DOCS_SITE=site``; without that variable the site is built here into a temporary folder.
Every page is then loaded from a local HTTP server and must have: no failed or external request
(the site works offline), no script error, no TeX left as text and every formula typeset by
MathJax without error, every image decoded with a nonzero size, and every local link and
``#fragment`` pointing at something that exists. Screenshots are kept in out/docs-site/.

A missing Chromium is a failure, not a skip: the check must not pass without looking. The
negative controls plant each defect in a copy of a built page and check that it is reported.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import browser

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "out" / "docs-site"

# Pages that must show typeset math, with the least number of formulas each renders (the
# derivations page has one per result; the others a few display equations).
MATH_PAGES = {"index.html": 2, "conventions.html": 6, "derivations.html": 40,
              "tutorial_verify_a_prediction.html": 2, "tutorial_own_update_rule.html": 1,
              "tutorial_regenerate_a_figure.html": 2}
# Figures every full run regenerates; each must appear on the figures page, decoded.
FIGURE_NAMES = ("kernel_rich", "depth", "modified_flow", "step_size", "gr_bias")


def _build(out: Path) -> Path:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                   cwd=ROOT, check=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    print(f"mkdocs build: {time.perf_counter() - start:.0f} s")
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    given = os.environ.get("DLN_DOCS_SITE")
    if given:
        folder = (ROOT / given).resolve()
        assert (folder / "index.html").is_file(), f"DLN_DOCS_SITE={given}: no built site there (make docs)"
        return folder
    return _build(tmp_path_factory.mktemp("docs") / "site")


@pytest.fixture(scope="module")
def pages(site):
    """Every built page, loaded and settled in Chromium: name → (problems, math count, images)."""
    out = {}
    names = sorted(str(p.relative_to(site)) for p in site.rglob("*.html"))
    with browser.serve(site) as base, browser.Browser() as chrome:
        for name in names:
            page = chrome.open(base + name)
            out[name] = (browser.page_problems(page), page.evaluate(browser.RENDERED_MATH),
                         page.evaluate("[...document.images].map(i => [i.getAttribute('src'), i.naturalWidth])"))
            if name in ("index.html", "conventions.html", "derivations.html", "figures.html",
                        "tutorial_own_update_rule.html", "tutorial_verify_a_prediction.html",
                        "tutorial_regenerate_a_figure.html", "api/simulation.html"):
                page.screenshot(SHOTS / name.replace("/", "_").replace(".html", ".png"), full_page=False)
            page.close()
    return out


@pytest.mark.slow
def test_every_page_renders(pages):
    """No page has a failed request, a script error, raw or broken math, or an image not loaded."""
    assert len(pages) >= 15
    problems = {name: found for name, (found, _, _) in pages.items() if found}
    assert not problems, problems


@pytest.mark.slow
def test_math_is_typeset(pages):
    for name, least in MATH_PAGES.items():
        assert pages[name][1] >= least, (name, pages[name][1])


@pytest.mark.slow
def test_figures_load(pages):
    images = dict(pages["figures.html"][2])
    for name in FIGURE_NAMES:
        assert images.get(f"figures/{name}.png", 0) > 0, (name, images)
    # the third tutorial shows the figure it regenerated (an inline PNG)
    assert any(src.startswith("data:image/png") and width > 0
               for src, width in pages["tutorial_regenerate_a_figure.html"][2])


@pytest.mark.slow
def test_local_links_resolve(site):
    assert browser.broken_links(site) == []


@pytest.mark.slow
def test_api_reference_covers_top_level_names(site):
    """Every name exported by `dln_theory` has an anchor in the API reference."""
    import dln_theory

    ids = set()
    for page in (site / "api").glob("*.html"):
        ids |= set(re.findall(r'id="(dln_theory\.[\w.]+)"', page.read_text(encoding="utf-8")))
    exported = [n for n in vars(dln_theory) if not n.startswith("_") and (n[0].isupper() or n in (
        "simulate", "sweep", "make_model", "from_data"))]
    assert len(exported) >= 30
    missing = [n for n in exported if not any(i.endswith("." + n) for i in ids)]
    assert not missing, missing


@pytest.mark.slow
def test_api_reference_covers_every_public_module(site):
    """Every public module of the installed package (pkgutil, independent of the docs hooks that
    list them) has its section in the API reference."""
    import importlib
    import pkgutil

    modules = {"dln_theory"}
    for package in ("dln_theory", "dln_theory.derivations", "dln_theory.figures"):
        modules.add(package)
        path = importlib.import_module(package).__path__
        modules |= {m.name for m in pkgutil.walk_packages(path, package + ".")}
    public = {m for m in modules if not any(part.startswith("_") for part in m.split("."))}
    assert len(public) >= 80
    ids = set()
    for page in (site / "api").glob("*.html"):
        ids |= set(re.findall(r'id="(dln_theory[\w.]*)"', page.read_text(encoding="utf-8")))
    assert sorted(public - ids) == []


# Negative controls: each planted defect must be reported by the same checks -----------------

@pytest.mark.slow
@pytest.mark.negative
@pytest.mark.parametrize("defect", ["no MathJax", "missing image", "TeX error"])
def test_planted_defect_is_reported(site, tmp_path, defect):
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    page = copy / "derivations.html"
    html = page.read_text(encoding="utf-8")
    if defect == "no MathJax":
        html = re.sub(r'<script src="assets/mathjax/tex-svg.js"></script>', "", html)
    elif defect == "missing image":
        html = html.replace("</article>", '<img src="figures/no_such_figure.png" alt=""></article>', 1)
    else:
        html = html.replace("</article>", r'<div class="arithmatex">\[\frac{1}{\]</div></article>', 1)
    assert html != page.read_text(encoding="utf-8"), "the defect was not planted"
    page.write_text(html, encoding="utf-8")
    with browser.serve(copy) as base, browser.Browser() as chrome:
        problems = browser.page_problems(chrome.open(base + "derivations.html"))
    assert problems, defect


@pytest.mark.negative
def test_broken_link_is_reported(tmp_path):
    (tmp_path / "a.html").write_text('<a href="b.html#here">b</a><a href="c.html">c</a><a href="#top">top</a>')
    (tmp_path / "b.html").write_text('<h1 id="elsewhere">b</h1>')
    assert browser.broken_links(tmp_path) == ["a.html: b.html#here (no #here)", "a.html: c.html (no file)",
                                              "a.html: #top (no #top)"]
