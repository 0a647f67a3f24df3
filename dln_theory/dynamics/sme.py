"""Stochastic modified equations (SME) of SGD, integrated by a diffrax SDE solver over time η per step.

SGD with B examples drawn uniformly with replacement, θ_{k+1} = θ_k − η∇L_B(θ_k), has one-step
mean −η∇L and covariance η²Σ(θ), with

    Σ(θ) = (1/B)·(1/n) Σ_i (∇ℓ_i − ∇L)(∇ℓ_i − ∇L)ᵀ   [+ (σ²/B)·(1/n) Σ_i ∇f_i ∇f_iᵀ with label noise σ],

where ℓ_i = ½(f_i − y_i)² and f_i = f_θ(x_i). Li, Tai & E (arXiv:1511.06251, Thm 1; the JMLR
version is arXiv:1811.01558) approximate it in the weak sense by the Itô SDEs

    order 1:  dX = −∇L(X) dt + (ηΣ(X))^{1/2} dW,
    order 2:  dX = −∇[L(X) + (η/4)‖∇L(X)‖²] dt + (ηΣ(X))^{1/2} dW,

with |E g(θ_k) − E g(X_{kη})| ≤ C·η^order for smooth g and kη ≤ T; SGD is eq. (2) of
arXiv:1511.06251 (B = 1 there; B examples divide Σ by B). The first-order SME is eq. (2) of Li,
Malladi & Arora (arXiv:2102.12470), whose Thm 4.3 simulates it by SVAG. The order-2
drift is GD's modified loss (Barrett & Dherin arXiv:2009.11162); the diffusion is the same.

Implementation (our choices, checked by ``tests/test_sme.py``):

* Σ = G Gᵀ with G = [(∇ℓ_i − ∇L)/√(nB)]_i [, σ∇f_i/√(nB)]_i, a (p × m) factor, m = n or 2n, so
  no matrix square root is taken and W is m-dimensional. ``batch_size=None`` models the full batch
  (no sampling noise; the label-noise columns then read σ∇f_i/n, as B = n).
* Time is rescaled to s = t/η ∈ [0, 1] per step: dX = η b(X) ds + η G(X) dB_s. The Brownian path is a
  `diffrax.VirtualBrownianTree` on [0, 1] with space-time Lévy area, keyed by the step's key, so
  a seed fixes the path bit for bit and paths at different ``substeps`` are the same path.
* The solver is a Stratonovich stochastic Runge-Kutta method (default `diffrax.GeneralShARK`,
  deterministic order 2), so the Itô SDE is solved in its Stratonovich form, with drift
  b − ½η Σ_j (DG_j)G_j (the Itô-Stratonovich correction, one JVP per noise column).
* ``substeps`` fixed steps per SGD step (step ds = 1/substeps, a power of 2). The default 8 is
  measured in `dln_theory.verify.sme`: on the same Brownian paths, 8 and 16 substeps move the
  mean of β by 2.6e-4 at η = 0.4 (the solver's weak error falls by ~4.6 per doubling).
"""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .. import _validate
from .._hyper import hyperparameter
from ..theory.modified_losses import gd_modified_loss
from ._base import Method

#: The largest number of solver steps per SGD step (the depth of the Brownian tree is log₂ of it).
MAX_SUBSTEPS = 2**16


class SME(Method):
    """Stochastic modified equation of order 1 or 2 of SGD with replacement (module docstring).

    Args:
        eta: step size η of the SGD being modelled; one step advances the SDE by time η.
        batch_size: B, examples per SGD step (None: full batch, label noise only).
        order: 1 or 2 (the drift −∇L or −∇[L + (η/4)‖∇L‖²]).
        label_noise: σ of the N(0, σ²) noise added to each drawn label (Pesme et al. arXiv:2106.09524 §5).
        substeps: solver steps per SGD step.
        solver: a Stratonovich diffrax SDE solver using space-time Lévy area.
    """

    batch_size: int | None = eqx.field(static=True)
    order: int = eqx.field(static=True, default=1)
    label_noise: jax.Array | None = hyperparameter(_validate.nonnegative, default=None, kw_only=True)
    substeps: int = eqx.field(static=True, default=8, kw_only=True)
    solver: diffrax.AbstractSolver = eqx.field(static=True, default=diffrax.GeneralShARK(), kw_only=True)

    def __check_init__(self):
        if self.batch_size is not None:
            _validate.integer_at_least("batch_size", self.batch_size, 1)
        _validate.one_of("order", self.order, (1, 2))
        substeps = _validate.integer_at_least("substeps", self.substeps, 1)
        if substeps & (substeps - 1) or substeps > MAX_SUBSTEPS:
            raise ValueError(f"substeps={substeps} is not allowed: it must be a power of 2 <= {MAX_SUBSTEPS} "
                             "(steps on the dyadic grid of the Brownian tree)")
        if self.batch_size is None and self.label_noise is None:
            raise ValueError("batch_size=None and label_noise=None is not allowed: the SME has no noise; "
                             "give batch_size (sampling noise) or label_noise, or use ModifiedFlow for the drift alone")

    @property
    def stochastic(self) -> bool:
        return True

    def check_objective(self, objective) -> None:
        """Any objective: with replacement, B may exceed n."""

    def init(self, params, objective) -> None:
        return None

    def drift(self, objective, params):
        """The Itô drift b(θ): −∇L (order 1) or −∇[L + (η/4)‖∇L‖²] (order 2)."""
        if self.order == 1:
            g = objective.grad(params)
        else:
            g = jax.grad(lambda p: gd_modified_loss(objective, p, self.eta))(params)
        return jax.tree.map(jnp.negative, g)

    def noise_factor(self, objective, flat, unravel):
        """G(θ) of shape (p, m), Σ = GGᵀ (module docstring), at the flattened parameters ``flat``."""
        X, y = objective.data
        n = objective.n
        columns = []
        if self.batch_size is not None:
            per_example = jax.jacrev(lambda f: objective.example_loss(objective.predict(unravel(f), X), y))(flat)
            centred = per_example - jnp.mean(per_example, axis=0)
            columns.append(centred.T / jnp.sqrt(n * self.batch_size))
        if self.label_noise is not None:
            jac = jax.jacrev(lambda f: objective.predict(unravel(f), X))(flat)
            scale = jnp.sqrt(n * (n if self.batch_size is None else self.batch_size))
            columns.append(self.label_noise * jac.T / scale)
        return jnp.concatenate(columns, axis=1)

    def ito_correction(self, factor, flat):
        """Σ_j (DG_j)G_j at ``flat``: the JVP of G along its own column j, column j taken, summed.

        The Itô drift b and the Stratonovich drift b − ½η Σ_j (DG_j)G_j define the same process
        (the SME's diffusion is √η·G).
        """
        G = factor(flat)
        dG = jax.vmap(lambda col, j: jax.jvp(factor, (flat,), (col,))[1][:, j], in_axes=(1, 0))(
            G, jnp.arange(G.shape[1]))
        return jnp.sum(dG, axis=0)

    def step(self, params, state, objective, key):
        flat0, unravel = ravel_pytree(params)
        eta = self.eta

        def factor(f):
            return self.noise_factor(objective, f, unravel)

        def drift(s, f, args):  # in s = t/η: η·(b − ½η Σ_j (DG_j)G_j)
            b = ravel_pytree(self.drift(objective, unravel(f)))[0]
            return eta * (b - 0.5 * eta * self.ito_correction(factor, f))

        m = jax.eval_shape(factor, flat0).shape[1]
        path = diffrax.VirtualBrownianTree(0.0, 1.0, tol=0.5 / self.substeps, shape=(m,), key=key,
                                           levy_area=diffrax.SpaceTimeLevyArea)
        terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(lambda s, f, args: eta * factor(f), path))
        sol = diffrax.diffeqsolve(terms, self.solver, t0=0.0, t1=1.0, dt0=1.0 / self.substeps, y0=flat0,
                                  saveat=diffrax.SaveAt(t1=True), max_steps=self.substeps, throw=False)
        ok = sol.result == diffrax.RESULTS.successful
        return unravel(jnp.where(ok, sol.ys[-1], jnp.nan)), state, {"dt": eta}
