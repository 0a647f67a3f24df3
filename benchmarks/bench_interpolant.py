"""Speed of `min_potential_interpolant` against scipy SLSQP on the same problem (d = 100, n = 10).

Run: python benchmarks/bench_interpolant.py. Prints the compile time, the mean time per solve,
the SLSQP / Newton ratio and the accuracy each reached (‖Xβ − y‖/‖y‖, ψ_α(β)). BLAS runs on one
thread unless set otherwise: at this size threads only add contention (SLSQP ran 50-100x slower
with them on a loaded 2-core machine).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS

import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from dln_theory.theory.interpolators import (  # noqa: E402
    min_l2_interpolant,
    min_potential_interpolant,
)
from dln_theory.theory.potentials import hyperbolic_entropy  # noqa: E402

jax.config.update("jax_enable_x64", True)

N, D, ALPHA, REPEATS, SLSQP_REPEATS, GRID = 10, 100, 0.1, 50, 3, 64


def timed(fn, repeats):
    """Mean wall time of ``fn()`` over ``repeats`` calls, and its last output."""
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    return (time.perf_counter() - start) / repeats, out


def slsqp(X, y):
    """scipy SLSQP on min ψ_α s.t. Xβ = y, with NumPy ψ and gradient (no JAX dispatch per call)."""
    a2 = ALPHA**2
    return minimize(
        lambda b: 0.5 * np.sum(b * np.arcsinh(b / a2) - np.sqrt(b**2 + a2**2) + a2),
        min_l2_interpolant(X, y),
        jac=lambda b: 0.5 * np.arcsinh(b / a2),
        method="SLSQP",
        constraints={"type": "eq", "fun": lambda b: X @ b - y, "jac": lambda b: X},
        options={"ftol": 1e-12, "maxiter": 1000},
    )


def main():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((N, D)), rng.standard_normal(N)

    def newton():
        return jax.block_until_ready(min_potential_interpolant(X, y, ALPHA))

    first, _ = timed(newton, 1)
    t_newton, beta = timed(newton, REPEATS)
    t_slsqp, res = timed(lambda: slsqp(X, y), SLSQP_REPEATS)

    grid = jnp.logspace(-6, 3, GRID)
    batched = jax.jit(jax.vmap(lambda a: min_potential_interpolant(X, y, a)))
    jax.block_until_ready(batched(grid))
    t_grid, _ = timed(lambda: jax.block_until_ready(batched(grid)), 10)

    def report(b):
        rel = np.linalg.norm(X @ b - y) / np.linalg.norm(y)
        return f"residual {rel:.1e}, psi {float(hyperbolic_entropy(b, ALPHA)):.15g}"

    beta = np.asarray(beta)
    print(f"d={D}, n={N}, alpha={ALPHA} (P-E), device={jax.devices()[0].platform}")
    print(f"Newton (JAX): compile + first call {first:.3f} s, then {t_newton * 1e3:.2f} ms/solve")
    print(f"  {report(beta)}")
    print(f"SLSQP (scipy): {t_slsqp * 1e3:.1f} ms/solve, success={res.success}, nit={res.nit}")
    print(f"  {report(res.x)}, max|beta_SLSQP - beta| {np.max(np.abs(res.x - beta)):.1e}")
    print(f"ratio SLSQP / Newton: {t_slsqp / t_newton:.0f}x")
    each = t_grid / GRID * 1e3
    print(f"vmap over {GRID} alphas in [1e-6, 1e3]: {t_grid * 1e3:.2f} ms ({each:.3f} ms each)")


if __name__ == "__main__":
    main()
