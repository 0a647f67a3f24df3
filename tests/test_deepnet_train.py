"""Deep-net training with the simulator's methods: every method runs, identities, limits, cache."""

import functools
import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import dln_theory as dt
from dln_theory import _cache, _tree
from dln_theory.deepnet import MLP, load_dataset
from dln_theory.deepnet import measure
from dln_theory.deepnet.cli import main as cli_main
from dln_theory.deepnet.compare import METHODS, compare, make_method
from dln_theory.deepnet.objective import NetObjective
from dln_theory.deepnet.train import Cosine, Piecewise, train


@functools.cache
def _digits(n=32, dtype=np.float32):
    return load_dataset("digits", n_train=n, dtype=dtype)


def _mlp(dtype=jnp.float32, width=8, seed=0):
    return MLP(64, width, 1, 10, jax.random.key(seed), dtype=dtype)


def _objective64(n=24, width=6):
    ds = _digits(n, np.float64)
    return NetObjective.create(_mlp(jnp.float64, width), ds.x_train, ds.y_train)


@pytest.mark.parametrize("name", METHODS)
def test_every_method_trains_a_tiny_mlp(name):
    ds = _digits()
    method = make_method(name, batch_size=16, eta=0.2, schedule=Cosine(total_steps=8))
    result = train(method, _mlp(), ds, 4, 0, eval_every=2, cache=False, progress=False)
    assert np.all(np.isfinite(result.train_loss)) and np.all(np.isfinite(result.grad_norm2))
    assert result.epoch.tolist() == [0, 2, 4]
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(result.network))
    if name == "sgd":
        assert result.train_loss[-1] < result.train_loss[0] - 0.1
        assert result.step_time_s > 0 and result.memory["compiled_bytes"] > 0


def test_objective_is_cross_entropy_and_protocol():
    objective, params = _objective64()
    logits = objective.predict(params, objective.x)
    expected = -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(objective.n), objective.y])
    np.testing.assert_allclose(objective.loss(params), expected, rtol=1e-12)
    sub = objective.subset(jnp.arange(5))
    assert sub.n == 5 and sub.labels.shape == (5,)
    assert objective.with_labels(objective.y[::-1]).labels[0] == objective.y[-1]


@pytest.mark.parametrize("batch_size", [16, None])
def test_fgr_with_gamma_eq_eps_eq_rho_is_unnormalized_sam_bit_for_bit(batch_size):
    ds = _digits()
    kw = dict(eta=0.3, batch_size=batch_size)
    a = train(dt.FGR(gamma=0.07, eps=0.07, **kw), _mlp(), ds, 3, 1, cache=False, progress=False)
    b = train(dt.SAM(rho=0.07, normalize=False, **kw), _mlp(), ds, 3, 1, cache=False, progress=False)
    for x, y in zip(jax.tree.leaves(a.network), jax.tree.leaves(b.network)):
        np.testing.assert_array_equal(x, y)


def test_fgr_is_unnormalized_sam_with_momentum_up_to_rounding():
    """With momentum the two programs are fused differently by XLA (fma or not in the velocity
    update), so they agree to a few ulp, not bit for bit; the directions themselves are equal."""
    ds = _digits()
    kw = dict(eta=0.3, batch_size=16, momentum=0.5)
    a = train(dt.FGR(gamma=0.07, eps=0.07, **kw), _mlp(), ds, 3, 1, cache=False, progress=False)
    b = train(dt.SAM(rho=0.07, normalize=False, **kw), _mlp(), ds, 3, 1, cache=False, progress=False)
    for x, y in zip(jax.tree.leaves(a.network), jax.tree.leaves(b.network)):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-6)


def test_gr_direction_is_grad_plus_gamma_hessian_grad():
    objective, params = _objective64()
    gamma = 0.3
    d = jax.jit(lambda p: dt.GR(eta=0.1, gamma=gamma).direction(p, objective, jax.random.key(0)))(params)

    @jax.jit
    def independent(p):
        g = objective.grad(p)
        return _tree.axpy(gamma, jax.jvp(objective.grad, (p,), (g,))[1], g)

    expected = independent(params)
    np.testing.assert_allclose(ravel_pytree(d)[0], ravel_pytree(expected)[0], rtol=1e-10, atol=1e-13)


def test_fgr_converges_to_gr_with_order_one():
    objective, params = _objective64()
    gamma, key = 0.5, jax.random.key(0)
    exact = ravel_pytree(dt.GR(eta=0.1, gamma=gamma).direction(params, objective, key))[0]
    eps = 1e-6 * 2.0 ** np.arange(5)  # below the ReLU kinks: the loss is smooth there
    direction = jax.jit(lambda e: ravel_pytree(
        dt.FGR(eta=0.1, gamma=gamma, eps=e).direction(params, objective, key))[0])
    errors = [float(jnp.linalg.norm(direction(e) - exact)) for e in eps]
    slope = np.polyfit(np.log(eps), np.log(errors), 1)[0]
    assert abs(slope - 1) < 0.2, (slope, errors)


def test_sharpness_matches_explicit_hessian():
    objective, params = _objective64(n=24, width=4)
    flat, unravel = ravel_pytree(params)
    hessian = jax.jit(jax.hessian(lambda v: objective.loss(unravel(v))))(flat)
    top = np.linalg.eigvalsh(np.asarray(hessian))[-1]
    lam = jax.jit(lambda p: measure.sharpness(objective, p, jax.random.key(1), iters=1000,
                                              tol=1e-14))(params)
    assert abs(float(lam) - top) <= 1e-6 * abs(top)


def test_chunked_measures_equal_unchunked():
    objective, params = _objective64(n=24, width=4)

    @jax.jit
    def both(p):
        return [(measure.grad_norm2(objective, p, c), *measure.loss_and_accuracy(objective, p, c))
                for c in (7, None)]

    chunked, whole = both(params)
    np.testing.assert_allclose(chunked, whole, rtol=1e-12)
    noise = jax.jit(lambda p: measure.noise_sensitivity(objective, p, jax.random.key(2), 1e-3, 4))
    assert float(noise(params)) > -1e-3


def test_sharpness_of_a_negative_dominant_spectrum_is_the_top_eigenvalue():
    class Quadratic(eqx.Module):
        """L(θ) = ½ θᵀ diag(c) θ, a stand-in objective with a known spectrum."""

        c: jax.Array

        @property
        def n(self):
            return 1

        @property
        def data(self):
            return (jnp.zeros((1, 1)), jnp.zeros(1, int))

        def predict(self, params, x):
            return 0.5 * jnp.sum(self.c * params**2) * jnp.ones((x.shape[0], 1))

        @staticmethod
        def example_loss(prediction, y):
            return prediction[..., 0]

    lam = measure.sharpness(Quadratic(jnp.array([-5.0, 1.0, 2.0])), jnp.ones(3), jax.random.key(0),
                            iters=2000, tol=1e-14)
    np.testing.assert_allclose(lam, 2.0, rtol=1e-6)


def test_cache_resumes_an_interrupted_run(tmp_path, monkeypatch):
    ds = _digits()
    method = dt.SGD(eta=0.2, batch_size=16, momentum=0.9)
    reference = train(method, _mlp(), ds, 4, 3, 1, cache=False, progress=False)

    calls = {"n": 0}
    original = _cache.ChunkStore.save

    def interrupt_after_block_2(self, index, arrays):
        if self.directory.name != "state" and index == 3:
            raise KeyboardInterrupt
        calls["n"] += 1
        return original(self, index, arrays)

    monkeypatch.setattr(_cache.ChunkStore, "save", interrupt_after_block_2)
    with pytest.raises(KeyboardInterrupt):
        train(method, _mlp(), ds, 4, 3, 1, cache_dir=tmp_path, progress=False)
    monkeypatch.setattr(_cache.ChunkStore, "save", original)
    resumed = train(method, _mlp(), ds, 4, 3, 1, cache_dir=tmp_path, progress=False)
    assert resumed.resumed_blocks == 2
    np.testing.assert_array_equal(resumed.train_loss, reference.train_loss)
    for x, y in zip(jax.tree.leaves(resumed.network), jax.tree.leaves(reference.network)):
        np.testing.assert_array_equal(x, y)
    again = train(method, _mlp(), ds, 4, 3, 1, cache_dir=tmp_path, progress=False)
    assert again.resumed_blocks == 4
    np.testing.assert_array_equal(again.test_acc, reference.test_acc)
    # another hyper-parameter value is another cache entry
    other = train(dt.SGD(eta=0.1, batch_size=16, momentum=0.9), _mlp(), ds, 4, 3, 1,
                  cache_dir=tmp_path, progress=False)
    assert other.resumed_blocks == 0 and other.cache_path != again.cache_path


def test_schedules():
    k = jnp.arange(0, 11)
    np.testing.assert_allclose(Cosine(10)(k)[np.array([0, 5, 10])], [1.0, 0.5, 0.0], atol=1e-7)
    np.testing.assert_allclose(Piecewise((3, 6), 0.2)(k)[np.array([0, 3, 6])], [1.0, 0.2, 0.04], rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(model="transformer"), "model='transformer' is not allowed"),
        (dict(methods=["sgd", "lbfgs"]), "methods='lbfgs' is not allowed"),
        (dict(data="imagenet"), "data='imagenet' is not allowed"),
        (dict(batch_size=100), "batch_size=100 is not allowed.*n_train=32"),
        (dict(data="cifar10", data_root="/nonexistent/folder", n_train=None), "data_root='/nonexistent/folder'"),
        (dict(data="cifar10", n_train=None), "root=None is not allowed"),
        (dict(values={"alpha": [1.0]}), "'alpha' is not allowed"),
        (dict(overrides={"sgd": {"gamma": [0.1]}}), "sgd.gamma is not allowed"),
        (dict(values={"eta": [-1.0]}), "eta=-1.0 is not allowed"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, match):
    args = dict(methods=["sgd"], model="mlp", data="digits", n_train=32, epochs=1, seeds=[0],
                batch_size=16, cache=False, progress=False)
    with pytest.raises(ValueError, match=match):
        compare(**{**args, **kwargs})


def test_bad_train_inputs():
    ds = _digits()
    with pytest.raises(ValueError, match="eval_every=3 is not allowed"):
        train(dt.SGD(eta=0.1, batch_size=16), _mlp(), ds, 4, 0, 3)
    with pytest.raises(ValueError, match="batch_size=64 is not allowed"):
        train(dt.SGD(eta=0.1, batch_size=64), _mlp(), ds, 1, 0)
    with pytest.raises(ValueError, match="method=.*is not allowed"):
        train("sgd", _mlp(), ds, 1, 0)
    with pytest.raises(ValueError, match="lam=0.1 is not allowed for method 'gr'"):
        make_method("gr", lam=0.1)
    with pytest.raises(ValueError, match="momentum=0.9 is not allowed for Adam"):
        make_method("adam", momentum=0.9)


def test_adam_from_the_registry_is_adam_with_its_moments():
    method = make_method("adam", eta=0.01, beta1=0.8, beta2=0.95, adam_eps=1e-6)
    assert isinstance(method, dt.Adam) and method.bias_correction
    assert (float(method.beta1), float(method.beta2), float(method.eps)) == (0.8, 0.95, 1e-6)


def test_cli_train_and_compare(tmp_path, capsys):
    common = ["--model", "mlp", "--width", "8", "--depth", "1", "--data", "digits", "--n-train", "32",
              "--batch-size", "16", "--epochs", "2", "--cache-dir", str(tmp_path / "cache"), "--no-progress"]
    out = tmp_path / "train.json"
    assert cli_main(["train", *common, "--method", "fgr", "--gamma", "0.01", "--eps", "0.05",
                     "--json", str(out)]) == 0
    assert len(json.loads(out.read_text())["curves"]["test_acc"]) == 2
    assert cli_main(["compare", *common, "--methods", "sgd,fgr", "--eps", "0.01,0.1", "--seeds", "2",
                     "--name", "t", "--out", str(tmp_path)]) == 0
    table = json.loads((tmp_path / "t.json").read_text())
    assert [r["label"] for r in table["rows"]] == ["sgd", "fgr γ=0.01 ε=0.01", "fgr γ=0.01 ε=0.1"]
    assert "± " in (tmp_path / "t.md").read_text()
    assert cli_main(["compare", *common, "--methods", "sgd,nope"]) == 2
    assert "methods='nope' is not allowed" in capsys.readouterr().err


@pytest.mark.gpu
@pytest.mark.skipif(jax.default_backend() != "gpu", reason="needs a GPU visible to JAX")
def test_trains_on_the_gpu():
    ds = _digits(256)
    result = train(dt.FGR(eta=0.2, gamma=0.01, eps=0.05, batch_size=64), _mlp(width=64), ds, 4, 0,
                   cache=False, progress=False)
    assert "cuda" in result.device.lower() or "gpu" in result.device.lower()
    assert result.train_loss[-1] < result.train_loss[0]
    assert result.memory["device_peak_bytes"] is not None
