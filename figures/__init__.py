"""Figures: one script per figure, a registry, and `run` (the `dln-theory figures` command).

Every figure module ``figures/<name>.py`` has a frozen dataclass ``Config`` (``FULL`` and
``QUICK`` instances), ``compute(config, cache_dir=None) -> results`` (sweeps cached on disk, so
a second run only replots), ``plot(results) -> Figure``, ``check(results) -> (passed, message,
metrics)`` (a quantitative theory-vs-simulation check and the numbers it compared) and
``main(quick=False, out=None, cache_dir=None)``. `render` writes the figure as PNG and PDF, the
check and the stable provenance as ``<name>.json`` next to it (`dln_theory.figures.metrics`), and
the full provenance (git commit, source hash, versions, seeds, inputs hash, metrics) as the
sidecar ``<name>.provenance.json`` (`dln_theory.provenance`); the README's figure table is
generated from the ``<name>.json`` files (`dln_theory.figures.readme`).

    from dln_theory.figures import run
    run(["kernel_rich"], quick=True, out="/tmp/figs")
"""

import ast
import dataclasses
import importlib
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

#: Figure names in presentation order.
NAMES = (
    "kernel_rich",
    "depth",
    "modified_flow",
    "step_size",
    "gr_bias",
    "sam",
    "phase",
    "flooding",
    "deepnet",
    "saddle_to_saddle",
    "momentum",
    "weight_decay",
    "init_shape",
    "margins",
    "sde",
)

#: Default output folder of full runs, relative to the current working directory: run at the
#: repository root, `dln-theory figures all` regenerates the committed figures.
FIGURE_DIR = Path("figures")


class _Registry(Mapping):
    """name → figure module, imported on first access (a broken figure does not break the rest)."""

    def __getitem__(self, name):
        if name not in NAMES:
            raise KeyError(name)
        return importlib.import_module(f"{__name__}.{name}")

    def __iter__(self):
        return iter(NAMES)

    def __len__(self):
        return len(NAMES)


FIGURES: Mapping = _Registry()


def list_figures() -> list[str]:
    """Names of the registered figures, in order."""
    return list(NAMES)


def default_out(quick: bool) -> Path:
    """``./figures/`` for full runs (at the repository root: the committed PNGs and PDFs); a fresh
    temporary folder for quick runs."""
    return FIGURE_DIR if not quick else Path(tempfile.mkdtemp(prefix="dln-figures-quick-"))


def configure(name: str, quick: bool = False, overrides: Mapping[str, object] | None = None):
    """The ``Config`` of figure ``name`` (``QUICK`` or ``FULL``) with ``overrides`` {field: value}.

    A value given as a string (from the command line's ``--set KEY=VALUE``) is read as a Python
    literal and converted to the type of the field's current value (int, float, bool, str or a
    tuple of them, element by element when the length is kept). Unknown fields and values of the wrong kind raise ValueError, before any work.
    """
    config = FIGURES[name].QUICK if quick else FIGURES[name].FULL
    if not overrides:
        return config
    current = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    changes = {}
    for key, value in overrides.items():
        if key not in current:
            raise ValueError(f"--set {key}=...: figure {name!r} has no parameter {key!r}; it has {sorted(current)}")
        changes[key] = _coerce(f"--set {key}={value}", value, current[key])
    return dataclasses.replace(config, **changes)


def _coerce(label: str, value, like):
    """``value`` (a string is read as a Python literal) as the type of ``like``."""
    if isinstance(value, str) and not isinstance(like, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise ValueError(f"{label} is not allowed: give a Python literal like {like!r}") from None
    if isinstance(like, tuple):
        if not isinstance(value, (tuple, list)):
            raise ValueError(f"{label} is not allowed: give a tuple like {like!r}")
        if len(value) == len(like):  # element by element, e.g. (start, stop, count)
            return tuple(_coerce(label, v, w) for v, w in zip(value, like))
        return tuple(value)
    if isinstance(like, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{label} is not allowed: give True or False")
        return value
    if isinstance(like, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise ValueError(f"{label} is not allowed: give an integer like {like!r}")
        return int(value)
    if isinstance(like, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{label} is not allowed: give a number like {like!r}")
        return float(value)
    if like is None or isinstance(value, type(like)):
        return value
    raise ValueError(f"{label} is not allowed: give a value like {like!r}")


def render(name: str, quick: bool = False, out=None, cache_dir=None,
           overrides: Mapping[str, object] | None = None) -> tuple[bool, str, list[Path]]:
    """Compute, plot, save and check one figure; return (passed, check message, written paths).

    ``overrides`` change fields of its ``Config`` (`configure`).

    The written paths are the PNG, the PDF and the check's metrics ``<name>.json``; the provenance
    sidecar is written too, at `dln_theory.provenance.sidecar_path` of the last.
    """
    from dln_theory import plotting, provenance

    from . import metrics

    module = FIGURES[name]
    config = configure(name, quick, overrides)
    results = module.compute(config, cache_dir=cache_dir)
    folder = Path(out if out is not None else default_out(quick))
    with plotting.style():
        paths = plotting.save(module.plot(results), folder / name)
    passed, message, values = module.check(results)
    rec = metrics.record(name, quick, passed, message, values, provenance.stable(config))
    paths.append(metrics.save(folder / f"{name}.json", rec))
    provenance.write(provenance.sidecar_path(paths[-1]), provenance.record(config, rec["metrics"]))
    return bool(passed), message, paths


def run(names=None, quick: bool = False, out=None, cache_dir=None, stream=None,
        overrides: Mapping[str, object] | None = None) -> int:
    """Render figures ``names`` (default: all) into ``out``; return 0 if every check passed, else 1.

    Prints a progress line before each figure, its check line after it, and where its metrics
    ``<name>.json`` and provenance sidecar ``<name>.provenance.json`` are. ``out`` defaults to
    the ``figures/`` folder for full runs and to a temporary folder (printed) for quick runs.
    ``cache_dir`` is the sweep cache (default: `dln_theory.cache.root_dir()`). ``overrides``
    {field: value} change each figure's ``Config`` (`configure`); they are checked for every
    figure before the first one is computed.
    """
    from dln_theory import provenance

    stream = stream or sys.stdout
    names = list_figures() if not names or list(names) == ["all"] else list(names)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ValueError(f"figure(s) {unknown} are not registered: choose from {list(NAMES)}")
    for name in names:
        configure(name, quick, overrides)
    out = Path(out) if out is not None else default_out(quick)
    failed = 0
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name}{' (quick)' if quick else ''} ...", file=stream, flush=True)
        start = time.perf_counter()
        try:
            passed, message, paths = render(name, quick=quick, out=out, cache_dir=cache_dir, overrides=overrides)
        except Exception as err:  # one failing figure must not stop the others
            passed, message, paths = False, f"error: {type(err).__name__}: {err}", []
        elapsed = time.perf_counter() - start
        status = "PASS" if passed else "FAIL"
        where = f" -> {paths[0]}" if paths else ""
        print(f"    {status} {name} ({elapsed:.1f} s): {message}{where}", file=stream, flush=True)
        if paths:
            print(f"    metrics {paths[-1]}, provenance {provenance.sidecar_path(paths[-1])}", file=stream, flush=True)
        failed += not passed
    return 0 if failed == 0 else 1
