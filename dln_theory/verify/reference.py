"""NumPy reference implementations of the methods on a P-E DLN, for value checks.

Written from the update rules (README's method table, docs/conventions.md §4) with hand-derived P-E
gradients and no JAX, so that a claim comparing a simulated run with these loops compares two
independent code paths. θ = (u, v) of shape (2, d), β = u ⊙ v, L = (1/2n)‖Xβ − y‖², residuals
r = Xβ − y, g = ∇_βL = Xᵀr/n, ∇_θL = (g ⊙ v, g ⊙ u), s = u² + v², K = XᵀX/n.
"""

import numpy as np


def loss_and_grad(X, y, theta):
    """(L, ∇_θL) on examples (X, y)."""
    u, v = theta
    r = X @ (u * v) - y
    g = X.T @ r / len(y)
    return 0.5 * np.mean(r**2), np.stack([g * v, g * u])


def gr_direction(X, y, theta, gamma):
    """∇_θ[L + (γ/2)‖∇_θL‖²]; ‖∇_θL‖² = Σ_j g_j² s_j, so the penalty's gradient is
    γ(v ⊙ K(g ⊙ s) + g² ⊙ u, u ⊙ K(g ⊙ s) + g² ⊙ v) (Karakida et al. arXiv:2210.02720)."""
    u, v = theta
    g = X.T @ (X @ (u * v) - y) / len(y)
    Kgs = X.T @ (X @ (g * (u**2 + v**2))) / len(y)
    return loss_and_grad(X, y, theta)[1] + gamma * np.stack([v * Kgs + g**2 * u, u * Kgs + g**2 * v])


def gr_per_example_direction(X, y, theta, gamma):
    """∇_θ[L + (γ/2n)Σ_i‖∇_θℓ_i‖²]; ‖∇_θℓ_i‖² = r_i² q_i with q = X²s, so the penalty's gradient is
    (γ/n)(v ⊙ Xᵀ(r ⊙ q) + u ⊙ (X²)ᵀr², u ⊙ Xᵀ(r ⊙ q) + v ⊙ (X²)ᵀr²)."""
    u, v = theta
    r = X @ (u * v) - y
    a, b = X.T @ (r * (X**2 @ (u**2 + v**2))), (X**2).T @ r**2
    return loss_and_grad(X, y, theta)[1] + gamma / len(y) * np.stack([v * a + u * b, u * a + v * b])


def datagrad_direction(X, y, theta, lam):
    """∇_θ[L + λ·mean_i‖∂ℓ_i/∂x_i‖²]: ∂ℓ_i/∂x_i = r_i β, so the objective is J = L(1 + 2λ‖β‖²) and
    ∇_βJ = g(1 + 2λ‖β‖²) + 4λLβ (Varga et al. arXiv:1712.09936 on a linear predictor)."""
    u, v = theta
    beta = u * v
    r = X @ beta - y
    loss, g = 0.5 * np.mean(r**2), X.T @ r / len(y)
    gJ = g * (1 + 2 * lam * beta @ beta) + 4 * lam * loss * beta
    return np.stack([gJ * v, gJ * u])


def _ascent(grad, normalize):
    return grad / np.linalg.norm(grad) if normalize else grad


def fgr_direction(X, y, theta, gamma, eps, normalize=False):
    """(1 − γ/ε)∇L(θ) + (γ/ε)∇L(θ + ε∇L) (Karakida et al. Alg. 1)."""
    grad = loss_and_grad(X, y, theta)[1]
    plus = loss_and_grad(X, y, theta + eps * _ascent(grad, normalize))[1]
    return (1 - gamma / eps) * grad + gamma / eps * plus


def bgr_direction(X, y, theta, gamma, eps, normalize=False):
    """(1 + γ/ε)∇L(θ) − (γ/ε)∇L(θ − ε∇L)."""
    grad = loss_and_grad(X, y, theta)[1]
    minus = loss_and_grad(X, y, theta - eps * _ascent(grad, normalize))[1]
    return (1 + gamma / eps) * grad - gamma / eps * minus


def sam_direction(X, y, theta, rho, normalize=True, group_size=None):
    """∇L(θ + ρ∇L[/‖∇L‖]); m-SAM averages that over consecutive groups of m examples."""
    m = len(y) if group_size is None else group_size
    grads = []
    for start in range(0, len(y), m):
        Xg, yg = X[start:start + m], y[start:start + m]
        grad = loss_and_grad(Xg, yg, theta)[1]
        grads.append(loss_and_grad(Xg, yg, theta + rho * _ascent(grad, normalize))[1])
    return np.mean(grads, axis=0)


def extragradient_direction(X, y, theta, eta):
    """∇L(θ − η∇L(θ)) (Korpelevich 1976)."""
    return loss_and_grad(X, y, theta - eta * loss_and_grad(X, y, theta)[1])[1]


def flooding_direction(X, y, theta, b):
    """sign(L − b)∇L (Ishida et al. arXiv:2002.08709)."""
    loss, grad = loss_and_grad(X, y, theta)
    return np.sign(loss - b) * grad


def run(direction, theta0, eta, n_steps, momentum=None, nesterov=False, weight_decay=None, schedule=None):
    """θ after ``n_steps`` of v ← μv − η_k(D(θ + μv·[nesterov]) + λθ), θ ← θ + v, η_k = η·schedule(k)
    (without momentum: θ ← θ − η_k(D(θ) + λθ)); ``direction(θ, η)`` is D."""
    theta, velocity = np.array(theta0, dtype=float), np.zeros_like(theta0, dtype=float)
    mu, lam = momentum or 0.0, weight_decay or 0.0
    for k in range(n_steps):
        eta_k = eta * (1.0 if schedule is None else float(schedule(k)))
        at = theta + mu * velocity if nesterov else theta
        velocity = mu * velocity - eta_k * (direction(at, eta) + lam * theta)
        theta = theta + velocity
    return theta
