"""`dln-theory verify`: a registry of claims, each a theory prediction checked against a simulation.

A claim is a function ``check(quick) -> Outcome`` registered with `claim`; modules of claims are
imported by `all_claims`. ``passed`` is ``error <= tolerance``; every tolerance is justified in
the claim's docstring.
"""

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

_REGISTRY: dict[str, tuple[str, Callable]] = {}
_MODULES = ("gd", "methods", "derived")


@dataclass(frozen=True)
class Outcome:
    """One row of the verification table."""

    name: str
    source: str
    predicted: float
    simulated: float
    error: float
    tolerance: float
    note: str = ""

    @property
    def passed(self) -> bool:
        return bool(math.isfinite(self.error) and self.error <= self.tolerance)


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x: the fitted convergence order of an error."""
    return float(np.polyfit(np.log(np.asarray(x)), np.log(np.asarray(y)), 1)[0])


def claim(name: str, source: str):
    """Register ``check(quick) -> (predicted, simulated, error, tolerance[, note])`` under ``name``."""

    def register(check):
        _REGISTRY[name] = (source, check)
        return check

    return register


def all_claims() -> dict[str, tuple[str, Callable]]:
    """Every registered claim, by name."""
    import importlib

    for module in _MODULES:
        importlib.import_module(f"{__name__}.{module}")
    return dict(_REGISTRY)


def run_claims(quick: bool = False, names=None, progress=None) -> list[Outcome]:
    """Evaluate the claims (all, or ``names``) and return their outcomes."""
    from tqdm.auto import tqdm

    claims = all_claims()
    names = list(claims) if not names else list(names)
    unknown = [n for n in names if n not in claims]
    if unknown:
        raise ValueError(f"claim(s) {unknown} are not registered: choose from {sorted(claims)}")
    outcomes = []
    for name in tqdm(names, desc="verify", unit="claim", disable=progress is False or None):
        source, check = claims[name]
        predicted, simulated, error, tolerance, *note = check(quick)
        outcomes.append(
            Outcome(name, source, float(predicted), float(simulated), float(error), float(tolerance), *note)
        )
    return outcomes


def format_table(outcomes) -> str:
    """A plain-text table: claim, predicted, simulated, error, tolerance, pass/fail."""
    width = max(len(o.name) for o in outcomes)
    head = f"{'claim':<{width}}  {'predicted':>12}  {'simulated':>12}  {'error':>9}  {'tolerance':>9}  result"
    rows = [head, "-" * len(head)]
    for o in outcomes:
        rows.append(
            f"{o.name:<{width}}  {o.predicted:>12.6g}  {o.simulated:>12.6g}  {o.error:>9.2e}  "
            f"{o.tolerance:>9.2e}  {'PASS' if o.passed else 'FAIL'}"
        )
    rows += [f"  {o.name}: {o.note}" for o in outcomes if o.note]
    n_pass = sum(o.passed for o in outcomes)
    rows.append(f"{n_pass} passed, {len(outcomes) - n_pass} failed")
    return "\n".join(rows)


def to_json(outcomes) -> str:
    """``{"claims": [{"name", "source", "predicted", "simulated", "error", "tolerance", "passed"}]}``."""
    return json.dumps({"claims": [{**asdict(o), "passed": o.passed} for o in outcomes]}, indent=2)
