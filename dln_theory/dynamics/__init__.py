"""Optimizers and flows behind one interface (see `_base.Method`)."""

from ._base import Method as Method
from ._base import perturbed_grad as perturbed_grad
from ._gradient import GradientMethod as GradientMethod
from ._gradient import GradientState as GradientState
from ._gradient import Minibatches as Minibatches
from .adaptive import Adam as Adam
from .adaptive import AdaptiveState as AdaptiveState
from .adaptive import RMSProp as RMSProp
from .adaptive import SignGD as SignGD
from .extragradient import Extragradient as Extragradient
from .flooding import Flooding as Flooding
from .flow import AbstractFlow as AbstractFlow
from .flow import GradientFlow as GradientFlow
from .flow import ModifiedFlow as ModifiedFlow
from .gd import GD as GD
from .gd import SGD as SGD
from .gd import HeavyBall as HeavyBall
from .gd import Nesterov as Nesterov
from .gr import BGR as BGR
from .gr import FGR as FGR
from .gr import GR as GR
from .input_gradient import DataGrad as DataGrad
from .input_gradient import SpectReg as SpectReg
from .normalized import NormalizedFlow as NormalizedFlow
from .normalized import NormalizedGD as NormalizedGD
from .sam import SAM as SAM
