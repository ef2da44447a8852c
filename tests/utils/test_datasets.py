"""Real data without a network: IDX files, the MNIST/FashionMNIST classes, scikit-learn's digits."""
from __future__ import annotations

import gzip
import struct
import sys

import numpy as np
import pytest

import disttorch
from disttorch.utils.data import DataLoader
from disttorch.utils.data.datasets import MNIST, FashionMNIST, load_digits, load_idx

_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding of ``arr``: magic, big-endian sizes, big-endian data."""
    code = _CODES[arr.dtype.type]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path, arr, gz=False):
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_load_idx_round_trip(tmp_path, gz, dtype):
    rng = np.random.default_rng(0)
    arr = (rng.uniform(-100, 100, size=(4, 3, 2)) if dtype in (np.float32, np.float64)
           else rng.integers(0, 100, size=(4, 3, 2))).astype(dtype)
    t = load_idx(write_idx(tmp_path / "a.idx", arr, gz))
    assert isinstance(t, disttorch.Tensor) and tuple(t.shape) == (4, 3, 2)
    assert t.dtype == disttorch.from_numpy(arr).dtype
    np.testing.assert_array_equal(t.numpy(), arr)


def test_load_idx_shapes(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    assert load_idx(write_idx(tmp_path / "l", labels)).tolist() == [3, 1, 4, 1, 5]
    empty = np.zeros((0, 28, 28), dtype=np.uint8)
    assert tuple(load_idx(write_idx(tmp_path / "e.gz", empty, gz=True)).shape) == (0, 28, 28)
    # the name does not decide: a gzipped file without .gz and a plain one with .gz both load
    assert load_idx(write_idx(tmp_path / "plain.gz", labels)).tolist() == [3, 1, 4, 1, 5]
    assert load_idx(write_idx(tmp_path / "zipped", labels, gz=True)).tolist() == [3, 1, 4, 1, 5]


def test_load_idx_bad_files(tmp_path):
    good = idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))
    cases = {
        "short": (b"\x00\x00", "shorter than the 4-byte magic number"),
        "magic": (b"\x01\x02" + good[2:], "does not start with two zero bytes"),
        "type": (b"\x00\x00\x07\x02" + good[4:], "unknown IDX data type 0x07"),
        "header": (good[:6], "truncated IDX header"),
        "truncated": (good[:-1], r"need 6 bytes of data, but the file has 5"),
        "extra": (good + b"\x00", r"need 6 bytes of data, but the file has 7"),
    }
    for name, (data, msg) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=msg):
            load_idx(tmp_path / name)
    (tmp_path / "badgz").write_bytes(gzip.compress(good)[:-6])
    with pytest.raises(ValueError, match="corrupt gzip data"):
        load_idx(tmp_path / "badgz")
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "missing")


def make_mnist(directory, n_train=6, n_test=4, gz=False):
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    out = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(directory / f"{split}-images-idx3-ubyte{suffix}", images, gz)
        write_idx(directory / f"{split}-labels-idx1-ubyte{suffix}", labels, gz)
        out[split] = (images, labels)
    return out


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_from_a_directory(tmp_path, gz):
    arrays = make_mnist(tmp_path, gz=gz)
    train = MNIST(tmp_path)
    test = MNIST(tmp_path, train=False)
    assert len(train) == 6 and len(test) == 4
    img, target = train[2]
    assert img.dtype == disttorch.uint8 and tuple(img.shape) == (28, 28)
    assert isinstance(target, int) and target == 2
    np.testing.assert_array_equal(img.numpy(), arrays["train"][0][2])
    assert train.targets.dtype == disttorch.int64 and train.data.shape == (6, 28, 28)
    np.testing.assert_array_equal(test.data.numpy(), arrays["t10k"][0])
    assert train.class_to_idx["3 - three"] == 3 and "Number of datapoints: 6" in repr(train)


def test_mnist_layouts_transforms_and_loader(tmp_path):
    make_mnist(tmp_path / "MNIST" / "raw")
    make_mnist(tmp_path / "FashionMNIST" / "raw", n_train=3)
    ds = MNIST(tmp_path, transform=lambda x: x.float() / 255, target_transform=lambda y: y * 10)
    img, target = ds[1]
    assert img.dtype == disttorch.float32 and float(img.max()) <= 1.0 and target == 10
    fashion = FashionMNIST(str(tmp_path))
    assert len(fashion) == 3 and fashion.classes[9] == "Ankle boot"
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert tuple(batch[0].shape) == (4, 28, 28) and batch[1].tolist() == [0, 10, 20, 30]
    assert batch[1].dtype == disttorch.int64


def test_mnist_errors(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found"):
        MNIST(tmp_path)
    with pytest.raises(RuntimeError, match="Downloading is not supported"):
        MNIST(tmp_path, download=True)
    make_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, dtype=np.uint8))
    with pytest.raises(ValueError, match="expected 6 labels"):
        MNIST(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 28), dtype=np.uint8))
    with pytest.raises(ValueError, match="3-d uint8"):
        MNIST(tmp_path, train=False)


def test_load_digits():
    sk = pytest.importorskip("sklearn.datasets")
    images, targets = load_digits()
    ref = sk.load_digits()
    assert tuple(images.shape) == (1797, 8, 8) and images.dtype == disttorch.float32
    assert tuple(targets.shape) == (1797,) and targets.dtype == disttorch.int64
    np.testing.assert_array_equal(images.numpy(), ref.images.astype(np.float32))
    np.testing.assert_array_equal(targets.numpy(), ref.target)
    flat, _ = load_digits(flatten=True)
    assert tuple(flat.shape) == (1797, 64) and float(flat.max()) == 16.0


def test_load_digits_without_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        load_digits()
