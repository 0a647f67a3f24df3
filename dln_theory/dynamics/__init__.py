"""Optimizers and flows behind one interface (see `_base.Method`)."""

from ._base import Method as Method
from ._base import perturbed_grad as perturbed_grad
from .flow import GradientFlow as GradientFlow
from .flow import LossField as LossField
from .flow import ModifiedField as ModifiedField
from .flow import ModifiedFlow as ModifiedFlow
from .gd import GD as GD
