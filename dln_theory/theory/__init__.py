"""Verified formulas: potentials, interpolators, effective initialization, modified losses.

Each formula names the paper and equation it implements and the derivation that proves it.
"""
