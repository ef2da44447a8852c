"""Sorting and searching: parity with torch (values, indices, dtypes, grads), NaN and tie
orderings, gradchecks, errors."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from parity import check, check_error, gradcheck

import disttorch
import disttorch.ops.sorting as sorting

NAN = float("nan")
INF = float("inf")
SHAPES = [(), (5,), (3, 4), (2, 3, 4), (0, 3), (3, 0)]
NONEMPTY_LAST = [(), (5,), (3, 4), (2, 3, 4), (0, 3)]  # the last dim has elements (or 0-d)
ND = [(5,), (3, 4), (2, 3, 4)]


def _lib(x):
    """disttorch's sorting module or torch, by the tensor's library."""
    return sorting if isinstance(x, disttorch.Tensor) else __import__("torch")


def _k(x, k=2):
    return min(k, x.shape[-1]) if x.dim() else 1


CASES = {
    "sort": (lambda x: x.sort(), SHAPES),
    "sort_dim0_desc": (lambda x: _lib(x).sort(x, 0, True), SHAPES[:-1]),
    "sort_stable": (lambda x: _lib(x).sort(x, dim=-1, descending=True, stable=True), SHAPES),
    "argsort": (lambda x: x.argsort(), SHAPES),
    "argsort_desc": (lambda x: _lib(x).argsort(x, 0, descending=True), SHAPES[:-1]),
    "argsort_stable": (lambda x: _lib(x).argsort(x, stable=True, dim=-1), SHAPES),
    "msort": (lambda x: _lib(x).msort(x), SHAPES),
    "msort_method": (lambda x: x.msort(), SHAPES),
    "topk": (lambda x: x.topk(_k(x)), SHAPES),
    "topk_smallest": (lambda x: _lib(x).topk(x, _k(x, 3), dim=-1, largest=False), SHAPES),
    "topk_dim0": (lambda x: x.topk(1, 0), ND),
    "topk_k0": (lambda x: x.topk(0), SHAPES),
    "topk_unsorted_values": (lambda x: x.topk(_k(x), sorted=False).values.sort().values, SHAPES),
    "kthvalue": (lambda x: x.kthvalue(_k(x)), NONEMPTY_LAST),
    "kthvalue_keep": (lambda x: _lib(x).kthvalue(x, 1, 0, keepdim=True), ND),
    "kthvalue_last": (lambda x: x.kthvalue(x.shape[-1] if x.dim() else 1, -1, True), NONEMPTY_LAST),
    "cummax": (lambda x: x.cummax(-1), SHAPES),
    "cummax_0": (lambda x: _lib(x).cummax(x, 0), SHAPES),
    "cummin": (lambda x: _lib(x).cummin(x, dim=-1), SHAPES),
    "cummin_0": (lambda x: x.cummin(0), SHAPES),
}
PARAMS = [(name, shape) for name, (_, shapes) in CASES.items() for shape in shapes]


@pytest.mark.parametrize("name,shape", PARAMS, ids=[f"{n}-{s}" for n, s in PARAMS])
def test_parity(name, shape, device):
    check([shape], CASES[name][0], device=device)


NONCONTIG = {
    "sort": lambda x: x.transpose(0, 1).sort(-1),
    "sort_desc": lambda x: x.permute(2, 0, 1).sort(0, descending=True),
    "argsort": lambda x: x.transpose(0, 2).argsort(1),
    "topk": lambda x: x.transpose(0, 1).topk(2, -1),
    "kthvalue": lambda x: x.transpose(1, 2).kthvalue(2, 1),
    "cummax": lambda x: x.transpose(0, 2).cummax(0),
    "cummin": lambda x: x.transpose(0, 1).cummin(-1),
    "msort": lambda x: _lib(x).msort(x.transpose(0, 2)),
}


@pytest.mark.parametrize("name", NONCONTIG)
def test_noncontiguous(name, device):
    check([(2, 3, 4)], NONCONTIG[name], device=device)


# -- NaN and tie orderings, integer and bool inputs ---------------------------------------------
TIES = np.array([[3.0, NAN, 1.0, 3.0, NAN, -1.0, 1.0, 0.0], [2.0, 2.0, -0.0, 0.0, NAN, 5.0, 5.0, 2.0]])
ORDERINGS = {
    "sort": lambda x: x.sort(stable=True),
    "sort_desc": lambda x: x.sort(descending=True, stable=True),
    "sort_dim0": lambda x: x.sort(dim=0, stable=True),
    "argsort_desc": lambda x: x.argsort(dim=-1, descending=True, stable=True),
    "cummax": lambda x: x.cummax(-1),
    "cummin": lambda x: x.cummin(1),
    "topk_nan": lambda x: x[:, 1:4].topk(1),
    "topk_nan_smallest": lambda x: x[:, 1:4].topk(2, largest=False),
    "kthvalue_nan": lambda x: x[:1, :3].kthvalue(3),
    "kthvalue_below_nan": lambda x: x[:, 1:4].kthvalue(2),
}


@pytest.mark.parametrize("name", ORDERINGS)
def test_nan_and_tie_orderings(name, device):
    check([TIES.shape], ORDERINGS[name], vals=[TIES], device=device)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float32", "float16"])
def test_dtypes(dtype, device):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4 if dtype != "bool" else 2, size=(3, 7)).astype(dtype)
    tol = {"grad_atol": 1e-2} if dtype == "float16" else {}  # half-precision grads accumulate
    check([a.shape], lambda x: x.sort(stable=True), vals=[a], device=device)
    check([a.shape], lambda x: x.sort(dim=0, descending=True, stable=True), vals=[a], device=device)
    check([a.shape], lambda x: x.argsort(dim=-1, descending=True, stable=True), vals=[a], device=device)
    check([a.shape], lambda x: x.cummax(1), vals=[a], device=device, **tol)
    check([a.shape], lambda x: x.cummin(0), vals=[a], device=device, **tol)
    if dtype != "bool":
        b = np.arange(21).reshape(3, 7)[:, ::-1].astype(dtype)  # distinct values: no ties
        check([b.shape], lambda x: x.topk(3), vals=[b], device=device)
        check([b.shape], lambda x: x.kthvalue(2, 0, True), vals=[b], device=device)


def test_bfloat16(device):
    x = disttorch.tensor([3.0, 1.0, NAN, 2.0, -4.0], dtype=disttorch.bfloat16, device=device)
    v, i = sorting.sort(x)
    assert i.tolist() == [4, 1, 3, 0, 2] and v.dtype is disttorch.bfloat16
    assert sorting.topk(x, 2).indices.tolist() == [2, 0]
    assert sorting.cummax(x, 0).indices.tolist() == [0, 0, 2, 2, 2]


def test_cummax_scan_matches_accumulate():
    rng = np.random.default_rng(3)
    for shape, d in [((7,), 0), ((4, 9), 1), ((5, 3, 6), 0), ((2, 17, 3), 1), ((1,), 0)]:
        for kind in ("float", "int", "bool"):
            if kind == "float":
                a = rng.integers(-3, 3, size=shape).astype(np.float64)
                a[rng.random(shape) < 0.15] = np.nan
            elif kind == "int":
                a = rng.integers(-3, 3, size=shape)
            else:
                a = rng.random(shape) < 0.5
            for is_min in (False, True):
                acc = sorting._cum_extreme_accumulate(np, a, d, is_min)
                scan = sorting._cum_extreme_scan(np, a, d, is_min)
                np.testing.assert_array_equal(acc, scan)


# -- gradients ------------------------------------------------------------------------------------
GRAD = {
    "sort": lambda x: x.sort(-1).values,
    "sort_desc": lambda x: x.sort(0, descending=True).values * x,
    "msort": lambda x: _lib(x).msort(x),
    "topk": lambda x: x.topk(2, 1).values,
    "topk_smallest": lambda x: x.topk(2, 0, largest=False).values ** 2,
    "kthvalue": lambda x: x.kthvalue(2, -1).values,
    "kthvalue_keep": lambda x: x.kthvalue(1, 0, keepdim=True).values * x,
    "cummax": lambda x: x.cummax(1).values,
    "cummin": lambda x: x.cummin(0).values ** 2,
}


@pytest.mark.parametrize("name", GRAD)
def test_gradcheck(name, device):
    gradcheck([(3, 4)], GRAD[name], device=device, second_order=True)


def test_gradcheck_zero_dim(device):
    gradcheck([()], lambda x: x.sort().values * x, device=device, second_order=True)
    gradcheck([()], lambda x: x.kthvalue(1).values ** 2, device=device, second_order=True)
    gradcheck([()], lambda x: x.cummax(0).values * 3, device=device)


def test_grad_repeated_indices_accumulate(device):
    # cummax picks the same source element several times: its grad is the sum
    check([(6,)], lambda x: x.cummax(0), vals=[np.array([1.0, 5.0, 2.0, 3.0, 7.0, 0.0])], device=device)
    check([(6,)], lambda x: x.cummin(0), vals=[np.array([4.0, 5.0, 2.0, 3.0, 7.0, 0.0])], device=device)


def test_return_types_and_grad_fns():
    x = disttorch.tensor([[3.0, 1.0, 2.0]], requires_grad=True)
    for name, r in [("sort", x.sort()), ("topk", x.topk(2)), ("kthvalue", x.kthvalue(1)),
                    ("cummax", x.cummax(1)), ("cummin", x.cummin(1))]:
        assert r._fields == ("values", "indices")
        assert repr(r).startswith(f"disttorch.return_types.{name}(\nvalues=tensor(")
        assert r.indices.dtype is disttorch.int64 and not r.indices.requires_grad
        assert r.values.grad_fn.name() == name.capitalize() + "Backward0"
        back = pickle.loads(pickle.dumps(r))
        assert back._fields == r._fields and back.indices.tolist() == r.indices.tolist()
    assert not x.argsort().requires_grad


def test_indices_modified_after_forward():
    x = disttorch.tensor([3.0, 1.0, 2.0], requires_grad=True)
    v, i = x.sort()
    i.add_(1)  # the graph keeps its own indices
    v.backward(disttorch.tensor([1.0, 2.0, 3.0]))
    assert x.grad.tolist() == [3.0, 1.0, 2.0]


# -- unique / unique_consecutive --------------------------------------------------------------------
UNIQUE_VALS = [
    np.array([3, 1, 2, 3, 1, 5, 5]),
    np.array([[1, 2, 1], [1, 2, 1], [0, 5, 0]]),
    np.array([NAN, 1.0, NAN, 1.0, -0.0, 0.0, 2.5]),
    np.array([True, False, True]),
    np.array(4.0),
    np.zeros((0, 3)),
]
UNIQUE = {
    "unique": lambda x: _lib(x).unique(x),
    "unique_all": lambda x: _lib(x).unique(x, return_inverse=True, return_counts=True),
    "unique_unsorted": lambda x: x.unique(sorted=False, return_inverse=True),
    "unique_counts": lambda x: x.unique(return_counts=True),
    "consecutive": lambda x: _lib(x).unique_consecutive(x),
    "consecutive_all": lambda x: x.unique_consecutive(return_inverse=True, return_counts=True),
}


@pytest.mark.parametrize("name", UNIQUE)
@pytest.mark.parametrize("vi", range(len(UNIQUE_VALS)))
def test_unique_parity(name, vi, device):
    a = UNIQUE_VALS[vi]
    check([a.shape], UNIQUE[name], vals=[a], device=device, forward_only=True)


UNIQUE_DIM = {
    "rows": (np.array([[1, 2], [1, 2], [0, 5], [1, 1]]), 0),
    "cols": (np.array([[1, 2, 1, 0], [1, 2, 1, 3], [0, 5, 0, 3]]), 1),
    "neg": (np.array([[[1.0, 2.0], [1.0, 2.0]], [[0.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [1.0, 2.0]]]), -3),
    "nan_rows": (np.array([[1.0, NAN], [1.0, NAN], [0.0, 1.0]]), 0),
    "empty_sel": (np.zeros((0, 3)), 0),
    "empty_cols": (np.zeros((2, 0)), 1),
}


@pytest.mark.parametrize("name", UNIQUE_DIM)
def test_unique_dim_parity(name, device):
    a, d = UNIQUE_DIM[name]
    check([a.shape], lambda x: _lib(x).unique(x, return_inverse=True, return_counts=True, dim=d),
          vals=[a], device=device, forward_only=True)
    check([a.shape], lambda x: x.unique(dim=d), vals=[a], device=device, forward_only=True)
    check([a.shape], lambda x: _lib(x).unique_consecutive(x, True, True, d), vals=[a], device=device,
          forward_only=True)


def test_unique_noncontiguous(device):
    a = np.array([[3, 1, 2], [3, 1, 5], [0, 1, 2]])
    check([a.shape], lambda x: x.transpose(0, 1).unique(return_inverse=True, return_counts=True),
          vals=[a], device=device)
    check([a.shape], lambda x: x.transpose(0, 1).unique_consecutive(return_inverse=True, dim=1),
          vals=[a], device=device)


def test_unique_has_no_derivative():
    torch = pytest.importorskip("torch")
    for lib in (torch, sorting):
        x = (torch if lib is torch else disttorch).tensor([2.0, 1.0, 2.0], requires_grad=True)
        for fn, msg in [(lib.unique, "_unique2"), (lib.unique_consecutive, "unique_consecutive")]:
            out = fn(x)
            assert out.requires_grad
            with pytest.raises(NotImplementedError, match=msg):
                out.sum().backward()


# -- searchsorted / bucketize ------------------------------------------------------------------------
SEQ = np.array([1.0, 3.0, 5.0, 7.0, 9.0])
SEARCH = {
    "left": (lambda s, v: _lib(s).searchsorted(s, v), [SEQ, np.array([[3.0, 6.0, 9.0], [0.0, 10.0, 1.0]])]),
    "right": (lambda s, v: _lib(s).searchsorted(s, v, right=True), [SEQ, np.array([3.0, 6.0, 9.0, 1.0])]),
    "side": (lambda s, v: _lib(s).searchsorted(s, v, side="right", out_int32=True), [SEQ, np.array([9.0, 1.0])]),
    "batched": (lambda s, v: _lib(s).searchsorted(s, v),
                [np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]), np.array([[3.0, 6.0, 9.0, 0.0], [3.0, 6.0, 9.0, 2.0]])]),
    "batched_right": (lambda s, v: _lib(s).searchsorted(s, v, right=True),
                      [np.array([[[1.0, 3.0, 3.0, 5.0]], [[2.0, 4.0, 4.0, 6.0]]]), np.array([[[3.0, 4.0]], [[4.0, 7.0]]])]),
    "nan": (lambda s, v: _lib(s).searchsorted(s, v), [np.array([1.0, 3.0, NAN]), np.array([3.0, 6.0, NAN])]),
    "nan_right": (lambda s, v: _lib(s).searchsorted(s, v, side="right"),
                  [np.array([[1.0, NAN, NAN]]), np.array([[1.0, 0.0, NAN]])]),
    "int_seq_float_vals": (lambda s, v: _lib(s).searchsorted(s, v), [np.array([1, 3, 5]), np.array([3.5, 6.0, 3.0])]),
    "zero_d_values": (lambda s, v: _lib(s).searchsorted(s, v), [SEQ, np.array(5.0)]),
    "empty_values": (lambda s, v: _lib(s).searchsorted(s, v), [SEQ, np.zeros((0, 2))]),
    "empty_seq": (lambda s, v: _lib(s).searchsorted(s, v), [np.zeros((0,)), np.array([1.0, 2.0])]),
    "noncontig": (lambda s, v: _lib(s).searchsorted(s.transpose(0, 1), v.transpose(0, 1)),
                  [np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([[2.0, 0.0], [5.0, 7.0]])]),
}


@pytest.mark.parametrize("name", SEARCH)
@pytest.mark.filterwarnings("ignore:torch.searchsorted")
def test_searchsorted_parity(name, device):
    fn, vals = SEARCH[name]
    check([v.shape for v in vals], fn, vals=vals, device=device)


def test_searchsorted_sorter_and_scalars(device):
    seq, vals, srt = np.array([5.0, 1.0, 3.0]), np.array([3.0, 6.0, 0.0]), np.array([1, 2, 0])
    for right in (False, True):
        check([seq.shape, vals.shape, srt.shape],
              lambda s, v, o, right=right: _lib(s).searchsorted(s, v, sorter=o, right=right),
              vals=[seq, vals, srt], device=device)
    seq2 = np.array([[5.0, 1.0, 3.0], [2.0, 0.0, 1.0]])
    check([seq2.shape, (2, 2), (2, 3)], lambda s, v, o: _lib(s).searchsorted(s, v, sorter=o),
          vals=[seq2, np.array([[3.0, 6.0], [0.5, 1.0]]), np.array([[1, 2, 0], [1, 2, 0]])], device=device)
    check([SEQ.shape], lambda s: _lib(s).searchsorted(s, 5), vals=[SEQ], device=device)
    check([SEQ.shape], lambda s: _lib(s).searchsorted(s, 5.5, out_int32=True), vals=[SEQ], device=device)


BUCKET = {
    "left": lambda x, b: _lib(x).bucketize(x, b),
    "right": lambda x, b: _lib(x).bucketize(x, b, right=True, out_int32=True),
    "noncontig": lambda x, b: _lib(x).bucketize(x.transpose(0, 1), b),
}


@pytest.mark.parametrize("name", BUCKET)
def test_bucketize_parity(name, device):
    x, b = np.array([[3, 6, 9], [1, 10, 0]]), np.array([1, 3, 5, 7, 9])
    check([x.shape, b.shape], BUCKET[name], vals=[x, b], device=device)
    check([(), b.shape], BUCKET["left"], vals=[np.array(5.5), b.astype(float)], device=device)


def test_bucketize_scalar(device):
    b = disttorch.tensor([1, 3, 5, 7, 9], device=device)
    r = sorting.bucketize(5, b)
    assert r.shape == () and r.item() == 2 and r.dtype is disttorch.int64


# -- bincount / histc / isin --------------------------------------------------------------------------
BINCOUNT = {
    "plain": (lambda x: x.bincount(), [np.array([1, 1, 3, 0, 7])]),
    "minlength": (lambda x: _lib(x).bincount(x, minlength=10), [np.array([1, 1, 3])]),
    "uint8": (lambda x: x.bincount(), [np.array([1, 1, 3], dtype=np.uint8)]),
    "int32": (lambda x: x.bincount(minlength=2), [np.array([4, 1, 3], dtype=np.int32)]),
    "empty": (lambda x: x.bincount(), [np.zeros((0,), dtype=np.int64)]),
    "empty_minlength": (lambda x: x.bincount(minlength=3), [np.zeros((0,), dtype=np.int64)]),
    "weights32": (lambda x, w: x.bincount(w), [np.array([1, 1, 3]), np.array([0.5, 0.25, 2.0], dtype=np.float32)]),
    "weights64": (lambda x, w: _lib(x).bincount(x, weights=w, minlength=6), [np.array([1, 1, 3]), np.array([0.5, 0.25, 2.0])]),
    "weights_int": (lambda x, w: x.bincount(w), [np.array([1, 1, 3]), np.array([1, 2, 3])]),
    "weights_half": (lambda x, w: x.bincount(w), [np.array([0, 2]), np.array([1.5, 2.0], dtype=np.float16)]),
    "noncontig": (lambda x: x.reshape(2, 3).transpose(0, 1).reshape(-1).bincount(), [np.array([1, 2, 3, 4, 2, 2])]),
}


@pytest.mark.parametrize("name", BINCOUNT)
def test_bincount_parity(name, device):
    fn, vals = BINCOUNT[name]
    check([v.shape for v in vals], fn, vals=vals, device=device, forward_only=True)


HISTC = {
    "range": (lambda x: x.histc(4, 0, 3), np.array([1.0, 2.0, 1.0, 4.0, 2.5, 3.0, 0.0, -1.0])),
    "data_range": (lambda x: _lib(x).histc(x, bins=4), np.array([1.0, 2.0, 1.0, 4.0, 2.5])),
    "same_minmax": (lambda x: x.histc(bins=2, min=5, max=5), np.array([1.0, 2.0, 3.0])),
    "constant": (lambda x: x.histc(bins=4), np.array([1.0, 1.0, 1.0])),
    "edges": (lambda x: x.histc(bins=3, min=0, max=3), np.array([0.0, 1.0, 2.0, 3.0])),
    "float32": (lambda x: x.histc(bins=5), np.linspace(-1, 1, 17).astype(np.float32)),
    "float16": (lambda x: x.histc(bins=2), np.array([1.0, 2.0, 3.0], dtype=np.float16)),
    "two_d": (lambda x: x.histc(bins=3), np.array([[1.0, 2.0], [3.0, 4.0]])),
    "zero_d": (lambda x: x.histc(bins=3), np.array(2.0)),
    "empty": (lambda x: x.histc(bins=3), np.zeros((0,))),
    "noncontig": (lambda x: x.transpose(0, 1).histc(bins=6, min=-2, max=2), np.linspace(-3, 3, 12).reshape(3, 4)),
}


@pytest.mark.parametrize("name", HISTC)
def test_histc_parity(name, device):
    fn, a = HISTC[name]
    check([a.shape], fn, vals=[a], device=device)


ISIN = {
    "basic": (lambda e, t: _lib(e).isin(e, t), [np.array([[1, 2], [3, 4]]), np.array([2, 3])]),
    "invert": (lambda e, t: _lib(e).isin(e, t, invert=True), [np.array([[1, 2], [3, 4]]), np.array([2, 3])]),
    "nan": (lambda e, t: _lib(e).isin(e, t), [np.array([1.0, NAN, 2.0]), np.array([NAN, 1.0])]),
    "nan_invert": (lambda e, t: _lib(e).isin(e, t, invert=True), [np.array([1.0, NAN]), np.array([NAN, 1.0])]),
    "mixed": (lambda e, t: _lib(e).isin(e, t), [np.array([1.0, 2.5]), np.array([1, 2])]),
    "mixed2": (lambda e, t: _lib(e).isin(e, t, assume_unique=True), [np.array([1, 2]), np.array([1.5, 2.0])]),
    "zero_d": (lambda e, t: _lib(e).isin(e, t), [np.array(2), np.array([[2]])]),
    "empty": (lambda e, t: _lib(e).isin(e, t), [np.zeros((0, 2)), np.array([1.0])]),
    "empty_test": (lambda e, t: _lib(e).isin(e, t), [np.array([1.0, 2.0]), np.zeros((0,))]),
    "noncontig": (lambda e, t: _lib(e).isin(e.transpose(0, 1), t), [np.arange(6).reshape(2, 3), np.array([0, 4])]),
}


@pytest.mark.parametrize("name", ISIN)
def test_isin_parity(name, device):
    fn, vals = ISIN[name]
    check([v.shape for v in vals], fn, vals=vals, device=device, forward_only=True)


def test_isin_scalars(device):
    torch = pytest.importorskip("torch")
    t = disttorch.tensor([[1, 2], [3, 4]], device=device)
    assert sorting.isin(t, 2).tolist() == torch.isin(torch.tensor([[1, 2], [3, 4]]), 2).tolist()
    r = sorting.isin(2, disttorch.tensor([2, 3], device=device))
    assert r.shape == () and r.item() is True and r.dtype is disttorch.bool


# -- errors ---------------------------------------------------------------------------------------
def _errors():
    S = _lib
    return [
        (lambda t: S(t.ones(1)).sort(t.ones(2), 1), IndexError),
        (lambda t: S(t.ones(1)).sort(t.tensor(1.0), 1), IndexError),
        (lambda t: S(t.ones(1)).sort(t.ones(2), dim=1.5), TypeError),
        (lambda t: S(t.ones(1)).sort(t.ones(2), 0, False, True), TypeError),
        (lambda t: S(t.ones(1)).argsort(t.ones(2, 3), 2), IndexError),
        (lambda t: S(t.ones(1)).topk(t.ones(3), 4), RuntimeError),
        (lambda t: S(t.ones(1)).topk(t.ones(3), -1), RuntimeError),
        (lambda t: S(t.ones(1)).topk(t.tensor(1.0), 2), RuntimeError),
        (lambda t: S(t.ones(1)).topk(t.ones(3), 1.5), TypeError),
        (lambda t: S(t.ones(1)).topk(t.tensor([True, False]), 1), RuntimeError),
        (lambda t: S(t.ones(1)).topk(t.ones(3, 0), 1), RuntimeError),
        (lambda t: S(t.ones(1)).topk(t.ones(3), 1, 2), IndexError),
        (lambda t: S(t.ones(1)).kthvalue(t.ones(3), 4), RuntimeError),
        (lambda t: S(t.ones(1)).kthvalue(t.ones(3), 0), RuntimeError),
        (lambda t: S(t.ones(1)).kthvalue(t.tensor(1.0), 2), RuntimeError),
        (lambda t: S(t.ones(1)).kthvalue(t.ones(3, 0), 1), IndexError),
        (lambda t: S(t.ones(1)).kthvalue(t.tensor([True]), 1), NotImplementedError),
        (lambda t: S(t.ones(1)).cummax(t.ones(3), 1), IndexError),
        (lambda t: S(t.ones(1)).cummin(t.ones(3), 1.0), TypeError),
        (lambda t: S(t.ones(1)).cummax(t.ones(3)), TypeError),
        (lambda t: S(t.ones(1)).unique(t.tensor(3.0), dim=0), IndexError),
        (lambda t: S(t.ones(1)).unique(t.zeros(2, 3), dim=2), IndexError),
        (lambda t: S(t.ones(1)).unique(t.zeros(2, 0), dim=0), RuntimeError),
        (lambda t: S(t.ones(1)).unique(t.zeros(0, 0), dim=0), RuntimeError),
        (lambda t: S(t.ones(1)).unique_consecutive(t.zeros(2, 0), dim=0), RuntimeError),
        (lambda t: S(t.ones(1)).searchsorted(t.ones(3), t.ones(2), side="bad"), RuntimeError),
        (lambda t: S(t.ones(1)).searchsorted(t.ones(3), t.ones(2), side="left", right=True), RuntimeError),
        (lambda t: S(t.ones(1)).searchsorted(t.ones(2, 3), t.ones(1, 4)), RuntimeError),
        (lambda t: S(t.ones(1)).searchsorted(t.ones(2, 3), t.ones(2)), RuntimeError),
        (lambda t: S(t.ones(1)).searchsorted(t.ones(2, 3), 5), RuntimeError),
        (lambda t: S(t.ones(1)).searchsorted(t.tensor(5.0), t.ones(2)), RuntimeError),
        (lambda t: S(t.ones(1)).searchsorted(t.ones(3), t.ones(2), sorter=t.tensor([1, 2])), RuntimeError),
        (lambda t: S(t.ones(1)).searchsorted(t.ones(3), t.ones(2), sorter=t.tensor([1, 2, 5])), RuntimeError),
        (lambda t: S(t.ones(1)).searchsorted(t.ones(3), t.ones(2), sorter=t.tensor([1, 2, 0], dtype=t.int32)),
         RuntimeError),
        (lambda t: S(t.ones(1)).searchsorted([1, 2], t.ones(2)), TypeError),
        (lambda t: S(t.ones(1)).bucketize(t.ones(2), t.ones(2, 3)), RuntimeError),
        (lambda t: S(t.ones(1)).bucketize(t.ones(2), t.tensor(1.0)), RuntimeError),
        (lambda t: S(t.ones(1)).bincount(t.tensor([True, False])), NotImplementedError),
        (lambda t: S(t.ones(1)).bincount(t.tensor([1.0, 2.0])), NotImplementedError),
        (lambda t: S(t.ones(1)).bincount(t.tensor([-1, 2])), RuntimeError),
        (lambda t: S(t.ones(1)).bincount(t.tensor([[1, 2]])), RuntimeError),
        (lambda t: S(t.ones(1)).bincount(t.tensor(1)), RuntimeError),
        (lambda t: S(t.ones(1)).bincount(t.tensor([1, 2]), minlength=-1), RuntimeError),
        (lambda t: S(t.ones(1)).bincount(t.tensor([1, 2]), t.tensor([1.0])), RuntimeError),
        (lambda t: S(t.ones(1)).histc(t.tensor([1, 2]), bins=3), NotImplementedError),
        (lambda t: S(t.ones(1)).histc(t.ones(3), bins=0), RuntimeError),
        (lambda t: S(t.ones(1)).histc(t.ones(3), bins=4, min=3, max=0), RuntimeError),
        (lambda t: S(t.ones(1)).histc(t.tensor([1.0, NAN]), bins=4), RuntimeError),
        (lambda t: S(t.ones(1)).histc(t.tensor([1.0, INF]), bins=4), RuntimeError),
        (lambda t: S(t.ones(1)).isin(t.tensor([True]), t.tensor([1])), RuntimeError),
        (lambda t: S(t.ones(1)).isin(2, 3), TypeError),
    ]


@pytest.mark.parametrize("case", range(len(_errors())))
def test_errors(case):
    fn, exc = _errors()[case]
    check_error(fn, exc)


def test_error_messages():
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        sorting.topk(disttorch.ones(3), 4)
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range for dimension 0"):
        sorting.kthvalue(disttorch.ones(3), 4)
    with pytest.raises(IndexError, match="Expected reduction dim 1 to have non-zero size"):
        sorting.kthvalue(disttorch.ones(3, 0), 1)
    with pytest.raises(RuntimeError, match="the first N-1 dimensions of boundaries tensor and input value "
                                           "tensor must match, but we got boundaries tensor \\[2, 3\\] and "
                                           "input value tensor \\[1, 4\\]"):
        sorting.searchsorted(disttorch.ones(2, 3), disttorch.ones(1, 4))
    with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral inputs."):
        sorting.bincount(disttorch.tensor([-1]))
    with pytest.raises(RuntimeError, match="aren't selected, so unique cannot be applied"):
        sorting.unique(disttorch.zeros(2, 0), dim=0)
