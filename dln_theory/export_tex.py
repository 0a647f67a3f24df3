"""``dln-theory export-tex FILE``: the checked numbers as LaTeX macros, for a paper to quote.

As showyourwork does for a paper's computed values, every number a check compared becomes a
macro, so the text quotes what the toolkit computed and a rerun updates the paper::

    \\newcommand{\\dlnKernelRichMaxRelDistance}{1.2\\ensuremath{\\times 10^{-7}}}
    \\newcommand{\\dlnClaimGdVsFlowOrderOneSimulated}{1.01}

Figures: every numeric metric of ``figures/<name>.json`` (`dln_theory.figures.metrics`), named
``\\dln<Figure><Metric path>``, and ``\\dln<Figure>Check`` (PASS or FAIL). Claims
(`dln_theory.verify`): ``\\dlnClaim<Name>`` + ``Predicted``, ``Simulated``, ``Error``,
``Tolerance`` and ``Result`` (PASS, FAIL or REFUTED), from a ``dln-theory verify --json`` file or
from running the claims in quick mode. Macro names have letters only (TeX control words): words
are capitalized and joined, digits and Greek letters spelled out (``order_2`` → ``OrderTwo``,
``α`` → ``Alpha``), anything else dropped; two sources that would give one name are refused.
"""

import math
import re
import unicodedata
from pathlib import Path

PREFIX = "dln"
_DIGITS = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")


def _word(token: str) -> str:
    """A token as a capitalized word: ASCII letters as they are, a digit spelled out, another
    letter or digit by the last word of its Unicode name (α → Alpha, ₂ → Two), else nothing."""
    if token.isascii():
        return _DIGITS[int(token)] if token.isdigit() else token[:1].upper() + token[1:]
    if not unicodedata.category(token)[0] in "LN":
        return ""
    last = unicodedata.name(token, "").split(" ")[-1]
    return last.capitalize() if last.isalpha() else ""


def macro_name(*parts) -> str:
    """``dln`` and the CamelCase of ``parts`` with digits and Greek letters spelled out: letters
    only (``order_2`` → ``OrderTwo``, ``F-GR (α, ε)`` → ``FGRAlphaEpsilon``)."""
    tokens = (t for part in parts for t in re.findall(r"[A-Za-z]+|[0-9]|[^\x00-\x7f]", str(part)))
    return PREFIX + "".join(_word(t) for t in tokens)


def tex_number(x: float, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits: ``1.02``, ``-0.5``, or ``4.2\\ensuremath{\\times
    10^{-10}}`` outside [1e-3, 1e4) (usable in text and in math); ``nan``/``inf`` as words."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("-" if x < 0 else "") + r"\ensuremath{\infty}"
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.{digits}g}"
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    power = rf"10^{{{int(exponent)}}}"
    return rf"\ensuremath{{{power}}}" if mantissa == "1" else rf"{mantissa}\ensuremath{{\times {power}}}"


def _flatten(value, path=()):
    """(path, number) of every int/float leaf of nested dicts and lists (bools and strings skipped)."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _flatten(value[key], (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _flatten(item, (*path, str(i)))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, value


def figure_macros(folder, names=None, digits: int = 3) -> list[tuple[str, str, str]]:
    """(macro, value, source) of every figure record ``<folder>/<name>.json`` present."""
    from dln_theory import figures
    from dln_theory.figures import metrics

    rows = []
    for name in names or figures.list_figures():
        if not (Path(folder) / f"{name}.json").exists():
            continue
        rec = metrics.load(folder, name)
        source = f"{name}.json ({rec['mode']} run)"
        rows.append((macro_name(name, "check"), "PASS" if rec["passed"] else "FAIL", source))
        rows += [(macro_name(name, *path), tex_number(v, digits), source) for path, v in _flatten(rec["metrics"])]
    return rows


def claim_macros(claims, digits: int = 3) -> list[tuple[str, str, str]]:
    """(macro, value, source) of every claim record (``dln-theory verify --json`` entries)."""
    rows = []
    for c in claims:
        result = "FAIL" if not c["passed"] else ("REFUTED" if c.get("refuted") else "PASS")
        source = f"claim {c['name']} ({c['source']})"
        rows += [(macro_name("claim", c["name"], key), tex_number(float(c[key]), digits), source)
                 for key in ("predicted", "simulated", "error", "tolerance")]
        rows.append((macro_name("claim", c["name"], "result"), result, source))
    return rows


def render(rows, header: str = "") -> str:
    """The LaTeX text: a header comment and one ``\\newcommand`` per row, grouped by source.

    Raises ValueError if two rows have one macro name.
    """
    seen = {}
    for macro, _, source in rows:
        if macro in seen:
            raise ValueError(f"\\{macro} comes from both {seen[macro]} and {source}: rename one of them")
        seen[macro] = source
    lines = [f"% {line}".rstrip() for line in header.splitlines()]
    last = None
    for macro, value, source in rows:
        if source != last:
            lines.append(f"% {source}")
            last = source
        lines.append(rf"\newcommand{{\{macro}}}{{{value}}}")
    return "\n".join(lines) + "\n"


def header(provenance_record: dict, figures_dir, claims_from: str) -> str:
    """Where the numbers come from: the command, the code (git commit, source hash), the inputs."""
    git = provenance_record["git"]
    commit = git["commit"] or "not a git checkout"
    dirty = " (uncommitted changes)" if git["dirty"] else ""
    return (f"Generated by dln-theory export-tex (dln-theory {provenance_record['packages'].get('dln-theory', '?')});"
            " do not edit.\n"
            f"Code: git {commit}{dirty}, source hash {provenance_record['source_hash'][:16]}.\n"
            f"Figures: metrics of {figures_dir}/<name>.json. Claims: {claims_from}.")


def export(path, figures_dir="figures", claims=None, claims_from: str = "", digits: int = 3) -> Path:
    """Write the macros of the figure records in ``figures_dir`` and of ``claims`` (verify JSON
    records, or None for none) to ``path``; return it."""
    from dln_theory import provenance

    rows = figure_macros(figures_dir, digits=digits) + claim_macros(claims or [], digits=digits)
    text = render(rows, header(provenance.record(), figures_dir, claims_from or "none"))
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path
