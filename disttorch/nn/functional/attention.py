"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

The scores are one batched matmul; scaling, the masks and the softmax are one fused op
(``_MaskedSoftmax``) whose backward is written with Tensor ops, so higher-order grads work.
Bool masks become constant "keep" arrays (no grad); float masks are an input of the fused
op (they may require grad, as in torch).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ... import creation as _creation
from ..._tensor import Tensor, _wrap
from ...backend import device as _dev
from ...backend import dtypes
from ...ops._op import Op
from ...ops._util import tensor_arg_error
from ...ops.linalg import matmul
from ...ops.movement import cat
from .dropout import dropout as _dropout
from .linear import linear

_CPU = _dev.CPU
_F32 = np.dtype(np.float32)
_NEG_INF = float("-inf")
_C_NAME = {
    "bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
    "int32": "int", "int64": "long int", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "float32": "float", "float64": "double",
}


def _cname(t: Tensor) -> str:
    name = dtypes.from_numpy(t._data.dtype).name
    return _C_NAME.get(name, name)


def _xp(t: Tensor):
    return np if t._device is _CPU else _dev.cupy_module()


def _low(dt) -> bool:
    return dt.kind == "V" or dt == np.float16


# --------------------------------------------------------------------------- fused softmax
class _MaskedSoftmax(Op):
    """``softmax(x * scale + mask)`` over the last dim, with ``-inf`` where ``keep`` is False.

    Attributes: ``scale`` (float), ``keep`` (a bool array broadcasting against ``x``, or
    None), ``safe`` (rows whose scores are all ``-inf`` give 0 instead of NaN, as torch's
    scaled_dot_product_attention does). The optional second input is an additive float
    mask; the output may take the broadcast shape of ``x`` and the masks.
    """

    def forward(self, x, *mask):
        xp = self.xp
        dt = x.dtype
        low = _low(dt)
        s = x.astype(_F32) if low else x
        s = s * self.scale if self.scale != 1.0 else s.copy()
        if mask:
            m = mask[0]
            s = s + (m.astype(_F32) if _low(m.dtype) else m)
        if self.keep is not None:
            s = xp.where(self.keep, s, _NEG_INF)
        self.retain_outputs(0)
        if s.shape[-1] == 0 or s.size == 0:
            return s.astype(dt, copy=False)
        with np.errstate(invalid="ignore", over="ignore"):
            mx = s.max(axis=-1, keepdims=True)
            if self.safe:
                mx = xp.where(mx == _NEG_INF, 0.0, mx).astype(s.dtype, copy=False)
            s -= mx
            e = xp.exp(s, out=s)
            z = e.sum(axis=-1, keepdims=True)
            if self.safe:
                z = xp.where(z == 0, 1.0, z).astype(s.dtype, copy=False)
            e /= z
        return e.astype(dt, copy=False)

    def backward(self, gy):
        (y,) = self.saved_tensors
        need = self.needs_input_grad
        gs = y * (gy - (gy * y).sum(-1, keepdim=True))
        gx = (gs * self.scale if self.scale != 1.0 else gs) if need[0] else None
        if len(need) == 1:
            return gx
        return gx, (gs if need[1] else None)


def _attention(q: Tensor, k: Tensor, v: Tensor, fmask, keep, scale: float, safe: bool,
               dropout_p: float):
    """``(softmax(q @ k^T * scale + mask) @ v, weights)``; dropout on the weights."""
    scores = matmul(q, k.transpose(-2, -1))
    if fmask is None:
        w = _MaskedSoftmax.apply(scores, scale=scale, keep=keep, safe=safe)
    else:
        w = _MaskedSoftmax.apply(scores, fmask, scale=scale, keep=keep, safe=safe)
    if dropout_p > 0.0:
        w = _dropout(w, dropout_p, True)
    return matmul(w, v), w


# --------------------------------------------------------------------------------- sdpa
def _broadcast_batch_size(a: tuple, b: tuple) -> int:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    size = 1
    for x, y in zip(a, b):
        size *= x if y == 1 else y
    return size


def _causal_keep(xp, n_query: int, n_key: int):
    """Top-left aligned causal mask: query i sees keys 0..i."""
    return xp.tri(n_query, n_key, dtype=bool)


def _sdpa_checks(query, key, value, attn_mask, dropout_p, is_causal) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise tensor_arg_error("scaled_dot_product_attention", name, None, t)
    qd, kd, vd = query._data, key._data, value._data
    if qd.ndim < 2 or kd.ndim < 2 or vd.ndim < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
            f"{qd.ndim} key.dim: {kd.ndim} and value.dim: {vd.ndim} instead.")
    if qd.dtype != kd.dtype or qd.dtype != vd.dtype:
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{_cname(query)} key.dtype: {_cname(key)} and value.dtype: {_cname(value)} instead.")
    if qd.dtype.kind not in "fV":
        raise RuntimeError(f"expected scalar type Float but found {dtypes.from_numpy(qd.dtype).legacy_name}")
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError(
                "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
        md = attn_mask._data.dtype
        if md != np.bool_ and md != _F32 and md != qd.dtype:
            raise RuntimeError(
                "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                f"attn_mask.dtype: {_cname(attn_mask)} and  query.dtype: {_cname(query)} instead.")
    if dropout_p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    qs, ks, vs = qd.shape, kd.shape, vd.shape
    if qs[-1] != ks[-1]:
        nb = _broadcast_batch_size(qs[:-2], ks[:-2])
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{nb}, {qs[-1]}] but "
            f"got: [{nb}, {ks[-1]}].")
    if ks[-2] != vs[-2]:
        nb = _broadcast_batch_size(_broadcast_shape(qs[:-2], ks[:-2]), vs[:-2])
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{nb}, {ks[-2]}] but "
            f"got: [{nb}, {vs[-2]}].")


def _check_mask_shape(mask: tuple, scores: tuple) -> None:
    """The mask must broadcast to the scores' shape (torch adds it in place)."""
    n = max(len(mask), len(scores))
    pm, ps = (1,) * (n - len(mask)) + mask, (1,) * (n - len(scores)) + scores
    for i in range(n - 1, -1, -1):
        if pm[i] != ps[i] and pm[i] != 1 and ps[i] != 1:
            raise RuntimeError(
                f"The size of tensor a ({ps[i]}) must match the size of tensor b ({pm[i]}) at "
                f"non-singleton dimension {i}")
    if len(mask) > len(scores) or any(m != 1 and s == 1 for m, s in zip(pm, ps)):
        raise RuntimeError(
            f"output with shape {list(scores)} doesn't match the broadcast shape "
            f"{list(_broadcast_shape(mask, scores))}")


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    return tuple(x if y == 1 else y for x, y in zip(a, b))


def _repeat_heads(t: Tensor, n: int) -> Tensor:
    """``t.repeat_interleave(n, dim=-3)`` as one expand + reshape."""
    if n == 1:
        return t
    s = t._data.shape
    return t.unsqueeze(-3).expand(s[:-3] + (s[-3], n) + s[-2:]).reshape(s[:-3] + (s[-3] * n,) + s[-2:])


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(q @ k^T * scale + mask) @ v``; a bool mask's True entries take part."""
    _sdpa_checks(query, key, value, attn_mask, dropout_p, is_causal)
    if enable_gqa and query._data.ndim >= 3:
        hq, hk, hv = query._data.shape[-3], key._data.shape[-3], value._data.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
        key = _repeat_heads(key, hq // hk)
        value = _repeat_heads(value, hq // hv)
    sf = 1.0 / math.sqrt(query._data.shape[-1]) if scale is None else float(scale)
    keep = fmask = None
    if is_causal:
        keep = _causal_keep(_xp(query), query._data.shape[-2], key._data.shape[-2])
    elif attn_mask is not None:
        qs, ks = query._data.shape, key._data.shape
        _check_mask_shape(attn_mask._data.shape, _broadcast_shape(qs[:-2], ks[:-2]) + (qs[-2], ks[-2]))
        if attn_mask._data.dtype == np.bool_:
            keep = attn_mask._data
        else:
            fmask = attn_mask
    out, _ = _attention(query, key, value, fmask, keep, sf, True, float(dropout_p))
    return out


# ------------------------------------------------------------------------- mask helpers
def _none_or_dtype(input: Tensor | None):
    """The dtype of ``input``, or None."""
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask: Tensor | None, mask_name: str, other_type, other_name: str, target_type,
                    check_other: bool = True) -> Tensor | None:
    """A bool mask as a float mask of ``target_type`` (``-inf`` where True); floats as they are."""
    if mask is None:
        return None
    md = mask._data.dtype
    is_float = md.kind in "fV"
    if md != np.bool_ and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(
            f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for "
            "both instead.", UserWarning, stacklevel=2)
    if is_float:
        return mask
    xp = _xp(mask)
    tdt = dtypes.canonical(target_type).np
    arr = xp.where(mask._data, _NEG_INF, 0.0).astype(tdt)
    return _wrap(arr, mask._device)


def _mha_shape_check(query: Tensor, key: Tensor, value: Tensor, key_padding_mask, attn_mask,
                     num_heads: int) -> bool:
    """Whether the call is batched (3-d query), with torch's AssertionErrors otherwise."""
    qd, kd, vd = query.dim(), key.dim(), value.dim()
    if qd == 3:
        if kd != 3 or vd != 3:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                f"{kd}-D and {vd}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found "
                f"{attn_mask.dim()}-D tensor instead")
        return True
    if qd == 2:
        if kd != 2 or vd != 2:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                f"{kd}-D and {vd}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but "
                f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                    f"found {attn_mask.dim()}-D tensor instead")
            if attn_mask.dim() == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(
                        f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
        return False
    raise AssertionError(
        f"query should be unbatched 2D or batched 3D tensor but received {qd}-D query tensor")


def _pad_last(t: Tensor) -> Tensor:
    """``t`` with one zero column appended on the last dim."""
    return cat([t, t.new_zeros(tuple(t.shape[:-1]) + (1,))], -1)


def _in_projection_packed(q: Tensor, k: Tensor, v: Tensor, w: Tensor, b: Tensor | None):
    E = q.shape[-1]
    if k is v:
        if q is k:
            proj = linear(q, w, b)
            return tuple(proj.unflatten(-1, (3, E)).unbind(-2))
        w_q, w_kv = w.split([E, 2 * E])
        b_q, b_kv = (None, None) if b is None else b.split([E, 2 * E])
        kv = linear(k, w_kv, b_kv).unflatten(-1, (2, E)).unbind(-2)
        return linear(q, w_q, b_q), kv[0], kv[1]
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q, b_k, b_v):
    Eq, Ek, Ev = q.shape[-1], k.shape[-1], v.shape[-1]
    checks = (
        (w_q, (Eq, Eq), "query"), (w_k, (Eq, Ek), "key"), (w_v, (Eq, Ev), "value"),
    )
    for w, shape, name in checks:
        if tuple(w.shape) != shape:
            raise AssertionError(f"expecting {name} weights shape of {shape}, but got {w.shape}")
    for bb, name in ((b_q, "query"), (b_k, "key"), (b_v, "value")):
        if bb is not None and tuple(bb.shape) != (Eq,):
            raise AssertionError(f"expecting {name} bias shape of {(Eq,)}, but got {bb.shape}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _heads(t: Tensor, n: int, bh: int, hd: int) -> Tensor:
    """(L, B, E) -> (B * heads, L, head_dim)."""
    return t.reshape(n, bh, hd).transpose(0, 1)


def multi_head_attention_forward(
    query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
    in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
    bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
    out_proj_bias: Tensor | None, training: bool = True, key_padding_mask: Tensor | None = None,
    need_weights: bool = True, attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None, static_v: Tensor | None = None,
    average_attn_weights: bool = True, is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention over (L, N, E) inputs (or unbatched (L, E)); returns (output, weights)."""
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = _unsqueeze_same(query, key, value)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask),
                                       "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
            "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the causal hint replaces the mask
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(
                f"key's sequence and batch dims {key.shape[:2]} do not match value's {value.shape[:2]}")
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")

    # input projections
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    else:
        for w, n in ((q_proj_weight, "q"), (k_proj_weight, "k"), (v_proj_weight, "v")):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {n}_proj_weight is None")
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            b_q, b_k, b_v = in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight,
                                 b_q, b_k, b_v)

    if attn_mask is not None:
        nd = attn_mask.dim()
        if nd == 2:
            correct = (tgt_len, src_len)
            if tuple(attn_mask.shape) != correct:
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be {correct}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif nd == 3:
            correct = (bsz * num_heads, tgt_len, src_len)
            if tuple(attn_mask.shape) != correct:
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be {correct}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {nd} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = cat([v, bias_v.expand(1, bsz, embed_dim)])
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    bh = bsz * num_heads
    q = _heads(q, tgt_len, bh, head_dim)
    k = _static(static_k, "static_k", bh, head_dim) if static_k is not None else \
        _heads(k, k.shape[0], bh, head_dim)
    v = _static(static_v, "static_v", bh, head_dim) if static_v is not None else \
        _heads(v, v.shape[0], bh, head_dim)

    if add_zero_attn:
        zshape = (bh, 1, head_dim)
        k = cat([k, _creation.zeros(zshape, dtype=k.dtype, device=k.device)], 1)
        v = cat([v, _creation.zeros(zshape, dtype=v.dtype, device=v.device)], 1)
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)

    src_len = k.shape[1]
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(
                f"Expected key_padded_mask.shape[0] to be {bsz}, but got {key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(
                f"Expected key_padded_mask.shape[1] to be {src_len}, but got {key_padding_mask.shape[1]}")
        kpm = key_padding_mask.view(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1) \
            .reshape(bh, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm

    if not training:
        dropout_p = 0.0

    if need_weights:
        if attn_mask is not None and attn_mask._data.dtype != q._data.dtype:
            raise RuntimeError(
                f"Input dtypes must be the same, got: input {_cname(attn_mask)}, batch1: {_cname(q)}, "
                f"batch2: {_cname(k)}")
        out, w = _attention(q, k, v, attn_mask, None, math.sqrt(1.0 / float(head_dim)), False,
                            dropout_p)
        out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).view(tgt_len, bsz, -1)
        w = w.view(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            w = w.mean(1)
        if not is_batched:
            out = out.squeeze(1)
            w = w.squeeze(0)
        return out, w

    if is_causal:  # (then there is no mask: the hint replaced it above)
        keep = _causal_keep(_xp(q), tgt_len, src_len)
        out, _ = _attention(q, k, v, None, keep, 1.0 / math.sqrt(head_dim), True, dropout_p)
    else:
        if attn_mask is not None:
            md = attn_mask._data.dtype
            if md != _F32 and md != q._data.dtype:
                raise RuntimeError(
                    "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                    f"attn_mask.dtype: {_cname(attn_mask)} and  query.dtype: {_cname(q)} instead.")
        out, _ = _attention(q, k, v, attn_mask, None, 1.0 / math.sqrt(head_dim), True, dropout_p)
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).view(tgt_len, bsz, -1)
    if not is_batched:
        out = out.squeeze(1)
    return out, None


def _unsqueeze_same(query: Tensor, key: Tensor, value: Tensor):
    """``unsqueeze(1)`` of each, keeping the identities (self-attention stays packed)."""
    q = query.unsqueeze(1)
    k = q if key is query else key.unsqueeze(1)
    if value is key:
        v = k
    elif value is query:
        v = q
    else:
        v = value.unsqueeze(1)
    return q, k, v


def _static(t: Tensor, name: str, bh: int, hd: int) -> Tensor:
    if t.shape[0] != bh:
        raise AssertionError(f"expecting {name}.size(0) of {bh}, but got {t.shape[0]}")
    if t.shape[2] != hd:
        raise AssertionError(f"expecting {name}.size(2) of {hd}, but got {t.shape[2]}")
    return t


__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]
