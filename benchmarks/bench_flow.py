"""Time to integrate the P-E DLN gradient flow: dln_theory (diffrax) against scipy.solve_ivp.

    python benchmarks/bench_flow.py [--quick] [--json FILE] [--t-end T] [--configs G]

Job: θ̇ = −∇L(θ), θ = (u, v), β = u ⊙ v, u(0) = √2·α, v(0) = 0 (docs/conventions.md §1), from t = 0 to
T (default 100) at relative tolerance 1e-8 (atol 1e-10), n = 40, d = 100, float64.

* toolkit, one configuration: `simulate(GradientFlow(eta=T, rtol=1e-8, atol=1e-10), PE(), problem,
  α, n_steps=1)` (one step of length T; its default solver is Dopri8);
* toolkit, G configurations (default 256 values of α in [1e-2, 1]): the same through `sweep` over α
  with its default chunking (for flows: one configuration per chunk and device; a vmapped chunk
  would take as many solver steps as its stiffest configuration);
* diagnostic (not the library): the same diffrax solve by hand, run over α with ``jax.lax.map``
  (configurations one after another in one compiled call), the floor for sequential solves;
* scipy: `solve_ivp` with RK45 and DOP853 at the same tolerances, in a Python loop over α (in
  ``--quick`` on a subset, scaled linearly, as printed).

Printed: best-of wall-clock times (toolkit compile time apart), the speed ratios (target ≥ 10× for
G = 256), the endpoint agreement toolkit vs scipy (max over configurations of ‖θ_a − θ_b‖/‖θ_b‖),
and each integrator's error against a DOP853 reference at rtol 1e-12 on a few configurations.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _baselines as nb  # noqa: E402
import _measure as ms  # noqa: E402

RTOL, ATOL = 1e-8, 1e-10
SCIPY_METHODS = ("DOP853", "RK45")
N, D = 40, 100


def relative_errors(a, b):
    """Per configuration ‖a − b‖/‖b‖ over (u, v), arrays of shape (G, 2, d)."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)


def toolkit_single(problem, alpha, t_end, repeats):
    """`simulate` of one flow step of length T: (Timing, θ of shape (1, 2, d))."""
    import dln_theory as dt

    flow = dt.GradientFlow(eta=t_end, rtol=RTOL, atol=ATOL)
    timing, params = ms.time_first_and_steady(
        lambda: dt.simulate(flow, dt.PE(), problem, alpha, 1, 1).params, repeats)
    return timing, np.asarray(params)[None]


def toolkit_sweep(problem, alphas, t_end, repeats):
    """`sweep` over α of one flow step of length T: (Timing, θ of shape (G, 2, d), #failed)."""
    import dln_theory as dt

    flow = dt.GradientFlow(eta=t_end, rtol=RTOL, atol=ATOL)
    timing, traj = ms.time_first_and_steady(
        lambda: dt.sweep(flow, dt.PE(), problem, {"alpha": alphas}, 1, 1, cache=False,
                         progress=False).trajectory, repeats)
    params = np.asarray(traj.params)
    return timing, params, int(np.sum(~np.isfinite(params).all(axis=(1, 2))))


def sequential_diffrax(problem, alphas, t_end, repeats):
    """Diagnostic, not the library: the solve of `GradientFlow` (Dopri8, PID controller, the same
    tolerances) written by hand with diffrax and run over α with ``jax.lax.map`` (one
    configuration after the other inside one compiled call) instead of ``vmap``.
    Returns (Timing, θ of shape (G, 2, d)).
    """
    import diffrax
    import jax
    import jax.numpy as jnp

    import dln_theory as dt

    objective = dt.Objective(dt.PE(), problem.X, problem.y)
    term = diffrax.ODETerm(lambda t, theta, args: -objective.grad(theta))

    controller = diffrax.PIDController(rtol=RTOL, atol=ATOL)

    def solve(alpha):
        theta0 = dt.PE().init(alpha, problem.d)
        sol = diffrax.diffeqsolve(term, diffrax.Dopri8(), 0.0, t_end, None, theta0,
                                  stepsize_controller=controller, saveat=diffrax.SaveAt(t1=True),
                                  max_steps=65536, throw=False)
        return sol.ys[-1]

    mapped = lambda a: jax.lax.map(solve, a)  # noqa: E731
    timing, theta = ms.time_jit(mapped, jnp.asarray(alphas), repeats=repeats)
    return timing, np.asarray(theta)


def scipy_loop(X, y, alphas, t_end, method, repeats=1):
    """solve_ivp in a loop over α: (Timing, θ of shape (G, 2, d), total RHS evaluations)."""
    timing, (U, V, nfev) = ms.time_numpy(
        lambda: nb.gradient_flow_scipy_loop(X, y, alphas, t_end, RTOL, ATOL, method), repeats)
    return timing, np.stack([U, V], axis=1), nfev


def reference(X, y, alphas, t_end):
    """DOP853 at rtol 1e-12, atol 1e-14: the 'exact' endpoints, shape (G, 2, d)."""
    U, V, _ = nb.gradient_flow_scipy_loop(X, y, alphas, t_end, 1e-12, 1e-14, "DOP853")
    return np.stack([U, V], axis=1)


def bench_single(problem, X, y, alpha, t_end, repeats):
    """One configuration: toolkit and both scipy methods, agreement and errors."""
    out = {"alpha": alpha}
    tm, theta = toolkit_single(problem, alpha, t_end, repeats)
    ref = reference(X, y, [alpha], t_end)
    out["toolkit"] = {**tm.as_dict(), "error_vs_reference": float(relative_errors(theta, ref)[0])}
    for method in SCIPY_METHODS:
        sp_tm, sp, nfev = scipy_loop(X, y, [alpha], t_end, method, repeats)
        run_s = sp_tm.run_s
        out[method] = {"run_s": run_s, "nfev": nfev, "speedup": run_s / tm.run_s,
                       "agreement": float(relative_errors(theta, sp)[0]),
                       "error_vs_reference": float(relative_errors(sp, ref)[0])}
    return out


def bench_many(problem, X, y, alphas, t_end, scipy_configs, repeats, n_reference):
    """G configurations: toolkit sweep against scipy loops (on ``scipy_configs``, scaled)."""
    G = len(alphas)
    tm, theta, failed = toolkit_sweep(problem, alphas, t_end, repeats)
    pick = np.unique(np.linspace(0, G - 1, scipy_configs).round().astype(int))
    check = pick[np.unique(np.linspace(0, len(pick) - 1, n_reference).round().astype(int))]
    ref = reference(X, y, alphas[check], t_end)
    out = {"configs": G, "failed": failed,
           "toolkit": {**tm.as_dict(), "max_error_vs_reference":
                       float(relative_errors(theta[check], ref).max())}}
    seq_tm, seq = sequential_diffrax(problem, alphas, t_end, repeats)
    out["lax_map"] = {**seq_tm.as_dict(), "speedup_vs_sweep": tm.run_s / seq_tm.run_s,
                      "max_agreement_with_sweep": float(relative_errors(seq, theta).max())}
    for method in SCIPY_METHODS:
        sp_tm, sp, nfev = scipy_loop(X, y, alphas[pick], t_end, method)
        scale = G / len(pick)
        run_s = sp_tm.run_s * scale
        where = np.searchsorted(pick, check)
        out[method] = {"run_s": run_s, "measured_configs": len(pick), "scale": scale, "nfev": nfev,
                       "speedup": run_s / tm.run_s,
                       "max_agreement": float(relative_errors(theta[pick], sp).max()),
                       "max_error_vs_reference": float(relative_errors(sp[where], ref).max())}
    return out


def print_report(single, many, t_end):
    print(f"\n[one configuration] α = {single['alpha']}, T = {t_end}, rtol {RTOL:g}, atol {ATOL:g}")
    tk = single["toolkit"]
    print(f"  toolkit GradientFlow  {ms.fmt_seconds(tk['run_s']):>9s} "
          f"(+ {ms.fmt_seconds(tk['compile_s'])} compile)  "
          f"error vs reference {tk['error_vs_reference']:.1e}")
    for m in SCIPY_METHODS:
        r = single[m]
        print(f"  scipy {m:<7s}         {ms.fmt_seconds(r['run_s']):>9s}  "
              f"({r['nfev']} RHS evaluations)  ratio scipy/toolkit {r['speedup']:.1f}×; "
              f"agreement {r['agreement']:.1e}, "
              f"scipy error vs reference {r['error_vs_reference']:.1e}")
    G = many["configs"]
    print(f"\n[{G} configurations] α log-spaced in [1e-2, 1], T = {t_end}")
    tk = many["toolkit"]
    print(f"  toolkit sweep         {ms.fmt_seconds(tk['run_s']):>9s} "
          f"(+ {ms.fmt_seconds(tk['compile_s'])} compile)  "
          f"max error vs reference {tk['max_error_vs_reference']:.1e}"
          + (f"  ({many['failed']} configurations FAILED)" if many["failed"] else ""))
    lm = many["lax_map"]
    print(f"  diagnostic: diffrax by hand, jax.lax.map over α in one call: "
          f"{ms.fmt_seconds(lm['run_s'])} (+ {ms.fmt_seconds(lm['compile_s'])} compile), "
          f"{lm['speedup_vs_sweep']:.1f}× faster than the sweep; "
          f"agreement with it {lm['max_agreement_with_sweep']:.1e}")
    for m in SCIPY_METHODS:
        r = many[m]
        ratio_map = r["run_s"] / lm["run_s"]
        scaled = (f", measured on {r['measured_configs']} configs, scaled ×{r['scale']:.1f}"
                  if r["scale"] != 1 else "")
        ok = "meets" if r["speedup"] >= 10 else "BELOW"
        print(f"  scipy {m:<7s} loop    {ms.fmt_seconds(r['run_s']):>9s}  "
              f"({r['nfev']} RHS evaluations{scaled})")
        print(f"      ratio scipy/toolkit {r['speedup']:.1f}× ({ok} target 10×); max agreement "
              f"{r['max_agreement']:.1e}; "
              f"scipy max error vs reference {r['max_error_vs_reference']:.1e}")
        print(f"      (ratio scipy/lax.map diagnostic {ratio_map:.1f}×)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="scipy on a subset of configurations")
    p.add_argument("--json", metavar="FILE", help="also write all numbers to FILE")
    p.add_argument("--t-end", type=float, default=100.0, help="flow time T (default 100)")
    p.add_argument("--configs", type=int, default=256, help="number of values of α (default 256)")
    args = p.parse_args(argv)

    import dln_theory as dt

    X, y, beta, *_ = nb.sparse_regression(N, D)
    problem = dt.from_data(X, y, beta)
    alphas = np.logspace(-2, 0, args.configs)
    repeats = 2 if args.quick else 3
    info = ms.machine_info()
    print("bench_flow: P-E gradient flow, dln_theory.GradientFlow vs scipy.integrate.solve_ivp")
    print(f"  machine: {info['cpu_count']} CPUs, load average {info['load_average_1min']:.2f} "
          f"(timings are noisy when > 0), jax {info.get('jax')} on {info.get('jax_device')}; "
          f"n={N}, d={D}")
    single = bench_single(problem, X, y, 0.1, args.t_end, repeats)
    scipy_configs = min(args.configs, 16 if args.quick else args.configs)
    many = bench_many(problem, X, y, alphas, args.t_end, scipy_configs, 1 if args.quick else 2,
                      n_reference=4 if args.quick else 8)
    print_report(single, many, args.t_end)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "t_end": args.t_end, "rtol": RTOL, "atol": ATOL,
                       "single": single, "many": many}, f, indent=1, default=float)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
