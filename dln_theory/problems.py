"""Problems: sparse Gaussian regression and classification, and user-supplied data.

Convention (docs/conventions.md §1): X ∈ R^{n×d}, y ∈ R^n, L(β) = (1/2n)‖Xβ − y‖² for the square
loss; for classification (``loss="exponential"`` or ``"logistic"``) y ∈ {−1, +1}ⁿ and
L(β) = (1/n) Σ_i ℓ(y_i⟨x_i, β⟩) (`dln_theory.classification`).
"""

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import _validate
from .classification import LOSSES as CLASSIFICATION_LOSSES
from .classification import OBJECTIVES, classification_objective
from .objective import Objective

LOSSES = ("square",) + CLASSIFICATION_LOSSES
"""The training losses a `Problem` may carry."""

BETA_DISTRIBUTIONS = ("abs_normal_unit", "normal", "sign", "constant")


class Problem(eqx.Module):
    """Training data, and optionally the teacher β* and a held-out test set.

    Checked on construction (before any compilation): X real of shape (..., n, d), y of shape
    (..., n), β* of shape (..., d), X_test (..., m, d) and y_test (..., m) given together; all
    finite when concrete (inside a transformation only shapes and dtypes are checked).
    ``loss`` is the training loss: ``"square"`` (default), or ``"exponential"``/``"logistic"``
    for classification, whose labels must be ±1.
    """

    X: jax.Array
    y: jax.Array
    beta_star: jax.Array | None = None
    X_test: jax.Array | None = None
    y_test: jax.Array | None = None
    loss: str = eqx.field(static=True, default="square", kw_only=True)

    def __check_init__(self):
        _validate.one_of("loss", self.loss, LOSSES)
        _check_arrays(self.X, self.y, self.beta_star, self.X_test, self.y_test)
        if self.loss != "square":
            _check_labels("y", self.y)
            if self.y_test is not None:
                _check_labels("y_test", self.y_test)

    def objective(self, model):
        """The loss oracle of ``model`` on the training data (`Objective` for the square loss,
        a `dln_theory.classification.ClassificationObjective` otherwise)."""
        if self.loss == "square":
            return Objective(model, self.X, self.y)
        return classification_objective(model, self.X, self.y, self.loss)

    @property
    def n(self) -> int:
        return self.X.shape[-2]

    @property
    def d(self) -> int:
        return self.X.shape[-1]

    def train_loss(self, beta):
        """L(β): (1/2n)‖Xβ − y‖² (docs/conventions.md §1), or (1/n) Σ_i ℓ(y_i⟨x_i, β⟩)."""
        if self.loss == "square":
            return 0.5 * jnp.mean((self.X @ beta - self.y) ** 2, axis=-1)
        return jnp.exp(self.log_train_loss(beta))

    def log_train_loss(self, beta):
        """log L(β), exact where L underflows (classification; `dln_theory.classification`)."""
        if self.loss == "square":
            return jnp.log(self.train_loss(beta))
        return _log_mean_loss(self.X, self.y, beta, self.loss)

    def test_error(self, beta):
        """‖β − β*‖²."""
        if self.beta_star is None:
            raise ValueError("test_error needs beta_star: this problem was built without a teacher")
        return jnp.sum((beta - self.beta_star) ** 2, axis=-1)

    def test_loss(self, beta):
        """The training loss's mean on the held-out set ((1/2n_test)‖X_test β − y_test‖² for the
        square loss)."""
        if self.X_test is None:
            raise ValueError("test_loss needs a test set: this problem was built without X_test")
        if self.loss == "square":
            return 0.5 * jnp.mean((beta @ self.X_test.T - self.y_test) ** 2, axis=-1)
        return jnp.exp(_log_mean_loss(self.X_test, self.y_test, beta, self.loss))


def _log_mean_loss(X, y, beta, loss):
    """log (1/n) Σ_i ℓ(y_i⟨x_i, β⟩) for β of shape (..., d)."""
    logs = OBJECTIVES[loss].log_example_loss(beta @ X.T, y)
    return jax.nn.logsumexp(logs, axis=-1) - jnp.log(y.shape[-1])


def _check_labels(name, y):
    """Classification labels: every entry −1 or +1 (concrete arrays only)."""
    if _validate.is_traced(y):
        return
    bad = ~np.isin(np.asarray(y), (-1.0, 1.0))
    if np.any(bad):
        first = int(np.argmax(bad))
        raise ValueError(
            f"{name}[{first}]={np.asarray(y)[first]!r} is not allowed: classification labels "
            f"({name}) must be -1 or +1"
        )


def _check_arrays(X, y, beta_star, X_test, y_test):
    """Shapes, dtypes and finiteness of a `Problem`'s arrays; NumPy only (no JAX op runs)."""
    X, y = _validate.real_array("X", X), _validate.real_array("y", y)
    if X.ndim < 2 or 0 in X.shape[-2:]:
        raise ValueError(f"X has shape {X.shape}: X must be an array of shape (n, d), n, d >= 1")
    batch, (n, d) = X.shape[:-2], X.shape[-2:]
    _validate.shape_is("y", y, batch + (n,), f"(n,) = ({n},) to match X of shape {X.shape}")
    if beta_star is not None:
        beta_star = _validate.real_array("beta_star", beta_star)
        described = f"(d,) = ({d},) to match X of shape {X.shape}"
        _validate.shape_is("beta_star", beta_star, batch + (d,), described)
    if (X_test is None) != (y_test is None):
        given = "X_test" if y_test is None else "y_test"
        raise ValueError(f"{given} was given alone: X_test and y_test must be given together")
    if X_test is not None:
        X_test = _validate.real_array("X_test", X_test)
        y_test = _validate.real_array("y_test", y_test)
        if X_test.ndim != X.ndim or X_test.shape[-1] != d:
            raise ValueError(
                f"X_test has shape {X_test.shape}: X_test must have shape (m, d) = (m, {d})"
            )
        described = f"(m,) = ({X_test.shape[-2]},) to match X_test"
        _validate.shape_is("y_test", y_test, X_test.shape[:-1], described)
    arrays = {"X": X, "y": y, "beta_star": beta_star, "X_test": X_test, "y_test": y_test}
    for name, value in arrays.items():
        if value is not None:
            _validate.all_finite(name, value)
    return tuple(arrays.values())


def from_data(X, y, beta_star=None, X_test=None, y_test=None, *, loss: str = "square") -> Problem:
    """A `Problem` from user-supplied arrays (lists, NumPy or JAX), checked and stored as float64.

    ``loss``: ``"square"`` (regression, default), ``"exponential"`` or ``"logistic"``
    (classification: labels y, y_test in {−1, +1}).

    Raises:
        ValueError: an unknown loss, a shape that does not match (n, d), NaN or inf anywhere,
            classification labels other than ±1.
        InputTypeError: complex, text or ragged data (also a TypeError).
    """
    _validate.one_of("loss", loss, LOSSES)
    arrays = _check_arrays(X, y, beta_star, X_test, y_test)
    if arrays[0].ndim != 2:
        raise ValueError(f"X has shape {arrays[0].shape}: X must be a 2-D array of shape (n, d)")
    as_jnp = lambda a: None if a is None else jnp.asarray(a, dtype=float)  # noqa: E731
    if loss != "square":
        _check_labels("y", arrays[1])
        if arrays[4] is not None:
            _check_labels("y_test", arrays[4])
    return Problem(*(as_jnp(a) for a in arrays), loss=loss)


@dataclass(frozen=True)
class SparseRegression:
    """Sparse Gaussian regression: x ~ N(0, I_d), y = ⟨β*, x⟩ + σ·N(0, 1).

    β* is supported on its first ``k`` coordinates, drawn from ``beta_dist``:
    ``"abs_normal_unit"`` |N(0,1)| normalized to ‖β*‖ = 1 (Andriushchenko & Flammarion,
    arXiv:2206.06232), ``"normal"`` N(0,1), ``"sign"`` ±1, ``"constant"`` 1/√k.
    The test set has ``n_test`` noiseless points. ``sample(seed)`` is jittable and vmappable
    over the seed, so a sweep can draw one data set per configuration.
    """

    n: int
    d: int
    k: int
    sigma: float = 0.0
    n_test: int = 1000
    beta_dist: str = "abs_normal_unit"

    def __post_init__(self):
        for name, low in (("n", 1), ("d", 1), ("k", 0), ("n_test", 0)):  # NumPy integers become int
            value = _validate.integer_at_least(name, getattr(self, name), low)
            object.__setattr__(self, name, value)
        if self.k > self.d:
            raise ValueError(
                f"k={self.k} is not allowed: the number of nonzeros must be <= d={self.d}"
            )
        _validate.scalar("sigma", self.sigma)
        _validate.nonnegative("sigma", self.sigma)
        object.__setattr__(self, "sigma", float(self.sigma))
        _validate.one_of("beta_dist", self.beta_dist, BETA_DISTRIBUTIONS)

    @property
    def support(self) -> np.ndarray:
        """Boolean mask of the support of β*."""
        return np.arange(self.d) < self.k

    def sample(self, seed) -> Problem:
        """Draw (X, y, β*, X_test, y_test) from an integer seed or a PRNG key."""
        key = jax.random.PRNGKey(seed) if jnp.ndim(seed) == 0 else seed
        kx, kb, kn, kt = jax.random.split(key, 4)
        X = jax.random.normal(kx, (self.n, self.d))
        beta_star = self._teacher(kb)
        y = X @ beta_star + self.sigma * jax.random.normal(kn, (self.n,))
        X_test = jax.random.normal(kt, (self.n_test, self.d))
        return Problem(X, y, beta_star, X_test, X_test @ beta_star)

    def _teacher(self, key):
        on = jnp.arange(self.d) < self.k
        z = jax.random.normal(key, (self.d,))
        if self.beta_dist == "abs_normal_unit":
            b = jnp.where(on, jnp.abs(z), 0.0)
            return b / jnp.maximum(jnp.linalg.norm(b), jnp.finfo(b.dtype).tiny)
        if self.beta_dist == "normal":
            return jnp.where(on, z, 0.0)
        if self.beta_dist == "sign":
            return jnp.where(on, jnp.sign(z), 0.0)
        return jnp.where(on, 1.0 / np.sqrt(max(self.k, 1)), 0.0)



@dataclass(frozen=True)
class SparseClassification:
    """Separable sparse classification: x ~ N(0, I_d), y = sign⟨β*, x⟩ ∈ {−1, +1}.

    β* is supported on its first ``k`` ≥ 1 coordinates, drawn as in `SparseRegression`
    (``beta_dist``); the data are separated by β* (ties ⟨β*, x⟩ = 0 have probability 0 and are
    labelled +1). ``loss`` is ``"exponential"`` (Moroshko et al. arXiv:2007.06738) or
    ``"logistic"``. The test set has ``n_test`` points labelled by β*. ``sample(seed)`` is
    jittable and vmappable over the seed.
    """

    n: int
    d: int
    k: int
    n_test: int = 1000
    beta_dist: str = "abs_normal_unit"
    loss: str = "exponential"

    def __post_init__(self):
        for name, low in (("n", 1), ("d", 1), ("k", 1), ("n_test", 0)):
            object.__setattr__(self, name, _validate.integer_at_least(name, getattr(self, name), low))
        if self.k > self.d:
            raise ValueError(f"k={self.k} is not allowed: the number of nonzeros must be <= d={self.d}")
        _validate.one_of("beta_dist", self.beta_dist, BETA_DISTRIBUTIONS)
        _validate.one_of("loss", self.loss, CLASSIFICATION_LOSSES)

    def sample(self, seed) -> Problem:
        """Draw (X, y, β*, X_test, y_test) from an integer seed or a PRNG key."""
        key = jax.random.PRNGKey(seed) if jnp.ndim(seed) == 0 else seed
        kx, kb, kt = jax.random.split(key, 3)
        teacher = SparseRegression(self.n, self.d, self.k, beta_dist=self.beta_dist)
        beta_star = teacher._teacher(kb)
        X = jax.random.normal(kx, (self.n, self.d))
        X_test = jax.random.normal(kt, (self.n_test, self.d))
        label = lambda A: jnp.where(A @ beta_star >= 0, 1.0, -1.0)  # noqa: E731
        return Problem(X, label(X), beta_star, X_test, label(X_test), loss=self.loss)
