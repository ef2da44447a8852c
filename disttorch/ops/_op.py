"""``Op``: the base of every built-in differentiable op.

An op is a graph node class. ``forward`` works on raw arrays (numpy or cupy, through
``self.xp``) and returns an array or a tuple of arrays; ``backward`` works on Tensors,
so the same formula records a graph under ``create_graph=True`` and gives higher-order
gradients. Gradients of broadcast inputs may come back in the broadcast shape: the
engine sums them back to each input's shape (and casts them back to its dtype).

Non-tensor arguments are keyword attributes of the node: ``Sum.apply(x, dim=(0,))``
makes ``self.dim`` available in forward and backward.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor, _wrap
from ..autograd import grad_mode
from ..autograd.node import Node
from ..backend import device as _dev

_new = object.__new__
_CPU = _dev.CPU
_generic = np.generic


def _same_device_error(a, b) -> RuntimeError:
    return RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{a} and {b}!"
    )


def _broadcast_error(e: ValueError, a, b) -> Exception:
    """numpy's broadcast ValueError as torch's RuntimeError naming the sizes."""
    if "broadcast" not in str(e):
        return e
    sa, sb = a._data.shape, b._data.shape
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            return RuntimeError(
                f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) at "
                f"non-singleton dimension {i}"
            )
    return RuntimeError(str(e))


class Op(Node):
    """A differentiable op; subclasses define ``forward(*arrays)`` and ``backward(*grads)``."""

    # True for ops whose output shares memory with input 0 (view semantics: the output
    # shares the input's version counter, so in-place changes are seen by both)
    view = False
    # False for ops with no gradient at all (comparisons, argmax): nothing is recorded
    differentiable = True
    # True for ops whose output lives on another device (``self.dst``): ``Tensor.to``
    moves_device = False

    @property
    def needs_input_grad(self) -> tuple:
        """Per input: whether it gets a gradient (so backward can skip the others)."""
        return tuple(n is not None for n, _ in self.next_functions)

    def retain_inputs(self, *indices: int) -> None:
        """Keep these inputs for backward (read back through ``saved_tensors``)."""
        self._ri = indices

    def retain_outputs(self, *indices: int) -> None:
        """Keep these outputs for backward (after the retained inputs in ``saved_tensors``)."""
        self._ro = indices

    @classmethod
    def apply(cls, *inputs: Tensor, **attrs):
        node = _new(cls)
        if attrs:
            node.__dict__.update(attrs)
        x0 = inputs[0]
        dev = x0._device
        node._ri = node._ro = ()
        if len(inputs) == 1:  # the common cases get straight-line code: this is the hot path
            node.xp = np if dev is _CPU else _dev.cupy_module()
            out = node.forward(x0._data)
            record = x0._requires_grad
        elif len(inputs) == 2:
            x1 = inputs[1]
            if x1._device is not dev:
                raise _same_device_error(dev, x1._device)
            node.xp = np if dev is _CPU else _dev.cupy_module()
            try:
                out = node.forward(x0._data, x1._data)
            except ValueError as e:
                raise _broadcast_error(e, x0, x1) from None
            record = x0._requires_grad or x1._requires_grad
        else:
            for t in inputs:
                if t._device is not dev:
                    raise _same_device_error(dev, t._device)
            node.xp = np if dev is _CPU else _dev.cupy_module()
            try:
                out = node.forward(*[t._data for t in inputs])
            except ValueError as e:
                raise _broadcast_error(e, *inputs[:2]) from None
            record = any([t._requires_grad for t in inputs])
        record = record and grad_mode.state.grad_enabled and cls.differentiable
        if cls.moves_device:
            dev = node.dst

        if type(out) is tuple:
            return _wrap_outputs(node, inputs, out, dev, record, attrs)
        if type(out) is not np.ndarray and isinstance(out, _generic):
            out = np.asarray(out)
        if not record:
            r = _wrap(out, dev)
            if cls.view:
                _share_version(r, x0, cls, attrs, 0)
            return r
        node._init_node(
            tuple([t._edge() for t in inputs]),
            tuple([(t._data.shape, t._data.dtype, t._device) for t in inputs]),
        )
        r = _wrap(out, dev, True, node, 0)
        if cls.view:
            _share_version(r, x0, cls, attrs, 0)
        if node._ri or node._ro:
            node._record_saved(inputs, (r,), node._ri, node._ro)
        return r


def _wrap_outputs(node, inputs, out, dev, record, attrs):
    outs = tuple(np.asarray(o) if isinstance(o, _generic) else o for o in out)
    if not record:
        results = tuple(_wrap(o, dev) for o in outs)
    else:
        node._n_outputs = len(outs)
        node._init_node(
            tuple([t._edge() for t in inputs]),
            tuple([(t._data.shape, t._data.dtype, t._device) for t in inputs]),
        )
        # integer outputs (indices) never require grad and carry no grad_fn
        results = tuple(
            _wrap(o, dev, True, node, i) if o.dtype.kind in "fV" else _wrap(o, dev)
            for i, o in enumerate(outs)
        )
        if node._ri or node._ro:
            node._record_saved(inputs, results, node._ri, node._ro)
    if type(node).view:
        for i, r in enumerate(results):
            _share_version(r, inputs[0], type(node), attrs, i)
    return results


def _share_version(r: Tensor, parent: Tensor, cls, attrs, index: int) -> None:
    """Make ``r`` a view of ``parent``: shared version counter, and how to redo the view.

    The recipe (op class, attributes, output index) lets an in-place op on the view
    rewrite the base's graph (see ``_inplace``), as torch's CopySlices does.
    """
    r._vc = parent._vc
    r._base = parent if parent._base is None else parent._base
    r._extra = {"view": (parent, cls, attrs, index)}
