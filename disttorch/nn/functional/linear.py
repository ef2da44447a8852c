"""``linear`` (one fused GEMM + bias op over N-d inputs) and ``bilinear``."""
from __future__ import annotations

from ..._tensor import Tensor
from ...backend import dtypes
from ...ops._op import Op
from ...ops._util import need_tensor
from ...ops.linalg import Mm, _mat, matmul

_C_NAME = {
    "bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
    "int32": "int", "int64": "long int", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "float32": "float", "float64": "double",
}


def _sname(a) -> str:
    return dtypes.from_numpy(a.dtype).legacy_name


class Linear(Op):
    """``x @ w.T (+ b)`` for ``x`` of shape (..., in), ``w`` (out, in), ``b`` (out,)."""

    def forward(self, x, w, b=None):
        self.retain_inputs(0, 1)
        xp = self.xp
        nd = x.ndim
        if nd == 2:
            y = _mat(xp, x, w.T)
        elif nd == 1:
            y = _mat(xp, w, x)
        else:
            lead = x.shape[:-1]
            y = _mat(xp, x.reshape(-1, x.shape[-1]), w.T).reshape(lead + (w.shape[0],))
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        x, w = self.saved_tensors[:2]
        need = self.needs_input_grad
        gx = gw = gb = None
        nd = x._data.ndim
        if nd == 1:
            if need[0]:
                gx = matmul(gy, w)
            if need[1]:
                gw = gy.unsqueeze(1) * x
            if len(need) > 2 and need[2]:
                gb = gy
            return (gx, gw, gb) if len(need) > 2 else (gx, gw)
        g2 = gy if nd == 2 else gy.reshape(-1, gy.shape[-1])
        if need[0]:
            gx = Mm.apply(g2, w)
            if nd != 2:
                gx = gx.reshape(x.shape)
        if need[1]:
            x2 = x if nd == 2 else x.reshape(-1, x.shape[-1])
            gw = Mm.apply(g2.mT, x2)
        if len(need) == 2:
            return gx, gw
        if need[2]:
            gb = g2.sum(0)
        return gx, gw, gb


def _rows(shape) -> int:
    n = 1
    for s in shape[:-1]:
        n *= s
    return n


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dim of ``input``."""
    if type(input) is not Tensor and not isinstance(input, Tensor):
        need_tensor(input, "linear")
    if not isinstance(weight, Tensor):
        need_tensor(weight, "linear", "weight", 2)
    x, w = input._data, weight._data
    if w.ndim == 2 and x.ndim >= 1:
        k = x.shape[-1]
        if w.shape[1] != k:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({_rows(x.shape)}x{k} and "
                f"{w.shape[1]}x{w.shape[0]})")
        if x.dtype != w.dtype:
            raise RuntimeError(
                "expected m1 and m2 to have the same dtype, but got: "
                f"{_C_NAME.get(x.dtype.name, x.dtype.name)} != {_C_NAME.get(w.dtype.name, w.dtype.name)}")
        if x.dtype.kind == "b":
            raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
        if bias is None:
            return Linear.apply(input, weight)
        if not isinstance(bias, Tensor):
            need_tensor(bias, "linear", "bias", 3)
        b = bias._data
        if b.ndim == 1 and b.shape[0] == w.shape[0]:
            if b.dtype != x.dtype:
                raise RuntimeError(
                    f"self and mat2 must have the same dtype, but got {_sname(b)} and {_sname(w)}")
            return Linear.apply(input, weight, bias)
        # an unusual bias shape: broadcast it like torch (expand errors included)
        y = Linear.apply(input, weight)
        out = y.shape
        if b.ndim > len(out) or any(s != 1 and s != o for s, o in zip(reversed(b.shape), reversed(out))):
            bias.expand(out)  # raises torch's expand error
        if b.dtype != x.dtype:
            raise RuntimeError(
                f"self and mat2 must have the same dtype, but got {_sname(b)} and {_sname(w)}")
        return y + bias
    if x.ndim == 0 or w.ndim == 0:
        raise RuntimeError(
            f"both arguments to linear need to be at least 1D, but they are {x.ndim}D and {w.ndim}D")
    if w.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {w.ndim}D")
    y = matmul(input, weight.t())  # a 1-d weight
    return y if bias is None else y + bias


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = sum_ij x1[..., i] * weight[o, i, j] * x2[..., j] + bias[o]``."""
    need_tensor(input1, "bilinear", "input1", 1)
    need_tensor(input2, "bilinear", "input2", 2)
    need_tensor(weight, "bilinear", "weight", 3)
    s1, s2, sw = input1._data.shape, input2._data.shape, weight._data.shape
    if len(s1) != len(s2):
        raise RuntimeError(
            f"bilinear(): input dimensions do not match: got {len(s1)} and {len(s2)}")
    for d, (a, b) in enumerate(zip(s1[:-1], s2[:-1])):
        if a != b:
            raise RuntimeError(
                f"bilinear(): input batch dimensions do not match at dim {d}: got {a} and {b}")
    if len(sw) < 3:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [-{len(sw)}, {len(sw) - 1}], but got 2)")
    if s1[-1] != sw[1]:
        raise RuntimeError(
            f"bilinear(): input1 size does not match weight size: got {s1[-1]} but expected {sw[1]}")
    if s2[-1] != sw[2]:
        raise RuntimeError(
            f"bilinear(): input2 size does not match weight size: got {s2[-1]} but expected {sw[2]}")
    if bias is not None:
        need_tensor(bias, "bilinear", "bias", 4)
        bs = bias._data.shape
        if len(bs) != 1 or bs[0] != sw[0]:
            raise RuntimeError(
                f"bilinear(): bias size does not match weight size: got {bs[0] if bs else 1} but "
                f"expected {sw[0]}")
    dts = (input1._data.dtype, input2._data.dtype, weight._data.dtype)
    if dts[0] != dts[1] or dts[0] != dts[2]:
        c = [_C_NAME.get(d.name, d.name) for d in dts]
        raise RuntimeError(
            f"All tensors must have the same dtype, got input1: {c[0]}, input2: {c[1]}, weight: {c[2]}")
    o, i, j = sw
    lead = s1[:-1]
    x1 = input1.reshape(-1, i)
    x2 = input2.reshape(-1, j)
    # (N, i) @ (i, o*j) -> (N, o, j), then contract j against x2
    t = Mm.apply(x1, weight.permute(1, 0, 2).reshape(i, o * j)).reshape(-1, o, j)
    y = matmul(t, x2.unsqueeze(-1)).squeeze(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (o,))


__all__ = ["bilinear", "linear"]
