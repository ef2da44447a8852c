"""Real data without a network: IDX files (MNIST, Fashion-MNIST) and scikit-learn's 8x8 digits.

``load_idx`` reads one IDX file (gzipped or not). ``MNIST(root)`` / ``FashionMNIST(root)`` read
the four standard files from a directory, like torchvision's classes of the same names, except
that an image is a ``uint8`` tensor of shape ``(28, 28)`` rather than a PIL image.
``load_digits()`` returns the 1797 8x8 digit images that ship inside scikit-learn.
"""
from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable

import numpy as np

from ... import creation as _creation
from ..._tensor import Tensor
from ...backend import dtypes as _dtypes
from .dataset import Dataset

__all__ = ["MNIST", "FashionMNIST", "load_digits", "load_idx"]

# IDX type codes -> big-endian numpy dtypes
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: str | os.PathLike) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip's magic number, whatever the file is called
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{os.fspath(path)}: corrupt gzip data ({e})") from None
    return raw


def load_idx(path: str | os.PathLike) -> Tensor:
    """The array in an IDX file (the MNIST format; ``.gz`` compressed or not) as a tensor."""
    raw = _read_bytes(path)
    name = os.fspath(path)
    if len(raw) < 4:
        raise ValueError(f"{name}: not an IDX file (only {len(raw)} bytes, shorter than the 4-byte magic number)")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{name}: not an IDX file (magic number {raw[:4].hex()} does not start with two zero bytes)"
        )
    type_code, ndim = raw[2], raw[3]
    dt = _IDX_TYPES.get(type_code)
    if dt is None:
        raise ValueError(
            f"{name}: unknown IDX data type 0x{type_code:02x} (expected one of "
            f"{', '.join(f'0x{c:02x}' for c in _IDX_TYPES)})"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name}: truncated IDX header ({ndim} dimensions need {header} bytes, file has {len(raw)})")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{name}: IDX sizes {list(shape)} of {dt.newbyteorder('=').name} need {expected} bytes of data, "
            f"but the file has {len(raw) - header}"
        )
    arr = np.frombuffer(raw, dtype=dt, offset=header).reshape(shape)
    return _creation.from_numpy(arr.astype(dt.newbyteorder("="), copy=True))


class MNIST(Dataset):
    """MNIST from the four IDX files in ``root`` (or ``root/MNIST/raw``, ``root/raw``; ``.gz`` or not).

    A sample is ``(image, target)``: a ``uint8`` tensor of shape ``(28, 28)`` (after ``transform``)
    and the class as an int (after ``target_transform``).
    """

    classes = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]
    files = {
        True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        self.root = os.fspath(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        images_name, labels_name = self.files[bool(train)]
        images_path = self._find(images_name)
        labels_path = self._find(labels_name)
        if images_path is None or labels_path is None:
            missing = images_name if images_path is None else labels_name
            raise RuntimeError(
                f"Dataset not found: no {missing}[.gz] in {self._search_dirs()}. Downloading is not "
                "supported; put the four IDX files in one of these directories."
                if download else
                f"Dataset not found: no {missing}[.gz] in {self._search_dirs()}."
            )
        self.data = load_idx(images_path)
        self.targets = load_idx(labels_path).to(_dtypes.int64)
        if self.data.dim() != 3 or self.data.dtype != _dtypes.uint8:
            raise ValueError(
                f"{images_path}: expected a 3-d uint8 IDX array of images, got {self.data.dim()}-d "
                f"{self.data.dtype}"
            )
        if self.targets.dim() != 1 or len(self.targets) != len(self.data):
            raise ValueError(
                f"{labels_path}: expected {len(self.data)} labels (one per image), got shape "
                f"{tuple(self.targets.shape)}"
            )

    def _search_dirs(self) -> list[str]:
        return [
            os.path.join(self.root, type(self).__name__, "raw"),
            os.path.join(self.root, "raw"),
            self.root,
        ]

    def _find(self, stem: str) -> str | None:
        # also accept the 'train-images.idx3-ubyte' spelling some mirrors use
        alt = stem.replace("-idx", ".idx")
        for d in self._search_dirs():
            for name in (stem, stem + ".gz", alt, alt + ".gz"):
                p = os.path.join(d, name)
                if os.path.isfile(p):
                    return p
        return None

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __getitem__(self, index: int):
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Root location: {self.root}\n    Split: {split}")


class FashionMNIST(MNIST):
    """Fashion-MNIST: the same four file names and format as MNIST, with clothing classes."""

    classes = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]


def load_digits(*, flatten: bool = False) -> tuple[Tensor, Tensor]:
    """scikit-learn's 1797 8x8 digit images (values 0..16) as ``(images, targets)`` tensors.

    ``images`` is float32 of shape ``(1797, 8, 8)`` (``(1797, 64)`` with ``flatten=True``);
    ``targets`` is int64 of shape ``(1797,)``. Needs scikit-learn (the data ships inside it).
    """
    try:
        from sklearn import datasets as _sk
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn, which ships the digits data: pip install scikit-learn"
        ) from None
    bunch = _sk.load_digits()
    images = bunch.data if flatten else bunch.images
    return (_creation.tensor(np.asarray(images, dtype=np.float32)),
            _creation.tensor(np.asarray(bunch.target, dtype=np.int64)))
