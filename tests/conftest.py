"""Test configuration: float64 everywhere, warnings are errors (see pyproject), and a private cache."""

import jax
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Tests (and the processes they start) never write to the user's cache: $DLN_THEORY_CACHE is
    a temporary folder for the whole session."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLN_THEORY_CACHE", str(tmp_path_factory.mktemp("dln-theory-cache")))
        yield
