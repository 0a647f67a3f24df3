"""Generated modified fields: drift test and agreement with the sympy derivation."""

import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from dln_theory.derivations import (_numerics, bseries, codegen, examples, methods,
                         modified_equations as me, multistep)
from dln_theory.theory import generated


REPO = Path(__file__).resolve().parents[1]


def test_generated_file_is_up_to_date(tmp_path):
    committed = REPO / codegen.TARGET
    assert committed.read_text() == codegen.generate(), (
        f"{committed} is stale: python -m dln_theory.derivations.codegen {codegen.TARGET}")
    assert codegen.write(tmp_path / "fields.py").read_text() == committed.read_text()


def test_generated_package_does_not_import_sympy():
    code = ("import sys, dln_theory.theory.generated as g; "
            "assert 'sympy' not in sys.modules, 'sympy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


_LOSS_FN = sp.lambdify([list(examples.THETA_2D)], examples.LOSS_2D_SMOOTH, modules="jax")
PARAMS = {"gd": {}, "fgr": {methods.gamma: 0.03, methods.eps: 0.05},
          "bgr": {methods.gamma: 0.03, methods.eps: 0.05}, "sam": {methods.rho: 0.04},
          "extragradient": {}, "heavy_ball": {multistep.beta: 0.6}}


def _loss(theta):
    return _LOSS_FN([theta[0], theta[1]])


def _sympy_field(name, order):
    theta = examples.THETA_2D
    if name == "heavy_ball":
        f = -sp.Matrix([examples.LOSS_2D_SMOOTH.diff(v) for v in theta])
        expr = bseries.evaluate(multistep.heavy_ball_field(order), f, theta)
    else:
        expr = me.vector_field(methods.METHODS[name], examples.LOSS_2D_SMOOTH, theta, order)
    return _numerics.vector_function(expr.xreplace(PARAMS[name]), theta, (methods.eta,))


@pytest.mark.parametrize("name", list(codegen.FIELDS))
def test_generated_matches_sympy(name):
    rng = np.random.default_rng(1)
    order = codegen.MAX_ORDER
    reference = _sympy_field(name, order)
    params = [v for _, v in sorted(PARAMS[name].items(), key=lambda kv: codegen.FIELDS[name][2]
                                   .index(kv[0].name))]
    field = jax.jit(getattr(generated, f"{name}_field")(_loss, order))
    for _ in range(3):
        theta, h = rng.normal(size=2), 0.1
        want = reference(theta, h)
        got = np.asarray(field(jnp.asarray(theta), h, *params))
        assert np.max(np.abs(got - want)) <= 1e-12 * np.max(np.abs(want))


def test_truncation_order_argument():
    field = generated.gd_field(_loss, 0)
    theta = jnp.asarray([0.3, -0.2])
    np.testing.assert_allclose(field(theta, 0.1), -jax.grad(_loss)(theta), rtol=1e-14)
    with pytest.raises(ValueError):
        generated.gd_field(_loss, codegen.MAX_ORDER + 1)


# --- Lie-series fields (lie_fields.py: normalized SAM, Adam) ---------------------------------

from dln_theory.derivations import adaptive_maps as am  # noqa: E402
from dln_theory.derivations import lie_series  # noqa: E402
from dln_theory.theory.fields import AdamField, NSAMField  # noqa: E402

_LIE_LOSS = sp.lambdify([list(am.THETA)], am.LOSS, modules="jax")


class _Loss2D:
    """The two-variable loss of ``adaptive_maps`` as an objective (loss and gradient only)."""

    def loss(self, theta):
        return _LIE_LOSS([theta[0], theta[1]])

    def grad(self, theta):
        return jax.grad(self.loss)(theta)


def test_lie_fields_file_is_up_to_date(tmp_path):
    committed = REPO / codegen.LIE_TARGET
    assert committed.read_text() == codegen.generate_lie(), (
        f"{committed} is stale: python -m dln_theory.derivations.codegen --lie {codegen.LIE_TARGET}")
    assert codegen.write(tmp_path / "lie.py", codegen.generate_lie()).read_text() == committed.read_text()


@pytest.mark.parametrize("order", [0, 1])
def test_generated_lie_fields_match_the_sympy_fields(order):
    """NSAMField and AdamField (generated JAX) equal the sympy fields of ``adaptive_maps`` (the ones
    checked exactly against the Lie-series engine) at random points, to 1e-12 relative (float64
    evaluation of the same closed forms)."""
    rng, h = np.random.default_rng(2), 0.1
    nsam = am.loss_field(am.nsam_loss())[: order + 1]
    adam = am.adam_field(order=order)
    values = {am.c: 0.5, am.beta: 0.3, am.rho2: 0.6, am.eps: 0.1}
    cases = [(nsam, NSAMField(rho=0.5 * h, order=order)),
             (adam, AdamField(beta1=0.3, beta2=0.6, eps_root=0.1, order=order))]
    for sympy_field, jax_field in cases:
        want_fn = sp.lambdify((list(am.THETA), lie_series.h),
                              list(lie_series.as_vector(sympy_field).xreplace(values)), modules="numpy")
        for _ in range(3):
            theta = rng.normal(size=2)
            want = np.asarray(want_fn(list(theta), h), dtype=float)
            got = np.asarray(jax_field(_Loss2D(), jnp.asarray(theta), h))
            assert np.max(np.abs(got - want)) <= 1e-12 * np.max(np.abs(want))


def test_nsam_field_local_error_has_slope_three():
    """One normalized-SAM step (ρ = 0.5h) against the time-h flow of the generated first-order
    field: local error O(h^{p+2}) = O(h³) (HLW IX.1); the plain flow (order 0) leaves O(h²).
    Tolerance 0.3 on the fitted slope (measured within 0.05 of 3 and 2)."""
    from scipy.integrate import solve_ivp

    theta0, steps = np.array(am.START), np.array([0.04, 0.02, 0.01, 0.005])
    for order, expected in ((1, 3), (0, 2)):
        errors = []
        for h in steps:
            field = jax.jit(lambda th, h=h: NSAMField(rho=0.5 * h, order=order)(_Loss2D(), th, h))
            flow = solve_ivp(lambda _, th: np.asarray(field(jnp.asarray(th))), (0, h), theta0,
                             method="DOP853", rtol=1e-13, atol=1e-15).y[:, -1]
            errors.append(np.linalg.norm(am.nsam_step(theta0, h) - flow))
        slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
        assert abs(slope - expected) <= 0.3, (order, slope, errors)


def test_lie_field_orders_refused():
    with pytest.raises(ValueError, match="order=2 is not allowed"):
        NSAMField(rho=0.1, order=2)
    with pytest.raises(ValueError, match="eps_root=0.0 is not allowed"):
        AdamField(beta1=0.3, beta2=0.6, eps_root=0.0)


def test_lie_field_coefficients_are_sweepable():
    """`ModifiedFlow` with a generated Lie-series field sweeps its coefficient (``field.beta1``) in
    one compiled call, equal to separate runs (to the rounding of the batched program, 1e-11)."""
    import dln_theory as dt
    from dln_theory.sweep import sweep

    problem = dt.SparseRegression(n=8, d=12, k=2).sample(0)
    method = dt.ModifiedFlow(0.05, field=AdamField(beta1=0.3, beta2=0.6, eps_root=0.1))
    res = sweep(method, dt.PE(), problem, {"field.beta1": [0.0, 0.3]}, 10, 5, alpha=0.3, cache=False,
                progress=False)
    assert res.traces <= 1
    for i, b1 in enumerate([0.0, 0.3]):
        single = dt.simulate(dt.ModifiedFlow(0.05, field=AdamField(beta1=b1, beta2=0.6, eps_root=0.1)),
                             dt.PE(), problem, 0.3, 10, 5)
        np.testing.assert_allclose(res.trajectory.params[i], single.params, rtol=1e-11, atol=1e-14)
    assert not np.allclose(res.trajectory.params[0], res.trajectory.params[1])
