"""Effective initialization of P-E DLNs: the exact per-step identity (docs/conventions.md §3) [derived].

P-E (β = u⊙v; Even et al., arXiv:2302.08982).  Every update
    u ← u − η(A⊙v + B⊙u),  v ← v − η(A⊙u + B⊙v)
satisfies u'² − v'² = [(1 − ηB)² − η²A²] ⊙ (u² − v²), since u' ± v' = (1 − ηB ∓ ηA)(u ± v).
With α_eff² = ½(u² − v²), log α_eff² changes by log((1−ηB)² − η²A²) = −2ηB + O(η²) per step,
so in the flow limit (t = kη) α_∞ = α ⊙ exp(−∫B dt).  Table (g = ∇_βL, K = XᵀX/n,
g± = g(β±), β± = (u ± εg⊙v)⊙(v ± εg⊙u)):
    GD: A = g, B = 0;  GR (double backprop on L + (γ/2)‖∇_θL‖²): A = g + γK(g⊙(u²+v²)), B = γg²;
    F-GR: A = (1−γ/ε)g + (γ/ε)g⁺, B = γ g⊙g⁺;  B-GR: A = (1+γ/ε)g − (γ/ε)g⁻, B = γ g⊙g⁻;
    unnormalized SAM: A = g⁺ (ε = ρ), B = ρ g⊙g⁺;  SGD: A = minibatch gradient, B = 0.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from . import examples

eta, gamma, eps, rho = sp.symbols("eta gamma epsilon rho", positive=True)


def step_identity() -> sp.Expr:
    """u'² − v'² − [(1−ηB)² − η²A²](u² − v²) for scalar symbols (simplifies to 0)."""
    u, v, A, B = sp.symbols("u v A B", real=True)
    u1, v1 = u - eta * (A * v + B * u), v - eta * (A * u + B * v)
    return sp.expand(u1**2 - v1**2 - ((1 - eta * B) ** 2 - eta**2 * A**2) * (u**2 - v**2))


def step_factor() -> tuple[sp.Expr, tuple[sp.Symbol, sp.Symbol]]:
    """((u'² − v'²)/(u² − v²) after one update, cancelled, (A, B)): equals (1−ηB)² − η²A²."""
    u, v, A, B = sp.symbols("u v A B", real=True)
    u1, v1 = u - eta * (A * v + B * u), v - eta * (A * u + B * v)
    return sp.factor(sp.cancel((u1**2 - v1**2) / (u**2 - v**2))), (A, B)


def flow_limit() -> sp.Expr:
    """lim_{η→0} log((1−ηB)² − η²A²)/(2η) = −B, i.e. d log α_eff/dt = −B."""
    A, B = sp.symbols("A B", real=True)
    return sp.limit(sp.log((1 - eta * B) ** 2 - eta**2 * A**2) / (2 * eta), eta, 0)


class _DLN:
    """The 2-coordinate P-E DLN with symbolic data (``examples.dln_loss``)."""

    def __init__(self, n: int = 2):
        self.loss, self.theta, self.X, self.Y = examples.dln_loss(n)
        self.u, self.v = sp.Matrix(self.theta[:2]), sp.Matrix(self.theta[2:])
        self.n = n

    def g(self, u, v, rows=None) -> sp.Matrix:
        """g(β) = Xᵀ(Xβ − y)/n (over ``rows`` only for a minibatch)."""
        X, Y = (self.X, self.Y) if rows is None else (self.X[rows, :], self.Y[rows, :])
        beta = sp.Matrix([u[0] * v[0], u[1] * v[1]])
        return X.T * (X * beta - Y) / X.shape[0]

    def grad(self, loss, at=None) -> sp.Matrix:
        """∇_θ loss, evaluated at the point ``at`` (a θ column) if given."""
        out = sp.Matrix([loss.diff(x) for x in self.theta])
        return out if at is None else out.subs(dict(zip(self.theta, at)), simultaneous=True)

    def table(self) -> dict[str, tuple[sp.Expr, sp.Expr, sp.Expr]]:
        """name -> (actual direction d with θ ← θ − ηd, A, B) for every method of the table."""
        u, v, g = self.u, self.v, self.g(self.u, self.v)
        theta = sp.Matrix(self.theta)
        grad = self.grad(self.loss)
        K = self.X.T * self.X / self.n
        sq = u.multiply_elementwise(u) + v.multiply_elementwise(v)
        out = {"gd": (grad, g, sp.zeros(2, 1))}
        reg = self.loss + gamma / 2 * (grad.T * grad)[0, 0]
        out["gr"] = (self.grad(reg), g + gamma * K * g.multiply_elementwise(sq),
                     gamma * g.multiply_elementwise(g))
        for name, sign, r, c in (("fgr", 1, eps, gamma / eps), ("bgr", -1, eps, gamma / eps),
                                 ("sam", 1, rho, None)):
            shifted = theta + sign * r * grad
            g_s = self.g(shifted[:2, :], shifted[2:, :])
            if c is None:
                out[name] = (self.grad(self.loss, shifted), g_s, rho * g.multiply_elementwise(g_s))
            else:
                direction = (1 - sign * c) * grad + sign * c * self.grad(self.loss, shifted)
                out[name] = (direction, (1 - sign * c) * g + sign * c * g_s,
                             gamma * g.multiply_elementwise(g_s))
        batch = ((self.X[0, :] * (u.multiply_elementwise(v)))[0, 0] - self.Y[0]) ** 2 / 2
        out["sgd"] = (self.grad(batch), self.g(u, v, rows=[0]), sp.zeros(2, 1))
        return out

    def residual(self, direction, A, B) -> sp.Matrix:
        """direction − (A⊙v + B⊙u, A⊙u + B⊙v), expanded."""
        u, v = self.u, self.v
        want = sp.Matrix.vstack(A.multiply_elementwise(v) + B.multiply_elementwise(u),
                                A.multiply_elementwise(u) + B.multiply_elementwise(v))
        return (direction - want).applyfunc(sp.expand)


def pe_table(n: int = 2) -> tuple["_DLN", dict[str, tuple[sp.Expr, sp.Expr, sp.Expr]]]:
    """(the symbolic n-example, 2-coordinate P-E DLN, its table {method: (d, A, B)})."""
    dln = _DLN(n)
    return dln, dln.table()


def numeric_identity(method: str = "fgr", steps: int = 200, seed: int = 0) -> float:
    """Max relative error of α_eff² from the per-step product vs a float64 run (n=3, d=5)."""
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(3, 5)), rng.normal(size=3)
    h, gm, ep = 0.05, 0.1, 0.2

    def g(beta):
        return X.T @ (X @ beta - y) / 3

    u, v = np.full(5, np.sqrt(2) * 0.3), np.zeros(5)
    predicted = u**2 - v**2
    for _ in range(steps):
        gb = g(u * v)
        if method == "gd":
            A, B = gb, np.zeros(5)
        else:
            gp = g((u + ep * gb * v) * (v + ep * gb * u))
            A, B = (1 - gm / ep) * gb + gm / ep * gp, gm * gb * gp
        predicted = predicted * ((1 - h * B) ** 2 - h**2 * A**2)
        u, v = u - h * (A * v + B * u), v - h * (A * u + B * v)
    return float(np.max(np.abs((u**2 - v**2) - predicted) / np.abs(predicted)))


def check() -> list[tuple[str, bool, str]]:
    """Symbolic identity, the (A, B) table on a symbolic 2-coordinate DLN, flow limit, float64."""
    out = [("u'² − v'² = [(1−ηB)² − η²A²](u² − v²)", step_identity() == 0, "")]
    dln = _DLN()
    for name, (direction, A, B) in dln.table().items():
        res = dln.residual(direction, A, B)
        out.append((f"{name}: update is u ← u − η(A⊙v + B⊙u), v ← v − η(A⊙u + B⊙v) with the "
                    "table's A, B (2-coordinate DLN, symbolic data)", res == sp.zeros(4, 1),
                    str(res.T)[:200]))
    limit = flow_limit()
    out.append(("flow limit: d log α_eff/dt = −B, α_∞ = α exp(−∫B dt)",
                sp.simplify(limit + sp.Symbol("B", real=True)) == 0, str(limit)))
    for method in ("gd", "fgr"):
        err = numeric_identity(method)
        out.append((f"{method}: float64 run keeps u² − v² = product of per-step factors",
                    err < 1e-10, f"max relative error {err:.2e}"))
    return out
