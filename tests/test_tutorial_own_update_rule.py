"""Every python block of docs/tutorial_own_update_rule.md runs, in order, in one namespace (the
blocks assert their own results: the modified loss coefficient a/2 + 1/4, slopes 2 and 1)."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "tutorial_own_update_rule.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_tutorial_has_code():
    assert len(_blocks()) >= 5


def test_tutorial_blocks_run():
    namespace = {"__name__": "tutorial"}
    for block in _blocks():
        exec(compile(block, str(DOC), "exec"), namespace)
    sp = namespace["sp"]
    assert namespace["solution"][0][namespace["k"]] == namespace["a"] / 2 + sp.Rational(1, 4)
