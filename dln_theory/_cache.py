"""On-disk cache of finished work: sweep chunks, deep-net blocks and the figures' memo.

Location: the ``cache_dir`` argument, else ``$DLN_THEORY_CACHE``, else
``$XDG_CACHE_HOME/dln-theory``, else ``~/.cache/dln-theory`` (`root_dir`). A sweep is the folder
``<root>/<key>/`` (``chunk_NNNNN.npz`` files and a ``meta.json``), a deep-net run
``<root>/deepnet/<key>/``, a figure's theory predictions ``<root>/figures/<tag>-<key>.pkl``.
``dln-theory cache info|clear [--dir DIR]`` shows and empties it.

Keys: `fingerprint` hashes every input. Arrays by dtype, shape and bytes; containers, dataclasses
and equinox modules field by field (static fields included); callables (functions, lambdas,
partials, bound methods, closures inside pytrees) by their code (bytecode, constants, names, nested
code objects), defaults, closed-over values and the globals they read, recursively, never by name
or address alone. Every key also holds `source_hash` (every ``.py`` file of the installed
``dln_theory``, ``dln_theory.derivations`` and ``dln_theory.figures``), so an edited formula never
serves a result of the old code, and the Python, NumPy and JAX versions, x64 flag and backend;
so code of this package and of installed libraries (``jnp.cos``, ``jax.nn.relu``) is identified by
its qualified name, which those pin.

Entries: every chunk stores a SHA-256 of its names, dtypes, shapes and bytes (``__sha256__``), byte
entries (`save_bytes`) a SHA-256 header. An entry that is unreadable, empty, truncated, has other
names or fails its checksum is reported (a `CacheWarning` naming the file), removed and recomputed.
``meta.json`` is a human-readable record of the settings and of their provenance (git commit,
versions, JAX backend, XLA flags, seeds; `dln_theory.provenance`), rewritten whenever the entry is
opened and never read back.

Writes: each file is written under a unique temporary name in its own folder
(``.<name>.<pid>-<random>.tmp``) and renamed over the entry with `os.replace`, so concurrent
writers (processes on one machine or on a shared file system) never clobber each other and a
killed process leaves only complete entries. A leftover temporary file is ignored, and removed
when its folder is opened an hour later or by ``dln-theory cache clear``.

Failures: a cache folder that cannot be written when an entry is opened (read-only, full, a file
in the way) raises `CacheError` naming the folder, before any work. A write that fails later
(the disk fills during a run) leaves no partial file, warns once (`CacheWarning`, naming the
folder) and the run continues uncached.
"""

import dataclasses
import enum
import functools
import hashlib
import importlib.util
import json
import os
import re
import secrets
import site
import sys
import sysconfig
import time
import types
import warnings
from pathlib import Path

import jax
import numpy as np

from . import provenance

ENV_VAR = "DLN_THEORY_CACHE"
PACKAGES = ("dln_theory", "dln_theory.derivations", "dln_theory.figures")
CHECKSUM = "__sha256__"
META = "meta.json"
STALE_TEMPORARY_S = 3600.0  # no single write takes an hour: older temporaries are leftovers
_MAGIC = b"dln-theory cache entry v1\n"


class CacheError(RuntimeError):
    """The cache folder cannot be written."""


class CacheWarning(UserWarning):
    """A damaged cache entry was removed, or the cache stopped writing during a run."""


def root_dir(cache_dir=None) -> Path:
    """``cache_dir``, else $DLN_THEORY_CACHE, else $XDG_CACHE_HOME/dln-theory or ~/.cache/dln-theory."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "dln-theory"


# ------------------------------------------------------------------------------------------ keys


def fingerprint(*objects) -> str:
    """24 hex digits of a SHA-256 over ``objects`` (see the module docstring), the package source
    (`source_hash`) and the numerical environment (`environment`)."""
    h = hashlib.sha256()
    hasher = _Hasher(h)
    hasher.feed((source_hash(), environment()))
    hasher.feed(objects)
    return h.hexdigest()[:24]


def environment() -> tuple:
    """What else decides the bits of a result: Python, NumPy, JAX versions, x64, backend."""
    import jaxlib

    return (sys.version_info[:2], np.__version__, jax.__version__, jaxlib.__version__,
            bool(jax.config.jax_enable_x64), jax.default_backend())


def source_files() -> list[tuple[str, Path]]:
    """(``package/relative/path.py``, path) of every source file of `PACKAGES`, in a fixed order.

    The folders come from the import system (``submodule_search_locations``), so the mapped
    ``derivations/`` and ``figures/`` are found in a checkout, an editable or a wheel install.
    """
    files = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            files += [(f"{name}/{p.relative_to(folder).as_posix()}", p) for p in Path(folder).rglob("*.py")]
    return sorted(files)


@functools.cache
def source_hash() -> str:
    """SHA-256 over the names and bytes of `source_files` (computed once per process)."""
    return hash_files(source_files())


def hash_files(files) -> str:
    """SHA-256 over (label, bytes) pairs of ``files``, given as (label, path)."""
    h = hashlib.sha256()
    for label, path in files:
        data = Path(path).read_bytes()
        h.update(f"{label}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


@functools.cache
def _library_folders() -> tuple[str, ...]:
    """This interpreter's standard library and every site-packages folder it imports from: its
    own, the base interpreter's (``--system-site-packages``), the user site, and any
    ``site-packages``/``dist-packages`` folder on ``sys.path`` (``.pth`` entries)."""
    paths = sysconfig.get_paths()
    folders = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    folders.update(site.getsitepackages())
    folders.add(site.getusersitepackages())
    folders.update(p for p in sys.path if os.path.basename(p.rstrip(os.sep)) in ("site-packages", "dist-packages"))
    return tuple({os.path.join(os.path.realpath(f), "") for f in folders if f})


def _is_library(module_name: str | None) -> bool:
    """Whether code from ``module_name`` is identified by its name: this package (its source is in
    every key), built-ins and installed third-party or standard-library modules."""
    if not module_name:
        return False
    top = module_name.split(".")[0]
    if top in ("dln_theory", "builtins") or top in sys.stdlib_module_names:
        return True
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if module is None or file is None:
        return module_name != "__main__"
    return os.path.realpath(file).startswith(_library_folders())


class _Hasher:
    """Feeds a canonical, type-tagged encoding of Python objects into a hash."""

    def __init__(self, h):
        self.h = h
        self.seen = {}  # id → (index, object); the object is held so its id is not reused

    def put(self, tag: str, data: bytes | str = b"") -> None:
        data = data.encode() if isinstance(data, str) else data
        self.h.update(f"{tag}:{len(data)}:".encode())
        self.h.update(data)

    def feed(self, obj) -> None:
        if obj is None or obj is Ellipsis or isinstance(obj, (bool, int, float, complex, str, bytes)):
            self.put(type(obj).__name__, repr(obj))
        elif isinstance(obj, (np.ndarray, np.generic, jax.Array)):
            self.array(obj)
        elif isinstance(obj, enum.Enum):
            self.put("enum", f"{_name(type(obj))}.{obj.name}")
        elif isinstance(obj, os.PathLike):
            self.put("path", os.fspath(obj))
        elif id(obj) in self.seen:
            self.put("ref", str(self.seen[id(obj)][0]))
        else:
            self.seen[id(obj)] = (len(self.seen), obj)
            self.compound(obj)

    def array(self, x) -> None:
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            self.put("prng_key", str(jax.random.key_impl(x)))
            x = jax.random.key_data(x)
        a = np.asarray(x)
        self.put("array", f"{a.dtype.str}{a.shape}")
        if a.dtype.hasobject:
            self.feed(a.tolist())
        else:
            self.h.update(np.ascontiguousarray(a).tobytes())

    def compound(self, obj) -> None:
        if isinstance(obj, (list, tuple)):
            self.put(_name(type(obj)), str(len(obj)))
            for item in obj:
                self.feed(item)
        elif isinstance(obj, dict):
            self.put(_name(type(obj)), str(len(obj)))
            for k, v in sorted(obj.items(), key=lambda kv: repr(kv[0])):
                self.feed(k)
                self.feed(v)
        elif isinstance(obj, (set, frozenset)):
            self.put(_name(type(obj)), ",".join(sorted(fingerprint_of(item) for item in obj)))
        elif isinstance(obj, types.CodeType):
            self.code(obj)
        elif isinstance(obj, types.FunctionType):
            self.function(obj)
        elif isinstance(obj, functools.partial):
            self.put("partial")
            self.feed((obj.func, obj.args, obj.keywords))
        elif isinstance(obj, types.MethodType):
            self.put("method")
            self.feed((obj.__func__, obj.__self__))
        elif isinstance(obj, (staticmethod, classmethod, property)):
            self.put(type(obj).__name__)
            self.feed(obj.fget if isinstance(obj, property) else obj.__func__)
        elif isinstance(obj, types.ModuleType):
            self.put("module", obj.__name__)
        elif isinstance(obj, type):
            self.cls(obj)
        elif dataclasses.is_dataclass(obj):
            self.put("dataclass")
            self.feed(type(obj))
            for f in dataclasses.fields(obj):
                self.put("field", f.name)
                self.feed(getattr(obj, f.name, None))
        elif callable(obj) and hasattr(obj, "__wrapped__"):  # jax.jit, functools.wraps
            self.put("wrapped", _name(type(obj)))
            self.feed(obj.__wrapped__)
        elif _is_library(getattr(obj, "__module__", None)) and hasattr(obj, "__qualname__"):
            self.put("named", f"{obj.__module__}.{obj.__qualname__}")  # ufuncs, custom_jvp, builtins
        elif hasattr(obj, "__dict__"):
            self.put("object")
            self.feed(type(obj))
            self.feed(vars(obj))
        else:
            self.opaque(obj)

    def opaque(self, obj) -> None:
        """An object without fields: its pickle state (a NumPy ``Generator``: its bit generator's
        state), else its repr without addresses."""
        try:
            reduced = obj.__reduce_ex__(4)
        except Exception:  # not picklable
            reduced = None
        if isinstance(reduced, tuple) and len(reduced) >= 2:
            self.put("reduce", _name(type(obj)))
            self.feed(reduced[1:3])  # constructor arguments and state
        else:
            self.put("repr", re.sub(r" at 0x[0-9a-fA-F]+", "", repr(obj)))

    def code(self, co: types.CodeType) -> None:
        self.put("code", co.co_code)
        self.feed((co.co_argcount, co.co_posonlyargcount, co.co_kwonlyargcount, co.co_flags,
                   co.co_names, co.co_varnames, co.co_freevars, co.co_cellvars, co.co_consts))

    def function(self, fn: types.FunctionType) -> None:
        if _is_library(fn.__module__):
            self.put("named", f"{fn.__module__}.{fn.__qualname__}")
            return
        self.put("function")
        self.code(fn.__code__)
        self.feed((fn.__defaults__, fn.__kwdefaults__))
        for cell in fn.__closure__ or ():
            try:
                self.feed(cell.cell_contents)
            except ValueError:  # a cell not yet filled
                self.put("empty_cell")
        for name in sorted(_global_names(fn.__code__)):
            if name in fn.__globals__:
                self.put("global", name)
                self.feed(fn.__globals__[name])

    def cls(self, cls: type) -> None:
        self.put("type", _name(cls))
        if _is_library(cls.__module__):
            return
        for base in cls.__bases__:
            self.feed(base)
        for name, attr in sorted(vars(cls).items()):
            if isinstance(attr, (types.FunctionType, staticmethod, classmethod, property)):
                self.put("attribute", name)
                self.feed(attr)


def fingerprint_of(obj) -> str:
    """SHA-256 of one object's encoding (without the source and environment of `fingerprint`)."""
    h = hashlib.sha256()
    _Hasher(h).feed(obj)
    return h.hexdigest()


def _global_names(co: types.CodeType) -> set:
    names = set(co.co_names)
    for const in co.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# --------------------------------------------------------------------------------------- entries


class ChunkStore:
    """Complete, checksummed chunks of one computation, keyed by index, in ``directory``.

    Opening writes ``meta.json`` (raises `CacheError` if the folder cannot be written).
    """

    def __init__(self, directory, meta: dict):
        self.directory = Path(directory)
        self.writable = True
        created = _make_folder(self.directory)
        try:
            record = {**provenance.record(), "inputs_hash": self.directory.name, "seeds": provenance.seeds(meta)}
            text = json.dumps({**meta, "provenance": record}, indent=2, default=str).encode()
            _atomic_write(self.directory / META, lambda f: f.write(text))
        except OSError as exc:
            for folder in created:
                remove_empty_folder(folder)
            raise CacheError(unwritable(self.directory, exc)) from exc
        remove_stale_temporaries(self.directory)

    def path(self, index: int) -> Path:
        return self.directory / f"chunk_{index:05d}.npz"

    def load(self, index: int) -> dict | None:
        """The arrays of chunk ``index``, or None if it is missing or damaged (then it is removed)."""
        path = self.path(index)
        try:
            with open(path, "rb") as f, np.load(f, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            stored = str(arrays.pop(CHECKSUM))
            if stored != checksum(arrays):
                raise ValueError("checksum mismatch")
        except FileNotFoundError:
            return None
        except Exception as exc:  # any damage: zip, npy header, truncation, missing checksum
            discard(path, exc)
            return None
        return arrays

    def save(self, index: int, arrays: dict) -> None:
        """Write chunk ``index`` atomically, with its checksum; on a write error warn, stop caching."""
        arrays = {name: np.asarray(a) for name, a in arrays.items()}
        for name, a in arrays.items():
            if a.dtype.hasobject:
                raise TypeError(f"array {name!r} has dtype object, which the cache does not store")
        payload = {**arrays, CHECKSUM: np.asarray(checksum(arrays))}
        self._write(self.path(index), lambda f: np.savez(f, **payload))

    def _write(self, path: Path, write) -> None:
        if not self.writable:
            return
        try:
            _atomic_write(path, write)
        except OSError as exc:
            self.writable = False
            warnings.warn(f"{unwritable(self.directory, exc)}; this run continues without caching",
                          CacheWarning, stacklevel=4)


def checksum(arrays: dict) -> str:
    """SHA-256 over the sorted names, dtypes, shapes and bytes of ``arrays``."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def load_bytes(path) -> bytes | None:
    """The payload written by `save_bytes`, or None if missing or damaged (then it is removed)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # missing, or a parent is a file: not damage
        return None
    except OSError as exc:
        discard(path, exc)
        return None
    head, digest, payload = data[:len(_MAGIC)], data[len(_MAGIC):len(_MAGIC) + 32], data[len(_MAGIC) + 32:]
    if head != _MAGIC or hashlib.sha256(payload).digest() != digest:
        discard(path, "header or checksum mismatch")
        return None
    return payload


def save_bytes(path, payload: bytes) -> None:
    """Write ``payload`` with a SHA-256 header, atomically (a write error is raised)."""
    _atomic_write(Path(path), lambda f: f.write(_MAGIC + hashlib.sha256(payload).digest() + payload))


def ensure_writable(folder) -> None:
    """Create ``folder`` and check that a file can be written in it; `CacheError` otherwise."""
    folder = Path(folder)
    created = _make_folder(folder)
    try:
        probe = folder / f".probe.{os.getpid()}-{secrets.token_hex(4)}"
        _atomic_write(probe, lambda f: f.write(b"ok"))
        probe.unlink()
    except OSError as exc:
        for f in created:
            remove_empty_folder(f)
        raise CacheError(unwritable(folder, exc)) from exc


def discard(path, reason) -> None:
    """Warn that the cache entry ``path`` is damaged and remove it (it will be recomputed)."""
    if isinstance(reason, BaseException):
        reason = f"{type(reason).__name__}: {reason}"
    warnings.warn(f"damaged cache entry {path} ({reason}): removed, it will be recomputed",
                  CacheWarning, stacklevel=3)
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass


def is_temporary(path) -> bool:
    return Path(path).name.endswith(".tmp") or ".tmp." in Path(path).name


def remove_stale_temporaries(folder, older_than_s: float = STALE_TEMPORARY_S) -> int:
    """Remove temporary files in ``folder`` older than ``older_than_s``; how many were removed."""
    removed, now = 0, time.time()
    for path in Path(folder).iterdir():
        try:
            if is_temporary(path) and path.is_file() and now - path.stat().st_mtime > older_than_s:
                path.unlink()
                removed += 1
        except OSError:  # another process removed it first, or the folder is read-only
            pass
    return removed


def _create_temporary(path: Path):
    """A new, uniquely named temporary file next to ``path`` (binary, write-only)."""
    tmp = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(6)}.tmp"
    return tmp, open(tmp, "xb")


def _atomic_write(path: Path, write) -> None:
    """``write(file)`` into a unique temporary file, then rename it to ``path``; no partial file
    survives an error or an interrupt."""
    tmp = None
    try:
        tmp, f = _create_temporary(path)
        with f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
        raise


def _make_folder(folder: Path) -> list[Path]:
    """``mkdir -p folder``; the folders it created (deepest first), or `CacheError`."""
    missing = [p for p in [folder, *folder.parents] if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        for p in missing:
            remove_empty_folder(p)
        raise CacheError(unwritable(folder, exc)) from exc
    return missing


def remove_empty_folder(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def unwritable(folder, exc: OSError) -> str:
    return (f"cache folder {folder} cannot be written ({exc.strerror or exc}): set ${ENV_VAR} or "
            f"cache_dir to a writable folder, or run with cache=False")
