"""Provenance of a result: which code, libraries, machine settings, seeds and inputs produced it.

A provenance record is a JSON object (showyourwork records the same facts for a paper's figures):

- ``git``: ``{"commit", "dirty"}`` of the checkout the package runs from (``dirty``: tracked files
  differ from the commit); both ``None`` outside a git checkout (an installed wheel);
- ``source_hash``: SHA-256 of every source file of the package (`dln_theory._cache.source_hash`),
  which identifies the code even without git;
- ``packages``: versions of Python and of the numerical libraries (`PACKAGES`, those installed);
- ``jax``: default backend, device count and kinds, x64 flag; ``xla_flags``: ``$XLA_FLAGS``;
- ``inputs_hash``: SHA-256 of the inputs (a figure's ``Config``, a sweep's run and grid) by
  `dln_theory._cache.fingerprint_of`, and ``seeds``: every input field whose name has ``seed``;
- ``metrics``: the numbers a check compared, when there is a check.

`stable` is the part that depends only on the inputs and the environment (packages, JAX,
XLA flags, inputs, seeds), so a committed file that holds it (``figures/NAME.json``) stays byte
for byte the same when an unchanged tree is rerun. `record` adds ``git``, ``source_hash`` and
``metrics``; ``git`` changes with every commit, so `record` goes to sidecar files that are not
committed (`sidecar_path`: ``NAME.provenance.json``; the sweep cache's ``meta.json``).
"""

import dataclasses
import functools
import importlib.metadata
import json
import math
import os
import platform
import subprocess
from pathlib import Path

#: Distributions whose versions are recorded (when installed).
PACKAGES = ("dln-theory", "jax", "jaxlib", "numpy", "scipy", "sympy", "equinox", "diffrax", "optax", "matplotlib")
SUFFIX = ".provenance.json"


def sidecar_path(path) -> Path:
    """``NAME.provenance.json`` next to ``NAME.json`` (the last suffix is replaced)."""
    return Path(path).with_suffix(SUFFIX)


@functools.cache
def git_state(folder=None) -> dict:
    """``{"commit": 40 hex digits, "dirty": bool}`` of the git checkout whose tracked files hold
    ``folder`` (default: this package's source), or both ``None`` when git is missing or the folder
    is not tracked (an installed wheel, even in a virtual environment inside a checkout)."""
    folder = Path(folder) if folder is not None else Path(__file__).resolve().parent

    def git(*args):
        return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30,
                              check=True).stdout.strip()

    try:
        git("ls-files", "--error-unmatch", "--", next(folder.glob("*.py")).name)
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, StopIteration, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def packages() -> dict:
    """``{name: version}`` of Python and of every installed distribution of `PACKAGES`."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def jax_environment() -> dict:
    """``{"backend", "device_count", "device_kinds", "x64"}`` of the running JAX."""
    import jax

    devices = jax.devices()
    return {"backend": jax.default_backend(), "device_count": len(devices),
            "device_kinds": sorted({d.device_kind for d in devices}), "x64": bool(jax.config.jax_enable_x64)}


def _plain(value):
    """``value`` as JSON-ready data: dataclasses and mappings field by field, arrays as lists,
    anything else that JSON has no type for by its ``repr``."""
    import numpy as np

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no inf/nan
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def seeds(inputs) -> dict:
    """Every field of ``inputs`` (a dataclass or mapping, searched into nested ones: a sweep's
    ``axes``) whose name contains ``seed``, by dotted name."""

    def find(fields, prefix):
        for key, value in fields.items():
            if "seed" in key:
                yield prefix + key, value
            elif isinstance(value, dict):
                yield from find(value, f"{prefix}{key}.")

    fields = _plain(inputs)
    return dict(find(fields, "")) if isinstance(fields, dict) else {}


def inputs_hash(inputs) -> str:
    """SHA-256 of ``inputs`` by `dln_theory._cache.fingerprint_of` (arrays by bytes, callables
    by code and closed-over values, dataclasses field by field)."""
    from . import _cache

    return _cache.fingerprint_of(inputs)


def stable(inputs=None) -> dict:
    """Packages, JAX, XLA flags and, given ``inputs``, the inputs, their hash and seeds: the same
    on every rerun of the same inputs in the same environment (no time, no commit)."""
    rec = {"packages": packages(), "jax": jax_environment(), "xla_flags": os.environ.get("XLA_FLAGS", "")}
    if inputs is not None:
        rec.update(inputs=_plain(inputs), inputs_hash=inputs_hash(inputs), seeds=seeds(inputs))
    return rec


def record(inputs=None, metrics=None) -> dict:
    """The full provenance: `git_state`, the package's ``source_hash``, `stable` and the check's
    ``metrics`` (when given)."""
    from . import _cache

    rec = {"git": git_state(), "source_hash": _cache.source_hash(), **stable(inputs)}
    if metrics is not None:
        rec["metrics"] = metrics
    return rec


def dumps(rec: dict) -> str:
    """Deterministic JSON text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(rec, sort_keys=True, indent=2, ensure_ascii=False, default=repr) + "\n"


def write(path, rec: dict) -> Path:
    """Write ``rec`` to ``path`` (only if its text changed) and return the path."""
    return write_text(path, dumps(rec))


def write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` only if it differs from the file's (an unchanged file keeps its
    mtime, so reruns of an unchanged tree touch nothing); return the path."""
    path = Path(path)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path
