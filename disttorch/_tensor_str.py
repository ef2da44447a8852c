"""Text form of tensors, laid out the way PyTorch prints them.

Everything here works on host numpy arrays.  The entry point is
:func:`tensor_repr`, which renders ``tensor([...], <suffixes>)`` for the
given array and metadata; the print options follow torch's
``set_printoptions`` / ``get_printoptions`` semantics.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = [
    "PRINT_OPTS",
    "PrintOptions",
    "get_printoptions",
    "printoptions",
    "set_printoptions",
    "tensor_repr",
]


@dataclasses.dataclass
class PrintOptions:
    """Current print settings (same fields and defaults as torch's)."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = PrintOptions()

# profile name -> (precision, threshold, edgeitems, linewidth)
_PROFILES: dict[str, tuple[int, float, int, int]] = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Change the print settings.

    ``profile`` (``"default"``, ``"short"`` or ``"full"``) is applied first and
    the explicit arguments override it.  As in torch, ``sci_mode`` is always
    assigned, so a call without it returns to automatic notation selection.
    """
    if profile is not None and profile in _PROFILES:
        (PRINT_OPTS.precision, PRINT_OPTS.threshold,
         PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth) = _PROFILES[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current settings, usable as ``set_printoptions(**opts)``."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Temporarily apply ``set_printoptions(**kwargs)`` inside a ``with`` block."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


# --------------------------------------------------------------------------
# element formatting
# --------------------------------------------------------------------------

_FLOAT_NAMES = {"float16", "bfloat16", "float32", "float64", "half", "float", "double"}


def _is_floating(dtype_name: str, arr: np.ndarray) -> bool:
    if dtype_name in _FLOAT_NAMES or dtype_name.startswith("float"):
        return True
    return arr.dtype.kind == "f"


def _is_complex(dtype_name: str, arr: np.ndarray) -> bool:
    return dtype_name.startswith("complex") or arr.dtype.kind == "c"


def _to_host_float(arr: np.ndarray) -> np.ndarray:
    """Exact float64 copy; narrow types (half, bfloat16, fp8) go via float32."""
    if arr.dtype == np.float64:
        return arr
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return arr.astype(np.float64)


class _ElementFormatter:
    """Chooses one notation and width for all elements of a tensor."""

    def __init__(self, values: np.ndarray, floating: bool) -> None:
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = values.reshape(-1)
        if not floating:
            if flat.size:
                if flat.dtype == np.bool_:
                    candidates = set(flat.tolist())
                else:
                    # the longest text is that of the smallest or the largest value
                    candidates = {flat.min().item(), flat.max().item()}
                self.width = max(self.width, *(len(str(v)) for v in candidates))
            return

        nonzero = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero.size == 0:
            return
        mags = np.abs(nonzero)
        lo = float(mags.min())
        hi = float(mags.max())
        self.int_mode = bool(np.all(np.ceil(nonzero) == nonzero))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = bool(PRINT_OPTS.sci_mode)

        prec = PRINT_OPTS.precision
        distinct = np.unique(nonzero).tolist()
        if self.sci_mode:
            lengths = (len(f"{v:.{prec}e}") for v in distinct)
        elif self.int_mode:
            # integer-valued floats get a trailing "." to mark them as floats
            lengths = (len(f"{v:.0f}") + 1 for v in distinct)
        else:
            lengths = (len(f"{v:.{prec}f}") for v in distinct)
        self.width = max(self.width, *lengths)

    def format(self, value: Any) -> str:
        """Text of one Python scalar, right-aligned to the common width."""
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{PRINT_OPTS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
        else:
            text = f"{value:.{PRINT_OPTS.precision}f}"
        return text.rjust(self.width)


class _Layout:
    """Formats the elements (real, or complex as a real/imag pair)."""

    def __init__(self, real: _ElementFormatter, imag: _ElementFormatter | None) -> None:
        self.real = real
        self.imag = imag

    def element_length(self) -> int:
        length = self.real.width + 2  # ", " between elements
        if self.imag is not None:
            length += self.imag.width + 1  # the trailing "j"
        return length

    def format(self, value: Any) -> str:
        if self.imag is None:
            return self.real.format(value)
        re_text = self.real.format(value.real)
        im_text = (self.imag.format(value.imag) + "j").lstrip()
        if im_text[0] in "+-":
            return re_text + im_text
        return re_text + "+" + im_text


# --------------------------------------------------------------------------
# nested layout
# --------------------------------------------------------------------------

def _summary_pieces(arr: np.ndarray, out: list[np.ndarray]) -> None:
    """Append (flattened) the elements that a summarised print shows."""
    edge = PRINT_OPTS.edgeitems
    if arr.ndim <= 1:
        if arr.ndim == 1 and arr.shape[0] > 2 * edge:
            # note: with edge == 0, arr[-0:] is the whole vector, as in torch
            out.append(arr[:edge].reshape(-1))
            out.append(arr[-edge:].reshape(-1))
        else:
            out.append(arr.reshape(-1))
        return
    if not edge:
        return
    n = arr.shape[0]
    rows = list(range(edge)) + list(range(n - edge, n)) if n > 2 * edge else range(n)
    for i in rows:
        _summary_pieces(arr[i], out)


def _summarized_values(arr: np.ndarray) -> np.ndarray:
    pieces: list[np.ndarray] = []
    _summary_pieces(arr, pieces)
    if not pieces:
        return arr.reshape(-1)[:0]
    return np.concatenate(pieces)


def _vector_text(arr: np.ndarray, indent: int, summarize: bool, layout: _Layout) -> str:
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / layout.element_length()))
    edge = PRINT_OPTS.edgeitems
    if summarize and not edge:
        items = ["..."]
    elif summarize and arr.shape[0] > 2 * edge:
        items = (
            [layout.format(v) for v in arr[:edge].tolist()]
            + [" ..."]
            + [layout.format(v) for v in arr[-edge:].tolist()]
        )
    else:
        items = [layout.format(v) for v in arr.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_text(arr: np.ndarray, indent: int, summarize: bool, layout: _Layout) -> str:
    if arr.ndim == 0:
        return layout.format(arr.item())
    if arr.ndim == 1:
        return _vector_text(arr, indent, summarize, layout)
    edge = PRINT_OPTS.edgeitems
    n = arr.shape[0]
    if summarize and n > 2 * edge:
        parts = (
            [_nested_text(arr[i], indent + 1, summarize, layout) for i in range(edge)]
            + ["..."]
            + [_nested_text(arr[i], indent + 1, summarize, layout) for i in range(n - edge, n)]
        )
    else:
        parts = [_nested_text(arr[i], indent + 1, summarize, layout) for i in range(n)]
    sep = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(parts) + "]"


def _data_text(arr: np.ndarray, dtype_name: str, indent: int) -> str:
    if arr.size == 0:
        return "[]"
    summarize = arr.size > PRINT_OPTS.threshold
    if _is_complex(dtype_name, arr):
        arr = arr.astype(np.complex128)
        shown = _summarized_values(arr) if summarize else arr
        layout = _Layout(
            _ElementFormatter(shown.real, floating=True),
            _ElementFormatter(shown.imag, floating=True),
        )
    else:
        floating = _is_floating(dtype_name, arr)
        if floating:
            arr = _to_host_float(arr)
        elif dtype_name == "bool" and arr.dtype != np.bool_:
            arr = arr.astype(np.bool_)
        shown = _summarized_values(arr) if summarize else arr
        layout = _Layout(_ElementFormatter(shown, floating=floating), None)
    return _nested_text(arr, indent, summarize, layout)


def _join_suffixes(body: str, suffixes: list[tuple[str, int]], indent: int) -> str:
    """Append ``, suffix`` items, moving one to a new line when it would not fit.

    Each suffix comes with the length used for the fit test (see tensor_repr).
    """
    out = [body]
    # same running-length bookkeeping as torch (it over-counts by 2 on line one)
    line_len = len(body) - body.rfind("\n") + 1
    for suffix, measured in suffixes:
        if line_len + measured + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            line_len = indent + measured
        else:
            out.append(", " + suffix)
            line_len += measured + 2
    out.append(")")
    return "".join(out)


def tensor_repr(
    data: Any,
    *,
    dtype_name: str,
    default_float_dtype_name: str = "float32",
    device: str = "cpu",
    requires_grad: bool = False,
    grad_fn: str | None = None,
    is_leaf_requires_grad: bool | None = None,
    module_name: str = "disttorch",
) -> str:
    """Render ``repr(tensor)`` as PyTorch does, from host data and metadata.

    ``dtype_name`` is the bare dtype name (``"float32"``), ``grad_fn`` the
    autograd node name for non-leaves (``"AddBackward0"``) or None for leaves.
    ``requires_grad=True`` is shown for leaves that require grad; pass
    ``is_leaf_requires_grad`` to decide that explicitly instead of deriving it
    from ``requires_grad``.  The output equals torch's ``repr`` with ``torch.``
    replaced by ``module_name + "."`` (suffix line breaks included).
    """
    arr = np.asarray(data)
    prefix = "tensor("
    indent = len(prefix)
    suffixes: list[str] = []

    if device.split(":", 1)[0] != "cpu":
        suffixes.append(f"device='{device}'")

    dtype_text = f"dtype={module_name}.{dtype_name}"
    # line breaks between suffixes are decided with torch's spelling of the dtype,
    # so the result equals torch's repr with "torch." renamed to module_name
    dtype_measured = len(f"dtype=torch.{dtype_name}")
    default_complex = "complex128" if default_float_dtype_name == "float64" else "complex64"
    hides_dtype = dtype_name in (default_float_dtype_name, default_complex, "int64", "bool")
    size_text = "size=" + str(tuple(int(s) for s in arr.shape))

    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(size_text)
        # no elements to infer an integer type from, so only the default float hides
        if dtype_name != default_float_dtype_name:
            suffixes.append(dtype_text)
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(size_text)
        if not hides_dtype:
            suffixes.append(dtype_text)
        body = _data_text(arr, dtype_name, indent)

    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn}>")
    else:
        leaf_rg = requires_grad if is_leaf_requires_grad is None else is_leaf_requires_grad
        if leaf_rg:
            suffixes.append("requires_grad=True")

    measured = [(sfx, dtype_measured if sfx == dtype_text else len(sfx)) for sfx in suffixes]
    return _join_suffixes(prefix + body, measured, indent)
