"""``Tensor``: an array, its device, and its place in the autograd graph.

The math lives in ``disttorch/ops`` (installed onto ``Tensor`` as methods and operators
when the package loads); this file keeps the state, the autograd entry points and the
conversions.
"""
from __future__ import annotations

import sys
import weakref

import numpy as np

from .autograd import grad_mode
from .autograd.node import AccumulateGrad, RemovableHandle
from .backend import device as _dev
from .backend import dtypes

_new = object.__new__


class Size(tuple):
    """A tensor's shape: a tuple of ints (``disttorch.Size([2, 3])``)."""

    def __repr__(self) -> str:
        return f"disttorch.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))


def _wrap(data, device, requires_grad=False, grad_fn=None, output_nr=0):
    """Make a Tensor around an array without any checks (the hot path)."""
    t = _new(Tensor)
    t._data = data
    t._device = device
    t._requires_grad = requires_grad
    t.grad = None
    t.grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = [0]
    t._base = None
    t._extra = None
    return t


class Tensor:
    """A multi-dimensional array with autograd, like ``torch.Tensor``."""

    __slots__ = (
        "_data", "_device", "_requires_grad", "grad", "grad_fn", "_output_nr", "_vc",
        "_base", "_extra", "__weakref__",
    )
    # numpy defers to our reflected operators (np.float64(2) * t gives a Tensor)
    __array_priority__ = 1000
    __hash__ = object.__hash__

    def __new__(cls, *args, device=None, dtype=None):
        """``Tensor(data)`` (default float dtype) or ``Tensor(*sizes)`` (uninitialised)."""
        from . import creation

        if len(args) == 1 and not isinstance(args[0], int):
            src = args[0]
            if isinstance(src, Tensor):
                return src
            t = creation.tensor(src, dtype=dtype or dtypes.get_default_dtype(), device=device)
        else:
            t = creation.empty(*args, dtype=dtype, device=device)
        if cls is not Tensor:
            t = cls._make_subclass(cls, t) if hasattr(cls, "_make_subclass") else t
        return t

    # -- internal constructors --------------------------------------------------------
    def _alias(self) -> Tensor:
        """A detached tensor sharing data and version counter (a saved output)."""
        t = _wrap(self._data, self._device)
        t._vc = self._vc
        return t

    def _with_grad_fn(self, node, output_nr) -> Tensor:
        t = _wrap(self._data, self._device, True, node, output_nr)
        t._vc = self._vc
        return t

    def _owned_detached(self) -> Tensor:
        """This grad, safe to keep as a leaf's ``.grad``: copied unless nothing else can see it."""
        d = self._data
        # Steal the buffer when only the engine refers to it (as torch does with its
        # refcount check); a grad shared with another edge or the user is copied.
        if (self._base is None and getattr(d, "base", None) is None and self.grad_fn is None
                and sys.getrefcount(self) <= 4 and sys.getrefcount(d) <= 3):
            return self
        return _wrap(d.copy(), self._device)

    def _edge(self):
        if self.grad_fn is not None:
            return (self.grad_fn, self._output_nr)
        if self._requires_grad:
            return (self._accumulator(), 0)
        return (None, 0)

    def _edge_for_grad(self):
        if not self._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        return self._edge()

    def _accumulator(self) -> AccumulateGrad:
        extra = self._extra
        if extra is None:
            extra = self._extra = {}
        ref = extra.get("acc")
        acc = ref() if ref is not None else None
        if acc is None:
            acc = AccumulateGrad(self)
            extra["acc"] = weakref.ref(acc)
        return acc

    # -- basic properties ----------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy(self._data.dtype)

    @property
    def device(self) -> _dev.device:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._device.type == "cpu"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f" or self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return False

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim)]

    def data_ptr(self) -> int:
        if self._device.type == "cpu":
            return int(self._data.__array_interface__["data"][0])
        return int(self._data.data.ptr)

    def is_inference(self) -> bool:
        return bool(self._extra and self._extra.get("inference"))

    # -- autograd state --------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if value and self._data.dtype.kind != "f" and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def retains_grad(self) -> bool:
        return bool(self._extra and self._extra.get("retains_grad"))

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def _version(self) -> int:
        return self._vc[0]

    def _bump_version(self) -> None:
        self._vc[0] += 1

    @property
    def data(self) -> Tensor:
        """The same storage, detached from the graph (its own version counter, like torch)."""
        return _wrap(self._data, self._device)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._device = value._device

    def detach(self) -> Tensor:
        """A tensor sharing storage and version counter, cut from the graph."""
        t = _wrap(self._data, self._device)
        t._vc = self._vc  # a detached alias is not a differentiable view: no _base
        return t

    def detach_(self) -> Tensor:
        if self._base is not None and (self._base._requires_grad or self.grad_fn is not None):
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        return self

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's grad in ``.grad`` after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self.retains_grad:
            return
        ref = weakref.ref(self)

        def retain(grad):
            t = ref()
            if t is not None:
                if t.grad is None:
                    t.grad = grad.detach().clone() if not grad_mode.state.grad_enabled else grad.clone()
                else:
                    t.grad = t.grad + grad
            return None

        self.grad_fn._register_retain_grad_hook(self._output_nr, retain)
        if self._extra is None:
            self._extra = {}
        self._extra["retains_grad"] = True

    def register_hook(self, hook) -> RemovableHandle:
        """``hook(grad)`` runs when this tensor's grad is computed; it may return a new grad."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn._register_tensor_pre_hook(self._output_nr, hook)
        if self._extra is None:
            self._extra = {}
        hooks = self._extra.setdefault("hooks", {})
        h = RemovableHandle(hooks)
        hooks[h.id] = hook
        return h

    def register_post_accumulate_grad_hook(self, hook) -> RemovableHandle:
        """``hook(tensor)`` runs after a backward pass has added into this leaf's ``.grad``."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._extra is None:
            self._extra = {}
        hooks = self._extra.setdefault("post_acc_hooks", {})
        h = RemovableHandle(hooks)
        hooks[h.id] = hook
        return h

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # -- conversions -----------------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        d = self._data
        if d.dtype.kind not in "biuf":  # bfloat16: Python floats go through float32
            d = d.astype(np.float32)
        return d.item()

    def tolist(self):
        d = self._data
        if d.dtype.kind not in "biuf":  # bfloat16: go through float32 for Python floats
            d = d.astype(np.float32)
        return d.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The CPU array behind this tensor (shared memory, like torch)."""
        if self._device.type != "cpu":
            if not force:
                raise TypeError(
                    f"can't convert {self._device} device type tensor to numpy. Use "
                    "Tensor.cpu() to copy the tensor to host memory first."
                )
            return _dev.to_device(self._data, _dev.CPU)
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._device.type != "cpu":
            raise TypeError(
                f"can't convert {self._device} device type tensor to numpy. Use Tensor.cpu() "
                "to copy the tensor to host memory first."
            )
        a = self._data
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self._data.size else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self._data.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __repr__(self) -> str:
        from ._tensor_str import tensor_repr

        return tensor_repr(
            _dev.to_device(self._data, _dev.CPU),
            dtype_name=self.dtype.name,
            default_float_dtype_name=dtypes.get_default_dtype().name,
            device=str(self._device),
            requires_grad=self._requires_grad,
            grad_fn=self.grad_fn.name() if self.grad_fn is not None else None,
        )

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        host = _dev.to_device(self._data, _dev.CPU)
        return (_rebuild, (type(self), host, str(self._device), self._requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment."
            )
        if id(self) in memo:
            return memo[id(self)]
        import copy

        new = _wrap(self._data.copy(), self._device, self._requires_grad)
        if type(self) is not Tensor:
            new = type(self)._make_subclass(type(self), new, self._requires_grad)
            if hasattr(self, "__dict__"):
                new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        memo[id(self)] = new
        if self.grad is not None:
            new.grad = copy.deepcopy(self.grad, memo)
        return new


def _reset_grads(tensors, set_to_none: bool) -> None:
    """``zero_grad`` for modules and optimizers: drop each ``.grad``, or zero it detached."""
    for p in tensors:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
            continue
        if p.grad.grad_fn is not None:
            p.grad.detach_()
        else:
            p.grad.requires_grad_(False)
        p.grad.zero_()


def _rebuild(cls, host, device_str, requires_grad):
    d = _dev.resolve(device_str)
    t = _wrap(_dev.to_device(host, d) if d.type != "cpu" else host, d, requires_grad)
    if cls is not Tensor:
        t = cls._make_subclass(cls, t, requires_grad)
    return t


def _wrap_dim(dim: int, ndim: int) -> int:
    """A dim in ``[-ndim, ndim)`` as a non-negative index, or IndexError like torch."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim + n if dim < 0 else dim

