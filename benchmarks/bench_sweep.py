"""Speed of `dln_theory.sweep` against NumPy, on P-E diagonal linear networks (float64, CPU).

    python benchmarks/bench_sweep.py [--quick] [--json FILE] [--part issue1 grid profile]

Parts (all by default; ``--part`` picks some):

* ``issue1``: 256 values of α, n = 40, d = 100, 10⁴ GD steps (issue [1]): `sweep(..., cache=False)`
  with its default saves and with one save, against a plain Python loop over the configurations
  (`_baselines.gd_loop`, measured on a subset and scaled linearly, as printed) and against the
  same batched by hand (`_baselines.gd_batched`; run with the BLAS default threads and with 1
  thread, the faster kept). Target: ≥ 20× the loop. The sweeps run again on ``--host-devices``
  XLA CPU devices (default: the CPU count), over which `sweep` shards the configurations. The
  final (u, v) of the sweep and of the baselines are compared (relative difference printed).
* ``scaling``: the one-save sweep of ``issue1`` on 1, 2, 4, … and all CPU cores (XLA host
  devices, one per core), each in a fresh process: speed-up over one device.
* ``grid``: issue [6]: GD, F-GR and SGD (batch 1, random reshuffling) at (n, d) = (40, 100),
  (400, 1000), (2000, 10000) and 1, 64, 256, 4096 configurations (values of α), one save at the
  end. The number of steps T of a case is chosen so that the sweep runs for ≈ ``--seconds`` (a
  pilot run measures its speed); each NumPy baseline runs as many steps as fit in about that time
  (at most T), on a subset of configurations for the loop, and its time is scaled linearly to
  (configurations, T): the scaling is printed. Every case runs in fresh worker processes, so that
  the peak memory (RSS high-water mark) is per case. Cases whose estimated memory exceeds
  ``--max-gb`` are skipped and listed.
* ``profile``: where the time of a sweep step goes, measured by hand-written JAX variants that add
  the library's per-step work one piece at a time (`profile_gd`, `profile_sgd`, `profile_saves`,
  `profile_gram`).

Sweep workers run with the persistent compilation cache off (compile times are cold ones) and
count what they compile (`_measure.CompileCounter`: traces, XLA programs); one device unless
sharded. Numbers: seconds are best-of wall clock; "cfg·steps/s" counts configuration-steps per second;
GF/s counts the model flops of the data products only (GD 4nd, F-GR 8nd, SGD 4Bd per
configuration-step) and "% peak" divides by the float64 matmul peak (`_measure.matmul_peak`)
that each worker process measures just before its timed runs (JAX peak for the sweep, NumPy peak
for the baselines), so that both see the same machine load. Ratios compare times measured in the
same run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _baselines as nb  # noqa: E402
import _measure as ms  # noqa: E402

SIZES = ((40, 100), (400, 1000), (2000, 10000))
CONFIGS = (1, 64, 256, 4096)
METHODS = ("GD", "FGR", "SGD")
QUICK_SIZES, QUICK_CONFIGS = ((40, 100), (400, 1000)), (1, 64)

ETA = 0.02  # GD and F-GR step size: stable for α ≤ 1 at every size here
GAMMA = EPS = 0.01  # F-GR
SGD_ETA_D = 0.2  # SGD step η = 0.2/d (batch 1: the per-example curvature grows like d)
MAX_STEPS = 1_000_000
# At least this many steps, so that the sweep's two records (loss and gradient at the start and
# the end, ≈ 2 gradient evaluations) stay a small part of its time.
MIN_STEPS = {"GD": 10, "FGR": 5, "SGD": 1}


# ------------------------------------------------------------------------------ problem and jobs


def alphas_for(configs):
    """The α of each configuration: log-spaced in [1e-3, 1] (0.1 for a single configuration)."""
    return np.logspace(-3, 0, configs) if configs > 1 else np.array([0.1])


def flops_per_config_step(method, n, d):
    """Flops of the data products per configuration and step (matrix-vector products with X)."""
    return {"GD": 4 * n * d, "FGR": 8 * n * d, "SGD": 4 * d}[method]


def library_method(method, d):
    import dln_theory as dt

    if method == "GD":
        return dt.GD(ETA)
    if method == "FGR":
        return dt.FGR(ETA, gamma=GAMMA, eps=EPS)
    return dt.SGD(SGD_ETA_D / d, batch_size=1)


def numpy_job(method, form, X, y, alphas, d, seed=0):
    """``job(steps) -> (U, V)`` running a NumPy baseline (``form`` = "loop" or "batched")."""
    if method == "GD":
        fn = nb.gd_loop if form == "loop" else nb.gd_batched
        return lambda steps: fn(X, y, alphas, ETA, steps)
    if method == "FGR":
        fn = nb.fgr_loop if form == "loop" else nb.fgr_batched
        return lambda steps: fn(X, y, alphas, ETA, GAMMA, EPS, steps)
    fn = nb.sgd_loop if form == "loop" else nb.sgd_batched

    def sgd(steps):  # the reshuffling is part of the timed job, as in the library
        indices = nb.reshuffled_indices(X.shape[0], 1, steps, np.random.default_rng(seed))
        return fn(X, y, alphas, SGD_ETA_D / d, indices)

    return sgd


@dataclass(frozen=True)
class Case:
    """One benchmark case; ``steps=None`` lets the sweep worker choose T from a pilot run."""

    method: str
    n: int
    d: int
    configs: int
    steps: int | None = None
    save_every: int | None = 0  # 0: one save at the end (save_every = steps); None: library default
    seconds: float = 8.0
    repeats: int = 1
    loop_configs: int = 8
    pilot: bool = True  # measure the sweep's speed before choosing T (else T from the flop model)
    fixed_steps: bool = False  # NumPy jobs run exactly `steps` (no time box): agreement checks
    skip_batched: bool = False  # the batched NumPy baseline does not fit in the memory budget
    test_set: bool = False
    check_dir: str | None = None  # where workers write the final (U, V) for the agreement check
    peak_size: int = 2048  # matrix size of the matmul peak each worker measures before timing

    @property
    def label(self):
        return f"{self.method:<4s} n={self.n:<5d} d={self.d:<6d} G={self.configs:<5d}"


# --------------------------------------------------------------------------------------- workers


def sweep_worker(case: Case) -> dict:
    """Time `dln_theory.sweep` on ``case`` (in a fresh process): compile (with what was compiled:
    `_measure.CompileCounter`), run, peak memory."""
    import jax

    import dln_theory as dt

    n_test = 1000 if case.test_set else 0
    X, y, beta, X_test, y_test = nb.sparse_regression(case.n, case.d, n_test=n_test)
    problem = dt.from_data(X, y, beta, *((X_test, y_test) if n_test else ()))
    method = library_method(case.method, case.d)
    grid = {"alpha": alphas_for(case.configs)}

    def call(steps):
        save_every = steps if case.save_every == 0 else case.save_every
        return lambda: dt.sweep(method, dt.PE(), problem, grid, steps, save_every, cache=False,
                                progress=False).trajectory

    steps, pilot = case.steps, None
    if steps is None and not case.pilot:
        steps = max(_model_steps(case, case.seconds), MIN_STEPS[case.method])
    if steps is None:
        pilot_steps = _model_steps(case, 0.3)
        with ms.CompileCounter() as compiles:
            timing, _ = ms.time_first_and_steady(call(pilot_steps), 1)
        pilot = {"steps": pilot_steps, **timing.as_dict()}
        steps = case.seconds * pilot_steps / timing.run_s
        steps = int(np.clip(steps, MIN_STEPS[case.method], MAX_STEPS))
    jax_peak = ms.matmul_peak(case.peak_size, 3, "jax")  # same conditions as the timed runs
    rss0 = ms.current_rss_bytes()
    if pilot and pilot["run_s"] * steps / pilot["steps"] > 3.0:
        # A long run is called once; its compile time is the pilot's (n_steps sets loop lengths).
        first, traj = ms.best_time(call(steps), 1)
        timing = ms.Timing(max(first - pilot["compile_s"], 0.0), pilot["compile_s"], 0)
    else:
        with ms.CompileCounter() as compiles:
            timing, traj = ms.time_first_and_steady(call(steps), case.repeats)
    if case.check_dir:
        np.save(os.path.join(case.check_dir, "sweep.npy"), np.asarray(traj.params))
    return {"steps": steps, "timing": timing.as_dict(), "pilot": pilot, "jax_peak": jax_peak,
            "compiles": compiles.as_dict(), "devices": jax.device_count(),
            "diverged": int(np.sum(np.asarray(traj.diverged))),
            "peak_rss": ms.peak_rss_bytes(), "rss_before": rss0}


def _model_steps(case, seconds):
    """Steps that take ≈ ``seconds`` if a step costs 10 µs plus its flops at 5 GF/s (a guess;
    SGD adds 0.1 µs per example and configuration)."""
    per_config = flops_per_config_step(case.method, case.n, case.d) / 5e9
    if case.method == "SGD":
        per_config += 1e-7 * case.n
    per_step = 1e-5 + case.configs * per_config
    return int(np.clip(seconds / per_step, 1, MAX_STEPS))


def numpy_worker(case: Case) -> dict:
    """Time both NumPy baselines on ``case`` (T = case.steps): ≤ T steps each, timed, scaled."""
    X, y, _, _, _ = nb.sparse_regression(case.n, case.d)
    alphas = alphas_for(case.configs)
    out = {"blas": ms.blas_threads(), "numpy_peak": ms.matmul_peak(case.peak_size, 3, "numpy")}
    subset = alphas[: min(case.configs, case.loop_configs)]
    forms = (("loop", subset),) + ((("batched", alphas),) if not case.skip_batched else ())
    for form, alph in forms:
        job = numpy_job(case.method, form, X, y, alph, case.d)
        if case.fixed_steps:
            steps = case.steps
            timing, (U, V) = ms.time_numpy(lambda: job(steps))
        else:
            steps, timing = _time_boxed(job, case.steps, case.seconds)
            U = V = None
        scale = (case.configs / len(alph)) * (case.steps / steps)
        mem_job = numpy_job(case.method, form, X, y, alph[:1] if form == "loop" else alph, case.d)
        out[form] = {"configs": len(alph), "steps": steps, "measured_s": timing.run_s,
                     "run_s": timing.run_s * scale, "scale": scale,
                     "traced_peak": ms.numpy_peak_bytes(lambda: mem_job(min(steps, 3)))}
        if case.check_dir and U is not None:
            np.save(os.path.join(case.check_dir, f"{form}.npy"), np.stack([U, V], axis=1))
    out["peak_rss"] = ms.peak_rss_bytes()
    return out


def _time_boxed(job, max_steps, seconds):
    """(steps, Timing): the most steps ≤ ``max_steps`` that run in about ``seconds``."""
    steps = 1
    t, _ = ms.best_time(lambda: job(steps), 1)
    while t < seconds / 10 and steps < max_steps:
        steps = min(max_steps, steps * 4)
        t, _ = ms.best_time(lambda: job(steps), 1)
    if steps < max_steps and t < seconds / 2:
        steps = int(min(max_steps, max(steps, steps * seconds / t)))
        t, _ = ms.best_time(lambda: job(steps), 1)
    return steps, ms.Timing(t)


def blas_env(threads: int) -> dict:
    """Environment limiting the BLAS of a NumPy worker to ``threads`` threads."""
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    return {**os.environ, **{name: str(threads) for name in names}}


def host_devices_env(k: int) -> dict:
    """Environment of a sweep worker: XLA with ``k`` CPU devices (`sweep` shards configurations
    over devices; a device count already in ``XLA_FLAGS``, e.g. the one `dln-theory` sets, is
    replaced) and the persistent compilation cache off, so that compile times are cold ones."""
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split()
             if not f.startswith("--xla_force_host_platform_device_count")]
    return {**os.environ, "XLA_FLAGS": " ".join(flags + [f"--xla_force_host_platform_device_count={k}"]),
            "DLN_THEORY_JAX_CACHE": "0"}


def run_worker(kind: str, case: Case, env=None, timeout=3600) -> dict:
    """Run a worker in a fresh Python process; return its JSON result (or {"error": ...})."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, json.dumps(asdict(case))]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if proc.returncode != 0:
        return {"error": f"exit code {proc.returncode}: {proc.stderr.strip()[-400:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------- memory estimates


def estimated_bytes(case: Case, impl: str) -> float:
    """Rough peak memory of one implementation (sized from the arrays alive during a step).

    sweep: X, ~32 float64 arrays of (d,) and ~8 of (n,) per configuration (parameters, gradients,
    candidates, selects, saves and outputs); NumPy batched: X and ~12 arrays (G, d), 4 (G, n).
    """
    n, d, G = case.n, case.d, case.configs
    if impl == "sweep":
        saves = 2 * (101 if case.save_every is None else 2)
        return 8.0 * (2 * n * d + G * ((32 + saves) * d + 8 * n))
    return 8.0 * (n * d + G * (12 * d + 4 * n))


# -------------------------------------------------------------------------------- the two parts


def measure_peaks(quick):
    size = 1024 if quick else 2048
    return {"numpy": ms.matmul_peak(size, 3, "numpy"), "jax": ms.matmul_peak(size, 3, "jax")}


def measure_case(case: Case, peaks, max_bytes, env, sweep_env=None) -> dict:
    """Sweep worker, then NumPy worker with the sweep's T; derived rates, ratios, fractions."""
    result = {"case": asdict(case)}
    need = estimated_bytes(case, "sweep")
    if need > max_bytes:
        budget = ms.fmt_bytes(max_bytes)
        return {**result, "skipped": f"sweep needs ~{ms.fmt_bytes(need)} > budget {budget}"}
    sweep = run_worker("sweep", case, env=sweep_env)
    if "error" in sweep:
        return {**result, "skipped": f"sweep worker failed: {sweep['error']}"}
    case = replace(case, steps=sweep["steps"],
                   skip_batched=estimated_bytes(case, "batched") > max_bytes)
    numpy = run_worker("numpy", case, env=env)
    result.update(sweep=sweep, numpy=numpy, steps=case.steps)
    work = case.configs * case.steps
    flop = work * flops_per_config_step(case.method, case.n, case.d)
    t_sweep = sweep["timing"]["run_s"]
    result["sweep_rate"] = work / t_sweep
    result["sweep_gflops"] = flop / t_sweep / 1e9
    result["sweep_peak_fraction"] = flop / t_sweep / sweep.get("jax_peak", peaks["jax"])
    for form in ("loop", "batched"):
        if form in numpy:
            t = numpy[form]["run_s"]
            result[f"{form}_speedup"] = t / t_sweep
            result[f"{form}_peak_fraction"] = flop / t / numpy.get("numpy_peak", peaks["numpy"])
    return result


ISSUE1_RUNS = {  # key: (label, save_every (None: library default, 0: one save), sharded)
    "sweep_default_saves": ("sweep, default saves", None, False),
    "sweep_one_save": ("sweep, one save", 0, False),
    "sweep_default_saves_sharded": ("sweep, default saves, {k} host devices", None, True),
    "sweep_one_save_sharded": ("sweep, one save, {k} host devices", 0, True),
}


def issue1(peaks, quick, env, sweep_env, host_devices) -> dict:
    """Issue [1]: 256 α, (n, d) = (40, 100), 10⁴ GD steps, default saves and one save.

    Each sweep also runs with ``host_devices`` XLA CPU devices (``sweep_env``), over which `sweep`
    shards its configurations, when that is more than one.
    """
    steps = 1000 if quick else 10_000
    results = {"steps": steps, "configs": 256, "host_devices": host_devices}
    with tempfile.TemporaryDirectory() as tmp:
        base = Case("GD", 40, 100, 256, steps=steps, save_every=None, repeats=2, fixed_steps=True,
                    loop_configs=2 if quick else 8, test_set=True, check_dir=tmp,
                    peak_size=1024 if quick else 2048)
        for key, (_, save_every, sharded) in ISSUE1_RUNS.items():
            if sharded and host_devices < 2:
                continue
            case = replace(base, save_every=save_every,
                           check_dir=tmp if key == "sweep_default_saves" else None)
            results[key] = run_worker("sweep", case, env=sweep_env if sharded else host_devices_env(1))
        sweep_params = _load(tmp, "sweep")
        numpy = run_worker("numpy", base, env=env)
        results["agreement"] = {form: _relative_difference(sweep_params, _load(tmp, form))
                                for form in ("loop", "batched")}
        if env is None and "error" not in numpy:
            # Multi-threaded BLAS can be far slower on a busy machine: keep the faster setting.
            single = run_worker("numpy", replace(base, check_dir=None), env=blas_env(1))
            results["numpy_blas_default"], results["numpy_blas_1"] = numpy, single
            if "error" not in single:
                numpy = {form: min(numpy[form], single[form], key=lambda f: f["run_s"])
                         for form in ("loop", "batched")}
                numpy["blas"] = "the faster of the BLAS default and 1 thread, per job"
    results["numpy"] = numpy
    flop = 256 * steps * flops_per_config_step("GD", 40, 100)
    for key in ISSUE1_RUNS:
        r = results.get(key)
        if r is not None and "error" not in r:
            t = r["timing"]["run_s"]
            r.update(rate=256 * steps / t, gflops=flop / t / 1e9,
                     peak_fraction=flop / t / r.get("jax_peak", peaks["jax"]))
            if "error" not in numpy:
                r.update(loop_speedup=numpy["loop"]["run_s"] / t,
                         batched_speedup=numpy["batched"]["run_s"] / t)
    return results


def device_counts(cores: int) -> list[int]:
    """1, 2, 4, … and ``cores``: the host device counts of the scaling part."""
    counts = [1]
    while counts[-1] * 2 < cores:
        counts.append(counts[-1] * 2)
    return counts + ([cores] if cores > 1 else [])


def scaling(quick, cores) -> dict:
    """The sweep of issue [1] with one save (GD, 256 α, (n, d) = (40, 100)) on 1, 2, 4, … and all
    ``cores`` XLA host devices (one per core; `sweep` shards the configurations over them), each in
    a fresh worker process: run time and speed-up over one device."""
    steps = 1000 if quick else 10_000
    case = Case("GD", 40, 100, 256, steps=steps, save_every=0, repeats=2, fixed_steps=True,
                peak_size=1024 if quick else 2048)
    runs = []
    for k in device_counts(cores):
        r = run_worker("sweep", case, env=host_devices_env(k))
        runs.append({"devices": k, **({"error": r["error"]} if "error" in r else
                                      {"run_s": r["timing"]["run_s"], "compile_s": r["timing"]["compile_s"],
                                       "devices_seen": r["devices"]})})
    base = runs[0].get("run_s")
    for r in runs:
        if base and "run_s" in r:
            r["speedup"] = base / r["run_s"]
    return {"steps": steps, "configs": 256, "cores": cores, "runs": runs}


def print_scaling(r):
    print(f"\n[scaling] GD, 256 α, n=40, d=100, T={r['steps']}, one save, on k XLA host devices "
          f"(one per core, {r['cores']} cores)")
    for run in r["runs"]:
        if "error" in run:
            print(f"  {run['devices']:>3d} devices: worker failed: {run['error']}")
            continue
        print(f"  {run['devices']:>3d} devices  {ms.fmt_seconds(run['run_s']):>9s} "
              f"(+ {ms.fmt_seconds(run['compile_s'])} compile)  speed-up ×{run.get('speedup', float('nan')):.2f}")


def _load(folder, name):
    path = os.path.join(folder, f"{name}.npy")
    return np.load(path) if os.path.exists(path) else None


def _relative_difference(lib, ref):
    """max over the configurations both ran of ‖lib − ref‖/‖ref‖ (None if either is missing)."""
    if lib is None or ref is None:
        return None
    lib = lib[: len(ref)].reshape(len(ref), -1)
    ref = ref.reshape(len(ref), -1)
    return float(np.max(np.linalg.norm(lib - ref, axis=1) / np.linalg.norm(ref, axis=1)))


def grid_cases(args):
    sizes = QUICK_SIZES if args.quick else SIZES
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    if args.sizes:
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes]
    if args.configs:
        configs = args.configs
    seconds = args.seconds or (0.3 if args.quick else 8.0)
    for method in args.methods or METHODS:
        for n, d in sizes:
            for G in configs:
                yield Case(method, n, d, G, seconds=seconds, repeats=2 if args.quick else 1,
                           loop_configs=2 if args.quick else 8, pilot=not args.quick,
                           peak_size=1024 if args.quick else 2048)


# ---------------------------------------------------------------------------------------- report


def print_header(info, peaks):
    print("bench_sweep: dln_theory.sweep vs NumPy (float64)")
    print(f"  machine: {info['cpu_count']} CPUs, load average {info['load_average_1min']:.2f} "
          f"(timings are noisy when > 0), numpy {info['numpy']} ({info['blas']}), "
          f"jax {info.get('jax')} on {info.get('jax_device')}")
    print(f"  float64 matmul peak now: NumPy {peaks['numpy'] / 1e9:.1f} GF/s, "
          f"JAX {peaks['jax'] / 1e9:.1f} GF/s (each worker measures it again before its "
          f"runs; '% peak' uses the worker's)")


def print_issue1(r):
    print(f"\n[issue 1] GD, 256 values of α, n=40, d=100, T={r['steps']} steps")
    numpy = r["numpy"]
    if "error" in numpy:
        print(f"  NumPy worker failed: {numpy['error']}")
    else:
        lp, bt = numpy["loop"], numpy["batched"]
        print(f"  NumPy loop     {ms.fmt_seconds(lp['run_s']):>10s}  (measured on {lp['configs']} "
              f"configs × {lp['steps']} steps in {ms.fmt_seconds(lp['measured_s'])}, "
              f"scaled ×{lp['scale']:.0f} to 256)")
        print(f"  NumPy batched  {ms.fmt_seconds(bt['run_s']):>10s}  (all 256 configs, "
              f"BLAS: {numpy['blas']})")
        if "numpy_blas_1" in r and "error" not in r["numpy_blas_1"]:
            both = [(k, r[k]["batched"]["run_s"]) for k in ("numpy_blas_default", "numpy_blas_1")]
            print("      batched with BLAS default threads / 1 thread: "
                  + " / ".join(ms.fmt_seconds(t) for _, t in both))
    for key, (name, _, _) in ISSUE1_RUNS.items():
        if key not in r:
            continue
        s, name = r[key], name.format(k=r["host_devices"])
        if "error" in s:
            print(f"  {name}: worker failed: {s['error']}")
            continue
        tm = s["timing"]
        progs = s.get("compiles", {}).get("programs", "?")
        print(f"  {name:<38s} {ms.fmt_seconds(tm['run_s']):>9s} "
              f"(+ {ms.fmt_seconds(tm['compile_s'])} compile, {progs} XLA programs)  {s['rate']:.3g} cfg·steps/s  "
              f"{s['gflops']:.2f} GF/s = {100 * s['peak_fraction']:.1f}% of peak")
        if "loop_speedup" in s:
            ok = "meets" if s["loop_speedup"] >= 20 else "BELOW"
            print(f"      ratio NumPy loop/sweep {s['loop_speedup']:.1f}× ({ok} target 20×), "
                  f"batched NumPy/sweep {s['batched_speedup']:.1f}×; "
                  f"peak RSS {ms.fmt_bytes(s['peak_rss'])}")
    agree = r["agreement"]
    print("  agreement of final (u, v), sweep vs NumPy (relative): "
          + ", ".join(f"{k} {v:.1e}" if v is not None else f"{k} n/a" for k, v in agree.items()))


def print_grid(results):
    print("\n[grid, issue 6] one save per run; T chosen per case; "
          "NumPy times scaled linearly to (G, T)")
    head = (f"  {'case':<33s} {'T':>7s} {'sweep':>9s} {'compile':>8s} {'cfg·st/s':>9s} "
            f"{'%peak':>6s} {'loop':>9s} {'×loop':>7s} {'batched':>9s} {'×batch':>7s} "
            f"{'RSS sweep':>10s} {'numpy peak':>10s}")
    print(head)
    skipped = []
    for r in results:
        c = Case(**r["case"])
        if "skipped" in r:
            skipped.append(f"  {c.label}: {r['skipped']}")
            continue
        s, npy = r["sweep"], r["numpy"]
        cols = [f"  {c.label:<33s} {r['steps']:>7d} {ms.fmt_seconds(s['timing']['run_s']):>9s} "
                f"{ms.fmt_seconds(s['timing']['compile_s']):>8s} {r['sweep_rate']:>9.3g} "
                f"{100 * r['sweep_peak_fraction']:>5.1f}%"]
        for form in ("loop", "batched"):
            if form in npy:
                ratio = r[form + "_speedup"]
                cols.append(f"{ms.fmt_seconds(npy[form]['run_s']):>9s} {ratio:>6.1f}×")
            else:
                cols.append(f"{'n/a':>9s} {'':>7s}")
        mem = max(npy.get(f, {}).get("traced_peak", 0) for f in ("loop", "batched"))
        cols.append(f"{ms.fmt_bytes(s['peak_rss']):>10s} {ms.fmt_bytes(mem):>10s}")
        print(" ".join(cols))
        if s.get("diverged"):
            print(f"      warning: {s['diverged']} configurations diverged")
        if "error" in npy:
            print(f"      NumPy worker failed: {npy['error']}")
    print("  loop: measured on ≤ 8 configurations (2 in --quick) and ≤ T steps, scaled linearly;")
    print("  batched: all configurations, ≤ T steps, scaled linearly; 'numpy peak': tracemalloc.")
    print("  The sweep time includes its records (loss, gradient) at the start and the end.")
    if skipped:
        print("  skipped (memory budget --max-gb, or failure):")
        print("\n".join(skipped))


# --------------------------------------------------------------------------------------- profile


def library_call(method, problem, alphas, steps, save_every):
    """A callable running `dln_theory.sweep` over α (no cache, no progress bar)."""
    import dln_theory as dt

    grid = {"alpha": np.asarray(alphas)}
    return lambda: dt.sweep(method, dt.PE(), problem, grid, steps, save_every, cache=False,
                            progress=False).trajectory


def profile_gd(n=40, d=100, G=256, T=10_000, repeats=2):
    """Per-step cost of GD under vmap, adding the library's per-step work one piece at a time.

    Rungs (cumulative): (0) hand-written scan over (G, d) arrays with the explicit gradient;
    (1) vmap over configurations of a scan on params (2, d) with the autodiff gradient of
    `Objective`; (2) + one PRNG key split per step (as `simulate.run` does); (3) + the divergence
    check and selects of `simulate.run`; then the library itself with one save and with its default
    saves. Returns [(label, Timing)].
    """
    import jax
    import jax.numpy as jnp

    import dln_theory as dt

    X, y, beta, *_ = nb.sparse_regression(n, d)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    alphas = jnp.asarray(alphas_for(G))
    objective = dt.Objective(dt.PE(), Xj, yj)

    def hand_batched(al):
        U, V = jnp.sqrt(2.0) * al[:, None] * jnp.ones(d), jnp.zeros((G, d))

        def body(c, _):
            U, V = c
            Gr = ((U * V) @ Xj.T - yj) @ Xj / n
            return (U - ETA * Gr * V, V - ETA * Gr * U), None

        return jax.lax.scan(body, (U, V), None, length=T)[0]

    def per_config(splits, check):
        def one(a):
            params = dt.PE().init(a, d)

            def body(c, _):
                params, key = c
                for _ in range(splits):
                    key, _sub = jax.random.split(key)
                new = params - ETA * objective.grad(params)
                if check:
                    ok = jnp.all(jnp.isfinite(new) & (jnp.abs(new) <= 1e8))
                    new = jnp.where(ok, new, params)
                return (new, key), None

            return jax.lax.scan(body, (params, jax.random.PRNGKey(0)), None, length=T)[0][0]

        return jax.vmap(one)

    rungs = [("hand-written (G,d) scan, explicit g", hand_batched),
             ("vmap of per-config scan, autodiff g", per_config(0, False)),
             ("  + 1 PRNG split per step", per_config(1, False)),
             ("  + divergence check/select", per_config(1, True))]
    out = [(label, ms.time_jit(fn, alphas, repeats=repeats)[0]) for label, fn in rungs]
    problem = dt.from_data(X, y, beta)
    for label, save_every in (("library sweep, one save", T),
                              ("library sweep, default saves", None)):
        call = library_call(dt.GD(ETA), problem, alphas, T, save_every)
        out.append((label, ms.time_first_and_steady(call, repeats)[0]))
    return out


def profile_sgd(n=40, d=100, G=256, T=10_000, repeats=2):
    """Per-step cost of SGD (batch 1, reshuffling), hand-written variants against the library.

    (0) one index sequence for all configurations (what a sweep over α with one seed draws),
    precomputed, one unbatched row gather per step; (1) vmap, a fresh permutation drawn every step
    and kept at epoch starts (``where(new_epoch, permutation(key), perm)`` as
    `GradientMethod._reshuffle` does) from one key shared by all configurations; (2) the same with
    one key per configuration (a batched key: the permutation is drawn G times per step); (3) the
    library sweep with one save.
    """
    import jax
    import jax.numpy as jnp

    import dln_theory as dt

    X, y, beta, *_ = nb.sparse_regression(n, d)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    alphas = jnp.asarray(alphas_for(G))
    keys = jnp.broadcast_to(jax.random.PRNGKey(0), (G, 2))
    eta = SGD_ETA_D / d
    idx = jnp.asarray(nb.reshuffled_indices(n, 1, T, np.random.default_rng(0))[:, 0])

    def shared(al, keys):
        U, V = jnp.sqrt(2.0) * al[:, None] * jnp.ones(d), jnp.zeros((G, d))

        def body(c, i):
            U, V = c
            x = Xj[i]
            Gr = ((U * V) @ x - yj[i])[:, None] * x
            return (U - eta * Gr * V, V - eta * Gr * U), None

        return jax.lax.scan(body, (U, V), idx)[0]

    def one(a, key):
        def body(c, k):
            u, v, perm, key = c
            key, sub = jax.random.split(key)
            perm = jnp.where(k % n == 0, jax.random.permutation(sub, n), perm)
            i = perm[k % n]
            g = (Xj[i] @ (u * v) - yj[i]) * Xj[i]
            return (u - eta * g * v, v - eta * g * u, perm, key), None

        c0 = (jnp.sqrt(2.0) * a * jnp.ones(d), jnp.zeros(d), jnp.arange(n), key)
        return jax.lax.scan(body, c0, jnp.arange(T))[0][:2]

    rungs = [("hand-written, shared index sequence", shared),
             ("vmap, perm. every step, shared key", jax.vmap(one, in_axes=(0, None))),
             ("vmap, perm. every step, key per config", jax.vmap(one))]
    out = [(label, ms.time_jit(lambda al, fn=fn: fn(al, keys if "per config" in label else keys[0]),
                               alphas, repeats=repeats)[0]) for label, fn in rungs]
    problem = dt.from_data(X, y, beta)
    call = library_call(dt.SGD(eta, batch_size=1), problem, alphas, T, T)
    out.append(("library sweep, one save", ms.time_first_and_steady(call, repeats)[0]))
    return out


def profile_saves(n=400, d=1000, G=256, T=100, repeats=1):
    """Library sweep time against the number of saves, T fixed: [(label, Timing)].

    `simulate.run` loops over save blocks with a ``while_loop`` whose predicate depends on each
    configuration (divergence, convergence); under vmap the predicate is batched, so every block
    selects the whole carry, saves buffers included. A hand-written vmapped ``while_loop`` with the
    same saves buffer and a batched predicate, and one whose outer loop is a ``scan`` over blocks,
    show what the structure costs.
    """
    import jax
    import jax.numpy as jnp

    import dln_theory as dt

    X, y, beta, *_ = nb.sparse_regression(n, d)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    alphas = jnp.asarray(alphas_for(G))
    problem = dt.from_data(X, y, beta)

    def steps(th, length):
        def body(th, _):
            g = Xj.T @ (Xj @ (th[0] * th[1]) - yj) / n
            return th - ETA * jnp.stack([g * th[1], g * th[0]]), None

        return jax.lax.scan(body, th, None, length=length)[0]

    def while_blocks(a, blocks):
        th = dt.PE().init(a, d)
        saves = jnp.zeros((blocks + 1, 2, d)).at[0].set(th)

        def body(c):
            i, th, saves, bad = c
            th = steps(th, T // blocks)
            bad = jnp.where(jnp.all(jnp.isfinite(th)), bad, i)  # per configuration: batched
            return i + 1, th, saves.at[i + 1].set(th), bad

        c0 = (0, th, saves, -jnp.ones((), dtype=int))
        return jax.lax.while_loop(lambda c: (c[0] < blocks) & (c[3] < 0), body, c0)[2]

    def scan_blocks(a, blocks):
        th = dt.PE().init(a, d)
        block = lambda th, _: (steps(th, T // blocks),) * 2  # noqa: E731
        th, saves = jax.lax.scan(block, th, None, length=blocks)
        return jnp.concatenate([dt.PE().init(a, d)[None], saves])

    out = []
    for saves in (1, 10, 100):
        call = library_call(dt.GD(ETA), problem, alphas, T, T // saves)
        out.append((f"library sweep, {saves} saves", ms.time_first_and_steady(call, repeats)[0]))
    for label, fn in (("hand-written while, batched pred.", while_blocks),
                      ("hand-written scan over blocks", scan_blocks)):
        batched = lambda al, fn=fn: jax.vmap(lambda a: fn(a, 100))(al)  # noqa: E731
        out.append((f"{label}, 100 saves", ms.time_jit(batched, alphas, repeats=repeats)[0]))
    return out


def profile_gram(n=1000, d=100, G=256, T=2000, repeats=2):
    """n > d: the gradient from X (4nd flop) against one from K = XᵀX/n, b = Xᵀy/n (2d² flop)."""
    import jax
    import jax.numpy as jnp

    X, y, *_ = nb.sparse_regression(n, d)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    K, b = Xj.T @ Xj / n, Xj.T @ yj / n
    alphas = jnp.asarray(alphas_for(G))

    def gd(grad):
        def run(al):
            U, V = jnp.sqrt(2.0) * al[:, None] * jnp.ones(d), jnp.zeros((G, d))

            def body(c, _):
                U, V = c
                Gr = grad(U * V)
                return (U - ETA * Gr * V, V - ETA * Gr * U), None

            return jax.lax.scan(body, (U, V), None, length=T)[0]

        return run

    forms = (("hand-written, g = Xᵀ(Xβ − y)/n", lambda B: (B @ Xj.T - yj) @ Xj / n),
             ("hand-written, g = Kβ − b", lambda B: B @ K - b))
    return [(label, ms.time_jit(gd(grad), alphas, repeats=repeats)[0]) for label, grad in forms]


def run_profile(quick):
    """Print and return the profiles."""
    T = 1000 if quick else 10_000
    G, G_saves = 256, (64 if quick else 256)
    parts = [  # (title, rows, flop per configuration-step, steps, configurations)
        (f"GD, n=40, d=100, G={G}, T={T}", profile_gd(G=G, T=T), 4 * 40 * 100, T, G),
        (f"SGD (batch 1), n=40, d=100, G={G}, T={T}", profile_sgd(G=G, T=T), 4 * 100, T, G),
        (f"GD, n=400, d=1000, G={G_saves}, T=100, by number of saves",
         profile_saves(G=G_saves, T=100), 4 * 400 * 1000, 100, G_saves),
        (f"GD, n=1000 > d=100, G={G}, T={T // 5} (flop per step: X form 4nd, K form 2d²)",
         profile_gram(G=G, T=T // 5), 4 * 1000 * 100, T // 5, G),
    ]
    print("\n[profile] time per step (all G configurations) of hand-written variants and of "
          "the library")
    report = {}
    for title, rows, flop, steps, configs in parts:
        print(f"  {title}")
        report[title] = []
        for label, tm in rows:
            per_step = tm.run_s / steps
            print(f"    {label:<42s} {ms.fmt_seconds(tm.run_s):>9s}  "
                  f"{per_step * 1e6:9.1f} µs/step  {configs * flop / per_step / 1e9:6.2f} GF/s  "
                  f"(compile {ms.fmt_seconds(tm.compile_s)})")
            report[title].append({"label": label, **tm.as_dict(), "us_per_step": per_step * 1e6})
    print("  (GF/s of the K-form row count the X-form flops: it is the speed-up at equal work)")
    return report


# ------------------------------------------------------------------------------------------ main


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="short runs, small grid (for validation)")
    p.add_argument("--json", metavar="FILE", help="also write all numbers to FILE")
    p.add_argument("--part", nargs="+", choices=("issue1", "scaling", "grid", "profile"),
                   default=("issue1", "scaling", "grid", "profile"))
    p.add_argument("--methods", nargs="+", choices=METHODS)
    p.add_argument("--sizes", nargs="+", metavar="NxD", help="e.g. 40x100 400x1000")
    p.add_argument("--configs", nargs="+", type=int, metavar="G")
    p.add_argument("--seconds", type=float,
                   help="target run time of each timed job (default 8, quick 0.3)")
    p.add_argument("--max-gb", type=float, default=None,
                   help="skip cases estimated above this (default: min(8, half the free memory))")
    p.add_argument("--blas-threads", type=int,
                   help="BLAS threads of the NumPy workers (default: the BLAS default)")
    p.add_argument("--host-devices", type=int,
                   help="XLA CPU devices for the sharded issue-1 runs (default: the CPU count); "
                        "with --grid-sharded also for the grid")
    p.add_argument("--grid-sharded", action="store_true",
                   help="run the grid's sweeps on --host-devices XLA CPU devices")
    p.add_argument("--worker", nargs=2, metavar=("KIND", "CASE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        kind, case = args.worker[0], Case(**json.loads(args.worker[1]))
        print(json.dumps(sweep_worker(case) if kind == "sweep" else numpy_worker(case)))
        return

    host_devices = args.host_devices or os.cpu_count() or 1
    sweep_env = host_devices_env(host_devices)
    env = None
    if args.blas_threads:
        env = blas_env(args.blas_threads)
    max_bytes = (args.max_gb * 2**30 if args.max_gb else
                 min(8 * 2**30, 0.5 * (ms.available_memory_bytes() or 16 * 2**30)))
    peaks = measure_peaks(args.quick)
    info = ms.machine_info()
    print_header(info, peaks)
    report = {"machine": info, "peaks": peaks, "quick": args.quick}
    if "issue1" in args.part:
        report["issue1"] = issue1(peaks, args.quick, env, sweep_env, host_devices)
        print_issue1(report["issue1"])
    if "scaling" in args.part:
        report["scaling"] = scaling(args.quick, os.cpu_count() or 1)
        print_scaling(report["scaling"])
    if "grid" in args.part:
        results = []
        for case in grid_cases(args):
            results.append(measure_case(case, peaks, max_bytes, env,
                                        sweep_env if args.grid_sharded else host_devices_env(1)))
            print(f"  … {case.label} done", file=sys.stderr, flush=True)
        report["grid"] = results
        print_grid(results)
    if "profile" in args.part:
        report["profile"] = run_profile(args.quick)
    report["machine"]["load_average_end"] = os.getloadavg()[0]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=float)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
