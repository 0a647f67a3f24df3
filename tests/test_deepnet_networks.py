"""Networks: shapes, no coupling across the batch, parameter counts, gradients."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dln_theory.deepnet import (
    MLP,
    LeNet,
    ResNet18,
    WideResNet,
    make_network,
    num_params,
)

SMALL = [
    ("mlp", (8, 8, 1), {"width": 32, "depth": 2}),
    ("lenet", (8, 8, 1), {}),
    ("lenet", (28, 28, 1), {}),
    ("lenet", (32, 32, 3), {}),
    ("resnet18", (16, 16, 3), {"width": 0.125}),
    ("wrn", (16, 16, 3), {"depth": 10, "k": 1}),
]
IDS = [f"{name}-{'x'.join(map(str, shape))}" for name, shape, _ in SMALL]


@functools.cache
def _model_and_batch(name, shape, kw_items, n=3, num_classes=7):
    """One model per configuration. First initializations compile a random draw per layer shape;
    the "rbg" key compiles several times faster than the default threefry one."""
    key = jax.random.key(0, impl="rbg")
    model = make_network(name, shape, num_classes, key, **dict(kw_items))  # float32 by default
    x = jax.random.normal(jax.random.key(1), (n, *shape), jnp.float32)
    return model, x


@pytest.mark.parametrize(("name", "shape", "kw"), SMALL, ids=IDS)
def test_output_shape_purity_and_jit(name, shape, kw):
    model, x = _model_and_batch(name, shape, tuple(kw.items()))
    assert all(isinstance(leaf, jax.Array) and leaf.dtype == jnp.float32
               for leaf in jax.tree.leaves(model))
    forward = jax.jit(lambda m, x: m(x))
    logits = forward(model, x)
    assert logits.shape == (3, 7) and logits.dtype == jnp.float32
    others = forward(model, x.at[1:].set(-x[1:]))  # no batch statistics: row 0 is unchanged
    np.testing.assert_array_equal(others[0], logits[0])
    assert not np.array_equal(others[1], logits[1])


# Double backprop through the residual nets compiles for ~30 s on 2 cores: run those in `make test-slow`.
GR_CASES = [pytest.param(*case, marks=pytest.mark.slow) if case[0] in ("resnet18", "wrn") else case
            for case in SMALL]


@pytest.mark.parametrize(("name", "shape", "kw"), GR_CASES, ids=IDS)
def test_gradient_regularized_loss_has_finite_gradients(name, shape, kw):
    """∇(L + ½‖∇L‖²) by double backpropagation, as gradient regularization needs."""
    model, x = _model_and_batch(name, shape, tuple(kw.items()))
    y = jnp.array([0, 3, 6])

    def loss(m):
        return optax.softmax_cross_entropy_with_integer_labels(m(x), y).mean()

    def regularized(m):
        return loss(m) + 0.5 * optax.tree.norm(jax.grad(loss)(m), squared=True)

    grads = jax.jit(jax.grad(regularized))(model)
    leaves = jax.tree.leaves(grads)
    assert len(leaves) == len(jax.tree.leaves(model))
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in leaves)
    assert any(bool(jnp.any(g != 0)) for g in leaves)


def test_mlp_takes_flat_or_image_inputs():
    model = MLP(12, 16, 3, 4, jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (5, 2, 2, 3))
    np.testing.assert_array_equal(model(x), model(x.reshape(5, 12)))
    assert num_params(model) == 12 * 16 + 16 + 2 * (16 * 16 + 16) + 16 * 4 + 4
    assert num_params(MLP(12, 16, 0, 4, jax.random.key(0))) == 12 * 4 + 4


def _conv(cin, cout, size):
    return cin * cout * size * size


def _resnet18_count(widths, in_channels, num_classes):
    """He et al.'s CIFAR ResNet-18 with bias-free convolutions and GroupNorm (2 scalars/channel)."""
    total = _conv(in_channels, widths[0], 3) + 2 * widths[0]
    cin = widths[0]
    for stage, w in enumerate(widths):
        for i in range(2):
            total += _conv(cin, w, 3) + _conv(w, w, 3) + 2 * (2 * w)
            if stage > 0 and i == 0:
                total += _conv(cin, w, 1) + 2 * w
            cin = w
    return total + cin * num_classes + num_classes


def _wrn_count(depth, k, in_channels, num_classes):
    """Zagoruyko & Komodakis' WRN-depth-k: pre-activation blocks, 1×1 shortcut on a width change."""
    n = (depth - 4) // 6
    total, cin = _conv(in_channels, 16, 3), 16
    for stride, w in ((1, 16 * k), (2, 32 * k), (2, 64 * k)):
        for i in range(n):
            total += 2 * cin + _conv(cin, w, 3) + 2 * w + _conv(w, w, 3)
            if i == 0 and (stride != 1 or cin != w):
                total += _conv(cin, w, 1)
            cin = w
    return total + 2 * cin + cin * num_classes + num_classes


def test_parameter_counts_match_the_architecture():
    key = jax.random.key(0)
    assert _resnet18_count((64, 128, 256, 512), 3, 10) == 11_173_962  # the known ≈ 11.2M
    assert num_params(jax.eval_shape(lambda: ResNet18(3, 10, key))) == 11_173_962
    assert _wrn_count(28, 10, 3, 10) == 36_479_194  # the known ≈ 36.5M
    assert num_params(jax.eval_shape(lambda: WideResNet(3, 10, key))) == 36_479_194
    small = jax.eval_shape(lambda: ResNet18(1, 10, key, width=0.125))
    assert num_params(small) == _resnet18_count((8, 16, 32, 64), 1, 10)
    wrn = jax.eval_shape(lambda: WideResNet(3, 100, key, depth=10, k=2))
    assert num_params(wrn) == _wrn_count(10, 2, 3, 100)
    assert num_params(jax.eval_shape(lambda: LeNet((28, 28, 1), 10, key))) == (
        (25 * 6 + 6) + (6 * 25 * 16 + 16) + (16 * 7 * 7 * 120 + 120) + (120 * 84 + 84)
        + (84 * 10 + 10)
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda k: make_network("vgg", (32, 32, 3), 10, k), r"name='vgg' is not allowed: choose"),
        (lambda k: make_network("wrn", (32, 32), 10, k), r"input_shape=\(32, 32\) .*\(H, W, C\)"),
        (lambda k: LeNet((3, 8, 1), 10, k), r"input_shape=\(3, 8, 1\) .*>= 4"),
        (lambda k: WideResNet(3, 10, k, depth=27), r"depth=27 is not allowed: .*6n \+ 4"),
        (lambda k: WideResNet(3, 10, k, k=0), r"k=0 is not allowed"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build(jax.random.key(0))
