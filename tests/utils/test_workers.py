"""DataLoader with worker processes: order, errors, seeding, timeouts, shutdown, persistence."""
from __future__ import annotations

import gc
import multiprocessing
import os
import time

import numpy as np
import pytest
from data_helpers import batches, needs_torch, torch

import disttorch
from disttorch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, _worker, get_worker_info


def live_children():
    return [p for p in multiprocessing.active_children() if p.is_alive()]


@pytest.fixture(autouse=True)
def _no_leftover_workers():
    yield
    gc.collect()
    deadline = time.time() + 10
    while live_children() and time.time() < deadline:
        time.sleep(0.05)
    assert live_children() == []


class Slow(Dataset):
    """Later items come back faster, so results arrive out of order."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        time.sleep(0.001 * (self.n - i))
        return {"i": i, "x": np.full(2, i, dtype=np.float32), "pid": os.getpid()}

    def __len__(self):
        return self.n


class Failing(Dataset):
    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"bad item {i}")
        return i

    def __len__(self):
        return 8


class MissingKey(Dataset):
    def __getitem__(self, i):
        return {}["k"]

    def __len__(self):
        return 2


class WorkerFacts(Dataset):
    def __getitem__(self, i):
        info = get_worker_info()
        return {"id": info.id, "num_workers": info.num_workers, "seed": info.seed,
                "initial_seed": disttorch.initial_seed(), "np": float(np.random.rand()),
                "dt": disttorch.rand(1).item(), "pid": os.getpid(), "same_ds": info.dataset is not None}

    def __len__(self):
        return 8


class Shard(IterableDataset):
    """Each worker takes every num_workers-th item."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


class Unpicklable(Dataset):
    def __getitem__(self, i):
        return lambda: i

    def __len__(self):
        return 2


class Dies(Dataset):
    def __getitem__(self, i):
        if get_worker_info().id == 0:
            os._exit(3)
        return i

    def __len__(self):
        return 4


class Sleepy(Dataset):
    def __getitem__(self, i):
        time.sleep(1)
        return i

    def __len__(self):
        return 2


def test_workers_give_the_same_batches_in_order():
    ds = Slow(23)
    without_pid = lambda loader: [{k: v for k, v in b.items() if k != "pid"} for b in loader]
    for bs in (1, 4):
        ref = batches(without_pid(DataLoader(ds, batch_size=bs)))
        assert batches(without_pid(DataLoader(ds, batch_size=bs, num_workers=2))) == ref
    # no auto-batching and drop_last go through the workers too
    assert list(DataLoader(range(5), batch_size=None, num_workers=2)) == [0, 1, 2, 3, 4]
    assert [b.tolist() for b in DataLoader(range(7), batch_size=3, drop_last=True, num_workers=2)] == [
        [0, 1, 2], [3, 4, 5]]


def test_workers_with_device_tensors(device):
    x = disttorch.arange(12, device=device)
    ref = [[t.tolist() for t in b] for b in DataLoader(TensorDataset(x, x * 2), batch_size=5)]
    # a forked child cannot use the parent's CUDA context (as with torch): spawn for device data
    ctx = "spawn" if device == "cuda" else None
    got = list(DataLoader(TensorDataset(x, x * 2), batch_size=5, num_workers=2, multiprocessing_context=ctx))
    assert [[t.tolist() for t in b] for b in got] == ref
    assert all(t.device.type == device for b in got for t in b)


def test_work_is_spread_over_workers():
    got = list(DataLoader(Slow(8), batch_size=2, num_workers=2))
    pids = {p for b in got for p in b["pid"].tolist()}
    assert len(pids) == 2 and os.getpid() not in pids


def test_shuffled_order_is_the_same_with_workers():
    g = lambda: disttorch.Generator().manual_seed(5)
    a = [b.tolist() for b in DataLoader(range(20), batch_size=3, shuffle=True, generator=g())]
    b = [b.tolist() for b in DataLoader(range(20), batch_size=3, shuffle=True, generator=g(), num_workers=2)]
    assert a == b


def test_worker_error_names_the_worker():
    loader = DataLoader(Failing(), batch_size=2, num_workers=2)
    with pytest.raises(ValueError, match=r"Caught ValueError in DataLoader worker process 0") as e:
        list(loader)
    msg = str(e.value)
    assert "Original Traceback" in msg and "bad item 5" in msg and "__getitem__" in msg
    with pytest.raises(ValueError, match="worker process 1"):
        list(DataLoader(Failing(), batch_size=1, num_workers=2, sampler=[0, 5, 1]))
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process"):
        list(DataLoader(MissingKey(), num_workers=1))


@needs_torch
def test_worker_error_message_matches_torch():
    torch_it = iter(torch.utils.data.DataLoader(Failing(), batch_size=2, num_workers=2))
    with pytest.raises(ValueError) as theirs:
        list(torch_it)
    torch_it._shutdown_workers()  # (torch's own workers would outlive the test, held by the traceback)
    with pytest.raises(ValueError) as ours:
        list(DataLoader(Failing(), batch_size=2, num_workers=2))
    head = lambda e: str(e.value).splitlines()[:2]
    assert head(ours) == head(theirs)
    assert str(ours.value).splitlines()[-1] == str(theirs.value).splitlines()[-1] == "ValueError: bad item 5"


def test_items_before_an_error_are_delivered():
    it = iter(DataLoader(Failing(), batch_size=1, num_workers=2))
    assert [next(it).item() for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="bad item 5"):
        next(it)
    # as in torch, the iterator goes on after a worker's error
    assert [b.item() for b in it] == [6, 7]


def test_unpicklable_results_and_local_exceptions():
    with pytest.raises(Exception, match="in DataLoader worker process"):
        list(DataLoader(Unpicklable(), batch_size=None, num_workers=1))

    class LocalError(Exception):
        pass

    def init(worker_id):
        raise LocalError("from init")

    with pytest.raises(RuntimeError, match="Caught LocalError in DataLoader worker process 0"):
        list(DataLoader(range(2), num_workers=1, worker_init_fn=init))


def test_worker_init_fn_and_seeding():
    calls = multiprocessing.get_context("fork").Queue() if "fork" in multiprocessing.get_all_start_methods() \
        else None

    def init(worker_id):
        assert get_worker_info().id == worker_id
        if calls is not None:
            calls.put(worker_id)

    disttorch.manual_seed(11)
    loader = DataLoader(WorkerFacts(), batch_size=None, num_workers=2, worker_init_fn=init)
    facts = list(loader)
    by_worker = {}
    for f in facts:  # each worker's first item
        by_worker.setdefault(f["id"], f)
    assert set(by_worker) == {0, 1} and all(f["num_workers"] == 2 for f in facts)
    assert all(f["same_ds"] for f in facts)
    base = by_worker[0]["seed"]
    assert by_worker[1]["seed"] == base + 1
    assert all(f["initial_seed"] == f["seed"] for f in facts)  # disttorch seeded with base_seed + id
    assert by_worker[0]["np"] != by_worker[1]["np"] and by_worker[0]["dt"] != by_worker[1]["dt"]
    if calls is not None:
        assert sorted(calls.get(timeout=5) for _ in range(2)) == [0, 1]
    # the base seed comes from the default generator: manual_seed makes workers reproducible
    disttorch.manual_seed(11)
    again = list(DataLoader(WorkerFacts(), batch_size=None, num_workers=2))
    assert [(f["seed"], f["np"], f["dt"]) for f in again] == [(f["seed"], f["np"], f["dt"]) for f in facts]
    # and a loader's own generator gives the base seed
    seeds = [list(DataLoader(WorkerFacts(), batch_size=None, num_workers=2,
                             generator=disttorch.Generator().manual_seed(3)))[0]["seed"] for _ in range(2)]
    assert seeds[0] == seeds[1]
    # numpy in a worker is seeded from base_seed + id
    np.random.seed([base & 0xFFFF_FFFF, base >> 32])
    assert by_worker[0]["np"] == np.random.rand()


def test_iterable_dataset_with_workers():
    out = [b.tolist() for b in DataLoader(Shard(10), batch_size=2, num_workers=2)]
    # worker 0 has 0,2,4,6,8 and worker 1 has 1,3,5,7,9; batches alternate between them
    assert out == [[0, 2], [1, 3], [4, 6], [5, 7], [8], [9]]
    assert [b.tolist() for b in DataLoader(Shard(10), batch_size=2, num_workers=2, drop_last=True)] == [
        [0, 2], [1, 3], [4, 6], [5, 7]]
    assert sorted(DataLoader(Shard(7), batch_size=None, num_workers=2)) == list(range(7))
    # without sharding every worker yields the whole stream
    class Whole(IterableDataset):
        def __iter__(self):
            return iter(range(3))

    assert sorted(v for b in DataLoader(Whole(), batch_size=2, num_workers=2) for v in b.tolist()) == [
        0, 0, 1, 1, 2, 2]


def test_early_break_leaves_no_live_workers():
    loader = DataLoader(Slow(40), batch_size=2, num_workers=2)
    for i, _ in enumerate(loader):
        if i == 1:
            break
    # the loop's iterator was freed at the break, and it stopped and joined its workers
    assert live_children() == []
    it = iter(DataLoader(Slow(40), batch_size=2, num_workers=2))
    next(it)
    workers = list(it._workers)
    del it
    for w in workers:
        w.join(timeout=10)
        assert not w.is_alive()


def test_exhausted_iterator_stops_workers():
    it = iter(DataLoader(range(6), batch_size=2, num_workers=2))
    workers = list(it._workers)
    assert [b.tolist() for b in it] == [[0, 1], [2, 3], [4, 5]]
    assert all(not w.is_alive() for w in workers)
    with pytest.raises(StopIteration):
        next(it)


def test_timeout():
    loader = DataLoader(Sleepy(), num_workers=1, timeout=0.2)
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.2 seconds"):
        next(iter(loader))


def test_dead_worker_is_reported(monkeypatch):
    monkeypatch.setattr(_worker, "MP_STATUS_CHECK_INTERVAL", 0.2)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(DataLoader(Dies(), num_workers=2))


def test_persistent_workers():
    loader = DataLoader(Slow(9), batch_size=2, num_workers=2, persistent_workers=True)
    e1 = [b["i"].tolist() for b in loader]
    it = loader._iterator
    pids = {w.pid for w in it._workers}
    e2 = [b["i"].tolist() for b in loader]
    assert e1 == e2 == [[0, 1], [2, 3], [4, 5], [6, 7], [8]]
    assert loader._iterator is it and {w.pid for w in it._workers} == pids
    assert all(w.is_alive() for w in it._workers)
    # an epoch broken off early does not leak into the next one
    for i, _ in enumerate(loader):
        if i == 0:
            break
    assert [b["i"].tolist() for b in loader] == e1
    # iterable datasets start over each epoch
    stream = DataLoader(Shard(6), batch_size=2, num_workers=2, persistent_workers=True)
    assert [b.tolist() for b in stream] == [b.tolist() for b in stream] == [[0, 2], [1, 3], [4], [5]]
    workers = list(it._workers) + list(stream._iterator._workers)
    del loader, stream, it, _
    gc.collect()
    for w in workers:
        w.join(timeout=10)
        assert not w.is_alive()


def test_out_of_order_delivery():
    got = [b["i"].tolist() for b in DataLoader(Slow(12), batch_size=2, num_workers=2, in_order=False)]
    assert sorted(v for b in got for v in b) == list(range(12)) and len(got) == 6


def test_spawn_context():
    ds = TensorDataset(disttorch.arange(6), disttorch.arange(6) * 1.5)
    loader = DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context="spawn")
    got = [[t.tolist() for t in b] for b in loader]
    assert got == [[[0, 1, 2, 3], [0.0, 1.5, 3.0, 4.5]], [[4, 5], [6.0, 7.5]]]


def test_prefetch_factor_bounds_outstanding_work():
    it = iter(DataLoader(Slow(30), batch_size=1, num_workers=2, prefetch_factor=3))
    assert it._tasks_outstanding == 6
    assert [next(it)["i"].item() for _ in range(3)] == [0, 1, 2]
    assert it._tasks_outstanding <= 6
    assert len([b for b in it]) == 27
