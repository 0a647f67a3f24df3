"""Every formula of `dln_theory.theory.registry` against its sympy derivation (style.md, pydy-style
"all backends agree"), plus the `BEAField` interface.

Each check evaluates the simulator's float64 formula at random points and the derivation exactly
(rational arithmetic on the float64 inputs) or with mpmath at 50 digits, and requires relative
agreement 1e-12. The drift test of the generated files is in test_derivations_codegen.py.
"""

import subprocess
import sys

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy as sp

import dln_theory as dt
from dln_theory.derivations import (alpha_identity, bseries, examples, gradient_form, implicit_bias, methods,
                         modified_equations, multistep)
from dln_theory.objective import Objective
from dln_theory.theory import effective_init, potentials
from dln_theory.theory.modified_losses import (BEAField, HeavyBallField, SGDField, gd_field,
                                               gd_modified_loss)
from dln_theory.theory.registry import FORMULA_MODULES, FORMULAS, NOT_DERIVED, resolve

RTOL = 1e-12
DIGITS = 50


def _close(got, want, scale=None):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    scale = np.max(np.abs(want)) if scale is None else scale
    err = np.max(np.abs(got - want))
    assert err <= RTOL * scale, f"max abs error {err:.3e} > {RTOL:.0e} × {scale:.3e}"


def _rel_close(got, want):
    """Entry-wise relative agreement."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    err = np.max(np.abs(got - want) / np.abs(want))
    assert err <= RTOL, f"max relative error {err:.3e} > {RTOL:.0e}"


def _q(x):
    """A float64 number as an exact rational."""
    return sp.Rational(float(x))


def _mp(expr, args):
    """mpmath function of ``args`` from a sympy expression (call inside mpmath.workdps)."""
    return sp.lambdify(args, expr, modules="mpmath")


def _mpf(x):
    return mpmath.mpf(float(x))


# ---------------------------------------------------------------- potentials (mpmath, 50 digits)

def _ratios(rng, size, low=-4.0, high=3.0):
    """Random signed z = β/α² spanning 10^low..10^high, and α in [0.05, 3]."""
    z = rng.choice([-1.0, 1.0], size) * 10.0 ** rng.uniform(low, high, size)
    return z, np.exp(rng.uniform(np.log(0.05), np.log(3.0), size))


def _check_entropy(implementation, derivation):
    rng = np.random.default_rng(0)
    z, alpha = _ratios(rng, 200)
    beta = z * alpha**2
    got = implementation(jnp.asarray(beta[:, None]), jnp.asarray(alpha[:, None]))
    b, a = sp.symbols("b a", real=True)
    with mpmath.workdps(DIGITS):
        fn = _mp(derivation(b, a), (b, a))
        want = [float(fn(_mpf(x), _mpf(y))) for x, y in zip(beta, alpha)]
    _rel_close(got, want)
    # A vector: the sum over coordinates (per-coordinate α).
    got = implementation(jnp.asarray(beta[:7]), jnp.asarray(alpha[:7]))
    _rel_close(got, sum(want[:7]))


def check_hyperbolic_entropy():
    _check_entropy(potentials.hyperbolic_entropy, implicit_bias.hyperbolic_entropy)


def check_woodworth_q():
    _check_entropy(potentials.woodworth_q, implicit_bias.woodworth_Q)


DEPTHS = (3, 4, 5)


def _depth_functions(depth):
    dd = implicit_bias.depth_flow(depth)
    z = implicit_bias.z
    return _mp(dd["h_D"], (z,)), _mp(dd["q_D(h_D(z))"], (z,))


def _depth_root(h, b):
    """z ∈ (−1, 1) with h_D(z) = b, by bracketed root finding at 50 digits (h_D odd, increasing)."""
    target = abs(b)
    top = mpmath.mpf(1) - mpmath.mpf(10) ** -40
    z = mpmath.findroot(lambda x: h(x) - target, (mpmath.mpf(0), top), solver="anderson",
                        maxsteps=2000)
    assert abs(h(z) - target) <= mpmath.mpf(10) ** (-DIGITS + 10) * target
    return mpmath.sign(b) * z


def check_depth_link():
    rng = np.random.default_rng(1)
    z = rng.choice([-1.0, 1.0], 100) * np.concatenate(
        [10.0 ** rng.uniform(-6, -1, 50), 1.0 - 10.0 ** rng.uniform(-4, 0, 50)])
    for depth in DEPTHS:
        got = potentials.depth_link(jnp.asarray(z), depth)
        with mpmath.workdps(DIGITS):
            h, _ = _depth_functions(depth)
            want = [float(h(_mpf(x))) for x in z]
        _rel_close(got, want)


def _link_values(rng, size):
    return rng.choice([-1.0, 1.0], size) * 10.0 ** rng.uniform(-6, 6, size)


def check_depth_link_inverse():
    rng = np.random.default_rng(2)
    b = _link_values(rng, 60)
    for depth in DEPTHS:
        got = potentials.depth_link_inverse(jnp.asarray(b), depth)
        with mpmath.workdps(DIGITS):
            h, _ = _depth_functions(depth)
            want = [float(_depth_root(h, _mpf(x))) for x in b]
        _rel_close(got, want)


def check_depth_potential():
    rng = np.random.default_rng(3)
    b = _link_values(rng, 40)
    alpha = np.exp(rng.uniform(np.log(0.1), np.log(2.0), 40))
    for depth in DEPTHS:
        beta = b * alpha**depth
        got = potentials.depth_potential(jnp.asarray(beta[:, None]), jnp.asarray(alpha[:, None]),
                                         depth)
        with mpmath.workdps(DIGITS):
            h, q = _depth_functions(depth)
            want = []
            for x, a in zip(beta, alpha):
                scale = _mpf(a) ** depth
                want.append(float(scale * q(_depth_root(h, _mpf(x) / scale))))
        _rel_close(got, want)


# ---------------------------------------------------------------- effective initialization

def _factor_function():
    expr, (A, B) = alpha_identity.step_factor()
    return _mp(expr, (A, B, alpha_identity.eta))


def check_alpha_eff2_factor():
    rng = np.random.default_rng(4)
    eta = rng.uniform(0.01, 1.0, 100)
    A, B = rng.uniform(-0.5, 0.5, 100) / eta, rng.uniform(-0.3, 0.3, 100) / eta
    got = effective_init.alpha_eff2_factor(jnp.asarray(A), jnp.asarray(B), jnp.asarray(eta))
    with mpmath.workdps(DIGITS):
        fn = _factor_function()
        want = [float(fn(_mpf(a), _mpf(b), _mpf(e))) for a, b, e in zip(A, B, eta)]
    _rel_close(got, want)


def check_alpha_inf2_gd():
    rng = np.random.default_rng(5)
    eta, alpha = 0.3, rng.uniform(0.1, 2.0, 6)
    grads = rng.uniform(-2.0, 2.0, (50, 6))
    got = effective_init.alpha_inf2_gd(jnp.asarray(alpha), eta, jnp.asarray(grads))
    with mpmath.workdps(DIGITS):
        fn = _factor_function()
        want = [float(_mpf(a) ** 2 * mpmath.fprod(fn(_mpf(g), 0, _mpf(eta)) for g in grads[:, i]))
                for i, a in enumerate(alpha)]
    _rel_close(got, want)


# ---------------------------------------------------------------- concrete DLN (exact rationals)

def _dln_case(n=2, seed=0):
    """Numeric P-E DLN with n examples, d = 2: (objective, params, sympy loss, θ symbols, point)."""
    rng = np.random.default_rng(seed)
    loss, theta, X, Y = examples.dln_loss(n)
    Xn, yn, params = rng.normal(size=(n, 2)), rng.normal(size=n), rng.normal(size=(2, 2))
    data = {s: _q(v) for s, v in zip(list(X) + list(Y), list(Xn.ravel()) + list(yn))}
    point = {s: _q(v) for s, v in zip(theta, params.ravel())}
    objective = Objective(dt.PE(), jnp.asarray(Xn), jnp.asarray(yn))
    return objective, jnp.asarray(params), loss.xreplace(data), theta, point, data


def _value(expr, values):
    out = expr.xreplace(values)
    return np.array([float(x) for x in out]) if isinstance(out, sp.MatrixBase) else float(out)


def _neg_grad(expr, theta):
    return -sp.Matrix([expr.diff(v) for v in theta])


H = 0.35


def check_gd_modified_loss():
    objective, params, loss, theta, point, _ = _dln_case()
    ltilde, rest = gradient_form.split(modified_equations.modified_field(methods.GD, 1))
    assert not rest
    concrete = gradient_form.concrete_loss(ltilde, loss, theta, 2)
    want = _value(concrete, {**point, methods.eta: _q(H)})
    _rel_close(gd_modified_loss(objective, params, H), want)
    # and the field gd_field(1) built on it
    field = _value(_neg_grad(concrete, theta), {**point, methods.eta: _q(H)})
    _close(jnp.ravel(gd_field(1)(objective, params, H)), field)


def check_heavy_ball_field():
    objective, params, loss, theta, point, _ = _dln_case(seed=1)
    beta = 0.6
    bracket = gradient_form.concrete_loss(multistep.heavy_ball_loss(1), loss, theta, 2)
    values = {**point, methods.eta: _q(H), multistep.beta: _q(beta)}
    want = _value(_neg_grad(bracket, theta) / (1 - multistep.beta), values)
    _close(jnp.ravel(HeavyBallField(momentum=beta)(objective, params, H)), want)


def check_sgd_field():
    objective, params, _, theta, point, data = _dln_case(n=4, seed=2)
    _, _, X, Y = examples.dln_loss(4)
    u, v = theta[:2], theta[2:]
    residual = [sum(X[i, j] * u[j] * v[j] for j in range(2)) - Y[i] for i in range(4)]
    batches = [(residual[2 * k] ** 2 + residual[2 * k + 1] ** 2) / 4 for k in range(2)]  # B = 2
    batches = [c.xreplace(data) for c in batches]
    loss = multistep.rr_modified_loss(batches, theta)
    want = _value(_neg_grad(loss, theta), {**point, multistep.epsilon_sgd: _q(H)})
    _close(jnp.ravel(SGDField(batch_size=2)(objective, params, H)), want)


PE_METHODS = {
    "gd": lambda o, p, c: effective_init.pe_terms_gd(o, p),
    "sgd": lambda o, p, c: effective_init.pe_terms_gd(o, p),
    "gr": lambda o, p, c: effective_init.pe_terms_gr(o, p, c["gamma"]),
    "fgr": lambda o, p, c: effective_init.pe_terms_fgr(o, p, c["gamma"], c["eps"]),
    "bgr": lambda o, p, c: effective_init.pe_terms_bgr(o, p, c["gamma"], c["eps"]),
    "sam": lambda o, p, c: effective_init.pe_terms_sam(o, p, c["rho"], normalize=False),
}


def _check_pe_terms(name):
    def check():
        dln, table = alpha_identity.pe_table(2)
        rng = np.random.default_rng(6)
        coefficients = {"gamma": 0.3, "eps": 0.2, "rho": 0.15}
        for trial in range(3):
            Xn, yn, params = rng.normal(size=(2, 2)), rng.normal(size=2), rng.normal(size=(2, 2))
            values = {s: _q(x) for s, x in zip(list(dln.X) + list(dln.Y) + list(dln.theta),
                                                list(Xn.ravel()) + list(yn) + list(params.ravel()))}
            values.update({getattr(alpha_identity, k): _q(x) for k, x in coefficients.items()})
            objective = Objective(dt.PE(), jnp.asarray(Xn), jnp.asarray(yn))
            if name == "sgd":  # the table's minibatch is example 0
                objective = objective.subset(jnp.asarray([0]))
            A, B = PE_METHODS[name](objective, jnp.asarray(params), coefficients)
            _, A_want, B_want = table[name]
            A_want, B_want = _value(A_want, values), _value(B_want, values)
            scale = max(np.max(np.abs(A_want)), np.max(np.abs(B_want)))
            _close(A, A_want, scale)
            _close(B, B_want, scale)

    return check


BEA_COEFFICIENTS = {"gd": {}, "gr": {"gamma": 0.3}, "fgr": {"gamma": 0.3, "eps": 0.2},
                    "bgr": {"gamma": 0.3, "eps": 0.2}, "sam": {"rho": 0.15}, "extragradient": {},
                    "heavy_ball": {"momentum": 0.4}}
_SYMBOLS = {"gamma": methods.gamma, "eps": methods.eps, "rho": methods.rho,
            "momentum": multistep.beta}


def _check_bea_field(kind):
    def check():
        objective, params, loss, theta, point, _ = _dln_case(n=3, seed=7)
        coefficients = BEA_COEFFICIENTS[kind]
        if kind == "heavy_ball":
            expr = bseries.evaluate(multistep.heavy_ball_field(3), _neg_grad(loss, theta), theta)
        else:
            expr = modified_equations.vector_field(methods.METHODS[kind], loss, theta, 3)
        values = {**point, methods.eta: _q(H)}
        values.update({_SYMBOLS[k]: _q(x) for k, x in coefficients.items()})
        want = _value(expr, values)
        field = BEAField(kind, 3, **coefficients)
        _close(jnp.ravel(jax.jit(field.__call__)(objective, params, H)), want)

    return check


CHECKS = {
    "hyperbolic_entropy": check_hyperbolic_entropy,
    "woodworth_q": check_woodworth_q,
    "depth_link": check_depth_link,
    "depth_link_inverse": check_depth_link_inverse,
    "depth_potential": check_depth_potential,
    "alpha_eff2_factor": check_alpha_eff2_factor,
    "alpha_inf2_gd": check_alpha_inf2_gd,
    **{f"pe_terms_{m}": _check_pe_terms(m) for m in PE_METHODS},
    "gd_modified_loss": check_gd_modified_loss,
    "HeavyBallField": check_heavy_ball_field,
    "SGDField": check_sgd_field,
    **{f"BEAField_{k}": _check_bea_field(k) for k in BEA_COEFFICIENTS},
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_formula_agrees_with_derivation(name):
    CHECKS[name]()


# ---------------------------------------------------------------- the registry itself

def test_every_registered_formula_is_checked():
    assert set(CHECKS) == set(FORMULAS)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_references_resolve(name):
    formula = FORMULAS[name]
    assert callable(formula.load()) and callable(formula.load_derivation())
    assert formula.derivation.startswith("dln_theory.derivations.") and formula.statement and formula.source


def test_every_public_formula_is_registered():
    import importlib
    import inspect

    registered = {f.implementation for f in FORMULAS.values()} | set(NOT_DERIVED)
    for module_name in FORMULA_MODULES:
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if name.startswith("_") or not callable(obj) or inspect.ismodule(obj):
                continue
            if getattr(obj, "__module__", None) == module_name:
                reference = f"{module_name}:{name}"
                assert reference in registered, f"{reference} is not registered"


def test_variants_cover_the_derivations():
    _, table = alpha_identity.pe_table(2)
    pe = {f.variant for f in FORMULAS.values() if f.name.startswith("pe_terms_")}
    assert pe == set(table)
    bea = {f.variant for f in FORMULAS.values() if f.name.startswith("BEAField_")}
    assert bea == set(BEAField.KINDS)


def test_resolve_rejects_bad_reference():
    with pytest.raises(ValueError, match="module:qualname"):
        resolve("dln_theory.theory.potentials")


def test_simulator_does_not_import_sympy():
    code = ("import sys, dln_theory.theory.registry, dln_theory.theory.modified_losses, "
            "dln_theory.verify as v; v.all_claims(); "
            "assert 'sympy' not in sys.modules and 'derivations' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- BEAField interface

@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="adam", order=1), "kind"),
    (dict(kind="gd", order=4), "order"),
    (dict(kind="gd", order=-1), "order"),
    (dict(kind="gd", order=1.0), "order"),
    (dict(kind="gd", order=True), "order"),
    (dict(kind="fgr", order=2, gamma=0.1), "eps=None"),
    (dict(kind="gd", order=2, rho=0.1), "rho"),
    (dict(kind="sam", order=2, rho=-0.1), "rho"),
    (dict(kind="fgr", order=2, gamma=0.1, eps=0.0), "eps"),
    (dict(kind="heavy_ball", order=2, momentum=1.0), "momentum"),
])
def test_bea_field_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BEAField(**kwargs)


def test_gd_field_orders():
    assert isinstance(gd_field(0), dt.LossField) and isinstance(gd_field(1), dt.LossField)
    assert gd_field(3) == BEAField("gd", 3)
    for bad in (4, -1, 1.5):
        with pytest.raises(ValueError, match="order"):
            gd_field(bad)


def test_generated_first_order_equals_hand_written():
    objective, params, *_ = _dln_case(n=3, seed=8)
    pairs = [(BEAField("gd", 0), gd_field(0)), (BEAField("gd", 1), gd_field(1)),
             (BEAField("heavy_ball", 1, momentum=0.4), HeavyBallField(momentum=0.4)),
             (BEAField("fgr", 3, gamma=0.1, eps=0.1), BEAField("sam", 3, rho=0.1)),
             (BEAField("fgr", 3, gamma=0.0, eps=0.1), BEAField("gd", 3))]
    for a, b in pairs:
        _close(a(objective, params, H), b(objective, params, H))


def test_bea_field_sweeps_its_coefficients():
    problem = dt.SparseRegression(n=6, d=5, k=1).sample(0)
    flow = dt.ModifiedFlow(0.1, field=BEAField("fgr", 2, gamma=0.02, eps=0.05), h=0.1)
    values = [0.0, 0.02, 0.05]
    res = dt.sweep(flow, dt.PE(), problem, {"field.gamma": values}, 2, 2, alpha=0.5, cache=False)
    assert res.traces <= 1
    for i, gamma in enumerate(values):
        single = dt.ModifiedFlow(0.1, field=BEAField("fgr", 2, gamma=gamma, eps=0.05), h=0.1)
        end = dt.simulate(single, dt.PE(), problem, 0.5, 2, 2).params
        np.testing.assert_allclose(res.trajectory.params[i], end, rtol=1e-10, atol=1e-13)
