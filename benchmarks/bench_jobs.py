"""The field's own jobs end to end with dln-theory (compilation included) against NumPy loops.

    python benchmarks/bench_jobs.py [--quick | --tiny] [--jobs a b c d] [--profile] [--json FILE]
                                    [--no-cache-runs]

``--quick``: 10-100x fewer steps (under a minute); ``--tiny``: a few steps (for the tests);
``--profile``: also where the steady-state time of (a) and (b) goes (see `profile`).
Unless ``--tiny`` or ``--no-cache-runs``, jobs (a)-(c) also run end to end in two fresh processes
that share one new persistent compilation cache folder: the first compiles (cold cache), the
second loads the compiled programs (warm cache); targets ≥ 5× (cold) and ≥ 20× (warm) the NumPy
loop of the same job (`cache_runs`).

Jobs (issue [6]; P-E network β = u ⊙ v, u(0) = √2·α, v(0) = 0, α = 0.1, float64, CPU):

* **a** GD and SGD (batch 1, random reshuffling) over 30 step sizes η ∈ logspace(−2, 1) on one
  sparse regression problem (n, d, s) = (20, 30, 3), 10⁵ steps each: one `sweep` per method over
  ``eta`` (Even et al. arXiv:2302.08982, docs/conventions.md §6). Diverging step sizes are frozen and
  flagged by the library; the table says how many.
* **b** 100 data sets × {GD, SGD} at (n, d, s) = (50, 100, 5), 10⁴ steps, η = 1e-3: a
  `SparseRegression` spec with a ``seed`` grid axis, so the data (1000 test points included) are
  drawn inside the job, per run.
* **c** on the problem of (a), η = 0.1 (3/d), 10⁴ steps: GD (one run), unnormalized SAM and 1-SAM
  (per-example ascent, ``group_size=1``) over 7 radii ρ ∈ logspace(−2, 0) (Andriushchenko &
  Flammarion arXiv:2206.06232).
* **d** the min-ψ_α interpolant (P-E form of the min-Q_α interpolant) at d = 100, n = 10: time per
  solve after compilation and of the first solve with compilation, against scipy SLSQP on the
  same problem (`bench_interpolant.slsqp`).

What is timed:

* **dln-theory**: the first call of `dln_theory.sweep` (``cache=False``, one save at the end) after
  ``jax.clear_caches()``: tracing, XLA compilation, the run and the transfer of the results to
  NumPy, i.e. what a user waits for in a fresh process. "compile" = first call − a second
  (steady) call of the same sweep; "steady" is that second call. "progs" counts the XLA programs
  the first call built and "hits" those the persistent compilation cache of this process served
  (`_measure.CompileCounter`): with hits the row is not a cold start.
* **NumPy**: the plain Python loop over runs and steps that one writes first:
  `_baselines.gd_single` and `sgd_single` (reshuffled indices drawn inside the timed job), and
  `sam_single` / `one_sam_single` below (1-SAM's per-example ascent vectorized over examples with
  (n, d) arrays, the fast way to write it in NumPy). It is measured on a few runs and fewer steps and scaled
  linearly to the whole job (the cost per step is constant: no compilation, no warm-up; the table
  prints the scale factor). A diverged run is charged only the steps the library took before
  freezing it (a NumPy user would stop it there too); the measured loops check nothing, which only
  favours NumPy. In (b) each NumPy run also draws its data (`_baselines.sparse_regression`, NumPy
  RNG, same distribution and sizes) and evaluates the final test loss; that per-run cost is
  measured apart and added once per run, not scaled with the steps. NumPy times are the best of 2.
* **ratio** = NumPy seconds / dln-theory seconds (end to end); "ratio steady" uses the steady call.
  Targets: ≥ 20× for (a)-(c); < 0.1 s per solve for (d).

`tests/test_bench_jobs.py` checks on the ``--tiny`` run that these NumPy loops compute the final β
the library computed (SGD fed the library's index sequence). BLAS runs on one thread (as in
`bench_interpolant`): at these sizes threads only add contention on a shared machine.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _baselines as nb  # noqa: E402
import _measure as ms  # noqa: E402

ALPHA = 0.1
DATA_SEED = 0  # the problem of (a) and (c)
SHAPE_AC = (20, 30, 3)  # (n, d, s)
SHAPE_B = (50, 100, 5)
ETAS_A = np.logspace(-2, 1, 30)
ETA_B = 1e-3
ETA_C = 0.1  # 3/d: "step sizes a few multiples of 1/d" (docs/conventions.md §6)
RHOS_C = np.logspace(-2, 0, 7)
TARGET_RATIO = 20.0
TARGET_WARM, TARGET_COLD = 20.0, 5.0  # end-to-end ratios with a warm / cold compilation cache
LIBRARY_ONLY = False  # --library-only: the NumPy loops are not measured (the cache runs)
TARGET_SOLVE_S = 0.1
NUMPY_REPEATS = 2


@dataclass(frozen=True)
class Mode:
    """Sizes of one invocation: steps per job, data sets in (b), how much NumPy is measured."""

    name: str
    steps_a: int
    steps_b: int
    steps_c: int
    datasets_b: int
    numpy_steps: int  # at most this many steps per measured NumPy run
    numpy_runs: int  # at most this many measured NumPy runs per method
    solve_repeats: int
    slsqp_repeats: int


FULL = Mode("full", 100_000, 10_000, 10_000, 100, 10_000, 3, 50, 3)
QUICK = Mode("quick", 1_000, 1_000, 1_000, 100, 1_000, 2, 20, 2)
TINY = Mode("tiny", 20, 20, 40, 4, 20, 1, 2, 1)


# ------------------------------------------------------------------------------ NumPy baselines


def sam_single(X, y, alpha, eta, rho, n_steps):
    """Unnormalized SAM on P-E for one run: θ ← θ − η∇L(θ + ρ∇L(θ)); returns (u, v)."""
    u, v = nb._init(alpha, X.shape[1])
    for _ in range(n_steps):
        gu, gv = nb._grad(X, y, u, v)
        pu, pv = nb._grad(X, y, u + rho * gu, v + rho * gv)
        u, v = u - eta * pu, v - eta * pv
    return u, v


def one_sam_single(X, y, alpha, eta, rho, n_steps):
    """1-SAM on P-E for one run: example i ascends on its own loss ℓ_i = ½(⟨x_i, β⟩ − y_i)²; the
    gradients of ℓ_i at the n perturbed points are averaged. Vectorized over the examples.
    """
    u, v = nb._init(alpha, X.shape[1])
    for _ in range(n_steps):
        G = X * (X @ (u * v) - y)[:, None]  # per-example ∇_β ℓ_i, (n, d)
        U, V = u + rho * G * v, v + rho * G * u  # perturbed (u_i, v_i)
        Gp = X * (np.sum(X * (U * V), axis=1) - y)[:, None]
        u, v = u - eta * np.mean(Gp * V, axis=0), v - eta * np.mean(Gp * U, axis=0)
    return u, v


def numpy_run(method, X, y, eta, n_steps, *, rho=None, indices=None, rng=None):
    """Final (u, v) of one run of ``method`` ("GD", "SGD", "SAM", "1-SAM") by a plain NumPy loop.

    SGD uses ``indices`` (shape (n_steps, 1)) when given, else draws reshuffled indices from
    ``rng`` (part of the timed job).
    """
    if method == "GD":
        return nb.gd_single(X, y, ALPHA, eta, n_steps)
    if method == "SGD":
        if indices is None:
            indices = nb.reshuffled_indices(X.shape[0], 1, n_steps, rng)
        return nb.sgd_single(X, y, ALPHA, eta, indices[:n_steps])
    if method == "SAM":
        return sam_single(X, y, ALPHA, eta, rho, n_steps)
    if method == "1-SAM":
        return one_sam_single(X, y, ALPHA, eta, rho, n_steps)
    raise ValueError(f"method={method!r} is not allowed: choose GD, SGD, SAM or 1-SAM")


def library_method(method, eta, rho=None):
    import dln_theory as dt

    return {"GD": lambda: dt.GD(eta), "SGD": lambda: dt.SGD(eta, batch_size=1),
            "SAM": lambda: dt.SAM(eta, rho=rho, normalize=False),
            "1-SAM": lambda: dt.SAM(eta, rho=rho, normalize=False, group_size=1)}[method]()


# ----------------------------------------------------------------------------------- timing


@dataclass
class Row:
    """One line of the table (all times in seconds)."""

    job: str
    lib_s: float  # end to end, compilation included
    lib_steady_s: float
    numpy_s: float  # measured or scaled
    numpy_measured_s: float
    numpy_scale: float  # numpy_s / numpy_measured_s (1: measured in full)
    target: str
    met: bool
    runs: int = 0
    diverged: int = 0
    note: str = ""
    programs: int = 0  # XLA programs built by the first call (compiled or loaded from the cache)
    cache_hits: int = 0  # of those, loaded from the persistent compilation cache

    @property
    def compile_s(self):
        return max(self.lib_s - self.lib_steady_s, 0.0)

    @property
    def ratio(self):
        return self.numpy_s / self.lib_s

    @property
    def ratio_steady(self):
        return self.numpy_s / self.lib_steady_s

    def as_dict(self):
        return {**asdict(self), "compile_s": self.compile_s, "ratio": self.ratio,
                "ratio_steady": self.ratio_steady}


def time_library(call):
    """(first call after clearing JAX's in-memory caches, steady second call, result of the first
    call, what the first call compiled: `_measure.CompileCounter`)."""
    import jax

    jax.clear_caches()
    with ms.CompileCounter() as compiles:
        t0 = time.perf_counter()
        out = ms._block(call())
        first = time.perf_counter() - t0
    steady, _ = ms.best_time(call, 1)
    return first, steady, out, compiles


def sweep_call(method, problem, grid, n_steps):
    import dln_theory as dt

    return lambda: dt.sweep(method, dt.PE(), problem, grid, n_steps, n_steps, alpha=ALPHA,
                            cache=False, progress=False)


def steps_taken(result, n_steps):
    """Steps each run takes: n_steps, or up to and including the rejected step if it diverged."""
    div = np.asarray(result.trajectory.diverged_at).reshape(-1)
    return np.where(div >= 0, div + 1, n_steps), div


def measurable(values, diverged_at):
    """Runs the NumPy loop can be measured on: not diverged, and with a step size (or radius) at
    most half the smallest one that diverged, so that the loop's own index sequence (SGD draws
    its own, not the library's) does not make it diverge either."""
    stable = diverged_at < 0
    if np.any(~stable):
        stable &= values <= 0.5 * values[~stable].min()
    return np.flatnonzero(stable)


def spread(indices, k):
    """At most k of ``indices``, evenly spread (first and last included)."""
    indices = np.asarray(indices)
    if len(indices) <= k:
        return indices
    return indices[np.unique(np.linspace(0, len(indices) - 1, k).round().astype(int))]


def scaled_numpy(run_one, runs, steps, n_steps_np, per_run_setup=None):
    """Measure ``run_one(i, n_steps_np)`` on the configurations ``runs``; scale to ``steps``.

    ``steps[i]`` is the number of steps run i takes in the whole job. Returns (scaled seconds,
    measured seconds). ``per_run_setup(i)`` (optional) is a cost paid once per run (data), measured
    on the same runs and added len(steps) times.
    """
    if LIBRARY_ONLY:
        return float("nan"), float("nan")
    if len(runs) == 0:
        raise RuntimeError("no run to measure the NumPy loop on: every configuration diverged")
    with np.errstate(over="raise", invalid="raise"):  # a measured run must not diverge
        t_steps, _ = ms.best_time(lambda: [run_one(i, n_steps_np) for i in runs], NUMPY_REPEATS)
    per_step = t_steps / (len(runs) * n_steps_np)
    total, measured = per_step * float(np.sum(steps)), t_steps
    if per_run_setup is not None:
        t_setup, _ = ms.best_time(lambda: [per_run_setup(i) for i in runs], NUMPY_REPEATS)
        total += t_setup / len(runs) * len(steps)
        measured += t_setup
    return total, measured


def make_row(job, lib, numpy_s, numpy_measured, runs=0, diverged=0, note="", programs=0,
             cache_hits=0):
    """A row from ``lib`` = (first, steady[, CompileCounter of the first call])."""
    first, steady, *compiles = lib
    if compiles:
        programs, cache_hits = compiles[0].programs, compiles[0].cache_hits
    return Row(job, first, steady, numpy_s, numpy_measured, numpy_s / numpy_measured,
               f">= {TARGET_RATIO:.0f}x", bool(numpy_s / first >= TARGET_RATIO), runs, diverged,
               note, programs, cache_hits)


def total_row(job, rows, note=""):
    lib = (sum(r.lib_s for r in rows), sum(r.lib_steady_s for r in rows))
    return make_row(job, lib, sum(r.numpy_s for r in rows), sum(r.numpy_measured_s for r in rows),
                    sum(r.runs for r in rows), sum(r.diverged for r in rows), note,
                    sum(r.programs for r in rows), sum(r.cache_hits for r in rows))


# --------------------------------------------------------------------------------------- jobs


def problem_ac():
    """The fixed problem of (a) and (c): (problem for the library, X, y as NumPy)."""
    import dln_theory as dt

    n, d, s = SHAPE_AC
    problem = dt.SparseRegression(n, d, s).sample(DATA_SEED)
    return problem, np.asarray(problem.X), np.asarray(problem.y)


def job_a(mode: Mode, outputs: dict) -> list[Row]:
    problem, X, y = problem_ac()
    T, rows = mode.steps_a, []
    for name in ("GD", "SGD"):
        call = sweep_call(library_method(name, ETAS_A[0]), problem, {"eta": ETAS_A}, T)
        first, steady, res, compiles = time_library(call)
        steps, div = steps_taken(res, T)
        outputs[f"a {name}"] = dict(X=X, y=y, etas=ETAS_A, n_steps=T, seed=0,
                                    params=np.asarray(res.trajectory.params), diverged_at=div)
        stable = measurable(ETAS_A, div)
        T_np = min(T, mode.numpy_steps)
        run = lambda i, t, name=name: numpy_run(name, X, y, ETAS_A[i], t,  # noqa: E731
                                                rng=np.random.default_rng(i))
        numpy_s, measured = scaled_numpy(run, spread(stable, mode.numpy_runs), steps, T_np)
        n_div = int(np.sum(div >= 0))
        note = f"{n_div}/{len(ETAS_A)} diverged (eta >= {ETAS_A[div >= 0].min():.3g}), frozen" \
            if n_div else "none diverged"
        rows.append(make_row(f"a {name}", (first, steady, compiles), numpy_s, measured,
                             len(ETAS_A), n_div, note))
    return rows + [total_row("a total", rows)]


def job_b(mode: Mode, outputs: dict) -> list[Row]:
    import dln_theory as dt

    n, d, s = SHAPE_B
    spec = dt.SparseRegression(n, d, s)
    seeds = np.arange(mode.datasets_b)
    T, rows = mode.steps_b, []

    def data(i):  # the NumPy job draws its own data set and test set per run
        return nb.sparse_regression(n, d, seed=int(i), n_test=spec.n_test, k=s)

    def setup(i):  # data, and the final test loss (evaluated here on β = 0: same cost)
        X, y, beta, X_test, y_test = data(i)
        return 0.5 * np.mean((X_test @ np.zeros(d) - y_test) ** 2)

    for name in ("GD", "SGD"):
        call = sweep_call(library_method(name, ETA_B), spec, {"seed": seeds}, T)
        first, steady, res, compiles = time_library(call)
        steps, div = steps_taken(res, T)
        outputs[f"b {name}"] = dict(spec=spec, seeds=seeds, eta=ETA_B, n_steps=T,
                                    params=np.asarray(res.trajectory.params), diverged_at=div)
        sets = {int(i): data(i) for i in spread(seeds, mode.numpy_runs)}
        run = lambda i, t, name=name: numpy_run(  # noqa: E731
            name, sets[i][0], sets[i][1], ETA_B, t, rng=np.random.default_rng(i))
        numpy_s, measured = scaled_numpy(run, list(sets), steps, min(T, mode.numpy_steps), setup)
        rows.append(make_row(f"b {name}", (first, steady, compiles), numpy_s, measured, len(seeds),
                             int(np.sum(div >= 0)), "data drawn per run on both sides"))
    return rows + [total_row("b total", rows)]


def job_c(mode: Mode, outputs: dict) -> list[Row]:
    problem, X, y = problem_ac()
    T, rows = mode.steps_c, []
    for name, axis, values in (("GD", "eta", np.array([ETA_C])), ("SAM", "rho", RHOS_C),
                               ("1-SAM", "rho", RHOS_C)):
        method = library_method(name, ETA_C, None if name == "GD" else RHOS_C[0])
        first, steady, res, compiles = time_library(sweep_call(method, problem, {axis: values}, T))
        steps, div = steps_taken(res, T)
        outputs[f"c {name}"] = dict(X=X, y=y, eta=ETA_C, rhos=None if name == "GD" else values,
                                    n_steps=T, params=np.asarray(res.trajectory.params),
                                    diverged_at=div)
        rhos = [None] * len(values) if name == "GD" else values
        run = lambda i, t, name=name, rhos=rhos: numpy_run(name, X, y, ETA_C, t,  # noqa: E731
                                                           rho=rhos[i])
        numpy_s, measured = scaled_numpy(run, spread(measurable(values, div), mode.numpy_runs),
                                         steps, min(T, mode.numpy_steps))
        rows.append(make_row(f"c {name}", (first, steady, compiles), numpy_s, measured,
                             len(values), int(np.sum(div >= 0)),
                             "rho in logspace(-2, 0, 7)" if axis == "rho" else "one run"))
    return rows + [total_row("c total", rows)]


def job_d(mode: Mode, outputs: dict) -> list[Row]:
    import jax

    import bench_interpolant as bi
    from dln_theory.theory.interpolators import min_potential_interpolant

    rng = np.random.default_rng(0)  # the problem of bench_interpolant
    X, y = rng.standard_normal((bi.N, bi.D)), rng.standard_normal(bi.N)

    def solve():
        return jax.block_until_ready(min_potential_interpolant(X, y, bi.ALPHA))

    jax.clear_caches()
    t0 = time.perf_counter()
    solve()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(mode.solve_repeats):
        beta = solve()
    steady = (time.perf_counter() - t0) / mode.solve_repeats
    t0 = time.perf_counter()
    for _ in range(mode.slsqp_repeats):
        res = bi.slsqp(X, y)
    t_slsqp = (time.perf_counter() - t0) / mode.slsqp_repeats
    beta = np.asarray(beta)
    outputs["d"] = dict(X=X, y=y, beta=beta, beta_slsqp=res.x)
    agree = (f"|b_SLSQP - b|max {np.max(np.abs(res.x - beta)):.1e}, residual "
             f"{np.linalg.norm(X @ beta - y) / np.linalg.norm(y):.0e}")
    target = f"< {TARGET_SOLVE_S} s"
    per_solve = Row("d per solve (compiled)", steady, steady, t_slsqp, t_slsqp, 1.0, target,
                    bool(steady < TARGET_SOLVE_S), 1, 0, f"mean of {mode.solve_repeats}; {agree}")
    with_compile = Row("d first solve (+compile)", first, steady, t_slsqp, t_slsqp, 1.0, target,
                       bool(first < TARGET_SOLVE_S), 1, 0, f"SLSQP mean of {mode.slsqp_repeats} solves")
    return [per_solve, with_compile]


JOBS = {"a": job_a, "b": job_b, "c": job_c, "d": job_d}


# ------------------------------------------------------------------------------------ profile


def profile(mode: Mode) -> dict:
    """Per configuration-step cost (µs) of hand-written JAX loops against the library and NumPy.

    Steady state (compilation excluded), T steps, one save. GD: a hand-written ``lax.scan`` over
    the (G, d) arrays with the explicit gradient (the arithmetic alone). SGD (batch 1, random
    reshuffling): the same with a permutation drawn every step and kept only at epoch starts, as
    `GradientMethod._reshuffle` does, from one key shared by all configurations or from one key
    per configuration (what `simulate.run` ends up with under vmap: its ``while_loop`` predicate
    is per configuration, which batches the whole loop carry, the key included); and with the
    permutation drawn only at epoch starts (``lax.cond`` on an unbatched step counter). Then the
    library sweep and the NumPy loop (one run). G = 30 in (a) (shared data), 100 in (b) (data per
    configuration). Also: compile time of the data sampler of (b) (`SparseRegression.sample`,
    vmapped over 100 seeds) and the float64 matmul peak, for GF/s of the GD rows (4nd flop).
    """
    import jax
    import jax.numpy as jnp

    import dln_theory as dt

    T = max(mode.steps_b, 200)

    def hand(X, y, G, eta, sgd, perm_every_step=True, keys_per_config=False):
        """(G, d) loop; X is (n, d) shared or (G, n, d) per configuration."""
        n, d = X.shape[-2:]
        per_config = X.ndim == 3
        key0 = jax.random.PRNGKey(0)
        keys = jax.random.split(key0, G) if keys_per_config else key0

        def grad(U, V, k, perm):
            if not sgd:
                if per_config:
                    R = jnp.einsum("gnd,gd->gn", X, U * V) - y
                    return jnp.einsum("gnd,gn->gd", X, R) / n
                return ((U * V) @ X.T - y) @ X / n
            i = jnp.broadcast_to(perm[..., k % n], (G,))
            x = jnp.take_along_axis(X, i[:, None, None], axis=1)[:, 0] if per_config else X[i]
            yi = jnp.take_along_axis(y, i[:, None], axis=1)[:, 0] if per_config else y[i]
            return (jnp.sum(x * U * V, axis=1) - yi)[:, None] * x

        def draw(key):
            if keys_per_config:
                key, sub = jax.vmap(jax.random.split, out_axes=1)(key)
                return key, jax.vmap(lambda s: jax.random.permutation(s, n))(sub)
            key, sub = jax.random.split(key)
            return key, jax.random.permutation(sub, n)

        def body(c, k):
            U, V, perm, key = c
            if sgd and perm_every_step:
                key, fresh = draw(key)
                perm = jnp.where(k % n == 0, fresh, perm)
            elif sgd:
                key, perm = jax.lax.cond(k % n == 0, draw, lambda key: (key, perm), key)
            Gr = grad(U, V, k, perm)
            return (U - eta * Gr * V, V - eta * Gr * U, perm, key), None

        def run(al):
            U, V = jnp.sqrt(2.0) * al[:, None] * jnp.ones(d), jnp.zeros((G, d))
            perm = jnp.broadcast_to(jnp.arange(n), (G, n)) if keys_per_config else jnp.arange(n)
            return jax.lax.scan(body, (U, V, perm, keys), jnp.arange(T))[0][:2]

        return run

    problem, X, y = problem_ac()
    n, d, s = SHAPE_B
    spec = dt.SparseRegression(n, d, s)
    seeds = np.arange(100)
    t0 = time.perf_counter()
    sampler = jax.jit(jax.vmap(spec.sample)).lower(jnp.asarray(seeds)).compile()
    sampler_compile_s = time.perf_counter() - t0
    data = sampler(jnp.asarray(seeds))
    stable = ETAS_A[:12]  # well below the edge of stability: no run diverges
    sgd_a = [("hand-written, perm. every step, shared key", dict(perm_every_step=True)),
             ("hand-written, perm. every step, key per cfg", dict(keys_per_config=True)),
             ("hand-written, perm. at epoch starts", dict(perm_every_step=False))]
    sgd_b = sgd_a[1:2] + [("hand-written, perm. at epoch starts, key/cfg",
                           dict(perm_every_step=False, keys_per_config=True))]
    gd = [("hand-written (G,d) scan, explicit g", {})]
    cases = [  # title, method, library problem, grid, step sizes, data for the hand loops, rungs
        ("a GD (G=30, shared data)", "GD", problem, {"eta": stable}, stable, (X, y), gd,
         4 * X.size),
        ("a SGD (G=30, shared data)", "SGD", problem, {"eta": stable}, stable, (X, y), sgd_a,
         4 * X.shape[1]),
        ("b GD (G=100, data per config)", "GD", spec, {"seed": seeds}, np.full(100, ETA_B),
         (data.X, data.y), gd, 4 * n * d),
        ("b SGD (G=100, data per config)", "SGD", spec, {"seed": seeds}, np.full(100, ETA_B),
         (data.X, data.y), sgd_b, 4 * d),
    ]
    peak = ms.matmul_peak(1024, repeats=3, backend="jax")
    out = {"steps": T, "jax_matmul_peak_gflops": peak / 1e9,
           "sampler_compile_s": sampler_compile_s, "cases": []}
    for title, name, prob, grid, etas, (Xj, yj), rungs, flop in cases:
        G, lines = len(etas), []
        Xj, yj = jnp.asarray(Xj), jnp.asarray(yj)
        for label, kw in rungs:
            fn = hand(Xj, yj, G, jnp.asarray(etas)[:, None], name == "SGD", **kw)
            tm, _ = ms.time_jit(fn, jnp.full(G, ALPHA), repeats=2)
            lines.append((label, tm.run_s / (G * T)))
        _, steady, *_ = time_library(sweep_call(library_method(name, float(etas[0])), prob, grid, T))
        lines.append(("library sweep (steady, one save)", steady / (G * T)))
        Xn, yn = (np.asarray(Xj[0]), np.asarray(yj[0])) if Xj.ndim == 3 else (X, y)
        t_np, _ = ms.best_time(lambda: numpy_run(name, Xn, yn, float(etas[0]), T,
                                                 rng=np.random.default_rng(0)), NUMPY_REPEATS)
        lines.append(("NumPy loop (one run)", t_np / T))
        out["cases"].append({"case": title, "flop_per_config_step": flop,
                             "us_per_config_step": {label: 1e6 * v for label, v in lines}})
    return out


# ------------------------------------------------------------------- persistent compilation cache


def cache_runs(mode: Mode, jobs=("a", "b", "c")) -> dict:
    """Jobs ``jobs`` end to end (library side only) in two fresh processes that share one new
    persistent compilation cache folder (``DLN_THEORY_JAX_CACHE``): the first compiles every
    program and stores it (cold), the second loads them (warm). Returns {"cold"/"warm": {"rows":
    {job: seconds and compile counts}, "process_s": wall seconds of the process}}."""
    flag = {"full": [], "quick": ["--quick"], "tiny": ["--tiny"]}[mode.name]
    out = {}
    with tempfile.TemporaryDirectory(prefix="dln-bench-xla-") as tmp:
        env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
        env["DLN_THEORY_JAX_CACHE"] = os.path.join(tmp, "xla")
        for label in ("cold", "warm"):
            path = os.path.join(tmp, f"{label}.json")
            cmd = [sys.executable, os.path.abspath(__file__), *flag, "--jobs", *jobs, "--library-only",
                   "--no-cache-runs", "--json", path]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                out[label] = {"error": f"exit code {proc.returncode}: {proc.stderr.strip()[-400:]}"}
                continue
            with open(path) as f:
                rows = json.load(f)["rows"]
            keep = ("lib_s", "lib_steady_s", "compile_s", "programs", "cache_hits")
            out[label] = {"process_s": wall, "rows": {r["job"]: {k: r[k] for k in keep} for r in rows}}
    return out


def cache_table(rows: list[Row], runs: dict) -> list[dict]:
    """One line per job of ``runs``: cold and warm seconds, and their ratios to the NumPy seconds
    measured in this process."""
    numpy_s = {r.job: r.numpy_s for r in rows}
    lines = []
    for job in runs.get("cold", {}).get("rows", {}):
        line = {"job": job, "numpy_s": numpy_s.get(job, float("nan"))}
        for label, target in (("cold", TARGET_COLD), ("warm", TARGET_WARM)):
            r = runs.get(label, {}).get("rows", {}).get(job)
            if r is not None:
                ratio = line["numpy_s"] / r["lib_s"]
                line[label] = {**r, "ratio": ratio, "target": target, "met": bool(ratio >= target)}
        lines.append(line)
    return lines


def print_cache_table(lines: list[dict], runs: dict) -> None:
    print("\npersistent compilation cache: the same jobs in two fresh processes sharing one new cache "
          "folder (cold: compiles and stores; warm: loads); ratio = NumPy (this process) / dln-theory "
          f"end to end; targets >= {TARGET_COLD:.0f}x cold, >= {TARGET_WARM:.0f}x warm")
    for label in ("cold", "warm"):
        if "error" in runs.get(label, {}):
            print(f"  {label} process failed: {runs[label]['error']}")
    print(f"  {'job':<10s} {'NumPy':>9s} {'cold':>9s} {'progs':>6s} {'ratio':>8s}   "
          f"{'warm':>9s} {'hits':>5s} {'ratio':>8s}")
    for line in lines:
        cells = [f"  {line['job']:<10s} {line['numpy_s']:8.3f}s"]
        for label, count in (("cold", "programs"), ("warm", "cache_hits")):
            r = line.get(label)
            cells.append(f"{r['lib_s']:8.3f}s {r[count]:>5d} {r['ratio']:7.2f}x "
                         f"{'met' if r['met'] else 'MISSED':6s}" if r else f"{'n/a':>30s}")
        print(" ".join(cells))


# --------------------------------------------------------------------------------------- main


def print_table(rows: list[Row]) -> None:
    head = (f"{'job':<26s} {'dln-theory':>10s} {'compile':>8s} {'progs':>5s} {'hits':>4s} "
            f"{'steady':>8s} {'NumPy':>9s} {'NumPy scaled':>12s} {'ratio':>8s} {'steady':>8s} "
            f"{'target':>8s} {'':6s} note")
    print(head)
    print("-" * len(head))
    for r in rows:
        scaled = "measured" if r.numpy_scale == 1.0 else f"x{r.numpy_scale:,.1f}"
        is_d = r.job.startswith("d")
        ratio = f"{r.ratio:7.2f}x" if not is_d else f"{r.ratio:7.1f}x"
        print(f"{r.job:<26s} {r.lib_s:9.3f}s {r.compile_s:7.2f}s {r.programs:>5d} {r.cache_hits:>4d} "
              f"{r.lib_steady_s:7.3f}s "
              f"{r.numpy_s:8.3f}s {scaled:>12s} {ratio:>8s} {r.ratio_steady:7.2f}x "
              f"{r.target:>8s} {'met' if r.met else 'MISSED':6s} {r.note}")


def print_profile(prof: dict) -> None:
    print(f"\n[profile] µs per configuration-step, steady state (compilation excluded), "
          f"T = {prof['steps']}; GF/s = model flop (GD 4nd, SGD 4d per config-step) per second; "
          f"JAX float64 matmul peak {prof['jax_matmul_peak_gflops']:.1f} GF/s")
    for case in prof["cases"]:
        print(f"  {case['case']}")
        for label, us in case["us_per_config_step"].items():
            gf = case["flop_per_config_step"] / us / 1e3
            print(f"    {label:<46s} {us:9.3f} µs  {gf:6.2f} GF/s")
    print(f"  compile of the data sampler of (b) alone (vmap of SparseRegression.sample over 100 "
          f"seeds, 1000 test points each): {prof['sampler_compile_s']:.2f} s")


def run(mode: Mode, jobs=("a", "b", "c", "d"), with_profile=False, verbose=True, with_cache=False):
    """Run the jobs; returns {"rows": [Row], "outputs": {job: library results}, ...}; with
    ``with_cache`` also jobs (a)-(c) with a cold and a warm compilation cache (`cache_runs`)."""
    import jax

    import dln_theory  # noqa: F401  (float64)

    info = ms.machine_info()
    info["jax_devices"] = jax.device_count()
    info["compilation_cache_dir"] = jax.config.jax_compilation_cache_dir
    if verbose:
        print(f"bench_jobs ({mode.name}): {info['processor']}, {info['cpu_count']} cores, "
              f"load {info['load_average_1min']:.2f}, jax {jax.__version__} on "
              f"{info['jax_devices']} x {info.get('jax_device')}, BLAS {info['blas']}; "
              f"persistent compilation cache: {info['compilation_cache_dir'] or 'off'} (column "
              "'hits': programs it served to the first call)")
        print(f"steps a/b/c = {mode.steps_a}/{mode.steps_b}/{mode.steps_c}, "
              f"{mode.datasets_b} data sets in b; NumPy measured on <= {mode.numpy_runs} runs x "
              f"<= {mode.numpy_steps} steps per method and scaled linearly (column 'NumPy scaled')")
    rows, outputs = [], {}
    t0 = time.perf_counter()
    for job in jobs:
        new = JOBS[job](mode, outputs)
        rows += new
        if verbose:
            print(f"  job {job} done ({time.perf_counter() - t0:.0f} s so far)", flush=True)
    prof = profile(mode) if with_profile else None
    cache_jobs = tuple(j for j in jobs if j in "abc")
    cache = cache_runs(mode, cache_jobs) if with_cache and cache_jobs else None
    cache_lines = cache_table(rows, cache) if cache else None
    load_after = os.getloadavg()[0]
    if verbose:
        print()
        print_table(rows)
        print("ratio = NumPy / dln-theory end to end (compilation included); 'steady' = NumPy / "
              "second call. d: ratio = SLSQP / Newton.")
        print(f"load average {info['load_average_1min']:.2f} at start, {load_after:.2f} at end "
              f"(shared machine: timings are noisy)")
        if cache:
            print_cache_table(cache_lines, cache)
        if prof:
            print_profile(prof)
    return {"mode": asdict(mode), "machine": info, "load_after": load_after, "rows": rows,
            "profile": prof, "cache": cache_lines, "cache_runs": cache, "outputs": outputs,
            "wall_s": time.perf_counter() - t0}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="10-100x fewer steps (under a minute)")
    size.add_argument("--tiny", action="store_true", help="a few steps (for the tests)")
    p.add_argument("--jobs", nargs="+", choices=sorted(JOBS), default=sorted(JOBS))
    p.add_argument("--profile", action="store_true",
                   help="also time hand-written JAX loops per configuration-step")
    p.add_argument("--json", metavar="FILE", help="also write the numbers to FILE")
    p.add_argument("--cache-runs", action=argparse.BooleanOptionalAction, default=None,
                   help="also run (a)-(c) in two fresh processes with a cold and a warm persistent "
                        "compilation cache (default: on, except with --tiny)")
    p.add_argument("--library-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    mode = TINY if args.tiny else QUICK if args.quick else FULL
    global LIBRARY_ONLY
    LIBRARY_ONLY = args.library_only
    with_cache = not args.tiny if args.cache_runs is None else args.cache_runs
    report = run(mode, tuple(args.jobs), args.profile, with_cache=with_cache)
    if args.json:
        data = {k: v for k, v in report.items() if k != "outputs"}
        data["rows"] = [r.as_dict() for r in report["rows"]]
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1, default=float)
    return report


if __name__ == "__main__":
    main()
