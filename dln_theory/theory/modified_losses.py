"""Modified losses and fields of backward error analysis (docs/conventions.md §5).

Hand-written first-order forms (`gd_modified_loss`, `SGDField`, `HeavyBallField`) and `BEAField`,
which evaluates the generated B-series fields of ``theory/generated`` (orders 0–3) on the
objective's loss. Every formula is registered against the derivation that proves it in
`dln_theory.theory.registry`. No sympy at run time.
"""

from collections.abc import Callable
from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from .. import _tree, _validate
from .._hyper import hyperparameter
from . import generated
from .fields import LossField, ModifiedField
from .generated.modified_fields import MAX_ORDER


def gd_modified_loss(objective, params, h):
    """Ẽ = E + (h/4)‖∇E‖²: GD with step h follows its gradient flow to O(h²) at fixed time.

    Barrett & Dherin, arXiv:2009.11162, Theorem 3.1 (implicit gradient regularization).
    """
    g = objective.grad(params)
    return objective.loss(params) + 0.25 * h * _tree.vdot(g, g)


def gr_objective(objective, params, gamma, per_example=False):
    """L + (γ/2)‖∇L‖², or L + (γ/2n)Σ_i‖∇ℓ_i‖² per example (Karakida et al. arXiv:2210.02720).

    The objective that explicit GR (`dln_theory.GR`) descends, and the loss whose GD field is
    GR's modified field (``BEAField("gr", …)``).
    """
    if per_example:
        def example_norm2(example):
            g = objective.with_data(jax.tree.map(lambda a: a[None], example)).grad(params)
            return _tree.vdot(g, g)

        penalty = jnp.mean(jax.vmap(example_norm2)(objective.data))
    else:
        g = objective.grad(params)
        penalty = _tree.vdot(g, g)
    return objective.loss(params) + 0.5 * gamma * penalty


def _plain_loss(objective, params, h):
    return objective.loss(params)


def gd_field(order: int = 1) -> ModifiedField:
    """The modified field of GD truncated after the h^order term, 0 ≤ order ≤ 3.

    Orders 0 (the plain flow) and 1 (−∇Ẽ, `gd_modified_loss`) are the hand-written gradient
    forms; orders 2 and 3 are the generated B-series field (`BEAField("gd", order)`): from
    order 2 on the field is not a gradient (docs/conventions.md §5).
    """
    _check_order(order)
    if order == 0:
        return LossField(_plain_loss)
    if order == 1:
        return LossField(gd_modified_loss)
    return BEAField("gd", order)


def _check_order(order):
    if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= MAX_ORDER:
        raise ValueError(f"order={order!r} is not allowed: choose an integer in 0..{MAX_ORDER}")


class _Kind(NamedTuple):
    """One method whose generated modified field `BEAField` evaluates.

    Attributes:
        coefficients: names of its coefficients (`BEAField` fields), in the order ``field`` takes them.
        field: ``field(objective, order, *coefficients)`` -> f_h as a function of (θ, h).
    """

    coefficients: tuple[str, ...]
    field: Callable


def _on_loss(generated_field):
    """A kind whose generated field acts on L itself and takes its coefficients after (θ, h)."""
    def field(objective, order, *coefficients):
        f = generated_field(objective.loss, order)
        return lambda params, h: f(params, h, *coefficients)

    return field


def _gr_field(objective, order, gamma):
    """GR is GD on L̃ = L + (γ/2)‖∇L‖² (γ held fixed): GD's generated field on L̃."""
    return generated.gd_field(lambda p: gr_objective(objective, p, gamma), order)


class BEAField(ModifiedField):
    """Generated modified field f_h = Σ_τ C(τ) F(τ) of a one-step method, truncated after h^order.

    Backward error analysis by B-series (Hairer, Lubich, Wanner, GNI ch. IX); coefficients from
    ``derivations/codegen.py`` (``theory/generated/modified_fields.py``), elementary differentials
    of f = −∇L by nested jvp's at run time, L = ``objective.loss``. The exact flow of f_h over a
    time h matches one step of the method up to O(h^(order+2)), so at fixed time T the run and
    the flow differ by O(h^(order+1)).

    ``kind`` (a key of `BEAField.KINDS`) and its coefficients (array leaves, sweepable as
    ``field.gamma`` etc.):

    * ``"gd"``: θ ← θ − h∇L.
    * ``"gr"`` (``gamma``): θ ← θ − h∇L̃, L̃ = L + (γ/2)‖∇L‖²; GD's field on L̃ (γ held fixed).
    * ``"fgr"`` (``gamma``, ``eps``): θ ← θ − h[(1 − γ/ε)∇L + (γ/ε)∇L(θ + ε∇L)] (Karakida et al.
      arXiv:2210.02720, Alg. 1).
    * ``"bgr"`` (``gamma``, ``eps``): θ ← θ − h[(1 + γ/ε)∇L − (γ/ε)∇L(θ − ε∇L)].
    * ``"sam"`` (``rho``): unnormalized SAM θ ← θ − h∇L(θ + ρ∇L).
    * ``"extragradient"``: θ ← θ − h∇L(θ − h∇L).
    * ``"heavy_ball"`` (``momentum`` β): θ' = θ − h∇L + β(θ − θ_prev), principal modified field.

    For fgr, bgr and sam the expansion holds ε/h, γ/ε and ρ/h fixed: the truncation order is in
    (h, γ, ε, ρ) jointly, so scale them with h when comparing with a run.

    Args:
        kind: one of `BEAField.KINDS`.
        order: truncation order p ∈ {0, 1, 2, 3} (0 is the plain flow θ̇ = −∇L, or −∇L/(1−β)).
    """

    kind: str = eqx.field(static=True)
    order: int = eqx.field(static=True)
    gamma: jax.Array | None = hyperparameter(_validate.nonnegative, default=None, kw_only=True)
    eps: jax.Array | None = hyperparameter(_validate.positive, default=None, kw_only=True)
    rho: jax.Array | None = hyperparameter(_validate.nonnegative, default=None, kw_only=True)
    momentum: jax.Array | None = hyperparameter(_validate.unit_interval, default=None, kw_only=True)

    #: kind -> its coefficients and its generated field (a `_Kind`).
    KINDS: ClassVar[dict[str, _Kind]] = {
        "gd": _Kind((), _on_loss(generated.gd_field)),
        "gr": _Kind(("gamma",), _gr_field),
        "fgr": _Kind(("gamma", "eps"), _on_loss(generated.fgr_field)),
        "bgr": _Kind(("gamma", "eps"), _on_loss(generated.bgr_field)),
        "sam": _Kind(("rho",), _on_loss(generated.sam_field)),
        "extragradient": _Kind((), _on_loss(generated.extragradient_field)),
        "heavy_ball": _Kind(("momentum",), _on_loss(generated.heavy_ball_field)),
    }

    def __check_init__(self):
        _validate.one_of("kind", self.kind, self.KINDS)
        _check_order(self.order)
        needed = self.KINDS[self.kind].coefficients
        for name in self.hyperparameters():
            value = getattr(self, name)
            if name in needed and value is None:
                raise ValueError(f"{name}=None is not allowed for kind={self.kind!r}: "
                                 f"give {', '.join(needed)}")
            if name not in needed and value is not None:
                takes = ", ".join(needed) if needed else "no coefficients"
                raise ValueError(f"{name}={value.tolist()!r} is not allowed for kind={self.kind!r}: "
                                 f"it takes {takes}")

    def __call__(self, objective, params, h):
        kind = self.KINDS[self.kind]
        coefficients = [getattr(self, name) for name in kind.coefficients]
        return kind.field(objective, self.order, *coefficients)(params, h)


class SGDField(ModifiedField):
    """Random-reshuffling SGD, m = ⌊n/B⌋ batches per epoch: C̃ = C + (h/4m)Σ_k‖∇Ĉ_k‖².

    Smith, Dherin, Barrett, De, arXiv:2101.12176 (mean iterate over orderings); batches are the
    consecutive groups of ``batch_size`` examples.
    """

    batch_size: int = eqx.field(static=True)

    def __call__(self, objective, params, h):
        m = objective.n // self.batch_size
        data = jax.tree.map(lambda a: a[: m * self.batch_size].reshape((m, self.batch_size) + a.shape[1:]),
                            objective.data)

        def modified(p):
            grads = jax.vmap(lambda part: objective.with_data(part).grad(p))(data)
            penalty = jnp.sum(jax.vmap(lambda g: _tree.vdot(g, g))(grads))
            return objective.loss(p) + h / (4 * m) * penalty

        return _tree.scale(-1.0, jax.grad(modified)(params))


class HeavyBallField(ModifiedField):
    """θ̇ = −(1/(1−β)) ∇[L + h(1+β)/(4(1−β)²)‖∇L‖²] for heavy ball with momentum β.

    Ghosh et al., arXiv:2302.00849 (docs/conventions.md §5, derived). Higher orders:
    ``BEAField("heavy_ball", order, momentum=β)``.
    """

    momentum: jax.Array = hyperparameter(_validate.unit_interval)

    def __call__(self, objective, params, h):
        b = self.momentum

        def modified(p):
            g = objective.grad(p)
            return objective.loss(p) + h * (1 + b) / (4 * (1 - b) ** 2) * _tree.vdot(g, g)

        return _tree.scale(-1.0 / (1.0 - b), jax.grad(modified)(params))
