"""Modified flows of one-step maps outside Runge–Kutta form: normalized SAM, RMSProp and Adam
(ε > 0), derived with the Lie-series engine ``lie_series`` and checked exactly and numerically.

Normalized SAM (Foret et al. 2021), θ ← θ − η∇L(θ + ρ∇L/‖∇L‖), with ρ = c·η (the ratio held
fixed, as in ``methods.py``).  Derived first-order modified loss:

    L̃ = L + ρ‖∇L‖ + (η/4)‖∇L‖²,

the drift of the SAM SDE of Compagnoni et al. (arXiv:2301.08203, Sec. 3, full-batch drift
−∇(f + ρ‖∇f‖) at first order in η, ρ) plus Barrett & Dherin's (η/4)‖∇L‖² (arXiv:2009.11162,
Thm 3.1).  The ρ‖∇L‖ term replaces unnormalized SAM's (ρ/2)‖∇L‖²; the sign of ρ matters
(the negative control flips it).

Adam with ε inside the root (Cattaneo, Klusowski & Shigida, arXiv:2309.00079, full-batch
Adam; RMSProp is β = 0), no bias correction, m₀ = ∇L(θ₀), v₀ = ∇L(θ₀)²:

    m ← βm + (1 − β)∇L,  v ← ρv + (1 − ρ)∇L²,  θ ← θ − η m/√(v + ε)   (coordinate-wise).

Here ρ is Adam's second-moment decay (β₂; the paper's ρ), not SAM's radius.  In their regime
(β, ρ, ε fixed, η → 0) the memory decays geometrically, so the past iterates are θ_{n−k} =
θ_n + kηF(θ_n) + O(k²η²) with F = ∇L/√(∇L² + ε); the exponential averages are then, to O(η²),
gradients at look-back points: m = ∇L(θ + η β/(1−β) F), v = ∇L(θ + η ρ/(1−ρ) F)² (the
memoryless map of Cattaneo & Shigida).  The Lie-series field of that one-step map (valid at
first order only) is, with N = ‖∇L‖_{1,ε} = Σ_k √(∂_kL² + ε) (the perturbed one-norm):

    θ̇_j = −(1/√(∂_jL² + ε)) [∂_jL + η ((β/(1−β) − ρ/(1−ρ)) ∂_jL² + ε(1+β)/(2(1−β)))
                                         · ∂_jN / (∂_jL² + ε)],

so that for small ε and ρ > β the correction anti-penalizes ‖∇L‖_{1,ε} (the paper's abstract
and main theorem).  We derived this form here; the paper's equation number was not checked.

Checks (``check()``): the Lie-series field equals the written formula (exact); the time-h flow
of the written formula matches the map to O(h³) and not O(h⁴) (exact series); and the global
error of the simulated method (with its memory, for Adam) against the flow of the order-p field
has slope p + 1 over a fixed time (NumPy, DOP853 reference).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from . import examples, lie_series
from .lie_series import h

THETA = examples.THETA_2D
LOSS = examples.LOSS_2D
START = np.array(examples.START_2D)
#: A quadratic loss for the exact symbolic Adam checks (root expressions stay small); the
#: numeric order checks run on the non-quadratic ``LOSS``.
x, y = THETA
QUADRATIC = x**2 / 2 + 3 * y**2 / 4 + x * y / 3 - x / 5 + y / 7
#: Rational points of the exact pointwise checks (β, ρ, ε symbolic at the first).
POINTS = ({x: sp.Rational(2, 3), y: sp.Rational(-1, 5)},
          {x: sp.Rational(-3, 4), y: sp.Rational(2, 7)})
#: Ratio c = ρ/η of normalized SAM; Adam's (β, ρ, ε) in the numeric checks.
c = sp.Symbol("c", positive=True)
beta, rho2, eps = sp.symbols("beta rho epsilon", positive=True)
NUMERIC = {"c": 0.5, "beta": 0.3, "rho": 0.6, "epsilon": 0.1}
STEPS = (0.04, 0.02, 0.01, 0.005)


def _grad(loss=LOSS, theta=THETA) -> sp.Matrix:
    return lie_series.gradient(loss, theta)


def nsam_map(loss=LOSS, theta=THETA, sign: int = 1) -> sp.Matrix:
    """Normalized SAM θ − h∇L(θ + c h ∇L/‖∇L‖) (``sign=-1`` flips the ascent: a defect)."""
    g = _grad(loss, theta)
    norm = sp.sqrt((g.T * g)[0, 0])
    return sp.Matrix(theta) - h * lie_series.at(g, theta, sp.Matrix(theta) + sign * c * h * g / norm)


#: Symbols of the generic (any-loss) forms that ``codegen`` turns into JAX: the loss L, its
#: gradient norm N = ‖∇L‖ and SAM's radius ρ; per coordinate j, g_j = ∂_jL and
#: n_j = ∂_j‖∇L‖_{1,ε}.
L_SYM, GRAD_NORM, RADIUS = sp.Symbol("L"), sp.Symbol("N", positive=True), sp.Symbol("rho")
G_J, N_J = sp.Symbol("g_j", real=True), sp.Symbol("n_j", real=True)


def nsam_modified_loss() -> sp.Expr:
    """L̃ = L + ρN + (h/4)N² in the generic symbols (N = ‖∇L‖; ρ = SAM's radius, O(h))."""
    return L_SYM + RADIUS * GRAD_NORM + h / 4 * GRAD_NORM**2


def nsam_loss(loss=LOSS, theta=THETA, rho_coef=1) -> sp.Expr:
    """`nsam_modified_loss` on ``loss`` with ρ = c h (``rho_coef`` scales the ρ term: defects)."""
    g = _grad(loss, theta)
    return nsam_modified_loss().xreplace({L_SYM: loss, GRAD_NORM: sp.sqrt((g.T * g)[0, 0]),
                                          RADIUS: rho_coef * c * h})


def adam_map(loss=LOSS, theta=THETA) -> sp.Matrix:
    """Memoryless Adam: θ − h ∇L(θ + h β/(1−β) F) / √(∇L(θ + h ρ/(1−ρ) F)² + ε)."""
    g = _grad(loss, theta)
    F = g.applyfunc(lambda gi: gi / sp.sqrt(gi**2 + eps))
    t = sp.Matrix(theta)
    m = lie_series.at(g, theta, t + h * beta / (1 - beta) * F)
    v = lie_series.at(g, theta, t + h * rho2 / (1 - rho2) * F).applyfunc(lambda gi: gi**2)
    return t - h * sp.Matrix([mi / sp.sqrt(vi + eps) for mi, vi in zip(m, v)])


def adam_terms() -> list[sp.Expr]:
    """[f₀, f₁] of coordinate j of the field in the module docstring, in the generic symbols
    g_j = ∂_jL and n_j = ∂_j‖∇L‖_{1,ε} (and β, ρ, ε)."""
    s = G_J**2 + eps
    k = beta / (1 - beta) - rho2 / (1 - rho2)
    return [-G_J / sp.sqrt(s), -(k * G_J**2 + eps * (1 + beta) / (2 * (1 - beta))) * N_J / s**sp.Rational(3, 2)]


def adam_field(loss=LOSS, theta=THETA, order: int = 1) -> list[sp.Matrix]:
    """[f₀, f₁] of `adam_terms` on ``loss``, coordinate by coordinate (f₀ only for ``order=0``)."""
    g = _grad(loss, theta)
    gradN = _grad(sum(sp.sqrt(gi**2 + eps) for gi in g), theta)
    return [sp.Matrix([term.xreplace({G_J: gi, N_J: dN}) for gi, dN in zip(g, gradN)])
            for term in adam_terms()[: order + 1]]


def loss_field(loss_tilde: sp.Expr, theta=THETA) -> list[sp.Matrix]:
    """[f₀, f₁] of θ̇ = −∇L̃ for a first-order modified loss L̃ = L + h·(…)."""
    f = -_grad(loss_tilde, theta)
    return [f.subs(h, 0), f.diff(h).subs(h, 0)]


# --- symbolic checks ------------------------------------------------------------------------

def check_nsam_derived() -> tuple[str, bool, str]:
    """The Lie-series first-order field of normalized SAM is −∇(L + ρ‖∇L‖ + (h/4)‖∇L‖²)."""
    derived = lie_series.modified_field(nsam_map(), THETA, 1, simplify=sp.together)
    want = loss_field(nsam_loss())
    ok = all(lie_series.is_zero(a - b) for a, b in zip(derived, want))
    return ("nsam: Lie-series f₀ + h f₁ = −∇(L + ρ‖∇L‖ + (η/4)‖∇L‖²), ρ = cη (exact)", ok, "")


def check_local(name: str, step: sp.Matrix, field: list[sp.Matrix], p: int = 1,
                point: dict | None = None):
    """Φ_h − exp(h f_h) vanishes through h^{p+1} and not at h^{p+2} (exact series in h;
    at ``point`` when given)."""
    ok, detail = lie_series.agrees_to_order(lie_series.local_error(step, field, THETA, p), p,
                                            point)
    return (f"{name}: Φ_h − exp(h f_h^[{p}]) = O(h^{p + 2}), not O(h^{p + 3}) (exact)", ok, detail)


def check_adam_derived(field=None) -> tuple[str, bool, str]:
    """The Lie-series first-order field of memoryless Adam on ``QUADRATIC`` equals the written
    one (``field`` replaces it: defects), exactly at the rational ``POINTS`` with β, ρ, ε
    symbolic at the first point."""
    derived = lie_series.modified_field(adam_map(QUADRATIC), THETA, 1, simplify=lambda e: e)
    want = adam_field(QUADRATIC) if field is None else field
    params = {beta: sp.Rational(1, 3), rho2: sp.Rational(3, 5), eps: sp.Rational(1, 10)}
    ok = all(lie_series.is_zero((a - b).xreplace(pt)) for pt in (POINTS[0], {**POINTS[1], **params})
             for a, b in zip(derived, want))
    return ("adam: Lie-series field of the memoryless map = written first-order field (exact, "
            "at rational points, β, ρ, ε symbolic)", ok, "")


# --- numeric order checks -------------------------------------------------------------------

def _numeric(field: list[sp.Matrix], extra: dict):
    """NumPy f_h(θ, h) from [f₀, …] with the symbols of ``extra`` fixed (c = ρ/h held fixed)."""
    expr = lie_series.as_vector(field).xreplace(extra)
    fn = sp.lambdify((list(THETA), h), list(expr), modules="numpy", cse=True)
    return lambda th, step: np.asarray(fn(list(th), step), dtype=float)


_grad_np = sp.lambdify([list(THETA)], list(_grad()), modules="numpy")


def grad_np(theta) -> np.ndarray:
    """∇L of ``LOSS`` in NumPy."""
    return np.asarray(_grad_np(list(theta)), dtype=float)


def nsam_step(theta, step, c_value=NUMERIC["c"]):
    """One step of normalized SAM with ρ = c·η."""
    g = grad_np(theta)
    return theta - step * grad_np(theta + c_value * step * g / np.linalg.norm(g))


def adam_step(state, step, b=NUMERIC["beta"], r=NUMERIC["rho"], e=NUMERIC["epsilon"]):
    """One step of Adam (ε inside the root, no bias correction) on state (θ, m, v)."""
    theta, m, v = state
    g = grad_np(theta)
    m, v = b * m + (1 - b) * g, r * v + (1 - r) * g**2
    return theta - step * m / np.sqrt(v + e), m, v


def adam_start(theta0=START):
    """(θ₀, m₀ = ∇L(θ₀), v₀ = ∇L(θ₀)²)."""
    g = grad_np(theta0)
    return np.asarray(theta0, dtype=float), g, g**2


def nsam_order(p: int, rho_coef=1, steps=STEPS):
    """Fitted slope of normalized SAM against the flow of its order-p field (p ≤ 1 written,
    p = 2 derived by the engine); expected p + 1."""
    extra = {c: NUMERIC["c"]}
    if p == 2:
        field = lie_series.modified_field(nsam_map(), THETA, 2, simplify=sp.together)
    else:
        field = loss_field(nsam_loss(rho_coef=rho_coef))[: p + 1]
    return lie_series.numeric_order(nsam_step, _numeric(field, extra), START, steps=steps)


def adam_order(p: int, steps=STEPS, rmsprop: bool = False):
    """Fitted slope of Adam (RMSProp: β = 0) against the flow of its order-p field, p ≤ 1."""
    b = 0.0 if rmsprop else NUMERIC["beta"]
    extra = {beta: b, rho2: NUMERIC["rho"], eps: NUMERIC["epsilon"]}
    field = _numeric(adam_field(order=p), extra)
    return lie_series.numeric_order(lambda s, k: adam_step(s, k, b=b), field, adam_start(),
                                    steps=steps)


def check_nsam() -> list[tuple[str, bool, str]]:
    """Normalized SAM: derived loss (exact), local error (exact), global slope 2."""
    slope, errors = nsam_order(1)
    return [check_nsam_derived(), check_local("nsam", nsam_map(), loss_field(nsam_loss())),
            ("nsam: global error vs flow of −∇L̃ ~ h^2", abs(slope - 2) <= 0.3,
             f"slope {slope:.3f}, errors {errors}")]


def check_one_norm_sign(terms=None) -> tuple[str, bool, str]:
    """The first-order term's rate of change of ‖∇L‖_{1,ε} along coordinate j, n_j·f₁, tends as
    ε → 0 to −(β/(1−β) − ρ/(1−ρ)) n_j²/|g_j|: positive exactly when ρ > β, so the term hinders the
    decrease of the perturbed one-norm (Cattaneo, Klusowski & Shigida's abstract: "anti-penalizes",
    the typical case ρ > β) and penalizes it when β > ρ (exact; ``terms`` replaces `adam_terms`)."""
    g = sp.Symbol("g", positive=True)
    f1 = (adam_terms() if terms is None else terms)[1].xreplace({G_J: g})
    rate = sp.limit(N_J * f1, eps, 0)
    k = beta / (1 - beta) - rho2 / (1 - rho2)
    ok = sp.simplify(rate + k * N_J**2 / g) == 0
    return ("adam: ε → 0, n_j f₁ → (ρ/(1−ρ) − β/(1−β)) n_j²/|g_j| > 0 iff ρ > β "
            "(the term anti-penalizes ‖∇L‖_{1,ε}; exact)", ok, f"limit {rate}")


def check_adam() -> list[tuple[str, bool, str]]:
    """Adam and RMSProp: derived field (exact at rational points), the sign of its one-norm term
    (exact), global slopes with memory."""
    out = [check_adam_derived(), check_one_norm_sign()]
    for label, rmsprop, p in (("adam", False, 1), ("rmsprop", True, 1), ("adam", False, 0)):
        slope, errors = adam_order(p, rmsprop=rmsprop)
        out.append((f"{label} (with its buffers m, v): global error vs order-{p} field ~ h^{p + 1}",
                     abs(slope - (p + 1)) <= 0.3, f"slope {slope:.3f}, errors {errors}"))
    return out


def check() -> list[tuple[str, bool, str]]:
    """Every check of this module."""
    return check_nsam() + check_adam()


_GRAD_NORM = sp.Symbol(r"\|\nabla L\|")
#: g_j = ∂_jL and n_j = ∂_j‖∇L‖_{1,ε} in the printed Adam field.
_DJ_L, _DJ_N = sp.Symbol("g_j"), sp.Symbol("n_j")


def nsam_equations(_: int) -> list[tuple[str, sp.Expr]]:
    """L̃ = L + ρ‖∇L‖ + (η/4)‖∇L‖² (ρ = SAM's radius): `nsam_modified_loss` with h shown as η."""
    eta_ = sp.Symbol("eta", positive=True)
    return [("L̃", nsam_modified_loss().xreplace({GRAD_NORM: _GRAD_NORM, h: eta_}))]


def adam_equations(_: int) -> list[tuple[str, sp.Expr]]:
    """θ̇_j of Adam (ε inside the root; RMSProp: β = 0), N_ε = ‖∇L‖_{1,ε} = Σ√(∂_kL² + ε):
    `adam_terms` f₀ + ηf₁."""
    eta_ = sp.Symbol("eta", positive=True)
    f0, f1 = adam_terms()
    field = (f0 + eta_ * f1).xreplace({G_J: _DJ_L, N_J: _DJ_N})
    k = sp.Symbol("k")
    return [("θ̇_j (g = ∇L, n = ∇‖∇L‖_{1,ε})", field),
            ("‖∇L‖_{1,ε}", sp.Sum(sp.sqrt(sp.Indexed("g", k)**2 + eps), (k, 1, sp.Symbol("d"))))]
