"""Indexing ops: getitem/setitem, gather/scatter, index_*, masked_*, take/put, nonzero."""
from __future__ import annotations

import numpy as np
import pytest
from parity import check, check_error, gradcheck

import disttorch

I = np.array  # index arrays become int64 tensors on each library (and device)
MASK34 = np.array([[True, False, False, True], [False, True, False, False], [True, True, True, False]])

# -- __getitem__ ------------------------------------------------------------------------

BASIC_KEYS = {
    "int": lambda x: x[1],
    "neg_int": lambda x: x[-1],
    "int_int": lambda x: x[1, -2],
    "all_ints": lambda x: x[1, 2, 3],
    "slice": lambda x: x[:, 1:],
    "slice_step": lambda x: x[:, ::2, 1:4:2],
    "slice_clamped": lambda x: x[-10:10, 2:100],
    "empty_slice": lambda x: x[:, 3:1],
    "none": lambda x: x[None, :, None],
    "ellipsis": lambda x: x[..., 1],
    "ellipsis_none": lambda x: x[..., None],
    "mixed": lambda x: x[1, None, ..., ::3],
    "int_after_none": lambda x: x[None, 0, None, :, -1],
    "empty_tuple": lambda x: x[()],
    "two_ellipses": lambda x: x[..., 0, ...],
    "tensor_int": lambda x: x[x.new_tensor(1).long()],
}


@pytest.mark.parametrize("name", BASIC_KEYS)
def test_getitem_basic_parity(name, device):
    check([(2, 3, 4)], BASIC_KEYS[name], device=device)


@pytest.mark.parametrize("fn", [lambda x: x[...], lambda x: x[None], lambda x: x[()],
                                lambda x: x[None, ..., None]], ids=["ell", "none", "empty", "nn"])
def test_getitem_basic_zero_dim(fn, device):
    check([()], fn, device=device)


def test_getitem_noncontiguous_and_empty(device):
    check([(3, 4, 5)], lambda x: x.transpose(0, 2)[1:, ::2, 0], device=device)
    check([(3, 4, 5)], lambda x: x[::2][:, 1::2][..., 3], device=device)
    check([(0, 3)], lambda x: x[:, 1], device=device)
    check([(2, 0, 3)], lambda x: x[1, :, None], device=device)


ADV_KEYS = {
    "index": lambda x, i: x[i],
    "index_dim1": lambda x, i: x[:, i],
    "index_last": lambda x, i: x[..., i],
    "int_then_index": lambda x, i: x[0, :, i],
    "index_slice_index": lambda x, i: x[i[:2], :, i[1:]],
    "two_adjacent": lambda x, i: x[:, i[:2], i[1:]],
    "broadcast": lambda x, i: x[i[:2].reshape(2, 1), i[1:].reshape(1, 2)],
    "none_between": lambda x, i: x[i[:2], None, i[1:]],
    "sliced_source": lambda x, i: x[1:, i, ::2],
    "noncontig": lambda x, i: x.transpose(0, 2)[i, 1:],
    "list": lambda x, i: x[[0, 1, 1]],
    "nested_list": lambda x, i: x[:, [[0, 2], [1, 1]]],
    "list_neg": lambda x, i: x[[-1, 0, -2]],
    "empty_list": lambda x, i: x[[]],
    "numpy_index": lambda x, i: x[:, np.array([2, 0, 2])],
    "bool_scalar": lambda x, i: x[True, i],
    "bool_false": lambda x, i: x[False],
    "bool_then_int": lambda x, i: x[0, True],
    "tuple_from_list": lambda x, i: x[[[0, 1], [1, 2]]],
}


@pytest.mark.parametrize("name", ADV_KEYS)
def test_getitem_advanced_parity(name, device):
    # repeated and negative indices: the grad accumulates at repeats
    check([(2, 3, 4), I([1, -1, 1])], ADV_KEYS[name], device=device)


MASK_KEYS = {
    "mask_full": lambda x, m: x[m],
    "mask_leading": lambda x, m: x[m[:, :, 0]],
    "mask_dim1": lambda x, m: x[:, m[0, :, 1]],
    "mask_and_index": lambda x, m: x[m[:, :, 0], I([0, 3, 1, 2])[: int(m[:, :, 0].sum())]],
    "mask_numpy": lambda x, m: x[np.array([True, False])],
    "mask_list": lambda x, m: x[[False, True]],
    "mask_empty": lambda x, m: x[m.new_zeros(2, 3)],
    "mask_tensor_0d": lambda x, m: x[m[0, 0, 0]],
}


@pytest.mark.parametrize("name", MASK_KEYS)
def test_getitem_mask_parity(name, device):
    mask = np.array([[[True, False, True, False], [False, False, True, True], [True, True, True, False]],
                     [[False, False, False, True], [True, False, False, False], [True, True, False, False]]])
    check([(2, 3, 4), mask], MASK_KEYS[name], device=device)


def test_getitem_zero_dim_and_empty_advanced(device):
    check([(), np.array(True)], lambda x, m: x[m], device=device)
    check([(), np.array(False)], lambda x, m: x[m], device=device)
    check([()], lambda x: x[True], device=device)
    check([(0, 3), np.zeros(0, dtype=np.int64)], lambda x, i: x[i], device=device)
    check([(3, 0), I([2, 0])], lambda x, i: x[i], device=device)


def test_getitem_int32_and_0d_index(device):
    check([(4, 3), np.array([3, 0], dtype=np.int32)], lambda x, i: x[i], device=device)
    check([(4, 3), np.array(2)], lambda x, i: x[i, i], device=device)


def test_getitem_tensor_slice_bounds(device):
    check([(5, 3), I(1), I(4)], lambda x, a, b: x[a:b], device=device)


def test_getitem_views_share_memory(device):
    x = disttorch.arange(12.0, device=device).reshape(3, 4)
    y = x[1]
    assert y._base is x._base or y._base is x
    y.add_(100)
    assert x[1, 0].item() == 104.0
    assert x._version == y._version
    z = x[0, 0]
    assert z.dim() == 0
    x.mul_(2)
    assert z.item() == 0.0 and y[0].item() == 208.0 and z._version == x._version
    adv = x[[0]]
    adv.add_(1)
    assert x[0, 1].item() == 2.0  # a copy
    assert x[True]._version == 0


def test_getitem_grad_fn_names():
    x = disttorch.ones(3, 4, requires_grad=True) * 1
    assert x[0].grad_fn.name() == "SliceBackward0"
    assert x[[0]].grad_fn.name() == "IndexBackward0"


@pytest.mark.parametrize("fn", [
    lambda x: x[1, ::2],
    lambda x: x[None, ..., 1:],
    lambda x: x[[0, 0, 2, -1]],
    lambda x: x[:, [1, 1, 0]],
    lambda x: x[[0, 2], [1, 1]],
    lambda x: x[[[0, 0], [1, 1]], [[2, 2], [2, 0]]],
    lambda x: x[True, 1],
])
def test_getitem_gradcheck(fn, device):
    gradcheck([(3, 4)], fn, device=device, second_order=True)


def test_getitem_mask_gradcheck(device):
    gradcheck([(3, 4), MASK34], lambda x, m: x[m], device=device, second_order=True)
    gradcheck([(3, 4), MASK34[:, 0]], lambda x, m: x[m, 1:], device=device, second_order=True)


def test_getitem_errors():
    check_error(lambda t: t.ones(2, 3)[5], IndexError, match="index 5 is out of bounds for dimension 0 with size 2")
    check_error(lambda t: t.ones(2, 3)[0, 5], IndexError, match="dimension 1 with size 3")
    check_error(lambda t: t.ones(2, 3)[None, 5], IndexError, match="dimension 1 with size 2")
    check_error(lambda t: t.ones(2, 3)[..., -4], IndexError, match="index -4 is out of bounds")
    check_error(lambda t: t.ones(2, 3)[[0, 5]], IndexError, match="index 5 is out of bounds for dimension 0 with size 2")
    check_error(lambda t: t.ones(2, 3)[[1, 0], [0, 3]], IndexError, match="dimension 1 with size 3")
    check_error(lambda t: t.ones(2, 3)[:, t.tensor([-4])], IndexError, match="index -4")
    check_error(lambda t: t.ones(2, 3)[0, 0, 0], IndexError, match="too many indices for tensor of dimension 2")
    check_error(lambda t: t.tensor(1.0)[0], IndexError, match="invalid index of a 0-dim tensor")
    check_error(lambda t: t.tensor(1.0)[[0]], IndexError, match="too many indices")
    check_error(lambda t: t.ones(2, 3)[::-1], ValueError, match="step must be greater than zero")
    check_error(lambda t: t.ones(2, 3)[::0], ValueError)
    check_error(lambda t: t.ones(2, 3)[1.5], IndexError, match="only integers")
    check_error(lambda t: t.ones(2, 3)[t.tensor([0.0])], IndexError, match="long, int, byte or bool")
    check_error(lambda t: t.ones(2, 3)[t.tensor([0], dtype=t.int16)], IndexError)
    check_error(lambda t: t.ones(2, 3)[t.tensor([True, False, True])], IndexError,
                match=r"The shape of the mask \[3\] at index 0 does not match")
    check_error(lambda t: t.ones(2, 3)[[0, 1], [0, 1, 2]], IndexError, match="shape mismatch")
    check_error(lambda t: t.ones(2, 3)["a"], TypeError)


def test_getitem_errors_on_device(device):
    x = disttorch.ones(2, 3, device=device)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 2"):
        x[disttorch.tensor([0, 5], device=device)]
    with pytest.raises(IndexError, match="index -3 is out of bounds for dimension 0"):
        x[[-3]]
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[0, [3]]


def test_getitem_uint8_mask_warns():
    x = disttorch.arange(3.0)
    with pytest.warns(UserWarning):
        r = x[disttorch.tensor([1, 0, 1], dtype=disttorch.uint8)]
    assert r.tolist() == [0.0, 2.0]


# -- __setitem__ ------------------------------------------------------------------------


def _setter(key):
    def f(x, v):
        y = x * 1
        y[key] = v
        return y
    return f


SET_CASES = {
    "int_row": ((0,), (4,)),
    "int_broadcast": ((1,), (1,)),
    "slice": ((slice(None), slice(1, 3)), (3, 2)),
    "slice_step_leading_ones": ((slice(None, None, 2),), (1, 1, 4)),
    "ellipsis": ((Ellipsis, 0), (3,)),
    "scalar_elem": ((1, 2), ()),
    "index": (([0, 2],), (2, 4)),
    "index_broadcast": (([2, 0],), (4,)),
    "int_then_index": ((1, [0, 3]), (2,)),
    "two_indices": (([0, 2], [1, 3]), (2,)),
    "index_slice_index": (([0, 2], slice(None)), (2, 4)),
    "neg_index": (([-1],), (1, 4)),
}


@pytest.mark.parametrize("name", SET_CASES)
def test_setitem_parity(name, device):
    key, vshape = SET_CASES[name]
    key = key if len(key) > 1 else key[0]
    check([(3, 4), vshape], _setter(key), device=device)


def test_setitem_mask_parity(device):
    m = np.array([[True, False, True, False], [False, False, False, True], [True, True, False, False]])
    check([(3, 4), (5,), m], lambda x, v, m: _setter(m)(x, v), device=device)
    check([(3, 4), (1,), m], lambda x, v, m: _setter(m)(x, v), device=device)
    check([(3, 4), (), m[:, 0]], lambda x, v, m: _setter(m)(x, v), device=device)


def test_setitem_scalar_values(device):
    for key in (0, (slice(None), 1), [0, 2], (Ellipsis, [1, 1])):
        check([(3, 4)], lambda x, key=key: _setter(key)(x, 2.5), device=device)
    check([(3, 4), MASK34], lambda x, m: _setter(m)(x, -1.0), device=device)


def test_setitem_dtype_cast_and_no_grad(device):
    check([(3, 4), (4,)], _setter(1), device=device, forward_only=True)
    check([np.arange(12).reshape(3, 4)], lambda x: _setter((0, [1, 2]))(x, 2.7), device=device)
    check([np.arange(12).reshape(3, 4), (4,)], lambda x, v: _setter(2)(x, v), device=device)
    check([np.arange(6), np.arange(2)], lambda x, v: _setter([0, 0])(x, v * 0 + 5), device=device)
    check([(3, 4), np.array([True, False, True, True])], lambda x, v: _setter(0)(x, v), device=device,
          forward_only=True)


def test_setitem_zero_dim_and_empty(device):
    check([(), ()], _setter(Ellipsis), device=device)
    check([(), ()], _setter(()), device=device)
    check([(0, 3), (3,)], _setter(slice(None)), device=device)
    check([(3, 4), (0, 4)], _setter(slice(0, 0)), device=device)


def test_setitem_version_and_views(device):
    x = disttorch.zeros(3, 4, device=device)
    v0 = x._version
    x[0] = 1.0
    x[[1, 2], [0, 0]] = disttorch.tensor([5.0, 6.0], device=device)
    x[disttorch.tensor([[False] * 4, [False] * 4, [True] * 4], device=device)] = 9.0
    assert x._version == v0 + 3
    assert x[:, 0].tolist() == [1.0, 5.0, 9.0]
    row = x[1]
    row[1:] = 7.0  # writes through the view
    assert x[1].tolist() == [5.0, 7.0, 7.0, 7.0]
    assert x._version == v0 + 4
    # numpy index arrays and CPU 0-d values on any device
    x[np.array([0])] = disttorch.tensor(3.0)
    assert x[0].tolist() == [3.0] * 4


def test_setitem_grad_flows_through_rebase():
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (torch, disttorch):
        a = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        w = lib.tensor([10.0, 20.0], requires_grad=True)
        b = a * 2
        b[:, 1] = w * w
        b[0, [0, 0]] = w[0]
        (b * b).sum().backward()
        grads.append((a.grad.tolist(), w.grad.tolist()))
    assert grads[0] == grads[1]


def test_setitem_gradcheck(device):
    gradcheck([(3, 4), (2, 4)], _setter([0, 2]), device=device, second_order=True)
    gradcheck([(3, 4), (3,)], _setter((slice(None), 1)), device=device, second_order=True)
    gradcheck([(3, 4), ()], _setter((Ellipsis, [1, 3])), device=device, second_order=True)


def test_setitem_errors():
    check_error(lambda t: t.ones(3, 4).__setitem__(0, t.ones(3)), RuntimeError)
    check_error(lambda t: t.ones(3, 4).__setitem__([0, 1], t.ones(5)), RuntimeError,
                match=r"shape mismatch: value tensor of shape \[5\] cannot be broadcast to indexing result of shape \[2, 4\]")
    check_error(lambda t: t.ones(3, 4).__setitem__(5, 1.0), IndexError, match="index 5 is out of bounds")
    check_error(lambda t: t.ones(3, 4).__setitem__([5], 1.0), IndexError, match="index 5 is out of bounds")
    check_error(lambda t: t.ones(3, 4).__setitem__(slice(None), [1, 2]), TypeError)
    check_error(lambda t: t.ones(3, requires_grad=True).__setitem__(0, 2.0), RuntimeError)
    check_error(lambda t: t.arange(3).__setitem__(0, float("nan")), RuntimeError)

    def needs_grad_mismatch(t):
        y = t.ones(3, 4, requires_grad=True) * 1
        y[0] = t.ones(3, requires_grad=True)

    check_error(needs_grad_mismatch, RuntimeError)


def test_setitem_leaf_under_no_grad():
    x = disttorch.ones(3, requires_grad=True)
    with disttorch.no_grad():
        x[1] = 5.0
    assert x.tolist() == [1.0, 5.0, 1.0] and x.requires_grad and x.grad_fn is None


# -- gather / scatter ---------------------------------------------------------------------

IDX2 = I([[0, 2, 1, 2], [1, 0, 0, 2]])


@pytest.mark.parametrize("case", [
    ((3, 4), IDX2, 0), ((3, 4), IDX2[:, :3], -1), ((3, 4), IDX2[:1, :2], 1),
    ((4, 2), I([[0, 1], [1, 1], [0, 0], [1, 0]]), 1),
    ((), I(0), 0), ((), I([0, 0]), 0), ((3, 4), np.zeros((0, 2), dtype=np.int64), 0),
], ids=str)
def test_gather_parity(case, device):
    shape, idx, dim = case
    check([shape, idx], lambda x, i: x.gather(dim, i), device=device)


def test_gather_noncontiguous_and_int32(device):
    check([(4, 3), IDX2[:, :3].T.copy()], lambda x, i: x.t().gather(0, i.t()), device=device)
    check([(3, 4), IDX2.astype(np.int32)], lambda x, i: x.gather(0, i), device=device)


def test_gather_gradcheck(device):
    gradcheck([(3, 4), IDX2], lambda x, i: x.gather(0, i), device=device, second_order=True)


@pytest.mark.parametrize("case", [
    ((3, 4), I([[0, 2, 1], [1, 0, 2]]), 0, (2, 3)), ((3, 4), I([[0, 2, 1], [1, 0, 2]]), 0, (3, 4)),
    ((3, 4), I([[0], [3]]), -1, (2, 1)), ((), I(0), 0, ()), ((3, 4), np.zeros((0, 1), np.int64), 1, (2, 2)),
], ids=str)
def test_scatter_parity(case, device):
    # positions are unique per output element so the result does not depend on write order
    shape, idx, dim, sshape = case
    # torch has no gradient for a src larger than index (it raises in backward)
    rg = None if sshape == idx.shape else [True, False, False]
    check([shape, idx, sshape], lambda x, i, s: x.scatter(dim, i, s), device=device, requires_grad=rg)
    check([shape, idx], lambda x, i: x.scatter(dim, i, -2.5), device=device)
    check([shape, idx, sshape], lambda x, i, s: x.scatter_add(dim, i, s), device=device, requires_grad=rg)
    check([shape, idx, sshape], lambda x, i, s: x.scatter_add(dim, i, s * 1).scatter_add(dim, i, s),
          device=device, requires_grad=rg)


def test_scatter_larger_src_grad_is_padded(device):
    x = disttorch.zeros(3, 4, device=device, dtype=disttorch.float64)
    s = disttorch.ones(3, 4, device=device, dtype=disttorch.float64, requires_grad=True)
    i = disttorch.tensor([[0, 2], [1, 0]], device=device)
    x.scatter_add(0, i, s).sum().backward()
    assert s.grad.tolist() == [[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0] * 4]


def test_scatter_add_repeats_and_gradcheck(device):
    idx = I([[0, 0, 0, 2], [2, 2, 1, 0]])
    check([(3, 4), idx, (2, 4)], lambda x, i, s: x.scatter_add(0, i, s), device=device)
    check([(3, 4), idx, (2, 4)], lambda x, i, s: disttorch_or_torch(x).scatter_add(x, 0, i, s), device=device)
    gradcheck([(3, 4), idx, (2, 4)], lambda x, i, s: x.scatter_add(0, i, s), device=device, second_order=True)
    gradcheck([(3, 4), I([[0, 2, 1], [1, 0, 2]]), (2, 3)], lambda x, i, s: x.scatter(0, i, s),
              device=device, second_order=True)


def disttorch_or_torch(x):
    """The library of ``x``, for calling the top-level functions."""
    if isinstance(x, disttorch.Tensor):
        return disttorch
    import torch

    return torch


def test_scatter_inplace_and_int(device):
    def f(x, i, s):
        y = x * 1
        y.scatter_(1, i, s)
        return y.scatter_add_(1, i, s)

    check([(2, 4), I([[3, 1], [0, 2]]), (2, 2)], f, device=device)
    check([np.arange(8).reshape(2, 4), I([[3, 1], [0, 2]])], lambda x, i: x.scatter(1, i, 7.5), device=device)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_parity(reduce, include_self, device):
    idx = I([[0, 0, 2, 2], [2, 0, 1, 1]])
    check([(3, 4), idx, (2, 4)],
          lambda x, i, s: x.scatter_reduce(0, i, s, reduce, include_self=include_self),
          device=device, low=0.5, high=2.0)
    check([np.arange(12).reshape(3, 4), idx, np.arange(8).reshape(2, 4) + 3],
          lambda x, i, s: x.scatter_reduce(0, i, s, reduce, include_self=include_self), device=device)


def test_scatter_errors():
    x = lambda t: t.arange(12.0).reshape(3, 4)  # noqa: E731
    check_error(lambda t: x(t).gather(1, t.tensor([0, 1])), RuntimeError, match="same number of dimensions")
    check_error(lambda t: x(t).gather(1, t.tensor([[0, 5]])), RuntimeError,
                match="index 5 is out of bounds for dimension 1 with size 4")
    check_error(lambda t: x(t).gather(1, t.tensor([[0, -1]])), RuntimeError)
    check_error(lambda t: x(t).gather(2, t.tensor([[0]])), IndexError)
    check_error(lambda t: x(t).gather(1, t.tensor([[0.0]])), RuntimeError, match="int32/int64")
    check_error(lambda t: x(t).gather(0, t.zeros(2, 6, dtype=t.long)), RuntimeError, match="no larger than self")
    check_error(lambda t: x(t).scatter(1, t.tensor([[0], [2]]), t.ones(2, 1, dtype=t.float64)),
                RuntimeError, match="dtype")
    check_error(lambda t: x(t).scatter(1, t.tensor([[0], [5]]), 1.0), RuntimeError, match="out of bounds")
    check_error(lambda t: x(t).scatter(1, t.tensor([[1, 2]]), t.ones(1, 1)), RuntimeError, match="no larger")
    check_error(lambda t: x(t).scatter(1, t.tensor([[1]]), t.tensor(1.0)), RuntimeError)
    check_error(lambda t: x(t).scatter_add(1, t.tensor([[1]]), 1.0), TypeError)
    check_error(lambda t: x(t).scatter_reduce(1, t.tensor([[1]]), t.ones(1, 1), "bad"), RuntimeError)
    check_error(lambda t: x(t).scatter(1, t.tensor([[1]]), 1.0, reduce="sum"), RuntimeError)


# -- index_select / index_add / index_copy / index_fill --------------------------------------


@pytest.mark.parametrize("case", [
    ((3, 4), 0, I([2, 0, 2])), ((3, 4), -1, I([3, 3])), ((2, 3, 4), 1, I(2)),
    ((3, 4), 0, np.zeros(0, np.int64)), ((0, 4), 1, I([1])), ((), 0, I([0])), ((), 0, I(0)),
], ids=str)
def test_index_select_parity(case, device):
    shape, dim, idx = case
    check([shape, idx], lambda x, i: x.index_select(dim, i), device=device)


def test_index_select_more(device):
    check([(4, 3), I([2, 0, 2])], lambda x, i: x.t().index_select(1, i), device=device)
    check([(3, 4), I([2, 0]).astype(np.int32)], lambda x, i: disttorch_or_torch(x).index_select(x, 0, i),
          device=device)
    gradcheck([(3, 4), I([2, 0, 2])], lambda x, i: x.index_select(0, i), device=device, second_order=True)


@pytest.mark.parametrize("case", [
    ((3, 4), 0, I([0, 0, 2]), (3, 4)), ((3, 4), 1, I([3, 1]), (3, 2)), ((3, 4), -1, I(1), (3, 1)),
    ((), 0, I([0]), ()), ((3, 4), 0, np.zeros(0, np.int64), (0, 4)),
], ids=str)
def test_index_add_copy_parity(case, device):
    shape, dim, idx, sshape = case
    check([shape, idx, sshape], lambda x, i, s: x.index_add(dim, i, s), device=device)
    check([shape, idx, sshape], lambda x, i, s: x.index_add(dim, i, s, alpha=-1.5), device=device)
    if len(set(np.atleast_1d(idx).tolist())) == np.atleast_1d(idx).size:
        check([shape, idx, sshape], lambda x, i, s: x.index_copy(dim, i, s), device=device)


def test_index_add_copy_gradcheck_inplace(device):
    gradcheck([(3, 4), I([0, 0, 2]), (3, 4)], lambda x, i, s: x.index_add(0, i, s, alpha=2),
              device=device, second_order=True)
    gradcheck([(3, 4), I([3, 0]), (3, 2)], lambda x, i, s: x.index_copy(1, i, s), device=device,
              second_order=True)

    def f(x, i, s):
        y = x * 1
        y.index_add_(1, i, s)
        return y.index_copy_(1, i[:1], s[:, :1])

    check([(3, 4), I([3, 0]), (3, 2)], f, device=device)


@pytest.mark.parametrize("case", [
    ((3, 4), 1, I([0, -1])), ((3, 4), 0, I(1)), ((3, 4), 0, np.zeros(0, np.int64)), ((), 0, I([0])),
    ((2, 0), 0, I([1])),
], ids=str)
def test_index_fill_parity(case, device):
    shape, dim, idx = case
    check([shape, idx], lambda x, i: x.index_fill(dim, i, -1.5), device=device)
    # torch's backward for the value fails on negative indices (index_select refuses them)
    rg = [True, False, False] if (np.asarray(idx) < 0).any() else None
    check([shape, idx, ()], lambda x, i, v: x.index_fill(dim, i, v), device=device, requires_grad=rg)


def test_index_fill_more(device):
    check([np.arange(12).reshape(3, 4), I([0, 3])], lambda x, i: x.index_fill(1, i, -1.5), device=device)
    check([(4, 3), I([0, 0])], lambda x, i: x.t().index_fill(1, i, 2.0), device=device)
    check([(3, 4), I([1, 1])], lambda x, i: (x * 1).index_fill_(0, i, 0.5), device=device)
    gradcheck([(3, 4), I([0, 0, 2]), ()], lambda x, i, v: x.index_fill(1, i, v), device=device,
              second_order=True)


def test_index_errors():
    x = lambda t: t.arange(12.0).reshape(3, 4)  # noqa: E731
    check_error(lambda t: x(t).index_select(1, t.tensor([[2]])), IndexError, match="vector")
    check_error(lambda t: x(t).index_select(1, t.tensor([5])), RuntimeError)
    check_error(lambda t: x(t).index_select(0, t.tensor([3])), IndexError)
    check_error(lambda t: x(t).index_select(0, t.tensor([-1])), IndexError)
    check_error(lambda t: x(t).index_select(1, t.tensor([1.0])), RuntimeError, match="int32 or int64")
    check_error(lambda t: x(t).index_select(2, t.tensor([1])), IndexError)
    check_error(lambda t: t.tensor(3.0).index_select(0, t.tensor([0, 0])), RuntimeError)
    check_error(lambda t: x(t).index_add(0, t.tensor([0, 0]), t.ones(2, 3)), RuntimeError,
                match="source tensor shape must match self tensor shape")
    check_error(lambda t: x(t).index_add(0, t.tensor([0, 0]), t.ones(3, 4)), RuntimeError,
                match=r"Number of indices \(2\) should be equal to source.size\(dim\)")
    check_error(lambda t: x(t).index_add(0, t.tensor([0, 5]), t.ones(2, 4)), RuntimeError,
                match="index 5 is out of bounds for dimension 0 with size 3")
    check_error(lambda t: x(t).index_add(0, t.tensor([0, -1]), t.ones(2, 4)), RuntimeError)
    check_error(lambda t: x(t).index_add(0, t.tensor([[0, 1]]), t.ones(2, 4)), IndexError)
    check_error(lambda t: x(t).index_add(0, t.tensor([0, 1]), t.ones(2, 4, dtype=t.float64)), RuntimeError)
    check_error(lambda t: x(t).index_copy(1, t.tensor([0, 3]), t.ones(3, 3)), IndexError)
    check_error(lambda t: x(t).index_copy(1, t.tensor([0, 5]), t.ones(3, 2)), IndexError,
                match="index 5 is out of bounds")
    check_error(lambda t: x(t).index_copy(1, t.tensor([0, 3], dtype=t.int32), t.ones(3, 2)), RuntimeError)
    check_error(lambda t: x(t).index_copy(1, t.tensor([0, 3]), t.ones(3, 2, dtype=t.float64)), RuntimeError)
    check_error(lambda t: x(t).index_fill(1, t.tensor([0, 5]), -1), IndexError, match="out of bounds")
    check_error(lambda t: x(t).index_fill(1, t.tensor([0, 3]), t.tensor([-1.0])), RuntimeError,
                match="0-dimensional value tensor")
    check_error(lambda t: x(t).index_fill(1, t.tensor([0, 3], dtype=t.int32), -1), IndexError)
    check_error(lambda t: x(t).index_fill(1, t.tensor([[0, 3]]), -1), RuntimeError)


# -- masked ops ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", [
    ((3, 4), MASK34), ((3, 4), MASK34[0]), ((4,), MASK34[:, :1].copy()), ((3, 4), MASK34[:1, None]),
    ((), np.array(True)), ((0, 4), MASK34[0]), ((3, 4), np.array(False)),
], ids=lambda c: str(c[0]) + str(np.shape(c[1])))
def test_masked_fill_parity(case, device):
    shape, mask = case
    check([shape, mask], lambda x, m: x.masked_fill(m, -1.5), device=device)
    check([shape, mask], lambda x, m: x.masked_fill(m, float("-inf")), device=device, forward_only=True)
    check([shape, mask, ()], lambda x, m, v: x.masked_fill(m, v), device=device)


def test_masked_fill_more(device):
    check([(4, 3), MASK34], lambda x, m: x.t().masked_fill(m, 0.0), device=device)
    check([np.arange(12).reshape(3, 4), MASK34], lambda x, m: x.masked_fill(m, -1.5), device=device)
    check([np.arange(12).reshape(3, 4) % 2 == 0, MASK34], lambda x, m: x.masked_fill(m, 5), device=device)
    check([(3, 4), MASK34], lambda x, m: x.masked_fill(m, x.new_tensor(2, dtype=x.dtype).long()),
          device=device)
    check([(3, 4), MASK34], lambda x, m: disttorch_or_torch(x).masked_fill(x, m, 1), device=device)

    def inplace(x, m, v):
        y = x * 1
        y.masked_fill_(m, 3.0)
        return y.masked_fill_(m[0], v)

    check([(3, 4), MASK34, ()], inplace, device=device)
    gradcheck([(3, 4), MASK34, ()], lambda x, m, v: x.masked_fill(m, v), device=device, second_order=True)
    gradcheck([(4,), MASK34], lambda x, m: x.masked_fill(m, 0.5), device=device, second_order=True)


def test_masked_fill_inplace_no_grad(device):
    x = disttorch.arange(12.0, device=device).reshape(3, 4)
    m = disttorch.tensor(MASK34[0], device=device)
    v = x._version
    assert x.masked_fill_(m, -1.0) is x
    assert x[:, 0].tolist() == [-1.0, -1.0, -1.0] and x._version == v + 1
    x.masked_fill_(disttorch.tensor(MASK34, device=device), disttorch.tensor(7.0))
    assert x[2].tolist() == [7.0, 7.0, 7.0, -1.0]


@pytest.mark.parametrize("case", [
    ((3, 4), MASK34, (3, 4)), ((3, 4), MASK34[0], (10,)), ((4,), MASK34, (2, 3, 2)), ((), np.array(True), (1,)),
    ((0, 4), MASK34[0], (0,)),
], ids=str)
def test_masked_scatter_select_parity(case, device):
    shape, mask, sshape = case
    check([shape, mask, sshape], lambda x, m, s: x.masked_scatter(m, s), device=device)
    check([shape, mask], lambda x, m: x.masked_select(m), device=device)
    check([shape, mask], lambda x, m: disttorch_or_torch(x).masked_select(x, m), device=device)


def test_masked_scatter_select_more(device):
    check([(4, 3), MASK34, (8,)], lambda x, m, s: x.t().masked_scatter(m, s), device=device)
    check([(4, 3), MASK34], lambda x, m: x.t().masked_select(m), device=device)
    check([(3, 4), MASK34, (7,)], lambda x, m, s: (x * 1).masked_scatter_(m, s), device=device)
    gradcheck([(3, 4), MASK34, (9,)], lambda x, m, s: x.masked_scatter(m, s), device=device, second_order=True)
    gradcheck([(4,), MASK34], lambda x, m: x.masked_select(m), device=device, second_order=True)


def test_masked_errors():
    m = lambda t: t.tensor([True, False, False, True])  # noqa: E731
    x = lambda t: t.arange(12.0).reshape(3, 4)  # noqa: E731
    check_error(lambda t: x(t).masked_fill(m(t).long(), 1), RuntimeError,
                match="only supports boolean masks, but got mask with dtype long int")
    check_error(lambda t: x(t).masked_fill(m(t), t.tensor([1.0])), RuntimeError, match="0-dimensional")
    check_error(lambda t: x(t).masked_fill(t.ones(2, dtype=t.bool), 1), RuntimeError,
                match=r"The size of tensor a \(4\) must match the size of tensor b \(2\)")
    check_error(lambda t: x(t)[0].masked_fill_(t.ones(3, 4, dtype=t.bool), 1.0), RuntimeError,
                match="doesn't match the broadcast shape")
    check_error(lambda t: x(t).masked_scatter(m(t), t.ones(3)), RuntimeError, match="Number of elements of source")
    check_error(lambda t: x(t).masked_scatter(m(t).long(), t.ones(20)), RuntimeError)
    check_error(lambda t: x(t).masked_scatter(m(t), t.ones(20, dtype=t.float64)), RuntimeError)
    check_error(lambda t: x(t).masked_select(m(t).long()), RuntimeError, match="expected BoolTensor")
    check_error(lambda t: x(t).masked_select(t.ones(2, dtype=t.bool)), RuntimeError)


# -- take / take_along_dim / put -------------------------------------------------------------


@pytest.mark.parametrize("case", [
    ((3, 4), I([[0, 11], [-1, -12]])), ((3, 4), I(3)), ((), I([0, 0, -1])), ((3, 4), np.zeros((0, 2), np.int64)),
], ids=str)
def test_take_parity(case, device):
    shape, idx = case
    check([shape, idx], lambda x, i: x.take(i), device=device)


def test_take_more(device):
    check([(4, 3), I([1, 1, 5])], lambda x, i: x.t().take(i), device=device)
    gradcheck([(3, 4), I([[0, 11], [0, -1]])], lambda x, i: x.take(i), device=device, second_order=True)


@pytest.mark.parametrize("case", [
    ((3, 4), I([[0, 3]]), 1), ((3, 4), I([[0], [3], [-1]]), 1), ((3, 4), I([[0, 3]]), None),
    ((3, 4), I([[2], [0]]).reshape(1, 2).T.copy(), -2), ((2, 3, 4), I([[[0]], [[2]]]), 1),
    ((3, 1), I([[0, 0, 0]]), 0), ((), I(0), None),
], ids=str)
def test_take_along_dim_parity(case, device):
    shape, idx, dim = case
    check([shape, idx], lambda x, i: x.take_along_dim(i, dim) if dim is not None else x.take_along_dim(i),
          device=device)


def test_take_along_dim_more(device):
    check([(4, 3), I([[0, 2, 1]])], lambda x, i: disttorch_or_torch(x).take_along_dim(x.t(), i.t(), dim=1),
          device=device)
    gradcheck([(3, 4), I([[0, 3, 3]])], lambda x, i: x.take_along_dim(i, dim=1), device=device,
              second_order=True)


@pytest.mark.parametrize("accumulate", [False, True])
def test_put_parity(accumulate, device):
    idx = I([0, -1, 5]) if not accumulate else I([0, -1, 0, 11])
    n = idx.size
    check([(3, 4), idx, (n,)], lambda x, i, s: x.put(i, s, accumulate=accumulate), device=device)
    check([(3, 4), idx.reshape(1, n), (n, 1)], lambda x, i, s: x.put(i, s, accumulate=accumulate), device=device)
    check([(), I([0]), (1,)], lambda x, i, s: x.put(i, s, accumulate=accumulate), device=device)
    check([(3, 4), idx, (n,)], lambda x, i, s: (x * 1).put_(i, s, accumulate=accumulate), device=device)
    gradcheck([(3, 4), idx, (n,)], lambda x, i, s: x.put(i, s, accumulate=accumulate), device=device,
              second_order=True)


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_parity(accumulate, device):
    check([(3, 4), I([0, 2]), I([1, 3]), (2,)],
          lambda x, i, j, v: x.index_put((i, j), v, accumulate=accumulate), device=device)
    check([(3, 4), I([0, 0, 2]), (4,)],
          lambda x, i, v: x.index_put((i,), v, accumulate=True), device=device)
    check([(3, 4), I([0, 2]), (1, 4)],
          lambda x, i, v: disttorch_or_torch(x).index_put(x, (i,), v, accumulate=accumulate), device=device)
    check([(3, 4), MASK34[:, 0], ()],
          lambda x, m, v: (x * 1).index_put_((m,), v, accumulate=accumulate), device=device)
    gradcheck([(3, 4), I([0, 0, 2]), (4,)], lambda x, i, v: x.index_put((i,), v, accumulate=True),
              device=device, second_order=True)


def test_take_put_errors():
    x = lambda t: t.arange(12.0).reshape(3, 4)  # noqa: E731
    check_error(lambda t: x(t).take(t.tensor([12])), IndexError,
                match="out of range: tried to access index 12 on a tensor of 12 elements.")
    check_error(lambda t: x(t).take(t.tensor([-13])), IndexError)
    check_error(lambda t: x(t).take(t.tensor([1], dtype=t.int32)), RuntimeError)
    check_error(lambda t: x(t).take_along_dim(t.tensor([[0]], dtype=t.int32), dim=1), RuntimeError)
    check_error(lambda t: x(t).take_along_dim(t.tensor([0, 1]), dim=1), RuntimeError,
                match="same number of dimensions")
    check_error(lambda t: x(t).take_along_dim(t.tensor([[0, 1]] * 2), dim=1), RuntimeError,
                match="must match the size")
    check_error(lambda t: x(t).take_along_dim(t.tensor([[0]]), dim=2), IndexError)
    check_error(lambda t: x(t).take_along_dim(t.tensor([15])), RuntimeError, match="out of bounds")
    check_error(lambda t: x(t).put(t.tensor([0, 12]), t.tensor([-1.0, -2])), IndexError, match="out of range")
    check_error(lambda t: x(t).put(t.tensor([0, 1]), t.tensor([-1.0, -2, 3])), IndexError)
    check_error(lambda t: x(t).put(t.tensor([0, 1], dtype=t.int32), t.tensor([-1.0, -2])), RuntimeError)
    check_error(lambda t: x(t).put(t.tensor([0, 1]), t.tensor([-1.0, -2]).double()), RuntimeError)
    check_error(lambda t: x(t).index_put((t.tensor([0, 1]),), 1.0), TypeError)
    check_error(lambda t: x(t).index_put((t.tensor([0, 1]),), t.tensor(1.0).double()), RuntimeError)
    check_error(lambda t: x(t).index_put((t.tensor([0, 5]),), t.tensor(1.0)), IndexError)
    check_error(lambda t: x(t).index_put((t.tensor([0, 1]),), t.ones(5)), RuntimeError, match="shape mismatch")


# -- nonzero / argwhere -----------------------------------------------------------------------


@pytest.mark.parametrize("vals", [
    np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]]), np.array(3.0), np.array(0.0), np.zeros((0, 3)),
    np.array([True, False, True]), np.arange(24).reshape(2, 3, 4) % 5,
], ids=lambda v: str(v.shape) + str(v.dtype))
def test_nonzero_argwhere_parity(vals, device):
    check([vals], lambda x: x.nonzero(), device=device, forward_only=True)
    check([vals], lambda x: disttorch_or_torch(x).nonzero(x, as_tuple=True), device=device, forward_only=True)
    check([vals], lambda x: disttorch_or_torch(x).argwhere(x), device=device, forward_only=True)
    if vals.ndim:
        check([vals], lambda x: x[x.nonzero(as_tuple=True)], device=device, forward_only=True)


def test_nonzero_transposed(device):
    vals = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    check([vals], lambda x: x.t().nonzero(), device=device, forward_only=True)
    r = disttorch.tensor(vals, device=device).nonzero()
    assert r.dtype == disttorch.int64 and r.device == disttorch.tensor(0, device=device).device


# -- random keys against torch ----------------------------------------------------------------


def _random_key(rng, shape):
    items = []
    for j in range(int(rng.integers(1, 5))):
        n = shape[min(j, len(shape) - 1)]
        r = rng.random()
        if r < 0.2:
            items.append(int(rng.integers(-n, n)))
        elif r < 0.4:
            start = None if rng.random() < 0.5 else int(rng.integers(-n, n))
            items.append(slice(start, None, [None, 1, 2][int(rng.integers(3))]))
        elif r < 0.5:
            items.append(None)
        elif r < 0.55:
            items.append(Ellipsis)
        elif r < 0.6:
            items.append(True)
        elif r < 0.85:
            # distinct positions so setitem does not depend on write order
            k = int(rng.integers(1, min(n, 3) + 1))
            items.append(("idx", (rng.permutation(n)[:k] - n * rng.integers(0, 2, size=k)).tolist()))
        else:
            items.append(("mask", (rng.random(n) < 0.5).tolist()))
    return items


def _build_key(items, lib, device=None):
    out = []
    for it in items:
        if isinstance(it, tuple):
            kind, v = it
            dt = lib.int64 if kind == "idx" else lib.bool
            out.append(lib.tensor(v, dtype=dt, device=device) if device else lib.tensor(v, dtype=dt))
        else:
            out.append(it)
    return tuple(out)


def test_random_keys_match_torch(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    shape = (3, 4, 5)
    base = rng.standard_normal(shape)
    compared = 0
    for _ in range(300):
        items = _random_key(rng, shape)
        tx = torch.tensor(base, requires_grad=True)
        try:
            tr = tx[_build_key(items, torch)]
        except IndexError:
            continue
        if tr.numel() == 0:
            continue
        dx = disttorch.tensor(base, device=device, requires_grad=True)
        dr = dx[_build_key(items, disttorch, device)]
        assert tuple(dr.shape) == tuple(tr.shape), items
        np.testing.assert_array_equal(dr.detach().cpu().numpy(), tr.detach().numpy())
        up = rng.standard_normal(tuple(tr.shape))
        tr.backward(torch.tensor(up))
        dr.backward(disttorch.tensor(up, device=device))
        np.testing.assert_allclose(dx.grad.cpu().numpy(), tx.grad.numpy(), err_msg=str(items))
        tz = torch.tensor(base)
        tz[_build_key(items, torch)] = torch.tensor(-up)
        dz = disttorch.tensor(base, device=device)
        dz[_build_key(items, disttorch, device)] = disttorch.tensor(-up, device=device)
        np.testing.assert_array_equal(dz.cpu().numpy(), tz.numpy())
        compared += 1
    assert compared > 150


def test_more_key_types(device):
    check([(3, 4)], lambda x: x[range(2)], device=device)
    check([(3, 4)], lambda x: x[x[:2, :1].shape], device=device)  # a Size is a tuple of ints
    check([(3, 4)], lambda x: x[np.int64(2), np.array(1)], device=device)
    check_error(lambda t: t.zeros(3, dtype=t.uint8).__setitem__(0, 300), RuntimeError)
    check_error(lambda t: t.tensor(5.0).take_along_dim(t.tensor(0), dim=0), IndexError)
