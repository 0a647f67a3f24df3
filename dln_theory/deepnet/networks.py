"""Classification networks as pure functions of a batch: MLP, LeNet, ResNet-18, Wide ResNet.

Every network maps images (N, H, W, C) to logits (N, num_classes) (the MLP also takes flat
(N, D) inputs), and its pytree leaves are all parameter arrays, so `jax.jit` and `jax.grad`
apply to it directly. Normalization is GroupNorm (Wu & He 2018, arXiv:1803.08494) with
gcd(channels, `groups`) groups, never BatchNorm: a network holds no mutable state, so a loss is
a pure function of the parameters, as gradient regularization by double backpropagation and
Hessian-vector power iteration need (Karakida et al., arXiv:2210.02720). Layers use equinox's
default initialization (uniform on ±1/√fan_in); convolutions before a norm have no bias.
Parameters are float32 unless `dtype` says otherwise, although `dln_theory` enables float64:
float64 convolutions are several times slower on a CPU. Feed inputs of the same dtype.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp


class MLP(eqx.Module):
    """Fully connected ReLU network on flattened inputs (Karakida et al. use width 512).

    Args:
        in_size: input features, H·W·C for images.
        width: units per hidden layer.
        depth: number of hidden layers (0 gives a linear model).
        num_classes: outputs.
        key: PRNG key.
        dtype: parameter dtype.
    """

    layers: tuple[eqx.nn.Linear, ...]

    def __init__(self, in_size: int, width: int, depth: int, num_classes: int, key, *,
                 dtype=jnp.float32):
        sizes = [in_size] + [width] * depth + [num_classes]
        keys = jax.random.split(key, depth + 1)
        self.layers = tuple(eqx.nn.Linear(a, b, dtype=dtype, key=k)
                            for a, b, k in zip(sizes[:-1], sizes[1:], keys, strict=True))

    def __call__(self, x):
        x = x.reshape(x.shape[0], -1)
        for layer in self.layers[:-1]:
            x = jax.nn.relu(jax.vmap(layer)(x))
        return jax.vmap(self.layers[-1])(x)


class LeNet(eqx.Module):
    """LeNet-5 style CNN (LeCun et al. 1998), the network of Varga et al. (arXiv:1712.09936).

    conv 5×5 (6) – ReLU – max-pool 2 – conv 5×5 (16) – ReLU – max-pool 2 – dense 120 – ReLU –
    dense 84 – ReLU – dense num_classes. Convolutions pad to keep the size ("SAME"), so the
    flattened size is 16·⌊H/4⌋·⌊W/4⌋ and 8×8 digits, 28×28 MNIST and 32×32 CIFAR all fit.

    Args:
        input_shape: (H, W, C) of one image, H and W ≥ 4.
        num_classes: outputs.
        key: PRNG key.
        dtype: parameter dtype.
    """

    conv1: eqx.nn.Conv2d
    conv2: eqx.nn.Conv2d
    fc1: eqx.nn.Linear
    fc2: eqx.nn.Linear
    fc3: eqx.nn.Linear

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int, key, *,
                 dtype=jnp.float32):
        h, w, c = _image_shape(input_shape)
        if min(h, w) < 4:
            raise ValueError(f"input_shape={tuple(input_shape)} is not allowed: LeNet pools twice "
                             f"by 2, so H and W must be >= 4")
        keys = jax.random.split(key, 5)
        self.conv1 = eqx.nn.Conv2d(c, 6, 5, padding="SAME", dtype=dtype, key=keys[0])
        self.conv2 = eqx.nn.Conv2d(6, 16, 5, padding="SAME", dtype=dtype, key=keys[1])
        self.fc1 = eqx.nn.Linear(16 * (h // 4) * (w // 4), 120, dtype=dtype, key=keys[2])
        self.fc2 = eqx.nn.Linear(120, 84, dtype=dtype, key=keys[3])
        self.fc3 = eqx.nn.Linear(84, num_classes, dtype=dtype, key=keys[4])

    def __call__(self, x):
        return jax.vmap(self._single)(x)

    def _single(self, x):
        pool = eqx.nn.MaxPool2d(2, 2)
        x = pool(jax.nn.relu(self.conv1(x.transpose(2, 0, 1))))
        x = pool(jax.nn.relu(self.conv2(x))).reshape(-1)
        return self.fc3(jax.nn.relu(self.fc2(jax.nn.relu(self.fc1(x)))))


class BasicBlock(eqx.Module):
    """ResNet basic block: conv 3×3 – norm – ReLU – conv 3×3 – norm, plus shortcut, ReLU.

    The shortcut is a 1×1 convolution and a norm when the stride or the width changes.
    """

    conv1: eqx.nn.Conv2d
    norm1: eqx.nn.GroupNorm
    conv2: eqx.nn.Conv2d
    norm2: eqx.nn.GroupNorm
    shortcut: tuple[eqx.nn.Conv2d, eqx.nn.GroupNorm] | None

    def __init__(self, cin: int, cout: int, stride: int, groups: int, key, dtype=jnp.float32):
        keys = jax.random.split(key, 3)
        self.conv1 = _conv(cin, cout, 3, stride, keys[0], dtype)
        self.norm1 = _norm(cout, groups, dtype)
        self.conv2 = _conv(cout, cout, 3, 1, keys[1], dtype)
        self.norm2 = _norm(cout, groups, dtype)
        self.shortcut = None
        if stride != 1 or cin != cout:
            projection = _conv(cin, cout, 1, stride, keys[2], dtype)
            self.shortcut = (projection, _norm(cout, groups, dtype))

    def __call__(self, x):
        out = self.norm2(self.conv2(jax.nn.relu(self.norm1(self.conv1(x)))))
        skip = x if self.shortcut is None else self.shortcut[1](self.shortcut[0](x))
        return jax.nn.relu(out + skip)


class ResNet18(eqx.Module):
    """ResNet-18, CIFAR variant (He et al. 2016, arXiv:1512.03385), with GroupNorm.

    3×3 stem (no max-pool), four stages of two `BasicBlock`s with widths 64, 128, 256, 512 times
    `width` (strides 1, 2, 2, 2), global average pooling, dense layer. At width 1 and 10 classes
    it has 11,173,962 parameters; width=0.125 trains in minutes on a CPU.

    Args:
        in_channels: image channels C.
        num_classes: outputs.
        key: PRNG key.
        width: factor on the stage widths (each rounded, at least 1).
        groups: GroupNorm groups, reduced to gcd(channels, groups).
        dtype: parameter dtype.
    """

    stem: eqx.nn.Conv2d
    stem_norm: eqx.nn.GroupNorm
    blocks: tuple[BasicBlock, ...]
    fc: eqx.nn.Linear

    def __init__(self, in_channels: int, num_classes: int, key, *, width: float = 1.0,
                 groups: int = 32, dtype=jnp.float32):
        widths = [max(1, round(base * width)) for base in (64, 128, 256, 512)]
        keys = jax.random.split(key, 10)
        self.stem = _conv(in_channels, widths[0], 3, 1, keys[0], dtype)
        self.stem_norm = _norm(widths[0], groups, dtype)
        blocks, cin = [], widths[0]
        for stage, cout in enumerate(widths):
            for i in range(2):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(BasicBlock(cin, cout, stride, groups, keys[1 + len(blocks)], dtype))
                cin = cout
        self.blocks = tuple(blocks)
        self.fc = eqx.nn.Linear(cin, num_classes, dtype=dtype, key=keys[9])

    def __call__(self, x):
        return jax.vmap(self._single)(x)

    def _single(self, x):
        x = jax.nn.relu(self.stem_norm(self.stem(x.transpose(2, 0, 1))))
        for block in self.blocks:
            x = block(x)
        return self.fc(jnp.mean(x, axis=(1, 2)))


class WideBlock(eqx.Module):
    """Pre-activation wide block: norm – ReLU – conv 3×3 – norm – ReLU – conv 3×3, plus shortcut.

    The shortcut is a 1×1 convolution of the activated input when the stride or width changes.
    No dropout, so that the network stays deterministic.
    """

    norm1: eqx.nn.GroupNorm
    conv1: eqx.nn.Conv2d
    norm2: eqx.nn.GroupNorm
    conv2: eqx.nn.Conv2d
    shortcut: eqx.nn.Conv2d | None

    def __init__(self, cin: int, cout: int, stride: int, groups: int, key, dtype=jnp.float32):
        keys = jax.random.split(key, 3)
        self.norm1 = _norm(cin, groups, dtype)
        self.conv1 = _conv(cin, cout, 3, stride, keys[0], dtype)
        self.norm2 = _norm(cout, groups, dtype)
        self.conv2 = _conv(cout, cout, 3, 1, keys[1], dtype)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = _conv(cin, cout, 1, stride, keys[2], dtype)

    def __call__(self, x):
        a = jax.nn.relu(self.norm1(x))
        out = self.conv2(jax.nn.relu(self.norm2(self.conv1(a))))
        return out + (x if self.shortcut is None else self.shortcut(a))


class WideResNet(eqx.Module):
    """WRN-depth-k, CIFAR variant (Zagoruyko & Komodakis 2016, arXiv:1605.07146), with GroupNorm.

    3×3 stem with 16 channels, three groups of (depth − 4)/6 `WideBlock`s with widths 16k, 32k,
    64k (strides 1, 2, 2), norm – ReLU, global average pooling, dense layer. WRN-28-10 is the
    network of Karakida et al.'s CIFAR-10 runs (36,479,194 parameters for 10 classes); depth=10,
    k=1 is a small variant.

    Args:
        in_channels: image channels C.
        num_classes: outputs.
        key: PRNG key.
        depth: total depth, 6n + 4.
        k: widening factor.
        groups: GroupNorm groups, reduced to gcd(channels, groups).
        dtype: parameter dtype.
    """

    stem: eqx.nn.Conv2d
    blocks: tuple[WideBlock, ...]
    norm: eqx.nn.GroupNorm
    fc: eqx.nn.Linear

    def __init__(self, in_channels: int, num_classes: int, key, *, depth: int = 28, k: int = 10,
                 groups: int = 32, dtype=jnp.float32):
        if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
            raise ValueError(f"depth={depth!r} is not allowed: depth must be 6n + 4 with n >= 1")
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k={k!r} is not allowed: k must be an integer >= 1")
        n = (depth - 4) // 6
        keys = jax.random.split(key, 3 * n + 2)
        self.stem = _conv(in_channels, 16, 3, 1, keys[0], dtype)
        blocks, cin = [], 16
        for group, cout in enumerate((16 * k, 32 * k, 64 * k)):
            for i in range(n):
                stride = 2 if group > 0 and i == 0 else 1
                blocks.append(WideBlock(cin, cout, stride, groups, keys[1 + len(blocks)], dtype))
                cin = cout
        self.blocks = tuple(blocks)
        self.norm = _norm(cin, groups, dtype)
        self.fc = eqx.nn.Linear(cin, num_classes, dtype=dtype, key=keys[-1])

    def __call__(self, x):
        return jax.vmap(self._single)(x)

    def _single(self, x):
        x = self.stem(x.transpose(2, 0, 1))
        for block in self.blocks:
            x = block(x)
        return self.fc(jnp.mean(jax.nn.relu(self.norm(x)), axis=(1, 2)))


def num_params(model) -> int:
    """Number of scalars in the model's array leaves.

    Also counts a `jax.eval_shape` skeleton, so sizing WRN-28-10 allocates nothing.
    """
    leaves = jax.tree.leaves(model)
    return sum(math.prod(leaf.shape) for leaf in leaves
               if eqx.is_array(leaf) or isinstance(leaf, jax.ShapeDtypeStruct))


def make_network(name: str, input_shape, num_classes: int, key, **kw) -> eqx.Module:
    """Build a network by name for images of shape `input_shape` = (H, W, C).

    Args:
        name: one of `NETWORKS`: "mlp" (width 512, depth 2 unless given), "lenet", "resnet18",
            "wrn" (WideResNet).
        input_shape: shape of one input.
        num_classes: outputs.
        key: PRNG key.
        **kw: keyword arguments of the network class.

    Raises:
        ValueError: unknown name.
    """
    if name not in NETWORKS:
        raise ValueError(f"name={name!r} is not allowed: choose one of {sorted(NETWORKS)}")
    return NETWORKS[name](tuple(input_shape), num_classes, key, **kw)


def _mlp(input_shape, num_classes, key, *, width=512, depth=2, **kw):
    return MLP(math.prod(input_shape), width, depth, num_classes, key, **kw)


def _resnet18(input_shape, num_classes, key, **kw):
    return ResNet18(_image_shape(input_shape)[2], num_classes, key, **kw)


def _wrn(input_shape, num_classes, key, **kw):
    return WideResNet(_image_shape(input_shape)[2], num_classes, key, **kw)


NETWORKS = {"mlp": _mlp, "lenet": LeNet, "resnet18": _resnet18, "wrn": _wrn}


def _image_shape(input_shape) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ValueError(f"input_shape={tuple(input_shape)} is not allowed: give (H, W, C)")
    return tuple(input_shape)


def _conv(cin, cout, size, stride, key, dtype):
    return eqx.nn.Conv2d(cin, cout, size, stride, padding=size // 2, use_bias=False, dtype=dtype,
                         key=key)


def _norm(channels, groups, dtype):
    return eqx.nn.GroupNorm(math.gcd(channels, groups), channels, dtype=dtype)
