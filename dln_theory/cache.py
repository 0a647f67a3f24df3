"""The on-disk cache: where it is (`root_dir`), what it holds (`info`), emptying it (`clear`; also
``dln-theory cache info|clear [--dir DIR]``), and `memo` for values derived from simulations.

Entries: a sweep is a folder ``<root>/<key>/`` (``key``: 24 hex digits), a deep-net run
``<root>/deepnet/<key>/``, a memo value (the figures' theory predictions) a file
``<root>/memo/<tag>-<key>.pkl``. Anything else in the folder is neither counted nor removed, so
pointing ``--dir`` at the wrong folder deletes nothing of the user's. How entries are keyed,
checked and written, and what happens when the folder cannot be written: `dln_theory._cache`.
"""

import pickle
import re
import shutil
import warnings
from pathlib import Path

from . import _cache, provenance
from ._cache import CacheError as CacheError
from ._cache import CacheWarning as CacheWarning
from ._cache import root_dir as root_dir

KINDS = ("sweep", "deepnet", "memo")
_KEY = re.compile(r"[0-9a-f]{24}")


def memo(tag: str, compute_fn, *key, cache_dir=None):
    """``compute_fn()``, cached on disk as ``<root>/memo/<tag>-<fingerprint>.pkl``, with its
    provenance (`dln_theory.provenance.record`) in ``<tag>-<fingerprint>.provenance.json``.

    The fingerprint (`dln_theory._cache.fingerprint`) covers ``tag``, ``key``, ``compute_fn`` by
    its code and closed-over values, and the package's source, so an edited script or formula
    never serves a stale value. A damaged entry is reported (`CacheWarning`), removed and
    recomputed; a folder that cannot be written raises `CacheError` before ``compute_fn`` runs.
    """
    path = root_dir(cache_dir) / "memo" / f"{tag}-{_cache.fingerprint(tag, key, compute_fn)}.pkl"
    payload = _cache.load_bytes(path)
    if payload is not None:
        try:
            return pickle.loads(payload)
        except Exception as exc:  # a payload this code cannot unpickle: recompute it
            _cache.discard(path, exc)
    _cache.ensure_writable(path.parent)
    value = compute_fn()
    try:
        _cache.save_bytes(path, pickle.dumps(value))
        provenance.write(provenance.sidecar_path(path), {**provenance.record(), "inputs_hash": path.stem.rsplit("-", 1)[-1]})
    except OSError as exc:
        warnings.warn(f"{_cache.unwritable(path.parent, exc)}; the value is not cached", CacheWarning,
                      stacklevel=2)
    return value


def _entries(root: Path) -> dict[str, list[Path]]:
    def listing(folder, keep):
        return sorted(p for p in folder.iterdir() if keep(p)) if folder.is_dir() else []

    return {
        "sweep": listing(root, lambda p: p.is_dir() and _KEY.fullmatch(p.name)),
        "deepnet": listing(root / "deepnet", lambda p: p.is_dir() and _KEY.fullmatch(p.name)),
        "memo": listing(root / "memo", lambda p: p.is_file() and (p.suffix == ".pkl" or _cache.is_temporary(p)
                                                                  or p.name.endswith(provenance.SUFFIX))),
    }


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def info(cache_dir=None) -> dict:
    """{"folder", "entries": {kind: count}, "bytes"} of the cache (`root_dir`)."""
    root = root_dir(cache_dir)
    entries = _entries(root)
    return {"folder": str(root),
            "entries": {kind: sum(not (_cache.is_temporary(p) or p.name.endswith(provenance.SUFFIX)) for p in paths)
                        for kind, paths in entries.items()},
            "bytes": sum(_size(p) for paths in entries.values() for p in paths)}


def clear(cache_dir=None) -> dict:
    """Remove every entry (and leftover temporary file) of the cache; {"folder", "entries", "bytes"}
    removed."""
    found = info(cache_dir)
    root = Path(found["folder"])
    for paths in _entries(root).values():
        for path in paths:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    for folder in (root / "deepnet", root / "memo", root):
        _cache.remove_empty_folder(folder)
    return {"folder": found["folder"], "entries": sum(found["entries"].values()), "bytes": found["bytes"]}


def format_info(found: dict) -> str:
    n = found["entries"]
    return (f"cache folder: {found['folder']}\n"
            f"entries: {n['sweep']} sweep, {n['deepnet']} deep-net, {n['memo']} memo\n"
            f"size: {found['bytes'] / 1e6:.1f} MB ({found['bytes']} bytes)")


def main(action: str, cache_dir=None) -> int:
    """The ``cache`` subcommand: print `info`, or `clear` and print what was removed."""
    if action == "info":
        print(format_info(info(cache_dir)))
    else:
        removed = clear(cache_dir)
        print(f"removed {removed['entries']} entries ({removed['bytes'] / 1e6:.1f} MB) "
              f"from {removed['folder']}")
    return 0
