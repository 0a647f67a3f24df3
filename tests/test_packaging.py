"""Packaging and deterministic artifacts (slow: `make test-slow`).

- A wheel built from the working tree, installed non-editable into a fresh venv, works from an
  unrelated folder (verify, derive, figures), installs `dln_theory` as its only top-level name,
  and nothing is written into the venv while it runs.
- `make reproduce-quick`, run twice in a copy of the working tree, leaves `git status` clean and
  draws byte-identical figures.

The venv gets the dependencies of the running interpreter as hard links into its own
site-packages (a copy where links fail; no download), without this interpreter's own install of
dln-theory; the wheel itself is installed with `--no-index`. The wheel is built without build
isolation when the running interpreter has setuptools >= 77 (the test extra), else pip fetches
the build backend.
"""

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
#: A few claims of different kinds (exact identity, B-series order, flow endpoint): the whole
#: `verify --quick` takes minutes and runs in `make reproduce-quick` below.
CLAIMS = ("alpha_identity_GD", "bea_gd_order_2", "flow_endpoint_argmin_psi_PE")
FIGURE = "kernel_rich"


def _run(cmd, cwd, env=None, timeout=1200):
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, (f"{cmd} exited {out.returncode}\n"
                                 f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out.stdout


def _copy_working_tree(dest: Path) -> Path:
    """Tracked and untracked, not ignored files of the repository (what a fresh clone would have,
    plus uncommitted work), copied to ``dest``."""
    files = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], REPO)
    for name in filter(None, files.split("\0")):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def _isolated_build() -> bool:
    try:
        major = int(importlib.metadata.version("setuptools").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return True
    return major < 77


def _link(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _is_own_install(name: str) -> bool:
    own = ("dln_theory", "__editable__", "__pycache__")
    return name.startswith(own) or name.endswith(".egg-link")


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh venv with the wheel installed, and an unrelated working folder."""
    tmp = tmp_path_factory.mktemp("packaging")
    src = _copy_working_tree(tmp / "src")
    isolation = [] if _isolated_build() else ["--no-build-isolation"]
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", tmp / "dist", src],
         tmp)
    (wheel,) = (tmp / "dist").glob("dln_theory-*.whl")
    env_dir = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir], tmp)
    python = env_dir / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     tmp).strip())
    deps = Path(sysconfig.get_paths()["purelib"])
    shutil.copytree(deps, site, symlinks=True, copy_function=_link, dirs_exist_ok=True,
                    ignore=lambda folder, names: [n for n in names if Path(folder) == deps
                                                  and _is_own_install(n)])
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
          "--quiet", wheel], tmp)
    work = tmp / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(DLN_THEORY_CACHE=str(tmp / "cache"), PATH=f"{env_dir / 'bin'}:{env['PATH']}")
    return {"dir": env_dir, "site": site, "python": python, "bin": env_dir / "bin", "work": work,
            "env": env}


def test_only_dln_theory_is_installed_and_imported_from_the_venv(venv):
    record = next(venv["site"].glob("dln_theory-*.dist-info")) / "RECORD"
    lines = record.read_text().splitlines()
    top = {line.split("/")[0] for line in lines if not line.startswith("../")}
    assert top == {"dln_theory", record.parent.name}, top
    outside = [line.split(",")[0] for line in lines if line.startswith("../")]
    assert outside == ["../../../bin/dln-theory"], outside
    # a folder that has its own `figures/` package must not shadow the installed one
    shadow = venv["work"].parent / "shadow"
    (shadow / "figures").mkdir(parents=True)
    (shadow / "figures" / "__init__.py").write_text("raise ImportError('wrong figures')\n")
    where = _run([venv["python"], "-c", "import dln_theory.figures as f, dln_theory.derivations "
                  "as d; print(f.__file__); print(d.__file__)"], shadow, venv["env"])
    assert all(line.startswith(str(venv["site"])) for line in where.split()), where
    names = _run([venv["bin"] / "dln-theory", "figures", "list"], shadow, venv["env"])
    assert "kernel_rich" in names.split()


def test_commands_run_from_an_unrelated_folder_and_write_nothing_into_the_venv(venv):
    before = _snapshot(venv["dir"])
    work, env, cli = venv["work"], venv["env"], venv["bin"] / "dln-theory"
    table = _run([cli, "verify", "--quick", *CLAIMS], work, env)
    assert all(name in table for name in CLAIMS)
    _run([cli, "derive", "all", "--check"], work, env)
    summary = (work / "derivations" / "README.md").read_text()
    assert "✅" in summary and "❌" not in summary
    _run([cli, "figures", FIGURE, "--quick", "--out", work / "figs"], work, env)
    for suffix in (".png", ".pdf"):
        assert (work / "figs" / f"{FIGURE}{suffix}").stat().st_size > 1000
    assert _snapshot(venv["dir"]) == before, "files written into the venv"
    assert sorted(p.name for p in work.iterdir()) == ["derivations", "figs"]


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None,
                    reason="needs make and git")
def test_reproduce_quick_twice_leaves_the_tree_unchanged(tmp_path):
    """`make reproduce-quick` regenerates the committed derivations byte for byte and draws the
    same quick figures twice; run with this interpreter's environment (no reinstall)."""
    tree = _copy_working_tree(tmp_path / "tree")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    _run([*git, "init", "--quiet"], tree)
    _run([*git, "add", "--all"], tree)
    _run([*git, "commit", "--quiet", "-m", "snapshot"], tree)
    prefix = Path(sys.prefix)
    env = {**os.environ, "DLN_THEORY_CACHE": str(tmp_path / "cache")}
    make = ["make", "reproduce-quick", f"VENV={prefix}", "-o", f"{prefix}/.installed"]
    figures = []
    for _ in range(2):
        _run(make, tree, env, timeout=3600)
        assert _run(["git", "status", "--porcelain"], tree) == ""
        figures.append({p.name: p.read_bytes() for p in (tree / "out" / "figures-quick").iterdir()})
    assert len(figures[0]) >= 2 and figures[0] == figures[1]
