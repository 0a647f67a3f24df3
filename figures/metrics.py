"""The numbers each figure check measures, written next to the figure as ``<name>.json``.

A record is ``{"figure", "mode", "passed", "message", "metrics", "provenance"}``: ``metrics``
holds the quantities the check compared (errors, slopes, fractions, counts) under stable names;
``provenance`` is `dln_theory.provenance.stable` of the figure's ``Config`` (package versions,
JAX backend and devices, XLA flags, the Config, its hash and seeds). Floats of the metrics are
rounded to ``DIGITS`` significant digits and keys are sorted, with no timestamps and no git
commit, so regenerating a figure on the same inputs leaves the file byte for byte unchanged;
NaN and ±inf are written as ``null``. The git commit, the source hash and the metrics again go
to the sidecar ``<name>.provenance.json`` (`dln_theory.provenance.record`), which is not
committed. The README's figure table is generated from these files (`dln_theory.figures.readme`).
"""

import json
import math
from pathlib import Path

import numpy as np

DIGITS = 4


def clean(value):
    """``value`` as plain JSON: rounded floats, lists for arrays, ``None`` for NaN/inf."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return float(f"{x:.{DIGITS}g}") if math.isfinite(x) else None
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"metric of type {type(value).__name__} is not JSON: {value!r}")


def record(name: str, quick: bool, passed: bool, message: str, metrics: dict, provenance: dict | None = None) -> dict:
    """The JSON record of one figure check (``provenance`` is stored as given, not rounded)."""
    rec = clean({"figure": name, "mode": "quick" if quick else "full", "passed": bool(passed), "message": message,
                 "metrics": metrics})
    return rec if provenance is None else {**rec, "provenance": provenance}


def dumps(rec: dict) -> str:
    """Deterministic text of a record: sorted keys, two-space indent, trailing newline."""
    return json.dumps(rec, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def save(path, rec: dict) -> Path:
    """Write ``rec`` to ``path`` (only if its text changed, so an unchanged file keeps its mtime)."""
    from dln_theory.provenance import write_text

    return write_text(path, dumps(rec))


def load(folder, name: str) -> dict:
    """The record ``<folder>/<name>.json``."""
    return json.loads((Path(folder) / f"{name}.json").read_text(encoding="utf-8"))
