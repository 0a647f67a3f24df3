"""Claims about the optimizer family (issue [2]): exact identities, orders, biases, endpoints."""

import functools
import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import (
    BGR,
    FGR,
    GD,
    GR,
    PE,
    PW,
    SAM,
    SGD,
    Flooding,
    HeavyBall,
    ModifiedFlow,
    Nesterov,
    SparseRegression,
    simulate,
)
from ..objective import Objective
from ..theory import interpolators
from ..theory.effective_init import alpha_eff2_factor
from ..theory.fields import ModifiedField
from ..theory.modified_losses import HeavyBallField, SGDField, gd_field
from . import claim, loglog_slope
from .pe_table import pe_terms

SOURCE_TABLE = "docs/conventions.md §3 (exact identity); Even et al. arXiv:2302.08982; Karakida et al. arXiv:2210.02720"

IDENTITY_METHODS = {
    "GD": GD(0.3),
    "SGD": SGD(0.3, batch_size=3),
    "GR": GR(0.3, gamma=0.2),
    "FGR": FGR(0.3, gamma=0.2, eps=0.1),
    "FGR_normalized": FGR(0.3, gamma=0.2, eps=0.1, normalize=True),
    "BGR": BGR(0.3, gamma=0.2, eps=0.1),
    "SAM": SAM(0.3, rho=0.1),
    "SAM_unnormalized": SAM(0.3, rho=0.1, normalize=False),
    "1-SAM": SAM(0.3, rho=0.1, group_size=1, normalize=False),
    "Flooding": Flooding(0.3, b=10.0),
}


def _objective(n=8, d=12, seed=0):
    problem = SparseRegression(n=n, d=d, k=2).sample(seed)
    return problem, Objective(PE(), problem.X, problem.y)


def _step(method, params, state, objective, key):
    """One step of ``method`` (a defect replaces the simulated step)."""
    return method.step(params, state, objective, key)[0]


def _batch(method, state, objective, key):
    """The (mini)batch objective of the step taken with ``key``, on which the table is evaluated."""
    return method.minibatch(state, objective, key)[1]


def _identity_claim(method):
    def check(quick):
        """One step multiplies u² − v² by (1 − ηB)² − η²A² with A, B from the table in β-space.

        Tolerance 1e-12 relative to max|u² − v²|: a handful of float64 operations per entry.
        """
        _, objective = _objective()
        params = jax.random.normal(jax.random.PRNGKey(1), (2, objective.X.shape[1]))
        key = jax.random.PRNGKey(5)
        state = method.init(params, objective)
        after = _step(method, params, state, objective, key)
        A, B = pe_terms(method, _batch(method, state, objective, key), params)
        before = params[0] ** 2 - params[1] ** 2
        pred = alpha_eff2_factor(A, B, method.eta) * before
        sim = after[0] ** 2 - after[1] ** 2
        err = float(jnp.max(jnp.abs(sim - pred)) / jnp.max(jnp.abs(before)))
        return float(jnp.sum(pred)), float(jnp.sum(sim)), err, 1e-12

    return check


_IDENTITY_DEFECTS = {
    "factor 1 (gradient flow's conservation law)": {"alpha_eff2_factor": lambda A, B, eta: jnp.ones_like(A)},
    "ηA² for η²A²": {"alpha_eff2_factor": lambda A, B, eta: (1 - eta * B) ** 2 - eta * A**2},
}
#: further defects where the method has them: B ≠ 0 (GR family, SAM) or a minibatch (SGD).
_SIGN_OF_B = {"B with the wrong sign": {"alpha_eff2_factor": lambda A, B, eta: (1 + eta * B) ** 2 - (eta * A) ** 2}}
_MORE_DEFECTS = {
    "SGD": {"table on the full batch, not the step's minibatch": {"_batch": lambda method, state, objective, key: objective}},
    # sign(L − b) enters the factor squared, so a flipped ascent is invisible to this identity
    # (the matches_reference_loop_Flooding claim catches it); a wrong step size is not.
    "Flooding": {"simulated step of 2η": {
        "_step": lambda method, *args: Flooding(2 * method.eta, b=method.b).step(*args)[0]}},
    **{name: _SIGN_OF_B for name in ("GR", "FGR", "FGR_normalized", "BGR", "SAM", "SAM_unnormalized", "1-SAM")},
}

for _name, _method in IDENTITY_METHODS.items():
    claim(f"alpha_identity_{_name}", SOURCE_TABLE, defects={**_IDENTITY_DEFECTS, **_MORE_DEFECTS.get(_name, {})})(
        _identity_claim(_method))


def _exact_gr(gamma):
    """The exact GR method that F-GR and B-GR approximate."""
    return GR(0.1, gamma=gamma)


def _fd_order(cls):
    """Fitted order of ‖D_FD(ε) − D_GR‖ in ε at a random point (γ fixed)."""
    _, objective = _objective()
    params = 0.5 * jax.random.normal(jax.random.PRNGKey(2), (2, objective.X.shape[1]))
    key = jax.random.PRNGKey(0)
    exact = _exact_gr(0.3).direction(params, objective, key)
    epss = np.logspace(-4, -2, 5)
    errs = [float(jnp.linalg.norm(cls(0.1, gamma=0.3, eps=e).direction(params, objective, key) - exact))
            for e in epss]
    return loglog_slope(epss, errs)


_GR_DEFECTS = {"GR penalty γ‖∇L‖² (½ dropped)": {"_exact_gr": lambda gamma: GR(0.1, gamma=2 * gamma)}}


@claim("fgr_to_gr_order_eps", "Karakida et al. arXiv:2210.02720; docs/conventions.md §4 (+gamma*eps/2 grad^3 L[g,g])",
       defects=_GR_DEFECTS)
def fgr_order(quick):
    """F-GR's direction differs from GR's by (γε/2)∇³L[∇L,∇L] + O(ε²): fitted slope 1 ± 0.2."""
    s = _fd_order(FGR)
    return 1.0, s, abs(s - 1.0), 0.2


@claim("bgr_to_gr_order_eps", "Karakida et al. arXiv:2210.02720; docs/conventions.md §4 (-gamma*eps/2 grad^3 L[g,g])",
       defects=_GR_DEFECTS)
def bgr_order(quick):
    """B-GR's direction differs from GR's by −(γε/2)∇³L[∇L,∇L] + O(ε²): fitted slope 1 ± 0.2."""
    s = _fd_order(BGR)
    return 1.0, s, abs(s - 1.0), 0.2


#: coefficient c of the predicted pair θ − c·η²∇‖∇L‖².
FLOODING_COEFFICIENT = 0.5


@claim("flooding_pair_is_fd_gr", "Ishida et al. 2020; docs/conventions.md §4 (derived): ascent-descent = FD-GR + O(eta^3)",
       defects={"½ dropped (η²∇‖∇L‖²)": {"FLOODING_COEFFICIENT": 1.0},
                "wrong sign (θ + ½η²∇‖∇L‖²)": {"FLOODING_COEFFICIENT": -0.5}})
def flooding_pair(quick):
    """An ascent then a descent step of flooding equals θ − (η²/2)∇‖∇L‖² up to O(η³): slope 3 ± 0.2.

    The flood level is set just above L(θ) so the first step ascends and the second descends.
    """
    _, objective = _objective()
    params = 0.5 * jax.random.normal(jax.random.PRNGKey(3), (2, objective.X.shape[1]))
    key = jax.random.PRNGKey(0)
    hvp = jax.grad(lambda p: jnp.sum(objective.grad(p) ** 2))(params)
    etas = np.logspace(-3, -1.5, 5)
    errs = []
    for eta in etas:
        method = Flooding(eta, b=float(objective.loss(params)) * (1 + 1e-12))
        state = method.init(params, objective)
        mid, state, _ = method.step(params, state, objective, key)
        end, _, _ = method.step(mid, state, objective, key)
        errs.append(float(jnp.linalg.norm(end - (params - FLOODING_COEFFICIENT * eta**2 * hvp))))
    s = loglog_slope(etas, errs)
    return 3.0, s, abs(s - 3.0), 0.2


def _epoch_errors(order, etas):
    """‖E[θ after one RR epoch] − flow(mη)‖ over all orderings of m = 4 single-example batches."""
    problem = SparseRegression(n=4, d=6, k=1).sample(4)
    objective = Objective(PE(), problem.X, problem.y)
    params0 = PE().init(0.5, 6)
    orderings = jnp.array(list(itertools.permutations(range(4))))
    errs = []
    for eta in etas:
        def epoch(order_idx):
            def one(params, i):
                return params - eta * objective.subset(i[None]).grad(params), None

            return jax.lax.scan(one, params0, order_idx)[0]

        mean = jnp.mean(jax.vmap(epoch)(orderings), axis=0)
        field = _SGD_FIELD if order == 1 else gd_field(0)
        flow = ModifiedFlow(4 * eta, field=field, h=eta)
        ref = simulate(flow, PE(), problem, 0.5, 1, 1).params
        errs.append(float(jnp.linalg.norm(mean - ref)))
    return errs


#: the modified field of random-reshuffling SGD with single-example batches.
_SGD_FIELD = SGDField(batch_size=1)


@claim("sgd_rr_modified_flow_order3", "Smith et al. arXiv:2101.12176 (modified loss of random shuffling)",
       defects={"full-batch GD's modified loss (η/4)‖∇C‖²": {"_SGD_FIELD": gd_field(1)},
                "plain flow (no correction)": {"_SGD_FIELD": gd_field(0)}})
def sgd_rr(quick):
    """The mean SGD iterate over one epoch (all 4! orderings) follows C + (η/4m)Σ‖∇Ĉ_k‖²: slope 3 ± 0.2.

    The plain flow's error is O(η²) per epoch (reported in the note).
    """
    etas = np.logspace(-2.5, -1.5, 4)
    s_mod, s_plain = loglog_slope(etas, _epoch_errors(1, etas)), loglog_slope(etas, _epoch_errors(0, etas))
    return 3.0, s_mod, abs(s_mod - 3.0), 0.2, f"plain flow slope {s_plain:.2f} (theory 2)"


class _Rescaled(ModifiedField):
    """Defect: ``field`` evaluated at h·``factor`` (a coefficient of its h-term scaled)."""

    field: ModifiedField
    factor: float = eqx.field(static=True)

    def __call__(self, objective, params, h):
        return self.field(objective, params, self.factor * h)


#: the field of the heavy-ball claim as a function of μ (a defect swaps it).
_heavy_ball_field = HeavyBallField


@claim("heavy_ball_modified_flow_order2", "Ghosh et al. arXiv:2302.00849; docs/conventions.md §5",
       defects={"GD's modified loss (η/4)‖∇L‖² and rate 1": {"_heavy_ball_field": lambda momentum: gd_field(1)},
                "correction's (1 + μ) dropped": {
                    "_heavy_ball_field": lambda momentum: _Rescaled(HeavyBallField(momentum), 1 / (1 + momentum))}})
def heavy_ball(quick):
    """Heavy ball follows θ̇ = −(1/(1−μ))∇[L + h(1+μ)/(4(1−μ)²)‖∇L‖²] with error O(h²): slope 2 ± 0.2.

    The run starts on the modified flow's slow manifold, velocity v₀ = −h∇L̃(θ₀)/(1−μ)
    (the flow's own velocity times h); with v₀ = 0 the transient costs an O(h) offset.
    """
    errs, errs_plain = _momentum_errors(HeavyBall, _heavy_ball_field(MOMENTUM))
    s = loglog_slope(MOMENTUM_STEPS, errs)
    return 2.0, s, abs(s - 2.0), 0.2, f"plain flow (h = 0) slope {loglog_slope(MOMENTUM_STEPS, errs_plain):.2f} (theory 1)"


class NesterovField(ModifiedField):
    """θ̇ = −(1/(1−μ))∇[L + h(1 − μ + 2μ²)/(4(1−μ)²)‖∇L‖²]: the first-order modified flow of Nesterov.

    Derived here: on the slow manifold v = −h∇L/(1−μ) + O(h²), so the look-ahead gradient is
    ∇L(θ + μv) = ∇[L − hμ/(2(1−μ))‖∇L‖²] + O(h²), and Nesterov is heavy ball on that loss; heavy
    ball's modified flow (`HeavyBallField`, Ghosh et al. arXiv:2302.00849) then adds
    h(1+μ)/(4(1−μ)²)‖∇L‖², and (1+μ)/(4(1−μ)²) − μ/(2(1−μ)) = (1 − μ + 2μ²)/(4(1−μ)²). μ = 0 gives
    GD's h/4. Checked by the fitted order of ``nesterov_modified_flow_order2``.
    """

    momentum: float

    def __call__(self, objective, params, h):
        b = self.momentum

        def modified(p):
            g = objective.grad(p)
            return objective.loss(p) + h * (1 - b + 2 * b**2) / (4 * (1 - b) ** 2) * jnp.sum(g**2)

        return -jax.grad(modified)(params) / (1.0 - b)


#: the field of the Nesterov claim as a function of μ (a defect swaps it).
_nesterov_field = NesterovField


@claim("nesterov_modified_flow_order2", "derived in verify.methods.NesterovField from Ghosh et al. arXiv:2302.00849",
       defects={"heavy ball's coefficient (1+μ)/(4(1−μ)²)": {"_nesterov_field": HeavyBallField},
                "look-ahead's −μ/(2(1−μ)) counted twice": {
                    "_nesterov_field": lambda momentum: _Rescaled(NesterovField(momentum), 0.0)}})
def nesterov(quick):
    """Nesterov follows `NesterovField` with error O(h²): fitted slope 2 ± 0.2 (start as for heavy ball).

    Heavy ball's field lacks the look-ahead term and is O(h) off; its errors are in the note
    (O(h) and O(h²) terms of opposite sign partly cancel at these h, so their slope is below 1).
    """
    errs, errs_hb = _momentum_errors(Nesterov, _nesterov_field(MOMENTUM), HeavyBallField(MOMENTUM))
    s = loglog_slope(MOMENTUM_STEPS, errs)
    return 2.0, s, abs(s - 2.0), 0.2, ("errors " + ", ".join(f"{e:.1e}" for e in errs) + "; heavy ball's field "
                                       + ", ".join(f"{e:.1e}" for e in errs_hb) + f" at h = {MOMENTUM_STEPS}")


MOMENTUM, MOMENTUM_STEPS = 0.5, (0.04, 0.02, 0.01, 0.005)


def _momentum_errors(cls, field, other=None):
    """‖θ_run(T) − θ_flow(T)‖ at T = 1 per step h for ``field`` and for ``other`` (default: h = 0)."""
    problem = SparseRegression(n=10, d=20, k=2).sample(1)
    objective = Objective(PE(), problem.X, problem.y)
    horizon = 1.0
    params0 = PE().init(0.5, 20)
    errs, errs_other = [], []
    for h in MOMENTUM_STEPS:
        method = cls(h, momentum=MOMENTUM)
        state = method.init(params0, objective)._replace(velocity=h * field(objective, params0, h))

        def body(carry, _):
            p, s = carry
            p, s, _ = method.step(p, s, objective, jax.random.PRNGKey(0))
            return (p, s), None

        end = jax.lax.scan(body, (params0, state), None, length=int(round(horizon / h)))[0][0]
        ref = simulate(ModifiedFlow(horizon, field=field, h=h), PE(), problem, 0.5, 1, 1).params
        alt = ModifiedFlow(horizon, field=HeavyBallField(MOMENTUM), h=0.0) if other is None else \
            ModifiedFlow(horizon, field=other, h=h)
        errs.append(float(jnp.linalg.norm(end - ref)))
        errs_other.append(float(jnp.linalg.norm(end - simulate(alt, PE(), problem, 0.5, 1, 1).params)))
    return errs, errs_other


def _ordering_problem(quick):
    return SparseRegression(n=20, d=30, k=3).sample(0)


@claim("alpha_eff_ordering_gr_family", "Karakida et al. arXiv:2210.02720 (F-GR strengthens the rich bias); docs/conventions.md §3",
       defects={"ascent and descent swapped (F-GR ↔ B-GR)": {"FGR": BGR, "BGR": FGR}})
def alpha_eff_ordering(quick):
    """Mean α_eff² at the end: F-GR(large ε) < F-GR(small ε) < GR < B-GR < GD at equal γ.

    Reported as the fraction of the 4 adjacent pairs in the predicted order (tolerance: all of them);
    the note gives α_eff² on and off the support and the test error of each, side by side.
    """
    problem = _ordering_problem(quick)
    gamma, eta, n_steps = 0.05, 0.1, 3000 if quick else 10000
    methods = {
        "FGR(eps=0.5)": FGR(eta, gamma=gamma, eps=0.5),
        "FGR(eps=0.05)": FGR(eta, gamma=gamma, eps=0.05),
        "GR": GR(eta, gamma=gamma),
        "BGR(eps=0.05)": BGR(eta, gamma=gamma, eps=0.05),
        "GD": GD(eta),
    }
    support = np.asarray(problem.beta_star) != 0
    rows, means = [], []
    for name, method in methods.items():
        traj = simulate(method, PE(), problem, 0.1, n_steps, n_steps)
        a2 = np.asarray(traj.alpha_eff2[-1])
        means.append(a2.mean())
        rows.append(f"{name}: α_eff² on {a2[support].mean():.3e} off {a2[~support].mean():.3e}, "
                    f"test error {float(problem.test_error(traj.beta[-1])):.3e}")
    in_order = float(np.mean(np.diff(means) > 0))
    return 1.0, in_order, 1.0 - in_order, 0.0, "; ".join(rows)


#: step size, initial scale and strength (γ, ρ) of the endpoint claims.
ENDPOINT_ETA, ENDPOINT_ALPHA, ENDPOINT_GAMMA = 0.05, 0.1, 0.2
ENDPOINT_METHODS = {
    "GR": GR(ENDPOINT_ETA, gamma=ENDPOINT_GAMMA),
    "FGR": FGR(ENDPOINT_ETA, gamma=ENDPOINT_GAMMA, eps=0.2),
    "BGR": BGR(ENDPOINT_ETA, gamma=ENDPOINT_GAMMA, eps=0.2),
    "SAM_unnormalized": SAM(ENDPOINT_ETA, rho=ENDPOINT_GAMMA, normalize=False),
    "SGD": SGD(ENDPOINT_ETA, batch_size=1),
}
#: the method each endpoint claim simulates (a defect replaces an entry).
ENDPOINT_SIMULATED = dict(ENDPOINT_METHODS)


_RUNS: dict = {}


def _endpoint(method, quick):
    """(β at the end, trajectory) of ``method``, cached per method object: a defect of the
    prediction does not rerun it, a defect that swaps the method does."""
    key = (id(method), quick)
    if key not in _RUNS:
        traj = simulate(method, PE(), _ordering_problem(quick), ENDPOINT_ALPHA, 80_000, 80_000, loss_tol=1e-26)
        _RUNS[key] = (method, np.asarray(traj.beta[-1]), traj)
    return _RUNS[key][1:]


@functools.lru_cache(maxsize=None)
def _gd_endpoint(quick):
    """GD's endpoint at the same η and α, from which each method's must stand apart."""
    return _endpoint(GD(ENDPOINT_ETA), quick)[0]


def _alpha_inf(traj):
    """α_∞ = √(½(u² − v²)) at the end of the run."""
    return np.sqrt(np.asarray(traj.alpha_eff2[-1]))


def _interpolant(X, y, alpha_inf):
    return np.asarray(interpolators.min_potential_interpolant(X, y, alpha_inf, PE()))


def _endpoint_claim(name):
    def check(quick):
        """The run ends at argmin ψ_{α_∞} with α_∞² = ½(u² − v²) read off the run (P-E, α = 0.1,
        η = 0.05, γ = ρ = 0.2, ε = 0.2, SGD with one example per step).

        Why it is not exact: per step ln((u+v)/(u−v)) moves by −2ηA − 2η²AB + O(η³), and only the
        −2ηA part lies in range(Xᵀ) (A = Xᵀ(…)); the tilt 2η²Σ_k A_kB_k, with B = γg² for GR, moves
        the endpoint by O(ηγ) (GD, B = 0: O(η²)). Measured for GR on this problem: ∝ γ at fixed
        η (γ = 0.025 → 0.2 at η = 0.025: 3.4e-5 → 2.5e-4) and ∝ η at fixed γ, 5e-4 here.
        Tolerance: min(2e-3, d_GD/5), d_GD = ‖β_run − β_GD‖/‖β_GD‖ the distance to GD's endpoint
        (≈ 1e-2 here): the prediction must also explain the run five times better than "it is GD",
        so a method reduced to GD (d_GD = 0) fails. Without the cap a defect that moved the run
        far from GD would loosen the claim; 2e-3 is 4× the measured error.
        """
        problem = _ordering_problem(quick)
        sim, traj = _endpoint(ENDPOINT_SIMULATED[name], quick)
        pred = _interpolant(problem.X, problem.y, _alpha_inf(traj))
        gd = _gd_endpoint(quick)
        err = float(np.linalg.norm(sim - pred) / np.linalg.norm(pred))
        d_gd = float(np.linalg.norm(sim - gd) / np.linalg.norm(gd))
        note = f"distance to GD's endpoint {d_gd:.1e}, final loss {float(traj.loss[-1]):.1e}"
        return np.abs(pred).sum(), np.abs(sim).sum(), err, min(2e-3, d_gd / 5), note

    return check


for _name in ENDPOINT_METHODS:
    claim(f"endpoint_argmin_psi_alpha_inf_{_name}", "Even et al. arXiv:2302.08982; docs/conventions.md §3", defects={
        "method reduced to GD": {"ENDPOINT_SIMULATED": {_name: GD(ENDPOINT_ETA)}},
        "α instead of α_∞": {"_alpha_inf": lambda traj: ENDPOINT_ALPHA},
        "P-W convention (weight 2α_∞²)": {
            "_interpolant": lambda X, y, a: np.asarray(interpolators.min_potential_interpolant(X, y, a, PW(2)))},
    })(_endpoint_claim(_name))
