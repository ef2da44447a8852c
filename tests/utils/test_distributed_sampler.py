"""DistributedSampler: torch's padding, drop_last, strided shares and epoch shuffling."""
from __future__ import annotations

import pytest

from disttorch.utils.data import DistributedSampler


class Data:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


@pytest.mark.parametrize("n", [10, 11, 12, 3, 1])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_matches_torch_without_shuffle(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchSampler

    for rank in range(replicas):
        ours = DistributedSampler(Data(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(Data(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    del torch


@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffle_partitions_and_epochs(drop_last):
    n, replicas = 23, 3
    shares = [DistributedSampler(Data(n), replicas, r, seed=5, drop_last=drop_last) for r in range(replicas)]
    first = [list(s) for s in shares]
    lengths = {len(f) for f in first}
    assert lengths == {len(shares[0])}
    union = [i for f in first for i in f]
    if drop_last:
        assert len(set(union)) == len(union) == replicas * (n // replicas)
    else:
        assert set(union) == set(range(n))
    assert [list(s) for s in shares] == first  # same epoch, same order
    for s in shares:
        s.set_epoch(1)
    assert [list(s) for s in shares] != first


def test_errors():
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(Data(4), num_replicas=2, rank=2)
