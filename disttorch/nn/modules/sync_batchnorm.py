"""``SyncBatchNorm``: batch norm whose statistics cover the whole process group's batch."""
from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.function import Function
from .batchnorm import _BatchNorm
from .module import Module

__all__ = ["SyncBatchNorm"]


class _GlobalStats(Function):
    """Per-channel mean and biased variance over every rank's batch (one all-reduce each way).

    The backward all-reduces the grads of the statistics, so each rank's input grad sees
    how its samples moved the shared statistics for every rank's loss, as in torch.
    """

    @staticmethod
    def forward(ctx, x: Tensor, group):
        from ... import distributed as dist
        from ...creation import tensor

        dims = (0,) + tuple(range(2, x.dim()))
        xd = x.double()
        n_local = x.numel() // x.shape[1]
        packed = dist_cat(xd.sum(dims), (xd * xd).sum(dims), tensor([float(n_local)], dtype=xd.dtype,
                                                                          device=x.device))
        dist.all_reduce(packed, group=group)
        c = x.shape[1]
        total = packed[2 * c].item()
        mean = packed[:c] / total
        var = (packed[c:2 * c] / total - mean * mean).clamp_min(0)
        ctx.save_for_backward(x, mean.to(x.dtype))
        ctx.total, ctx.group = total, group
        return mean.to(x.dtype), var.to(x.dtype)

    @staticmethod
    def backward(ctx, g_mean: Tensor, g_var: Tensor):
        from ... import distributed as dist

        x, mean = ctx.saved_tensors
        c = x.shape[1]
        packed = dist_cat(g_mean, g_var)
        dist.all_reduce(packed, group=ctx.group)
        shape = (1, c) + (1,) * (x.dim() - 2)
        gm = packed[:c].reshape(shape)
        gv = packed[c:].reshape(shape)
        return (gm + 2 * gv * (x - mean.reshape(shape))) / ctx.total, None


def dist_cat(*tensors: Tensor) -> Tensor:
    from ... import cat

    return cat([t.reshape(-1) for t in tensors])


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, ...) inputs with statistics all-reduced across ``process_group``."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _batch_stats(self, input: Tensor):
        from ... import distributed as dist

        if not dist.is_initialized() or dist.get_world_size(self.process_group) == 1:
            return super()._batch_stats(input)
        mean, var = _GlobalStats.apply(input, self.process_group)
        total = input.numel() // max(input.shape[1], 1) * dist.get_world_size(self.process_group)
        return mean, var, total

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Replace every BatchNorm*d in ``module`` by a SyncBatchNorm with the same state."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                module.track_running_stats, process_group)
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
