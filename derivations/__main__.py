"""``python -m dln_theory.derivations ...``: the same as ``dln-theory derive ...``."""

import sys

from dln_theory.cli import main

sys.exit(main(["derive", *sys.argv[1:]]))
