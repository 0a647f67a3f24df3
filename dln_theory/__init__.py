"""dln-theory: implicit-regularization theory of diagonal linear networks.

Importing the package enables float64 in JAX (``jax_enable_x64``): the simulator's claims are
checked to 1e-12, which float32 cannot resolve.
"""

import jax

jax.config.update("jax_enable_x64", True)

from .dynamics import BGR as BGR  # noqa: E402
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
from .dynamics import SpectReg as SpectReg  # noqa: E402
from .dynamics import Method as Method  # noqa: E402
from .dynamics import ModifiedFlow as ModifiedFlow  # noqa: E402
from .models import PE as PE  # noqa: E402
from .models import PW as PW  # noqa: E402
from .models import make_model as make_model  # noqa: E402
from .objective import AbstractObjective as AbstractObjective  # noqa: E402
from .objective import Objective as Objective  # noqa: E402
from .problems import Problem as Problem  # noqa: E402
from .problems import SparseRegression as SparseRegression  # noqa: E402
from .problems import from_data as from_data  # noqa: E402
from .simulate import Trajectory as Trajectory  # noqa: E402
from .simulate import simulate as simulate  # noqa: E402
from .sweep import SweepResult as SweepResult  # noqa: E402
from .sweep import sweep as sweep  # noqa: E402
from .theory.fields import LossField as LossField  # noqa: E402
from .theory.fields import ModifiedField as ModifiedField  # noqa: E402

__version__ = "0.1.0"
