"""dln-theory: implicit-regularization theory of diagonal linear networks.

Importing the package enables float64 in JAX (``jax_enable_x64``): the simulator's claims are
checked to 1e-12, which float32 cannot resolve.

It also turns on JAX's persistent compilation cache (``jax_compilation_cache_dir``, with
``jax_persistent_cache_min_compile_time_secs = 0`` and ``jax_persistent_cache_min_entry_size_bytes
= -1`` so that small programs are stored too): a second process running the same job loads the
compiled programs instead of compiling them again. The folder is ``$DLN_THEORY_JAX_CACHE``, else
``<root>/xla`` under the package's cache root (``$DLN_THEORY_CACHE``, else
``$XDG_CACHE_HOME/dln-theory``, else ``~/.cache/dln-theory``); ``DLN_THEORY_JAX_CACHE=0`` (or
``off``, ``false``, ``no``) leaves it off. It is safe to delete at any time (JAX recompiles). A cache
folder the user already gave JAX (``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``) is kept, with
JAX's own thresholds.
"""

import os

import jax

from ._cache import root_dir

jax.config.update("jax_enable_x64", True)


def _enable_compilation_cache() -> None:
    """Point JAX's persistent compilation cache at the package's cache folder (module docstring)."""
    setting = os.environ.get("DLN_THEORY_JAX_CACHE", "").strip()
    if setting.lower() in ("0", "off", "false", "no") or jax.config.jax_compilation_cache_dir:
        return
    jax.config.update("jax_compilation_cache_dir", os.path.expanduser(setting) or str(root_dir() / "xla"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


_enable_compilation_cache()

from .dynamics import BGR as BGR  # noqa: E402
from .dynamics import SME as SME  # noqa: E402
from .dynamics import Adam as Adam  # noqa: E402
from .dynamics import FGR as FGR  # noqa: E402
from .dynamics import GD as GD  # noqa: E402
from .dynamics import GR as GR  # noqa: E402
from .dynamics import SAM as SAM  # noqa: E402
from .dynamics import SGD as SGD  # noqa: E402
from .dynamics import DataGrad as DataGrad  # noqa: E402
from .dynamics import Extragradient as Extragradient  # noqa: E402
from .dynamics import Flooding as Flooding  # noqa: E402
from .dynamics import GradientFlow as GradientFlow  # noqa: E402
from .dynamics import HeavyBall as HeavyBall  # noqa: E402
from .dynamics import Nesterov as Nesterov  # noqa: E402
from .dynamics import NormalizedFlow as NormalizedFlow  # noqa: E402
from .dynamics import NormalizedGD as NormalizedGD  # noqa: E402
from .dynamics import RMSProp as RMSProp  # noqa: E402
from .dynamics import SignGD as SignGD  # noqa: E402
from .dynamics import SpectReg as SpectReg  # noqa: E402
from .dynamics import Method as Method  # noqa: E402
from .dynamics import ModifiedFlow as ModifiedFlow  # noqa: E402
from .models import PE as PE  # noqa: E402
from .models import PW as PW  # noqa: E402
from .models import make_model as make_model  # noqa: E402
from .objective import AbstractObjective as AbstractObjective  # noqa: E402
from .objective import Objective as Objective  # noqa: E402
from .problems import Problem as Problem  # noqa: E402
from .problems import SparseClassification as SparseClassification  # noqa: E402
from .problems import SparseRegression as SparseRegression  # noqa: E402
from .problems import from_data as from_data  # noqa: E402
from .run import Run as Run  # noqa: E402
from .simulate import Trajectory as Trajectory  # noqa: E402
from .simulate import simulate as simulate  # noqa: E402
from .sweep import SweepResult as SweepResult  # noqa: E402
from .sweep import sweep as sweep  # noqa: E402
from .theory.fields import AdamField as AdamField  # noqa: E402
from .theory.fields import LossField as LossField  # noqa: E402
from .theory.fields import ModifiedField as ModifiedField  # noqa: E402
from .theory.fields import NSAMField as NSAMField  # noqa: E402

__version__ = "0.1.0"
