"""The ``dln-theory`` command (also ``python -m dln_theory``).

    dln-theory --version
    dln-theory verify [CLAIM...] [--quick] [--json FILE] | --list
    dln-theory derive list | NAME... | all [--check] [--latex] [--order p] [--out DIR]
    dln-theory figures list | NAME... | all [--quick] [--out DIR] [--set KEY=VALUE ...]
    dln-theory export-tex FILE [--figures DIR] [--verify JSON | --no-claims] [--digits N]
    dln-theory report [--out DIR] [--figures DIR] [--derivations DIR] [--verify JSON | --no-claims]
    dln-theory bench [--quick] [--json FILE] [--benchmarks DIR]
    dln-theory cache info|clear [--dir DIR]
    dln-theory deepnet train|compare ...

Every output path is checked before any work. Relative paths and the defaults (``derivations``,
``figures``, ``benchmarks``) are relative to the current working directory, never to the
installed package: run at the repository root, ``derive all --check --latex`` and
``figures all`` regenerate the committed files.
"""

import argparse
import json
import os
import runpy
import sys
import tempfile
import time
from pathlib import Path

from . import _cache, __version__

#: The top-level help text (plain text: no reStructuredText markup).
DESCRIPTION = """\
Theory of implicit regularization in diagonal linear networks: derive modified equations and
implicit biases symbolically, verify theory predictions against simulations, regenerate the
theory figures (with provenance), export the checked numbers as LaTeX macros for a paper, and
collect everything in one static HTML report.

Every output path is checked before any work. Relative paths and the defaults (./derivations,
./figures, ./benchmarks) are relative to the current working directory, never to the installed
package: run at the repository root, 'derive all --check --latex' and 'figures all' regenerate
the committed files.
"""


class HelpFormatter(argparse.HelpFormatter):
    """Ends every option's help with its default; keeps the line breaks of a description written
    on several lines (one-line descriptions are wrapped to the terminal).

    A default is shown unless the help already names it, it is None or False (a flag that is
    off), or the argument is positional.
    """

    def _fill_text(self, text, width, indent):
        if "\n" in text.strip():
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    @staticmethod
    def _shows_default(action) -> bool:
        return (bool(action.option_strings) and action.default is not None and action.default is not False
                and action.default is not argparse.SUPPRESS and action.default != []
                and "(default" not in (action.help or ""))

    def _get_help_string(self, action):
        text = action.help or ""
        if not self._shows_default(action):
            return text
        default = ",".join(map(str, action.default)) if isinstance(action.default, list) else "%(default)s"
        return f"{text} (default: {default})".lstrip()

    def _format_action(self, action):
        if not action.help and self._shows_default(action):  # an option without help still shows its default
            action = argparse.Action(action.option_strings, action.dest, nargs=action.nargs, default=action.default,
                                     type=action.type, choices=action.choices, metavar=action.metavar,
                                     help="(default: %(default)s)")
        return super()._format_action(action)


class Parser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose help uses `HelpFormatter` (subcommands inherit it)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def _writable_dir(path, option: str) -> Path:
    """Create the output folder ``path`` (and its parents) now, or ValueError naming ``option``."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        reason = err.strerror or err
        raise ValueError(f"{option} {path}: cannot create the folder ({reason})") from None
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{option} {path}: the folder is not writable")
    return folder


def _writable_file(path, option: str) -> Path:
    """``path`` if it can be written (its folder exists and is writable), else ValueError."""
    file = Path(path)
    folder = file.parent
    if file.is_dir():
        raise ValueError(f"{option} {path}: is a folder, expected a file name")
    if not folder.is_dir():
        raise ValueError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (file.exists() and not os.access(file, os.W_OK)):
        raise ValueError(f"{option} {path}: not writable")
    return file


def _refuse_list_with_names(names) -> None:
    if "list" in names and len(names) > 1:
        raise ValueError(f"'list' takes no other names, got {' '.join(names)}")


def _listing(rows) -> str:
    """``name  text`` lines, names padded to one column."""
    rows = list(rows)
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {text}" for name, text in rows)


def _first_line(obj) -> str:
    return ((obj.__doc__ or "").strip().splitlines() or [""])[0]


def _run_claims_with_progress(verify, quick: bool, names, stream=None) -> list:
    """`verify.run_claims`, with a progress bar on a terminal and otherwise one line per claim on
    ``stream`` (default: stderr), so that a log or CI job shows which claim is running."""
    stream = stream or sys.stderr
    if stream.isatty():
        return verify.run_claims(quick=quick, names=names)
    names = list(names or verify.all_claims())
    outcomes = []
    for i, name in enumerate(names, 1):
        start = time.perf_counter()
        (outcome,) = verify.run_claims(quick=quick, names=[name], progress=False)
        outcomes.append(outcome)
        print(f"[{i}/{len(names)}] {outcome.result} {name} ({time.perf_counter() - start:.1f} s)", file=stream,
              flush=True)
    return outcomes


def _verify(args) -> int:
    from . import verify

    if args.list:
        if args.claims or args.json or args.quick:
            raise ValueError("--list takes no claim names, --json or --quick")
        print(_listing((name, source) for name, (source, _) in verify.all_claims().items()))
        return 0
    json_path = _writable_file(args.json, "--json") if args.json else None
    if args.claims:
        known = verify.all_claims()
        unknown = [n for n in args.claims if n not in known]
        if unknown:
            raise ValueError(f"claim(s) {unknown} are not registered (dln-theory verify --list shows them)")
    outcomes = _run_claims_with_progress(verify, args.quick, args.claims or None)
    print(verify.format_table(outcomes))
    if json_path is not None:
        json_path.write_text(verify.to_json(outcomes))
    return 0 if all(o.passed for o in outcomes) else 1


def _derive(args) -> int:
    from dln_theory.derivations import registry

    _refuse_list_with_names(args.names)
    if args.names == ["list"]:
        print(_listing((name, f"{r.title} ({r.source})") for name, r in registry.RESULTS.items()))
        return 0
    return registry.run(args.names, check=args.check, latex=args.latex, order=args.order,
                        out=args.out)


def _figures(args) -> int:
    from dln_theory import figures

    _refuse_list_with_names(args.names)
    if args.names == ["list"]:
        print(_listing((name, _first_line(figures.FIGURES[name])) for name in figures.list_figures()))
        return 0
    overrides = dict(_key_value(item) for item in args.set)
    names = figures.list_figures() if args.names == ["all"] else args.names
    for name in names:
        if name in figures.NAMES:
            figures.configure(name, args.quick, overrides)  # a bad --set fails before any work
    if overrides and args.out is None and not args.quick:
        out = figures.default_out(quick=True)  # a variant never overwrites the committed figures
    else:
        out = args.out if args.out is not None or args.quick else figures.default_out(quick=False)
    if out is not None:
        out = _writable_dir(out, "--out")
    _cache.ensure_writable(_cache.root_dir())  # figures cache their sweeps: refuse an unwritable cache up front
    return figures.run(args.names, quick=args.quick, out=out, overrides=overrides)


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ValueError(f"--set {item!r} is not allowed: give KEY=VALUE, e.g. --set steps=20000")
    return key.strip(), value.strip()


BENCHMARKS = ("bench_sweep.py", "bench_flow.py", "bench_jobs.py", "bench_derivations.py")


def _bench(args) -> int:
    """Run each benchmark script of ``--benchmarks`` (a source checkout's ``benchmarks/``).

    With ``--json FILE``, FILE gets one object ``{script name: that script's JSON}``.
    """
    folder = Path(args.benchmarks)
    missing = [s for s in BENCHMARKS if not (folder / s).is_file()]
    if missing:
        raise ValueError(f"--benchmarks {args.benchmarks}: {', '.join(missing)} not found; the "
                         "benchmark scripts ship with the source checkout (run from its root, or "
                         "pass --benchmarks PATH/TO/benchmarks)")
    json_path = _writable_file(args.json, "--json") if args.json else None
    failed, report = 0, {}
    with tempfile.TemporaryDirectory(prefix="dln-bench-") as scratch:
        for script in BENCHMARKS:
            path = folder / script
            part = Path(scratch) / f"{path.stem}.json"
            argv = [str(path)] + (["--quick"] if args.quick else [])
            if json_path is not None:
                argv += ["--json", str(part)]
            sys.argv = argv
            try:
                runpy.run_path(str(path), run_name="__main__")
            except SystemExit as stop:  # each script ends with sys.exit(main())
                failed |= bool(stop.code)
            if part.exists():
                report[path.stem] = json.loads(part.read_text())
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=1))
        print(f"wrote {json_path}")
    return int(failed)


def _export_tex(args) -> int:
    from . import export_tex, verify

    out = _writable_file(args.file, "FILE")
    if not Path(args.figures).is_dir():
        raise ValueError(f"--figures {args.figures}: no such folder")
    claims, origin = _claims(args, verify)
    path = export_tex.export(out, args.figures, claims, origin, digits=args.digits)
    print(f"wrote {path} ({path.read_text(encoding='utf-8').count(chr(92) + 'newcommand')} macros)")
    return 0


def _claims(args, verify) -> tuple[list, str]:
    """Claim records and their origin for export-tex and report: ``--verify FILE``, none with
    ``--no-claims``, else every claim run now in quick mode."""
    if args.verify and args.no_claims:
        raise ValueError("--verify and --no-claims exclude each other")
    if args.verify:
        path = Path(args.verify)
        if not path.is_file():
            raise ValueError(f"--verify {args.verify}: no such file")
        return json.loads(path.read_text(encoding="utf-8"))["claims"], f"{args.verify} (dln-theory verify --json)"
    if args.no_claims:
        return [], "none (--no-claims)"
    outcomes = _run_claims_with_progress(verify, True, None)
    return json.loads(verify.to_json(outcomes))["claims"], "dln-theory verify --quick, run for this file"


def _report(args) -> int:
    from . import report, verify

    out = _writable_dir(args.out, "--out")
    if not Path(args.figures).is_dir():
        raise ValueError(f"--figures {args.figures}: no such folder")
    claims, origin = _claims(args, verify)
    page = report.build(out, claims, origin, args.figures, args.derivations)
    print(f"wrote {page} (open it in a browser; no server needed)")
    return 0


def _cache_command(args) -> int:
    from . import cache

    return cache.main(args.action, args.dir)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="dln-theory", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("verify", help="check theory predictions against simulations",
                       description="Run the registered claims (theory prediction vs simulation), print a "
                                   "table and exit 1 if any fails.")
    p.add_argument("claims", nargs="*", help="claim names (default: all; --list shows them)")
    p.add_argument("--list", action="store_true", help="list the claims and their sources, run nothing")
    p.add_argument("--quick", action="store_true", help="smaller problems, fewer step sizes")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.set_defaults(run=_verify)

    p = sub.add_parser("derive", help="symbolic derivations (sympy) and their checks",
                       description="Print symbolic results (modified equations, implicit-bias potentials) "
                                   "in one notation (sympy's Unicode pretty printer); optionally check them "
                                   "and write LaTeX.")
    p.add_argument("names", nargs="+", help="'list', 'all' or result names")
    p.add_argument("--check", action="store_true",
                   help="run each result's symbolic and numeric checks (with 'all': also "
                        "regenerate OUT/README.md)")
    p.add_argument("--latex", action="store_true", help="write OUT/latex/NAME.tex (and print the paths)")
    p.add_argument("--order", type=int, default=2, help="order p >= 0 of the modified equations; orders other "
                   "than the default write NAME.orderP.tex, README.orderP.md")
    p.add_argument("--out", metavar="OUT", default="derivations", help="output folder")
    p.set_defaults(run=_derive)

    p = sub.add_parser("figures", help="regenerate the theory figures",
                       description="Compute, plot and check figures; each writes NAME.png, NAME.pdf and "
                                   "NAME.json (the check's metrics and the provenance).")
    p.add_argument("names", nargs="+", help="'list', 'all' or figure names")
    p.add_argument("--quick", action="store_true", help="small grids (seconds per figure)")
    p.add_argument("--out", metavar="DIR",
                   help="output folder (default: ./figures; with --quick or --set a new temporary folder)")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                   help="change a field of the figure's Config (a Python literal, e.g. weight_decay "
                        "--set 'log_alphas=(-3.0, 0.0, 4)'); repeatable")
    p.set_defaults(run=_figures)

    p = sub.add_parser("bench", help="speed benchmarks against NumPy / SciPy baselines",
                       description="Run the benchmark scripts of --benchmarks (they ship with the source "
                                   "checkout) and print each timing with its baseline and ratio.")
    p.add_argument("--quick", action="store_true", help="small sizes, one repetition (seconds)")
    p.add_argument("--json", metavar="FILE", help="write every script's numbers to FILE")
    p.add_argument("--benchmarks", metavar="DIR", default="benchmarks",
                   help="folder of the benchmark scripts")
    p.set_defaults(run=_bench)

    p = sub.add_parser("export-tex", help="write the checked numbers as LaTeX macros for a paper",
                       description="Write every figure check's metrics (FIGURES/<name>.json) and every "
                                   "claim's predicted, simulated, error, tolerance and result as "
                                   "\\newcommand macros (\\dlnKernelRichMaxRelDistance, "
                                   "\\dlnClaimGdVsFlowOrderOneSimulated, ...), letters-only names.")
    p.add_argument("file", metavar="FILE", help="the .tex file to write (\\input it in the paper)")
    p.add_argument("--figures", metavar="DIR", default="figures", help="folder of the figures' NAME.json")
    p.add_argument("--verify", metavar="JSON", help="claims from this 'dln-theory verify --json' file "
                   "(default: run every claim in quick mode)")
    p.add_argument("--no-claims", action="store_true", help="figures only, no claims")
    p.add_argument("--digits", type=int, default=3, help="significant digits of each number")
    p.set_defaults(run=_export_tex)

    p = sub.add_parser("report", help="one static HTML page: claims, derivations, figures, provenance",
                       description="Write DIR/index.html: every claim (predicted, simulated, error, "
                                   "tolerance, result, source), every derivation typeset with MathJax, every "
                                   "figure with its caption, check and provenance, and the provenance of the "
                                   "report. It opens from the file system: no server, no network.")
    p.add_argument("--out", metavar="DIR", default="out/report", help="output folder (DIR/index.html)")
    p.add_argument("--figures", metavar="DIR", default="figures", help="folder of the figures' NAME.json and NAME.png")
    p.add_argument("--derivations", metavar="DIR", default="derivations",
                   help="folder of the derivations' README.md (generated afresh when missing)")
    p.add_argument("--verify", metavar="JSON", help="claims from this 'dln-theory verify --json' file "
                   "(default: run every claim in quick mode)")
    p.add_argument("--no-claims", action="store_true", help="leave the claims out")
    p.set_defaults(run=_report)

    p = sub.add_parser("cache", help="show or empty the on-disk cache of sweeps, runs and figures")
    p.add_argument("action", choices=("info", "clear"), help="show the folder, entries and size, or empty it")
    p.add_argument("--dir", metavar="DIR", help="cache folder (default: $DLN_THEORY_CACHE, else "
                   "$XDG_CACHE_HOME/dln-theory or ~/.cache/dln-theory)")
    p.set_defaults(run=_cache_command)

    try:
        from .deepnet import cli as deepnet_cli
    except ImportError:  # the optional deep-net part is missing its extras
        deepnet_cli = None
    if deepnet_cli is not None and hasattr(deepnet_cli, "add_subcommands"):
        deepnet_cli.add_subcommands(sub)
    return parser


def _use_every_core() -> None:
    """One JAX host device per CPU core, so that `dln_theory.sweep` shards over every core.

    Appends ``--xla_force_host_platform_device_count=<os.cpu_count()>`` to ``XLA_FLAGS`` when the
    user set no device count there, ``JAX_PLATFORMS`` is unset or ``cpu``, and JAX's backends are
    not yet initialized (XLA reads the flag then; later it would have no effect). The flag touches
    only the host (CPU) platform, so on a GPU machine it is harmless; a single `simulate` runs on
    the first device as before.
    """
    from jax._src import xla_bridge  # backends_are_initialized has no public name

    flags = os.environ.get("XLA_FLAGS", "")
    if ("--xla_force_host_platform_device_count" in flags
            or os.environ.get("JAX_PLATFORMS", "cpu").strip().lower() not in ("", "cpu")
            or getattr(xla_bridge, "backends_are_initialized", lambda: True)()):
        return
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={os.cpu_count() or 1}".strip()


def main(argv=None) -> int:
    """The command; ``argv`` given (a call from Python) leaves ``XLA_FLAGS`` to the caller."""
    if argv is None:
        _use_every_core()
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, _cache.CacheError) as err:
        print(f"dln-theory {args.command}: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # stdout piped into a reader that stopped (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
