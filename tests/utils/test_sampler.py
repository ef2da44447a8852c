"""Samplers: sequential, random (with/without replacement), subset, weighted, batch."""
from __future__ import annotations

import numpy as np
import pytest
from data_helpers import needs_torch, same_error, torch

import disttorch
from disttorch.utils.data import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def test_sampler_base():
    with pytest.raises(NotImplementedError):
        iter(Sampler())
    with pytest.raises(TypeError):
        len(Sampler())

    class Evens(Sampler[int]):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(0, self.n, 2))

    assert list(Evens(7)) == [0, 2, 4, 6]


def test_sequential_sampler():
    s = SequentialSampler(range(5))
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5
    assert list(SequentialSampler([])) == []


def test_random_sampler_is_a_permutation():
    s = RandomSampler(range(50))
    order = list(s)
    assert sorted(order) == list(range(50)) and len(s) == 50
    assert order != list(range(50))
    assert all(isinstance(i, int) for i in order)


def test_random_sampler_generator_reproducible_and_epochs_differ():
    s1 = RandomSampler(range(30), generator=disttorch.Generator().manual_seed(1))
    s2 = RandomSampler(range(30), generator=disttorch.Generator().manual_seed(1))
    e1, e2 = list(s1), list(s1)
    assert e1 != e2  # the generator moves on: each epoch is a new order
    assert [list(s2), list(s2)] == [e1, e2]  # and the same seed repeats the sequence
    # without a generator each epoch draws a seed from the default generator
    disttorch.manual_seed(9)
    s = RandomSampler(range(30))
    a, b = list(s), list(s)
    disttorch.manual_seed(9)
    assert a != b and [list(s), list(s)] == [a, b]


def test_random_sampler_num_samples_and_replacement():
    s = RandomSampler(range(4), num_samples=10)  # whole permutations, then part of one
    order = list(s)
    assert len(order) == 10 and len(s) == 10
    assert sorted(order[:4]) == sorted(order[4:8]) == [0, 1, 2, 3] and len(set(order[8:])) == 2
    s = RandomSampler(range(3), num_samples=2)
    assert len(list(s)) == 2 and len(set(s)) == 2
    r = RandomSampler(range(5), replacement=True, num_samples=100, generator=disttorch.Generator().manual_seed(0))
    draws = list(r)
    assert len(draws) == 100 and set(draws) == {0, 1, 2, 3, 4}
    assert len(list(RandomSampler(range(5), replacement=True))) == 5
    assert len(list(RandomSampler(range(5), replacement=True, num_samples=33))) == 33
    assert RandomSampler(range(7)).num_samples == 7


@needs_torch
def test_random_sampler_errors_match_torch():
    same_error(lambda t: t.utils.data.RandomSampler(range(3), replacement=1), TypeError)
    same_error(lambda t: t.utils.data.RandomSampler(range(3), num_samples=0), ValueError)
    same_error(lambda t: t.utils.data.RandomSampler(range(3), num_samples=2.5), ValueError)
    same_error(lambda t: t.utils.data.RandomSampler([]), ValueError)


def test_subset_random_sampler():
    idx = [10, 20, 30, 40, 50]
    s = SubsetRandomSampler(idx, generator=disttorch.Generator().manual_seed(3))
    order = list(s)
    assert sorted(order) == idx and len(s) == 5
    t = SubsetRandomSampler(idx, generator=disttorch.Generator().manual_seed(3))
    assert list(t) == order


def test_weighted_random_sampler():
    g = disttorch.Generator().manual_seed(0)
    s = WeightedRandomSampler([0.0, 1.0, 3.0, 0.0], 2000, generator=g)
    draws = np.array(list(s))
    assert len(s) == 2000 and set(draws.tolist()) == {1, 2}
    assert abs((draws == 2).mean() - 0.75) < 0.05
    s = WeightedRandomSampler(disttorch.tensor([1.0, 1.0, 1.0, 5.0]), 4, replacement=False)
    assert sorted(s) == [0, 1, 2, 3]
    assert s.weights.dtype == disttorch.float64
    with pytest.raises(RuntimeError):
        list(WeightedRandomSampler([1.0, 1.0], 3, replacement=False))


@needs_torch
def test_weighted_random_sampler_errors_match_torch():
    same_error(lambda t: t.utils.data.WeightedRandomSampler([1.0, 2.0], 0), ValueError)
    same_error(lambda t: t.utils.data.WeightedRandomSampler([1.0, 2.0], True), ValueError)
    same_error(lambda t: t.utils.data.WeightedRandomSampler([1.0, 2.0], 3, replacement=0), ValueError)
    same_error(lambda t: t.utils.data.WeightedRandomSampler([[1.0, 2.0]], 3), ValueError)


def test_batch_sampler():
    assert list(BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2
    assert list(BatchSampler(range(0), 3, False)) == [] and len(BatchSampler(range(0), 3, False)) == 0
    b = BatchSampler(RandomSampler(range(10)), 4, False)
    got = list(b)
    assert [len(x) for x in got] == [4, 4, 2] and sorted(sum(got, [])) == list(range(10))


@needs_torch
@pytest.mark.parametrize("n", [0, 1, 5, 12, 13])
@pytest.mark.parametrize("bs", [1, 3, 4, 20])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(n, bs, drop_last):
    ours = BatchSampler(SequentialSampler(range(n)), bs, drop_last)
    theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), bs, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


@needs_torch
def test_batch_sampler_errors_match_torch():
    for bs, dl in [(0, False), (-1, False), (True, False), (1.5, False), (2, 1), (2, None)]:
        same_error(lambda t, bs=bs, dl=dl: t.utils.data.BatchSampler(range(3), bs, dl), ValueError)


@needs_torch
def test_sequential_sampler_matches_torch():
    for n in (0, 1, 9):
        assert list(SequentialSampler(range(n))) == list(torch.utils.data.SequentialSampler(range(n)))
