"""The ``dln-theory`` command (also ``python -m dln_theory``).

    dln-theory verify [CLAIM...] [--quick] [--json FILE]
    dln-theory derive list | NAME... | all [--check] [--latex] [--order p] [--out DIR]
    dln-theory figures list | NAME... | all [--quick] [--out DIR]
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
from pathlib import Path

from . import _cache


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


def _verify(args) -> int:
    from . import verify

    json_path = _writable_file(args.json, "--json") if args.json else None
    outcomes = verify.run_claims(quick=args.quick, names=args.claims or None)
    print(verify.format_table(outcomes))
    if json_path is not None:
        json_path.write_text(verify.to_json(outcomes))
    return 0 if all(o.passed for o in outcomes) else 1


def _derive(args) -> int:
    from dln_theory.derivations import registry

    _refuse_list_with_names(args.names)
    if args.names == ["list"]:
        print("\n".join(registry.list_names()))
        return 0
    return registry.run(args.names, check=args.check, latex=args.latex, order=args.order,
                        out=args.out)


def _figures(args) -> int:
    from dln_theory import figures

    _refuse_list_with_names(args.names)
    if args.names == ["list"]:
        print("\n".join(figures.list_figures()))
        return 0
    out = args.out if args.out is not None or args.quick else figures.default_out(quick=False)
    if out is not None:
        out = _writable_dir(out, "--out")
    return figures.run(args.names, quick=args.quick, out=out)


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


def _cache_command(args) -> int:
    from . import cache

    return cache.main(args.action, args.dir)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dln-theory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("verify", help="check theory predictions against simulations")
    p.add_argument("claims", nargs="*", help="claim names (default: all)")
    p.add_argument("--quick", action="store_true", help="smaller problems, fewer step sizes")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.set_defaults(run=_verify)

    p = sub.add_parser("derive", help="symbolic derivations (sympy) and their checks")
    p.add_argument("names", nargs="+", help="'list', 'all' or result names")
    p.add_argument("--check", action="store_true",
                   help="run each result's symbolic and numeric checks (with 'all': also "
                        "regenerate OUT/README.md)")
    p.add_argument("--latex", action="store_true", help="write OUT/latex/NAME.tex")
    p.add_argument("--order", type=int, default=2, help="order p >= 0 of the modified equations "
                   "(default 2; other orders write NAME.orderP.tex, README.orderP.md)")
    p.add_argument("--out", metavar="OUT", default="derivations",
                   help="output folder (default: ./derivations)")
    p.set_defaults(run=_derive)

    p = sub.add_parser("figures", help="regenerate the theory figures")
    p.add_argument("names", nargs="+", help="'list', 'all' or figure names")
    p.add_argument("--quick", action="store_true", help="small grids (seconds per figure)")
    p.add_argument("--out", metavar="DIR",
                   help="output folder (default: ./figures; with --quick a new temporary folder)")
    p.set_defaults(run=_figures)

    p = sub.add_parser("bench", help="speed benchmarks against NumPy / SciPy baselines")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", metavar="FILE", help="write every script's numbers to FILE")
    p.add_argument("--benchmarks", metavar="DIR", default="benchmarks",
                   help="folder of the benchmark scripts (default: ./benchmarks)")
    p.set_defaults(run=_bench)

    p = sub.add_parser("cache", help="show or empty the on-disk cache of sweeps, runs and figures")
    p.add_argument("action", choices=("info", "clear"))
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
