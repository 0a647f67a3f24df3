"""The README's figure table, generated from the checks' metrics files (``figures/<name>.json``).

Every number in the table comes from the JSON record that `dln_theory.figures.render` wrote for
the full (not quick) figure; nothing is typed by hand. `block` builds the table, `update` rewrites
the README between the markers ``<!-- figures:begin -->`` and ``<!-- figures:end -->``:

    python -m dln_theory.figures.readme            # at the repository root, after `dln-theory figures all`
"""

import re
import sys
from pathlib import Path

from . import FIGURES, NAMES
from .metrics import load

BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"


def num(x, digits: int = 2) -> str:
    """``x`` with ``digits`` significant digits, as 0.11, 3.98 or 4.2e-10 (no exponent padding)."""
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.{digits}g}"
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def pct(x, digits: int = 2) -> str:
    """A fraction as a percentage with ``digits`` significant digits: 0.0233 → '2.3 %'."""
    return f"{num(100 * x, digits)} %"


def _kernel_rich(m):
    return ("**kernel_rich** (Woodworth et al.): test error of gradient flow vs α for n = "
            f"{', '.join(str(n) for n in m['ns'])}, predicted argmin ψ_α (lines) vs simulated endpoints (markers, "
            f"{m['runs']} runs within {num(m['max_rel_distance'])} relative), with min-ℓ1/min-ℓ2 levels; sample size "
            "needed for a target error.")


def _depth(m):
    depths = ", ".join(sorted(m["max_rel_distance_by_depth"]))
    return (f"**depth**: the same transition for P-W depth D = {depths}, argmin Q^D_α vs gradient flow "
            f"(within {num(m['max_rel_distance'])} relative over {m['runs']} runs).")


def _modified_flow(m):
    slopes = ", ".join(f"{m['slopes'][p]:.2f}" for p in sorted(m["slopes"]))
    orders = sorted(int(p) for p in m["slopes"])
    return ("**modified_flow** (Barrett & Dherin): E = ½(y − abx)²; GD, gradient flow and modified flows on the "
            "hyperbola of minima coloured by sharpness; error at fixed time vs h with fitted slopes "
            f"{slopes} for orders {orders[0]}–{orders[-1]} (expected p + 1).")


def _step_size(m):
    runs = {k: v for k, v in m.items() if isinstance(v, dict)}
    worst = max(v["max_mismatch_small_eta"] for v in runs.values())
    rates = ", ".join(f"{k} η^{v['rate']:.1f}" for k, v in runs.items())
    shape = ", ".join(f"{k} {num(v['max_shape_error_small_eta'])}" for k, v in runs.items())
    return ("**step_size** (Even et al., Pesme et al.): test loss and ‖Gain‖₁ vs η for GD and SGD up to "
            f"divergence; argmin ψ_{{α_∞}} overlaid (within {pct(worst)} for η ≤ η_c/10, mismatch shrinking like "
            f"{rates}); per-coordinate shape of the gain vs its first-order flow prediction (ℓ1 distance {shape} "
            f"for η ≤ η_c/10; GD puts {pct(runs['GD']['support_fraction_of_gain'])} of its gain on the support, SGD "
            f"{pct(runs['SGD']['support_fraction_of_gain'])}; Pesme et al.'s isotropic 2ηK_jj∫L misses SGD's shape "
            f"by ≥ {num(runs['SGD']['min_isotropic_shape_error_small_eta'])}).")


def _gr_bias(m):
    return ("**gr_bias** (Karakida et al.): α_∞/α on and off the support and test error vs α for GD, GR, F-GR and "
            f"B-GR at several ε; argmin ψ_{{α_∞}} overlaid (within {pct(m['max_rel_mismatch'])} over "
            f"{m['runs_compared']} converged runs). In this DLN setup larger ε in F-GR shrinks α more on the support "
            "and raises the test error.")


def _sam(m):
    short = m["test_loss_claim_short"]
    verdict = "confirmed" if short["confirmed"] else "refuted"
    worst = max((v for k, v in short.items() if isinstance(v, dict)), key=lambda v: v["max_mismatch"], default=None)
    detail = (f" (worst {pct(worst['max_mismatch'])} at train loss {num(worst['train_loss_at_max'])}: not converged)"
              if worst and not short["confirmed"] else "")
    ex = m["excluded"]
    return ("**sam** (Andriushchenko & Flammarion): test loss vs ρ for n-SAM and 1-SAM against GD and SGD at two "
            f"initial scales; 1-SAM reaches {num(m['best_over_gd_short']['1-SAM'])} × GD's test loss. Runs end within "
            f"{num(m['max_rel_distance'])} (relative ‖β‖) of argmin ψ_{{α_∞}} ({m['compared']}/{m['runs']} runs after "
            f"{m['test_loss_claim_long']['steps']:,} steps; {ex['unconverged']} not converged, {ex['unresolved']} with α_∞ below float64 "
            f"resolution, {ex['diverged']} diverged); argmin ψ_{{α_∞}}'s test loss within {pct(m['tolerance'])} of each "
            f"run's own after {short['steps']:,} steps: {verdict}{detail}.")


def _phase(m):
    reported = "; ".join(f"{name} reported: {v['closer']}/{v['moved']}" for name, v in m["per_grid"].items()
                         if not v["scored"] and v["moved"])
    return ("**phase**: test error over (α, η) for GD and over (α, γ), (α, ε) for F-GR, each one compiled sweep, "
            f"with the boundary predicted from α_∞ (right side in {pct(m['agreement'], 3)} of {m['cells_scored']} "
            f"cells); where α_∞ moves the predicted error by > {m['shift']} decades ({m['cells_moved']} cells), "
            f"argmin ψ_{{α_∞}} is closer to the run than argmin ψ_α in {pct(m['alpha_inf_closer'], 3)} (F-GR grids"
            f"{'; ' + reported if reported else ''}).")


def _flooding(m):
    return ("**flooding**: a flooding run against the flow of (η/4)‖∇L‖² on the level set L = b that its "
            f"ascent–descent pairs follow (relative distance {num(m['relative_distance'])}); F-GR and GD for contrast.")


def _deepnet(m):
    gr = m["claims"]["karakida_gr_eps"]
    bd = m["claims"]["barrett_dherin_gd_equal_time"]
    z = min(v["z"] for v in gr["rows"].values())
    return ("**deepnet**: the cached deep-net validation results (`results/deepnet/`); every GR-family row that "
            f"trained ends flatter than SGD (sharpness {num(gr['sgd_sharpness'])}), each by ≥ {num(z)} standard "
            f"errors over the seeds, and GD at equal time is flatter at η = {num(bd['eta_large'])} than at "
            f"η = {num(bd['eta_small'])} ({num(bd['z'])} s.e.); see [docs/deepnet.md](docs/deepnet.md).")


def _saddle_to_saddle(m):
    return ("**saddle_to_saddle** (Pesme & Flammarion): training loss and the coordinates β_i in accelerated time t/ln(1/α) "
            f"against the α → 0 limit process ({m['jumps']} jumps, one a deactivation); the jump times converge "
            f"like ln(1/α)^{m['jump_time_order']:.2f} (theory −1) and β on every plateau is within "
            f"{num(m['plateau_relative_error'])} (relative) of its saddle.")


def _momentum(m):
    return ("**momentum** (Papazov, Pesme & Flammarion): test error of heavy ball against λ = γ/(1 − β)² and "
            "against β at fixed λ, with the momentum-gradient-flow prediction; simulated within "
            f"{pct(m['max_relative_gap_lambda'])} of it (predicted rise over λ {pct(m['predicted_relative_rise'])}), "
            f"gap closing at order {num(m['gap_order_beta'])} in 1 − β (theory 1).")


ROWS = {"kernel_rich": _kernel_rich, "depth": _depth, "modified_flow": _modified_flow, "step_size": _step_size,
        "gr_bias": _gr_bias, "sam": _sam, "phase": _phase, "flooding": _flooding, "deepnet": _deepnet,
        "saddle_to_saddle": _saddle_to_saddle, "momentum": _momentum}


def row(name: str, rec: dict) -> str:
    """The table text of one figure: its entry in ``ROWS``, else the figure module's ``readme_row``,
    else the first line of its docstring and its check message (both generated, never typed)."""
    if name in ROWS:
        return ROWS[name](rec["metrics"])
    module = FIGURES[name]
    if hasattr(module, "readme_row"):
        return module.readme_row(rec["metrics"])
    title = (module.__doc__ or name).strip().splitlines()[0]
    return f"**{name}**: {title} Check: {rec['message']}".replace("|", "\\|")


def block(folder="figures") -> str:
    """The figure table (between the markers) from ``<folder>/<name>.json`` of full runs.

    A figure without a metrics file gets a row that says so; a quick-run file is refused.
    """
    lines = [BEGIN, "Generated by `python -m dln_theory.figures.readme` from the checks' metrics files "
             "`figures/<name>.json`:", "", "| | |", "|---|---|"]
    for name in NAMES:
        if not (Path(folder) / f"{name}.json").exists():
            lines.append(f"| ![{name}](figures/{name}.png) | **{name}**: no full-run metrics committed yet "
                         f"(`dln-theory figures {name}` writes `figures/{name}.json`). |")
            continue
        rec = load(folder, name)
        if rec["mode"] != "full":
            raise ValueError(f"{folder}/{name}.json comes from a quick run; regenerate it with `dln-theory figures "
                             f"{name}`")
        status = "" if rec["passed"] else " **Check FAILED.**"
        lines.append(f"| ![{name}](figures/{name}.png) | {row(name, rec)}{status} |")
    lines.append(END)
    return "\n".join(lines)


def current(readme="README.md") -> str:
    """The block now in ``readme`` (markers included)."""
    text = Path(readme).read_text(encoding="utf-8")
    match = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), text, flags=re.S)
    if match is None:
        raise ValueError(f"{readme} has no {BEGIN} … {END} block")
    return match.group(0)


def update(readme="README.md", folder="figures") -> bool:
    """Rewrite the block in ``readme`` from the metrics files; return whether the file changed."""
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    new = text.replace(current(readme), block(folder))
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    readme = argv[0] if argv else "README.md"
    changed = update(readme)
    print(f"{readme}: figure table {'rewritten' if changed else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
