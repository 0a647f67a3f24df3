"""Measurements of a trained network on a whole data set: loss, accuracy, ‖∇L‖², sharpness, noise.

Every function takes an objective (`NetObjective`, or any object with ``predict``,
``example_loss`` and ``data``) and the params, and works on all of its examples. With
``chunk_size`` the examples are processed in chunks of that size (the last one padded and
masked), so memory stays bounded on large sets; the results equal the unchunked ones up to
floating-point summation order. All functions are jittable (``chunk_size`` and iteration counts
static).

Definitions (L the mean loss over the n examples, H = ∇²L):

* ``grad_norm2``: ‖∇L(θ)‖², the quantity that gradient regularization penalizes (Barrett &
  Dherin arXiv:2009.11162; Karakida et al. arXiv:2210.02720).
* ``sharpness``: the largest eigenvalue λ_max(H), by power iteration on Hessian-vector products
  Hv = ∂/∂t ∇L(θ + tv) (a jvp of the gradient); when the dominant eigenvalue is negative the
  iteration is repeated on H − λ_dom·I, so the result is the top (algebraically largest) one.
* ``noise_sensitivity``: E_ξ[L(θ + σξ)] − L(θ), ξ ~ N(0, I), the mean over ``draws`` draws.
"""

import jax
import jax.numpy as jnp

from .. import _tree


def _chunks(objective, chunk_size):
    """(x, y, mask) with a leading chunk axis; one chunk when ``chunk_size`` is None or ≥ n."""
    x, y = objective.data
    n = x.shape[0]
    c = n if chunk_size is None or chunk_size >= n else int(chunk_size)
    m = -(-n // c)
    pad = m * c - n
    mask = jnp.arange(m * c) < n

    def split(a):
        a = jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)) if pad else a
        return a.reshape((m, c) + a.shape[1:])

    return split(x), split(y), mask.reshape(m, c)


def _sum_loss(objective, params, x, y, mask):
    """Σ_i mask_i ℓ(f(x_i), y_i) over one chunk."""
    losses = objective.example_loss(objective.predict(params, x), y)
    return jnp.sum(jnp.where(mask, losses, 0.0))


def loss_and_accuracy(objective, params, chunk_size=None):
    """(L(θ), accuracy) over all examples of ``objective``."""
    xs, ys, masks = _chunks(objective, chunk_size)

    def one(chunk):
        x, y, mask = chunk
        logits = objective.predict(params, x)
        losses = objective.example_loss(logits, y)
        correct = jnp.argmax(logits, axis=-1) == y
        return jnp.sum(jnp.where(mask, losses, 0.0)), jnp.sum(mask & correct)

    losses, correct = jax.lax.map(one, (xs, ys, masks))
    n = objective.n
    return jnp.sum(losses) / n, jnp.sum(correct) / n


def accuracy(objective, params, chunk_size=None):
    """Fraction of examples whose largest logit is the label."""
    return loss_and_accuracy(objective, params, chunk_size)[1]


def full_grad(objective, params, chunk_size=None):
    """∇L(θ) over all examples (chunked sums of per-chunk gradients, divided by n)."""
    xs, ys, masks = _chunks(objective, chunk_size)
    if xs.shape[0] == 1:
        return jax.grad(lambda p: _sum_loss(objective, p, xs[0], ys[0], masks[0]) / objective.n)(params)

    def accumulate(total, chunk):
        g = jax.grad(lambda p: _sum_loss(objective, p, *chunk))(params)
        return _tree.add(total, g), None

    zero = jax.tree.map(jnp.zeros_like, params)
    total, _ = jax.lax.scan(accumulate, zero, (xs, ys, masks))
    return _tree.scale(1.0 / objective.n, total)


def grad_norm2(objective, params, chunk_size=None):
    """‖∇L(θ)‖² over all examples."""
    g = full_grad(objective, params, chunk_size)
    return _tree.vdot(g, g)


def hvp(objective, params, v, chunk_size=None):
    """H(θ)v, the jvp of the full gradient along ``v``."""
    return jax.jvp(lambda p: full_grad(objective, params=p, chunk_size=chunk_size), (params,), (v,))[1]


def _power_iteration(matvec, v0, iters, tol):
    """(Rayleigh quotient, vector) of the dominant eigenpair of a symmetric operator."""

    def body(carry):
        i, v, lam, _ = carry
        w = matvec(v)
        new = _tree.vdot(v, w)
        norm = _tree.norm(w)
        v = _tree.scale(jnp.where(norm > 0, 1.0 / jnp.where(norm > 0, norm, 1.0), 0.0), w)
        return i + 1, v, new, jnp.abs(new - lam) <= tol * jnp.abs(new)

    def cond(carry):
        i, _, _, done = carry
        return (i < iters) & ~done

    lam0 = jnp.asarray(jnp.inf, dtype=jax.tree.leaves(v0)[0].dtype)
    _, v, lam, _ = jax.lax.while_loop(cond, body, (0, _tree.normalized(v0), lam0, False))
    return lam, v


def sharpness(objective, params, key, iters: int = 100, tol: float = 1e-6, chunk_size=None):
    """λ_max(∇²L(θ)) by power iteration on Hessian-vector products.

    Args:
        objective, params: the loss and the point.
        key: PRNG key of the random start vector.
        iters: maximum iterations (per pass; a second pass runs only when the dominant
            eigenvalue is negative).
        tol: stop when the Rayleigh quotient changes by at most ``tol`` relative to its value.
        chunk_size: examples per chunk (None: all at once).
    """
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    v0 = jax.tree.unflatten(treedef, [jax.random.normal(k, a.shape, a.dtype) for k, a in zip(keys, leaves)])
    matvec = lambda v: hvp(objective, params, v, chunk_size)  # noqa: E731
    lam, v = _power_iteration(matvec, v0, iters, tol)

    def shifted(_):
        mu, _ = _power_iteration(lambda u: _tree.axpy(-lam, u, matvec(u)), v0, iters, tol)
        return mu + lam

    return jax.lax.cond(lam < 0, shifted, lambda _: lam, None)


def noise_sensitivity(objective, params, key, sigma, draws: int = 10, chunk_size=None):
    """E_ξ[L(θ + σξ)] − L(θ), ξ ~ N(0, I) on every weight, averaged over ``draws`` draws."""
    leaves, treedef = jax.tree.flatten(params)
    base = loss_and_accuracy(objective, params, chunk_size)[0]

    def one(k):
        keys = jax.random.split(k, len(leaves))
        noisy = [a + jnp.asarray(sigma, a.dtype) * jax.random.normal(kk, a.shape, a.dtype)
                 for kk, a in zip(keys, leaves)]
        return loss_and_accuracy(objective, jax.tree.unflatten(treedef, noisy), chunk_size)[0]

    return jnp.mean(jax.lax.map(one, jax.random.split(key, draws))) - base
