"""The `dln-theory` command: output paths checked before any work, files written where named,
defaults relative to the working directory, bad arguments refused with a message."""

import json
import os

import pytest

from dln_theory import cli, figures, verify


def _no_work(*args, **kwargs):
    raise AssertionError("work started before the output path was checked")


@pytest.fixture
def blocker(tmp_path):
    """A plain file: no folder can be created under it, even by root."""
    path = tmp_path / "a-file"
    path.write_text("")
    return path


@pytest.mark.parametrize("argv, match", [
    (["verify", "--json", "{missing}/v.json"], "does not exist"),
    (["verify", "--json", "{blocker}/v.json"], "does not exist"),
    (["verify", "--json", "{tmp}"], "is a folder"),
    (["figures", "kernel_rich", "--out", "{blocker}/figs"], "cannot create the folder"),
    (["figures", "all", "--quick", "--out", "{blocker}"], "cannot create the folder"),
    (["bench", "--benchmarks", "{missing}"], "not found"),
    (["derive", "gd", "--order", "-1"], "order must be an integer >= 0, got -1"),
    (["derive", "all", "--check", "--out", "{blocker}/d"], "cannot write to output folder"),
    (["derive", "list", "all"], "'list' takes no other names"),
    (["figures", "list", "all"], "'list' takes no other names"),
])
def test_bad_outputs_and_arguments_fail_before_any_work(argv, match, tmp_path, blocker, monkeypatch,
                                                        capsys):
    monkeypatch.setattr(verify, "run_claims", _no_work)
    monkeypatch.setattr(figures, "run", _no_work)
    fill = {"missing": tmp_path / "missing", "blocker": blocker, "tmp": tmp_path}
    assert cli.main([a.format(**fill) for a in argv]) == 2
    err = capsys.readouterr()
    assert match in err.err and "Traceback" not in err.err
    assert err.out == ""  # nothing was derived, verified or drawn


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(verify, "run_claims", _no_work)
    tmp_path.chmod(0o500)
    try:
        assert cli.main(["verify", "--json", str(tmp_path / "v.json")]) == 2
    finally:
        tmp_path.chmod(0o700)
    assert "not writable" in capsys.readouterr().err


def test_figures_default_out_is_the_working_directory(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(figures, "run", lambda names, quick, out: seen.update(out=out) or 0)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["figures", "kernel_rich"]) == 0
    assert seen["out"].resolve() == tmp_path / "figures" and seen["out"].is_dir()
    assert cli.main(["figures", "kernel_rich", "--quick"]) == 0
    assert seen["out"] is None  # quick runs go to a fresh temporary folder, never ./figures


def test_derive_writes_under_the_working_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["derive", "alpha_identity", "--latex"]) == 0
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] == [
        "derivations/latex/alpha_identity.tex"]
    assert "(u'² − v'²)/(u² − v²)" in capsys.readouterr().out


SCRIPT = """
import json, sys
args = sys.argv[1:]
if "--json" in args:
    with open(args[args.index("--json") + 1], "w") as f:
        f.write(json.dumps({{"script": "{name}", "quick": "--quick" in args}}))
sys.exit({code})
"""


def test_bench_json_is_the_file_named(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    for i, name in enumerate(cli.BENCHMARKS):
        (folder / name).write_text(SCRIPT.format(name=name, code=int(i == 2)))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "x.abc"
    monkeypatch.setattr("sys.argv", ["dln-theory"])
    assert cli.main(["bench", "--quick", "--benchmarks", str(folder), "--json", str(target)]) == 1
    assert [p.name for p in out_dir.iterdir()] == ["x.abc"]  # no siblings
    report = json.loads(target.read_text())
    assert list(report) == [n.removesuffix(".py") for n in cli.BENCHMARKS]
    assert all(v == {"script": k + ".py", "quick": True} for k, v in report.items())


def test_bench_default_folder_is_the_working_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["bench"]) == 2
    assert "--benchmarks benchmarks:" in capsys.readouterr().err
