"""Implicit bias of gradient flow on diagonal linear networks: links, mirror potentials, limits.

Conventions (docs/conventions.md §1–2): L(β) = (1/2n)‖Xβ − y‖², g = ∇_βL = Xᵀr ∈ range(Xᵀ),
S(t) = ∫₀ᵗ g dt (so S ∈ range(Xᵀ)).
  * P-W depth 2 (Woodworth et al., arXiv:2002.09277): β = w₊² − w₋², w±(0) = α, ẇ± = ∓2w±g:
    w± = α e^{∓2S}, β = −2α² sinh(4S), so ∇Q_α(β) = arcsinh(β/(2α²)) = −4S ∈ range(Xᵀ) and
    Q_α(β) = Σ α² q(β/α²), q(z) = 2 − √(4+z²) + z arcsinh(z/2).
  * P-E (Even et al., arXiv:2302.08982): β = u⊙v, u(0) = √2α, v(0) = 0, u̇ = −gv, v̇ = −gu:
    u ± v = √2α e^{∓S}, β = −α² sinh(2S), ∇ψ_α(β) = ½ arcsinh(β/α²) = −S,
    ψ_α(β) = ½ Σ (β arcsinh(β/α²) − √(β²+α⁴) + α²), and Q_{α_W} = 2ψ_{√2α_W}.
  * P-W depth D ≥ 3 [derived]: w±^{2−D} = α^{2−D} ± D(D−2)S, β/α^D = −h_D(z),
    z = D(D−2)α^{D−2}S, h_D(z) = (1−z)^{−D/(D−2)} − (1+z)^{−D/(D−2)}; Q^D_α = α^D Σ q_D(β/α^D),
    q_D' = h_D^{-1}, in parametric form q_D(h_D(z)) = z h_D(z) − H_D(z), H_D' = h_D, H_D(0) = 0.
Limits: α → ∞ gives β²/(4α²) (ψ, Q) or (D−2)β²/(4Dα^D) (Q^D): min-ℓ2; α → 0 gives |β| after
dividing by log(1/α²) (Q; ψ gives |β|/2) and |β| directly for D ≥ 3: min-ℓ1.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.optimize import fsolve

t = sp.Symbol("t", real=True)
alpha = sp.Symbol("alpha", positive=True)
b, z = sp.symbols("beta z", real=True)
D = sp.Symbol("D", positive=True)
s_fn = sp.Function("g")
S_fn = sp.Function("S")


def woodworth_q(zz: sp.Expr) -> sp.Expr:
    """q(z) = 2 − √(4+z²) + z·arcsinh(z/2)."""
    return 2 - sp.sqrt(4 + zz**2) + zz * sp.asinh(zz / 2)


def woodworth_Q(beta: sp.Expr, a: sp.Expr = alpha) -> sp.Expr:
    """Q_α(β) = α² q(β/α²) (one coordinate)."""
    return a**2 * woodworth_q(beta / a**2)


def hyperbolic_entropy(beta: sp.Expr, a: sp.Expr = alpha) -> sp.Expr:
    """ψ_α(β) = ½(β arcsinh(β/α²) − √(β²+α⁴) + α²) (one coordinate)."""
    return (beta * sp.asinh(beta / a**2) - sp.sqrt(beta**2 + a**4) + a**2) / 2


def _dsolve_with_start(rate: sp.Expr, start: sp.Expr) -> sp.Expr:
    """Solve ẇ = rate·S'(t)·w with w(0) = start and S(0) = 0 (dsolve, then the constant)."""
    w = sp.Function("w")
    sol = sp.dsolve(sp.Eq(w(t).diff(t), rate * S_fn(t).diff(t) * w(t)), w(t)).rhs
    (const,) = sol.free_symbols - {t}
    value = sp.solve(sp.Eq(sol.subs(t, 0).subs(S_fn(0), 0), start), const)[0]
    return sol.subs(const, value)


def pw_flow() -> dict[str, sp.Expr]:
    """P-W depth 2: dsolve of ẇ± = ∓2g w± (g = S'), the link β(S) and the mirror potential."""
    S = sp.Symbol("S", real=True)
    w_plus = _dsolve_with_start(-2, alpha)
    w_minus = _dsolve_with_start(2, alpha)
    link = sp.simplify((w_plus**2 - w_minus**2).subs(S_fn(t), S))
    potential = sp.integrate(sp.asinh(z / (2 * alpha**2)), (z, 0, b))
    return {"w+": w_plus, "w-": w_minus, "beta(S)": link,
            "grad Q": sp.asinh(b / (2 * alpha**2)), "Q": potential}


def pe_flow() -> dict[str, sp.Expr]:
    """P-E: u ± v solve (u ± v)˙ = ∓g(u ± v) (g = S'); the link β(S) and ψ_α."""
    S = sp.Symbol("S", real=True)
    u0 = sp.sqrt(2) * alpha
    plus, minus = _dsolve_with_start(-1, u0), _dsolve_with_start(1, u0)
    link = sp.simplify(((plus**2 - minus**2) / 4).subs(S_fn(t), S))
    potential = sp.integrate(sp.asinh(z / alpha**2) / 2, (z, 0, b))
    return {"u+v": plus, "u-v": minus, "beta(S)": link,
            "grad psi": sp.asinh(b / alpha**2) / 2, "psi": potential}


def _is_linear_in(expr: sp.Expr, S: sp.Symbol, slope: sp.Expr) -> bool:
    """expr(S) = slope·S: expr(0) = 0 and d = expr'(S) has d² = slope², d(0) = slope.

    (d is continuous and never 0, so d² = slope² and d(0) = slope give d ≡ slope.)
    """
    d = expr.diff(S)
    return (sp.simplify(sp.trigsimp(d**2) - slope**2) == 0
            and sp.simplify(d.subs(S, 0) - slope) == 0 and sp.simplify(expr.subs(S, 0)) == 0)


def depth_flow(depth=D) -> dict[str, sp.Expr]:
    """Depth D ≥ 3: the separated solution, the link and the parametric potential q_D."""
    depth = sp.sympify(depth)
    k = depth / (depth - 2)
    S = S_fn(t)
    w_plus = (alpha ** (2 - depth) + depth * (depth - 2) * S) ** (1 / (2 - depth))
    w_minus = (alpha ** (2 - depth) - depth * (depth - 2) * S) ** (1 / (2 - depth))
    h = (1 - z) ** (-k) - (1 + z) ** (-k)
    H = (depth - 2) / 2 * ((1 - z) ** (-2 / (depth - 2)) + (1 + z) ** (-2 / (depth - 2)) - 2)
    return {"w+": w_plus, "w-": w_minus, "h_D": h, "H_D": H, "q_D(h_D(z))": z * h - H,
            "beta": w_plus**depth - w_minus**depth}


def check_pw() -> list[tuple[str, bool, str]]:
    """P-W depth 2: dsolve, link, Woodworth potential, limits, flow vs argmin Q_α (float64)."""
    out = []
    pw = pw_flow()
    S = sp.Symbol("S", real=True)
    ok = all(sp.simplify(pw[n] - alpha * sp.exp(sg * 2 * S_fn(t))) == 0
             for n, sg in (("w+", -1), ("w-", 1)))
    out.append(("pw: dsolve gives w± = α exp(∓2S), S = ∫g dt", ok, f"{pw['w+']}, {pw['w-']}"))
    ok = sp.simplify(pw["beta(S)"] + 2 * alpha**2 * sp.sinh(4 * S)) == 0
    ok &= _is_linear_in(pw["grad Q"].subs(b, pw["beta(S)"]), S, -4)
    out.append(("pw: β = −2α² sinh(4S), ∇Q = arcsinh(β/(2α²)) = −4S ∈ range(Xᵀ)", ok,
                str(pw["beta(S)"])))
    diff = sp.simplify(pw["Q"] - woodworth_Q(b))
    out.append(("pw: ∫ arcsinh(β/(2α²)) dβ = Woodworth Q_α(β) = α² q(β/α²)", diff == 0, str(diff)))
    bp = sp.Symbol("beta", positive=True)
    big = sp.limit(4 * alpha**2 * woodworth_Q(bp) / bp**2, alpha, sp.oo)
    small = sp.limit(woodworth_Q(bp) / (bp * sp.log(alpha**-2)), alpha, 0)
    out.append(("pw: 4α²Q_α/β² → 1 (α → ∞, min-ℓ2) and Q_α/(|β| log(1/α²)) → 1 (α → 0, min-ℓ1)",
                big == 1 and small == 1, f"{big}, {small}"))
    return out + _numeric_pw()


def check_pe() -> list[tuple[str, bool, str]]:
    """P-E: dsolve, link, hyperbolic entropy, Q_{α_W} = 2ψ_{√2α_W}, limits, flow (float64)."""
    out = []
    pe = pe_flow()
    S = sp.Symbol("S", real=True)
    u0 = sp.sqrt(2) * alpha
    ok = (sp.simplify(pe["u+v"] - u0 * sp.exp(-S_fn(t))) == 0
          and sp.simplify(pe["u-v"] - u0 * sp.exp(S_fn(t))) == 0)
    ok &= sp.simplify(pe["beta(S)"] + alpha**2 * sp.sinh(2 * S)) == 0
    ok &= _is_linear_in(pe["grad psi"].subs(b, pe["beta(S)"]), S, -1)
    out.append(("pe: u ± v = √2α e^{∓S}, β = −α² sinh(2S), ∇ψ_α = ½ arcsinh(β/α²) = −S", ok,
                f"{pe['u+v']}, {pe['u-v']}"))
    diff = sp.simplify(pe["psi"] - hyperbolic_entropy(b))
    out.append(("pe: ∫ ½ arcsinh(β/α²) dβ = ψ_α(β)", diff == 0, str(diff)))
    aw = sp.Symbol("alpha_W", positive=True)
    diff = sp.simplify(woodworth_Q(b, aw) - 2 * hyperbolic_entropy(b, sp.sqrt(2) * aw))
    out.append(("pe: Q_{α_W} = 2 ψ_{√2 α_W}", diff == 0, str(diff)))
    bp = sp.Symbol("beta", positive=True)
    big = sp.limit(4 * alpha**2 * hyperbolic_entropy(bp) / bp**2, alpha, sp.oo)
    small = sp.limit(2 * hyperbolic_entropy(bp) / (bp * sp.log(alpha**-2)), alpha, 0)
    out.append(("pe: 4α²ψ_α/β² → 1 (α → ∞) and 2ψ_α/(|β| log(1/α²)) → 1 (α → 0)",
                big == 1 and small == 1, f"{big}, {small}"))
    return out + _numeric_pe()


def check_depth() -> list[tuple[str, bool, str]]:
    """Depth D: separated solution, link, parametric q_D, limits, depth-3 flow (float64)."""
    out = []
    dd = depth_flow()
    for name, sign in (("w+", -1), ("w-", 1)):
        residual = dd[name].diff(t) - sign * D * S_fn(t).diff(t) * dd[name] ** (D - 1)
        ok = sp.simplify(sp.powsimp(sp.powdenest(residual, force=True), force=True)) == 0
        out.append((f"depth D: {name} = (α^(2−D) {'+' if sign < 0 else '−'} D(D−2)S)^(1/(2−D)) "
                    f"solves ẇ = {'−' if sign < 0 else '+'}D w^(D−1) g", ok, str(dd[name])))
    d3 = depth_flow(3)
    ok = sp.simplify(d3["beta"] / alpha**3 + d3["h_D"].subs(z, 3 * alpha * S_fn(t))) == 0
    out.append(("depth 3: β/α³ = −h₃(3αS), so ∇Q³ = h₃⁻¹(β/α³) ∝ S ∈ range(Xᵀ)", ok,
                str(d3["beta"])))
    ok = sp.simplify(dd["H_D"].diff(z) - dd["h_D"]) == 0 and dd["H_D"].subs(z, 0) == 0
    out.append(("depth D: H_D' = h_D, H_D(0) = 0", ok, str(dd["H_D"])))
    for depth in (3, 4):
        dk = depth_flow(depth)
        q_prime = sp.simplify(dk["q_D(h_D(z))"].diff(z) / dk["h_D"].diff(z))
        out.append((f"depth {depth}: dq_D/dβ = z = h_D⁻¹(β) (parametric q_D)", q_prime == z,
                    str(q_prime)))
    quad = sp.limit(d3["q_D(h_D(z))"] / d3["h_D"] ** 2, z, 0)
    l1 = sp.limit(d3["q_D(h_D(z))"] / d3["h_D"], z, 1, dir="-")
    out.append(("depth 3: q₃(β) ≈ β²/12 near 0 (α → ∞: ℓ2) and q₃(β)/β → 1 (α → 0: ℓ1)",
                quad == sp.Rational(1, 12) and l1 == 1, f"{quad}, {l1}"))
    return out + _numeric_depth()


#: Underdetermined data for the numeric flows (n = 2, d = 3).
X_DATA = np.array([[1.0, 0.5, -0.3], [0.2, -1.0, 0.8]])
Y_DATA = np.array([0.7, -0.4])


def _flow_to_interpolant(rhs, state0, to_beta, T=400.0):
    sol = solve_ivp(rhs, (0.0, T), state0, method="DOP853", rtol=1e-12, atol=1e-14)
    return to_beta(sol.y[:, -1])


def _kkt(link):
    """β = link(Xᵀν) with Xβ = y, solved for ν."""
    nu = fsolve(lambda nu: X_DATA @ link(X_DATA.T @ nu) - Y_DATA, np.zeros(len(Y_DATA)),
                xtol=1e-12)
    return link(X_DATA.T @ nu)


def _grad(beta):
    return X_DATA.T @ (X_DATA @ beta - Y_DATA) / X_DATA.shape[0]


def _numeric_pw(a: float = 0.5) -> list[tuple[str, bool, str]]:
    d = X_DATA.shape[1]
    pw = _flow_to_interpolant(
        lambda _, w: np.concatenate([-2 * w[:d] * _grad(w[:d] ** 2 - w[d:] ** 2),
                                     2 * w[d:] * _grad(w[:d] ** 2 - w[d:] ** 2)]),
        np.full(2 * d, a), lambda w: w[:d] ** 2 - w[d:] ** 2)
    kkt = _kkt(lambda c: 2 * a**2 * np.sinh(c))
    big = _kkt(lambda c: 2 * 1e3**2 * np.sinh(c))
    l2 = np.linalg.pinv(X_DATA) @ Y_DATA
    return [("pw: flow (α = 0.5) → argmin Q_α, β = 2α² sinh(Xᵀν)",
             bool(np.allclose(pw, kkt, atol=1e-8)), f"{pw} vs {kkt}"),
            ("pw: argmin Q_α → min-ℓ2 interpolant (α = 10³)",
             bool(np.allclose(big, l2, atol=1e-6)), f"{big} vs {l2}")]


def _numeric_pe(a: float = 0.5) -> list[tuple[str, bool, str]]:
    d = X_DATA.shape[1]
    pe = _flow_to_interpolant(
        lambda _, s: np.concatenate([-_grad(s[:d] * s[d:]) * s[d:],
                                     -_grad(s[:d] * s[d:]) * s[:d]]),
        np.concatenate([np.full(d, np.sqrt(2) * a), np.zeros(d)]), lambda s: s[:d] * s[d:])
    kkt = _kkt(lambda c: a**2 * np.sinh(c))
    return [("pe: flow (u₀ = √2α, α = 0.5) → argmin ψ_α, β = α² sinh(Xᵀν)",
             bool(np.allclose(pe, kkt, atol=1e-8)), f"{pe} vs {kkt}")]


def _numeric_depth(a: float = 0.5) -> list[tuple[str, bool, str]]:
    d = X_DATA.shape[1]
    w3 = _flow_to_interpolant(
        lambda _, w: np.concatenate([-3 * w[:d] ** 2 * _grad(w[:d] ** 3 - w[d:] ** 3),
                                     3 * w[d:] ** 2 * _grad(w[:d] ** 3 - w[d:] ** 3)]),
        np.full(2 * d, a), lambda w: w[:d] ** 3 - w[d:] ** 3, T=2000.0)
    kkt = _kkt(lambda c: a**3 * ((1 - c) ** -3 - (1 + c) ** -3))
    return [("depth 3: flow (α = 0.5) → argmin Q³_α, β = α³ h₃(Xᵀν)",
             bool(np.allclose(w3, kkt, atol=1e-7)), f"{w3} vs {kkt}")]


def check() -> list[tuple[str, bool, str]]:
    """All implicit-bias checks (the α identity is in ``alpha_identity``)."""
    return check_pw() + check_pe() + check_depth()
