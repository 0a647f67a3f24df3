"""Fault injection on the cache: killed runs resume bit-identically, damaged files are reported and
recomputed, concurrent writers share one folder, a read-only or full folder fails cleanly.

Kill points are drawn from a fixed seed, so a failure reproduces.
"""

import dataclasses
import errno
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

import fault_jobs
from dln_theory import _cache
from dln_theory import cache

JOBS = Path(fault_jobs.__file__)
RNG = np.random.default_rng(20261128)
N_CHUNKS = len(fault_jobs.ALPHAS)


@pytest.fixture(scope="module")
def reference_sweep():
    return fault_jobs.run_sweep(None, cache=False)


def _kill_run(job, cache_dir, mode, n):
    proc = subprocess.run([sys.executable, str(JOBS), job, str(cache_dir), mode, str(n)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]


def _stamps(folder: Path) -> dict:
    """name → (inode, mtime) of the complete chunks: a rewritten file gets a new inode."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("chunk_*.npz")}


def _assert_same_trajectory(a, b):
    for field in dataclasses.fields(a):
        np.testing.assert_array_equal(getattr(a, field.name), getattr(b, field.name))


def _count_saves(monkeypatch):
    saved = []
    save = _cache.ChunkStore.save

    def counting(self, index, arrays):
        saved.append((self.directory.name, index))
        return save(self, index, arrays)

    monkeypatch.setattr(_cache.ChunkStore, "save", counting)
    return saved


@pytest.mark.parametrize("mode, n", [("after_save", int(RNG.integers(1, N_CHUNKS))),
                                     ("mid_write", int(RNG.integers(1, N_CHUNKS + 1)))])
def test_a_killed_sweep_resumes_bit_identically(tmp_path, monkeypatch, reference_sweep, mode, n):
    _kill_run("sweep", tmp_path, mode, n)
    (entry,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    done = n if mode == "after_save" else n - 1  # mid_write: the n-th chunk never got its name
    before = _stamps(entry)
    assert len(before) == done
    leftovers = [p for p in entry.iterdir() if _cache.is_temporary(p)]
    assert len(leftovers) == (mode == "mid_write")

    saved = _count_saves(monkeypatch)
    resumed = fault_jobs.run_sweep(tmp_path)
    finished = {int(name[6:11]) for name in before}
    assert sorted(c for _, c in saved) == sorted(set(range(N_CHUNKS)) - finished)  # none recomputed
    after = _stamps(entry)
    assert len(after) == N_CHUNKS
    assert {name: after[name] for name in before} == before  # nor rewritten
    _assert_same_trajectory(resumed.trajectory, reference_sweep.trajectory)


def _garbage(path):
    path.write_bytes(os.urandom(300))


def _truncated(path):
    path.write_bytes(path.read_bytes()[:100])


def _empty(path):
    path.write_bytes(b"")


def _checksum_mismatch(path):
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["beta"] = arrays["beta"] * 2.0
    np.savez(path, **arrays)


def test_every_kind_of_damaged_file_is_reported_and_recomputed(tmp_path, monkeypatch, reference_sweep):
    fault_jobs.run_sweep(tmp_path)
    (entry,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    damaged = {1: _garbage, 2: _truncated, 3: _empty, 5: _checksum_mismatch}
    for c, damage in damaged.items():
        damage(entry / f"chunk_{c:05d}.npz")
    (entry / _cache.META).write_bytes(b"{ not json")
    stale = entry / ".chunk_00000.npz.99999-0123456789ab.tmp"
    stale.write_bytes(b"left by a killed writer")
    os.utime(stale, (time.time() - 2 * _cache.STALE_TEMPORARY_S,) * 2)
    fresh = entry / ".chunk_00004.npz.99998-0123456789ab.tmp"  # maybe a live writer's: kept, never read
    fresh.write_bytes(b"being written")
    intact = {name: stamp for name, stamp in _stamps(entry).items() if int(name[6:11]) not in damaged}

    saved = _count_saves(monkeypatch)
    with pytest.warns(_cache.CacheWarning) as record:
        again = fault_jobs.run_sweep(tmp_path)
    named = {Path(str(w.message).split("damaged cache entry ")[1].split(" (")[0]).name for w in record}
    assert named == {f"chunk_{c:05d}.npz" for c in damaged}
    assert sorted(c for _, c in saved) == sorted(damaged)
    assert {name: stamp for name, stamp in _stamps(entry).items() if name in intact} == intact
    _assert_same_trajectory(again.trajectory, reference_sweep.trajectory)
    assert "axes" in json.loads((entry / _cache.META).read_text())  # rewritten on opening
    assert not stale.exists() and fresh.exists()


def test_four_concurrent_writers_share_one_cache_folder(tmp_path, reference_sweep):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(fault_jobs.concurrent_writer, [(str(tmp_path), w) for w in range(4)])
    for beta, seen in results:
        assert seen == []
        np.testing.assert_array_equal(beta, reference_sweep.trajectory.beta)
    stress = _cache.ChunkStore(tmp_path / "stress", {})
    for c in range(fault_jobs.STRESS_CHUNKS):
        np.testing.assert_array_equal(stress.load(c)["values"], fault_jobs.stress_arrays(c)["values"])
    assert [p for p in tmp_path.rglob("*") if _cache.is_temporary(p)] == []


def _fail_writes(monkeypatch, error, after=0, partial=b"PK\x03\x04 partial"):
    """From the (after+1)-th temporary file on, writing fails with ``error`` (read-only folder:
    at creation; full disk: after a partial write, which must not survive)."""
    create, calls = _cache._create_temporary, [0]

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(partial)
            raise error

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def failing(path):
        calls[0] += 1
        if calls[0] <= after:
            return create(path)
        if isinstance(error, PermissionError):
            raise error
        tmp, f = create(path)
        return tmp, Full(f)

    monkeypatch.setattr(_cache, "_create_temporary", failing)


def test_a_read_only_cache_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    _fail_writes(monkeypatch, PermissionError(errno.EACCES, "Permission denied"))
    with pytest.raises(_cache.CacheError, match=f"cache folder {tmp_path}.*Permission denied"):
        fault_jobs.run_sweep(tmp_path)

    def never():
        raise AssertionError("computed before the cache folder was checked")

    with pytest.raises(_cache.CacheError, match=f"cache folder {tmp_path / 'memo'}"):
        cache.memo("unit", never, {}, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # no folder, no partial file


def test_a_full_disk_during_a_sweep_warns_and_the_run_completes(tmp_path, monkeypatch, reference_sweep):
    _fail_writes(monkeypatch, OSError(errno.ENOSPC, "No space left on device"), after=2)  # meta, chunk 0
    with pytest.warns(_cache.CacheWarning, match="No space left on device.*continues without caching"):
        res = fault_jobs.run_sweep(tmp_path)
    _assert_same_trajectory(res.trajectory, reference_sweep.trajectory)
    (entry,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert sorted(p.name for p in entry.iterdir()) == ["chunk_00000.npz", "meta.json"]
    monkeypatch.undo()
    _assert_same_trajectory(fault_jobs.run_sweep(tmp_path).trajectory, reference_sweep.trajectory)
    assert len(_stamps(entry)) == N_CHUNKS


# ------------------------------------------------------------------------------ deep-net training


@pytest.fixture(scope="module")
def reference_training():
    return fault_jobs.run_training(None, cache=False)


def _assert_same_training(a, b):
    for name in ("train_loss", "test_acc", "grad_norm2"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for x, y in zip(jax.tree.leaves(a.network), jax.tree.leaves(b.network)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("mode, n", [
    ("after_state", int(RNG.integers(1, 4))),
    pytest.param("mid_write", int(RNG.integers(2, 5)), marks=pytest.mark.slow)])
def test_a_killed_training_resumes_bit_identically(tmp_path, reference_training, mode, n):
    """Blocks 0…4 (block 0: the initial evaluation); ``after_state``: killed with the n-th block's
    state saved but not its metrics; ``mid_write``: killed before the n-th metrics file's rename."""
    _kill_run("train", tmp_path, mode, n)
    (entry,) = (tmp_path / "deepnet").iterdir()
    done = n if mode == "after_state" else n - 1  # complete metrics blocks 0 … done-1
    before = _stamps(entry)
    assert sorted(before) == [f"chunk_{b:05d}.npz" for b in range(done)]
    resumed = fault_jobs.run_training(tmp_path)
    assert resumed.resumed_blocks == done - 1
    assert {name: stamp for name, stamp in _stamps(entry).items() if name in before} == before
    _assert_same_training(resumed, reference_training)


@pytest.mark.parametrize("damaged", ["final state", "metrics of block 2"])
def test_a_damaged_training_checkpoint_is_recomputed(tmp_path, reference_training, damaged):
    """A finished run keeps only its final state; damaging it, or the metrics of a middle block
    (whose predecessor's state is gone), must lead to a recomputation, not a traceback."""
    fault_jobs.run_training(tmp_path)
    (entry,) = (tmp_path / "deepnet").iterdir()
    (state,) = (entry / "state").glob("chunk_*.npz")
    path = state if damaged == "final state" else entry / "chunk_00002.npz"
    _garbage(path)
    with pytest.warns(_cache.CacheWarning, match=str(path)):
        again = fault_jobs.run_training(tmp_path)
    _assert_same_training(again, reference_training)


def test_a_full_disk_during_training_warns_and_the_run_completes(tmp_path, monkeypatch, reference_training):
    # the two meta.json files and block 0 are written, then the disk is full
    _fail_writes(monkeypatch, OSError(errno.ENOSPC, "No space left on device"), after=3)
    with pytest.warns(_cache.CacheWarning, match="No space left on device"):
        res = fault_jobs.run_training(tmp_path)
    _assert_same_training(res, reference_training)
    assert [p for p in tmp_path.rglob("*") if _cache.is_temporary(p)] == []
