"""``python -m derivations list | NAME... | all [--check] [--latex] [--order p]``."""

import sys

from .registry import main

sys.exit(main())
