"""The ``dln-theory`` command (also ``python -m dln_theory``)."""

import argparse
import sys


def _verify(args) -> int:
    from . import verify

    outcomes = verify.run_claims(quick=args.quick, names=args.claims or None)
    print(verify.format_table(outcomes))
    if args.json:
        with open(args.json, "w") as f:
            f.write(verify.to_json(outcomes))
    return 0 if all(o.passed for o in outcomes) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dln-theory", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("verify", help="check theory predictions against simulations")
    p.add_argument("claims", nargs="*", help="claim names (default: all)")
    p.add_argument("--quick", action="store_true", help="smaller problems, fewer step sizes")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.set_defaults(run=_verify)
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
