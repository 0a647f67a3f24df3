"""The on-disk cache: keys over every input, checksummed entries, location, info and clear."""

import functools
import shutil
import warnings

import numpy as np
import pytest

import dln_theory as dt
from dln_theory import _cache
from dln_theory import cache

ARRAYS = {"beta": np.arange(12.0).reshape(3, 4), "diverged_at": np.array([-1, 3, -1])}


def _schedule(value):
    return lambda k: value


def test_callables_are_keyed_by_code_and_closed_over_values():
    key = _cache.fingerprint
    # the case: two lambdas that differ only in a constant
    assert key(dt.GD(eta=0.1, schedule=lambda k: 1.0)) != key(dt.GD(eta=0.1, schedule=lambda k: 0.5))
    # the same code and values give the same key (new objects, other addresses)
    assert key(dt.GD(eta=0.1, schedule=lambda k: 1.0)) == key(dt.GD(eta=0.1, schedule=lambda k: 1.0))
    # closures: same code, other closed-over value
    assert key(_schedule(1.0)) != key(_schedule(0.5))
    assert key(_schedule(1.0)) == key(_schedule(1.0))
    # defaults, partials, bound arguments, nested code objects
    assert key(lambda k, c=1.0: c) != key(lambda k, c=2.0: c)
    assert key(functools.partial(np.power, 2.0)) != key(functools.partial(np.power, 3.0))
    assert key(lambda: (lambda k: k + 1)) != key(lambda: (lambda k: k + 2))
    # a closure inside a container inside a static field
    assert key({"s": [_schedule(1.0)]}) != key({"s": [_schedule(0.5)]})
    # objects without fields by their state: random generators
    assert key(np.random.default_rng(0)) != key(np.random.default_rng(1))
    assert key(np.random.default_rng(0)) == key(np.random.default_rng(0))


SCALE = 2.0


def test_globals_read_by_a_callable_are_part_of_its_key(monkeypatch):
    def f(k):
        return SCALE * k

    before = _cache.fingerprint(f)
    monkeypatch.setattr(__import__(__name__), "SCALE", 3.0)
    assert _cache.fingerprint(f) != before


def test_sweeps_with_different_schedules_return_their_own_results(tmp_path):
    problem = dt.SparseRegression(n=5, d=8, k=2).sample(0)
    n_steps, eta = 10, 0.1
    for s in (1.0, 0.5):
        res = dt.sweep(dt.GD(eta=eta, schedule=lambda k, s=s: s), dt.PE(), problem, {"alpha": [0.1]}, n_steps,
                       cache_dir=tmp_path, progress=False)
        # t = Σ η·schedule(k) = n_steps·η·s exactly (science: time of a discrete run); float sums of
        # ten 0.1s agree with the product to a few ulps
        np.testing.assert_allclose(res.trajectory.t[0, -1], n_steps * eta * s, rtol=1e-14)
    assert len(list(tmp_path.glob("*/meta.json"))) == 2


def test_the_package_source_is_part_of_every_key(monkeypatch):
    before = _cache.fingerprint(dt.GD(0.1))
    monkeypatch.setattr(_cache, "source_hash", lambda: "edited source")
    assert _cache.fingerprint(dt.GD(0.1)) != before


def test_source_files_cover_the_mapped_subpackages():
    labels = {label for label, _ in _cache.source_files()}
    for expected in ("dln_theory/_cache.py", "dln_theory/sweep.py", "dln_theory.figures/_common.py",
                     "dln_theory.derivations/registry.py"):
        assert expected in labels
    assert all(label.endswith(".py") for label in labels)


def test_editing_one_source_file_changes_the_hash(tmp_path):
    files = _cache.source_files()[:5]
    copies = []
    for label, path in files:
        copy = tmp_path / label.replace("/", "_")
        shutil.copyfile(path, copy)
        copies.append((label, copy))
    assert _cache.hash_files(copies) == _cache.hash_files(files)
    copies[2][1].write_text(copies[2][1].read_text() + "\n# edited\n")
    assert _cache.hash_files(copies) != _cache.hash_files(files)


def test_root_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv(_cache.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache.root_dir() == tmp_path / "xdg" / "dln-theory"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # ignored (XDG base-directory spec)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _cache.root_dir() == tmp_path / "home" / ".cache" / "dln-theory"
    monkeypatch.setenv(_cache.ENV_VAR, str(tmp_path / "env"))
    assert _cache.root_dir() == tmp_path / "env"
    assert _cache.root_dir(tmp_path / "arg") == tmp_path / "arg"


def test_chunks_round_trip_with_their_checksum(tmp_path):
    store = _cache.ChunkStore(tmp_path / "k", {"note": "x"})
    assert store.load(0) is None
    store.save(0, ARRAYS)
    loaded = store.load(0)
    assert set(loaded) == set(ARRAYS)
    for name in ARRAYS:
        np.testing.assert_array_equal(loaded[name], ARRAYS[name])
        assert loaded[name].dtype == ARRAYS[name].dtype
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["chunk_00000.npz", "meta.json"]


def _garbage(path):
    path.write_bytes(b"\x00not a zip file at all" * 7)


def _truncated(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(path):
    path.write_bytes(b"")


def _other_names(path):
    np.savez(path, something_else=np.zeros(3))


def _checksum_mismatch(path):  # a valid file whose arrays differ from what its checksum says
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["beta"] = arrays["beta"] + 1.0
    np.savez(path, **arrays)


def _flipped_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = [_garbage, _truncated, _empty, _other_names, _checksum_mismatch, _flipped_byte]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_a_damaged_chunk_is_reported_with_its_path_and_removed(tmp_path, damage):
    store = _cache.ChunkStore(tmp_path, {})
    store.save(3, ARRAYS)
    path = store.path(3)
    damage(path)
    with pytest.warns(_cache.CacheWarning, match=str(path)):
        assert store.load(3) is None
    assert not path.exists()
    store.save(3, ARRAYS)  # recomputed and saved again: loads cleanly, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(store.load(3)["beta"], ARRAYS["beta"])


@pytest.mark.parametrize("damage", [_garbage, _truncated, _empty, _flipped_byte],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_damaged_memo_entry_is_recomputed(tmp_path, damage):
    def compute():  # a fresh random draw on every call: equal values mean "served from the cache"
        return {"pred": np.random.default_rng().random(5)}

    config = {"n": 5}
    first = cache.memo("unit", compute, config, cache_dir=tmp_path)
    again = cache.memo("unit", compute, config, cache_dir=tmp_path)
    np.testing.assert_array_equal(again["pred"], first["pred"])
    (path,) = (tmp_path / "memo").glob("unit-*.pkl")
    damage(path)
    with pytest.warns(_cache.CacheWarning, match=str(path)):
        value = cache.memo("unit", compute, config, cache_dir=tmp_path)
    assert not np.array_equal(value["pred"], first["pred"])  # recomputed
    np.testing.assert_array_equal(cache.memo("unit", compute, config, cache_dir=tmp_path)["pred"],
                                  value["pred"])


def test_memo_keys_the_compute_function_and_the_source(tmp_path, monkeypatch):
    assert cache.memo("unit", lambda: 1.0, {}, cache_dir=tmp_path) == 1.0
    assert cache.memo("unit", lambda: 2.0, {}, cache_dir=tmp_path) == 2.0  # other code, other entry
    monkeypatch.setattr(_cache, "source_hash", lambda: "edited source")
    assert cache.memo("unit", lambda: 3.0, {}, cache_dir=tmp_path) == 3.0
    assert len(list((tmp_path / "memo").glob("unit-*.pkl"))) == 3


def test_an_unpicklable_payload_with_a_valid_checksum_is_recomputed(tmp_path):
    cache.memo("unit", lambda: 1.0, {}, cache_dir=tmp_path)
    (path,) = (tmp_path / "memo").glob("unit-*.pkl")
    _cache.save_bytes(path, b"not a pickle")
    with pytest.warns(_cache.CacheWarning, match=str(path)):
        assert cache.memo("unit", lambda: 1.0, {}, cache_dir=tmp_path) == 1.0


def test_cache_info_and_clear(tmp_path, capsys):
    for key in ("a" * 24, "b" * 24):
        _cache.ChunkStore(tmp_path / key, {}).save(0, ARRAYS)
    _cache.ChunkStore(tmp_path / "deepnet" / ("c" * 24), {}).save(0, ARRAYS)
    cache.memo("unit", lambda: 1.0, {}, cache_dir=tmp_path)
    (tmp_path / "unrelated.txt").write_text("not ours")
    info = cache.info(tmp_path)
    assert info["folder"] == str(tmp_path)
    assert info["entries"] == {"sweep": 2, "deepnet": 1, "memo": 1}
    on_disk = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file() and p.name != "unrelated.txt")
    assert info["bytes"] == on_disk
    removed = cache.clear(tmp_path)
    assert removed["entries"] == 4 and removed["bytes"] == on_disk
    assert cache.info(tmp_path)["entries"] == {"sweep": 0, "deepnet": 0, "memo": 0}
    assert (tmp_path / "unrelated.txt").read_text() == "not ours"  # clear removes only cache entries
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unrelated.txt"]


def test_cache_command(tmp_path, capsys):
    from dln_theory.cli import main

    _cache.ChunkStore(tmp_path / ("a" * 24), {}).save(0, ARRAYS)
    assert main(["cache", "info", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path) in out and "1 sweep," in out
    assert main(["cache", "clear", "--dir", str(tmp_path)]) == 0
    assert "removed 1" in capsys.readouterr().out
    assert not (tmp_path / ("a" * 24)).exists()


def test_cache_info_of_a_missing_folder(tmp_path):
    info = cache.info(tmp_path / "none")
    assert info["entries"] == {"sweep": 0, "deepnet": 0, "memo": 0} and info["bytes"] == 0
    assert cache.clear(tmp_path / "none")["entries"] == 0
    assert not (tmp_path / "none").exists()

