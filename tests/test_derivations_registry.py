"""The derivation registry behind `dln-theory derive`: what it prints, what it writes and where."""

import pytest

from dln_theory.derivations import registry


def test_run_prints_and_writes_latex_only_where_asked(tmp_path, capsys):
    assert registry.run(["gd", "pe_potential"], check=False, latex=True, out=tmp_path) == 0
    out = capsys.readouterr().out
    assert "f'f" in out and "asinh" in out
    assert sorted(p.name for p in (tmp_path / "latex").iterdir()) == ["gd.tex", "pe_potential.tex"]
    assert not (tmp_path / "README.md").exists()  # only a full checked run regenerates it


def test_other_orders_never_overwrite_the_committed_files(tmp_path):
    assert registry.run(["gd"], check=False, latex=True, order=3, out=tmp_path) == 0
    assert [p.name for p in (tmp_path / "latex").iterdir()] == ["gd.order3.tex"]
    # explicit Euler's modified field at order 3 has −(h³/4) f'f'f'f (Hairer, Lubich & Wanner,
    # GNI IX.1); the committed order-2 file stops at η²
    assert r"- \frac{\eta^{3} f'f'f'f}{4}" in (tmp_path / "latex" / "gd.order3.tex").read_text()


def test_unchecked_full_run_writes_nothing(tmp_path):
    assert registry.run(["all"], check=False, out=tmp_path / "d") == 0
    assert not (tmp_path / "d").exists()


def test_bad_names_and_orders_are_refused_before_any_work(tmp_path):
    for names, order, match in ((["nope"], 2, "unknown derivation"), (["list", "all"], 2, "'list'"),
                                (["gd"], -1, "order must be an integer >= 0, got -1"),
                                (["gd"], 1.5, "order must be an integer >= 0, got 1.5")):
        with pytest.raises(ValueError, match=match):
            registry.run(names, check=True, latex=True, order=order, out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_unwritable_output_is_refused_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="cannot write to output folder"):
        registry.run(["all"], check=True, out=blocker / "sub")
    assert capsys.readouterr().out == ""  # nothing was derived


def test_list_names():
    names = registry.list_names()
    assert names[0] == "gd" and "heavy_ball" in names and len(names) == len(set(names))


def test_checked_run_of_one_result(tmp_path):
    assert registry.run(["flooding"], check=True, out=tmp_path) == 0
    assert list(tmp_path.iterdir()) == []
