"""``dln-theory report [--out DIR]``: one static HTML page with every result and its provenance.

``DIR/index.html`` opens from the file system (no server, no network) and shows

- every claim of `dln_theory.verify`: what its numbers measure, predicted, simulated, error,
  tolerance, PASS/FAIL/REFUTED, the source paper and the note; from a ``dln-theory verify
  --json`` file, or run in quick mode;
- every derivation of ``dln-theory derive all --check`` (the summary ``derivations/README.md``,
  or a fresh one when that folder has none): equations typeset by MathJax, and the checks;
- every figure of ``figures/<name>.json`` with its PNG (copied to ``DIR/figures/``), caption
  (`dln_theory.figures.readme.row`), check message, metrics and provenance (the sidecar
  ``<name>.provenance.json`` when present, else the part kept in ``<name>.json``);
- the provenance of the report itself (`dln_theory.provenance.record`).

MathJax 3 comes from the ``django-static-mathjax`` wheel (``pip install -e '.[docs]'``) and is
copied to ``DIR/assets/mathjax`` (SVG output, no fonts to fetch); without it the equations are
shown as LaTeX source and the page says so.
"""

import contextlib
import html
import importlib.util
import io
import json
import re
import shutil
import tempfile
from pathlib import Path

#: MathJax files the page loads (the combined TeX-to-SVG component and what it may load lazily).
MATHJAX_PARTS = ("tex-svg.js", "input", "ui", "a11y", "adaptors")
RESULT_CLASS = {"PASS": "pass", "FAIL": "fail", "REFUTED": "refuted"}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1em 2em; color: #222; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pass { color: #17692b; font-weight: bold; } .fail { color: #b00020; font-weight: bold; }
.refuted { color: #8a5a00; font-weight: bold; }
figure { margin: 2em 0; border-top: 1px solid #ccc; padding-top: 1em; }
figure img { max-width: 100%; }
pre { background: #f6f6f6; padding: 0.5em; overflow-x: auto; font-size: 0.8em; }
.equation { overflow-x: auto; }
"""


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def _markdown(text: str) -> str:
    """The little Markdown of the figure captions as HTML: **bold**, `code`, [text](link) as text."""
    out = _esc(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"`(.+?)`", r"<code>\1</code>", out)
    return re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", out)


def mathjax_dir():
    """The ``es5`` folder of MathJax 3 in the installed ``django-static-mathjax``, or None."""
    spec = importlib.util.find_spec("mathjax")
    locations = list(spec.submodule_search_locations or ()) if spec else []
    folder = Path(locations[0]) / "static" / "mathjax" / "es5" if locations else None
    return folder if folder is not None and (folder / "tex-svg.js").is_file() else None


def _copy_mathjax(out: Path) -> bool:
    source = mathjax_dir()
    if source is None:
        return False
    target = out / "assets" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        elif (source / part).is_file():
            shutil.copy2(source / part, target / part)
    return True


def _math(tex: str, typeset: bool) -> str:
    if typeset:
        return f'<div class="arithmatex equation">\\[{_esc(tex)}\\]</div>'
    return f"<pre><code>{_esc(tex)}</code></pre>"


# ------------------------------------------------------------------------------------- sections


def _result(claim: dict) -> str:
    """PASS, FAIL or REFUTED of a claim record (`dln_theory.verify.Outcome.result`)."""
    return "FAIL" if not claim["passed"] else ("REFUTED" if claim.get("refuted") else "PASS")


def claims_section(claims: list[dict], origin: str) -> str:
    """The table of claims (records as ``dln-theory verify --json`` writes them)."""
    if not claims:
        return f'<section id="claims"><h2>Claims</h2><p>No claims ({_esc(origin)}).</p></section>'
    rows = []
    for c in claims:
        result = _result(c)
        nums = "".join(f'<td class="num">{c[k]:.6g}</td>' for k in ("predicted", "simulated"))
        nums += "".join(f'<td class="num">{c[k]:.2e}</td>' for k in ("error", "tolerance"))
        rows.append(f'<tr id="claim-{_slug(c["name"])}"><td><code>{_esc(c["name"])}</code></td>'
                    f'<td>{_esc(c.get("quantity", ""))}</td>{nums}'
                    f'<td class="{RESULT_CLASS[result]}">{result}</td><td>{_esc(c["source"])}</td>'
                    f'<td>{_esc(c.get("note", ""))}</td></tr>')
    n = {r: sum(_result(c) == r for c in claims) for r in RESULT_CLASS}
    head = ("<tr><th>claim</th><th>quantity; error</th><th>predicted</th><th>simulated</th><th>error</th>"
            "<th>tolerance</th><th>result</th><th>source</th><th>note</th></tr>")
    return (f'<section id="claims"><h2>Claims</h2><p>{n["PASS"]} passed, {n["REFUTED"]} refuted as registered '
            f'(the paper\'s statement disagrees with simulation, as recorded), {n["FAIL"]} failed; from '
            f'{_esc(origin)}. A claim passes when error ≤ tolerance.</p>'
            f'<table id="claims-table">{head}{"".join(rows)}</table></section>')


def parse_derivations(text: str) -> list[dict]:
    """Sections of a ``derivations/README.md``: name, title, source, LaTeX equations, checks."""
    sections = []
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        head, _, body = block.partition("\n")
        match = re.match(r"`([^`]+)`: (.*)", head)
        source = re.search(r"^Source: (.*?)\.?$", body, flags=re.M)
        sections.append({
            "name": match[1] if match else head, "title": match[2] if match else "",
            "source": source[1] if source else "",
            "equations": [eq.strip() for eq in re.findall(r"^\$\$\n(.*?)\n\$\$", body, flags=re.M | re.S)],
            "checks": [(mark == "✅", label) for mark, label in re.findall(r"^- (✅|❌) (.*)$", body, flags=re.M)],
        })
    return sections


def derivations_text(folder) -> tuple[str, str]:
    """The text of ``<folder>/README.md`` and where it came from; generated in a temporary folder
    (``dln-theory derive all --check``) when ``folder`` has none."""
    path = Path(folder) / "README.md"
    if path.is_file():
        return path.read_text(encoding="utf-8"), str(path)
    from dln_theory.derivations import registry

    with tempfile.TemporaryDirectory(prefix="dln-report-") as scratch, contextlib.redirect_stdout(io.StringIO()):
        registry.run(["all"], check=True, out=scratch)
        return (Path(scratch) / "README.md").read_text(encoding="utf-8"), "dln-theory derive all --check, this run"


def derivations_section(text: str, origin: str, typeset: bool) -> str:
    parts = []
    for d in parse_derivations(text):
        checks = "".join(f'<li><span class="{"pass" if ok else "fail"}">{"PASS" if ok else "FAIL"}</span> '
                         f"{_esc(label)}</li>" for ok, label in d["checks"])
        parts.append(f'<article id="derivation-{_slug(d["name"])}"><h3><code>{_esc(d["name"])}</code>: '
                     f'{_esc(d["title"])}</h3><p>Source: {_esc(d["source"])}.</p>'
                     + "".join(_math(eq, typeset) for eq in d["equations"])
                     + (f"<ul>{checks}</ul>" if checks else "") + "</article>")
    return (f'<section id="derivations"><h2>Derivations</h2><p>From {_esc(origin)}.</p>{"".join(parts)}'
            "</section>")


def _figure_provenance(folder: Path, name: str, rec: dict) -> tuple[dict, str]:
    from dln_theory import provenance

    sidecar = provenance.sidecar_path(folder / f"{name}.json")
    if sidecar.is_file():
        return json.loads(sidecar.read_text(encoding="utf-8")), sidecar.name
    if "provenance" in rec:
        return rec["provenance"], f"{name}.json (no sidecar: git commit not recorded)"
    return {}, f"not recorded ({name}.json predates provenance; rerun dln-theory figures {name})"


def figures_section(folder, out: Path) -> str:
    from dln_theory import figures
    from dln_theory.figures import metrics, readme

    folder, parts = Path(folder), []
    for name in figures.list_figures():
        if not (folder / f"{name}.json").is_file():
            continue
        rec = metrics.load(folder, name)
        try:
            caption = _markdown(readme.row(name, rec))
        except (KeyError, TypeError, ValueError) as err:  # a record another version of the check wrote
            caption = f"<strong>{_esc(name)}</strong> (caption unavailable: {_esc(type(err).__name__)} {_esc(err)})"
        image = ""
        if (folder / f"{name}.png").is_file():
            (out / "figures").mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / f"{name}.png", out / "figures" / f"{name}.png")
            image = f'<img src="figures/{_esc(name)}.png" alt="{_esc(name)}">'
        prov, prov_from = _figure_provenance(folder, name, rec)
        status = "PASS" if rec["passed"] else "FAIL"
        parts.append(
            f'<figure id="figure-{_slug(name)}">{image}<figcaption>{caption}'
            f'<p>Check ({_esc(rec["mode"])} run): <span class="{RESULT_CLASS[status]}">{status}</span> '
            f'{_esc(rec["message"])}</p>'
            f'<details><summary>metrics</summary><pre>{_esc(json.dumps(rec["metrics"], indent=1, ensure_ascii=False))}'
            f'</pre></details><details><summary>provenance ({_esc(prov_from)})</summary>'
            f'<pre>{_esc(json.dumps(prov, indent=1, ensure_ascii=False, sort_keys=True))}</pre></details>'
            "</figcaption></figure>")
    if not parts:
        parts.append(f"<p>No figure records in {_esc(folder)} (dln-theory figures all writes them).</p>")
    return f'<section id="figures"><h2>Figures</h2>{"".join(parts)}</section>'


def provenance_section(record: dict) -> str:
    git = record["git"]
    commit = git["commit"] or "not a git checkout"
    dirty = " with uncommitted changes" if git["dirty"] else ""
    versions = ", ".join(f"{k} {v}" for k, v in record["packages"].items())
    jax = record["jax"]
    return (f'<section id="provenance"><h2>Provenance of this report</h2><ul>'
            f"<li>code: git <code>{_esc(commit)}</code>{dirty}; source hash <code>{_esc(record['source_hash'])}</code></li>"
            f"<li>packages: {_esc(versions)}</li>"
            f"<li>JAX: backend {_esc(jax['backend'])}, {jax['device_count']} device(s) "
            f"({_esc(', '.join(jax['device_kinds']))}), x64 {jax['x64']}</li>"
            f"<li>XLA_FLAGS: <code>{_esc(record['xla_flags'] or '(unset)')}</code></li></ul></section>")


def render(claims, claims_from: str, figures_dir, derivations_dir, out: Path, typeset: bool) -> str:
    """The page's HTML."""
    from dln_theory import provenance

    text, origin = derivations_text(derivations_dir)
    script = ('<script>window.MathJax = {options: {enableMenu: false}, svg: {fontCache: "global"}};</script>'
              '<script src="assets/mathjax/tex-svg.js"></script>' if typeset else "")
    notice = "" if typeset else ("<p><strong>MathJax is not installed</strong> (pip install -e '.[docs]'): "
                                 "equations are shown as LaTeX source.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>dln-theory report</title>"
            f"<style>{STYLE}</style>{script}</head><body><h1>dln-theory report</h1>"
            '<nav><a href="#claims">Claims</a><a href="#derivations">Derivations</a>'
            '<a href="#figures">Figures</a><a href="#provenance">Provenance</a></nav>'
            f"{notice}{claims_section(claims, claims_from)}{derivations_section(text, origin, typeset)}"
            f"{figures_section(figures_dir, out)}{provenance_section(provenance.record())}</body></html>\n")


def build(out, claims=None, claims_from: str = "", figures_dir="figures", derivations_dir="derivations") -> Path:
    """Write ``out/index.html`` (with ``out/figures/*.png`` and MathJax) and return its path.

    ``claims``: records as ``dln-theory verify --json`` writes them (``None``: none).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    typeset = _copy_mathjax(out)
    page = out / "index.html"
    page.write_text(render(claims or [], claims_from or "none", figures_dir, derivations_dir, out, typeset),
                    encoding="utf-8")
    return page
