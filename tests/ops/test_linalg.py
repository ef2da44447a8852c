"""Matrix products: parity with torch (values, dtypes, grads), gradchecks, errors."""
from __future__ import annotations

import numpy as np
import pytest
from parity import check, check_error, gradcheck, make_inputs

import disttorch

# ------------------------------------------------------------------------------------------
# matmul and its strict forms

MATMUL_SHAPES = [
    ((3,), (3,)),                  # dot
    ((2, 3), (3, 4)),              # mm
    ((3,), (3, 4)),                # vector @ matrix
    ((2, 3), (3,)),                # matrix @ vector
    ((5, 2, 3), (3, 4)),           # batch @ matrix (folded into one GEMM)
    ((2, 3), (5, 3, 4)),           # matrix @ batch
    ((5, 2, 3), (5, 3, 4)),        # bmm
    ((2, 1, 2, 3), (3, 3, 2)),     # broadcast batch dims
    ((1, 2, 3), (4, 3, 2)),        # size-1 batch dim
    ((3,), (2, 3, 4)),             # vector @ batch
    ((2, 4, 3), (3,)),             # batch @ vector
    ((0, 3), (3, 4)),              # empty rows
    ((2, 0), (0, 4)),              # empty contraction
    ((0,), (0,)),                  # empty dot
    ((2, 0, 3), (3, 4)),           # empty batch rows
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_parity(shapes, device):
    check(shapes, lambda a, b: a.matmul(b), device=device)
    check(shapes, lambda a, b: a @ b, device=device)


def _lib(x):
    """The library a tensor belongs to: lets one lambda call module-level functions on both."""
    return disttorch if isinstance(x, disttorch.Tensor) else pytest.importorskip("torch")


@pytest.mark.parametrize("shapes", [((3, 2), (3, 4)), ((5, 3, 2), (3, 4)), ((4, 3, 2), (4, 3, 5)),
                                    ((3, 2), (5, 3, 4))], ids=str)
def test_matmul_noncontiguous(shapes, device):
    check(shapes, lambda a, b: _lib(a).matmul(a.transpose(-1, -2), b.transpose(-1, -2).transpose(-1, -2)),
          device=device)
    check(shapes, lambda a, b: b.transpose(-1, -2) @ a, device=device)


def test_matmul_float32(device):
    check([(7, 5), (5, 3)], lambda a, b: a @ b, dtype="float32", device=device, atol=1e-5, rtol=1e-5)
    check([(4, 7, 5), (5, 3)], lambda a, b: a @ b, dtype="float32", device=device, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("shapes", [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 2, 3), (3,)), ((2, 1, 2, 3), (4, 3, 2)),
                                    ((3,), (3,)), ((2, 3), (3,)), ((3, 2, 3), (3, 2)), ((2, 3), (2, 3, 2)),
                                    ((3,), (2, 3, 2))], ids=str)
def test_matmul_gradcheck(shapes, device):
    gradcheck(list(shapes), lambda a, b: a @ b, device=device, second_order=True)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "int8", "int16"])
def test_matmul_integer(dtype, device):
    vals = [np.arange(6).reshape(2, 3).astype(dtype), (np.arange(12).reshape(3, 4) % 5).astype(dtype)]
    check(None, lambda a, b: a @ b, vals=vals, device=device, forward_only=True)
    vals = [np.arange(24).reshape(2, 3, 4).astype(dtype), np.arange(4).astype(dtype)]
    check(None, lambda a, b: a @ b, vals=vals, device=device, forward_only=True)
    vals = [np.arange(4).astype(dtype), (np.arange(4) + 1).astype(dtype)]
    check(None, lambda a, b: a.dot(b), vals=vals, device=device, forward_only=True)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_matmul_half(dt, device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, (4, 6)), rng.uniform(-1, 1, (6, 3))
    for fa, fb in ((a, b), (a[0], b), (a, b[:, 0]), (a[0], b[:, 1]), (a.reshape(2, 2, 6), b)):
        ours = disttorch.tensor(fa, device=device).to(dt) @ disttorch.tensor(fb, device=device).to(dt)
        theirs = torch.tensor(fa).to(getattr(torch, dt)) @ torch.tensor(fb).to(getattr(torch, dt))
        assert ours.dtype.name == dt
        np.testing.assert_allclose(ours.float().cpu().numpy(), theirs.float().numpy(), atol=2e-2, rtol=2e-2)


def test_mm_bmm_mv_dot_parity(device):
    check([(2, 3), (3, 4)], lambda a, b: a.mm(b), device=device)
    check([(3, 2), (4, 3)], lambda a, b: a.t().mm(b.t()), device=device)
    check([(0, 3), (3, 2)], lambda a, b: a.mm(b), device=device)
    check([(4, 2, 3), (4, 3, 5)], lambda a, b: a.bmm(b), device=device)
    check([(4, 3, 2), (4, 3, 5)], lambda a, b: a.transpose(1, 2).bmm(b), device=device)
    check([(0, 2, 3), (0, 3, 5)], lambda a, b: a.bmm(b), device=device)
    check([(2, 3), (3,)], lambda a, b: a.mv(b), device=device)
    check([(3, 2), (3,)], lambda a, b: a.t().mv(b), device=device)
    check([(0, 3), (3,)], lambda a, b: a.mv(b), device=device)
    check([(5,), (5,)], lambda a, b: a.dot(b), device=device)
    check([(5,), (5,)], lambda a, b: a.vdot(b), device=device)
    check([(0,), (0,)], lambda a, b: a.dot(b), device=device)
    check([(3, 4), (4, 2)], lambda a, b: _lib(a).mm(a, b.t().t()), device=device)
    check([(3, 4), (3,)], lambda a, b: _lib(a).mv(a.t(), b), device=device)


@pytest.mark.parametrize("name", ["mm", "bmm", "mv", "dot", "vdot"])
def test_strict_products_gradcheck(name, device):
    shapes = {"mm": [(2, 3), (3, 4)], "bmm": [(2, 2, 3), (2, 3, 4)], "mv": [(2, 3), (3,)],
              "dot": [(4,), (4,)], "vdot": [(4,), (4,)]}[name]
    gradcheck(shapes, lambda a, b: getattr(disttorch, name)(a, b), device=device, second_order=True)


def test_grad_fn_names():
    torch = pytest.importorskip("torch")
    cases = [((2, 3), (3, 4), "mm"), ((3,), (3,), "dot"), ((2, 3), (3,), "mv"), ((2, 2, 3), (2, 3, 4), "bmm")]
    for sa, sb, fn in cases:
        ours = getattr(disttorch, fn)(disttorch.ones(*sa, requires_grad=True), disttorch.ones(*sb))
        theirs = getattr(torch, fn)(torch.ones(*sa, requires_grad=True), torch.ones(*sb))
        assert ours.grad_fn.name() == theirs.grad_fn.name()


def test_matmul_methods_and_operators():
    torch = pytest.importorskip("torch")
    arrs = make_inputs([(2, 3), (3, 4)])
    ours = [disttorch.tensor(a) for a in arrs]
    theirs = [torch.tensor(a) for a in arrs]
    for fn in (lambda a, b: a @ b, lambda a, b: b.__rmatmul__(a), lambda a, b: a.matmul(b)):
        np.testing.assert_allclose(fn(*ours).numpy(), fn(*theirs).numpy(), rtol=1e-12)
    with pytest.raises(TypeError):
        ours[0] @ 2


def test_matmul_create_graph():
    torch = pytest.importorskip("torch")
    res = []
    for lib in (torch, disttorch):
        a = lib.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([[0.5, -2.0, 1.0], [1.5, 1.0, 0.0]], dtype=lib.float64, requires_grad=True)
        (ga,) = lib.autograd.grad((a @ b).pow(2).sum(), [a], create_graph=True)
        (gb,) = lib.autograd.grad((ga * ga).sum(), [b])
        res.append((ga.tolist(), gb.tolist()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)


def test_matmul_backward_shapes_reduce_broadcast_batch():
    a = disttorch.randn(3, 1, 2, 4, requires_grad=True)
    b = disttorch.randn(5, 4, 6, requires_grad=True)
    (a @ b).sum().backward()
    assert a.grad.shape == (3, 1, 2, 4) and b.grad.shape == (5, 4, 6)


# ------------------------------------------------------------------------------------------
# the add* family

ADD_CASES = {
    "addmm": ([(2, 3), (2, 4), (4, 3)], lambda i, a, b: i.addmm(a, b)),
    "addmm_bcast": ([(3,), (2, 4), (4, 3)], lambda i, a, b: i.addmm(a, b, beta=0.5, alpha=2.0)),
    "addmm_col": ([(2, 1), (2, 4), (4, 3)], lambda i, a, b: i.addmm(a, b, alpha=-1.5)),
    "addmm_0d": ([(), (2, 4), (4, 3)], lambda i, a, b: i.addmm(a, b, beta=2)),
    "addmm_beta0": ([(2, 3), (2, 4), (4, 3)], lambda i, a, b: i.addmm(a, b, beta=0)),
    "addmm_t": ([(2, 3), (4, 2), (3, 4)], lambda i, a, b: i.addmm(a.t(), b.t())),
    "addmm_empty": ([(0, 3), (0, 4), (4, 3)], lambda i, a, b: i.addmm(a, b)),
    "addmv": ([(2,), (2, 4), (4,)], lambda i, a, v: i.addmv(a, v, beta=0.5, alpha=3)),
    "addmv_0d": ([(), (2, 4), (4,)], lambda i, a, v: i.addmv(a, v)),
    "addmv_1": ([(1,), (4, 2), (4,)], lambda i, a, v: i.addmv(a.t(), v)),
    "baddbmm": ([(2, 2, 3), (2, 2, 4), (2, 4, 3)], lambda i, a, b: i.baddbmm(a, b, beta=-1, alpha=0.5)),
    "baddbmm_bcast": ([(3,), (2, 2, 4), (2, 4, 3)], lambda i, a, b: i.baddbmm(a, b)),
    "baddbmm_t": ([(1, 2, 1), (2, 4, 2), (2, 4, 3)], lambda i, a, b: i.baddbmm(a.transpose(1, 2), b)),
    "addbmm": ([(2, 3), (5, 2, 4), (5, 4, 3)], lambda i, a, b: i.addbmm(a, b, beta=2, alpha=0.5)),
    "addbmm_bcast": ([(3,), (5, 2, 4), (5, 4, 3)], lambda i, a, b: i.addbmm(a, b)),
    "addbmm_empty": ([(2, 3), (0, 2, 4), (0, 4, 3)], lambda i, a, b: i.addbmm(a, b)),
    "addr": ([(2, 3), (2,), (3,)], lambda i, a, b: i.addr(a, b, beta=0.5, alpha=2)),
    "addr_bcast": ([(3,), (2,), (3,)], lambda i, a, b: i.addr(a, b)),
}


@pytest.mark.parametrize("name", ADD_CASES)
def test_add_family_parity(name, device):
    shapes, fn = ADD_CASES[name]
    check(shapes, fn, device=device)


@pytest.mark.parametrize("name", ["addmm", "addmm_bcast", "addmv", "baddbmm", "addbmm", "addr_bcast"])
def test_add_family_gradcheck(name, device):
    shapes, fn = ADD_CASES[name]
    gradcheck(shapes, fn, device=device, second_order=True)


def test_add_family_functions(device):
    for name, shapes in (("addmm", [(2, 3), (2, 4), (4, 3)]), ("addmv", [(2,), (2, 4), (4,)]),
                         ("baddbmm", [(2, 2, 3), (2, 2, 4), (2, 4, 3)]), ("addbmm", [(2, 3), (5, 2, 4), (5, 4, 3)]),
                         ("addr", [(2, 3), (2,), (3,)])):
        check(shapes, lambda i, a, b, n=name: getattr(_lib(i), n)(i, a, b, alpha=2, beta=-0.5), device=device)


def test_add_family_beta0_ignores_nan():
    torch = pytest.importorskip("torch")
    for lib in (torch, disttorch):
        x = lib.full((2, 3), float("nan"), requires_grad=True)
        r = lib.addmm(x, lib.ones(2, 4), lib.ones(4, 3), beta=0)
        r.sum().backward()
        assert r.tolist() == [[4.0] * 3] * 2
        assert x.grad.tolist() == [[0.0] * 3] * 2


def test_add_family_integer():
    torch = pytest.importorskip("torch")
    for fn in (lambda t: t.addmm(t.ones(2, 3, dtype=t.int64), t.ones(2, 4, dtype=t.int64),
                                 t.ones(4, 3, dtype=t.int64), beta=0.5, alpha=1.5),
               lambda t: t.addmm(t.ones(2, 3, dtype=t.int32), t.ones(2, 4, dtype=t.int32),
                                 t.ones(4, 3, dtype=t.int32), beta=2, alpha=3),
               lambda t: t.addmv(t.ones(2, dtype=t.int64), t.ones(2, 4, dtype=t.int64), t.ones(4, dtype=t.int64),
                                 alpha=2),
               lambda t: t.addr(t.ones(2, 3, dtype=t.bool), t.tensor([True, False]), t.tensor([True, False, True])),
               lambda t: t.addr(t.ones(2, 3, dtype=t.float64), t.ones(2), t.ones(3, dtype=t.int64)),
               lambda t: t.addmm(t.ones(2, 3), t.ones(2, 4), t.ones(4, 3), alpha=True)):
        ours, theirs = fn(disttorch), fn(torch)
        assert ours.dtype.name == str(theirs.dtype).split(".")[1]
        assert ours.tolist() == theirs.tolist()


def test_add_family_inplace(device):
    torch = pytest.importorskip("torch")
    for name, shapes in (("addmm_", [(2, 3), (2, 4), (4, 3)]), ("addmv_", [(2,), (2, 4), (4,)]),
                         ("baddbmm_", [(2, 2, 3), (2, 2, 4), (2, 4, 3)]), ("addbmm_", [(2, 3), (5, 2, 4), (5, 4, 3)]),
                         ("addr_", [(2, 3), (2,), (3,)])):
        arrs = make_inputs(shapes)
        ours = [disttorch.tensor(x, device=device) for x in arrs]
        theirs = [torch.tensor(x) for x in arrs]
        r = getattr(ours[0], name)(*ours[1:], beta=0.5, alpha=2)
        getattr(theirs[0], name)(*theirs[1:], beta=0.5, alpha=2)
        assert r is ours[0]
        np.testing.assert_allclose(ours[0].cpu().numpy(), theirs[0].numpy(), rtol=1e-12)


def test_addmm_inplace_grad():
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (torch, disttorch):
        w = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        m = lib.tensor([[1.0, -1.0], [0.5, 2.0]], requires_grad=True)
        y = w * 2
        y.addmm_(m, w, alpha=0.5)
        (y * lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        grads.append((w.grad.tolist(), m.grad.tolist()))
    assert grads[0] == grads[1]


# ------------------------------------------------------------------------------------------
# outer, inner, tensordot, kron, cross


def test_outer_inner_parity(device):
    check([(3,), (4,)], lambda a, b: a.outer(b), device=device)
    check([(3,), (4,)], lambda a, b: a.ger(b), device=device)
    check([(0,), (4,)], lambda a, b: a.outer(b), device=device)
    check([(3, 4), (2, 4)], lambda a, b: a.inner(b), device=device)
    check([(2, 3, 4), (5, 4)], lambda a, b: a.inner(b), device=device)
    check([(4,), (4,)], lambda a, b: a.inner(b), device=device)
    check([(), (2, 3)], lambda a, b: a.inner(b), device=device)
    check([(4, 3), (2, 4)], lambda a, b: a.t().inner(b), device=device)
    check([(2, 0), (3, 0)], lambda a, b: a.inner(b), device=device)


def test_outer_promotes():
    torch = pytest.importorskip("torch")
    for fn in (lambda t: t.outer(t.tensor([1, 2, 3]), t.tensor([0.5, 2.0])),
               lambda t: t.outer(t.tensor([True, False]), t.tensor([True, True])),
               lambda t: t.kron(t.tensor([[1, 2]]), t.tensor([0.5, 1.5])),
               lambda t: t.inner(t.tensor([[1, 2]]), t.tensor([3, 4]))):
        ours, theirs = fn(disttorch), fn(torch)
        assert ours.dtype.name == str(theirs.dtype).split(".")[1]
        assert ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("case", [
    ([(2, 3, 4), (3, 4, 5)], 2),
    ([(2, 3, 4), (4, 5)], 1),
    ([(2, 3), (4, 5)], 0),
    ([(), (3,)], 0),
    ([(3,), (3,)], 1),
    ([(2, 3, 4), (3, 4, 5)], ([1, 2], [0, 1])),
    ([(2, 3, 4), (4, 3, 5)], ([-1, -2], [0, 1])),
    ([(2, 3, 4), (3, 4, 5)], [[1], [0]]),
    ([(2, 1, 4), (3, 4, 5)], 2),          # a size-1 contracted dim broadcasts
    ([(2, 3, 4), (1, 4, 5)], ([1], [0])),
    ([(2, 0, 4), (0, 4, 5)], 2),
], ids=str)
def test_tensordot_parity(case, device):
    shapes, dims = case
    check(shapes, lambda a, b: _lib(a).tensordot(a, b, dims=dims), device=device)


def test_tensordot_noncontiguous_and_tensor_dims(device):
    torch = pytest.importorskip("torch")
    check([(4, 3, 2), (3, 4, 5)], lambda a, b: torch.tensordot(a.transpose(0, 2), b, dims=([1, 2], [0, 1])),
          dt_fn=lambda a, b: disttorch.tensordot(a.transpose(0, 2), b, dims=([1, 2], [0, 1])), device=device)
    check([(2, 3, 4), (3, 4, 5)], lambda a, b: torch.tensordot(a, b, dims=torch.tensor([[1], [0]])),
          dt_fn=lambda a, b: disttorch.tensordot(a, b, dims=disttorch.tensor([[1], [0]])), device=device)


def test_tensordot_gradcheck(device):
    gradcheck([(2, 3, 4), (3, 4, 2)], lambda a, b: disttorch.tensordot(a, b), device=device, second_order=True)
    gradcheck([(2, 3, 4), (4, 2, 3)], lambda a, b: disttorch.tensordot(a, b, ([2, 1], [0, 2])), device=device)


@pytest.mark.parametrize("shapes", [((2, 3), (4,)), ((2, 3), (4, 2)), ((), (3,)), ((), ()), ((2, 1, 3), (2, 2)),
                                    ((0, 2), (3, 1))], ids=str)
def test_kron_parity(shapes, device):
    check(list(shapes), lambda a, b: a.kron(b), device=device)


def test_kron_noncontiguous_and_gradcheck(device):
    check([(3, 2), (2, 2)], lambda a, b: a.unsqueeze(0).expand(2, 3, 2).kron(b), device=device)
    # torch's kron refuses transposed inputs (it views them); ours copies, matching a contiguous input
    check([(3, 2), (2, 2)], lambda a, b: a.t().contiguous().kron(b),
          dt_fn=lambda a, b: a.t().kron(b), device=device)
    gradcheck([(2, 3), (2, 2)], lambda a, b: a.kron(b), device=device, second_order=True)


@pytest.mark.parametrize("case", [
    ([(4, 3), (4, 3)], -1),
    ([(3, 4), (3, 4)], 0),
    ([(4, 3), (1, 3)], 1),
    ([(2, 3, 5), (2, 3, 1)], -2),
    ([(0, 3), (0, 3)], 1),
], ids=str)
def test_cross_parity(case, device):
    shapes, dim = case
    check(shapes, lambda a, b: a.cross(b, dim=dim), device=device)


def test_cross_default_dim_and_gradcheck(device):
    torch = pytest.importorskip("torch")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check([(2, 3, 3), (2, 3, 3)], lambda a, b: torch.cross(a, b),
              dt_fn=lambda a, b: disttorch.cross(a, b), device=device)
    check([(3, 4), (4, 3)], lambda a, b: a.t().cross(b, dim=1), device=device)
    gradcheck([(4, 3), (1, 3)], lambda a, b: a.cross(b, dim=-1), device=device, second_order=True)


# ------------------------------------------------------------------------------------------
# einsum

EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->j", [(3, 3, 4)]),
    ("iji->j", [(3, 4, 3)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,ij->ij", [(2, 3), (2, 1)]),        # size-1 label broadcasts
    ("ij,jk->ik", [(2, 3), (1, 4)]),        # broadcast contracted label
    ("ij,ij->", [(2, 3), (1, 1)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 2), (2, 4), (4, 2)]),
    ("ijk,jk->i", [(2, 3, 4), (3, 4)]),
    ("ijk,k->ij", [(2, 3, 4), (4,)]),
    ("i,i,i->i", [(4,), (4,), (4,)]),
    ("ij,k->ik", [(2, 3), (4,)]),           # a label summed within one operand only
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk", [(5, 2, 3), (5, 3, 4)]),
    ("b...,b...->...", [(5, 2, 3), (5, 1, 3)]),
    ("...", [(5, 2, 3)]),
    ("...->", [(5, 2, 3)]),
    ("i...->...i", [(5, 2, 3)]),
    ("...ii->...i", [(5, 3, 3)]),
    ("a...b,b...->a...", [(2, 5, 1, 3), (3, 4)]),
    ("i...,i...->i", [(2, 3), (2, 4, 3)]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),
    ("Ab,bC->AC", [(2, 3), (3, 4)]),
    ("Ba,aA", [(2, 3), (3, 4)]),
    ("", [()]),
    ("->", [()]),
    (",->", [(), ()]),
    ("i,->i", [(3,), ()]),
    ("ij,jk->ik", [(0, 3), (3, 4)]),
    ("ij,jk->ik", [(2, 0), (0, 4)]),
    ("ij->j...", [(2, 3)]),
    ("ij->i...", [(2, 3)]),
]


def _einsum(lib, eq):
    return lambda *ops: lib.einsum(eq, *ops)


@pytest.mark.parametrize("case", EINSUM_CASES, ids=lambda c: repr(c[0]))
def test_einsum_parity(case, device):
    torch = pytest.importorskip("torch")
    eq, shapes = case
    check(shapes, _einsum(torch, eq), dt_fn=_einsum(disttorch, eq), device=device)


def test_einsum_forms(device):
    torch = pytest.importorskip("torch")
    check([(2, 3), (3, 4)], lambda a, b: torch.einsum("ij,jk", [a, b]),
          dt_fn=lambda a, b: disttorch.einsum("ij,jk", [a, b]), device=device)
    check([(2, 3), (3, 4)], lambda a, b: torch.einsum("ij,jk", (a, b)),
          dt_fn=lambda a, b: disttorch.einsum("ij,jk", (a, b)), device=device)
    for subs in (([0, 1], [1, 2], [0, 2]), ([0, 1], [1, 2]), ([Ellipsis, 1], [1, 2], [Ellipsis, 2]),
                 ([26, 0], [0, 27])):
        check([(2, 3), (3, 4)], lambda a, b, s=subs: torch.einsum(a, s[0], b, *s[1:]),
              dt_fn=lambda a, b, s=subs: disttorch.einsum(a, s[0], b, *s[1:]), device=device)
    check([(3, 2), (3, 4)], lambda a, b: torch.einsum("ij,jk->ik", a.t(), b),
          dt_fn=lambda a, b: disttorch.einsum("ij,jk->ik", a.t(), b), device=device)


def test_einsum_dtypes():
    torch = pytest.importorskip("torch")
    for eq, dt, n in (("ij,jk->ik", "int64", 2), ("ij->", "int32", 1), ("ij->", "bool", 1), ("ij->ji", "bool", 1),
                      ("ii->i", "int32", 1), ("i,i->", "int32", 2), ("i,i->", "float16", 2),
                      ("ij,jk", "bfloat16", 2)):
        arrs = [np.arange(4).reshape(2, 2) % 3 for _ in range(n)]
        ours = disttorch.einsum(eq, *[disttorch.tensor(a).to(getattr(disttorch, dt)) if eq[1] != "," else
                                      disttorch.tensor(a[0]).to(getattr(disttorch, dt)) for a in arrs])
        theirs = torch.einsum(eq, *[torch.tensor(a).to(getattr(torch, dt)) if eq[1] != "," else
                                    torch.tensor(a[0]).to(getattr(torch, dt)) for a in arrs])
        assert ours.dtype.name == str(theirs.dtype).split(".")[1], eq
        assert ours.tolist() == theirs.tolist(), eq


@pytest.mark.parametrize("case", [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->ji", [(2, 2, 3)]),
    ("ii,ij->j", [(3, 3), (3, 2)]),
    ("ij,k->ik", [(2, 3), (4,)]),
    ("ij,ij->", [(2, 3), (1, 3)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),
    ("b...i,b...i->b", [(2, 3, 2), (2, 1, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("i,i,i->", [(3,), (3,), (3,)]),
], ids=lambda c: repr(c[0]))
def test_einsum_gradcheck(case, device):
    eq, shapes = case
    gradcheck(shapes, _einsum(disttorch, eq), device=device, second_order=True)


def test_einsum_same_operand_twice():
    torch = pytest.importorskip("torch")
    check([(3, 3)], lambda a: torch.einsum("ij,jk->ik", a, a), dt_fn=lambda a: disttorch.einsum("ij,jk->ik", a, a))
    gradcheck([(3, 3)], lambda a: disttorch.einsum("ij,ji->", a, a), second_order=True)


# ------------------------------------------------------------------------------------------
# errors


MATMUL_ERRORS = [
    (lambda t: t.mm(t.ones(2, 3), t.ones(3, 4, dtype=t.float64)), RuntimeError,
     r"expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda t: t.ones(2, 3) @ t.ones(3, 4, dtype=t.float64), RuntimeError, "float != double"),
    (lambda t: t.matmul(t.ones(3, 4, dtype=t.int64), t.ones(4, 6, dtype=t.float64)), RuntimeError,
     "long int != double"),
    (lambda t: t.mm(t.ones(2, 3), t.ones(4, 5)), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda t: t.matmul(t.ones(2, 3), t.ones(4, 5)), RuntimeError, r"\(2x3 and 4x5\)"),
    (lambda t: t.matmul(t.ones(3), t.ones(4, 5)), RuntimeError, r"\(1x3 and 4x5\)"),
    (lambda t: t.matmul(t.ones(2, 3, 4), t.ones(5, 6)), RuntimeError, r"\(6x4 and 5x6\)"),
    (lambda t: t.matmul(t.ones(3), t.ones(4)), RuntimeError, "inconsistent tensor size"),
    (lambda t: t.matmul(t.ones(2, 3), t.ones(4)), RuntimeError, r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)"),
    (lambda t: t.matmul(t.ones(2, 3, 4), t.ones(5)), RuntimeError, r"input \(6\), mat \(6x4\), vec \(5\)"),
    (lambda t: t.matmul(t.ones(2, 2, 3), t.ones(3, 4, 5)), RuntimeError,
     r"The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton dimension 0"),
    (lambda t: t.matmul(t.ones(7, 2, 3, 4), t.ones(2, 5, 6)), RuntimeError,
     r"batch2 tensor to be: \[14, 4\] but got: \[14, 5\]"),
    (lambda t: t.matmul(t.ones(5), t.ones(2, 4, 3)), RuntimeError, r"\[2, 5\] but got: \[2, 4\]"),
    (lambda t: t.matmul(t.ones(()), t.ones(3)), RuntimeError, "at least 1D, but they are 0D and 1D"),
    (lambda t: t.matmul(t.ones(3), t.ones(())), RuntimeError, "1D and 0D"),
    (lambda t: t.matmul(t.ones(3), t.ones(3, dtype=t.float64)), RuntimeError, "found Float and Double"),
    (lambda t: t.matmul(t.ones(2, 3), t.ones(3, dtype=t.float64)), RuntimeError,
     "must have the same dtype, but got Double, Float, and Double"),
    (lambda t: t.matmul(t.ones(2, 2, 3), t.ones(2, 3, 2, dtype=t.float64)), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda t: t.matmul(t.ones(2, 3, dtype=t.bool), t.ones(3, 2, dtype=t.bool)), NotImplementedError,
     "addmm_impl_cpu_"),
    (lambda t: t.matmul(t.ones(3, dtype=t.bool), t.ones(3, dtype=t.bool)), NotImplementedError, "dot"),
    (lambda t: t.matmul(t.ones(2, 3, 4, dtype=t.bool), t.ones(2, 4, 6, dtype=t.bool)), NotImplementedError, "bmm"),
    (lambda t: t.matmul(t.ones(2, 3), 2), TypeError, "must be Tensor, not int"),
    (lambda t: t.matmul([1, 2], t.ones(2)), TypeError, "must be Tensor, not list"),
    (lambda t: t.mm(t.ones(3), t.ones(3, 3)), RuntimeError, "self must be a matrix"),
    (lambda t: t.mm(t.ones(3, 3), t.ones(3)), RuntimeError, "mat2 must be a matrix"),
    (lambda t: t.mm(t.ones(3, 4, dtype=t.bool), t.ones(4, 6, dtype=t.bool)), NotImplementedError, "Bool"),
    (lambda t: t.bmm(t.ones(3, 3), t.ones(3, 3, 3)), RuntimeError, "batch1 must be a 3D tensor"),
    (lambda t: t.bmm(t.ones(3, 3, 3), t.ones(3, 3)), RuntimeError, "batch2 must be a 3D tensor"),
    (lambda t: t.bmm(t.ones(2, 3, 4), t.ones(3, 4, 3)), RuntimeError,
     r"Expected size for first two dimensions of batch2 tensor to be: \[2, 4\] but got: \[3, 4\]\."),
    (lambda t: t.bmm(t.ones(2, 3, 4), t.ones(2, 3, 3)), RuntimeError, r"\[2, 4\] but got: \[2, 3\]"),
    (lambda t: t.bmm(t.ones(2, 3, 4), t.ones(2, 4, 3, dtype=t.float64)), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda t: t.bmm(t.ones(2, 3, 4, dtype=t.bool), t.ones(2, 4, 6, dtype=t.bool)), NotImplementedError, "bmm"),
    (lambda t: t.mv(t.ones(3, 3), t.ones(3, 3)), RuntimeError, "vector \\+ matrix @ vector expected, got 1, 2, 2"),
    (lambda t: t.mv(t.ones(2, 3), t.ones(4)), RuntimeError, r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)"),
    (lambda t: t.mv(t.ones(2, 3), t.ones(3, dtype=t.float64)), RuntimeError, "Double, Float, and Double"),
    (lambda t: t.dot(t.ones(2, 3), t.ones(3)), RuntimeError, "1D tensors expected, but got 2D and 1D tensors"),
    (lambda t: t.dot(t.ones(3), t.ones(4)), RuntimeError,
     r"expected tensor \[3\] and src \[4\] to have the same number of elements, but got 3 and 4"),
    (lambda t: t.dot(t.ones(3), t.ones(3, dtype=t.float64)), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    (lambda t: t.vdot(t.ones(2, 3), t.ones(3)), RuntimeError, "1D tensors expected"),
    (lambda t: t.dot(t.ones(4, dtype=t.bool), t.ones(4, dtype=t.bool)), NotImplementedError, "\"dot\""),
]


@pytest.mark.parametrize("case", MATMUL_ERRORS, ids=lambda c: c[2] if isinstance(c, str) else None)
def test_matmul_errors(case):
    fn, exc, match = case
    check_error(fn, exc, match=match)


ADD_ERRORS = [
    (lambda t: t.addmm(t.ones(4), t.ones(2, 4), t.ones(4, 3)), RuntimeError, "expanded size"),
    (lambda t: t.addmm(t.ones(1, 2, 3), t.ones(2, 4), t.ones(4, 3)), RuntimeError, "number of sizes"),
    (lambda t: t.addmm(t.ones(2, 3), t.ones(2, 4), t.ones(5, 3)), RuntimeError, r"\(2x4 and 5x3\)"),
    (lambda t: t.addmm(t.ones(2, 3, dtype=t.float64), t.ones(2, 4), t.ones(4, 3)), RuntimeError,
     "self and mat2 must have the same dtype, but got Double and Float"),
    (lambda t: t.addmm(t.ones(2, 3), t.ones(2, 4, dtype=t.float64), t.ones(4, 3)), RuntimeError,
     "mat1 and mat2 must have the same dtype, but got Double and Float"),
    (lambda t: t.addmm(t.ones(2, 3), t.ones(2, 4), t.ones(4)), RuntimeError, "mat2 must be a matrix, got 1-D tensor"),
    (lambda t: t.addmm(t.ones(2, 3), t.ones(4), t.ones(4, 3)), RuntimeError, "mat1 must be a matrix, got 1-D tensor"),
    (lambda t: t.addmm(t.ones(2, 3, dtype=t.bool), t.ones(2, 4, dtype=t.bool), t.ones(4, 3, dtype=t.bool)),
     NotImplementedError, "Bool"),
    (lambda t: t.ones(3).addmm_(t.ones(2, 4), t.ones(4, 3)), RuntimeError, None),
    (lambda t: t.addmv(t.ones(3), t.ones(2, 4), t.ones(4)), RuntimeError, r"got input \(3\), mat \(2x4\), vec \(4\)"),
    (lambda t: t.addmv(t.ones(2), t.ones(2, 4), t.ones(5)), RuntimeError, r"vec \(5\)"),
    (lambda t: t.addmv(t.ones(2), t.ones(4), t.ones(4)), RuntimeError, "got 1, 1, 1"),
    (lambda t: t.addmv(t.ones(1, 2), t.ones(2, 4), t.ones(4)), RuntimeError, "got 2, 2, 1"),
    (lambda t: t.addmv(t.ones(2, dtype=t.float64), t.ones(2, 4), t.ones(4)), RuntimeError,
     "Double, Float, and Float"),
    (lambda t: t.baddbmm(t.ones(2, 2, 3), t.ones(2, 2, 4), t.ones(3, 4, 3)), RuntimeError,
     r"\[2, 4\] but got: \[3, 4\]"),
    (lambda t: t.baddbmm(t.ones(4, 2, 3), t.ones(2, 2, 4), t.ones(2, 4, 3)), RuntimeError, "expanded size"),
    (lambda t: t.baddbmm(t.ones(2, 3), t.ones(2, 4), t.ones(4, 3)), IndexError, "Dimension out of range"),
    (lambda t: t.baddbmm(t.ones(2, 2, 3), t.ones(2, 2, 2, 4), t.ones(2, 4, 3)), RuntimeError,
     "batch1 must be a 3D tensor"),
    (lambda t: t.baddbmm(t.ones(2, 2, 3, dtype=t.int64), t.ones(2, 2, 4), t.ones(2, 4, 3)), RuntimeError,
     "Input dtypes must be the same, got: input long int, batch1: float, batch2: float"),
    (lambda t: t.addbmm(t.ones(2, 3), t.ones(5, 2, 4), t.ones(4, 4, 3)), RuntimeError,
     "batch1 and batch2 must have same number of batches, got 5 and 4"),
    (lambda t: t.addbmm(t.ones(2, 3), t.ones(5, 2, 4), t.ones(5, 3, 3)), RuntimeError,
     r"Incompatible matrix sizes for bmm \(2x4 and 3x3\)"),
    (lambda t: t.addbmm(t.ones(5, 2, 3), t.ones(5, 2, 4), t.ones(5, 4, 3)), RuntimeError, "number of sizes"),
    (lambda t: t.addbmm(t.ones(2, 3), t.ones(2, 4), t.ones(4, 3)), IndexError, None),
    (lambda t: t.addbmm(t.ones(2, 3), t.ones(2, 2, 4), t.ones(2, 4, 3, dtype=t.float64)), RuntimeError,
     "self and mat2 must have the same dtype, but got Float and Double"),
    (lambda t: t.addr(t.ones(2, 3), t.ones(2, 1), t.ones(3)), RuntimeError, "addr: Expected 1-D argument vec1, but got 2-D"),
    (lambda t: t.addr(t.ones(2, 3, dtype=t.int64), t.ones(2, dtype=t.int64), t.ones(3, dtype=t.int64), alpha=1.5),
     RuntimeError, "For integral input tensors, argument alpha must not be a floating point number."),
    (lambda t: t.addr(t.ones(2, 3, dtype=t.int64), t.ones(2, dtype=t.int64), t.ones(3, dtype=t.int64), alpha=True),
     RuntimeError, "Boolean alpha only supported for Boolean results."),
    (lambda t: t.addr(t.ones(4, 3), t.ones(2), t.ones(3)), RuntimeError, "expanded size"),
]


@pytest.mark.parametrize("case", ADD_ERRORS, ids=lambda c: None)
def test_add_family_errors(case):
    fn, exc, match = case
    check_error(fn, exc, match=match)


OTHER_ERRORS = [
    (lambda t: t.outer(t.ones(3), t.ones(2, 2)), RuntimeError, "outer: Expected 1-D argument vec2, but got 2-D"),
    (lambda t: t.outer(t.ones(()), t.ones(2)), RuntimeError, "argument self, but got 0-D"),
    (lambda t: t.inner(t.ones(3, 4), t.ones(2, 5)), RuntimeError,
     r"inner\(\) the last dimension must match on both input tensors but got shapes \[3, 4\] and \[2, 5\]"),
    (lambda t: t.inner(t.ones(3, 4), t.ones(4, dtype=t.float64)), RuntimeError, "both inputs should have same dtype"),
    (lambda t: t.inner(t.ones(2, dtype=t.bool), t.ones(2, dtype=t.bool)), NotImplementedError, "dot"),
    (lambda t: t.tensordot(t.ones(2, 3, 4), t.ones(4, 4, 5)), RuntimeError,
     "contracted dimensions need to match, but first has size 3 in dim -2 and second has size 4 in dim 0"),
    (lambda t: t.tensordot(t.ones(2, 3, 4), t.ones(3, 4, 5), dims=([1], [0, 1])), RuntimeError,
     "both dimension lists should have same length"),
    (lambda t: t.tensordot(t.ones(2, 3, 4), t.ones(3, 4, 5), dims=-1), RuntimeError, "dims >= 0, but got dims=-1"),
    (lambda t: t.tensordot(t.ones(2, 3, 4), t.ones(3, 4, 5), dims=4), RuntimeError,
     "tensordot expects dims < ndim_a or ndim_b, but got dims=4"),
    (lambda t: t.tensordot(t.ones(2, 3, 4), t.ones(3, 4, 5, dtype=t.float64)), RuntimeError, "same dtype"),
    (lambda t: t.tensordot(t.ones(2, 3, 4), t.ones(3, 4, 5), dims=[1, 0]), TypeError, "must be tuple of ints"),
    (lambda t: t.tensordot(t.ones(2, 3, 4), t.ones(3, 4, 5), dims=([1, 1], [0, 0])), RuntimeError,
     "dim 1 appears multiple times in the list of dims"),
    (lambda t: t.tensordot(t.ones(2, 3, 4), t.ones(3, 4, 5), dims=([5], [0])), IndexError, "Dimension out of range"),
    (lambda t: t.tensordot(t.ones(2, 3, 4), t.ones(3, 4, 5), dims=1.5), RuntimeError, "dims=1.5"),
    (lambda t: t.tensordot(t.ones(2, 3, 4), t.ones(3, 4, 5), dims=[[1, 2], [0, 1], [0]]), ValueError, None),
    (lambda t: t.cross(t.ones(3, 3, dtype=t.int64), t.ones(3, 3), dim=1), RuntimeError,
     "expected scalar type Long but found Float"),
    (lambda t: t.cross(t.ones(2, 4), t.ones(2, 4)), RuntimeError, "no dimension of size 3 in input"),
    (lambda t: t.cross(t.ones(4, 3), t.ones(3), dim=-1), RuntimeError, "inputs must have the same number of dimensions"),
    (lambda t: t.cross(t.ones(4, 3), t.ones(4, 3), dim=0), RuntimeError,
     "linalg.cross: inputs dimension 0 must have length 3. Got 4 and 4"),
    (lambda t: t.cross(t.ones(4, 3), t.ones(4, 3), dim=2), IndexError, "Dimension out of range"),
]


@pytest.mark.parametrize("case", OTHER_ERRORS, ids=lambda c: None)
def test_other_errors(case):
    fn, exc, match = case
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_error(fn, exc, match=match)


EINSUM_ERRORS = [
    (lambda t: t.einsum("ii->i", t.ones(3, 4)), RuntimeError,
     "subscript i is repeated for operand 0 but the sizes don't match, 4 != 3"),
    (lambda t: t.einsum("ii->", t.ones(1, 3)), RuntimeError, "3 != 1"),
    (lambda t: t.einsum("ij,jk->ik", t.ones(2, 3), t.ones(4, 4)), RuntimeError,
     "subscript j has size 4 for operand 1 which does not broadcast with previously seen size 3"),
    (lambda t: t.einsum("ij,jk->ik", t.ones(2, 3), t.ones(3, 4, dtype=t.float64)), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda t: t.einsum("ij,jk->ik", t.ones(2, 3), t.ones(3, 4), t.ones(3)), RuntimeError,
     "more operands were provided than specified in the equation"),
    (lambda t: t.einsum("ij,jk->ik", t.ones(2, 3)), RuntimeError,
     "fewer operands were provided than specified in the equation"),
    (lambda t: t.einsum("ijk,jk->ik", t.ones(2, 3), t.ones(3, 4)), RuntimeError,
     r"the number of subscripts in the equation \(3\) does not match the number of dimensions \(2\) for "
     "operand 0 and no ellipsis was given"),
    (lambda t: t.einsum("ij->ii", t.ones(2, 3)), RuntimeError, "output subscript i appears more than once"),
    (lambda t: t.einsum("ij->k", t.ones(2, 3)), RuntimeError,
     "output subscript k does not appear in the equation for any input operand"),
    (lambda t: t.einsum("i0->i", t.ones(2, 3)), RuntimeError,
     r"invalid subscript given at index 1 in the equation string, subscripts must be in \[a-zA-Z\]"),
    (lambda t: t.einsum("ij->ij->", t.ones(2, 3)), RuntimeError, "index 6"),
    (lambda t: t.einsum("i.j->ij", t.ones(2, 3)), RuntimeError, "found '.' for operand 0 that is not part of any"),
    (lambda t: t.einsum("i...j...->ij", t.ones(2, 3)), RuntimeError, "for which an ellipsis was already found"),
    (lambda t: t.einsum("...ij->...i...", t.ones(2, 3)), RuntimeError,
     r"found '.' for output but an ellipsis \(...\) was already found"),
    (lambda t: t.einsum("...i,...i->...", t.ones(2, 5, 3), t.ones(4, 3)), RuntimeError,
     "dimension 0 covered by ellipsis in operand 1has size 4 which does not broadcast with previously seen "
     "ellipsis with size 5"),
    (lambda t: t.einsum("...i,...i->...", t.ones(4, 3), t.ones(2, 5, 3)), RuntimeError, "dimension 1 covered"),
    (lambda t: t.einsum("ij,jk->ik", t.ones(2, 3, dtype=t.bool), t.ones(3, 4, dtype=t.bool)), NotImplementedError,
     "bmm"),
    (lambda t: t.einsum("ij,jk->ik", t.ones(2, 3), 5), TypeError, "expected Tensor as element 1 in argument 1"),
    (lambda t: t.einsum(5, t.ones(3)), TypeError, "must be str, not int"),
    (lambda t: t.einsum("ij"), ValueError, "must specify the equation string and at least one operand"),
    (lambda t: t.einsum(t.ones(2, 3), [0, 52]), ValueError, r"not within the valid range \[0, 52\)"),
]


@pytest.mark.parametrize("case", EINSUM_ERRORS, ids=lambda c: None)
def test_einsum_errors(case):
    fn, exc, match = case
    check_error(fn, exc, match=match)
