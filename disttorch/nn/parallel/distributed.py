"""``DistributedDataParallel``: data-parallel training with gradients averaged over MPI."""
from __future__ import annotations

import contextlib

import numpy as np

from ..._tensor import _wrap
from ...autograd import grad_mode
from ...backend import device as _dev
from ...distributed import collectives, process_group
from ...distributed.reduce_op import ReduceOp
from ..modules.module import Module
from .reducer import Reducer


def _signature(named_params) -> list:
    return [(name, tuple(p.shape), p.dtype.name) for name, p in named_params]


def _check_same_model(named_params, group) -> None:
    """Every rank must hold the same parameter names, shapes and dtypes (else all raise)."""
    mine = _signature(named_params)
    everyone = all_gather_object_list(mine, group)
    ref = everyone[0]
    for rank, sig in enumerate(everyone):
        if sig == ref:
            continue
        if len(sig) != len(ref):
            raise RuntimeError(
                f"DDP expects same model across all ranks, but Rank 0 has {len(ref)} params, "
                f"while rank {rank} has inconsistent {len(sig)} params."
            )
        for (n0, s0, d0), (n1, s1, d1) in zip(ref, sig):
            if (n0, s0, d0) != (n1, s1, d1):
                raise RuntimeError(
                    "DDP expects same model across all ranks, but parameter "
                    f"'{n0}' differs: rank 0 has name={n0} shape={list(s0)} dtype={d0}, rank "
                    f"{rank} has name={n1} shape={list(s1)} dtype={d1}."
                )


def all_gather_object_list(obj, group) -> list:
    from ...distributed.object_collectives import all_gather_object

    out = [None] * process_group.get_world_size(group)
    all_gather_object(out, obj, group=group)
    return out


def _broadcast_coalesced(tensors: list, group, src: int = 0) -> None:
    """Broadcast tensors from ``src`` packed into one flat buffer per (dtype, device)."""
    by_kind: dict = {}
    for t in tensors:
        by_kind.setdefault((t._data.dtype, t._device), []).append(t)
    for (dtype, dev), ts in by_kind.items():
        xp = np if dev.type == "cpu" else _dev.cupy_module()
        flat = xp.concatenate([t._data.reshape(-1) for t in ts]) if ts else xp.zeros(0, dtype)
        buf = _wrap(flat, dev)
        collectives.broadcast(buf, src=src, group=group)
        offset = 0
        for t in ts:
            n = t._data.size
            t._data[...] = flat[offset:offset + n].reshape(t._data.shape)
            t._vc[0] += 1
            offset += n


class DistributedDataParallel(Module):
    """Wraps ``module``; its gradients are averaged across the process group during backward."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None, bucket_cap_mb: float | None = 25,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False) -> None:
        super().__init__()
        from ...distributed import process_group as pg_mod

        pg_mod._default()  # ValueError if init_process_group was not called
        self.module = module
        self.process_group = process_group
        self.device_ids = device_ids
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter "
                "that requires a gradient."
            )
        devices = {p._device for _, p in named}
        if len(devices) > 1:
            raise ValueError(
                f"DistributedDataParallel's input module must be on the same type of devices, "
                f"but input module parameters locate in {sorted(str(d) for d in devices)}."
            )
        _check_same_model(named, process_group)
        with grad_mode.no_grad():
            _broadcast_coalesced([p for _, p in module.named_parameters()] + list(module.buffers()),
                                 process_group)
        self._named_params = named
        self.reducer = Reducer(named, process_group, bucket_cap_mb or 25, find_unused_parameters,
                               gradient_as_bucket_view)
        self._join_state = None

    # -- forward -----------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._join_state is not None:
            self._join_state.on_forward()
        if self.broadcast_buffers and self.require_forward_param_sync:
            bufs = list(self.module.buffers())
            if bufs and process_group.get_world_size(self.process_group) > 1:
                with grad_mode.no_grad():
                    _broadcast_coalesced(bufs, self.process_group)
        out = self.module(*inputs, **kwargs)
        if grad_mode.is_grad_enabled() and self.require_backward_grad_sync:
            self.reducer.prepare_for_backward(out)
        else:
            self.reducer.expect = False
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward accumulates local gradients without communicating."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def register_comm_hook(self, state, hook) -> None:
        """``hook(state, bucket) -> Future[Tensor]`` replaces the bucket all-reduce."""
        if self.reducer.comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        self.reducer.comm_hook = hook
        self.reducer.comm_state = state

    def _get_ddp_logging_data(self) -> dict:
        return {"bucket_sizes": [b.nbytes for b in self.reducer.buckets]}

    @property
    def timeline(self) -> list:
        """(time, 'launch'|'complete'|'backward_end', bucket) events of the last backward."""
        return list(self.reducer.timeline)

    # -- uneven inputs -------------------------------------------------------------------------
    def join(self, divide_by_initial_world_size: bool = True, enable: bool = True,
             throw_on_early_termination: bool = False):
        """Context manager for ranks with different numbers of batches (see ``_Join``)."""
        return _Join(self, enable, throw_on_early_termination)

    def __getstate__(self):
        raise RuntimeError("DistributedDataParallel cannot be pickled; pickle .module instead")


class _Join:
    """Ranks that run out of data shadow the collectives of those that still have some.

    Every training forward inside the context all-reduces a count of active ranks. A rank
    that leaves the loop keeps answering those counts, and all-reduces zero gradient
    buckets in place of a backward, until every rank has left; then all ranks take the
    parameters of the rank that trained longest.
    """

    def __init__(self, ddp: DistributedDataParallel, enable: bool, throw: bool) -> None:
        self.ddp = ddp
        self.enable = enable
        self.throw = throw
        self.steps = 0

    def __enter__(self):
        if self.enable:
            self.ddp._join_state = self
        return self

    def _count_active(self, active: int) -> int:
        t = _wrap(np.array([active], dtype=np.int64), _dev.CPU)
        collectives.all_reduce(t, ReduceOp.SUM, self.ddp.process_group)
        return int(t._data[0])

    def on_forward(self) -> None:
        self.steps += 1
        n = self._count_active(1)
        if self.throw and n < process_group.get_world_size(self.ddp.process_group):
            raise RuntimeError(
                "Detected at least one rank that exhausted inputs. Throwing across all ranks."
            )

    def __exit__(self, exc_type, exc, tb) -> None:
        self.ddp._join_state = None
        if not self.enable or exc_type is not None:
            return
        ddp = self.ddp
        while True:
            if self._count_active(0) == 0:
                break
            if self.throw:
                raise RuntimeError(
                    "Detected at least one rank that exhausted inputs. Throwing across all ranks."
                )
            if ddp.broadcast_buffers:
                bufs = list(ddp.module.buffers())
                if bufs:
                    with grad_mode.no_grad():
                        _broadcast_coalesced(bufs, ddp.process_group)
            ddp.reducer.shadow_backward()
        # the rank that trained longest (highest rank on ties) holds the final parameters
        key = _wrap(np.array([self.steps * 65536 + process_group.get_rank(ddp.process_group)],
                             dtype=np.int64), _dev.CPU)
        collectives.all_reduce(key, ReduceOp.MAX, ddp.process_group)
        src_group_rank = int(key._data[0]) % 65536
        src = process_group.get_global_rank(ddp.process_group, src_group_rank)
        with grad_mode.no_grad():
            _broadcast_coalesced([p for p in ddp.module.parameters()] + list(ddp.module.buffers()),
                                 ddp.process_group, src=src)
