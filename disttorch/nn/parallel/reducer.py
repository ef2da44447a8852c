"""The DDP reducer: gradient buckets all-reduced while backward is still running.

Parameters are grouped into buckets in reverse registration order (the order backward
produces their gradients): a small first bucket, then ``bucket_cap_mb`` each. A
post-accumulate-grad hook copies each gradient, scaled by 1/world, into its bucket's flat
buffer; when a bucket is full, and every bucket before it has been launched, its
non-blocking all-reduce starts at once. Buckets launch strictly in index order, so every
rank issues the same collectives. A callback at the end of backward waits for each
bucket in order and hands the averaged gradients back to ``param.grad``.

Handing back costs no copy when it can: a grad that nothing but its parameter refers to
(the usual case, after ``zero_grad()`` set it to None) becomes a view of the reduced
buffer, and the bucket moves on to a spare buffer for the next backward. A bucket only
ever writes into a buffer none of whose views is still alive, so ``param.grad`` never
changes under the user's feet; with ``gradient_as_bucket_view=True`` the grads are
permanent views of one buffer, as in torch.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from ..._tensor import Tensor, _wrap
from ...autograd import engine
from ...backend import device as _dev
from ...distributed import collectives, process_group
from ...distributed.reduce_op import ReduceOp

FIRST_BUCKET_BYTES = 1024 * 1024  # torch's dist._DEFAULT_FIRST_BUCKET_BYTES


class GradBucket:
    """What a communication hook sees: one bucket's flat buffer and its parameters."""

    def __init__(self, bucket: _Bucket, is_last: bool) -> None:
        self._bucket = bucket
        self._is_last = is_last

    def index(self) -> int:
        return self._bucket.index

    def buffer(self) -> Tensor:
        return self._bucket.buffer

    def set_buffer(self, buffer: Tensor) -> None:
        self._bucket.buffer._data[...] = buffer._data

    def is_last(self) -> bool:
        return self._is_last

    def parameters(self) -> list:
        return [p for _, p in self._bucket.params]

    def gradients(self) -> list:
        b = self._bucket
        return [_wrap(b.view(slot), b.buffer._device) for slot in range(len(b.params))]


class _Bucket:
    """One bucket's parameters, its flat buffer(s) and this backward's state."""

    __slots__ = ("index", "params", "offsets", "numel", "buffer", "pool", "pending", "ready",
                 "work", "future", "grad_bucket", "launched", "claimed")

    POOL = 2  # buffers a bucket keeps: the one its grads may still view, and the next

    def __init__(self, index: int, params: list) -> None:
        self.index = index
        self.params = params  # list of (param index, param)
        self.offsets = []
        total = 0
        for _, p in params:
            self.offsets.append((total, p._data.shape))
            total += p._data.size
        self.numel = total
        self.pool: list = []  # [buffer tensor, refcount of its array with no views alive]
        self.buffer = self._new_buffer()
        self.grad_bucket = None
        self.reset()

    @property
    def nbytes(self) -> int:
        return self.buffer._data.nbytes

    def _new_buffer(self) -> Tensor:
        p0 = self.params[0][1]
        xp = _dev.cupy_module() if p0._device.type != "cpu" else np
        buf = _wrap(xp.zeros(self.numel, dtype=p0._data.dtype), p0._device)
        if len(self.pool) == self.POOL:
            self.pool.pop(0)  # every buffer is still viewed: leave the oldest to its views
        self.pool.append([buf, sys.getrefcount(buf._data)])
        return buf

    def claim(self) -> None:
        """Before the first write of a backward: pick a buffer that no live grad views."""
        self.claimed = True
        for entry in self.pool:
            if sys.getrefcount(entry[0]._data) <= entry[1]:
                self.buffer = entry[0]
                return
        self.buffer = self._new_buffer()

    def view(self, slot: int):
        start, shape = self.offsets[slot]
        n = 1
        for s in shape:
            n *= s
        return self.buffer._data[start:start + n].reshape(shape)

    def reset(self) -> None:
        self.pending = len(self.params)
        self.ready = [False] * len(self.params)
        self.work = None
        self.future = None
        self.launched = False
        self.claimed = False


class Reducer:
    """Owns the buckets, the hooks, and the per-iteration bookkeeping of DDP."""

    def __init__(self, named_params: list, group, bucket_cap_mb: float,
                 find_unused_parameters: bool, gradient_as_bucket_view: bool) -> None:
        self.group = group
        self.world = process_group.get_world_size(group)
        self.named_params = named_params
        self.find_unused = find_unused_parameters
        self.as_view = gradient_as_bucket_view
        self.comm_hook = None
        self.comm_state = None
        self.timeline: list[tuple[float, str, int]] = []
        self.buckets = self._build_buckets(bucket_cap_mb)
        # grads adopt views of host buffers; a device grad is copied back (cheap there, and
        # the views' liveness is only visible through numpy's reference counts)
        self.adopt = not gradient_as_bucket_view and all(p._device.type == "cpu" for _, p in named_params)
        self.where = {}  # param index -> (bucket, slot)
        for b in self.buckets:
            for slot, (i, _) in enumerate(b.params):
                self.where[i] = (b, slot)
        self.expect = False  # set by DDP.forward when this backward must sync
        self.next_launch = 0
        self.callback_queued = False
        self.used = None  # param indices reached from the outputs (find_unused_parameters)
        self._handles = [
            p.register_post_accumulate_grad_hook(self._make_hook(i))
            for i, (_, p) in enumerate(named_params)
        ]

    # -- construction ----------------------------------------------------------------------
    def _build_buckets(self, bucket_cap_mb: float) -> list:
        cap = int(bucket_cap_mb * 1024 * 1024)
        buckets, current, size, key = [], [], 0, None
        limit = FIRST_BUCKET_BYTES
        for i in range(len(self.named_params) - 1, -1, -1):
            p = self.named_params[i][1]
            k = (p._data.dtype, p._device)
            if current and (k != key or size >= limit):
                buckets.append(_Bucket(len(buckets), current))
                current, size, limit = [], 0, cap
            current.append((i, p))
            size += p._data.nbytes
            key = k
        if current:
            buckets.append(_Bucket(len(buckets), current))
        for b in buckets:
            b.grad_bucket = GradBucket(b, b.index == len(buckets) - 1)
        return buckets

    def remove_hooks(self) -> None:
        for h in self._handles:
            h.remove()

    # -- per iteration ---------------------------------------------------------------------
    def prepare_for_backward(self, outputs) -> None:
        """Called by forward: arm the hooks; with find_unused, mark what the graph cannot reach."""
        if self.world == 1 and self.comm_hook is None and not self.find_unused:
            self.expect = False  # averaging over one rank changes nothing: skip the buckets
            return
        for b in self.buckets:
            b.reset()
        self.next_launch = 0
        self.callback_queued = False
        self.expect = True
        self.timeline = []
        if self.find_unused:
            reached = _reachable_params(outputs)
            self.used = {i for i, (_, p) in enumerate(self.named_params) if id(p) in reached}
            for i in range(len(self.named_params)):
                if i not in self.used:
                    self._mark_ready(i, unused=True)

    def _make_hook(self, index: int):
        def hook(param: Tensor) -> None:
            if not self.expect:
                return
            if not self.callback_queued:
                self.callback_queued = True
                engine.queue_callback(self._finalize)
            self._mark_ready(index)
            self._poll()

        return hook

    def _mark_ready(self, index: int, unused: bool = False) -> None:
        bucket, slot = self.where[index]
        if bucket.ready[slot]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once. Parameter "
                f"'{self.named_params[index][0]}' (index {index}) got its gradient twice in one "
                "backward pass; this happens when a module's parameters are used in several "
                "reentrant backward passes or when the same DDP module runs forward twice "
                "before one backward."
            )
        param = self.named_params[index][1]
        if self.adopt and not bucket.claimed:
            bucket.claim()
        view = bucket.view(slot)
        # torch hands comm hooks the summed grads; without a hook the average is built here
        scale = 1.0 if self.comm_hook is not None else 1.0 / self.world
        if unused or param.grad is None:
            view[...] = 0
        elif self.as_view and param.grad._data.base is not None and _shares(param.grad._data, view):
            if scale != 1.0:
                view *= scale  # the grad already lives in the bucket
        else:
            g = param.grad._data
            if g.dtype != view.dtype:
                g = g.astype(view.dtype)
            xp = np if isinstance(view, np.ndarray) else _dev.cupy_module()
            xp.multiply(g, scale, out=view)
            if self.as_view:
                param.grad = _wrap(view, param._device)
        bucket.ready[slot] = True
        bucket.pending -= 1
        while self.next_launch < len(self.buckets) and self.buckets[self.next_launch].pending == 0:
            self._launch(self.buckets[self.next_launch])
            self.next_launch += 1

    def _launch(self, bucket: _Bucket) -> None:
        bucket.launched = True
        self.timeline.append((time.perf_counter(), "launch", bucket.index))
        if self.comm_hook is not None:
            bucket.future = self.comm_hook(self.comm_state, bucket.grad_bucket)
        else:
            bucket.work = collectives.all_reduce(bucket.buffer, ReduceOp.SUM, self.group, async_op=True)

    def _poll(self) -> None:
        """Drive MPI progress on launched buckets (MPI progresses inside MPI calls)."""
        for b in self.buckets[:self.next_launch]:
            if b.work is not None and not b.work._completed and b.work.is_completed():
                self.timeline.append((time.perf_counter(), "complete", b.index))

    def _finalize(self) -> None:
        """End of backward: wait for every bucket in order, write averaged grads back."""
        self.expect = False
        self.timeline.append((time.perf_counter(), "backward_end", -1))
        missing = [b for b in self.buckets if not b.launched]
        if missing:
            self._drain()
            self._raise_unused(missing)
        globally_used = self._globally_used() if self.find_unused else None
        for b in self.buckets:
            if b.future is not None:
                result = b.future.wait()
                if isinstance(result, (list, tuple)):
                    result = result[0]
                if result is not b.buffer:
                    b.buffer._data[...] = result._data
            else:
                done_before = b.work._completed
                b.work.wait()
                if not done_before:
                    self.timeline.append((time.perf_counter(), "complete", b.index))
            for slot, (i, p) in enumerate(b.params):
                if globally_used is not None and not globally_used[i]:
                    continue  # nobody used it: its grad stays as it was, like torch
                view = b.view(slot)
                if self.as_view:
                    if p.grad is None or not _shares(p.grad._data, view):
                        p.grad = _wrap(view, p._device)
                elif self.adopt and (p.grad is None or _private(p)):
                    p.grad = _wrap(view, p._device)  # no copy: the bucket moves to a spare buffer
                elif p.grad is None:
                    p.grad = _wrap(view.copy(), p._device)
                else:
                    p.grad._data[...] = view
                    p.grad._vc[0] += 1

    def _globally_used(self) -> list:
        flags = _wrap(np.array([1 if i in self.used else 0 for i in range(len(self.named_params))],
                               dtype=np.int32), _dev.CPU)
        collectives.all_reduce(flags, ReduceOp.MAX, self.group)
        return [bool(v) for v in flags._data]

    def _drain(self) -> None:
        for b in self.buckets:
            if b.work is not None:
                b.work.wait()
            elif b.future is not None:
                b.future.wait()

    def _raise_unused(self, missing: list) -> None:
        names = []
        for b in missing:
            for slot, (i, _) in enumerate(b.params):
                if not b.ready[slot]:
                    names.append(self.named_params[i][0])
        rank = process_group.get_rank(self.group)
        raise RuntimeError(
            "Expected to have finished reduction in the prior iteration before starting a new "
            "one. This error indicates that your module has parameters that were not used in "
            "producing loss. You can enable unused parameter detection by passing the keyword "
            "argument `find_unused_parameters=True` to `disttorch.nn.parallel."
            "DistributedDataParallel`, and by making sure all `forward` function outputs "
            "participate in calculating loss.\n"
            f"Parameters which did not receive grad for rank {rank}: {', '.join(sorted(names))}"
        )

    # -- join: shadowing the collectives of ranks that still have data -----------------------
    def shadow_backward(self) -> None:
        """A joined rank all-reduces zero buckets in order, matching the others' collectives."""
        # non-blocking, like the active ranks' calls: MPI never matches a blocking
        # collective with a non-blocking one
        for b in self.buckets:
            if self.adopt:
                b.claim()
            b.buffer._data[...] = 0
            collectives.all_reduce(b.buffer, ReduceOp.SUM, self.group, async_op=True).wait()


def _ref_counts(grad: Tensor) -> tuple:
    return sys.getrefcount(grad), sys.getrefcount(grad._data)


_UNSHARED_COUNTS = None  # what _ref_counts(param.grad) gives for a grad held by nothing else


def _private(param: Tensor) -> bool:
    """True when nothing but ``param`` refers to its grad, and the grad owns its memory."""
    global _UNSHARED_COUNTS
    if _UNSHARED_COUNTS is None:  # measured, not assumed: counts vary across Python versions
        probe = _wrap(np.zeros(1, np.float32), _dev.CPU)
        probe.grad = _wrap(np.zeros(1, np.float32), _dev.CPU)
        _UNSHARED_COUNTS = _ref_counts(probe.grad)
    grad = param.grad
    if grad._base is not None or grad._data.base is not None:
        return False
    del grad
    mine, data = _ref_counts(param.grad)
    return mine <= _UNSHARED_COUNTS[0] and data <= _UNSHARED_COUNTS[1]


def _shares(a, b) -> bool:
    try:
        return a.__array_interface__["data"][0] == b.__array_interface__["data"][0] and a.shape == b.shape
    except AttributeError:  # device arrays
        return a.data.ptr == b.data.ptr and a.shape == b.shape


def _reachable_params(outputs) -> set:
    """ids of the leaf tensors reachable from ``outputs`` through the autograd graph."""
    roots = [t.grad_fn for t in _tensors(outputs) if t.grad_fn is not None]
    seen, reached = set(), set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        var = getattr(node, "variable", None)
        if var is not None:
            reached.add(id(var))
        for nxt, _ in node.next_functions:
            if nxt is not None and nxt not in seen:
                stack.append(nxt)
    return reached


def _tensors(obj) -> list:
    out, stack = [], [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            out.append(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
    return out
