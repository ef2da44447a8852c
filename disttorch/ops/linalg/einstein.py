"""Einstein summation: equation parsing, the Einsum and DiagEmbed ops, and einsum itself."""
from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from .._op import Op
from ._common import _F32, _LOWP, _no_bool, _sname

_INT64 = np.dtype(np.int64)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # torch's label order
_LETTER_SET = frozenset(_LETTERS)


class Einsum(Op):
    """``xp.einsum`` on an explicit equation whose labels have one size each (no broadcasting)."""

    def forward(self, *arrays):
        n = len(arrays)
        if n > 1:
            self.retain_inputs(*range(n))
        eq = ",".join(self.subs) + "->" + self.out
        xp = self.xp
        if arrays[0].dtype in _LOWP and (xp is np or arrays[0].dtype.kind == "V"):
            r = xp.einsum(eq, *[x.astype(_F32) for x in arrays], optimize=n > 1 and "greedy")
            return r.astype(arrays[0].dtype)
        if n == 1:
            r = xp.einsum(eq, arrays[0], dtype=self.dtype)
            # a pure transpose or diagonal comes back as a view of the input: own the result
            return r.copy() if len(set(self.out)) == len(set(self.subs[0])) else r
        # two operands: tensordot (BLAS); more: a greedy contraction order
        return xp.einsum(eq, *arrays, optimize="greedy")

    def backward(self, gy):
        ins = self.saved_tensors
        grads = []
        for i, need in enumerate(self.needs_input_grad):
            grads.append(self._grad(i, gy, ins) if need else None)
        return tuple(grads)

    def _grad(self, i, gy, ins):
        sub = self.subs[i]
        uniq = "".join(dict.fromkeys(sub))
        others = [(self.subs[j], ins[j]) for j in range(len(self.subs)) if j != i]
        present = set(self.out).union(*(s for s, _ in others))
        avail = "".join(c for c in uniq if c in present)
        g = _einsum_explicit([self.out] + [s for s, _ in others], avail, [gy] + [t for _, t in others],
                             self.sizes)
        if len(avail) < len(uniq):  # labels summed inside this operand only: broadcast back
            g = g.reshape(tuple(self.sizes[c] if c in avail else 1 for c in uniq))
            g = g.expand(tuple(self.sizes[c] for c in uniq))
        if len(uniq) < len(sub):  # repeated labels: the grad lives on the diagonal
            g = DiagEmbed.apply(g, sub=sub, uniq=uniq, sizes=self.sizes)
        return g


class DiagEmbed(Op):
    """Place ``g`` (labels ``uniq``) on the diagonal of a zero tensor with labels ``sub``."""

    def forward(self, g):
        xp = self.xp
        shape = tuple(self.sizes[c] for c in self.sub)
        out = xp.zeros(shape, dtype=g.dtype)
        nu = len(self.uniq)
        idx = []
        for c in self.sub:
            p = self.uniq.index(c)
            idx.append(xp.arange(self.sizes[c]).reshape((1,) * p + (-1,) + (1,) * (nu - p - 1)))
        out[tuple(idx)] = g
        return out

    def backward(self, gy):
        return _einsum_explicit([self.sub], self.uniq, [gy], self.sizes)


def _einsum_explicit(subs, out, tensors, sizes) -> Tensor:
    if len(tensors) == 1 and subs[0] == out:
        return tensors[0]
    return Einsum.apply(*tensors, subs=tuple(subs), out=out, sizes=sizes, dtype=None)


def _parse_einsum(eq: str, nops: int):
    """Operand terms (lists of labels, ``...`` as None) and the output term (or None)."""
    arrow = eq.find("->")
    lhs_end = len(eq) if arrow < 0 else arrow
    terms: list[list] = [[]]
    ell = False
    dots = 0
    for i in range(lhs_end):
        c = eq[i]
        k = len(terms) - 1
        if c == ".":
            if ell:
                raise RuntimeError(f"einsum(): found '.' for operand {k} for which an ellipsis was already found")
            dots += 1
            if dots == 3:
                terms[-1].append(None)
                ell, dots = True, 0
            continue
        if dots:
            raise RuntimeError(f"einsum(): found '.' for operand {k} that is not part of any ellipsis")
        if c == " ":
            continue
        if c == ",":
            if len(terms) >= nops:
                raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
            terms.append([])
            ell = False
            continue
        if c not in _LETTER_SET:
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {i} in the equation string, subscripts "
                "must be in [a-zA-Z]")
        terms[-1].append(c)
    if dots:
        raise RuntimeError(f"einsum(): found '.' for operand {len(terms) - 1} that is not part of any ellipsis")
    if len(terms) < nops:
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    if arrow < 0:
        return terms, None
    out: list = []
    ell = False
    dots = 0
    for i in range(arrow + 2, len(eq)):
        c = eq[i]
        if c == ".":
            if ell:
                raise RuntimeError("einsum(): found '.' for output but an ellipsis (...) was already found")
            dots += 1
            if dots == 3:
                out.append(None)
                ell, dots = True, 0
            continue
        if dots:
            raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis")
        if c == " ":
            continue
        if c not in _LETTER_SET:
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {i} in the equation string, subscripts "
                "must be in [a-zA-Z]")
        if c in out:
            raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
        out.append(c)
    if dots:
        raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis")
    return terms, out


def _sublist_equation(args) -> tuple[str, list]:
    """torch's sublist form ``einsum(op0, [0, 1], op1, [1, 2], [0, 2])`` as an equation."""

    def term(sub) -> str:
        s = []
        for v in sub:
            if v is Ellipsis:
                s.append("...")
                continue
            if isinstance(v, Tensor):
                v = v.item()
            if not (0 <= v < 52):
                raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
            s.append(_LETTERS[int(v)])
        return "".join(s)

    n = len(args) // 2
    ops = list(args[0:2 * n:2])
    eq = ",".join(term(s) for s in args[1:2 * n:2])
    if len(args) % 2:
        eq += "->" + term(args[-1])
    return eq, ops


def einsum(*args: str | Tensor | list) -> Tensor:
    """Einstein summation: ``(equation, *operands)``, ``(equation, [operands])`` or sublists."""
    if len(args) < 2:
        raise ValueError(
            "einsum(): must specify the equation string and at least one operand, or at least one "
            "operand and its subscripts list")
    if isinstance(args[0], Tensor):
        eq, ops = _sublist_equation(args)
    elif isinstance(args[0], str):
        eq, ops = args[0], args[1:]
        if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
            ops = ops[0]
    else:
        raise TypeError(f"einsum(): argument 'equation' (position 1) must be str, not {type(args[0]).__name__}")
    ops = list(ops)
    for i, o in enumerate(ops):
        if not isinstance(o, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 1, but got {type(o).__name__}")
    terms, out = _parse_einsum(eq, len(ops))

    # ellipsis dims: right-aligned across operands, broadcast like batch dims
    ell_dims = []
    for k, (t, o) in enumerate(zip(terms, ops)):
        nd, nl = o._data.ndim, sum(c is not None for c in t)
        if None in t:
            if nl > nd:
                raise RuntimeError(
                    f"einsum(): the number of subscripts in the equation ({nl}) is more than the number of "
                    f"dimensions ({nd}) for operand {k}")
            ell_dims.append(nd - nl)
        else:
            if nl != nd:
                raise RuntimeError(
                    f"einsum(): the number of subscripts in the equation ({nl}) does not match the number of "
                    f"dimensions ({nd}) for operand {k} and no ellipsis was given")
            ell_dims.append(0)
    n_ell = max(ell_dims, default=0)
    used = {c for t in terms for c in t if c is not None}
    free = [c for c in _LETTERS if c not in used]
    if n_ell > len(free):
        raise RuntimeError("einsum(): too many subscripts in the equation")
    ell = free[:n_ell]
    ell_size: list = [None] * n_ell
    sizes: dict = {}
    subs = []
    for k, (t, o) in enumerate(zip(terms, ops)):
        shape = o._data.shape
        letters = []
        pos = 0
        for c in t:
            if c is None:
                e = ell_dims[k]
                for j in range(e):
                    s, slot = shape[pos + j], n_ell - e + j
                    prev = ell_size[slot]
                    if prev is not None and s != prev and s != 1 and prev != 1:
                        raise RuntimeError(
                            f"einsum(): dimension {j} covered by ellipsis in operand {k}has size {s} which "
                            f"does not broadcast with previously seen ellipsis with size {prev} for the "
                            "respective dimension")
                    if prev is None or prev == 1:
                        ell_size[slot] = s
                    letters.append(ell[slot])
                pos += e
                continue
            s = shape[pos]
            if c in letters:
                first = shape[letters.index(c)]
                if s != first:
                    raise RuntimeError(
                        f"einsum(): subscript {c} is repeated for operand {k} but the sizes don't match, "
                        f"{s} != {first}")
            elif c in sizes:
                prev = sizes[c]
                if s != prev and s != 1 and prev != 1:
                    raise RuntimeError(
                        f"einsum(): subscript {c} has size {s} for operand {k} which does not broadcast with "
                        f"previously seen size {prev}")
            if c not in sizes or sizes[c] == 1:
                sizes[c] = s
            letters.append(c)
            pos += 1
        subs.append(letters)
    for c, s in zip(ell, ell_size):
        sizes[c] = 1 if s is None else s

    if out is None:  # implicit output: ellipsis dims, then the labels seen once, sorted
        counts: dict = {}
        for t in terms:
            for c in t:
                if c is not None:
                    counts[c] = counts.get(c, 0) + 1
        out_s = "".join(ell) + "".join(c for c in _LETTERS if counts.get(c) == 1)
    else:
        o = []
        for c in out:
            if c is None:
                o.extend(ell)
            elif c not in used:
                raise RuntimeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any input operand")
            else:
                o.append(c)
        out_s = "".join(o)

    # size-1 dims that broadcast against a larger size: drop them from that operand
    for k, o in enumerate(ops):
        shape = o._data.shape
        letters = subs[k]
        if any(s == 1 and sizes[c] != 1 for c, s in zip(letters, shape)):
            keep = [j for j, (c, s) in enumerate(zip(letters, shape)) if not (s == 1 and sizes[c] != 1)]
            ops[k] = o.reshape(tuple(shape[j] for j in keep))
            letters = [letters[j] for j in keep]
        subs[k] = "".join(letters)

    d0 = ops[0]._data.dtype
    for o in ops[1:]:
        if o._data.dtype != d0:
            raise RuntimeError(f"expected scalar type {_sname(ops[0]._data)} but found {_sname(o._data)}")
    dtype = None
    if len(ops) > 1:
        _no_bool(ops[0]._data, "bmm")
    elif d0.kind in "biu" and any(c not in out_s for c in subs[0]):
        dtype = _INT64  # a one-operand einsum that sums integers is torch's sum: int64
    return Einsum.apply(*ops, subs=tuple(subs), out=out_s, sizes=sizes, dtype=dtype)
