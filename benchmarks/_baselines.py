"""NumPy reference implementations of the jobs the benchmarks time.

Model: P-E diagonal linear network (docs/conventions.md §1), β = u ⊙ v, u(0) = √2·α·1, v(0) = 0, on
L(β) = (1/2n)‖Xβ − y‖², g = ∇_β L = Xᵀ(Xβ − y)/n, so ∇_u L = g ⊙ v and ∇_v L = g ⊙ u.

Each method comes in two forms, both returning the final (U, V), arrays of shape (G, d), one row
per configuration (value of α):

* ``*_loop``: a plain Python loop over configurations, each run with vectors of shape (d,), the
  code one writes first;
* ``*_batched``: all configurations at once by hand, arrays (G, d) and matrix products with X.

Methods (same update, same order of floating-point operations as `dln_theory`, up to rounding in
the BLAS reductions; ``tests/test_benchmark_baselines.py`` checks agreement to 1e-12):

* GD: θ ← θ − η∇L(θ).
* SGD: the same on a minibatch, indices given explicitly (``indices`` of shape (T, B)) or drawn by
  random reshuffling (`reshuffled_indices`); all configurations see the same index sequence, as in
  a `dln_theory.sweep` over α with one seed.
* F-GR (Karakida et al. arXiv:2210.02720, Algorithm 1; docs/conventions.md §4):
  θ ← θ − η[(1 − γ/ε)∇L(θ) + (γ/ε)∇L(θ + ε∇L(θ))].

`gradient_flow_scipy` integrates θ̇ = −∇L(θ) with `scipy.integrate.solve_ivp` for `bench_flow`.
"""

import numpy as np

SQRT2 = np.sqrt(2.0)


def sparse_regression(n, d, seed=0, n_test=0, k=5):
    """Benchmark data: x ~ N(0, I_d), β* = |N(0,1)| on k coordinates with ‖β*‖ = 1, y = Xβ*.

    Returns (X, y, β*, X_test, y_test), with ``n_test`` noiseless test points.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    beta = np.zeros(d)
    beta[:k] = np.abs(rng.standard_normal(k))
    beta /= np.linalg.norm(beta)
    X_test = rng.standard_normal((n_test, d))
    return X, X @ beta, beta, X_test, X_test @ beta


# ---------------------------------------------------------------- one configuration, vectors (d,)


def _init(alpha, d):
    """P-E initialization u = √2·α, v = 0."""
    return np.full(d, SQRT2 * alpha), np.zeros(d)


def _grad(X, y, u, v):
    """(∇_u L, ∇_v L) = (g ⊙ v, g ⊙ u) with g = Xᵀ(X(u ⊙ v) − y)/n (X, y may be a minibatch)."""
    g = X.T @ (X @ (u * v) - y) / X.shape[0]
    return g * v, g * u


def gd_single(X, y, alpha, eta, n_steps):
    """GD on P-E for one α: returns (u, v) after ``n_steps`` steps."""
    u, v = _init(alpha, X.shape[1])
    for _ in range(n_steps):
        gu, gv = _grad(X, y, u, v)
        u, v = u - eta * gu, v - eta * gv
    return u, v


def sgd_single(X, y, alpha, eta, indices):
    """SGD on P-E for one α: step k uses the examples ``indices[k]`` (shape (T, B))."""
    u, v = _init(alpha, X.shape[1])
    for idx in indices:
        gu, gv = _grad(X[idx], y[idx], u, v)
        u, v = u - eta * gu, v - eta * gv
    return u, v


def fgr_single(X, y, alpha, eta, gamma, eps, n_steps):
    """F-GR on P-E for one α (ascent first, unnormalized): returns (u, v)."""
    u, v = _init(alpha, X.shape[1])
    r = gamma / eps
    for _ in range(n_steps):
        gu, gv = _grad(X, y, u, v)
        pu, pv = _grad(X, y, u + eps * gu, v + eps * gv)
        u, v = u - eta * ((1.0 - r) * gu + r * pu), v - eta * ((1.0 - r) * gv + r * pv)
    return u, v


def _loop(single, alphas, *args):
    """Run ``single(α, *args)`` for each α in a Python loop; stack into (G, d) arrays."""
    runs = [single(alpha, *args) for alpha in np.atleast_1d(alphas)]
    return np.stack([u for u, _ in runs]), np.stack([v for _, v in runs])


def gd_loop(X, y, alphas, eta, n_steps):
    """GD, a Python loop over the configurations ``alphas``: (U, V) of shape (G, d)."""
    return _loop(lambda a: gd_single(X, y, a, eta, n_steps), alphas)


def sgd_loop(X, y, alphas, eta, indices):
    """SGD, a Python loop over configurations, all with the index sequence ``indices``."""
    return _loop(lambda a: sgd_single(X, y, a, eta, indices), alphas)


def fgr_loop(X, y, alphas, eta, gamma, eps, n_steps):
    """F-GR, a Python loop over configurations."""
    return _loop(lambda a: fgr_single(X, y, a, eta, gamma, eps, n_steps), alphas)


# ---------------------------------------------------------- all configurations at once, (G, d)


def _init_batched(alphas, d):
    alphas = np.atleast_1d(np.asarray(alphas, dtype=float))
    return SQRT2 * alphas[:, None] * np.ones(d), np.zeros((alphas.size, d))


def _grad_batched(X, y, U, V):
    """Row-wise (g ⊙ v, g ⊙ u) for all configurations: two (G, d)×(d, n) matrix products."""
    Gr = ((U * V) @ X.T - y) @ X / X.shape[0]
    return Gr * V, Gr * U


def gd_batched(X, y, alphas, eta, n_steps):
    """GD on all configurations at once: (U, V) of shape (G, d)."""
    U, V = _init_batched(alphas, X.shape[1])
    for _ in range(n_steps):
        gu, gv = _grad_batched(X, y, U, V)
        U, V = U - eta * gu, V - eta * gv
    return U, V


def sgd_batched(X, y, alphas, eta, indices):
    """SGD on all configurations at once, with the shared index sequence ``indices`` (T, B)."""
    U, V = _init_batched(alphas, X.shape[1])
    for idx in indices:
        gu, gv = _grad_batched(X[idx], y[idx], U, V)
        U, V = U - eta * gu, V - eta * gv
    return U, V


def fgr_batched(X, y, alphas, eta, gamma, eps, n_steps):
    """F-GR on all configurations at once."""
    U, V = _init_batched(alphas, X.shape[1])
    r = gamma / eps
    for _ in range(n_steps):
        gu, gv = _grad_batched(X, y, U, V)
        pu, pv = _grad_batched(X, y, U + eps * gu, V + eps * gv)
        U, V = U - eta * ((1.0 - r) * gu + r * pu), V - eta * ((1.0 - r) * gv + r * pv)
    return U, V


# ------------------------------------------------------------------------------- index sequences


def reshuffled_indices(n, batch_size, n_steps, rng):
    """Minibatch indices by random reshuffling, shape (n_steps, batch_size).

    A fresh permutation of the n examples each epoch, ⌊n/B⌋ batches per epoch, the remainder
    dropped (the convention of `dln_theory.SGD`).
    """
    per_epoch = n // batch_size
    epochs = -(-n_steps // per_epoch)
    perms = [rng.permutation(n)[: per_epoch * batch_size] for _ in range(epochs)]
    return np.concatenate(perms).reshape(-1, batch_size)[:n_steps]


# ---------------------------------------------------------------------------- gradient flow (scipy)


def flow_rhs(X, y):
    """f(t, θ) = −∇L(θ) for θ = (u, v) flattened to shape (2d,), for `scipy.integrate.solve_ivp`."""
    n, d = X.shape

    def rhs(t, theta):
        u, v = theta[:d], theta[d:]
        g = X.T @ (X @ (u * v) - y) / n
        return -np.concatenate([g * v, g * u])

    return rhs


def gradient_flow_scipy(X, y, alpha, t_end, rtol=1e-8, atol=1e-10, method="DOP853"):
    """Integrate the P-E gradient flow from u = √2·α, v = 0 to time ``t_end``.

    Returns (u, v, number of right-hand-side evaluations).
    """
    from scipy.integrate import solve_ivp

    d = X.shape[1]
    theta0 = np.concatenate(_init(alpha, d))
    sol = solve_ivp(flow_rhs(X, y), (0.0, t_end), theta0, method=method, rtol=rtol, atol=atol,
                    t_eval=[t_end])
    if sol.status != 0:
        raise RuntimeError(f"solve_ivp failed for alpha={alpha}: {sol.message}")
    theta = sol.y[:, -1]
    return theta[:d], theta[d:], sol.nfev


def gradient_flow_scipy_loop(X, y, alphas, t_end, rtol=1e-8, atol=1e-10, method="DOP853"):
    """`gradient_flow_scipy` in a loop over α: (U, V) of shape (G, d), total RHS evaluations."""
    runs = [gradient_flow_scipy(X, y, a, t_end, rtol, atol, method) for a in np.atleast_1d(alphas)]
    return (np.stack([r[0] for r in runs]), np.stack([r[1] for r in runs]),
            int(sum(r[2] for r in runs)))
