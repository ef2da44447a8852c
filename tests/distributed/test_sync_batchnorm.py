"""SyncBatchNorm under DDP equals BatchNorm on the concatenated batch."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import disttorch
from disttorch import nn
from disttorch.nn.parallel import DistributedDataParallel as DDP

pytestmark = pytest.mark.mpi(min_size=2)


def make_model():
    disttorch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double()


def test_sync_batchnorm_matches_global_batchnorm(world):
    rank, size = world
    ref = make_model()
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(ref))
    assert isinstance(sync[1], nn.SyncBatchNorm)
    ddp = DDP(sync)
    rng = np.random.default_rng(3)
    x = disttorch.tensor(rng.normal(size=(3 * size, 5)), requires_grad=True)
    per = 3
    xl = x.detach()[rank * per:(rank + 1) * per].clone().requires_grad_()
    out_ref = ref(x)
    out = ddp(xl)
    np.testing.assert_allclose(out.detach().numpy(), out_ref.detach().numpy()[rank * per:(rank + 1) * per],
                               rtol=1e-10, atol=1e-12)
    out_ref.square().mean().backward()
    out.square().mean().backward()
    for (name, p), q in zip(ddp.module.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(xl.grad.numpy() / size, x.grad.numpy()[rank * per:(rank + 1) * per],
                               rtol=1e-9, atol=1e-12)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(sync[1], name).numpy(), getattr(ref[1], name).numpy(),
                                   rtol=1e-10, err_msg=name)
    sync.eval()
    ref.eval()
    np.testing.assert_allclose(sync(x).detach().numpy(), ref(x).detach().numpy(), rtol=1e-10)
