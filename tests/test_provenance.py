"""Provenance sidecars: git state, versions, JAX environment, seeds and inputs hash of every figure
and cached result; the committed figure JSON stays byte-stable across reruns."""

import dataclasses
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import jax
import numpy as np
import pytest
import scipy
import sympy

from dln_theory import _cache, cache, figures, provenance

REPO = Path(__file__).resolve().parents[1]


def _git(folder, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def test_git_state_of_a_checkout_and_outside_one(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "mod.py").write_text("x = 1\n")
    _git(repo, "add", "mod.py")
    _git(repo, "commit", "-q", "-m", "one")
    provenance.git_state.cache_clear()
    assert provenance.git_state(repo) == {"commit": _git(repo, "rev-parse", "HEAD"), "dirty": False}
    (repo / "mod.py").write_text("x = 2\n")
    provenance.git_state.cache_clear()
    assert provenance.git_state(repo)["dirty"] is True
    # a folder git does not track (an installed wheel, even inside a checkout) has no commit
    (repo / "site").mkdir()
    (repo / "site" / "pkg.py").write_text("")
    assert provenance.git_state(repo / "site") == {"commit": None, "dirty": None}
    assert provenance.git_state(tmp_path) == {"commit": None, "dirty": None}
    provenance.git_state.cache_clear()


def test_versions_and_environment_are_the_running_ones(monkeypatch):
    versions = provenance.packages()
    assert versions["jax"] == jax.__version__ and versions["numpy"] == np.__version__
    assert versions["scipy"] == scipy.__version__ and versions["sympy"] == sympy.__version__
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    env = provenance.jax_environment()
    assert env == {"backend": jax.default_backend(), "device_count": jax.device_count(),
                   "device_kinds": sorted({d.device_kind for d in jax.devices()}), "x64": True}
    monkeypatch.setenv("XLA_FLAGS", "--xla_test_flag=1")
    assert provenance.stable()["xla_flags"] == "--xla_test_flag=1"


@dataclasses.dataclass(frozen=True)
class Config:
    n: int = 4
    seed: int = 3
    data_seed: int = 7
    eta: float = 0.1
    bound: float = float("inf")


def _fake_figure():
    """A figure module with the registry's interface that computes in microseconds."""
    module = types.ModuleType("dln_theory.figures.fake_provenance")
    module.Config, module.FULL, module.QUICK = Config, Config(), Config(n=2)

    def compute(config, cache_dir=None):
        return np.random.default_rng(config.seed).standard_normal(config.n)

    def plot(results):
        import matplotlib.figure

        fig = matplotlib.figure.Figure(figsize=(2, 2))
        fig.add_subplot().plot(results)
        return fig

    module.compute, module.plot = compute, plot
    module.check = lambda results: (True, "ok", {"largest": float(np.max(np.abs(results))), "n": len(results)})
    return module


@pytest.fixture
def fake_figure(monkeypatch):
    monkeypatch.setitem(sys.modules, "dln_theory.figures.fake_provenance", _fake_figure())
    monkeypatch.setattr(figures, "NAMES", figures.NAMES + ("fake_provenance",))
    return "fake_provenance"


def test_figure_json_is_byte_stable_and_the_sidecar_has_the_rest(fake_figure, tmp_path):
    provenance.git_state.cache_clear()
    before = _git(REPO, "rev-parse", "HEAD")  # others may commit while the test runs
    _, _, paths = figures.render(fake_figure, quick=False, out=tmp_path)
    after = _git(REPO, "rev-parse", "HEAD")
    first = paths[-1].read_bytes()
    os.utime(paths[-1], (0, 0))
    _, _, paths = figures.render(fake_figure, quick=False, out=tmp_path)
    assert paths[-1].read_bytes() == first and paths[-1].stat().st_mtime == 0  # not even rewritten
    rec = json.loads(first)
    stable = rec["provenance"]
    assert "git" not in stable and "source_hash" not in stable  # change with every commit: not committed
    assert stable["seeds"] == {"seed": 3, "data_seed": 7}
    assert stable["inputs"] == {"n": 4, "seed": 3, "data_seed": 7, "eta": 0.1, "bound": "inf"}
    assert stable["inputs_hash"] == _cache.fingerprint_of(Config())
    assert stable["inputs_hash"] != _cache.fingerprint_of(Config(seed=4))  # the hash sees the seed
    side = json.loads(provenance.sidecar_path(paths[-1]).read_text())
    assert side["metrics"] == rec["metrics"] and side["metrics"]["n"] == 4
    assert side["git"]["commit"] in (before, after)
    assert side["source_hash"] == _cache.source_hash()
    assert {k: side[k] for k in stable} == stable


def test_figures_command_prints_where_the_sidecars_are(fake_figure, tmp_path, capsys):
    assert figures.run([fake_figure], out=tmp_path) == 0
    out = capsys.readouterr().out
    assert f"provenance {tmp_path / 'fake_provenance.provenance.json'}" in out
    assert (tmp_path / "fake_provenance.provenance.json").is_file()


def test_cached_results_carry_provenance(tmp_path):
    key = "a" * 24
    _cache.ChunkStore(tmp_path / key, {"run": "GD", "axes": {"seed": [0, 1]}})
    meta = json.loads((tmp_path / key / _cache.META).read_text())
    assert meta["provenance"]["inputs_hash"] == key  # the entry's key hashes every input
    assert meta["provenance"]["seeds"] == {"axes.seed": [0, 1]}
    assert meta["provenance"]["packages"]["jax"] == jax.__version__ and "commit" in meta["provenance"]["git"]
    assert cache.memo("unit", lambda: 1.0, {}, cache_dir=tmp_path) == 1.0
    (pkl,) = (tmp_path / "memo").glob("unit-*.pkl")
    side = json.loads(provenance.sidecar_path(pkl).read_text())
    assert side["inputs_hash"] == pkl.stem.rsplit("-", 1)[1] and side["source_hash"] == _cache.source_hash()
    assert cache.info(tmp_path)["entries"]["memo"] == 1  # the sidecar is not an entry
    cache.clear(tmp_path)
    assert not (tmp_path / "memo").exists()
