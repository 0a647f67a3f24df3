"""The package's architecture, read from the source: layered imports, no private imports, no
import side effects.

Layers, lowest first (a module imports only from its own layer or lower ones):

    helpers → derivations → generated fields → models/objective → theory → dynamics
    → simulate/sweep/run/deepnet training (and the package's public surface) → verify
    → figures/CLI

Private names: no module imports a ``_name`` defined in another module, and a private module
``P/_m.py`` is imported only by modules in folder ``P`` or below it (so the figure scripts, a
separate folder, use the library's public names only).

Import side effects: importing every module leaves matplotlib's backend and rcParams, NumPy's
error state, the warning filters, ``sys.path``, the environment and JAX's configuration as they
were, except ``jax_enable_x64`` and the compilation-cache settings (documented in
``dln_theory/__init__.py``).
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Import name of each source folder (derivations/ and figures/ are installed inside dln_theory).
FOLDERS = {"dln_theory": REPO / "dln_theory", "dln_theory.derivations": REPO / "derivations",
           "dln_theory.figures": REPO / "figures"}

#: (layer, module-name prefixes), lowest layer first; a module takes its longest matching prefix.
LAYERS = [
    ("helpers", ("dln_theory._validate", "dln_theory._tree", "dln_theory._hyper", "dln_theory._cache",
                 "dln_theory._jobs", "dln_theory.provenance")),
    ("derivations", ("dln_theory.derivations",)),
    ("generated fields", ("dln_theory.theory.generated",)),
    ("models", ("dln_theory.models", "dln_theory.problems", "dln_theory.objective", "dln_theory.classification")),
    ("theory", ("dln_theory.theory",)),
    ("dynamics", ("dln_theory.dynamics",)),
    ("simulate/sweep", ("dln_theory", "dln_theory.run", "dln_theory.simulate", "dln_theory.sweep",
                        "dln_theory.deepnet")),
    ("verify", ("dln_theory.verify",)),
    ("figures/CLI", ("dln_theory.figures", "dln_theory.plotting", "dln_theory.cli",
                     "dln_theory.deepnet.cli", "dln_theory.__main__", "dln_theory.derivations.__main__",
                     "dln_theory.export_tex", "dln_theory.report")),
]

#: Violations in files being changed concurrently by others: strict xfail, so each mark must go
#: as soon as its file is fixed.
PENDING = {
}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join([package, *parts])
            if package == "dln_theory" and name.startswith(tuple(f"{p}." for p in FOLDERS if p != package)):
                continue
            found[name] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    best = max(((len(p), i) for i, (_, prefixes) in enumerate(LAYERS) for p in prefixes
                if module == p or module.startswith(p + ".")), default=None)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[1]


def _imports(module: str):
    """(imported module, imported name or None, line) for every import of a dln_theory module."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dln_theory"):
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if not source.startswith("dln_theory"):
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in MODULES:
                    yield submodule, None, node.lineno
                else:
                    yield source, alias.name, node.lineno


def _third_party() -> list[str]:
    """Every absolute non-dln_theory module imported anywhere in the sources."""
    names = set()
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module)
    return sorted(n for n in names if not n.startswith("dln_theory"))


def _private_imports(module: str) -> list[str]:
    bad = []
    folder = MODULES[module].parent
    for source, name, line in _imports(module):
        if name is not None and name.startswith("_") and not name.startswith("__") and source != module:
            bad.append(f"line {line}: {name} from {source}")
        private = [i for i, part in enumerate(source.split(".")) if part.startswith("_") and not part.startswith("__")]
        if private and source in MODULES:
            home = MODULES[source].parent
            if not folder.is_relative_to(home):
                bad.append(f"line {line}: private module {source}")
    return bad


def test_every_module_found_and_in_a_layer():
    assert {"dln_theory.dynamics.gd", "dln_theory.derivations.codegen", "dln_theory.figures.sam"} <= set(MODULES)
    for module in MODULES:
        _layer(module)


def test_resolution_of_relative_and_private_imports():
    """The parser itself: known imports of two modules resolve as written."""
    flow = set(_imports("dln_theory.dynamics.flow"))
    assert ("dln_theory._tree", None) in {(s, n) for s, n, _ in flow}
    assert ("dln_theory.theory.fields", "ModifiedField") in {(s, n) for s, n, _ in flow}
    assert _private_imports("dln_theory.dynamics.gd") == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module):
    upward = [f"line {line}: {source} ({LAYERS[_layer(source)][0]})" for source, _, line in _imports(module)
              if _layer(source) > _layer(module)]
    assert not upward, f"{module} ({LAYERS[_layer(module)][0]}) imports a higher layer: {upward}"


@pytest.mark.parametrize("module", [pytest.param(m, marks=pytest.mark.xfail(strict=True, reason=PENDING[m]))
                                    if m in PENDING else m for m in sorted(MODULES)])
def test_no_private_names_imported_across_modules(module):
    assert _private_imports(module) == []


@pytest.mark.negative
def test_checks_catch_an_upward_and_a_private_import(tmp_path, monkeypatch):
    """Negative control: a fake theory module importing dynamics and a private helper of it."""
    fake = tmp_path / "fake.py"
    fake.write_text("from ..dynamics import GD\nfrom ..dynamics._gradient import GradientMethod\n"
                    "from ..dynamics.gd import _PlainGradient\n")
    monkeypatch.setitem(MODULES, "dln_theory.theory.fake", fake)
    upward = [s for s, _, _ in _imports("dln_theory.theory.fake") if _layer(s) > _layer("dln_theory.theory.fake")]
    assert "dln_theory.dynamics" in upward
    assert len(_private_imports("dln_theory.theory.fake")) == 2


_SNAPSHOT = """
import json, os, sys, warnings
import numpy as np, matplotlib, jax

def snapshot():
    rc = dict.copy(matplotlib.rcParams)
    return {"backend": repr(dict.__getitem__(matplotlib.rcParams, "backend")),
            "rc": {k: repr(v) for k, v in rc.items()}, "np": np.geterr(), "path": list(sys.path),
            "env": dict(os.environ), "warnings": [repr(f) for f in warnings.filters],
            "jax": {k: repr(v) for k, v in jax.config.values.items()}}

def diff(a, b):
    out = {}
    for key in a:
        if isinstance(a[key], dict):
            changed = sorted(k for k in set(a[key]) | set(b[key]) if a[key].get(k) != b[key].get(k))
            if changed:
                out[key] = changed
        elif a[key] != b[key]:
            out[key] = True
    return out

for name in json.loads(sys.argv[2]):  # third-party modules first: their own filters are theirs
    try:
        __import__(name)
    except ImportError:
        pass
before = snapshot()
import dln_theory
after = snapshot()
changes = {"dln_theory": diff(before, after)}
before = after
for name in json.loads(sys.argv[1]):
    __import__(name)
    after = snapshot()
    if diff(before, after):
        changes[name] = diff(before, after)
        before = after
print(json.dumps({"x64": jax.config.values["jax_enable_x64"], "changes": changes}))
"""


def test_importing_modules_changes_no_global_state(tmp_path):
    """One fresh interpreter imports every module in turn and records what each import changed.

    The third-party modules the sources import are imported before the first snapshot (what
    they do on import is theirs). ``dln_theory`` itself is imported first: its one change is the
    documented x64 switch. Entry points (``__main__``) run a command and are skipped. A probe
    module imported last sets one rcParam: the check must report it (negative control).
    """
    (tmp_path / "layers_probe.py").write_text("import matplotlib\nmatplotlib.rcParams['lines.linewidth'] = 7.0\n")
    names = [m for m in sorted(MODULES) if not m.endswith("__main__") and m != "dln_theory"] + ["layers_probe"]
    path = [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    out = subprocess.run([sys.executable, "-c", _SNAPSHOT, json.dumps(names), json.dumps(_third_party())],
                         capture_output=True, text=True, check=True, cwd=REPO, env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["x64"] is True
    cache = ["jax_compilation_cache_dir", "jax_enable_x64", "jax_persistent_cache_min_compile_time_secs",
             "jax_persistent_cache_min_entry_size_bytes"]  # x64 and the persistent compilation cache
    assert result["changes"] == {"dln_theory": {"jax": cache}, "layers_probe": {"rc": ["lines.linewidth"]}}
