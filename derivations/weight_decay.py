"""Weight decay on the factors of a DLN is an ℓ1 penalty on β (docs/conventions.md §7) [derived].

P-E, β = u ⊙ v: per coordinate ½(u² + v²) − |uv| = ½(|u| − |v|)² ≥ 0, so
min_{uv = β} ½(u² + v²) = |β|, attained at |u| = |v| = √|β|; a minimizer of
L(u ⊙ v) + (λ/2)‖(u, v)‖² is a lasso solution argmin L(β) + λ‖β‖₁. Its stationarity conditions
give the lasso's: where β_i ≠ 0, |u_i| = |v_i| and ∇L_i = −λ sign(β_i).
P-W, β = w₊² − w₋²: ½(w₊² + w₋²) over w₊² − w₋² = β is minimized with the smaller factor at 0,
min = ½|β|: weight decay λ on P-W is the lasso with penalty (λ/2)‖β‖₁.
"""

import sympy as sp

u, v, wp, wm, g, lam = sp.symbols("u v w_+ w_- g lambda", real=True)
b = sp.Symbol("beta", positive=True)


def pe_gap() -> sp.Expr:
    """½(u² + v²) − |uv| − ½(|u| − |v|)²: zero for all real u, v."""
    return sp.simplify(sp.Rational(1, 2) * (u**2 + v**2) - sp.Abs(u * v)
                       - sp.Rational(1, 2) * (sp.Abs(u) - sp.Abs(v)) ** 2)


def pe_minimum() -> sp.Expr:
    """min over u > 0 of ½(u² + (β/u)²) for β > 0 (v = β/u): the stationary value."""
    objective = sp.Rational(1, 2) * (u**2 + (b / u) ** 2)
    (u_star,) = [s for s in sp.solve(sp.diff(objective, u), u) if s.is_positive]
    return sp.simplify(objective.subs(u, u_star))


def pw_minimum() -> sp.Expr:
    """min over w₋ of ½(w₊² + w₋²) with w₊² = β + w₋² (β > 0): at w₋ = 0."""
    objective = sp.Rational(1, 2) * ((b + wm**2) + wm**2)
    critical = sp.solve(sp.diff(objective, wm), wm)
    return sp.simplify(min(objective.subs(wm, c) for c in critical))


def stationarity() -> sp.Expr:
    """u·∂_u − v·∂_v of L(uv) + (λ/2)(u² + v²) with ∂L/∂β = g: λ(u² − v²), so |u| = |v| where λ > 0."""
    grad_u, grad_v = g * v + lam * u, g * u + lam * v
    return sp.factor(sp.expand(u * grad_u - v * grad_v))


def equations(_order: int = 0) -> list[tuple[str, sp.Basic]]:
    return [("½(u² + v²) − |uv|", sp.Rational(1, 2) * (sp.Abs(u) - sp.Abs(v)) ** 2),
            ("min_{uv=β} ½(u² + v²)", pe_minimum()),
            ("min_{w₊²−w₋²=β} ½(w₊² + w₋²)", pw_minimum()),
            ("u ∂_u − v ∂_v [L(uv) + (λ/2)(u² + v²)]", stationarity())]


def check() -> list[tuple[str, bool, str]]:
    """The AM–GM gap identity, both minima, the stationarity factor, and a float64 spot check."""
    import numpy as np

    rng = np.random.default_rng(0)
    us, vs = rng.standard_normal((2, 1000))
    gap = 0.5 * (us**2 + vs**2) - np.abs(us * vs) - 0.5 * (np.abs(us) - np.abs(vs)) ** 2
    return [
        ("½(u² + v²) − |uv| = ½(|u| − |v|)²", pe_gap() == 0, ""),
        ("P-E: min_{uv=β} ½(u² + v²) = |β|", sp.simplify(pe_minimum() - b) == 0, str(pe_minimum())),
        ("P-W: min_{w₊²−w₋²=β} ½(w₊² + w₋²) = ½|β|", sp.simplify(pw_minimum() - b / 2) == 0, str(pw_minimum())),
        ("stationarity: u∂_u − v∂_v = λ(u² − v²)", sp.simplify(stationarity() - lam * (u**2 - v**2)) == 0,
         str(stationarity())),
        ("float64: gap identity at 1000 random points", float(np.max(np.abs(gap))) < 1e-14, ""),
    ]
