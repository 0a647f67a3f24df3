"""Sign descent, RMSProp and Adam: coordinate-wise adaptive steps behind the one interface.

With g = ∇L(θ) (on the step's minibatch when ``batch_size`` is set; plus λθ with
``weight_decay`` λ, the coupled L2 form of Kingma & Ba's Algorithm 1), k the steps taken before
this one and η_k = η·schedule(k):

* `SignGD` (signSGD, Bernstein et al. arXiv:1802.04434, eq. 1): θ ← θ − η_k sign(g);
* `RMSProp` (Tieleman & Hinton 2012): v ← β₂v + (1 − β₂)g², θ ← θ − η_k g/(√(v̂ + ε_root) + ε);
* `Adam` (Kingma & Ba arXiv:1412.6980, Algorithm 1): m ← β₁m + (1 − β₁)g, v as RMSProp,
  θ ← θ − η_k m̂/(√(v̂ + ε_root) + ε),

all coordinate-wise, from m = v = 0. With ``bias_correction`` m̂ = m/(1 − β₁^{k+1}) and
v̂ = v/(1 − β₂^{k+1}), else m̂ = m, v̂ = v. ε adds to the root (Kingma & Ba), ε_root under it
(the ε of Cattaneo, Klusowski & Shigida arXiv:2309.00079, whose modified flow
`dln_theory.theory.fields.AdamField` models; optax calls it ``eps_root``). A coordinate whose
denominator is 0 (a gradient that has been 0 since the start, with ε = ε_root = 0) does not move,
as sign(0) = 0, so RMSProp with β₂ = 0, ε = ε_root = 0 is `SignGD`.
"""

import abc
from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _tree, _validate
from .._hyper import hyperparameter
from ._base import DiscreteMethod
from ._gradient import Minibatches


class AdaptiveState(NamedTuple):
    """State of `SignGD`, `RMSProp` and `Adam`.

    Attributes:
        k: steps taken (drives the schedule, the bias correction and the place in the epoch).
        perm: the epoch's order of the examples under random reshuffling, else None.
        m: first moment (a pytree like the parameters; Adam only), else None.
        v: second moment (RMSProp and Adam), else None.
    """

    k: jax.Array
    perm: jax.Array | None
    m: object | None
    v: object | None


class _Adaptive(DiscreteMethod):
    """Abstract: θ ← θ − η_k·U(g, state), full batch or on minibatches (random reshuffling)."""

    #: Class constants: whether the state carries m (Adam) and v (RMSProp, Adam).
    _first_moment: ClassVar[bool] = False
    _second_moment: ClassVar[bool] = False

    @property
    def stochastic(self) -> bool:
        return self.batch_size is not None

    def init(self, params, objective) -> AdaptiveState:
        zeros = jax.tree.map(jnp.zeros_like, params)
        return AdaptiveState(
            k=jnp.zeros((), dtype=int),
            perm=None if self.batch_size is None else jnp.arange(objective.n),
            m=zeros if self._first_moment else None,
            v=zeros if self._second_moment else None,
        )

    @abc.abstractmethod
    def _update(self, g, state: AdaptiveState):
        """(U, state with its moments advanced) from the gradient g."""

    def step(self, params, state: AdaptiveState, objective, key):
        if self.batch_size is not None:
            k_perm, k_batch = jax.random.split(key)
            perm, objective = Minibatches(self.batch_size).draw(state.perm, state.k, objective, k_perm, k_batch)
            state = state._replace(perm=perm)
        eta = self.eta if self.schedule is None else self.eta * self.schedule(state.k)
        g = objective.grad(params)
        if self.weight_decay is not None:
            g = _tree.like(_tree.axpy(self.weight_decay, params, g), g)
        U, state = self._update(g, state)
        new = _tree.like(_tree.axpy(-eta, U, params), params)
        return new, state._replace(k=state.k + 1), {"dt": eta}


def _ratio(num, den):
    """num/den coordinate-wise, 0 where den = 0 (sign(0) = 0).

    With ε = ε_root = 0 the denominator is 0 also where g² underflows (|g| below about 1e-162 in
    float64): such a coordinate does not move, where exact arithmetic would move it (by η·sign(g)
    for RMSProp with β₂ = 0). Any ε > 0 avoids the case.
    """
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), 0.0)


class SignGD(_Adaptive):
    """Sign descent θ ← θ − η_k sign(∇L(θ)) (signSGD, Bernstein et al. arXiv:1802.04434, eq. 1)."""

    def _update(self, g, state):
        return jax.tree.map(jnp.sign, g), state


class _Moments(_Adaptive):
    """Abstract: the second moment v, ε, ε_root and the bias correction of RMSProp and Adam."""

    beta2: jax.Array = hyperparameter(_validate.unit_interval, default=0.999, kw_only=True)
    eps: jax.Array = hyperparameter(_validate.nonnegative, default=1e-8, kw_only=True)
    eps_root: jax.Array = hyperparameter(_validate.nonnegative, default=0.0, kw_only=True)
    bias_correction: bool = eqx.field(static=True, default=True, kw_only=True)

    _second_moment: ClassVar[bool] = True

    def _correct(self, moment, decay, k):
        return _tree.scale(1.0 / (1.0 - decay ** (k + 1)), moment) if self.bias_correction else moment

    def _scaled(self, numerator, g, state):
        """(numerator/(√(v̂ + ε_root) + ε), state with v advanced)."""
        v = _tree.like(jax.tree.map(lambda vi, gi: self.beta2 * vi + (1 - self.beta2) * gi**2, state.v, g), g)
        v_hat = self._correct(v, self.beta2, state.k)
        U = jax.tree.map(lambda n, vh: _ratio(n, jnp.sqrt(vh + self.eps_root) + self.eps), numerator, v_hat)
        return U, state._replace(v=v)


class RMSProp(_Moments):
    """RMSProp: v ← β₂v + (1 − β₂)g², θ ← θ − η_k g/(√(v̂ + ε_root) + ε) (Tieleman & Hinton 2012).

    ``bias_correction`` (default False, as in the original) divides v by 1 − β₂^{k+1}.
    """

    beta2: jax.Array = hyperparameter(_validate.unit_interval, default=0.99, kw_only=True)
    bias_correction: bool = eqx.field(static=True, default=False, kw_only=True)

    def _update(self, g, state):
        return self._scaled(g, g, state)


class Adam(_Moments):
    """Adam (Kingma & Ba arXiv:1412.6980, Algorithm 1): m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
    θ ← θ − η_k m̂/(√(v̂ + ε_root) + ε); ``bias_correction`` (default True) as in Algorithm 1."""

    beta1: jax.Array = hyperparameter(_validate.unit_interval, default=0.9, kw_only=True)

    _first_moment: ClassVar[bool] = True

    def _update(self, g, state):
        m = _tree.like(_tree.axpy(self.beta1, state.m, _tree.scale(1 - self.beta1, g)), g)
        U, state = self._scaled(self._correct(m, self.beta1, state.k), g, state)
        return U, state._replace(m=m)
