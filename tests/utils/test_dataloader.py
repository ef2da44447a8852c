"""DataLoader in one process: batching, samplers, iterable datasets, argument checks, torch parity."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from data_helpers import batches, needs_torch, same_error, structure, torch

import disttorch
from disttorch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
    get_worker_info,
)


class Records(Dataset):
    """Mixed samples: a numpy array, a float, an int and a string."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return {"x": np.full(3, i, dtype=np.float32), "w": i / 2, "y": i, "name": f"r{i}"}

    def __len__(self):
        return self.n


class Stream(IterableDataset):
    def __init__(self, n, length=None):
        self.n = n
        self.length = length

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n if self.length is None else self.length


def tensor_datasets(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n) % 3
    ours = TensorDataset(disttorch.tensor(x), disttorch.tensor(y))
    theirs = torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)) if torch is not None else None
    return ours, theirs


def test_basic_batches(device):
    x = disttorch.arange(10, device=device)
    loader = DataLoader(TensorDataset(x, x * 2.0), batch_size=4)
    got = list(loader)
    assert len(loader) == 3 and len(got) == 3
    assert [b[0].tolist() for b in got] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert got[0][1].dtype == disttorch.float32 and got[0][0].device.type == device
    assert [b[0].tolist() for b in DataLoader(TensorDataset(x), batch_size=4, drop_last=True)] == [
        [0, 1, 2, 3], [4, 5, 6, 7]]


@needs_torch
@pytest.mark.parametrize("n", [1, 7, 10])
@pytest.mark.parametrize("batch_size", [1, 3, 10, 16])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sequential_batches_match_torch(n, batch_size, drop_last):
    ours, theirs = tensor_datasets(n)
    a = DataLoader(ours, batch_size=batch_size, drop_last=drop_last)
    b = torch.utils.data.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last)
    assert batches(a) == batches(b) and len(a) == len(b)
    a = DataLoader(Records(n), batch_size=batch_size, drop_last=drop_last)
    b = torch.utils.data.DataLoader(Records(n), batch_size=batch_size, drop_last=drop_last)
    assert batches(a) == batches(b) and len(a) == len(b)


@needs_torch
def test_samplers_and_no_batching_match_torch():
    ours, theirs = tensor_datasets(9)
    order = [8, 1, 5, 0, 3, 2, 7, 6, 4]
    kw = [
        dict(sampler=order, batch_size=2),
        dict(sampler=order, batch_size=4, drop_last=True),
        dict(batch_sampler=[[0, 1], [5], [8, 7, 6]]),
        dict(batch_size=None),
        dict(batch_size=None, sampler=order),
    ]
    for k in kw:
        a, b = DataLoader(ours, **k), torch.utils.data.DataLoader(theirs, **k)
        assert batches(a) == batches(b) and len(a) == len(b), k
    # no auto-batching: numpy samples are converted, nothing is stacked
    a = DataLoader(Records(3), batch_size=None)
    b = torch.utils.data.DataLoader(Records(3), batch_size=None)
    assert batches(a) == batches(b)


def test_shuffle():
    x = disttorch.arange(20)
    loader = DataLoader(TensorDataset(x), batch_size=5, shuffle=True,
                        generator=disttorch.Generator().manual_seed(0))
    assert isinstance(loader.sampler, RandomSampler)
    e1 = [v for (b,) in loader for v in b.tolist()]
    e2 = [v for (b,) in loader for v in b.tolist()]
    assert sorted(e1) == sorted(e2) == list(range(20)) and e1 != e2
    again = DataLoader(TensorDataset(x), batch_size=5, shuffle=True,
                       generator=disttorch.Generator().manual_seed(0))
    assert [v for (b,) in again for v in b.tolist()] == e1
    disttorch.manual_seed(4)
    f1 = [v for (b,) in DataLoader(TensorDataset(x), batch_size=5, shuffle=True) for v in b.tolist()]
    disttorch.manual_seed(4)
    f2 = [v for (b,) in DataLoader(TensorDataset(x), batch_size=5, shuffle=True) for v in b.tolist()]
    assert f1 == f2
    assert isinstance(DataLoader(TensorDataset(x)).sampler, SequentialSampler)
    assert isinstance(DataLoader(TensorDataset(x), shuffle=0).sampler, SequentialSampler)


def test_attributes_and_collate_fn():
    ds = TensorDataset(disttorch.arange(6))
    loader = DataLoader(ds, batch_size=4, drop_last=True)
    assert loader.batch_size == 4 and loader.drop_last is True and loader.dataset is ds
    assert isinstance(loader.batch_sampler, BatchSampler) and loader.num_workers == 0
    seen = []
    loader = DataLoader(range(5), batch_size=2, collate_fn=lambda b: seen.append(b) or sum(b))
    assert list(loader) == [1, 5, 4] and seen == [[0, 1], [2, 3], [4]]
    bs = DataLoader(range(5), batch_sampler=[[4, 0], [2]])
    assert bs.batch_size is None and bs.drop_last is False
    assert [b.tolist() for b in bs] == [[4, 0], [2]]
    nobatch = DataLoader(range(3), batch_size=None)
    assert nobatch.batch_sampler is None and list(nobatch) == [0, 1, 2] and len(nobatch) == 3


def test_getitems_is_used_for_batches():
    class Batched(Dataset):
        calls = []

        def __getitem__(self, i):
            raise AssertionError("__getitems__ should be used")

        def __getitems__(self, idx):
            self.calls.append(list(idx))
            return [i * 10 for i in idx]

        def __len__(self):
            return 5

    out = [b.tolist() for b in DataLoader(Batched(), batch_size=2)]
    assert out == [[0, 10], [20, 30], [40]] and Batched.calls == [[0, 1], [2, 3], [4]]


def test_iterable_dataset():
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]
    assert len(DataLoader(Stream(7), batch_size=3)) == 3
    assert len(DataLoader(Stream(7), batch_size=3, drop_last=True)) == 2
    assert len(DataLoader(Stream(7), batch_size=None)) == 7
    assert get_worker_info() is None


def test_iterable_dataset_length_warning():
    loader = DataLoader(Stream(5, length=3), batch_size=None)
    assert len(loader) == 3
    with pytest.warns(UserWarning, match="was reported to be 3"):
        assert list(loader) == [0, 1, 2, 3, 4]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(DataLoader(Stream(5, length=3), batch_size=None))  # len() never asked: no warning


@needs_torch
def test_iterable_dataset_matches_torch():
    class TStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    for kw in [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None),
               dict(batch_size=1), dict(batch_size=8), dict(shuffle=False, batch_size=2)]:
        a, b = DataLoader(Stream(7), **kw), torch.utils.data.DataLoader(TStream(), **kw)
        assert batches(a) == batches(b) and len(a) == len(b), kw


@needs_torch
def test_argument_errors_match_torch():
    def it(t):
        class S(t.utils.data.IterableDataset):
            def __iter__(self):
                return iter(range(3))
        return S()

    cases = [
        lambda t: t.utils.data.DataLoader(range(3), num_workers=-1),
        lambda t: t.utils.data.DataLoader(range(3), timeout=-1),
        lambda t: t.utils.data.DataLoader(range(3), prefetch_factor=2),
        lambda t: t.utils.data.DataLoader(range(3), num_workers=1, prefetch_factor=-1),
        lambda t: t.utils.data.DataLoader(range(3), persistent_workers=True),
        lambda t: t.utils.data.DataLoader(it(t), shuffle=True),
        lambda t: t.utils.data.DataLoader(it(t), sampler=[0, 1]),
        lambda t: t.utils.data.DataLoader(it(t), batch_sampler=[[0]]),
        lambda t: t.utils.data.DataLoader(range(3), sampler=[0, 1], shuffle=True),
        lambda t: t.utils.data.DataLoader(range(3), batch_sampler=[[0]], batch_size=2),
        lambda t: t.utils.data.DataLoader(range(3), batch_sampler=[[0]], shuffle=True),
        lambda t: t.utils.data.DataLoader(range(3), batch_sampler=[[0]], sampler=[0]),
        lambda t: t.utils.data.DataLoader(range(3), batch_sampler=[[0]], drop_last=True),
        lambda t: t.utils.data.DataLoader(range(3), batch_size=None, drop_last=True),
        lambda t: t.utils.data.DataLoader(range(3), batch_size=0),
        lambda t: t.utils.data.DataLoader(range(3), batch_size=1.5),
        lambda t: t.utils.data.DataLoader(range(3), multiprocessing_context="fork"),
        lambda t: t.utils.data.DataLoader(range(3), num_workers=1, multiprocessing_context="bogus"),
    ]
    for c in cases:
        same_error(c, ValueError)
    same_error(lambda t: t.utils.data.DataLoader(range(3), num_workers=1, multiprocessing_context=3), TypeError)
    same_error(lambda t: len(t.utils.data.DataLoader(it(t), batch_size=2)), TypeError, match_message=False)
    for attr in ("batch_size", "sampler", "batch_sampler", "drop_last", "dataset", "persistent_workers"):
        same_error(lambda t, attr=attr: setattr(t.utils.data.DataLoader(range(3)), attr, 2), ValueError)
    same_error(lambda t: iter(t.utils.data.DataLoader(range(3))).__getstate__(), NotImplementedError,
               match_message=False)


def test_settable_attributes():
    loader = DataLoader(range(3))
    loader.collate_fn = lambda b: b
    assert list(loader) == [[0], [1], [2]]
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 2


def test_iterator_len_and_pin_memory():
    it = iter(DataLoader(range(10), batch_size=3))
    assert len(it) == 4 and iter(it) is it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # on CPU torch warns that pinning is unavailable
        out = [b.tolist() for b in DataLoader(range(4), batch_size=2, pin_memory=True)]
    assert out == [[0, 1], [2, 3]]


def test_too_many_workers_warns():
    with pytest.warns(UserWarning, match="worker processes in total"):
        DataLoader(range(3), num_workers=4096)


@needs_torch
def test_structures_match_torch_for_shuffled_sets():
    # with shuffle the orders differ between libraries, but the batch structure must not
    a = DataLoader(Records(6), batch_size=4, shuffle=True)
    b = torch.utils.data.DataLoader(Records(6), batch_size=4, shuffle=True)
    sa, sb = batches(a), batches(b)
    assert [(s[0], list(s[1])) for s in sa] == [(s[0], list(s[1])) for s in sb]
    assert structure(next(iter(a)))[1]["x"][:3] == structure(next(iter(b)))[1]["x"][:3]
