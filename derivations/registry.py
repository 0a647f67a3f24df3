"""Registry of named derivations and the ``run`` entry behind ``dln-theory derive``.

``run(names, check=True, latex=False, order=p, out=DIR)`` prints each result; with ``latex``
it writes ``DIR/latex/NAME.tex``, and when every registered result was run with its checks it
regenerates the summary ``DIR/README.md`` (equations and check marks).  Nothing else writes
files, so a run without ``--check`` or at another order never touches the committed summary,
and files of an order other than `DEFAULT_ORDER` carry it in their name (``gd.order3.tex``,
``README.order3.md``).  ``DIR`` defaults to ``derivations`` in the current working directory
(at the repository root: the committed files).  The command line is ``dln-theory derive``
(``dln_theory.cli``).
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter

from . import (alpha_identity, finite_difference, gradient_form, implicit_bias,
                         methods, modified_equations, multistep, trees)
from . import local_error, weight_decay
from . import adaptive_maps

#: Default output folder, relative to the current working directory.
DEFAULT_OUT = Path("derivations")
#: Order of the committed LaTeX files and summary; other orders carry it in their file names.
DEFAULT_ORDER = 2
_GRAD_NORM2 = sp.Symbol("∇‖∇L‖²")
_BATCH_GRAD_NORM2 = sp.Symbol("‖∇Ĉ‖²")
Check = tuple[str, bool, str]


@dataclass(frozen=True)
class Result:
    """A named derivation: equations(order) -> [(lhs, rhs)], checks(order) -> [Check]."""

    name: str
    title: str
    source: str
    equations: Callable[[int], list[tuple[str, sp.Basic]]]
    checks: Callable[[int], list[Check]]


def _tidy(expr: sp.Expr) -> sp.Expr:
    """Collect on the tree/scalar symbols and L, factoring each coefficient."""
    names = trees.latex_names()
    syms = sorted((s for s in expr.free_symbols if s in names or s == gradient_form.L), key=str)
    return sp.collect(sp.expand(expr), syms, sp.factor) if syms else expr


def _one_step(method: methods.Method) -> Callable[[int], list[tuple[str, sp.Basic]]]:
    def equations(p: int):
        field = modified_equations.modified_field(method, p)
        loss, rem = gradient_form.split(field)
        tilde = "L̃ (L → L + (γ/2)‖∇L‖² in every symbol)" if method.regularized else "L̃"
        return [("f_h", _tidy(modified_equations.tree_form(field))), (tilde, _tidy(loss)),
                ("R = f_h + ∇L̃", _tidy(gradient_form.remainder_symbols(rem)))]
    return equations


def _heavy_ball(p: int):
    field = multistep.heavy_ball_field(p)
    return [("f_h", _tidy(modified_equations.tree_form(field))),
            ("(1 − β) L̃ (first order)", _tidy(multistep.heavy_ball_loss(1)))]


def _sgd_rr(_: int):
    eps, m = multistep.epsilon_sgd, sp.Symbol("m", positive=True, integer=True)
    k = sp.Symbol("k", integer=True)
    norm = sp.IndexedBase(_BATCH_GRAD_NORM2)[k]
    return [("C̃", sp.Symbol("C") + eps / (4 * m) * sp.Sum(norm, (k, 1, m))),
            ("P(batch a before b)", multistep.rr_general_m()[0])]


def _fd(_: int):
    g3, g4 = trees.grad_symbol(((), ())), trees.grad_symbol(((), (), ()))
    gm, ep = finite_difference.gamma, finite_difference.eps
    return [("d_F − (∇L + γH∇L)", gm * ep / 2 * g3 + gm * ep**2 / 6 * g4),
            ("d_B − (∇L + γH∇L)", -gm * ep / 2 * g3 + gm * ep**2 / 6 * g4)]


def _flooding(_: int):
    eta = finite_difference.eta
    return [("θ + η∇L − η∇L(θ + η∇L) − θ",
             -eta**2 / 2 * _GRAD_NORM2 - eta**3 / 2 * trees.grad_symbol(((), ())))]


def _pw(_: int):
    pw = implicit_bias.pw_flow()
    return [("w₊", pw["w+"]), ("w₋", pw["w-"]), ("β(S)", pw["beta(S)"]),
            ("∇Q_α(β)", pw["grad Q"]), ("Q_α(β)", implicit_bias.woodworth_Q(implicit_bias.b))]


def _pe(_: int):
    pe = implicit_bias.pe_flow()
    return [("u + v", pe["u+v"]), ("u − v", pe["u-v"]), ("β(S)", pe["beta(S)"]),
            ("∇ψ_α(β)", pe["grad psi"]), ("ψ_α(β)", implicit_bias.hyperbolic_entropy(
                implicit_bias.b))]


def _depth(_: int):
    dd = implicit_bias.depth_flow()
    return [("w₊", dd["w+"]), ("w₋", dd["w-"]), ("h_D(z)", dd["h_D"]), ("H_D(z)", dd["H_D"]),
            ("q_D(h_D(z))", dd["q_D(h_D(z))"])]


def _alpha(_: int):
    A, B, eta = sp.Symbol("A"), sp.Symbol("B"), alpha_identity.eta
    return [("(u'² − v'²)/(u² − v²)", (1 - eta * B) ** 2 - eta**2 * A**2),
            ("d log α_eff/dt (η → 0)", alpha_identity.flow_limit())]


def _title(method: methods.Method) -> str:
    return f"Modified equation of {method.update}"


def _method_checks(method):
    def checks(p: int):
        engine = modified_equations.check_engine(min(p, 4)) if method is methods.GD else []
        return engine + modified_equations.check_method(method, p)
    return checks


RESULTS = {r.name: r for r in (
    Result("gd", _title(methods.GD), "HLW IX; Barrett & Dherin arXiv:2009.11162",
           _one_step(methods.GD), _method_checks(methods.GD)),
    Result("fgr", _title(methods.FGR), "Karakida et al. arXiv:2210.02720",
           _one_step(methods.FGR), _method_checks(methods.FGR)),
    Result("bgr", _title(methods.BGR), "docs/conventions.md §4", _one_step(methods.BGR),
           _method_checks(methods.BGR)),
    Result("sam", _title(methods.SAM), "Andriushchenko & Flammarion "
           "arXiv:2206.06232", _one_step(methods.SAM), _method_checks(methods.SAM)),
    Result("extragradient", _title(methods.EXTRAGRADIENT), "HLW IX",
           _one_step(methods.EXTRAGRADIENT), _method_checks(methods.EXTRAGRADIENT)),
    Result("gr", _title(methods.GR), "docs/conventions.md §4",
           _one_step(methods.GR), _method_checks(methods.GR)),
    Result("heavy_ball", "Heavy-ball modified flow", "Ghosh et al. arXiv:2302.00849",
           _heavy_ball, multistep.check_heavy_ball),
    Result("sgd_rr", "SGD with random reshuffling: modified loss", "Smith et al. "
           "arXiv:2101.12176", _sgd_rr, lambda _: multistep.check_sgd_rr()),
    Result("fd_expansion", "F-GR / B-GR finite-difference expansions", "Karakida et al. "
           "arXiv:2210.02720", _fd, lambda _: finite_difference.check_directions()),
    Result("flooding", "Flooding ascent–descent pair", "Ishida et al. 2020; docs/conventions.md §4",
           _flooding, lambda _: finite_difference.check_flooding()),
    Result("pw_potential", "P-W (depth 2) implicit bias: Woodworth Q_α", "Woodworth et al. "
           "arXiv:2002.09277", _pw, lambda _: implicit_bias.check_pw()),
    Result("pe_potential", "P-E implicit bias: hyperbolic entropy ψ_α", "Even et al. "
           "arXiv:2302.08982", _pe, lambda _: implicit_bias.check_pe()),
    Result("depth_potential", "Depth-D implicit bias (parametric q_D)", "docs/conventions.md §2",
           _depth, lambda _: implicit_bias.check_depth()),
    Result("alpha_identity", "Effective initialization: exact per-step identity (P-E)",
           "docs/conventions.md §3", _alpha, lambda _: alpha_identity.check()),
    Result("local_error", "Exact local error: step vs time-h flow of the order-p modified field, "
           "series in h (p ≤ 3)", "HLW IX.1; Barrett & Dherin arXiv:2009.11162", local_error.equations,
           lambda _: local_error.check(3)),
    Result("weight_decay", "Weight decay on the factors is an ℓ1 penalty on β (P-E λ‖β‖₁, P-W (λ/2)‖β‖₁)",
           "docs/conventions.md §7 (derived)", weight_decay.equations, lambda _: weight_decay.check()),
    Result("nsam", "Normalized SAM θ ← θ − η∇L(θ + ρ∇L/‖∇L‖): first-order modified loss "
           "(Lie-series engine, ρ = O(η))", "Compagnoni et al. arXiv:2301.08203; "
           "derivations/adaptive_maps.py", adaptive_maps.nsam_equations,
           lambda _: adaptive_maps.check_nsam()),
    Result("adam_eps", "Adam/RMSProp with ε inside the root: first-order modified field "
           "(memoryless map, Lie-series engine)", "Cattaneo, Klusowski & Shigida arXiv:2309.00079",
           adaptive_maps.adam_equations, lambda _: adaptive_maps.check_adam()),
)}


def list_names() -> list[str]:
    """Registered result names, in display order."""
    return list(RESULTS)


def _pretty(lhs: str, rhs: sp.Basic) -> str:
    """``  lhs = rhs`` in sympy's Unicode notation (η, A², fractions drawn over several lines, the
    left-hand side on the middle line), the one notation every printed result uses."""
    form = PrettyPrinter({"use_unicode": True, "wrap_line": False}).doprint(rhs)
    lines, head = form.splitlines(), f"  {lhs} = "
    base = PrettyPrinter({"use_unicode": True})._print(rhs).baseline
    return "\n".join((head if i == base else " " * len(head)) + line for i, line in enumerate(lines))


def _latex(expr: sp.Basic) -> str:
    return _ascii(sp.latex(expr, symbol_names={**trees.latex_names(), _GRAD_NORM2: r"\nabla\|\nabla L\|^{2}",
                                              _BATCH_GRAD_NORM2: r"\|\nabla \hat C\|^{2}"}))


_LHS_LATEX = {
    "f_h": "f_h", "L̃": r"\tilde L", "R = f_h + ∇L̃": r"R = f_h + \nabla\tilde L", "C̃": r"\tilde C",
    "(1 − β) L̃ (first order)": r"(1-\beta)\tilde L \text{ (first order)}",
    "(u'² − v'²)/(u² − v²)": r"(u'^2 - v'^2)/(u^2 - v^2)", "H_D(z)": r"H_D(z)", "h_D(z)": r"h_D(z)",
    "L̃ (L → L + (γ/2)‖∇L‖² in every symbol)":
        r"\tilde L \; (L \to L + \tfrac{\gamma}{2}\|\nabla L\|^2 \text{ in every symbol})",
    "P(batch a before b)": r"P(\text{batch } a \text{ before } b)", "Q_α(β)": r"Q_\alpha(\beta)",
    "d log α_eff/dt (η → 0)": r"\frac{d \log \alpha_{\mathrm{eff}}}{dt} \; (\eta \to 0)",
    "d_B − (∇L + γH∇L)": r"d_B - (\nabla L + \gamma H \nabla L)",
    "d_F − (∇L + γH∇L)": r"d_F - (\nabla L + \gamma H \nabla L)",
    "q_D(h_D(z))": r"q_D(h_D(z))", "u + v": "u + v", "u − v": "u - v", "w₊": "w_+", "w₋": "w_-",
    "β(S)": r"\beta(S)", "θ + η∇L − η∇L(θ + η∇L) − θ": r"\theta + \eta\nabla L - \eta\nabla L(\theta + \eta\nabla L) - \theta",
    "½(u² + v²) − |uv|": r"\tfrac12(u^2 + v^2) - |uv|",
    "min_{uv=β} ½(u² + v²)": r"\min_{uv=\beta} \tfrac12(u^2 + v^2)",
    "min_{w₊²−w₋²=β} ½(w₊² + w₋²)": r"\min_{w_+^2 - w_-^2=\beta} \tfrac12(w_+^2 + w_-^2)",
    "u ∂_u − v ∂_v [L(uv) + (λ/2)(u² + v²)]":
        r"(u\,\partial_u - v\,\partial_v)\,[L(uv) + \tfrac{\lambda}{2}(u^2 + v^2)]",
    "θ̇_j (g = ∇L, n = ∇‖∇L‖_{1,ε})":
        r"\dot\theta_j \; (g = \nabla L,\ n = \nabla\|\nabla L\|_{1,\epsilon})",
    "‖∇L‖_{1,ε}": r"\|\nabla L\|_{1,\epsilon}",
    "ψ_α(β)": r"\psi_\alpha(\beta)", "∇Q_α(β)": r"\nabla Q_\alpha(\beta)", "∇ψ_α(β)": r"\nabla\psi_\alpha(\beta)",
}


def _latex_lhs(text: str) -> str:
    return _ascii(_LHS_LATEX.get(text, r"\text{" + text.replace("_", r"\_") + "}"))


def _ascii(tex: str) -> str:
    """LaTeX that a plain pdflatex/KaTeX accepts: no Unicode left (a new label must be mapped)."""
    if not tex.isascii():
        raise ValueError(f"LaTeX {tex!r} has non-ASCII characters: map it in derivations/registry.py")
    return tex


def _validate(names, order) -> tuple[list[str], int]:
    """Selected result names and the order, or ValueError naming what is wrong."""
    names = list(names)
    if "list" in names:
        raise ValueError(f"'list' is a command of its own and takes no names, got {names}")
    selected = list(RESULTS) if "all" in names else names
    unknown = [n for n in selected if n not in RESULTS]
    if unknown:
        raise ValueError(f"unknown derivation(s) {unknown}; known: {', '.join(RESULTS)}")
    try:
        order = operator.index(order)
    except TypeError:
        raise ValueError(f"order must be an integer >= 0, got {order!r}") from None
    if order < 0:
        raise ValueError(f"order must be an integer >= 0, got {order}")
    return selected, order


def _suffix(order: int) -> str:
    return "" if order == DEFAULT_ORDER else f".order{order}"


def _prepare(folder: Path) -> Path:
    """Create ``folder`` before any work, so an unwritable output fails in a second."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot write to output folder {folder}: {err}") from None
    if not os.access(folder, os.W_OK):
        raise ValueError(f"cannot write to output folder {folder}: permission denied")
    return folder


def run(names=("all",), check: bool = True, latex: bool = False, order: int = DEFAULT_ORDER,
        out=DEFAULT_OUT) -> int:
    """Print results, optionally check them and write LaTeX; returns an exit code.

    Exit code 0: all checks passed (or none run); 1: a check failed. A bad name or order raises
    ValueError before any work. ``out/README.md`` is regenerated when every registered result is
    run with ``check``; ``out/latex/NAME.tex`` is written with ``latex``.
    """
    selected, order = _validate(names, order)
    out = Path(out)
    summary = check and set(selected) == set(RESULTS)
    if latex:
        _prepare(out / "latex")
    elif summary:
        _prepare(out)
    sections, failed = [], False
    for name in selected:
        result = RESULTS[name]
        eqs = result.equations(order)
        print(f"== {name}: {result.title} ({result.source})")
        for lhs, rhs in eqs:
            print(_pretty(lhs, rhs))
        checks = result.checks(order) if check else []
        for label, passed, detail in checks:
            print(f"  [{'PASS' if passed else 'FAIL'}] {label}"
                  + ("" if passed else f"  ({detail})"))
        failed |= not all(passed for _, passed, _ in checks)
        if latex:
            print(f"  wrote {_write_latex(out / 'latex' / f'{name}{_suffix(order)}.tex', eqs)}")
        sections.append((result, eqs, checks))
    if summary:
        print(f"wrote {_write_readme(out / f'README{_suffix(order)}.md', sections, order)}")
    return 1 if failed else 0


def _write_latex(path: Path, eqs) -> Path:
    lines = [r"\begin{align*}"]
    lines += [f"{_latex_lhs(lhs)} &= {_latex(rhs)} \\\\" for lhs, rhs in eqs]
    lines.append(r"\end{align*}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_readme(path: Path, sections, order: int) -> Path:
    lines = ["# Derivations", "",
             "Generated by `derivations.registry.run` (`dln-theory derive all --check`); "
             f"modified equations to order h^{order}. Do not edit.", ""]
    for result, eqs, checks in sections:
        lines += [f"## `{result.name}`: {result.title}", "", f"Source: {result.source}.", ""]
        for lhs, rhs in eqs:
            lines += ["$$", f"{_latex_lhs(lhs)} = {_latex(rhs)}", "$$", ""]
        lines += [f"- {'✅' if passed else '❌'} {label}" for label, passed, _ in checks]
        lines.append("")
    path.write_text("\n".join(lines))
    return path
