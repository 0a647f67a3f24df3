"""``python -m derivations list | NAME... | all [--check] [--latex] [--order p]``."""

import sys

from derivations.registry import main

sys.exit(main())
