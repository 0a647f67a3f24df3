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
