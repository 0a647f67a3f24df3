"""``dln-theory cache info|clear [--dir DIR]``: what the on-disk cache holds, and emptying it.

Entries (see `dln_theory._cache`): a sweep is a folder ``<root>/<key>/`` (24 hex digits), a deep-net
run ``<root>/deepnet/<key>/``, a figure's predictions a file ``<root>/figures/<tag>-<key>.pkl``.
Anything else in the folder is neither counted nor removed, so pointing ``--dir`` at the wrong
folder deletes nothing of the user's.
"""

import re
import shutil
from pathlib import Path

from . import _cache

_KEY = re.compile(r"[0-9a-f]{24}")


def _entries(root: Path) -> dict[str, list[Path]]:
    def listing(folder, keep):
        return sorted(p for p in folder.iterdir() if keep(p)) if folder.is_dir() else []

    return {
        "sweep": listing(root, lambda p: p.is_dir() and _KEY.fullmatch(p.name)),
        "deepnet": listing(root / "deepnet", lambda p: p.is_dir() and _KEY.fullmatch(p.name)),
        "figures": listing(root / "figures",
                           lambda p: p.is_file() and (p.suffix == ".pkl" or _cache.is_temporary(p))),
    }


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def cache_info(cache_dir=None) -> dict:
    """{"folder", "entries": {kind: count}, "bytes"} of the cache (`_cache.root_dir`)."""
    root = _cache.root_dir(cache_dir)
    entries = _entries(root)
    return {"folder": str(root), "entries": {kind: sum(not _cache.is_temporary(p) for p in paths)
                                             for kind, paths in entries.items()},
            "bytes": sum(_size(p) for paths in entries.values() for p in paths)}


def cache_clear(cache_dir=None) -> dict:
    """Remove every cache entry (and leftover temporary file) under the root; what was removed."""
    info = cache_info(cache_dir)
    root = Path(info["folder"])
    for paths in _entries(root).values():
        for path in paths:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    for folder in (root / "deepnet", root / "figures", root):
        _cache._remove_empty_folder(folder)
    return {"folder": info["folder"], "entries": sum(info["entries"].values()), "bytes": info["bytes"]}


def format_info(info: dict) -> str:
    n = info["entries"]
    return (f"cache folder: {info['folder']}\n"
            f"entries: {n['sweep']} sweep, {n['deepnet']} deep-net, {n['figures']} figure\n"
            f"size: {info['bytes'] / 1e6:.1f} MB ({info['bytes']} bytes)")


def main(action: str, cache_dir=None) -> int:
    """The ``cache`` subcommand: print the info, or clear and print what was removed."""
    if action == "info":
        print(format_info(cache_info(cache_dir)))
    else:
        removed = cache_clear(cache_dir)
        print(f"removed {removed['entries']} entries ({removed['bytes'] / 1e6:.1f} MB) "
              f"from {removed['folder']}")
    return 0
