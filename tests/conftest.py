"""Test configuration: float64 everywhere, warnings are errors (see pyproject)."""

import jax

jax.config.update("jax_enable_x64", True)
