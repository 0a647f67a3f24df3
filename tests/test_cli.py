"""The `dln-theory` command: output paths checked before any work, files written where named,
defaults relative to the working directory, bad arguments refused with a message."""

import argparse
import importlib.metadata
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
    monkeypatch.setattr(figures, "run", lambda names, quick, out, overrides: seen.update(out=out) or 0)
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


# ------------------------------------------------------------------ the command a newcomer meets


def _parsers(parser):
    """``parser`` and every subcommand's parser, recursively."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_version_is_the_installed_distribution(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"dln-theory {importlib.metadata.version('dln-theory')}"


def test_every_option_with_a_default_says_it_in_its_help():
    missing = []
    for parser in _parsers(cli.build_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if not action.option_strings or action.default in (None, argparse.SUPPRESS) or action.default is False:
                continue
            if action.default == []:
                continue
            # the option's help block: from its flag to the next option line
            block = text.split("\n  " + ", ".join(action.option_strings), 1)[1].split("\n  -", 1)[0]
            if "default" not in block:
                missing.append(f"{parser.prog} {action.option_strings[-1]}")
    assert not missing, missing
    derive = next(p for p in _parsers(cli.build_parser()) if p.prog.endswith(" derive"))
    assert "(default: 2)" in " ".join(derive.format_help().split())  # --order, the example


def test_top_level_help_has_no_restructuredtext_markup():
    text = cli.build_parser().format_help()
    assert "`" not in text and "::" not in text
    assert "verify" in text and "--version" in text


def test_verify_list_is_one_line_per_claim_with_its_source(monkeypatch, capsys):
    monkeypatch.setattr(verify, "run_claims", _no_work)
    assert cli.main(["verify", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    claims = verify.all_claims()
    assert len(lines) == len(claims)
    for line, (name, (source, _)) in zip(lines, claims.items()):
        assert line.startswith(name + " ") and line.endswith(source)


def test_figures_and_derive_list_describe_each_entry(capsys):
    from dln_theory.derivations import registry

    assert cli.main(["figures", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(figures.NAMES)
    assert all(len(line.split(None, 1)) == 2 for line in lines)  # every figure has a description
    assert cli.main(["derive", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == registry.list_names()
    assert all(registry.RESULTS[line.split()[0]].title in line for line in lines)


def test_derive_prints_one_notation_and_names_the_files_it_wrote(tmp_path, capsys):
    assert cli.main(["derive", "alpha_identity", "gd", "--latex", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # sympy's str form (-A**2*eta**2 + (-B*eta + 1)**2) is gone: Unicode symbols and operators only
    assert "**" not in out and "eta" not in out and "η" in out and "⋅" in out
    for name in ("alpha_identity", "gd"):
        assert f"wrote {tmp_path / 'latex' / name}.tex" in out


def test_verify_reports_progress_per_claim_when_not_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setitem(verify._REGISTRY, "fake_a", ("test", lambda quick: (1.0, 1.0, 0.0, 0.1)))
    monkeypatch.setitem(verify._REGISTRY, "fake_b", ("test", lambda quick: (1.0, 2.0, 1.0, 0.1)))
    monkeypatch.setitem(verify._QUANTITY, "fake_a", "‖β‖₁ (test)")
    assert cli.main(["verify", "fake_a", "fake_b"]) == 1
    captured = capsys.readouterr()
    progress = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert [line.split(" (")[0] for line in progress] == ["[1/2] PASS fake_a", "[2/2] FAIL fake_b"]
    header, _, row_a, row_b = captured.out.splitlines()[:4]
    assert "quantity" in header and row_a.endswith("‖β‖₁ (test)") and row_b.endswith("FAIL")


def test_every_registered_claim_says_what_its_numbers_are():
    from dln_theory.verify import quantities

    unlabelled = [n for n in verify.all_claims() if not (verify._QUANTITY.get(n) or quantities.quantity(n))]
    assert not unlabelled, f"add quantity= to these claims or a pattern to verify/quantities.py: {unlabelled}"


def test_figures_set_changes_the_config_and_writes_elsewhere(tmp_path, monkeypatch, capsys):
    # --set reads Python literals and keeps each field's type (count stays an int inside a tuple);
    # without --out the variant goes to a new folder, never over the committed ./figures.
    config = figures.configure("weight_decay", True, {"log_alphas": "(-1.0, 0.0, 3)", "eta": "0.05", "steps": "100"})
    assert config.log_alphas == (-1.0, 0.0, 3) and isinstance(config.log_alphas[2], int)
    assert config.eta == 0.05 and config.steps == 100 and config.n == figures.FIGURES["weight_decay"].QUICK.n
    seen = {}
    monkeypatch.setattr(figures, "run", lambda names, quick, out, overrides: seen.update(out=out, overrides=overrides) or 0)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["figures", "weight_decay", "--set", "steps=100"]) == 0
    assert seen["overrides"] == {"steps": "100"} and os.path.abspath(seen["out"]) != str(tmp_path / "figures")


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ("stepz=100", "has no parameter 'stepz'"),
        ("steps=1.5", "steps=1.5 is not allowed: give an integer"),
        ("eta=fast", "eta=fast is not allowed: give a Python literal"),
        ("log_alphas=3", "log_alphas=3 is not allowed: give a tuple"),
        ("steps", "give KEY=VALUE"),
    ],
)
def test_figures_bad_set_is_refused_before_any_work(item, match, monkeypatch, capsys):
    monkeypatch.setattr(figures, "run", lambda *a, **k: pytest.fail("ran with a bad --set"))
    assert cli.main(["figures", "weight_decay", "--set", item]) == 2
    assert match in capsys.readouterr().err


def test_figures_help_set_example_is_a_safe_field_of_the_figure_it_names():
    # The --set example of `figures --help` (also the README's) must configure the figure it names:
    # earlier it read log_alphas=(-3.0, 1.0, 5), which reaches α = 10 where GD at η = 0.1 diverges
    # (weight_decay's Config: divergence near α = 3; the run ended 2.3e8 from the lasso).
    import re

    parser = next(p for p in _parsers(cli.build_parser()) if p.prog.endswith(" figures"))
    text = " ".join(parser.format_help().split())
    name, key, value = re.search(r"e\.g\. (\w+) --set '(\w+)=([^']+)'", text).groups()
    config = figures.configure(name, True, {key: value})
    lo, hi, num = getattr(config, key)
    assert 10.0 ** hi < 3.0 and lo < hi and num >= 2


def test_figures_refuse_an_unwritable_cache_before_any_work(tmp_path, blocker, monkeypatch, capsys):
    # The README: "A cache folder that cannot be written is an error before any work". Before, each
    # figure started, warned of a "damaged cache entry" and failed on its own with a CacheError.
    monkeypatch.setattr(figures, "run", _no_work)
    monkeypatch.setenv("DLN_THEORY_CACHE", str(blocker / "cache"))
    assert cli.main(["figures", "weight_decay", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "cannot be written" in err and str(blocker / "cache") in err and "Traceback" not in err
