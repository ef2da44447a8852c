"""Variable-length sequences: ``PackedSequence`` and the pack/pad helpers of
``torch.nn.utils.rnn``.

Every function that moves data builds the whole result with one ``index_select`` over a
flat view (plus a one-row padding tensor where padding is needed), so autograd sees a
single gather instead of one slice per sequence or time step; the index arrays are
computed on the host from the lengths, which torch also keeps on the CPU.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from ..._tensor import Tensor
from ...backend import dtypes as _dtypes
from ...creation import arange, as_tensor, empty_like, full, tensor
from ...ops.movement import cat

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


class PackedSequence_(NamedTuple):  # noqa: N801 (torch's name)
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def _bind(optional, fn):
    return None if optional is None else fn(optional)


class PackedSequence(PackedSequence_):
    """The time-major concatenation ``data`` of a batch of sequences sorted by decreasing
    length, with ``batch_sizes`` (a CPU int64 tensor: how many sequences are still running
    at each step) and the permutation to and from the caller's batch order.

    Build it with :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand.
    """

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        return super().__new__(cls, *_packed_sequence_init_args(
            data, batch_sizes, sorted_indices, unsorted_indices))

    # batch_sizes never moves: it stays a CPU int64 tensor whatever ``data`` becomes.
    def pin_memory(self) -> PackedSequence:
        """No pinned host memory here: the same sequence (``is_pinned`` stays False)."""
        return self

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(*args, **kwargs)``; the indices follow ``data``'s device. ``self``
        when ``data`` is unchanged."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def call_to(t: Tensor) -> Tensor:
            return t.to(data.device)

        return type(self)(data, self.batch_sizes, _bind(self.sorted_indices, call_to),
                          _bind(self.unsorted_indices, call_to))

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """Move ``data`` (and the indices) to the current GPU."""
        ex = tensor((), dtype=self.data.dtype, device=self.data.device).to(*args, **kwargs)
        if ex.is_cuda:
            return self.to(*args, **kwargs)
        kwargs["device"] = "cuda"
        return self.to(*args, **kwargs)

    def cpu(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """Move ``data`` (and the indices) to the CPU."""
        ex = tensor((), dtype=self.data.dtype, device=self.data.device).to(*args, **kwargs)
        if ex.device.type == "cpu":
            return self.to(*args, **kwargs)
        kwargs["device"] = "cpu"
        return self.to(*args, **kwargs)

    def double(self) -> PackedSequence:
        return self.to(dtype=_dtypes.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=_dtypes.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=_dtypes.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=_dtypes.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=_dtypes.int32)

    def short(self) -> PackedSequence:
        return self.to(dtype=_dtypes.int16)

    def char(self) -> PackedSequence:
        return self.to(dtype=_dtypes.int8)

    def byte(self) -> PackedSequence:
        return self.to(dtype=_dtypes.uint8)

    @property
    def is_cuda(self) -> bool:
        """Whether ``data`` is on a GPU."""
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        """Whether ``data`` is in pinned host memory (never, here)."""
        return False


def _packed_sequence_init_args(data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
    # unsorted_indices, when given, is trusted to be the inverse of sorted_indices.
    if unsorted_indices is None:
        unsorted_indices = invert_permutation(sorted_indices)
    if batch_sizes is not None:
        if batch_sizes.device.type != "cpu":
            raise ValueError(
                "batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                "created manually. They should be instantiated by functions like pack_sequence and "
                "pack_padded_sequences in nn.utils.rnn. "
                "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        return data, batch_sizes, sorted_indices, unsorted_indices
    # PackedSequence((data, batch_sizes), sorted_indices=...)
    if not (isinstance(data, (list, tuple)) and len(data) == 2):
        raise AssertionError("Expected data to be a list or tuple of length 2")
    return data[0], data[1], sorted_indices, unsorted_indices


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of the 1-D index ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    output = empty_like(permutation)
    output.scatter_(0, permutation, arange(0, permutation.numel(), device=permutation.device))
    return output


def _host_lengths(lengths: Tensor) -> np.ndarray:
    """torch's ``checkLongTensor``: a 1-D CPU int64 tensor, as a numpy array."""
    if not (lengths.dim() == 1 and lengths.device.type == "cpu" and lengths.dtype == _dtypes.int64):
        raise RuntimeError(
            "'lengths' argument should be a 1D CPU int64 tensor, but got "
            f"{lengths.dim()}D {lengths.device} {lengths.dtype.legacy_name} tensor")
    return np.asarray(lengths.numpy(), dtype=np.int64)


def _index(idx: np.ndarray, device) -> Tensor:
    return tensor(np.ascontiguousarray(idx, dtype=np.int64), device=device)


def pack_padded_sequence(input: Tensor, lengths: Tensor | list[int], batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded ``T x B x *`` (``B x T x *`` with ``batch_first``) batch whose
    sequences have the given ``lengths`` (a list or a CPU tensor). With
    ``enforce_sorted=True`` the lengths must already be decreasing."""
    if not isinstance(lengths, Tensor):
        lengths = as_tensor(lengths, dtype=_dtypes.int64, device="cpu")
    else:
        lengths = lengths.to(dtype=_dtypes.int64)
    if enforce_sorted:
        sorted_indices = None
    else:
        lengths, sorted_indices = lengths.sort(descending=True)
        sorted_indices = sorted_indices.to(input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    data, batch_sizes = _pack(input, lengths, batch_first)
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def _pack(input: Tensor, lengths: Tensor, batch_first: bool) -> tuple[Tensor, Tensor]:
    """ATen's ``_pack_padded_sequence`` (same checks in the same order)."""
    batch_size = input.size(0 if batch_first else 1)  # IndexError for 1-D input, like torch
    lens = _host_lengths(lengths)
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if lens.shape[0] != batch_size:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lens.shape[0]} "
            f"(batch_size={batch_size})")
    if lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if np.any(lens[1:] > lens[:-1]):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
            "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
            "sidestep this requirement if you do not need ONNX exportability.")
    T = input.size(1 if batch_first else 0)
    if lens[0] > T:
        # torch reads past the end of the input here; refuse instead.
        raise RuntimeError(
            f"Expected all lengths to be at most the padded sequence length {T}, but got a "
            f"length of {int(lens[0])}")
    steps = np.arange(int(lens[0]))
    batch_sizes = (lens[None, :] > steps[:, None]).sum(1)
    # Row (t, b) for every b < batch_sizes[t], time-major, of the input seen as (T*B, *).
    t_idx = np.repeat(steps, batch_sizes)
    b_idx = np.concatenate([np.arange(n) for n in batch_sizes])
    flat = t_idx + b_idx * T if batch_first else t_idx * batch_size + b_idx
    data = input.reshape(T * batch_size, *input.shape[2:]).index_select(0, _index(flat, input.device))
    return data, tensor(batch_sizes.astype(np.int64))


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo :func:`pack_padded_sequence`: the padded batch (in the caller's original order)
    and the CPU int64 lengths. ``total_length`` pads the time axis further."""
    bs = _host_lengths(sequence.batch_sizes)  # the same check ATen applies to batch_sizes
    max_seq_length = bs.shape[0]
    if total_length is not None:
        if not isinstance(total_length, (int, np.integer)) or isinstance(total_length, bool):
            raise TypeError("_pad_packed_sequence(): argument 'total_length' (position 5) must be "
                            f"int, not {type(total_length).__name__}")
        if total_length < max_seq_length:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{max_seq_length}")
        max_seq_length = total_length
    data = sequence.data
    B = int(bs[0])
    lengths = (bs[None, :] > np.arange(B)[:, None]).sum(1)  # per sorted position
    offsets = np.concatenate([[0], np.cumsum(bs)[:-1]])
    order = np.arange(B)
    unsorted = sequence.unsorted_indices
    if unsorted is not None:
        # Fold torch's final index_select over the batch into the gather.
        order = np.asarray(unsorted.cpu().numpy(), dtype=np.int64)
    # For output position (t, k): packed row offsets[t] + order[k], or the padding row.
    t = np.arange(max_seq_length)[:, None]
    s = order[None, :]
    lens_k = lengths[order][None, :]
    valid = t < lens_k
    rows = np.where(valid, offsets[np.minimum(t, bs.shape[0] - 1)] + s, data.shape[0])
    if batch_first:
        rows = rows.T
    pad = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    src = cat([data, pad], 0)
    out = src.index_select(0, _index(rows.reshape(-1), data.device))
    out = out.reshape(*rows.shape, *data.shape[1:])
    return out, tensor(lengths[order].astype(np.int64))


def _broadcast_error(target: tuple, shape: tuple) -> RuntimeError | None:
    """The error torch's ``copy_`` raises copying ``shape`` into ``target``, or None."""
    nd = max(len(target), len(shape))
    a = (1,) * (nd - len(target)) + tuple(target)
    b = (1,) * (nd - len(shape)) + tuple(shape)
    for d in range(nd - 1, -1, -1):
        if a[d] != b[d] and a[d] != 1 and b[d] != 1:
            return RuntimeError(f"The size of tensor a ({a[d]}) must match the size of tensor b "
                                f"({b[d]}) at non-singleton dimension {d}")
    bshape = [max(x, y) for x, y in zip(a, b)]
    if tuple(bshape) != tuple(target):
        return RuntimeError(f"output with shape {list(target)} doesn't match the broadcast shape "
                            f"{bshape}")
    return None


def pad_sequence(sequences: Tensor | list[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack ``L_i x *`` sequences into ``T x B x *`` (``B x T x *`` with ``batch_first``),
    padded with ``padding_value`` on ``padding_side``; dtype and device of the first."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of "
                           f"type: {type(sequences)}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}.")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(s).__name__}")
    first = sequences[0]
    if first.dim() == 0 or any(s.dim() == 0 for s in sequences):
        raise RuntimeError("pad_sequence: every sequence needs at least one dimension (its length)")
    trailing = tuple(first.shape[1:])
    dt, dev = first.dtype, first.device
    B = len(sequences)
    lens = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    T = int(lens.max())
    parts = []
    for s in sequences:
        target = (s.shape[0], *trailing)
        err = _broadcast_error(target, tuple(s.shape))
        if err is not None:
            raise err
        s = s.to(device=dev, dtype=dt)
        if tuple(s.shape) != target:
            s = s.expand(*target)
        parts.append(s)
    parts.append(full((1, *trailing), padding_value, dtype=dt, device=dev))
    src = cat(parts, 0)
    # Output (t, b) reads row starts[b] + (t - shift[b]) of ``src`` when inside the
    # sequence, else the padding row at the end.
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    shift = (T - lens) if padding_side == "left" else np.zeros(B, dtype=np.int64)
    t = np.arange(T)[:, None]
    pos = t - shift[None, :]
    valid = (pos >= 0) & (pos < lens[None, :])
    rows = np.where(valid, starts[None, :] + pos, int(lens.sum()))
    if batch_first:
        rows = rows.T
    out = src.index_select(0, _index(rows.reshape(-1), dev))
    return out.reshape(*rows.shape, *trailing)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into its ``lengths[i] x *`` sequences.

    Like torch, ``batch_first=False`` transposes ``padded_sequences`` in place."""
    if not batch_first:
        padded_sequences.transpose_(0, 1)
    lens = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [seq[:int(n)] for seq, n in zip(padded_sequences, lens, strict=True)]


def pack_sequence(sequences: list[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """``pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=...)``."""
    lengths = as_tensor([v.size(0) for v in sequences], dtype=_dtypes.int64)
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences a :class:`PackedSequence` holds, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
