"""Verified formulas: potentials, interpolators, effective initialization, modified losses and
the modified vector fields they define (`fields`).

Each formula names the paper and equation it implements and the derivation that proves it.
"""

from .margins import max_margin as max_margin  # noqa: E402
