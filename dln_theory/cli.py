"""The ``dln-theory`` command (also ``python -m dln_theory``).

    dln-theory verify [CLAIM...] [--quick] [--json FILE]
    dln-theory derive list | NAME... | all [--check] [--latex] [--order p]
    dln-theory figures list | NAME... | all [--quick] [--out DIR]
    dln-theory bench [--quick] [--json FILE]
    dln-theory deepnet train|compare ...
"""

import argparse
import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _verify(args) -> int:
    from . import verify

    outcomes = verify.run_claims(quick=args.quick, names=args.claims or None)
    print(verify.format_table(outcomes))
    if args.json:
        Path(args.json).write_text(verify.to_json(outcomes))
    return 0 if all(o.passed for o in outcomes) else 1


def _derive(args) -> int:
    from dln_theory.derivations import registry

    if args.names == ["list"]:
        print("\n".join(registry.list_names()))
        return 0
    return registry.run(args.names, check=args.check, latex=args.latex, order=args.order)


def _figures(args) -> int:
    from dln_theory import figures

    if args.names == ["list"]:
        print("\n".join(figures.list_figures()))
        return 0
    return figures.run(args.names, quick=args.quick, out=args.out)


BENCHMARKS = ("bench_sweep.py", "bench_flow.py", "bench_jobs.py", "bench_derivations.py")


def _bench(args) -> int:
    folder = REPO / "benchmarks"
    if not folder.is_dir():
        raise ValueError(f"benchmarks folder {folder} not found: `dln-theory bench` runs from a source checkout")
    failed = 0
    for script in BENCHMARKS:
        path = folder / script
        argv = [str(path)] + (["--quick"] if args.quick else [])
        if args.json:
            argv += ["--json", str(Path(args.json).with_suffix(f".{path.stem}.json"))]
        sys.argv = argv
        try:
            runpy.run_path(str(path), run_name="__main__")
        except SystemExit as stop:  # each script ends with sys.exit(main())
            failed |= bool(stop.code)
    return int(failed)


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
    p.add_argument("--check", action="store_true", help="run each result's symbolic and numeric checks")
    p.add_argument("--latex", action="store_true", help="write LaTeX to derivations/latex/")
    p.add_argument("--order", type=int, default=2, help="order p of the modified equations")
    p.set_defaults(run=_derive)

    p = sub.add_parser("figures", help="regenerate the theory figures")
    p.add_argument("names", nargs="+", help="'list', 'all' or figure names")
    p.add_argument("--quick", action="store_true", help="small grids (seconds per figure)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: figures/)")
    p.set_defaults(run=_figures)

    p = sub.add_parser("bench", help="speed benchmarks against NumPy / SciPy baselines")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", metavar="FILE")
    p.set_defaults(run=_bench)

    try:
        from .deepnet import cli as deepnet_cli
    except ImportError:  # the optional deep-net part is missing its extras
        deepnet_cli = None
    if deepnet_cli is not None and hasattr(deepnet_cli, "add_subcommands"):
        deepnet_cli.add_subcommands(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ValueError as err:
        print(f"dln-theory {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
