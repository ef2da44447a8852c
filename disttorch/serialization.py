"""Checkpoints: ``save`` and ``load`` with torch's signatures, stored as safetensors files.

A checkpoint is a plain `safetensors <https://github.com/huggingface/safetensors>`_ file:
tensor data in its data section and the object structure as JSON in the header's
``__metadata__`` map (key ``disttorch.object``, format version under
``disttorch.checkpoint``). Nothing in the file is code, so loading never executes
anything whatever ``weights_only`` says (there is no pickle).

What a checkpoint stores: nested ``dict`` (``OrderedDict`` stays an ``OrderedDict``;
keys may be str, int, float, bool or None), ``list``, ``tuple``, tensors of every
dtype on every device (data is written from host memory; each tensor comes back on the
device it was saved from, or where ``map_location`` sends it), ``nn.Parameter`` (kept a
Parameter with its ``requires_grad``) and ``nn.Buffer``, Python ``int``/``float``/``bool``,
``None``, ``str``, and ``disttorch.dtype``, ``disttorch.device`` and ``disttorch.Size``
objects. Anything else raises TypeError at save time, naming where it sits in the object.

Sharing: a Tensor object that appears several times is stored once and loads as one
object again; distinct Tensor objects over the same array (a parameter and its
``detach()``/``.data``, a state dict entry) are stored once and load sharing one array.
Other views (a slice, a transpose) are stored as contiguous copies of their elements
and load as independent contiguous tensors, unlike torch, which saves whole storages
and restores strides. A container (dict/list/tuple) referenced twice is stored twice
and loads as two equal containers; a container that contains itself is an error.
Tensors load as leaves: ``requires_grad`` is kept, ``grad_fn`` and ``.grad`` are not.

Writes to a path are atomic: the file is written to a temporary file in the same
directory, flushed to disk and renamed over the target, so a crash mid-save leaves the
previous checkpoint intact.

``load`` also reads plain safetensors files (e.g. ``model.safetensors`` written by
``safetensors.torch.save_file``) and returns their flat dict of tensors;
``load_safetensors_state_dict`` and ``save_safetensors_state_dict`` read and write such
files explicitly.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import stat
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import IO, Any

import numpy as np

from ._tensor import Size, Tensor, _wrap
from .backend import device as _dev
from .backend import dtypes as _dtypes

__all__ = ["load", "save"]

FileLike = str | os.PathLike | IO[bytes]
MapLocation = str | _dev.device | Mapping | Callable | None

# header metadata keys of a disttorch checkpoint
_FORMAT_KEY = "disttorch.checkpoint"
_OBJECT_KEY = "disttorch.object"
_FORMAT_VERSION = 1
_MAX_HEADER = 100_000_000  # the safetensors reference reader's limit

# safetensors dtype codes of the dtypes disttorch has
_FROM_ST = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64",
    "F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64",
}
_ST_DTYPES = {code: d for d in _dtypes.ALL for code, name in _FROM_ST.items() if d.name == name}
_NAMED_DTYPES = {d.name: d for d in _dtypes.ALL}
# item sizes of the codes disttorch cannot hold (so their offsets can still be checked)
_OTHER_ST_SIZES = {"U16": 2, "U32": 4, "U64": 8, "C64": 8, "F8_E4M3": 1, "F8_E5M2": 1,
                   "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1, "F8_E8M0": 1}

_SUPPORTED = ("disttorch.save stores tensors, numbers, strings, None, dtypes, devices and "
              "nested dict/list/tuple")


def _safetensors():
    try:
        import safetensors
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError(
            "disttorch.save/load need the 'safetensors' package (pip install safetensors)"
        ) from e
    return safetensors


class _CorruptError(Exception):
    """Internal: the bytes are not a readable checkpoint (reported as RuntimeError)."""


# ---------------------------------------------------------------------------------------
# saving


def _path_str(path) -> str:
    parts = []
    while path is not None:
        path, seg = path
        parts.append(seg)
    return "".join(reversed(parts))


def _type_name(x) -> str:
    t = type(x)
    mod = t.__module__
    return t.__qualname__ if mod in ("builtins", None) else f"{mod}.{t.__qualname__}"


class _Encoder:
    """Turns an object into JSON-able data plus the host arrays to store."""

    def __init__(self) -> None:
        from .nn.parameter import Buffer, Parameter

        self._Parameter, self._Buffer = Parameter, Buffer
        self.arrays: dict[str, np.ndarray] = {}   # safetensors name -> host array
        self.entries: list[dict] = []             # one per distinct Tensor object
        self._by_tensor: dict[int, int] = {}      # id(Tensor) -> entry index
        self._by_array: dict[int, str] = {}       # id(device array) -> safetensors name
        self._keep: list = []                     # keeps ids unique while saving
        self._open: set[int] = set()              # containers on the current path

    def encode(self, x, path):
        t = type(x)
        if x is None or t is bool or t is str or t is int:
            return x
        if t is float:
            if math.isfinite(x):
                return x
            return {"$": "float", "v": repr(x)}  # 'nan', 'inf', '-inf': strict JSON
        if t is list:
            with self._container(x, path):
                return [self.encode(v, (path, f"[{i}]")) for i, v in enumerate(x)]
        if t is dict or t is OrderedDict:
            with self._container(x, path):
                keys, values = [], []
                for k, v in x.items():
                    keys.append(self._key(k, path))
                    values.append(self.encode(v, (path, f"[{k!r}]")))
            return {"$": "dict" if t is dict else "odict", "k": keys, "v": values}
        if t is tuple:
            with self._container(x, path):
                return {"$": "tuple", "v": [self.encode(v, (path, f"[{i}]")) for i, v in enumerate(x)]}
        if isinstance(x, Tensor):
            return {"$": "tensor", "i": self._tensor(x, path)}
        if t is _dtypes.dtype:
            return {"$": "dtype", "v": x.name}
        if t is _dev.device:
            return {"$": "device", "v": str(x)}
        if t is Size:
            return {"$": "size", "v": [int(s) for s in x]}
        raise TypeError(self._unsupported(x, path))

    def _key(self, k, path):
        t = type(k)
        if k is None or t is str or t is int or t is bool:
            return k
        if t is float:
            return self.encode(k, path)
        raise TypeError(
            f"cannot save dict key {k!r} of type {_type_name(k)} at {_path_str(path)}: "
            "dict keys must be str, int, float, bool or None"
        )

    @contextlib.contextmanager
    def _container(self, x, path):
        i = id(x)
        if i in self._open:
            raise ValueError(
                f"cannot save {type(x).__name__} at {_path_str(path)}: it contains itself "
                "(a circular reference)"
            )
        self._open.add(i)
        try:
            yield
        finally:
            self._open.discard(i)

    def _tensor(self, x: Tensor, path) -> int:
        idx = self._by_tensor.get(id(x))
        if idx is not None:
            return idx
        t = type(x)
        if t is Tensor:
            kind = "tensor"
        elif t is self._Parameter:
            kind = "parameter"
        elif t is self._Buffer:
            kind = "buffer"
        else:
            raise TypeError(
                f"cannot save tensor subclass {_type_name(x)} at {_path_str(path)}: {_SUPPORTED} "
                "(Tensor, nn.Parameter and nn.Buffer); save a plain tensor instead"
            )
        data = x._data
        name = self._by_array.get(id(data))
        if name is None:
            host = _dev.to_device(data, _dev.CPU)
            if not host.flags.c_contiguous:
                host = host.copy(order="C")
            name = str(len(self.arrays))
            self.arrays[name] = host
            self._by_array[id(data)] = name
            self._keep.append(data)
        entry = {"data": name, "device": str(x._device), "requires_grad": bool(x._requires_grad),
                 "kind": kind}
        if kind == "buffer":
            entry["persistent"] = bool(getattr(x, "persistent", True))
        idx = len(self.entries)
        self.entries.append(entry)
        self._by_tensor[id(x)] = idx
        self._keep.append(x)
        return idx

    @staticmethod
    def _unsupported(x, path) -> str:
        msg = f"cannot save object of type {_type_name(x)} at {_path_str(path)}: {_SUPPORTED}"
        if isinstance(x, np.ndarray):
            msg += "; convert numpy arrays to tensors with disttorch.from_numpy"
        elif isinstance(x, np.generic):
            msg += "; convert numpy scalars to Python numbers with .item()"
        elif isinstance(x, (set, frozenset)):
            msg += "; store a set as a list"
        elif isinstance(x, tuple) and hasattr(x, "_fields"):
            msg += "; store a namedtuple as a tuple or a dict"
        else:
            base = next((b for b in (dict, list, tuple, str, int, float) if isinstance(x, b)), None)
            if base is not None:
                msg += f" (of exactly these types: convert this {base.__name__} subclass to {base.__name__})"
        return msg


def _specs(arrays: dict[str, np.ndarray]) -> dict:
    st = _safetensors()
    return {
        name: st.TensorSpec(dtype=_dtypes.from_numpy(a.dtype).name, shape=a.shape,
                            data_ptr=a.ctypes.data, data_len=a.nbytes)
        for name, a in arrays.items()
    }


def _is_path(f) -> bool:
    return isinstance(f, (str, os.PathLike))


def _write(f, arrays: dict[str, np.ndarray], metadata: dict[str, str] | None) -> None:
    """Write a safetensors file to a path (atomically) or a binary file object."""
    st = _safetensors()
    specs = _specs(arrays)  # ``arrays`` stays referenced until the write is done
    if not _is_path(f):
        if not hasattr(f, "write"):
            raise TypeError(
                f"f must be a path (str or os.PathLike) or a binary file object, got {_type_name(f)}"
            )
        f.write(st.serialize(specs, metadata=metadata))
        return
    path = os.path.realpath(os.fspath(f))  # replace a symlink's target, not the link
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {os.path.dirname(os.path.abspath(os.fspath(f)))} does not exist.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Is a directory: '{os.fspath(f)}'")
    tmp = _reserve_temp(directory, os.path.basename(path))
    try:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))  # keep an old file's mode
        st.serialize_file(specs, tmp, metadata=metadata)
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _reserve_temp(directory: str, base: str) -> str:
    """Create an empty, uniquely named file next to the target (mode 0666 minus umask)."""
    while True:
        tmp = os.path.join(directory, f".{base}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows, where directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(obj: object, f: FileLike, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False) -> None:
    """Save ``obj`` (tensors in nested dicts/lists/tuples...) to a path or binary file object.

    The pickle arguments are accepted for torch compatibility and ignored: the file is
    safetensors with the structure as JSON, never pickle.
    """
    enc = _Encoder()
    root = enc.encode(obj, (None, "checkpoint"))
    doc = {"root": root, "tensors": enc.entries}
    meta = {_FORMAT_KEY: str(_FORMAT_VERSION),
            _OBJECT_KEY: json.dumps(doc, ensure_ascii=True, allow_nan=False, separators=(",", ":"))}
    _write(f, enc.arrays, meta)


def save_safetensors_state_dict(state_dict: Mapping[str, Tensor], path: FileLike,
                                metadata: dict[str, str] | None = None) -> None:
    """Write a flat ``{name: tensor}`` dict as a plain safetensors file (readable by PyTorch)."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of str to Tensor, got {_type_name(state_dict)}")
    arrays: dict[str, np.ndarray] = {}
    for k, v in state_dict.items():
        if type(k) is not str:
            raise TypeError(f"safetensors keys must be str, got {k!r} of type {_type_name(k)}")
        if not isinstance(v, Tensor):
            raise TypeError(f"state_dict[{k!r}] is a {_type_name(v)}, not a Tensor")
        host = _dev.to_device(v._data, _dev.CPU)
        arrays[k] = host if host.flags.c_contiguous else host.copy(order="C")
    if metadata is not None:
        if not isinstance(metadata, Mapping) or not all(
                type(k) is str and type(v) is str for k, v in metadata.items()):
            raise TypeError("metadata must be a dict of str to str")
        if any(k.startswith("disttorch.") for k in metadata):
            raise ValueError("metadata keys starting with 'disttorch.' are reserved for checkpoints")
        metadata = dict(metadata)
    _write(path, arrays, metadata)


# ---------------------------------------------------------------------------------------
# reading the file


class _File:
    """A validated safetensors file: header entries, metadata and a way to get arrays."""

    def __init__(self, f) -> None:
        self.name = _name_of(f)
        if _is_path(f):
            self.path = os.fspath(f)
            with open(self.path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                self._read_header(fh, size)
            self._blob = None
        else:
            if not hasattr(f, "read"):
                raise TypeError(
                    f"f must be a path (str or os.PathLike) or a binary file object, got {_type_name(f)}"
                )
            head = self._read_header(f, None)
            data = _read_exact(f, self.data_len)
            if not isinstance(data, bytes):
                raise TypeError(f"f.read() returned {_type_name(data)}; open the file in binary mode")
            if len(data) < self.data_len:
                raise _CorruptError(f"truncated: the header describes {self.data_len} bytes of tensor "
                               f"data but only {len(data)} follow")
            self._blob = head + data

    def _read_header(self, fh, size: int | None) -> bytes:
        first = _read_exact(fh, 8)
        if not isinstance(first, bytes):
            raise TypeError(f"f.read() returned {_type_name(first)}; open the file in binary mode")
        if len(first) == 0:
            raise _CorruptError("the file is empty")
        if len(first) < 8:
            raise _CorruptError(f"truncated: {len(first)} bytes, fewer than the 8-byte header length")
        n = int.from_bytes(first, "little")
        if first[:4] == b"PK\x03\x04":
            raise _CorruptError("it is a zip archive (a PyTorch torch.save file?), not a safetensors file")
        if n > _MAX_HEADER or (size is not None and 8 + n > size):
            have = "" if size is None else f" (the file has {size} bytes)"
            raise _CorruptError(f"the header length field says {n} bytes, which is not plausible{have}: "
                           "not a safetensors file")
        raw = _read_exact(fh, n)
        if len(raw) < n:
            raise _CorruptError(f"truncated inside the header ({len(raw)} of {n} bytes)")
        if not raw.startswith(b"{"):
            raise _CorruptError("the header is not a JSON object")
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise _CorruptError(f"the header is not valid JSON ({e})") from None
        if not isinstance(header, dict):
            raise _CorruptError("the header is not a JSON object")
        meta = header.pop("__metadata__", None)
        if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
            raise _CorruptError("__metadata__ is not a map of strings")
        self.metadata: dict[str, str] = meta or {}
        spans = []
        for name, e in header.items():
            if not (isinstance(e, dict) and isinstance(e.get("dtype"), str)
                    and isinstance(e.get("shape"), list)
                    and all(type(s) is int and s >= 0 for s in e["shape"])
                    and isinstance(e.get("data_offsets"), list) and len(e["data_offsets"]) == 2
                    and all(type(o) is int for o in e["data_offsets"])):
                raise _CorruptError(f"bad header entry for tensor {name!r}")
            begin, end = e["data_offsets"]
            code = e["dtype"]
            itemsize = (_ST_DTYPES[code].itemsize if code in _ST_DTYPES
                        else _OTHER_ST_SIZES.get(code))
            if not 0 <= begin <= end or (itemsize is not None and end - begin != math.prod(e["shape"]) * itemsize):
                raise _CorruptError(f"the data offsets of tensor {name!r} do not match its shape and dtype")
            spans.append((begin, end, name))
        spans.sort()
        pos = 0
        for begin, end, name in spans:
            if begin != pos:
                raise _CorruptError(f"the data of tensor {name!r} overlaps or leaves a gap")
            pos = end
        self.data_len = pos
        self.entries: dict[str, dict] = header
        self.order = [name for _, _, name in spans]  # file order, as safetensors lists them
        if size is not None and size != 8 + n + pos:
            if size < 8 + n + pos:
                raise _CorruptError(f"truncated: the header describes {8 + n + pos} bytes, the file has {size}")
            raise _CorruptError(f"{size - 8 - n - pos} unexpected bytes after the tensor data")
        return first + raw

    def arrays(self, names) -> dict[str, np.ndarray]:
        """Host arrays for ``names`` (read through the safetensors package)."""
        st = _safetensors()
        for name in names:
            code = self.entries[name]["dtype"]
            if code not in _ST_DTYPES:
                raise _UnsupportedDtypeError(name, code)
        out = {}
        try:
            if self._blob is not None:
                want = set(names)
                for name, view in st.deserialize(self._blob):
                    if name in want:
                        out[name] = self._array(name, view["data"])
            else:
                with st.safe_open(self.path, framework="numpy") as sf:
                    for name in names:
                        out[name] = self._array(name, sf.get_tensor(name))
        except st.SafetensorError as e:
            raise _CorruptError(str(e)) from None
        return out

    def _array(self, name: str, data) -> np.ndarray:
        e = self.entries[name]
        dt = _ST_DTYPES[e["dtype"]].np
        if isinstance(data, np.ndarray):
            a = data if data.dtype == dt else data.view(dt)
        else:  # a bytearray: writable, owned by this array alone
            a = np.frombuffer(data, dtype=dt)
        return a.reshape(e["shape"])


def _read_exact(fh, n: int):
    """Up to ``n`` bytes: fewer only at end of file (raw streams may return short reads)."""
    if n == 0:
        return b""
    data = fh.read(n)
    if not isinstance(data, bytes) or len(data) in (0, n):
        return data
    parts = [data]
    got = len(data)
    while got < n:
        more = fh.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class _UnsupportedDtypeError(Exception):
    def __init__(self, name: str, code: str) -> None:
        super().__init__(name, code)
        self.tensor, self.code = name, code


def _open(f) -> _File:
    try:
        return _File(f)
    except _CorruptError as e:
        raise RuntimeError(f"{_name_of(f)} is not a disttorch checkpoint or is corrupted: {e}") from None


def _name_of(f) -> str:
    if _is_path(f):
        return f"'{os.fspath(f)}'"
    fname = getattr(f, "name", None)
    return f"'{fname}'" if isinstance(fname, str) else f"<{type(f).__name__}>"


def _read_arrays(file: _File, names) -> dict[str, np.ndarray]:
    try:
        return file.arrays(names)
    except _CorruptError as e:
        raise RuntimeError(f"{file.name} is not a disttorch checkpoint or is corrupted: {e}") from None
    except _UnsupportedDtypeError as e:
        raise TypeError(
            f"{file.name}: tensor {e.tensor!r} has safetensors dtype {e.code}, which disttorch does "
            f"not support (it has {', '.join(sorted(_ST_DTYPES))})"
        ) from None


# ---------------------------------------------------------------------------------------
# placing tensors on devices


class _Placer:
    """Where each loaded tensor goes, following torch's ``map_location`` rules."""

    def __init__(self, map_location: MapLocation) -> None:
        self.fixed = self.mapping = self.fn = None
        if map_location is None:
            pass
        elif isinstance(map_location, (str, _dev.device)):
            self.fixed = _dev.device(map_location)
        elif isinstance(map_location, Mapping):
            self.mapping = {str(k): v for k, v in map_location.items()}
        elif callable(map_location):
            self.fn = map_location
        else:
            raise TypeError(
                "map_location should be a string, a disttorch.device, a dict or a callable, "
                f"got {_type_name(map_location)}"
            )

    def place(self, host: np.ndarray, location: str):
        """(array, device) for a host array saved from ``location``."""
        if self.fn is not None:
            r = self.fn(_wrap(host, _dev.CPU), location)
            if r is not None:
                if not isinstance(r, Tensor):
                    raise TypeError(f"map_location returned a {_type_name(r)}; expected a Tensor or None")
                if tuple(r.shape) != host.shape:
                    raise RuntimeError(
                        f"map_location returned a tensor of shape {tuple(r.shape)} for one of shape {host.shape}"
                    )
                return r._data, r._device
            target = location
        elif self.fixed is not None:
            target = self.fixed
        elif self.mapping is not None:
            target = self.mapping.get(location, location)
        else:
            target = location
        dev = _target_device(_dev.device(target))
        if dev.type == "cpu":
            return host, dev
        return _dev.to_device(host, dev), dev


def _target_device(d: _dev.device) -> _dev.device:
    if d.type == "cpu":
        return _dev.CPU
    if not _dev.cuda_available():
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but disttorch.cuda.is_available() "
            "is False. If you are running on a CPU-only machine, please use disttorch.load with "
            "map_location=disttorch.device('cpu') to map your storages to the CPU."
        )
    count = _dev.cuda_device_count()
    if d.index is not None and d.index >= count:
        raise RuntimeError(
            f"Attempting to deserialize object on CUDA device {d.index} but "
            f"disttorch.cuda.device_count() is {count}. Please use disttorch.load with "
            "map_location to map your storages to an existing device."
        )
    return _dev.resolve(d)


# ---------------------------------------------------------------------------------------
# loading


class _Decoder:
    """Rebuilds the saved object from the header JSON and the file's arrays."""

    def __init__(self, file: _File, doc, placer: _Placer) -> None:
        if not (isinstance(doc, dict) and "root" in doc and isinstance(doc.get("tensors"), list)):
            raise _CorruptError("the object description is incomplete")
        self.file, self.placer = file, placer
        self.entries = doc["tensors"]
        names: dict[str, None] = {}
        for e in self.entries:
            if not (isinstance(e, dict) and isinstance(e.get("data"), str) and e["data"] in file.entries
                    and isinstance(e.get("device"), str) and isinstance(e.get("requires_grad"), bool)
                    and e.get("kind") in ("tensor", "parameter", "buffer")):
                raise _CorruptError("a tensor description is malformed or names missing data")
            try:
                _dev.device(e["device"])
            except (RuntimeError, ValueError):
                raise _CorruptError(f"unknown device {e['device']!r}") from None
            names[e["data"]] = None
        self.names = list(names)
        self.root = doc["root"]
        self.tensors: dict[int, Tensor] = {}
        self.placed: dict[tuple, tuple] = {}

    def run(self):
        obj = self.decode(self.root)  # checks the whole structure before any data is read
        self.hosts = _read_arrays(self.file, self.names)
        return self.fill(obj)

    # first pass: JSON -> Python, tensors as placeholders
    def decode(self, x):
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, list):
            return [self.decode(v) for v in x]
        if not isinstance(x, dict):
            raise _CorruptError("unexpected value in the object description")
        tag = x.get("$")
        v = x.get("v")
        if tag == "dict" or tag == "odict":
            keys, values = x.get("k"), v
            if not (isinstance(keys, list) and isinstance(values, list) and len(keys) == len(values)):
                raise _CorruptError("a dict description is malformed")
            pairs = [(self.decode(k), self.decode(val)) for k, val in zip(keys, values)]
            if not all(k is None or type(k) in (bool, int, float, str) for k, _ in pairs):
                raise _CorruptError("a dict key is not a scalar")
            return dict(pairs) if tag == "dict" else OrderedDict(pairs)
        if tag == "tuple" and isinstance(v, list):
            return tuple(self.decode(e) for e in v)
        if tag == "tensor":
            i = x.get("i")
            if type(i) is not int or not 0 <= i < len(self.entries):
                raise _CorruptError("a tensor reference is out of range")
            return _Slot(i)
        if tag == "float" and v in ("nan", "inf", "-inf"):
            return float(v)
        if tag == "dtype" and isinstance(v, str):
            d = _NAMED_DTYPES.get(v)
            if d is None:
                raise _CorruptError(f"unknown dtype {v!r}")
            return d
        if tag == "device" and isinstance(v, str):
            try:
                return _dev.device(v)
            except (RuntimeError, ValueError):
                raise _CorruptError(f"unknown device {v!r}") from None
        if tag == "size" and isinstance(v, list) and all(type(s) is int for s in v):
            return Size(v)
        raise _CorruptError(f"unknown or malformed object tag {tag!r}")

    # second pass: placeholders -> tensors (devices, map_location)
    def fill(self, x):
        t = type(x)
        if t is _Slot:
            return self.tensor(x.i)
        if t is list:
            return [self.fill(v) for v in x]
        if t is tuple:
            return tuple(self.fill(v) for v in x)
        if t is dict or t is OrderedDict:
            return t((k, self.fill(v)) for k, v in x.items())
        return x

    def tensor(self, i: int) -> Tensor:
        t = self.tensors.get(i)
        if t is not None:
            return t
        from .nn.parameter import Buffer, Parameter

        e = self.entries[i]
        key = (e["data"], e["device"])
        placed = self.placed.get(key)
        if placed is None:
            placed = self.placed[key] = self.placer.place(self.hosts[e["data"]], e["device"])
        data, dev = placed
        rg = e["requires_grad"]
        if rg and data.dtype.kind != "f" and not _dtypes.from_numpy(data.dtype).is_floating_point:
            rg = False  # only floating tensors can require grad (a hand-edited file)
        t = _wrap(data, dev, rg)
        if e["kind"] == "parameter":
            t = Parameter(t, rg)
        elif e["kind"] == "buffer":
            t = Buffer(t, persistent=bool(e.get("persistent", True)))
        self.tensors[i] = t
        return t


class _Slot:
    __slots__ = ("i",)

    def __init__(self, i: int) -> None:
        self.i = i


def load(f: FileLike, map_location: MapLocation = None, pickle_module: Any = None, *,
         weights_only: bool | None = True, mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Load an object saved by ``save`` (or a plain safetensors file's ``{name: tensor}`` dict).

    ``map_location`` is a device (string or ``disttorch.device``), a dict mapping saved
    locations to new ones (``{'cuda:1': 'cpu'}``) or ``fn(tensor_on_cpu, location)``
    returning a tensor or None, as in torch. Nothing in the file is executed, so
    ``weights_only`` and the pickle arguments have no effect.
    """
    placer = _Placer(map_location)
    file = _open(f)
    version = file.metadata.get(_FORMAT_KEY)
    if version is None:  # a plain safetensors file
        return _plain(file, placer)
    try:
        if version != str(_FORMAT_VERSION):
            raise _CorruptError(f"checkpoint format version {version!r}; this disttorch reads version "
                                f"{_FORMAT_VERSION} (was it written by a newer disttorch?)")
        try:
            doc = json.loads(file.metadata.get(_OBJECT_KEY, ""))
        except ValueError as e:
            raise _CorruptError(f"the object description is not valid JSON ({e})") from None
        return _Decoder(file, doc, placer).run()
    except (_CorruptError, RecursionError) as e:
        raise RuntimeError(f"{file.name} is not a disttorch checkpoint or is corrupted: {e}") from None


def load_safetensors_state_dict(path: FileLike, device=None) -> dict[str, Tensor]:
    """Read a plain safetensors file (e.g. from ``safetensors.torch.save_file``) as ``{name: tensor}``."""
    file = _open(path)
    if _FORMAT_KEY in file.metadata:
        raise ValueError(f"{file.name} is a disttorch checkpoint, not a plain state dict; read it with disttorch.load")
    return _plain(file, _Placer(device))


def _plain(file: _File, placer: _Placer) -> dict[str, Tensor]:
    hosts = _read_arrays(file, file.order)
    out = {}
    for name in file.order:
        data, dev = placer.place(hosts[name], "cpu")
        out[name] = _wrap(data, dev)
    return out
