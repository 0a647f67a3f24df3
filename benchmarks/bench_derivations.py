"""Time per order of the backward-error expansions (issue [3] targets: GD, F-GR and SAM to order 4
in elementary-differential form < 5 s together; GD's order-4 field on a symbolic 2-coordinate DLN
< 10 s).

    python benchmarks/bench_derivations.py [--quick] [--json FILE]
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dln_theory.derivations as derivations  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="orders 1–3 only")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    orders = (1, 2, 3) if args.quick else (1, 2, 3, 4)
    times = derivations.timing(orders)
    print("bench_derivations: seconds per order p (sympy)")
    print(f"{'p':>3}  {'GD+F-GR+SAM trees':>18}  {'GD field on DLN':>16}")
    for p, t in times.items():
        print(f"{p:>3}  {t['tree']:>18.3f}  {t['dln']:>16.3f}")
    top = times[max(times)]
    print(f"order {max(times)}: trees {top['tree']:.2f} s (target < 5 s), DLN field {top['dln']:.2f} s (target < 10 s)")
    if args.json:
        Path(args.json).write_text(json.dumps({str(p): t for p, t in times.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
