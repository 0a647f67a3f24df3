"""The derivation registry behind `dln-theory derive`."""

from dln_theory.derivations import registry


def test_run_prints_and_writes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(registry, "HERE", tmp_path)
    assert registry.run(["gd", "pe_potential"], check=False, latex=True, order=2) == 0
    out = capsys.readouterr().out
    assert "f'f" in out and "asinh" in out
    assert (tmp_path / "latex" / "gd.tex").exists()
    assert not (tmp_path / "README.md").exists()  # only a full run regenerates it


def test_full_run_regenerates_readme(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "HERE", tmp_path)
    assert registry.run(["all"], check=False) == 0
    text = (tmp_path / "README.md").read_text()
    assert all(f"`{name}`" in text for name in registry.list_names())


def test_unknown_name_and_list(capsys):
    assert registry.run(["nope"], check=False) == 2
    assert registry.main(["list"]) == 0
    assert "heavy_ball" in capsys.readouterr().out


def test_checked_run_of_one_result():
    assert registry.run(["flooding"], check=True) == 0
