"""default_collate and default_convert: structure, dtypes and errors as torch's."""
from __future__ import annotations

import collections

import numpy as np
import pytest
from data_helpers import needs_torch, same_error, structure, torch

import disttorch
from disttorch.utils.data import default_collate, default_convert
from disttorch.utils.data._collate import collate, default_collate_fn_map

Point = collections.namedtuple("Point", ["x", "y"])


class MyList(list):
    pass


class FrozenSeq(collections.abc.Sequence):
    """An immutable sequence whose constructor takes no list (falls back to a plain list)."""

    def __init__(self, a, b):
        self._items = (a, b)

    def __getitem__(self, i):
        return self._items[i]

    def __len__(self):
        return len(self._items)


def samples(lib):
    """The same mixed samples, with tensors from ``lib`` (torch or disttorch)."""
    out = []
    for i in range(3):
        out.append({
            "t": lib.tensor([[i, i + 1.5]]),
            "ti": lib.tensor([i, 2 * i], dtype=lib.int32),
            "scalar_t": lib.tensor(float(i)),
            "np": np.arange(4, dtype=np.float32) * i,
            "np_int": np.arange(3) + i,
            "np_scalar": np.float32(i),
            "np_iscalar": np.int64(i),
            "np_bool": np.bool_(i % 2),
            "f": i * 0.5,
            "i": i,
            "b": i % 2 == 0,
            "s": f"s{i}",
            "bytes": b"x" * i,
            "tup": (i, float(i)),
            "lst": [i, [i, i]],
            "nt": Point(i, np.float64(i)),
            "od": collections.OrderedDict(a=i),
            "mylist": MyList([i, i + 1]),
            "frozen": FrozenSeq(i, float(i)),
        })
    return out


@needs_torch
def test_default_collate_matches_torch():
    ours = default_collate(samples(disttorch))
    theirs = torch.utils.data.default_collate(samples(torch))
    assert structure(ours) == structure(theirs)
    assert isinstance(ours["nt"], Point) and isinstance(ours["od"], collections.OrderedDict)
    assert isinstance(ours["mylist"], MyList)


@needs_torch
@pytest.mark.parametrize("batch", [
    [1, 2, 3],
    [1.5, 2.5],
    [1, 2.5],  # an int first: torch.tensor infers the default float dtype
    [True, False],
    ["a", "b"],
    [(1, "a"), (2, "b")],
    [[1, 2], [3, 4]],
    [{"a": 1.0}, {"a": 2.0}],
    [np.float64(1.0), np.float64(2.0)],
    [np.int16(1), np.int16(2)],
    [np.zeros((2, 3), dtype=np.uint8), np.ones((2, 3), dtype=np.uint8)],
    [np.zeros((2,), dtype=np.bool_), np.ones((2,), dtype=np.bool_)],
    [Point(1, 2.0), Point(3, 4.0)],
    [Point("a", 1), Point("b", 2)],
])
def test_default_collate_cases_match_torch(batch):
    assert structure(default_collate(batch)) == structure(torch.utils.data.default_collate(batch))


@needs_torch
def test_default_collate_tensors_match_torch():
    for shape in [(), (3,), (2, 3), (0, 2)]:
        data = [np.asarray(np.random.rand(*shape), dtype=np.float32) for _ in range(4)]
        ours = default_collate([disttorch.tensor(d) for d in data])
        theirs = torch.utils.data.default_collate([torch.tensor(d) for d in data])
        assert structure(ours) == structure(theirs)
    nc = disttorch.arange(6).reshape(2, 3).transpose(0, 1)  # non-contiguous
    assert default_collate([nc, nc + 1]).tolist() == [nc.tolist(), (nc + 1).tolist()]


def test_default_collate_on_device(device):
    batch = [disttorch.tensor([1.0, 2.0], device=device) * i for i in range(3)]
    out = default_collate(batch)
    assert out.device.type == device and out.shape == (3, 2) and out.tolist() == [[0, 0], [1, 2], [2, 4]]
    out = default_collate([(t, i) for i, t in enumerate(batch)])
    assert out[0].device.type == device and out[1].tolist() == [0, 1, 2]


def test_default_collate_dtypes():
    assert default_collate([1.0, 2.0]).dtype == disttorch.float64
    assert default_collate([1, 2]).dtype == disttorch.int64
    assert default_collate([True, False]).dtype == disttorch.bool
    assert default_collate([np.float32(1), np.float32(2)]).dtype == disttorch.float32
    assert default_collate([np.int16(1), np.int16(2)]).dtype == disttorch.int16
    assert default_collate(["a", "b"]) == ["a", "b"]
    out = default_collate([FrozenSeq(1, 2), FrozenSeq(3, 4)])
    assert type(out) is list and [c.tolist() for c in out] == [[1, 3], [2, 4]]


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([disttorch.zeros(2), disttorch.zeros(3)])
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                                        "found <class 'object'>"):
        default_collate([object()])
    with pytest.raises(TypeError, match="found <U1"):
        default_collate([np.array(["a"])])
    with pytest.raises(TypeError, match="NoneType"):
        default_collate([None, None])


@needs_torch
def test_default_collate_errors_match_torch():
    same_error(lambda t: t.utils.data.default_collate([[1, 2], [1]]), RuntimeError)
    same_error(lambda t: t.utils.data.default_collate([t.zeros(2), t.zeros(3)]), RuntimeError)
    same_error(lambda t: t.utils.data.default_collate([object()]), TypeError)
    same_error(lambda t: t.utils.data.default_collate([np.array(["a"])]), TypeError)
    same_error(lambda t: t.utils.data.default_collate([np.array([object()])]), TypeError)
    same_error(lambda t: t.utils.data.default_collate([]), IndexError)


def test_collate_with_custom_map():
    def count(batch, *, collate_fn_map=None):
        return len(batch)

    custom = {**default_collate_fn_map, str: count}
    out = collate([{"a": "x", "b": 1}, {"a": "y", "b": 2}], collate_fn_map=custom)
    assert out["a"] == 2 and out["b"].tolist() == [1, 2]


@needs_torch
def test_default_convert_matches_torch():
    cases = [
        np.arange(3, dtype=np.float32),
        np.float64(2.5),
        np.int32(3),
        (np.zeros(2), (1, 2), [np.int32(3)], "s", np.array(["x"])),
        {"a": np.ones((2, 2)), "b": [np.int8(1)]},
        Point(np.zeros(1), 2),
        [1, 2.0, "x"],
        "plain",
        5,
        MyList([np.int64(1)]),
    ]
    for c in cases:
        assert structure(default_convert(c)) == structure(torch.utils.data.default_convert(c)), c


def test_default_convert_keeps_tensors_and_strings():
    t = disttorch.ones(2)
    assert default_convert(t) is t
    arr = np.array(["a", "b"])
    assert default_convert(arr) is arr
    assert default_convert(np.str_("s")) == "s"
    out = default_convert({"x": np.arange(2)})
    assert isinstance(out["x"], disttorch.Tensor) and out["x"].dtype == disttorch.int64
