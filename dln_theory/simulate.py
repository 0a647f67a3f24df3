"""simulate(): one run of a method on a diagonal linear network, as a `Run` value computed.

The computation (a while-loop over save points around a loop over steps, O(saves) memory, per
configuration freezing at divergence or convergence, compiled segments so that Ctrl-C stops it)
is described in `dln_theory.run`.
"""

import dataclasses

import jax.numpy as jnp
import numpy as np

from . import _validate
from .dynamics import Method
from .models import Model, check_alpha
from .objective import Objective
from .problems import Problem
from .run import Run, Trajectory, advance, begin, execute, finish


def default_save_every(n_steps: int, max_saves: int = 100) -> int:
    """The smallest save interval that divides ``n_steps`` into at most ``max_saves`` blocks."""
    return next(s for s in range(1, n_steps + 1) if n_steps % s == 0 and n_steps // s <= max_saves)


def check_run_arguments(n_steps, save_every, loss_tol, divergence_bound) -> int:
    """Validate the run length arguments; return the save interval."""
    _validate.integer_at_least("n_steps", n_steps, 1)
    save_every = default_save_every(n_steps) if save_every is None else save_every
    _validate.integer_at_least("save_every", save_every, 1)
    if n_steps % save_every:
        raise ValueError(f"save_every={save_every} is not allowed: it must divide n_steps={n_steps}")
    _validate.nonnegative("loss_tol", loss_tol)
    _validate.positive("divergence_bound", divergence_bound)
    return save_every


def use_gram(gram, n: int, d: int) -> bool:
    """Whether to precompute XᵀX: as asked, else when n > d (where it is the cheaper form)."""
    return n > d if gram is None else bool(gram)


def check_precision(precision: str):
    """The JAX dtype for ``"float64"`` or ``"float32"``."""
    _validate.one_of("precision", precision, ("float64", "float32"))
    return jnp.dtype(precision)


def check_inputs(method, model, problem, problem_types=(Problem,)) -> None:
    """Type checks shared by `simulate` and `sweep`."""
    if not isinstance(method, Method):
        raise ValueError(f"method={method!r} is not allowed: pass a dln_theory method such as GD(eta=0.1)")
    _validate.scalar_leaves(method)
    if not isinstance(model, Model):
        raise ValueError(f"model={model!r} is not allowed: pass a parametrization, PE() or PW(depth)")
    if not isinstance(problem, problem_types):
        allowed = " or ".join(t.__name__ for t in problem_types)
        raise ValueError(f"problem={problem!r} is not allowed: pass a {allowed} (see dln_theory.problems)")


def simulate(
    method: Method,
    model: Model,
    problem: Problem,
    alpha,
    n_steps: int,
    save_every: int | None = None,
    *,
    key=0,
    params0=None,
    loss_tol: float = 0.0,
    divergence_bound: float = 1e8,
    precision: str = "float64",
    gram: bool | None = None,
) -> Trajectory:
    """Run ``method`` on the DLN ``model`` fitted to ``problem`` for ``n_steps`` steps.

    Args:
        method: a method (GD, GradientFlow, …); its hyper-parameters are traced, not static.
        model: PE() or PW(depth).
        problem: training data (and optionally β* and a test set).
        alpha: initialization scale α, scalar or per coordinate (ignored when ``params0`` given).
        n_steps: number of steps; time T = n_steps·η for a constant step.
        save_every: steps between saves (must divide n_steps; default: at most 100 saves).
        key: PRNG seed or key for stochastic methods.
        params0: explicit initial parameters (2, d), overriding ``model.init(alpha)``.
        loss_tol: freeze the run once the training loss at a save point is below this.
        divergence_bound: reject steps with a non-finite entry or one above this bound.
        precision: ``"float64"`` (default) or ``"float32"`` (faster; iterates then agree with
            float64 to about 1e-6 relative, so the 1e-12 identities no longer resolve).
        gram: full-batch gradients through K = XᵀX/n (O(d²) per step instead of O(nd));
            default: when n > d.
    """
    n_steps, save_every = _validate.run_length(n_steps, save_every, loss_tol, divergence_bound)
    check_inputs(method, model, problem)
    check_alpha(alpha, problem.d)
    save_every = check_run_arguments(n_steps, save_every, loss_tol, divergence_bound)
    params0 = None if params0 is None else _validate.params0(params0, problem.d)
    check_precision(precision)
    gram = use_gram(gram, problem.n, problem.d)
    objective = Objective(model, problem.X, problem.y)
    method.check_objective(objective.with_gram() if gram else objective)
    run = Run(method, model, problem, alpha, n_steps, save_every, seed=key, params0=params0, loss_tol=loss_tol,
              divergence_bound=divergence_bound, precision=precision, gram=gram)
    out = execute(run, {})
    return Trajectory(**{f.name: jnp.asarray(out[f.name][0]) for f in dataclasses.fields(Trajectory)})


def run(method, objective, params0, key, loss_tol, divergence_bound, n_blocks: int, save_every: int) -> Trajectory:
    """A whole run of one configuration as one traceable function (`simulate` runs the same
    steps in compiled segments): ``n_blocks`` save blocks of ``save_every`` steps from ``params0``."""
    progress = begin(method, objective, params0, key, n_blocks + 1)
    reached, progress = advance(method, objective, progress, 0, n_blocks * save_every, save_every, loss_tol,
                                divergence_bound)
    return finish(objective, progress, reached, save_every)
