"""MkDocs hooks of the documentation site (``mkdocs.yml``: ``hooks``).

- MathJax 3 is served from the site itself: the files come from the ``django-static-mathjax``
  wheel on PyPI (MathJax's own ``es5`` build, nothing else of Django is used), so neither the
  build nor a reader needs a network.
- Tutorials (``docs/tutorial_*.md``) are executed while the site is built: each plain
  ``python`` fence becomes a markdown-exec block of one session per page, shown with its
  output: as text, or rendered when the block's first line is ``# output: html`` or
  ``# output: markdown`` (Markdown output goes through the page's extensions, math included).
  The source files keep plain fences, so they read the same on a forge and
  ``tests/test_tutorial_*.py`` can run them block by block.
- Two result pages are generated from the repository's committed outputs: ``derivations.md``
  from ``derivations/README.md`` (written by ``dln-theory derive all --check``) and
  ``figures.md`` from ``figures/<name>.json`` with the PNGs (`dln_theory.figures.readme.block`).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
MATHJAX_PARTS = ("tex-svg.js", "input", "ui", "a11y", "adaptors")
_FENCE = re.compile(r"^```python[ \t]*$", flags=re.M)
_OUTPUT_FENCE = re.compile(r"^```python\n(?=# output: (html|markdown)\n)", flags=re.M)  # a block printing HTML/Markdown
_EMPTY_OUTPUT = '<div class="highlight"><pre><span></span><code>\n</code></pre></div>'
_FORMULA_LINK = re.compile(r'<a href="([^"]*\s[^"]*)">(.*?)</a>', flags=re.S)


def mathjax_dir() -> Path:
    """The ``es5`` folder of MathJax 3 inside the installed ``django-static-mathjax`` package."""
    spec = importlib.util.find_spec("mathjax")
    locations = list(spec.submodule_search_locations or ()) if spec else []
    folder = Path(locations[0] if locations else ".") / "static" / "mathjax" / "es5"
    if not (folder / "tex-svg.js").is_file():
        raise RuntimeError("MathJax not found: pip install -e '.[docs]' (it brings django-static-mathjax)")
    return folder


def _figures_page() -> str:
    from dln_theory.figures import NAMES, readme

    table = readme.block(str(ROOT / "figures")).replace("](docs/", "](")  # README-relative links to docs pages
    for name in NAMES:  # a registered figure not generated yet: its row says so (readme.block), no image
        if not (ROOT / "figures" / f"{name}.png").is_file():
            table = table.replace(f"![{name}](figures/{name}.png)", "(no PNG yet)")
    return (
        "# Figures\n\n"
        "Each figure carries a quantitative theory-vs-simulation check; `dln-theory figures all` "
        "regenerates them and their checks. The captions below are generated from the checks' "
        "metrics files, so every number is the one the last full run measured.\n\n"
        + table
        + "\n"
    )


def _derivations_page() -> str:
    text = (ROOT / "derivations" / "README.md").read_text(encoding="utf-8")
    return text.replace("# Derivations\n", "# Derivations\n\nEvery symbolic result with its checks, as "
                        "`dln-theory derive all --check` writes it (`derivations/README.md`).\n", 1)


def on_files(files, config):
    """Add the generated result pages and the committed figure PNGs."""
    files.append(File.generated(config, "derivations.md", content=_derivations_page()))
    files.append(File.generated(config, "figures.md", content=_figures_page()))
    for png in sorted((ROOT / "figures").glob("*.png")):
        files.append(File.generated(config, f"figures/{png.name}", abs_src_path=str(png)))
    return files


def public_modules(page: str) -> list[str]:
    """Dotted names of the public modules an API page documents: every ``.py`` file under the
    page's folder (`API_FOLDERS`) whose path has no part starting with ``_`` (packages by their
    ``__init__.py``), so that a new module appears in the reference without editing the page."""
    folder, prefix = API_FOLDERS[page]
    names = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = path.relative_to(ROOT / folder).with_suffix("").parts
        if page == "api/simulation.md" and (len(parts) != 1 or parts == ("__init__",)):
            continue  # the top level: its modules only (subpackages have their own pages)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts):
            continue
        names.append(".".join((prefix, *parts)))
    return names


#: API page → (folder, dotted prefix) of the modules it documents.
API_FOLDERS = {
    "api/simulation.md": ("dln_theory", "dln_theory"),
    "api/dynamics.md": ("dln_theory/dynamics", "dln_theory.dynamics"),
    "api/theory.md": ("dln_theory/theory", "dln_theory.theory"),
    "api/verify.md": ("dln_theory/verify", "dln_theory.verify"),
    "api/deepnet.md": ("dln_theory/deepnet", "dln_theory.deepnet"),
    "api/derivations.md": ("derivations", "dln_theory.derivations"),
    "api/figures.md": ("figures", "dln_theory.figures"),
}
_DIRECTIVE = re.compile(r"^::: (\S+)", flags=re.M)


def on_page_markdown(markdown, page, config, files):
    """API pages: append a ``:::`` directive for every public module the page does not list yet.
    Tutorials: execute their python fences at build time (markdown-exec, one session each)."""
    if page.file.src_uri in API_FOLDERS:
        listed = set(_DIRECTIVE.findall(markdown))
        missing = [m for m in public_modules(page.file.src_uri) if m not in listed]
        return markdown + "".join(f"\n::: {m}\n" for m in missing)
    name = Path(page.file.src_uri).stem
    if not name.startswith("tutorial_"):
        return markdown
    markdown = _OUTPUT_FENCE.sub(lambda m: f'```python exec="on" session="{name}" source="above"'
                                 + (' html="1"' if m[1] == "html" else "") + "\n", markdown)
    return _FENCE.sub(f'```python exec="on" session="{name}" source="above" result="text"', markdown)


def on_page_content(html, page, config, files):
    """Undo links that are formulas: Markdown reads "[(1 − ηB)² − η²A²](u² − v²)" in a docstring
    as a link to "u² − v²". A link target with a space is never a URL, so it is put back as text.
    Drop the empty output boxes of tutorial blocks that print nothing."""
    html = _FORMULA_LINK.sub(lambda m: f"[{m[2]}]({m[1]})", html)
    return html.replace(_EMPTY_OUTPUT, "")  # a tutorial block that printed nothing shows no output box


def on_post_build(config):
    """Copy the parts of MathJax the pages load (SVG output: no font files needed)."""
    source, target = mathjax_dir(), Path(config["site_dir"]) / "assets" / "mathjax"
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)
