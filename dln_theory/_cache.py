"""On-disk cache of sweep chunks: ``<root>/<key>/chunk_NNNNN.npz`` plus ``meta.json``.

The key hashes every input of the computation and the package version, so a changed
hyper-parameter can never be served a stale result. Chunks are written atomically, so an
interrupted sweep leaves only complete chunks behind and resumes from them.
"""

import hashlib
import json
import os
import re
from pathlib import Path

import jax
import numpy as np

DEFAULT_ROOT = ".dln_cache"


def root_dir(cache_dir) -> Path:
    """``cache_dir``, else $DLN_THEORY_CACHE, else ``./.dln_cache``."""
    return Path(cache_dir or os.environ.get("DLN_THEORY_CACHE", DEFAULT_ROOT))


def fingerprint(*objects) -> str:
    """SHA-256 over the structure (static fields included) and array bytes of pytrees."""
    h = hashlib.sha256()
    for obj in objects:
        leaves, treedef = jax.tree_util.tree_flatten(obj)
        h.update(re.sub(r" at 0x[0-9a-f]+", "", str(treedef)).encode())
        for leaf in leaves:
            arr = np.asarray(leaf)
            h.update(str((arr.dtype, arr.shape)).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:24]


class ChunkStore:
    """Complete chunks of one sweep, keyed by index."""

    def __init__(self, directory: Path, meta: dict):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        meta_path = directory / "meta.json"
        if not meta_path.exists():
            _atomic_write(meta_path, json.dumps(meta, indent=2, default=str).encode())

    def path(self, index: int) -> Path:
        return self.directory / f"chunk_{index:05d}.npz"

    def load(self, index: int):
        path = self.path(index)
        if not path.exists():
            return None
        with np.load(path) as data:
            return {name: data[name] for name in data.files}

    def save(self, index: int, arrays: dict) -> None:
        tmp = self.path(index).with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, self.path(index))


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
