"""Print the kill rate of the last `mutmut run` (``make mutants``), from mutants/**/*.meta.

Usage: python tools/mutation_score.py [--unchecked] [MODULE_PREFIX ...]
(e.g. dln_theory.theory.potentials). Killed = a test failed on the mutant; timeout = the tests ran
past the wall limit of setup.cfg (counted as killed, listed apart). The kill rate is
(killed + timeout)/(killed + timeout + survived + no tests), also printed without the timeouts;
mutants not yet checked are counted apart. Prints one row per module, then the survivors by name
(``mutmut show NAME`` prints the diff). ``--unchecked`` prints only the names of the mutants not yet
checked, one a line: ``mutmut run $(python tools/mutation_score.py --unchecked PREFIX)`` continues
an interrupted run without rerunning what it checked (a name pattern given to ``mutmut run``
reruns every mutant it matches).
"""

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

KILLED, TIMEOUT, SURVIVED, NO_TESTS = {1, 3}, {36, 24, -24, 152, 255}, {0}, {5, 33}
COLUMNS = ("killed", "timeout", "survived", "no tests", "not checked")


def status_of(code) -> str:
    return ("killed" if code in KILLED else "timeout" if code in TIMEOUT
            else "survived" if code in SURVIVED
            else "no tests" if code in NO_TESTS else "not checked" if code is None
            else f"other ({code})")


def main(args: list[str]) -> int:
    unchecked = "--unchecked" in args
    prefixes = [a for a in args if a != "--unchecked"]
    counts, by_module, survivors = Counter(), defaultdict(Counter), []
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        module = meta.relative_to("mutants").as_posix().removesuffix(".meta")
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if prefixes and not any(name.startswith(p) for p in prefixes):
                continue
            status = status_of(code)
            if unchecked:
                if status == "not checked":
                    print(name)
                continue
            counts[status] += 1
            by_module[module][status] += 1
            if status in ("survived", "no tests", "timeout"):
                survivors.append(f"{status}: {name}")
    if unchecked:
        return 0
    print(f"{'module':42s} {'checked':>8s} " + " ".join(f"{c:>11s}" for c in COLUMNS))
    for module, c in sorted(by_module.items()):
        checked = sum(c.values()) - c["not checked"]
        print(f"{module:42s} {checked:8d} " + " ".join(f"{c[k]:11d}" for k in COLUMNS))
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
