"""The figure style: no global state changed on import, the style only inside its own calls, and
byte-identical PNG and PDF files when the same figure is saved twice."""

import subprocess
import sys

import matplotlib

from dln_theory import plotting

IMPORT_CHECK = """
import sys, matplotlib
rc = matplotlib.rcParams
before = {k: rc._get(k) for k in rc}  # _get: reading "backend" through [] would resolve it
backend = matplotlib.rcParams._get_backend_or_none()
import dln_theory.plotting, dln_theory.figures, dln_theory.figures.kernel_rich
after = {k: rc._get(k) for k in rc}
assert matplotlib.rcParams._get_backend_or_none() == backend, "backend switched on import"
assert after == before, sorted(k for k in before if before[k] != after[k])
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
"""


def test_import_changes_no_matplotlib_state():
    subprocess.run([sys.executable, "-c", IMPORT_CHECK], check=True)


def test_style_applies_inside_and_is_restored_after(tmp_path):
    before = dict(matplotlib.rcParams)
    fig, ax = plotting.figure()
    with plotting.style():
        (line,) = ax.plot([1, 2], [3, 4])
        assert matplotlib.rcParams["font.size"] == plotting.STYLE["font.size"]
    plotting.save(fig, tmp_path / "x")
    assert dict(matplotlib.rcParams) == before
    assert not ax.spines["top"].get_visible()  # the style's axes, created inside `figure`
    assert line.get_linewidth() == plotting.STYLE["lines.linewidth"]
    assert line.get_color() == plotting.PALETTE[0]


def _draw(path_stem):
    fig, ax = plotting.figure(ncols=2)
    with plotting.style():
        ax[0].plot([0, 1, 2], [1, 0, 2], label=r"$\psi_\alpha$")
        ax[1].semilogy([1, 2, 3], [1e-3, 1e-2, 1e-1])
        ax[0].legend()
    return plotting.save(fig, path_stem)


def test_drawing_twice_gives_the_same_bytes(tmp_path):
    first, second = _draw(tmp_path / "a" / "fig"), _draw(tmp_path / "b" / "fig")
    for p, q in zip(first, second):
        assert p.read_bytes() == q.read_bytes(), p.name
    assert b"CreationDate" not in first[1].read_bytes()
