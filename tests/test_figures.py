"""Every figure script runs in quick mode, passes its theory-vs-simulation check and writes PNG + PDF."""

import matplotlib
import pytest

from dln_theory import figures
from dln_theory import plotting


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("figure-cache")


def test_registry_lists_every_script():
    names = figures.list_figures()
    assert names[:3] == ["kernel_rich", "depth", "modified_flow"]
    assert set(names) == set(figures.FIGURES)
    for name in names:
        module = figures.FIGURES[name]
        for attr in ("Config", "FULL", "QUICK", "compute", "plot", "check", "main"):
            assert hasattr(module, attr), f"{name} lacks {attr}"


@pytest.mark.parametrize("name", figures.list_figures())
def test_figure_quick(name, tmp_path, cache_dir):
    passed, message, paths = figures.render(name, quick=True, out=tmp_path, cache_dir=cache_dir)
    assert passed, f"{name}: {message}"
    assert message
    for suffix in (".png", ".pdf"):
        path = tmp_path / f"{name}{suffix}"
        assert path.exists() and path.stat().st_size > 1000, path


def test_run_reports_and_returns_status(tmp_path, cache_dir, capsys):
    assert figures.run(["deepnet"], quick=True, out=tmp_path, cache_dir=cache_dir) == 0
    out = capsys.readouterr().out
    assert "[1/1] deepnet" in out and "PASS deepnet" in out
    with pytest.raises(ValueError, match="not registered"):
        figures.run(["no_such_figure"], quick=True, out=tmp_path)


def test_style_and_save(tmp_path):
    assert matplotlib.get_backend().lower() == "agg"
    fig, ax = plotting.figure()
    ax.plot([1, 2], [3, 4], color=plotting.color(0))
    paths = plotting.save(fig, tmp_path / "sub" / "x.y")
    assert [p.name for p in paths] == ["x.y.png", "x.y.pdf"]
    assert all(p.exists() for p in paths)
