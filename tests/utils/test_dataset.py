"""Datasets: TensorDataset, StackDataset, ConcatDataset, ChainDataset, Subset, random_split."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from data_helpers import needs_torch, same_error, structure, torch

import disttorch
from disttorch.utils.data import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i

    def __len__(self):
        return self.n


class Count(IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self):
        return self.stop - self.start


def test_base_classes():
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement __getitem__"):
        Dataset()[0]
    with pytest.raises(TypeError):
        len(Dataset())
    with pytest.raises(TypeError):
        IterableDataset()  # __iter__ is abstract
    both = Squares(3) + Squares(2)
    assert isinstance(both, ConcatDataset) and [both[i] for i in range(5)] == [0, 1, 4, 0, 1]
    chained = Count(0, 2) + Count(5, 7)
    assert isinstance(chained, ChainDataset) and list(chained) == [0, 1, 5, 6] and len(chained) == 4


def test_tensor_dataset(device):
    x = disttorch.arange(12, device=device).reshape(6, 2)
    y = disttorch.arange(6, device=device) * 10
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    a, b = ds[2]
    assert a.tolist() == [4, 5] and b.item() == 20 and a.device.type == device
    rows = ds[disttorch.tensor([0, 5])]
    assert rows[0].tolist() == [[0, 1], [10, 11]] and rows[1].tolist() == [0, 50]
    assert TensorDataset().tensors == ()  # no tensors: allowed, as in torch
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(disttorch.zeros(3), disttorch.zeros(4))


@needs_torch
def test_tensor_dataset_matches_torch():
    data = np.arange(20).reshape(10, 2)
    ours = TensorDataset(disttorch.tensor(data), disttorch.tensor(data[:, 0] * 1.5))
    theirs = torch.utils.data.TensorDataset(torch.tensor(data), torch.tensor(data[:, 0] * 1.5))
    assert len(ours) == len(theirs)
    for i in (0, 3, -1):
        assert structure(ours[i]) == structure(theirs[i])
    same_error(lambda t: t.utils.data.TensorDataset(t.zeros(3), t.zeros(4)), AssertionError)


def test_stack_dataset():
    tup = StackDataset(Squares(4), range(4))
    assert len(tup) == 4 and tup[3] == (9, 3)
    named = StackDataset(sq=Squares(4), r=range(10, 14))
    assert named[1] == {"sq": 1, "r": 11}
    assert named.__getitems__([0, 2]) == [{"sq": 0, "r": 10}, {"sq": 4, "r": 12}]
    assert tup.__getitems__([1, 3]) == [(1, 1), (9, 3)]
    nested = StackDataset(Subset(Squares(6), [5, 4, 3]), range(3))
    assert nested.__getitems__([0, 2]) == [(25, 0), (9, 2)]


@needs_torch
def test_stack_dataset_errors_match_torch():
    same_error(lambda t: t.utils.data.StackDataset(), ValueError)
    same_error(lambda t: t.utils.data.StackDataset(range(2), a=range(2)), ValueError)
    same_error(lambda t: t.utils.data.StackDataset(range(2), range(3)), ValueError)
    same_error(lambda t: t.utils.data.StackDataset(a=range(2), b=range(3)), ValueError)


def test_concat_dataset():
    ds = ConcatDataset([Squares(3), range(100, 102), Squares(0), [7, 8, 9]])
    assert ds.cumulative_sizes == [3, 5, 5, 8]
    assert len(ds) == 8
    assert [ds[i] for i in range(8)] == [0, 1, 4, 100, 101, 7, 8, 9]
    assert [ds[-i] for i in range(1, 9)] == [9, 8, 7, 101, 100, 4, 1, 0]
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        ds[-9]
    with pytest.raises(IndexError):
        ds[8]
    with pytest.warns(FutureWarning, match="cummulative_sizes"):
        assert ds.cummulative_sizes == [3, 5, 5, 8]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([Squares(2), Count(0, 2)])
    assert ConcatDataset(iter([range(2), range(3)])).cumulative_sizes == [2, 5]


@needs_torch
def test_concat_dataset_matches_torch():
    parts = [range(3), [10, 11], range(20, 24)]
    ours, theirs = ConcatDataset(parts), torch.utils.data.ConcatDataset(parts)
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-9, 9)] == [theirs[i] for i in range(-9, 9)]
    same_error(lambda t: t.utils.data.ConcatDataset(parts)[-10], ValueError)
    same_error(lambda t: t.utils.data.ConcatDataset([]), AssertionError)


def test_chain_dataset():
    ds = ChainDataset([Count(0, 3), Count(10, 12)])
    assert list(ds) == [0, 1, 2, 10, 11] and len(ds) == 5
    assert list(ds) == [0, 1, 2, 10, 11]  # iterable again
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(ChainDataset([range(3)]))
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        len(ChainDataset([Count(0, 1), range(3)]))


def test_subset():
    sub = Subset(Squares(10), [9, 2, 4])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [81, 4, 16] and sub[-1] == 16
    assert sub.__getitems__([2, 0]) == [16, 81]
    # a list index goes to the parent as one list
    listy = Subset(disttorch.arange(10) * 2, [1, 3, 5])
    assert listy[[0, 2]].tolist() == [2, 10]
    # the parent's __getitems__ is used when it has one
    nested = Subset(Subset(Squares(10), [9, 8, 7, 6]), [3, 0])
    assert nested.__getitems__([1, 0]) == [81, 36]


def test_random_split_lengths_and_disjointness():
    for n, lengths in [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]), (7, [0.2, 0.2, 0.6]),
                       (10, [0.33, 0.33, 0.34]), (5, [5]), (1, [1.0])]:
        parts = random_split(range(n), lengths)
        got = sorted(v for p in parts for v in (p[i] for i in range(len(p))))
        assert got == list(range(n)), (n, lengths)
        assert all(isinstance(p, Subset) and isinstance(p.indices, list) for p in parts)


def test_random_split_fraction_rounding():
    # floors first, then the remainder one at a time to the first splits
    assert [len(p) for p in random_split(range(10), [0.33, 0.33, 0.34])] == [4, 3, 3]
    assert [len(p) for p in random_split(range(7), [0.5, 0.5])] == [4, 3]
    assert [len(p) for p in random_split(range(11), [0.25, 0.25, 0.25, 0.25])] == [3, 3, 3, 2]
    with pytest.warns(UserWarning) as record:
        lens = [len(p) for p in random_split(range(3), [0.9, 0.1, 0.0])]
    assert lens == [3, 0, 0]
    assert [str(w.message) for w in record] == [
        f"Length of split at index {i} is 0. This might result in an empty dataset." for i in (1, 2)]


def test_random_split_generator():
    g = lambda: disttorch.Generator().manual_seed(42)
    a = [p.indices for p in random_split(range(20), [5, 15], generator=g())]
    b = [p.indices for p in random_split(range(20), [5, 15], generator=g())]
    c = [p.indices for p in random_split(range(20), [5, 15], generator=disttorch.Generator().manual_seed(7))]
    assert a == b and a != c
    disttorch.manual_seed(3)
    d = [p.indices for p in random_split(range(20), [0.5, 0.5])]
    disttorch.manual_seed(3)
    e = [p.indices for p in random_split(range(20), [0.5, 0.5])]
    assert d == e


def test_random_split_errors():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(10), [1.2, -0.2])
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [0.1, 0.1])


@needs_torch
def test_random_split_matches_torch():
    for n, lengths in [(10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (23, [0.1, 0.2, 0.3, 0.4]),
                       (100, [0.6, 0.2, 0.2]), (9, [2, 3, 4]), (13, [1 / 3, 1 / 3, 1 / 3])]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = [len(p) for p in random_split(range(n), lengths)]
            theirs = [len(p) for p in torch.utils.data.random_split(range(n), lengths)]
        assert ours == theirs, (n, lengths)
    for bad in ([3, 3], [1.2, -0.2], [0.1, 0.1], [0.5, 0.6]):
        same_error(lambda t, bad=bad: t.utils.data.random_split(range(10), bad), ValueError)
