"""Every public entry point refuses bad input before any JAX tracing or compilation.

One table: (callable, keyword arguments, exception type, regex). The regex names the parameter
and what is allowed; each row also runs with JAX's caches cleared and JAX's compilation log
captured, so a check placed after the work (a traceback from inside JAX, or a silent NaN) fails
the row. The first rows are the defects reported in issue [8].
"""

import logging
import re

import jax
import numpy as np
import pytest

import dln_theory as dt
from dln_theory.sweep import sweep
from dln_theory.theory import interpolators as ip
from dln_theory.theory import potentials as pot

RNG = np.random.default_rng(0)
N, D = 5, 8
X0 = RNG.standard_normal((N, D))
Y0 = X0 @ np.where(np.arange(D) < 2, 1.0, 0.0)
P = dt.from_data(X0, Y0)
GD = dt.GD(0.1)
SPEC = dt.SparseRegression(n=N, d=D, k=1)


def with_nan(a, index=0):
    a = np.array(a, dtype=float)
    a.flat[index] = np.nan
    return a


def simulate(**kwargs):
    base = dict(method=GD, model=dt.PE(), problem=P, alpha=0.1, n_steps=10)
    return dt.simulate(**{**base, **kwargs})


def sweep_(**kwargs):
    base = dict(method=GD, model=dt.PE(), problem=P, grid={"eta": [0.1, 0.2]}, n_steps=10,
                alpha=0.1, cache=False, progress=False)
    return sweep(**{**base, **kwargs})


def problem(**kwargs):
    return dt.Problem(**{"X": X0, "y": Y0, **kwargs})


def from_data(**kwargs):
    return dt.from_data(**{"X": X0, "y": Y0, **kwargs})


def spec(**kwargs):
    return dt.SparseRegression(**{"n": N, "d": D, "k": 1, **kwargs})


def interpolant(**kwargs):
    return ip.min_potential_interpolant(**{"X": X0, "y": Y0, "alpha": 0.1, **kwargs})


def min_l1(**kwargs):
    return ip.min_l1_interpolant(**{"X": X0, "y": Y0, **kwargs})


def min_l2(**kwargs):
    return ip.min_l2_interpolant(**{"X": X0, "y": Y0, **kwargs})


def entropy(**kwargs):
    return pot.hyperbolic_entropy(**{"beta": np.ones(D), "alpha": 0.1, **kwargs})


def woodworth(**kwargs):
    return pot.woodworth_q(**{"beta": np.ones(D), "alpha": 0.1, **kwargs})


def depth_potential(**kwargs):
    return pot.depth_potential(**{"beta": np.ones(D), "alpha": 0.1, "depth": 3, **kwargs})


def depth_link(**kwargs):
    return pot.depth_link(**{"z": np.zeros(3), "depth": 3, **kwargs})


def depth_link_inverse(**kwargs):
    return pot.depth_link_inverse(**{"b": np.zeros(3), "depth": 3, **kwargs})


# ValueError: a wrong value. TypeError: a wrong kind of value; it is also a ValueError (one
# ``except ValueError`` catches every input error).
V, T = ValueError, TypeError
CASES = [
    # --- the defects of issue [8] -----------------------------------------------------------------
    (sweep_, dict(grid={}), V,
     r"grid=\{\} is not allowed: a sweep needs at least one axis.*simulate"),
    (simulate, dict(method=dt.GD(eta=np.array([0.1, 0.2]))), V,
     r"^eta has shape \(2,\): eta of GD must be a scalar"),
    (sweep_, dict(method=dt.GD(eta=np.array([0.1, 0.2]))), V,
     r"^eta has shape \(2,\).*grid=\{'eta'"),
    (problem, dict(y=Y0[:4]), V, r"^y has shape \(4,\): y must have shape \(n,\) = \(5,\)"),
    (simulate, dict(params0=np.ones((2, 5))), V,
     r"^params0 has shape \(2, 5\): params0 must have shape \(2, d\) = \(2, 8\)"),
    (simulate, dict(params0=np.ones((3, D))), V,
     r"^params0 has shape \(3, 8\): params0 must have shape \(2, d\)"),
    (problem, dict(X=with_nan(X0, 1 * D + 2)), V,
     r"^X contains 1 NaN and 0 infinite entries \(first at index \(1, 2\)\)"),
    (interpolant, dict(y=with_nan(Y0)), V, r"^y contains 1 NaN .*: y must be finite"),
    (problem, dict(X=X0 + 1j), T, r"^X has dtype complex128: X must be real"),
    (from_data, dict(X=X0 + 1j), T, r"^X has dtype complex128: X must be real"),
    (interpolant, dict(X=X0 + 1j), T, r"^X has dtype complex128: X must be real"),
    # --- simulate ---------------------------------------------------------------------------------
    (simulate, dict(n_steps=0), V, r"^n_steps=0 is not allowed: n_steps must be an integer >= 1"),
    (simulate, dict(n_steps=10.5), T, r"^n_steps=10.5 is not allowed: .*integer.*not float"),
    (simulate, dict(n_steps=np.float64(10)), T, r"^n_steps=.*10.* is not allowed: .*integer"),
    (simulate, dict(n_steps=True), T, r"^n_steps=True is not allowed"),
    (simulate, dict(save_every=3), V, r"^save_every=3 is not allowed: it must divide n_steps=10"),
    (simulate, dict(save_every=0), V, r"^save_every=0 is not allowed"),
    (simulate, dict(save_every=2.0), T, r"^save_every=2.0 is not allowed"),
    (simulate, dict(alpha=0.0), V, r"^alpha=0.0 is not allowed: alpha must be finite and > 0"),
    (simulate, dict(alpha=-0.1), V, r"^alpha=-0.1 is not allowed"),
    (simulate, dict(alpha=np.nan), V, r"^alpha=nan is not allowed"),
    (simulate, dict(alpha=np.inf), V, r"^alpha=inf is not allowed"),
    (simulate, dict(alpha=np.ones(3)), V,
     r"^alpha has shape \(3,\): alpha must be a scalar or of shape \(d,\) = \(8,\)"),
    (simulate, dict(alpha=0.1 + 0j), T, r"^alpha has dtype complex128: alpha must be real"),
    (simulate, dict(alpha="0.1"), T, r"^alpha has dtype <U3: alpha must be real"),
    (simulate, dict(params0=with_nan(np.ones((2, D)))), V, r"^params0 contains 1 NaN"),
    (simulate, dict(params0=np.ones((2, D)) + 0j), T, r"^params0 has dtype complex128"),
    (simulate, dict(params0=[[1.0, 2.0], [3.0]]), T, r"^params0 is a ragged sequence"),
    (simulate, dict(loss_tol=-1.0), V,
     r"^loss_tol=-1.0 is not allowed: loss_tol must be finite and >= 0"),
    (simulate, dict(loss_tol=np.zeros(2)), V,
     r"^loss_tol has shape \(2,\): loss_tol must be a scalar"),
    (simulate, dict(divergence_bound=0.0), V, r"^divergence_bound=0.0 is not allowed"),
    (simulate, dict(precision="float16"), V, r"^precision='float16' is not allowed: choose one of"),
    (simulate, dict(method="adam"), V, r"^method='adam' is not allowed: pass a dln_theory method"),
    (simulate, dict(model="PE"), V, r"^model='PE' is not allowed: pass a parametrization"),
    (simulate, dict(problem=SPEC), V,
     r"^problem=SparseRegression.* is not allowed: pass a Problem"),
    (simulate, dict(method=dt.GR(0.1, gamma=np.array([0.1, 0.2]))), V,
     r"^gamma has shape \(2,\): gamma of GR must be a scalar"),
    (simulate, dict(method=dt.SGD(0.1, batch_size=9)), V, r"batch_size=9"),
    # --- sweep ------------------------------------------------------------------------------------
    (sweep_, dict(grid=[0.1, 0.2]), T, r"^grid=\[0.1, 0.2\] is not allowed: grid must be a dict"),
    (sweep_, dict(grid={"eta": []}), V,
     r"^grid axis 'eta' has shape \(0,\): it must be a non-empty 1-D list"),
    (sweep_, dict(grid={"eta": [[0.1, 0.2]]}), V, r"^grid axis 'eta' has shape \(1, 2\)"),
    (sweep_, dict(grid={"alpha": [0.1, -1.0]}), V,
     r"^alpha=.* is not allowed: alpha must be finite and > 0"),
    (sweep_, dict(grid={"gamma": [0.1]}), V,
     r"^grid axis 'gamma' is not allowed for GD: choose from"),
    (sweep_, dict(grid={"seed": [0.5]}), V,
     r"^grid axis 'seed'=.* is not allowed: seeds must be integers"),
    (sweep_, dict(alpha=None), V,
     r"^alpha=None is not allowed: give alpha=\.\.\. or a grid axis 'alpha'"),
    (sweep_, dict(n_steps=np.float64(10)), T, r"^n_steps=.* is not allowed: .*integer"),
    (sweep_, dict(chunk_size=0), V, r"^chunk_size=0 is not allowed"),
    (sweep_, dict(model="PW"), V, r"^model='PW' is not allowed"),
    # --- Problem and from_data --------------------------------------------------------------------
    (problem, dict(y=Y0[:, None]), V, r"^y has shape \(5, 1\): y must have shape \(n,\) = \(5,\)"),
    (problem, dict(X=X0[0]), V, r"^X has shape \(8,\): X must be an array of shape \(n, d\)"),
    (problem, dict(X=np.ones((0, D)), y=np.ones(0)), V, r"^X has shape \(0, 8\): .*n, d >= 1"),
    (problem, dict(y=np.where(np.arange(N) == 3, np.inf, Y0)), V,
     r"^y contains 0 NaN and 1 infinite entries \(first at index \(3,\)\)"),
    (problem, dict(y=Y0.astype(str)), T, r"^y has dtype <U\d+: y must be real"),
    (problem, dict(beta_star=np.ones(3)), V,
     r"^beta_star has shape \(3,\): beta_star must have shape \(d,\) = \(8,\)"),
    (problem, dict(beta_star=with_nan(np.ones(D))), V, r"^beta_star contains 1 NaN"),
    (problem, dict(X_test=X0), V,
     r"^X_test was given alone: X_test and y_test must be given together"),
    (problem, dict(X_test=X0[:, :3], y_test=Y0), V,
     r"^X_test has shape \(5, 3\): X_test must have shape \(m, d\) = \(m, 8\)"),
    (problem, dict(X_test=X0, y_test=Y0[:2]), V,
     r"^y_test has shape \(2,\): y_test must have shape \(m,\) = \(5,\)"),
    (from_data, dict(X=[[1.0, 2.0], [3.0]]), T, r"^X is a ragged sequence"),
    (from_data, dict(X=X0[None], y=Y0[None]), V,
     r"^X has shape \(1, 5, 8\): X must be a 2-D array"),
    (from_data, dict(y=with_nan(Y0)), V, r"^y contains 1 NaN"),
    (from_data, dict(X=X0.astype(object)), T, r"^X has dtype object: X must be real"),
    # --- SparseRegression -------------------------------------------------------------------------
    (spec, dict(n=0), V, r"^n=0 is not allowed: n must be an integer >= 1"),
    (spec, dict(d=8.0), T, r"^d=8.0 is not allowed: d must be an integer"),
    (spec, dict(k=9), V, r"^k=9 is not allowed: the number of nonzeros must be <= d=8"),
    (spec, dict(sigma=-0.1), V, r"^sigma=-0.1 is not allowed: sigma must be finite and >= 0"),
    (spec, dict(sigma=[0.1, 0.2]), V, r"^sigma has shape \(2,\): sigma must be a scalar"),
    (spec, dict(n_test=-1), V, r"^n_test=-1 is not allowed"),
    (spec, dict(beta_dist="laplace"), V, r"^beta_dist='laplace' is not allowed: choose one of"),
    # --- models -----------------------------------------------------------------------------------
    (dt.PW, dict(depth=1), V, r"^depth=1 is not allowed: depth must be an integer >= 2"),
    (dt.PW, dict(depth=2.5), T, r"^depth=2.5 is not allowed"),
    (dt.PW, dict(depth="3"), T, r"^depth='3' is not allowed"),
    (dt.PE, dict(u_shape=np.nan), V, r"^u_shape=nan is not allowed: u_shape must be finite"),
    (dt.PE(u_shape=np.ones(3)).init, dict(alpha=0.1, d=D), V,
     r"^u_shape has shape \(3,\): u_shape must be a scalar or of shape \(d,\) = \(8,\)"),
    (dt.make_model, dict(parametrization="XY"), V,
     r"^parametrization='XY' is not allowed: choose one of \['PE', 'PW'\]"),
    (dt.make_model, dict(parametrization="PE", depth=3), V,
     r"^depth=3 is not allowed for parametrization 'PE'"),
    (dt.PW(3).alpha_e2, dict(alpha=0.1), V,
     r"^depth=3 is not allowed here: a P-E equivalent exists at depth 2 only"),
    # --- interpolants -----------------------------------------------------------------------------
    (interpolant, dict(model="PE"), T,
     r"^model='PE' is not allowed: pass a parametrization object, PE\(\) or PW\(depth\)"),
    (interpolant, dict(X=X0[0]), V,
     r"^X has shape \(8,\): X must be a 2-D array of shape \(n, d\)"),
    (interpolant, dict(y=Y0[:3]), V,
     r"^y has shape \(3,\): y must have shape \(n,\) = \(5,\) to match X"),
    (interpolant, dict(X=X0.T[:, :3], y=np.ones(8)), V,
     r"^X has shape \(8, 3\): an interpolant of this potential needs n <= d"),
    (interpolant, dict(alpha=0.0), V, r"^alpha=0.0 is not allowed"),
    (interpolant, dict(alpha=np.ones(3)), V, r"^alpha has shape \(3,\)"),
    (interpolant, dict(model=dt.PW(3), z0=np.zeros(D)), V, r"^z0 is not allowed at depth=3"),
    (interpolant, dict(z0=np.zeros(3)), V,
     r"^z0 has shape \(3,\): z0 must be a scalar or of shape \(d,\) = \(8,\)"),
    (interpolant, dict(z0=with_nan(np.zeros(D))), V, r"^z0 contains 1 NaN"),
    (interpolant, dict(tol=0.0), V, r"^tol=0.0 is not allowed: tol must be finite and > 0"),
    (interpolant, dict(tol=np.array([1e-12, 1e-10])), V,
     r"^tol has shape \(2,\): tol must be a scalar"),
    (interpolant, dict(max_iter=0), V, r"^max_iter=0 is not allowed"),
    (interpolant, dict(max_iter=10.5), T, r"^max_iter=10.5 is not allowed"),
    (interpolant, dict(full_output="yes"), T,
     r"^full_output='yes' is not allowed: full_output must be True or False"),
    (min_l1, dict(X=with_nan(X0)), V, r"^X contains 1 NaN"),
    (min_l1, dict(y=Y0[:3]), V, r"^y has shape \(3,\)"),
    (min_l2, dict(y=np.where(np.arange(N) == 0, -np.inf, Y0)), V,
     r"^y contains 0 NaN and 1 infinite"),
    (min_l2, dict(X=X0 + 1j), T, r"^X has dtype complex128"),
    # --- potentials -------------------------------------------------------------------------------
    (entropy, dict(beta=with_nan(np.ones(D))), V, r"^beta contains 1 NaN"),
    (entropy, dict(alpha=0.0), V, r"^alpha=0.0 is not allowed"),
    (entropy, dict(alpha=np.ones(3)), V,
     r"^alpha has shape \(3,\): alpha must be a scalar or broadcast against beta"),
    (woodworth, dict(alpha=0.1j), T, r"^alpha has dtype complex128"),
    (woodworth, dict(beta=np.ones(D) + 0j), T, r"^beta has dtype complex128"),
    (depth_potential, dict(depth=2), V, r"^depth=2 is not allowed: depth must be an integer >= 3"),
    (depth_potential, dict(alpha=-1.0), V, r"^alpha=-1.0 is not allowed"),
    (depth_link, dict(z=np.array([0.5, 1.5])), V,
     r"^z=.* is not allowed: z must lie in \(-1.0, 1.0\)"),
    (depth_link, dict(depth=3.0), T, r"^depth=3.0 is not allowed"),
    (depth_link_inverse, dict(b=with_nan(np.zeros(3))), V, r"^b contains 1 NaN"),
]

# JAX logs every program it compiles ("Compiling jit(NAME) ..."). Holding a value as a JAX array
# (jnp.asarray: the one-primitive programs `stage` and `convert_element_type`) is not work; any
# other program compiled before a refusal is.
_CONVERSIONS = {"stage", "convert_element_type"}


class _CompileLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.names = []

    def emit(self, record):
        match = re.match(r"Compiling jit\((.*?)\) with", record.getMessage())
        if match:
            self.names.append(match.group(1))


def _jax_work(call):
    """Run ``call`` with empty JAX caches; return (its exception or None, programs it compiled)."""
    jax.clear_caches()
    log, logger = _CompileLog(), logging.getLogger("jax")
    logger.addHandler(log)
    try:
        with jax.log_compiles(True):
            call()
        error = None
    except Exception as e:  # noqa: BLE001  the caller checks the type
        error = e
    finally:
        logger.removeHandler(log)
    return error, [name for name in log.names if name not in _CONVERSIONS]


def _case_id(case):
    fn, kwargs, *_ = case
    name = getattr(fn, "__name__", type(fn).__name__).rstrip("_")
    return f"{name}-{'-'.join(kwargs)}"


@pytest.mark.parametrize("fn, kwargs, kind, message", CASES, ids=[_case_id(c) for c in CASES])
def test_refused_before_any_jax_work(fn, kwargs, kind, message):
    error, programs = _jax_work(lambda: fn(**kwargs))
    assert error is not None, "accepted"
    assert isinstance(error, ValueError), repr(error)
    assert isinstance(error, TypeError) == (kind is TypeError), repr(error)
    with pytest.raises(kind, match=message):
        raise error
    assert programs == [], f"refused only after JAX compiled {programs}"


def test_table_covers_the_issue_and_thirty_more():
    assert len(CASES) >= 11 + 30


@pytest.mark.negative
def test_event_detector_sees_compilation_of_a_valid_call():
    """Negative control: with empty caches a valid call compiles (else the table proves nothing)."""
    error, programs = _jax_work(lambda: simulate(n_steps=2))
    assert error is None and len(programs) > 0, programs


# --- NumPy integers are Python integers -----------------------------------------------------------


def test_numpy_integers_accepted_and_bit_identical():
    ref = simulate(n_steps=20, save_every=5)
    got = simulate(n_steps=np.int64(20), save_every=np.int32(5))
    for name in ("beta", "loss", "t", "params"):
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name))
    assert int(got.steps) == 20

    assert dt.PW(np.int64(3)) == dt.PW(3) and type(dt.PW(np.int64(3)).depth) is int
    assert dt.make_model("PW", np.int16(3)) == dt.PW(3)
    spec64 = dt.SparseRegression(n=np.int64(N), d=np.int64(D), k=np.int64(1), n_test=np.uint8(4))
    assert spec64 == dt.SparseRegression(n=N, d=D, k=1, n_test=4) and type(spec64.n) is int
    np.testing.assert_array_equal(
        ip.min_potential_interpolant(X0, Y0, 0.1, max_iter=np.int64(500)),
        ip.min_potential_interpolant(X0, Y0, 0.1),
    )
    q = pot.depth_potential(np.ones(3), 0.1, np.int64(3))
    np.testing.assert_array_equal(q, pot.depth_potential(np.ones(3), 0.1, 3))


def test_sweep_accepts_numpy_integers():
    ref = sweep_(n_steps=10, grid={"seed": np.arange(2)})
    got = sweep_(n_steps=np.int64(10), grid={"seed": np.arange(2)})
    np.testing.assert_array_equal(got.trajectory.beta, ref.trajectory.beta)


# --- parametrizations are objects; the α_E/α_W convention lives in Model.alpha_e2 -----------------


def test_alpha_convention_is_the_models():
    """α_E = √2·α_W at depth 2 (u = w₊ + w₋ = 2α_W = √2·α_E): PE gives α², PW(2) gives 2α²."""
    alpha = np.array([0.3, 2.0])
    np.testing.assert_array_equal(dt.PE().alpha_e2(alpha), alpha**2)
    np.testing.assert_array_equal(dt.PW(2).alpha_e2(alpha), 2 * alpha**2)
    # The same network: P-W at α_W and P-E at √2α_W start from the same β = 0 with u = w₊ + w₋.
    w = dt.PW(2).init(alpha, 2)
    u = dt.PE().init(np.sqrt(dt.PW(2).alpha_e2(alpha)), 2)[0]
    np.testing.assert_allclose(w[0] + w[1], u, rtol=1e-15)
