"""Write the README's performance table from the numbers of ``dln-theory bench --json FILE``.

    dln-theory bench [--quick] --json bench.json
    python benchmarks/readme.py bench.json [--readme README.md] [--check]

Replaces the text between the markers ``<!-- performance:begin -->`` and
``<!-- performance:end -->`` of the README with a table generated from the JSON (one object per
benchmark script: ``bench_sweep``, ``bench_flow``, ``bench_jobs``), so that the table is never
typed by hand. Every ratio in it was measured in the same run; the machine, its load and the JAX
devices are stated above the table. With ``--check`` nothing is written: the exit status says
whether the README already holds this table.
"""

import argparse
import datetime
import json
import math
import sys
from pathlib import Path

BEGIN, END = "<!-- performance:begin -->", "<!-- performance:end -->"


def _s(seconds) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _x(ratio) -> str:
    return "n/a" if ratio is None or math.isnan(ratio) else f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.1f}×"


def _met(ratio, target, larger=True) -> str:
    if ratio is None or math.isnan(ratio):
        return "n/a"
    return "met" if (ratio >= target if larger else ratio <= target) else "**missed**"


def sweep_rows(sweep: dict) -> list[tuple]:
    """Rows of bench_sweep: issue [1] (saves, sharding), scaling, single configurations, SGD."""
    rows = []
    issue = sweep.get("issue1")
    if issue:
        T, G, numpy = issue["steps"], issue["configs"], issue.get("numpy", {})
        loop = numpy.get("loop", {}).get("run_s")
        batched = numpy.get("batched", {}).get("run_s")
        labels = {"sweep_default_saves": "default saves (101)", "sweep_one_save": "one save",
                  "sweep_default_saves_sharded": f"default saves, {issue['host_devices']} devices",
                  "sweep_one_save_sharded": f"one save, {issue['host_devices']} devices"}
        for key, label in labels.items():
            r = issue.get(key)
            if not r or "error" in r:
                continue
            tm = r["timing"]
            progs = r.get("compiles", {}).get("programs", "?")
            rows.append((f"GD sweep, {G} α × {T} steps, (40, 100), {label}",
                         f"{_s(tm['run_s'])} + {_s(tm['compile_s'])} compile ({progs} programs), "
                         f"{100 * r['peak_fraction']:.0f} % of peak",
                         f"NumPy loop {_s(loop)}; batched {_s(batched)}",
                         f"{_x(r.get('loop_speedup'))}; {_x(r.get('batched_speedup'))}", "20×; 2×"))
        one, many = issue.get("sweep_one_save"), issue.get("sweep_default_saves")
        if one and many and "error" not in one and "error" not in many:
            cost = many["timing"]["run_s"] / one["timing"]["run_s"]
            rows.append(("cost of 101 saves over one save (same sweep)", _x(cost), "", "",
                         f"≤ 1.15× ({_met(cost, 1.15, larger=False)})"))
    scaling = sweep.get("scaling")
    if scaling:
        runs = [r for r in scaling["runs"] if "run_s" in r]
        if runs:
            cells = ", ".join(f"{r['devices']}: {_s(r['run_s'])}" for r in runs)
            rows.append((f"same sweep, one save, on 1 … {scaling['cores']} cores (XLA host devices)",
                         cells, "1 device", f"{_x(runs[-1].get('speedup'))} on {runs[-1]['devices']}",
                         ""))
    for r in sweep.get("grid", []):
        case = r["case"]
        if "skipped" in r or (case["n"], case["d"]) != (40, 100):
            continue
        m, G = case["method"], case["configs"]
        compiles = r["sweep"].get("compiles", {})
        lib = (f"{_s(r['sweep']['timing']['run_s'])} ({r['steps']} steps) + "
               f"{_s(r['sweep']['timing']['compile_s'])} compile ({compiles.get('programs', '?')} programs)")
        if G == 1:
            ratio = r.get("loop_speedup")
            rows.append((f"{m}, one configuration, (40, 100)", lib,
                         f"NumPy loop {_s(r['numpy']['loop']['run_s'])}", _x(ratio),
                         f"10× ({_met(ratio, 10)})"))
        elif m == "SGD":
            ratio = r.get("batched_speedup")
            rows.append((f"SGD (batch 1), G = {G}, (40, 100)", lib,
                         f"hand-batched NumPy {_s(r['numpy'].get('batched', {}).get('run_s'))}",
                         _x(ratio), f"2× ({_met(ratio, 2)})"))
        compile_s = r["sweep"]["timing"]["compile_s"]
        rows.append((f"compilation of one {m} sweep, G = {G}, (40, 100)", _s(compile_s), "", "",
                     f"≤ 0.5 s ({_met(compile_s, 0.5, larger=False)})"))
    return rows


def flow_rows(flow: dict) -> list[tuple]:
    rows = []
    single, many = flow.get("single"), flow.get("many")
    if single:
        tk, sp = single["toolkit"], single.get("DOP853", {})
        rows.append(("gradient flow, one configuration", f"{_s(tk['run_s'])} + {_s(tk['compile_s'])} compile",
                     f"`solve_ivp` DOP853 {_s(sp.get('run_s'))}", _x(sp.get("speedup")), ""))
    if many:
        tk, sp = many["toolkit"], many.get("DOP853", {})
        rows.append((f"gradient flow, {many['configs']} configurations", f"{_s(tk['run_s'])}",
                     f"`solve_ivp` DOP853 loop {_s(sp.get('run_s'))}", _x(sp.get("speedup")),
                     f"10× ({_met(sp.get('speedup'), 10)})"))
    return rows


def jobs_rows(jobs: dict) -> list[tuple]:
    rows = []
    cache = {line["job"]: line for line in jobs.get("cache") or []}
    for r in jobs.get("rows", []):
        job = r["job"]
        if job.startswith("d"):
            rows.append((f"({job[0]}) min-ψ_α interpolant, {job[2:]}", _s(r["lib_s"]),
                         f"SLSQP {_s(r['numpy_s'])}", _x(r["ratio"]), r["target"]))
            continue
        if not job.endswith("total"):
            continue
        line = cache.get(job, {})
        cold, warm = line.get("cold"), line.get("warm")
        cells = f"{_s(r['lib_s'])} ({_s(r['compile_s'])} compile, {r['programs']} programs)"
        ratios = f"{_x(r['ratio'])} ({_x(r['ratio_steady'])} steady)"
        if cold and warm:
            cells += f"; fresh process, cold cache {_s(cold['lib_s'])}, warm {_s(warm['lib_s'])}"
            ratios += f"; cold {_x(cold['ratio'])}, warm {_x(warm['ratio'])}"
            target = f"5× cold ({_met(cold['ratio'], 5)}), 20× warm ({_met(warm['ratio'], 20)})"
        else:
            target = f"20× ({_met(r['ratio'], 20)})"
        rows.append((f"({job[0]}) field job, end to end", cells, f"NumPy loop {_s(r['numpy_s'])}",
                     ratios, target))
    return rows


def table(report: dict, date: str) -> str:
    """The Markdown between the markers."""
    sweep, flow, jobs = (report.get(k, {}) for k in ("bench_sweep", "bench_flow", "bench_jobs"))
    machine = sweep.get("machine") or jobs.get("machine") or {}
    peaks = sweep.get("peaks", {})
    device = str(machine.get("jax_device", "?"))
    loads = [m.get("load_average_1min") for m in (sweep.get("machine"), jobs.get("machine"),
                                                   flow.get("machine")) if m]
    loads += [sweep.get("machine", {}).get("load_average_end"), jobs.get("load_after")]
    loads = [x for x in loads if x is not None]
    quick = sweep.get("quick") or jobs.get("mode", {}).get("name") == "quick"
    lines = [
        f"Generated by `benchmarks/readme.py` from `dln-theory bench{' --quick' if quick else ''} "
        f"--json` on {date}: {machine.get('cpu_count', '?')} CPU cores, JAX {machine.get('jax', '?')} "
        f"on {device}, float64 matmul peak {peaks.get('jax', float('nan')) / 1e9:.0f} GFLOP/s (JAX) / "
        f"{peaks.get('numpy', float('nan')) / 1e9:.0f} GFLOP/s (NumPy), load average "
        f"{min(loads, default=float('nan')):.1f}–{max(loads, default=float('nan')):.1f} during the "
        f"run (a shared machine: take ±30 % and more when the load exceeds the cores). Each ratio "
        f"compares times measured in the same run.",
        "",
    ]
    if "cuda" not in device.lower() and "gpu" not in device.lower():
        lines += ["GPU numbers are not measured: no GPU was available to this run (the same "
                  "scripts run unchanged on one).", ""]
    lines += ["| job | dln-theory | baseline | ratio | target |", "|---|---|---|---|---|"]
    for row in sweep_rows(sweep) + flow_rows(flow) + jobs_rows(jobs):
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def replace_between(text: str, body: str) -> str:
    start, stop = text.find(BEGIN), text.find(END)
    if start < 0 or stop < start:
        raise ValueError(f"the README has no {BEGIN} … {END} markers")
    return text[:start + len(BEGIN)] + "\n" + body + "\n" + text[stop:]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("json", help="the file written by dln-theory bench --json")
    p.add_argument("--readme", default="README.md")
    p.add_argument("--check", action="store_true", help="only check that the README is current")
    args = p.parse_args(argv)
    path = Path(args.json)
    report = json.loads(path.read_text())
    date = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc).strftime("%Y-%m-%d")
    readme = Path(args.readme)
    new = replace_between(readme.read_text(), table(report, date))
    if args.check:
        return int(new != readme.read_text())
    readme.write_text(new)
    print(f"wrote the performance table of {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
