"""DistributedDataParallel: equivalence with single-process training, accumulation, unused
parameters, model checks, overlap of communication with backward, hooks, uneven inputs."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import disttorch
import disttorch.distributed as dist
from disttorch import nn
from disttorch.distributed.algorithms.ddp_comm_hooks import default_hooks
from disttorch.nn.parallel import DistributedDataParallel as DDP
from disttorch.nn.parallel import reducer

pytestmark = pytest.mark.mpi(min_size=2)

IN, HID, OUT = 6, 16, 3


class MLP(nn.Module):
    """Two layers written with raw parameters (so these tests depend on the core only)."""

    def __init__(self, seed: int = 0, extra: bool = False, dtype=disttorch.float64):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.w1 = nn.Parameter(disttorch.tensor(rng.normal(0, 0.5, (HID, IN)), dtype=dtype))
        self.b1 = nn.Parameter(disttorch.tensor(rng.normal(0, 0.1, HID), dtype=dtype))
        self.w2 = nn.Parameter(disttorch.tensor(rng.normal(0, 0.5, (OUT, HID)), dtype=dtype))
        self.b2 = nn.Parameter(disttorch.tensor(rng.normal(0, 0.1, OUT), dtype=dtype))
        if extra:
            self.unused = nn.Parameter(disttorch.ones(4, dtype=dtype))
        self.register_buffer("calls", disttorch.zeros(1, dtype=dtype))

    def forward(self, x):
        h = (x @ self.w1.T + self.b1).relu()
        return h @ self.w2.T + self.b2


def global_batch(step: int, size: int, per_rank: int = 4):
    rng = np.random.default_rng(100 + step)
    x = rng.normal(size=(size * per_rank, IN))
    y = rng.normal(size=(size * per_rank, OUT))
    return disttorch.tensor(x), disttorch.tensor(y)


def local(t, rank, size):
    n = t.shape[0] // size
    return t[rank * n:(rank + 1) * n]


def loss_fn(out, y):
    return ((out - y) ** 2).mean()


def all_equal_across_ranks(tensors) -> bool:
    mine = [t.detach().numpy().copy() for t in tensors]
    everyone = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, mine)
    return all(np.array_equal(a, b) for other in everyone for a, b in zip(mine, other))


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("as_view", [False, True])
def test_ddp_equals_single_process_on_concatenated_batch(world, opt, as_view):
    rank, size = world
    ref = MLP(seed=1)
    model = MLP(seed=rank + 7)  # different init: DDP must broadcast rank 0's parameters
    if rank == 0:
        model.load_state_dict(ref.state_dict())
    ddp = DDP(model, gradient_as_bucket_view=as_view, bucket_cap_mb=0.0005)
    make = (lambda ps: disttorch.optim.SGD(ps, lr=0.1, momentum=0.9)) if opt == "sgd" else (
        lambda ps: disttorch.optim.Adam(ps, lr=0.01))
    o_ddp, o_ref = make(ddp.parameters()), make(ref.parameters())
    for step in range(5):
        x, y = global_batch(step, size)
        o_ddp.zero_grad()
        loss_fn(ddp(local(x, rank, size)), local(y, rank, size)).backward()
        o_ddp.step()
        o_ref.zero_grad()
        loss_fn(ref(x), y).backward()
        o_ref.step()
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    assert all_equal_across_ranks(list(model.parameters()))
    assert list(ddp.state_dict())[0].startswith("module.")


def test_no_sync_accumulation_equals_one_big_batch(world):
    rank, size = world
    ref = MLP(seed=2)
    ddp = DDP(copy.deepcopy(ref))
    xs, ys = zip(*(global_batch(s, size) for s in range(3)))
    with ddp.no_sync():
        for x, y in zip(xs[:2], ys[:2]):
            (loss_fn(ddp(local(x, rank, size)), local(y, rank, size)) / 3).backward()
    # without sync the grads differ across ranks (each saw its own data)
    (loss_fn(ddp(local(xs[2], rank, size)), local(ys[2], rank, size)) / 3).backward()
    for x, y in zip(xs, ys):
        (loss_fn(ref(x), y) / 3).backward()
    for p, q in zip(ddp.module.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12)



def mean_grads(ref, step, size):
    """The grads of ``ref`` on the whole batch of ``step`` (what DDP must hand back)."""
    m = copy.deepcopy(ref)
    x, y = global_batch(step, size)
    loss_fn(m(x), y).backward()
    return [p.grad.numpy().copy() for p in m.parameters()]


def test_handed_back_grads_never_change_under_the_user(world, monkeypatch):
    """Grads are handed back without a copy, yet a grad the user keeps from one step is
    never written by the next, and a loop that drops its grads reuses one buffer."""
    rank, size = world
    ref = MLP(seed=9)
    monkeypatch.setattr(reducer, "FIRST_BUCKET_BYTES", 256)
    ddp = DDP(copy.deepcopy(ref), bucket_cap_mb=0.0005)
    assert len(ddp.reducer.buckets) > 1
    params = list(ddp.module.parameters())
    kept = None
    for step in range(4):
        for p in params:
            p.grad = None
        x, y = global_batch(step, size)
        loss_fn(ddp(local(x, rank, size)), local(y, rank, size)).backward()
        for p, want in zip(params, mean_grads(ref, step, size)):
            np.testing.assert_allclose(p.grad.numpy(), want, rtol=1e-10, atol=1e-12)
        if step == 1:
            kept = [(p.grad, p.grad.numpy().copy()) for p in params]
    for grad, value in kept:
        np.testing.assert_array_equal(grad.numpy(), value)
    del kept
    for _ in range(2):
        for p in params:
            p.grad = None
        loss_fn(ddp(local(x, rank, size)), local(y, rank, size)).backward()
    assert all(len(b.pool) <= 2 for b in ddp.reducer.buckets)
    bufs = [b.buffer for b in ddp.reducer.buckets]
    for p in params:
        p.grad = None
    loss_fn(ddp(local(x, rank, size)), local(y, rank, size)).backward()
    assert all(b.buffer is buf for b, buf in zip(ddp.reducer.buckets, bufs)), "a buffer per step"


def test_grads_held_during_backward_or_accumulated_get_the_average(world):
    """A grad someone holds is written in place (its identity is kept), like torch's copy_."""
    rank, size = world
    ref = MLP(seed=10)
    ddp = DDP(copy.deepcopy(ref))
    held = {}
    w1 = ddp.module.w1
    handle = w1.register_post_accumulate_grad_hook(lambda t: held.setdefault("g", t.grad))
    x, y = global_batch(0, size)
    loss_fn(ddp(local(x, rank, size)), local(y, rank, size)).backward()
    handle.remove()
    assert held["g"] is w1.grad
    want = mean_grads(ref, 0, size)
    np.testing.assert_allclose(held["g"].numpy(), want[0], rtol=1e-10, atol=1e-12)
    # a second step without zeroing accumulates the two averages
    x, y = global_batch(1, size)
    loss_fn(ddp(local(x, rank, size)), local(y, rank, size)).backward()
    for p, a, b in zip(ddp.module.parameters(), want, mean_grads(ref, 1, size)):
        np.testing.assert_allclose(p.grad.numpy(), a + b, rtol=1e-10, atol=1e-12)
    assert all_equal_across_ranks([p.grad for p in ddp.module.parameters()])


def test_unused_parameter_error_names_it(world):
    ddp = DDP(MLP(seed=3, extra=True))
    x, y = global_batch(0, 1)
    with pytest.raises(RuntimeError, match="Parameters which did not receive grad for rank .*: unused"):
        loss_fn(ddp(x), y).backward()
    # the reducer recovers: a correct model keeps training afterwards
    ddp2 = DDP(MLP(seed=3, extra=True), find_unused_parameters=True)
    loss_fn(ddp2(x), y).backward()
    assert ddp2.module.unused.grad is None
    assert ddp2.module.w1.grad is not None


def test_find_unused_when_ranks_use_different_parameters(world):
    rank, size = world

    class Branchy(MLP):
        def forward(self, x, use_extra):
            out = super().forward(x)
            return out * self.unused[:OUT].sum() if use_extra else out

    ref = Branchy(seed=4, extra=True)
    ddp = DDP(copy.deepcopy(ref), find_unused_parameters=True)
    x, y = global_batch(0, size)
    loss_fn(ddp(local(x, rank, size), rank == 0), local(y, rank, size)).backward()
    # reference: the mean over ranks of each rank's own gradient
    grads = []
    for r in range(size):
        m = copy.deepcopy(ref)
        loss_fn(m(local(x, r, size), r == 0), local(y, r, size)).backward()
        grads.append([p.grad.numpy() if p.grad is not None else np.zeros(p.shape) for p in m.parameters()])
    for i, p in enumerate(ddp.module.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), sum(g[i] for g in grads) / size, rtol=1e-10, atol=1e-12)


def test_mismatched_models_raise_on_every_rank(world):
    rank, size = world
    model = MLP(seed=0, extra=(rank == size - 1))
    with pytest.raises(RuntimeError, match="DDP expects same model across all ranks"):
        DDP(model)

    class Other(MLP):
        def __init__(self):
            super().__init__()
            if rank == 1:
                self.b2 = nn.Parameter(disttorch.zeros(OUT + 1, dtype=disttorch.float64))

    with pytest.raises(RuntimeError, match="parameter 'b2' differs.*rank 1"):
        DDP(Other())


def test_communication_overlaps_backward(world):
    rank, size = world

    class Deep(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ParameterList(
                [nn.Parameter(disttorch.randn(512, 512) * 0.04) for _ in range(6)])

        def forward(self, x):
            for w in self.layers:
                x = (x @ w).tanh()
            return x

    ddp = DDP(Deep(), bucket_cap_mb=0.5)  # one 1 MiB layer per bucket
    assert len(ddp.reducer.buckets) == 6
    x = disttorch.randn(64, 512)
    ddp(x).sum().backward()
    events = ddp.timeline
    launches = [t for t, kind, _ in events if kind == "launch"]
    end = next(t for t, kind, _ in events if kind == "backward_end")
    first_launch = min(launches)
    assert len(launches) == len(ddp.reducer.buckets)
    assert first_launch < end, "the first bucket must be launched before backward finishes"
    order = [b for _, kind, b in events if kind == "launch"]
    assert order == sorted(order)


@pytest.mark.parametrize("hook", ["allreduce", "fp16", "bf16"])
def test_comm_hooks(world, hook):
    rank, size = world
    ref = MLP(seed=5, dtype=disttorch.float32)
    ddp = DDP(copy.deepcopy(ref))
    ddp.register_comm_hook(None, {"allreduce": default_hooks.allreduce_hook,
                                  "fp16": default_hooks.fp16_compress_hook,
                                  "bf16": default_hooks.bf16_compress_hook}[hook])
    x, y = global_batch(0, size)
    loss_fn(ddp(local(x.float(), rank, size)), local(y.float(), rank, size)).backward()
    loss_fn(ref(x.float()), y.float()).backward()
    tol = {"allreduce": 1e-6, "fp16": 2e-3, "bf16": 2e-2}[hook]
    for p, q in zip(ddp.module.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=tol)
    with pytest.raises(RuntimeError):
        ddp.register_comm_hook(None, default_hooks.allreduce_hook)


def test_join_with_uneven_inputs(world):
    rank, size = world
    ddp = DDP(MLP(seed=6))
    opt = disttorch.optim.SGD(ddp.parameters(), lr=0.05)
    with ddp.join():
        for step in range(2 + rank):  # rank r has r more batches than rank 0
            x, y = global_batch(step, 1)
            opt.zero_grad()
            loss_fn(ddp(x), y).backward()
            opt.step()
    assert all_equal_across_ranks(list(ddp.module.parameters()))


def test_broadcast_buffers_each_forward(world):
    rank, size = world
    model = MLP(seed=8)
    ddp = DDP(model)
    with disttorch.no_grad():
        model.calls.fill_(float(rank + 10))
    ddp(disttorch.zeros(2, IN, dtype=disttorch.float64))
    assert model.calls.item() == 10.0  # rank 0's buffer wins


def test_requires_init_and_params():
    with pytest.raises(RuntimeError, match="doesn't have any parameter"):
        DDP(nn.Module())
