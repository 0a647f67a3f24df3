"""Print the kill rate of the last `mutmut run` (``make mutants``), from mutants/**/*.meta.

Usage: python tools/mutation_score.py [MODULE_PREFIX ...]   (e.g. dln_theory.theory.potentials)
Killed = a test failed on the mutant; timeout = the tests ran past the wall limit of setup.cfg
(counted as killed, listed apart). The kill rate is (killed + timeout)/(killed + timeout +
survived + no tests), also printed without the timeouts; mutants not yet checked are counted
apart. Survivors are listed by name (``mutmut show NAME`` prints the diff).
"""

import json
import sys
from collections import Counter
from pathlib import Path

KILLED, TIMEOUT, SURVIVED, NO_TESTS = {1, 3}, {36, 24, -24, 152, 255}, {0}, {5, 33}


def main(prefixes: list[str]) -> int:
    counts, survivors = Counter(), []
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if prefixes and not any(name.startswith(p) for p in prefixes):
                continue
            status = ("killed" if code in KILLED else "timeout" if code in TIMEOUT
                      else "survived" if code in SURVIVED
                      else "no tests" if code in NO_TESTS else "not checked" if code is None
                      else f"other ({code})")
            counts[status] += 1
            if status in ("survived", "no tests", "timeout"):
                survivors.append(f"{status}: {name}")
    print("\n".join(survivors))
    dead = counts["killed"] + counts["timeout"]
    judged = dead + counts["survived"] + counts["no tests"]
    print(", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if judged:
        print(f"kill rate: {dead}/{judged} = {dead / judged:.1%} "
              f"(without timeouts: {counts['killed'] / judged:.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
