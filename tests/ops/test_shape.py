"""Shape ops (view/reshape/expand/permute/squeeze...): parity, grads, errors and view semantics."""
from __future__ import annotations

import numpy as np
import pytest
from parity import check, check_error, gradcheck

import disttorch


def L(t):
    import torch

    return disttorch if isinstance(t, disttorch.Tensor) else torch


PARITY = [
    ("view", [(2, 6)], lambda x: x.view(3, 4)),
    ("view_infer", [(2, 6)], lambda x: x.view(-1, 3)),
    ("view_tuple", [(2, 6)], lambda x: x.view((4, -1))),
    ("view_size", [(2, 6)], lambda x: x.view(L(x).Size([12]))),
    ("view_0d", [()], lambda x: x.view(1, 1)),
    ("view_to_0d", [(1,)], lambda x: x.view(())),
    ("view_empty", [(0, 3)], lambda x: x.view(3, 0)),
    ("view_noncontig_compatible", [(2, 3)], lambda x: x.t().view(3, 2, 1)),
    ("view_as", [(2, 6)], lambda x: x.view_as(L(x).ones(4, 3))),
    ("reshape", [(2, 6)], lambda x: x.reshape(3, 4)),
    ("reshape_fn", [(2, 3, 4)], lambda x: L(x).reshape(x, (4, -1))),
    ("reshape_noncontig", [(2, 3)], lambda x: x.t().reshape(6)),
    ("reshape_0d", [()], lambda x: x.reshape(-1)),
    ("reshape_empty", [(0, 4)], lambda x: x.reshape(2, 0, 8)),
    ("reshape_as", [(2, 3)], lambda x: x.t().reshape_as(L(x).ones(6))),
    ("flatten", [(2, 3, 4)], lambda x: x.flatten()),
    ("flatten_range", [(2, 3, 4, 5)], lambda x: L(x).flatten(x, 1, -2)),
    ("flatten_neg", [(2, 3, 4)], lambda x: x.flatten(-2)),
    ("flatten_0d", [()], lambda x: x.flatten()),
    ("flatten_noncontig", [(2, 3)], lambda x: x.t().flatten()),
    ("flatten_same", [(2, 3)], lambda x: x.flatten(1, 1)),
    ("unflatten", [(2, 6)], lambda x: x.unflatten(1, (2, 3))),
    ("unflatten_infer", [(2, 6)], lambda x: L(x).unflatten(x, -1, (-1, 2))),
    ("unflatten_noncontig", [(6, 2)], lambda x: x.t().unflatten(1, (3, 2))),
    ("expand", [(3, 1)], lambda x: x.expand(2, 3, 4)),
    ("expand_keep", [(3, 1)], lambda x: x.expand(-1, 5)),
    ("expand_list", [(3,)], lambda x: x.expand([2, 3])),
    ("expand_0d", [()], lambda x: x.expand(2, 3)),
    ("expand_to_empty", [(1, 3)], lambda x: x.expand(0, 3)),
    ("expand_noncontig", [(1, 3)], lambda x: x.t().expand(3, 4)),
    ("expand_as", [(3, 1)], lambda x: x.expand_as(L(x).ones(2, 3, 4))),
    ("broadcast_to", [(3,)], lambda x: L(x).broadcast_to(x, (2, 3))),
    ("permute", [(2, 3, 4)], lambda x: x.permute(2, 0, 1)),
    ("permute_tuple", [(2, 3, 4)], lambda x: L(x).permute(x, (1, -1, 0))),
    ("permute_0d", [()], lambda x: x.permute(())),
    ("permute_empty", [(2, 0, 3)], lambda x: x.permute(1, 2, 0)),
    ("transpose", [(2, 3, 4)], lambda x: x.transpose(0, 2)),
    ("transpose_neg", [(2, 3, 4)], lambda x: L(x).transpose(x, -1, 1)),
    ("transpose_0d", [()], lambda x: x.transpose(0, -1)),
    ("swapaxes", [(2, 3, 4)], lambda x: x.swapaxes(0, 1)),
    ("swapdims", [(2, 3, 4)], lambda x: x.swapdims(2, 1)),
    ("t", [(2, 3)], lambda x: x.t()),
    ("t_fn_1d", [(3,)], lambda x: L(x).t(x)),
    ("t_0d", [()], lambda x: x.t()),
    ("T_1d", [(3,)], lambda x: x.T),
    ("T_2d", [(2, 3)], lambda x: x.T),
    ("mT", [(2, 3, 4)], lambda x: x.mT),
    ("mT_2d", [(3, 4)], lambda x: x.mT),
    ("mH", [(2, 3, 4)], lambda x: x.mH),
    ("H", [(3, 4)], lambda x: x.H),
    ("adjoint", [(2, 3, 4)], lambda x: x.adjoint()),
    ("squeeze", [(1, 3, 1)], lambda x: x.squeeze()),
    ("squeeze_dim", [(1, 3, 1)], lambda x: x.squeeze(-1)),
    ("squeeze_dims", [(1, 3, 1)], lambda x: L(x).squeeze(x, (0, 2))),
    ("squeeze_not_one", [(2, 3)], lambda x: x.squeeze(0)),
    ("squeeze_0d", [()], lambda x: x.squeeze()),
    ("squeeze_empty", [(0, 1)], lambda x: x.squeeze()),
    ("squeeze_noncontig", [(1, 3, 2)], lambda x: x.transpose(0, 2).squeeze(2)),
    ("unsqueeze", [(2, 3)], lambda x: x.unsqueeze(1)),
    ("unsqueeze_neg", [(2, 3)], lambda x: L(x).unsqueeze(x, -1)),
    ("unsqueeze_0d", [()], lambda x: x.unsqueeze(0)),
    ("unsqueeze_noncontig", [(2, 3)], lambda x: x.t().unsqueeze(0)),
    ("movedim", [(2, 3, 4)], lambda x: x.movedim(0, -1)),
    ("movedim_many", [(2, 3, 4, 5)], lambda x: L(x).movedim(x, (0, 1), (3, 0))),
    ("moveaxis", [(2, 3, 4)], lambda x: x.moveaxis(-1, 0)),
    ("movedim_0d", [()], lambda x: x.movedim(0, 0)),
    ("contiguous", [(2, 3)], lambda x: x.t().contiguous()),
    ("contiguous_already", [(2, 3)], lambda x: x.contiguous()),
    ("clone", [(2, 3)], lambda x: x.clone()),
    ("clone_fn", [(2, 3)], lambda x: L(x).clone(x.t())),
    ("clone_0d", [()], lambda x: x.clone()),
    ("clone_empty", [(0, 2)], lambda x: x.clone()),
    ("chain", [(2, 3, 4)], lambda x: x.permute(2, 0, 1).reshape(4, 6).t().unsqueeze(0).expand(2, 6, 4)),
]


@pytest.mark.parametrize("name,shapes,fn", PARITY, ids=[c[0] for c in PARITY])
def test_parity(name, shapes, fn, device):
    check(shapes, fn, device=device)


INT_PARITY = [
    ("view_int", [np.arange(6, dtype=np.int32)], lambda x: x.view(2, 3)),
    ("reshape_bool", [np.array([True, False, True, True])], lambda x: x.reshape(2, 2)),
    ("expand_uint8", [np.arange(3, dtype=np.uint8)], lambda x: x.expand(2, 3)),
    ("permute_int16", [np.arange(24, dtype=np.int16).reshape(2, 3, 4)], lambda x: x.permute(1, 2, 0)),
    ("squeeze_int8", [np.arange(3, dtype=np.int8).reshape(1, 3)], lambda x: x.squeeze()),
    ("clone_int64", [np.arange(6).reshape(2, 3)], lambda x: x.t().clone()),
    ("flatten_float16", [np.ones((2, 3), np.float16)], lambda x: x.flatten()),
    ("contiguous_float32", [np.ones((2, 3), np.float32)], lambda x: x.t().contiguous()),
]


@pytest.mark.parametrize("name,vals,fn", INT_PARITY, ids=[c[0] for c in INT_PARITY])
def test_dtype_parity(name, vals, fn, device):
    check(None, fn, vals=vals, device=device)


GRAD = [
    ("view", [(2, 6)], lambda x: x.view(3, 4)),
    ("reshape_noncontig", [(2, 3)], lambda x: x.t().reshape(6)),
    ("flatten", [(2, 3, 4)], lambda x: x.flatten(1)),
    ("unflatten", [(2, 6)], lambda x: x.unflatten(1, (3, 2))),
    ("expand", [(3, 1)], lambda x: x.expand(2, 3, 4)),
    ("expand_as", [(3,)], lambda x: x.expand_as(disttorch.ones(2, 3, dtype=disttorch.float64, device=x.device))),
    ("permute", [(2, 3, 4)], lambda x: x.permute(2, 0, 1)),
    ("transpose", [(2, 3, 4)], lambda x: x.transpose(0, -1)),
    ("t", [(2, 3)], lambda x: x.t()),
    ("T", [(2, 3)], lambda x: x.T),
    ("mT", [(2, 3, 4)], lambda x: x.mT),
    ("squeeze", [(1, 3, 1)], lambda x: x.squeeze()),
    ("unsqueeze", [(2, 3)], lambda x: x.unsqueeze(-2)),
    ("movedim", [(2, 3, 4)], lambda x: x.movedim((0, 1), (2, 0))),
    ("contiguous", [(2, 3)], lambda x: x.t().contiguous()),
    ("clone", [(2, 3)], lambda x: x.clone()),
    ("composed", [(2, 3)], lambda x: (x.t().reshape(3, 2, 1).expand(3, 2, 4) * x.t().unsqueeze(-1)).flatten()),
]


@pytest.mark.parametrize("name,shapes,fn", GRAD, ids=[c[0] for c in GRAD])
def test_gradcheck(name, shapes, fn, device):
    gradcheck(shapes, fn, device=device, second_order=True)


def _fresh(device):
    return disttorch.arange(24.0, device=device).reshape(2, 3, 4).clone()


VIEWS = {
    "view": lambda x: x.view(6, 4),
    "view_as": lambda x: x.view_as(disttorch.ones(24)),
    "reshape_contiguous": lambda x: x.reshape(4, 6),
    "flatten": lambda x: x.flatten(1),
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "expand": lambda x: x.unsqueeze(0).expand(2, 2, 3, 4),
    "permute": lambda x: x.permute(2, 0, 1),
    "transpose": lambda x: x.transpose(0, 1),
    "T": lambda x: x.T,
    "mT": lambda x: x.mT,
    "squeeze": lambda x: x.unsqueeze(0).squeeze(0),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "movedim": lambda x: x.movedim(0, 2),
    "reshape_noncontig_compatible": lambda x: x.transpose(1, 2).reshape(2, 4, 3, 1),
}


@pytest.mark.parametrize("name", VIEWS)
def test_views_share_memory_and_version(name, device):
    x = _fresh(device)
    v = VIEWS[name](x)
    assert v._base is x
    assert v._version == x._version
    before = np.asarray(v.tolist())
    x.add_(1)  # the base changes: the view sees it and shares the version counter
    assert v._version == x._version
    np.testing.assert_array_equal(np.asarray(v.tolist()), before + 1)


@pytest.mark.parametrize("name", ["view", "reshape_contiguous", "flatten", "permute", "transpose",
                                  "squeeze", "unsqueeze", "movedim", "mT"])
def test_writing_into_a_view_changes_the_base(name, device):
    x = _fresh(device)
    v = VIEWS[name](x)
    v0 = x._version
    v.mul_(-1)
    assert x._version == v0 + 1
    assert x.sum().item() == -float(sum(range(24)))


def test_view_matches_torch_semantics():
    torch = pytest.importorskip("torch")
    for lib in (torch, disttorch):
        x = lib.arange(6.0).reshape(2, 3)
        v = x.view(3, 2)
        v.mul_(2)
        assert x.tolist() == [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]
        assert v._version == x._version


def test_view_of_non_contiguous_raises(device):
    x = disttorch.arange(6.0, device=device).reshape(2, 3).t()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(6)
    check_error(lambda t: t.arange(6.0).reshape(2, 3).t().view(6), RuntimeError)
    check_error(lambda t: t.ones(4, 3).permute(1, 0).view(-1), RuntimeError)


def test_reshape_copies_only_when_needed(device):
    x = _fresh(device)
    same = x.reshape(6, 4)
    assert same._base is x  # contiguous: a view
    nc = x.transpose(0, 2)
    flat = nc.reshape(-1)
    assert flat._base is None  # not viewable: a copy
    flat.add_(1000)
    assert x.sum().item() == float(sum(range(24)))
    compat = nc.reshape(4, 3, 2, 1)  # only adds a dim: still a view of the base
    assert compat._base is x
    torch = pytest.importorskip("torch")
    tx = torch.arange(24.0).reshape(2, 3, 4)
    assert tx.transpose(0, 2).reshape(-1)._base is None
    assert tx.transpose(0, 2).reshape(4, 3, 2, 1)._base is tx._base


def test_flatten_copies_only_when_needed():
    x = _fresh("cpu")
    assert x.flatten()._base is x
    y = x.transpose(0, 1).flatten()
    assert y._base is None
    assert x.flatten(1, 1) is x  # like torch: start == end returns the input


def test_contiguous_and_clone(device):
    torch = pytest.importorskip("torch")
    x = _fresh(device)
    assert x.contiguous() is x
    nc = x.transpose(0, 2)
    assert not nc.is_contiguous()
    c = nc.contiguous()
    assert c.is_contiguous() and c._base is None
    c.add_(1)
    assert x.sum().item() == float(sum(range(24)))
    cl = nc.clone()
    assert cl._base is None and cl.tolist() == nc.tolist()
    tx = torch.arange(24.0).reshape(2, 3, 4).transpose(0, 2)
    assert cl.stride() == tx.clone().stride()  # clone keeps the layout (preserve_format)
    assert nc.contiguous().stride() == tx.contiguous().stride()


def test_clone_grad_and_independence():
    x = disttorch.ones(2, 3, requires_grad=True)
    y = x.clone()
    assert y.grad_fn is not None and y._base is None
    (y * 3).sum().backward()
    assert x.grad.tolist() == [[3.0] * 3] * 2


def test_inplace_shape_methods():
    torch = pytest.importorskip("torch")
    for name, args, shape in [("squeeze_", (), (1, 3, 1)), ("squeeze_", (0,), (1, 3)),
                              ("unsqueeze_", (1,), (2, 3)), ("t_", (), (2, 3)),
                              ("transpose_", (0, 2), (2, 3, 4))]:
        a = torch.arange(float(np.prod(shape))).reshape(shape)
        b = disttorch.arange(float(np.prod(shape))).reshape(shape)
        ra, rb = getattr(a, name)(*args), getattr(b, name)(*args)
        assert rb is b
        assert tuple(rb.shape) == tuple(ra.shape)
        assert rb.tolist() == ra.tolist()


def test_T_and_H_dims():
    torch = pytest.importorskip("torch")
    for shape in [(), (3,), (2, 3), (2, 3, 4)]:
        a = torch.ones(shape)
        b = disttorch.ones(shape)
        assert tuple(b.T.shape) == tuple(a.T.shape)
    assert disttorch.tensor(2.0).mT.item() == 2.0


def test_size_and_shape_helpers():
    x = disttorch.ones(2, 3, 4)
    assert x.view(-1, 4).shape == disttorch.Size([6, 4])
    assert isinstance(x.permute(2, 1, 0).shape, disttorch.Size)
    assert x.unsqueeze(0).squeeze(0).shape == (2, 3, 4)


ERRORS = [
    (lambda t: t.ones(6).view(4, 2), RuntimeError),
    (lambda t: t.ones(6).view(-1, -1), RuntimeError),
    (lambda t: t.ones(6).view(-2, 3), RuntimeError),
    (lambda t: t.ones(0, 3).view(-1, 0), RuntimeError),
    (lambda t: t.ones(6).view(2.0, 3), TypeError),
    (lambda t: t.ones(6).reshape(4, -1), RuntimeError),
    (lambda t: t.ones(0, 4).reshape(2, 0, -1), RuntimeError),
    (lambda t: t.ones(6).reshape(), TypeError),
    (lambda t: t.ones(6).view(), TypeError),
    (lambda t: t.ones(2, 3, 4).flatten(2, 1), RuntimeError),
    (lambda t: t.ones(2, 3).flatten(0, 2), IndexError),
    (lambda t: t.ones(2, 6).unflatten(1, (4, -1)), RuntimeError),
    (lambda t: t.ones(2, 6).unflatten(1, (4, 2)), RuntimeError),
    (lambda t: t.ones(2, 6).unflatten(1, ()), RuntimeError),
    (lambda t: t.ones(2, 6).unflatten(2, (2, 3)), IndexError),
    (lambda t: t.tensor(1.0).unflatten(0, (1,)), RuntimeError),
    (lambda t: t.ones(2, 3).expand(3), RuntimeError),
    (lambda t: t.ones(2, 3).expand(4, 3), RuntimeError),
    (lambda t: t.ones(3).expand(-1, 3), RuntimeError),
    (lambda t: t.ones(1).expand(-2), RuntimeError),
    (lambda t: t.ones(2, 3).expand_as(t.ones(3, 3)), RuntimeError),
    (lambda t: t.ones(2, 3).permute(0, 2), IndexError),
    (lambda t: t.ones(2, 3).permute(0, 0), RuntimeError),
    (lambda t: t.ones(2, 3).permute(0), RuntimeError),
    (lambda t: t.ones(2, 3).permute(), TypeError),
    (lambda t: t.ones(2, 3).transpose(0, 2), IndexError),
    (lambda t: t.ones(2, 3, 4).t(), RuntimeError),
    (lambda t: t.ones(3).mT, RuntimeError),
    (lambda t: t.ones(3).mH, RuntimeError),
    (lambda t: t.ones(3).adjoint(), RuntimeError),
    (lambda t: t.ones(2, 3, 4).H, RuntimeError),
    (lambda t: t.ones(1, 3).squeeze(2), IndexError),
    (lambda t: t.ones(1, 3).squeeze((0, 0)), RuntimeError),
    (lambda t: t.tensor(1.0).squeeze(1), IndexError),
    (lambda t: t.ones(2, 3).unsqueeze(3), IndexError),
    (lambda t: t.ones(2, 3).unsqueeze(-4), IndexError),
    (lambda t: t.ones(2, 3, 4).movedim((0, 1), (2,)), RuntimeError),
    (lambda t: t.ones(2, 3, 4).movedim((0, 0), (1, 2)), RuntimeError),
    (lambda t: t.ones(2, 3, 4).movedim((0, 1), (2, 2)), RuntimeError),
    (lambda t: t.ones(2, 3, 4).movedim(3, 0), IndexError),
]


@pytest.mark.parametrize("fn,exc", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors(fn, exc):
    check_error(fn, exc)
