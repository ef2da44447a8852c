"""The DDP reducer: gradient buckets all-reduced while backward is still running.

Parameters are grouped into buckets in reverse registration order (the order backward
produces their gradients): a small first bucket, then ``bucket_cap_mb`` each. A
post-accumulate-grad hook copies each gradient, scaled by 1/world, into its bucket's flat
buffer; when a bucket is full, and every bucket before it has been launched, its
non-blocking all-reduce starts at once. Buckets launch strictly in index order, so every
rank issues the same collectives. A callback at the end of backward waits for each
bucket in order and writes the averaged gradients back into ``param.grad``.
"""
from __future__ import annotations

import time

from ..._tensor import Tensor, _wrap
from ...autograd import engine
from ...backend import device as _dev
from ...distributed import collectives, process_group
from ...distributed.reduce_op import ReduceOp

FIRST_BUCKET_BYTES = 1024 * 1024  # torch's dist._DEFAULT_FIRST_BUCKET_BYTES


class GradBucket:
    """What a communication hook sees: one bucket's flat buffer and its parameters."""

    def __init__(self, index: int, buffer: Tensor, params: list, offsets: list, is_last: bool) -> None:
        self._index = index
        self._buffer = buffer
        self._params = params
        self._offsets = offsets
        self._is_last = is_last

    def index(self) -> int:
        return self._index

    def buffer(self) -> Tensor:
        return self._buffer

    def set_buffer(self, buffer: Tensor) -> None:
        self._buffer._data[...] = buffer._data

    def is_last(self) -> bool:
        return self._is_last

    def parameters(self) -> list:
        return list(self._params)

    def gradients(self) -> list:
        return [self._slice(i) for i in range(len(self._params))]

    def _slice(self, i: int) -> Tensor:
        start, shape = self._offsets[i]
        n = 1
        for s in shape:
            n *= s
        t = _wrap(self._buffer._data[start:start + n].reshape(shape), self._buffer._device)
        return t


class _Bucket:
    __slots__ = ("index", "params", "offsets", "buffer", "pending", "ready", "work", "future",
                 "grad_bucket", "launched")

    def __init__(self, index: int, params: list) -> None:
        self.index = index
        self.params = params  # list of (param index, param)
        p0 = params[0][1]
        xp = _dev.cupy_module() if p0._device.type != "cpu" else __import__("numpy")
        self.offsets = []
        total = 0
        for _, p in params:
            self.offsets.append((total, p._data.shape))
            total += p._data.size
        self.buffer = _wrap(xp.zeros(total, dtype=p0._data.dtype), p0._device)
        self.pending = len(params)
        self.ready = [False] * len(params)
        self.work = None
        self.future = None
        self.grad_bucket = None
        self.launched = False

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
            b.grad_bucket = GradBucket(b.index, b.buffer, [p for _, p in b.params], b.offsets,
                                       b.index == len(buckets) - 1)
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
        view = bucket.view(slot)
        if unused or param.grad is None:
            view[...] = 0
        elif self.as_view and param.grad._data.base is not None and _shares(param.grad._data, view):
            view *= 1.0 / self.world  # the grad already lives in the bucket
        else:
            g = param.grad._data
            if g.dtype != view.dtype:
                g = g.astype(view.dtype)
            self._scale_into(view, g)
            if self.as_view:
                param.grad = _wrap(view, param._device)
        bucket.ready[slot] = True
        bucket.pending -= 1
        while self.next_launch < len(self.buckets) and self.buckets[self.next_launch].pending == 0:
            self._launch(self.buckets[self.next_launch])
            self.next_launch += 1

    def _scale_into(self, view, g) -> None:
        xp = _dev.cupy_module() if not isinstance(view, __import__("numpy").ndarray) else __import__("numpy")
        xp.multiply(g, 1.0 / self.world, out=view)

    def _launch(self, bucket: _Bucket) -> None:
        bucket.launched = True
        self.timeline.append((time.perf_counter(), "launch", bucket.index))
        if self.comm_hook is not None:
            # hooks receive the sum-scaled buffer like torch's: undo our 1/world first
            bucket.buffer._data *= self.world
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
                elif p.grad is None:
                    p.grad = _wrap(view.copy(), p._device)
                else:
                    p.grad._data[...] = view
                    p.grad._vc[0] += 1

    def _globally_used(self) -> list:
        xp = __import__("numpy")
        flags = _wrap(xp.array([1 if i in self.used else 0 for i in range(len(self.named_params))],
                               dtype=xp.int32), _dev.CPU)
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
            b.buffer._data[...] = 0
            collectives.all_reduce(b.buffer, ReduceOp.SUM, self.group, async_op=True).wait()


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
