"""`dln-theory verify`: a registry of claims, each a theory prediction checked against a simulation.

A claim is a function ``check(quick) -> Outcome`` registered with `claim`; modules of claims are
imported by `all_claims`. ``passed`` is ``error <= tolerance``; every tolerance is justified in
the claim's docstring.

A paper's statement that simulation contradicts is registered with ``refuted=True``: its check
computes the statement's prediction and the simulation as for any claim, and the outcome is as
registered (``passed``) when they disagree beyond the tolerance; the table shows it as REFUTED,
with the numbers, and an agreement would show as FAIL (the refutation no longer holds).

Every claim also declares its *defects*: named plausible mistakes (a wrong sign, a dropped factor,
α instead of α_∞, GR reduced to GD, the P-W convention for P-E, …), each a set of replacements of
names in the claim's module, under which the claim must FAIL. `with_defect` applies one;
``tests/test_claims_negative.py`` runs every (claim, defect) pair, so a claim that no plausible
defect can fail does not stay in the registry.
"""

import contextlib
import json
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from unittest import mock

import numpy as np

from . import quantities

_REGISTRY: dict[str, tuple[str, Callable]] = {}
_REFUTED: set[str] = set()
_DEFECTS: dict[str, dict[str, tuple[str, Mapping]]] = {}
_QUANTITY: dict[str, str] = {}
_MODULES = ("gd", "methods", "derived", "values", "saddle", "shape", "weight_decay", "momentum", "weight_decay_switch", "adaptive", "stochastic", "margins", "sme")


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
    refuted: bool = False
    quantity: str = ""  # what predicted/simulated are, and what the error measures (`quantities`)

    @property
    def agrees(self) -> bool:
        """Whether prediction and simulation agree: a finite error within the tolerance."""
        return bool(math.isfinite(self.error) and self.error <= self.tolerance)

    @property
    def passed(self) -> bool:
        """Whether the outcome is as registered: agreement, or for a refuted statement a finite
        disagreement beyond the tolerance."""
        if self.refuted:
            return bool(math.isfinite(self.error) and self.error > self.tolerance)
        return self.agrees

    @property
    def result(self) -> str:
        """PASS, REFUTED (a refuted statement still disagrees) or FAIL."""
        if not self.passed:
            return "FAIL"
        return "REFUTED" if self.refuted else "PASS"

    def __repr__(self) -> str:
        relation = "≤" if self.agrees else ">"
        quantity = f"; {self.quantity}" if self.quantity else ""
        return (f"Outcome({self.name}: {self.result}, predicted {self.predicted:.6g}, simulated {self.simulated:.6g}, "
                f"error {self.error:.2e} {relation} tolerance {self.tolerance:.2e}{quantity}; {self.source})")


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x: the fitted convergence order of an error."""
    return float(np.polyfit(np.log(np.asarray(x)), np.log(np.asarray(y)), 1)[0])


def claim(name: str, source: str, defects: Mapping[str, Mapping] | None = None, refuted: bool = False,
          quantity: str | None = None):
    """Register ``check(quick) -> (predicted, simulated, error, tolerance[, note])`` under ``name``.

    ``refuted=True`` registers a statement of ``source`` that the simulation contradicts (module
    docstring): the note should say what the paper states and what was measured instead.

    ``defects`` maps a defect's name to the replacements ``{global name: value}`` that plant it
    in the check's module (a function, a method, a constant; a dict value is updated in place,
    key by key). The replaced names must be looked up when the check runs, outside compiled code.

    ``quantity`` says what the predicted and simulated numbers are (default: from
    `dln_theory.verify.quantities`).
    """

    def register(check):
        _REGISTRY[name] = (source, check)
        if refuted:
            _REFUTED.add(name)
        if quantity is not None:
            _QUANTITY[name] = quantity
        _DEFECTS[name] = {label: (check.__module__, dict(changes)) for label, changes in (defects or {}).items()}
        return check

    return register


def defects(name: str) -> tuple[str, ...]:
    """Names of the defects declared for claim ``name``."""
    all_claims()
    return tuple(_DEFECTS[name])


@contextlib.contextmanager
def with_defect(name: str, defect: str):
    """Plant defect ``defect`` of claim ``name`` while the block runs (the claim must then fail)."""
    all_claims()
    module_name, changes = _DEFECTS[name][defect]
    module = sys.modules[module_name]
    with contextlib.ExitStack() as stack:
        for attribute, value in changes.items():
            current = getattr(module, attribute)
            if isinstance(current, dict) and isinstance(value, Mapping):
                stack.enter_context(mock.patch.dict(current, value))
            else:
                stack.enter_context(mock.patch.object(module, attribute, value))
        yield


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
            Outcome(
                name, source, float(predicted), float(simulated), float(error), float(tolerance), *note,
                refuted=name in _REFUTED, quantity=_QUANTITY.get(name) or quantities.quantity(name),
            )
        )
    return outcomes


def format_table(outcomes) -> str:
    """A plain-text table: claim, predicted, simulated, error, tolerance, pass/fail, and the
    quantity that predicted and simulated measure (`quantities`)."""
    width = max(len(o.name) for o in outcomes)
    head = (f"{'claim':<{width}}  {'predicted':>12}  {'simulated':>12}  {'error':>9}  {'tolerance':>9}  "
            f"{'result':<7}  quantity; error")
    rows = [head, "-" * len(head)]
    for o in outcomes:
        rows.append(
            f"{o.name:<{width}}  {o.predicted:>12.6g}  {o.simulated:>12.6g}  {o.error:>9.2e}  "
            f"{o.tolerance:>9.2e}  {o.result:<7}  {o.quantity}".rstrip()
        )
    rows += [f"  {o.name}: {o.note}" for o in outcomes if o.note]
    n_pass = sum(o.passed for o in outcomes)
    n_refuted = sum(o.passed and o.refuted for o in outcomes)
    rows.append(f"{n_pass - n_refuted} passed, {n_refuted} refuted as registered, {len(outcomes) - n_pass} failed")
    return "\n".join(rows)


def to_dataframe(outcomes):
    """The outcomes as a ``pandas.DataFrame`` indexed by claim name, with every field of `Outcome`
    and ``passed`` and ``result`` (``pip install -e '.[xarray]'`` brings pandas)."""
    import pandas as pd

    rows = [{**asdict(o), "passed": o.passed, "result": o.result} for o in outcomes]
    return pd.DataFrame(rows).set_index("name")


def to_json(outcomes) -> str:
    """``{"claims": [{"name", "source", "predicted", "simulated", "error", "tolerance", "note",
    "refuted", "quantity", "passed"}]}``."""
    return json.dumps({"claims": [{**asdict(o), "passed": o.passed} for o in outcomes]}, indent=2)
