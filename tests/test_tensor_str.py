"""Parity of disttorch's tensor printing with PyTorch's ``repr(tensor)``."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from disttorch import _tensor_str as ts
from disttorch._tensor_str import get_printoptions, set_printoptions, tensor_repr

_RNG = np.random.default_rng(1234)


def _randn(*shape: int, scale: float = 1.0, dtype: type = np.float32) -> np.ndarray:
    return (_RNG.standard_normal(shape) * scale).astype(dtype)


def _bf16(arr: np.ndarray) -> np.ndarray:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    return np.asarray(arr, dtype=np.float32).astype(ml_dtypes.bfloat16)


# (id, array factory, dtype name); factories are lazy so bf16 can skip cleanly
CASES: list[tuple[str, Callable[[], np.ndarray], str]] = [
    ("f32_small", lambda: _randn(5), "float32"),
    ("f32_2d", lambda: _randn(3, 4), "float32"),
    ("f32_tiny_sci", lambda: _randn(6, scale=1e-6), "float32"),
    ("f32_huge_sci", lambda: _randn(2, 3, scale=1e9), "float32"),
    ("f32_ratio_sci", lambda: np.array([1e-3, 10.0, 2e4], np.float32), "float32"),
    ("f32_ratio_fixed", lambda: np.array([0.5, 12.25, 499.0], np.float32), "float32"),
    ("f32_int_valued", lambda: np.array([1.0, 2.0, -3.0, 100.0], np.float32), "float32"),
    ("f32_int_valued_sci", lambda: np.array([1e10, 3.0, -2e9], np.float32), "float32"),
    ("f32_int_valued_big", lambda: np.array([123456.0, -7.0], np.float32), "float32"),
    ("f32_nan_inf_mix", lambda: np.array([np.nan, np.inf, -np.inf, 1.5], np.float32), "float32"),
    ("f32_nan_int", lambda: np.array([np.nan, 1.0, -2.0], np.float32), "float32"),
    ("f32_only_nonfinite", lambda: np.array([np.inf, -np.inf, np.nan], np.float32), "float32"),
    ("f32_inf_sci", lambda: np.array([np.inf, 1e-7, 3.0], np.float32), "float32"),
    ("f32_neg_zero_int", lambda: np.array([-0.0, 0.0, 1.0], np.float32), "float32"),
    ("f32_neg_zero_frac", lambda: np.array([-0.0, 1.5, 22.125], np.float32), "float32"),
    ("f32_zeros", lambda: np.zeros((2, 3), np.float32), "float32"),
    ("f32_rounding", lambda: np.array([0.99999, 9.99996, -0.00005], np.float32), "float32"),
    ("f32_3d", lambda: _randn(2, 3, 4), "float32"),
    ("f32_4d", lambda: _randn(2, 2, 3, 2), "float32"),
    ("f32_5d", lambda: _randn(2, 1, 2, 2, 2), "float32"),
    ("f32_wide_rows", lambda: _randn(3, 25, scale=100.0), "float32"),
    ("f32_wide_1d", lambda: _randn(40), "float32"),
    ("f32_wide_sci", lambda: _randn(30, scale=1e-9), "float32"),
    ("f32_wide_3d", lambda: _randn(2, 2, 30), "float32"),
    ("f32_summ_1d", lambda: _randn(2000), "float32"),
    ("f32_summ_2d", lambda: _randn(400, 5), "float32"),
    ("f32_summ_2d_wide", lambda: _randn(40, 40), "float32"),
    ("f32_summ_3d", lambda: _randn(12, 10, 11), "float32"),
    ("f32_summ_hidden_outlier", lambda: np.concatenate(
        [_randn(3), np.full(1500, 1e12, np.float32), _randn(3)]), "float32"),
    ("f32_0d", lambda: np.array(3.0, np.float32), "float32"),
    ("f32_0d_frac", lambda: np.array(-2.71828, np.float32), "float32"),
    ("f32_0d_nan", lambda: np.array(np.nan, np.float32), "float32"),
    ("f32_0d_tiny", lambda: np.array(1e-9, np.float32), "float32"),
    ("f32_empty", lambda: np.zeros((0,), np.float32), "float32"),
    ("f32_empty_3d", lambda: np.zeros((2, 0, 3), np.float32), "float32"),
    ("f32_empty_2d", lambda: np.zeros((0, 3), np.float32), "float32"),
    ("f64_rand", lambda: _randn(3, 3, dtype=np.float64), "float64"),
    ("f64_int_valued", lambda: np.array([1.0, 2.0], np.float64), "float64"),
    ("f64_sci", lambda: _randn(4, scale=1e20, dtype=np.float64), "float64"),
    ("f64_empty", lambda: np.zeros((0,), np.float64), "float64"),
    ("f16_rand", lambda: _randn(2, 5, dtype=np.float16), "float16"),
    ("f16_big", lambda: np.array([60000.0, 0.5, -3.0], np.float16), "float16"),
    ("f16_0d", lambda: np.array(0.1, np.float16), "float16"),
    ("bf16_rand", lambda: _bf16(_randn(3, 4)), "bfloat16"),
    ("bf16_big", lambda: _bf16([1e30, 1.0, -2.5]), "bfloat16"),
    ("bf16_int_valued", lambda: _bf16([1.0, 256.0, -8.0]), "bfloat16"),
    ("bf16_0d", lambda: _bf16(np.array(0.3)), "bfloat16"),
    ("bf16_empty", lambda: _bf16(np.zeros((0, 2))), "bfloat16"),
    ("i64", lambda: _RNG.integers(-1000, 1000, size=(4, 5)), "int64"),
    ("i64_single_digit", lambda: np.arange(10, dtype=np.int64), "int64"),
    ("i64_wide", lambda: _RNG.integers(-10**12, 10**12, size=30), "int64"),
    ("i64_summ", lambda: np.arange(2000, dtype=np.int64), "int64"),
    ("i64_summ_3d", lambda: np.arange(4000, dtype=np.int64).reshape(10, 20, 20), "int64"),
    ("i64_0d", lambda: np.array(-7, np.int64), "int64"),
    ("i64_empty", lambda: np.zeros((0,), np.int64), "int64"),
    ("i64_empty_3d", lambda: np.zeros((2, 0, 3), np.int64), "int64"),
    ("i32", lambda: _RNG.integers(-50, 50, size=(2, 3, 2)).astype(np.int32), "int32"),
    ("i32_empty", lambda: np.zeros((0,), np.int32), "int32"),
    ("i16", lambda: np.array([-32768, 0, 32767], np.int16), "int16"),
    ("i8", lambda: np.array([-128, 5, 127], np.int8), "int8"),
    ("i8_0d", lambda: np.array(4, np.int8), "int8"),
    ("u8", lambda: np.array([[0, 255], [17, 3]], np.uint8), "uint8"),
    ("u8_summ", lambda: (np.arange(1500) % 256).astype(np.uint8), "uint8"),
    ("bool", lambda: np.array([True, False, True]), "bool"),
    ("bool_true_only", lambda: np.array([[True, True]]), "bool"),
    ("bool_0d", lambda: np.array(False), "bool"),
    ("bool_empty", lambda: np.zeros((0,), np.bool_), "bool"),
    ("bool_summ", lambda: _RNG.integers(0, 2, size=1200).astype(np.bool_), "bool"),
    ("c64", lambda: np.array([1 + 2j, -0.5 - 1j, 3j], np.complex64), "complex64"),
    ("c128_sci", lambda: np.array([1e-8 + 1j, 2 - 3e6j], np.complex128), "complex128"),
]


def _torch_tensor(torch, arr: np.ndarray, dtype_name: str):
    if dtype_name == "bfloat16":
        return torch.from_numpy(np.array(arr, dtype=np.float32)).to(torch.bfloat16)
    return torch.from_numpy(np.array(arr))


def _torch_repr(t) -> str:
    return repr(t).replace("torch.", "disttorch.")


@pytest.fixture
def torch():
    """The torch module, or skip the test."""
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _restore_print_options():
    """Leave both libraries with their default print options."""
    yield
    set_printoptions(profile="default")
    if "torch" in sys.modules:
        sys.modules["torch"].set_printoptions(profile="default")


@pytest.mark.parametrize(
    ("factory", "dtype_name"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_repr_matches_torch(torch, factory, dtype_name: str) -> None:
    arr = factory()
    t = _torch_tensor(torch, arr, dtype_name)
    got = tensor_repr(arr, dtype_name=dtype_name, default_float_dtype_name="float32")
    assert got == _torch_repr(t)
    exact = tensor_repr(arr, dtype_name=dtype_name, default_float_dtype_name="float32",
                        module_name="torch")
    assert exact == repr(t)


@pytest.mark.parametrize(
    ("factory", "dtype_name"),
    [c[1:] for c in CASES if c[2] in ("float32", "float64", "complex64", "complex128",
                                      "int64")],
    ids=[c[0] for c in CASES if c[2] in ("float32", "float64", "complex64", "complex128",
                                         "int64")],
)
def test_repr_matches_torch_with_float64_default(torch, factory, dtype_name: str) -> None:
    arr = factory()
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        expected = _torch_repr(_torch_tensor(torch, arr, dtype_name))
    finally:
        torch.set_default_dtype(old)
    got = tensor_repr(arr, dtype_name=dtype_name, default_float_dtype_name="float64")
    assert got == expected


@pytest.mark.parametrize("n", [1, 5, 9, 10, 11, 12, 13, 17, 30])
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_requires_grad_leaf(torch, n: int, dtype_name: str) -> None:
    arr = (np.arange(n) * 0.1 + 0.1).astype(dtype_name)
    t = torch.from_numpy(arr).requires_grad_(True)
    got = tensor_repr(arr, dtype_name=dtype_name, default_float_dtype_name="float32",
                      requires_grad=True)
    assert got == _torch_repr(t)


@pytest.mark.parametrize("n", [1, 7, 9, 10, 11, 25])
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_grad_fn_suffix(torch, n: int, dtype_name: str) -> None:
    x = torch.from_numpy(np.arange(n).astype(dtype_name)).requires_grad_(True)
    for y in (x + 1, (x * 2.5).sum(), x.reshape(1, n).exp()):
        arr = y.detach().numpy()
        got = tensor_repr(arr, dtype_name=dtype_name, default_float_dtype_name="float32",
                          requires_grad=True, grad_fn=type(y.grad_fn).__name__)
        assert got == _torch_repr(y)


def test_requires_grad_examples() -> None:
    assert tensor_repr(np.array([[0.1, 0.2]], np.float32), dtype_name="float32",
                       default_float_dtype_name="float32", requires_grad=True) == (
        "tensor([[0.1000, 0.2000]], requires_grad=True)")
    assert tensor_repr(np.array(3.0, np.float32), dtype_name="float32",
                       default_float_dtype_name="float32", requires_grad=True,
                       grad_fn="AddBackward0") == "tensor(3., grad_fn=<AddBackward0>)"
    # explicit leaf flag wins over requires_grad
    assert tensor_repr(np.array(3.0, np.float32), dtype_name="float32",
                       default_float_dtype_name="float32", requires_grad=True,
                       is_leaf_requires_grad=False) == "tensor(3.)"


def test_device_suffix() -> None:
    f32 = np.array([1.0, 2.0], np.float32)
    kw = {"default_float_dtype_name": "float32"}
    assert tensor_repr(f32, dtype_name="float32", device="cpu", **kw) == "tensor([1., 2.])"
    assert tensor_repr(f32, dtype_name="float32", device="cuda:0", **kw) == (
        "tensor([1., 2.], device='cuda:0')")
    assert tensor_repr(f32.astype(np.float64), dtype_name="float64", device="cuda:1",
                       grad_fn="MulBackward0", **kw) == (
        "tensor([1., 2.], device='cuda:1', dtype=disttorch.float64, "
        "grad_fn=<MulBackward0>)")
    assert tensor_repr(np.zeros((0, 3), np.int64), dtype_name="int64", device="cuda:0",
                       requires_grad=False, **kw) == (
        "tensor([], device='cuda:0', size=(0, 3), dtype=disttorch.int64)")
    assert tensor_repr(f32, dtype_name="float32", device="cuda:0", requires_grad=True,
                       module_name="mylib", **kw) == (
        "tensor([1., 2.], device='cuda:0', requires_grad=True)")
    assert tensor_repr(f32.astype(np.int32), dtype_name="int32", module_name="mylib",
                       **kw) == "tensor([1, 2], dtype=mylib.int32)"


@pytest.mark.parametrize("cols", [3, 8, 9, 12])
def test_device_suffix_wraps_like_torch(torch, cols: int) -> None:
    # no GPU here: lay out torch's own body and suffix list for a CUDA tensor
    # (device first, then dtype, then requires_grad) with torch's helpers
    arr = _randn(2, cols, dtype=np.float64)
    t = torch.from_numpy(arr)
    body = "tensor(" + torch._tensor_str._tensor_str(t, len("tensor("))
    suffixes = ["device='cuda:0'", "dtype=torch.float64", "requires_grad=True"]
    expected = torch._tensor_str._add_suffixes(body, suffixes, len("tensor("), False)
    got = tensor_repr(arr, dtype_name="float64", default_float_dtype_name="float32",
                      device="cuda:0", requires_grad=True)
    assert got == expected.replace("torch.", "disttorch.")


def test_default_options() -> None:
    assert get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3,
                                  "linewidth": 80, "sci_mode": None}


def test_printoptions_context_manager() -> None:
    arr = np.array([1.23456], np.float32)
    with ts.printoptions(precision=1):
        assert tensor_repr(arr, dtype_name="float32",
                           default_float_dtype_name="float32") == "tensor([1.2])"
    assert get_printoptions()["precision"] == 4


OPTION_SETS: list[dict] = [
    {"precision": 2},
    {"precision": 7},
    {"sci_mode": False},
    {"sci_mode": True},
    {"precision": 2, "sci_mode": True},
    {"threshold": 5},
    {"threshold": 5, "edgeitems": 1},
    {"edgeitems": 0, "threshold": 5},
    {"linewidth": 40},
    {"linewidth": 10},
    {"profile": "full"},
    {"profile": "short"},
    {"profile": "short", "precision": 6},
    {"profile": "default"},
]

OPTION_ARRAYS: list[tuple[str, Callable[[], np.ndarray], str]] = [
    ("f32", lambda: _randn(3, 4), "float32"),
    ("f32_tiny", lambda: _randn(7, scale=1e-7), "float32"),
    ("f32_int_valued", lambda: np.array([1.0, -20.0, 3.0], np.float32), "float32"),
    ("f32_nan", lambda: np.array([np.nan, 0.25, np.inf], np.float32), "float32"),
    ("f32_2000", lambda: _randn(2000), "float32"),
    ("f32_3d", lambda: _randn(5, 4, 8), "float32"),
    ("f32_0d", lambda: np.array(1.5, np.float32), "float32"),
    ("i64_2000", lambda: np.arange(2000, dtype=np.int64), "int64"),
    ("i64_2d", lambda: np.arange(60, dtype=np.int64).reshape(6, 10), "int64"),
    ("f64_2d", lambda: _randn(7, 8, dtype=np.float64), "float64"),
    ("bool", lambda: np.array([True, False] * 4), "bool"),
]


@pytest.mark.parametrize("opts", OPTION_SETS, ids=[repr(o) for o in OPTION_SETS])
@pytest.mark.parametrize(
    ("factory", "dtype_name"), [c[1:] for c in OPTION_ARRAYS], ids=[c[0] for c in OPTION_ARRAYS]
)
def test_set_printoptions_matches_torch(torch, opts: dict, factory, dtype_name: str) -> None:
    arr = factory()
    set_printoptions(**opts)
    torch.set_printoptions(**opts)
    assert get_printoptions() == torch._tensor_str.get_printoptions()
    expected = _torch_repr(_torch_tensor(torch, arr, dtype_name))
    got = tensor_repr(arr, dtype_name=dtype_name, default_float_dtype_name="float32",
                      requires_grad=dtype_name.startswith("float"))
    if dtype_name.startswith("float"):
        expected = _torch_repr(_torch_tensor(torch, arr, dtype_name).requires_grad_(True))
    assert got == expected


def test_set_printoptions_resets_sci_mode(torch) -> None:
    set_printoptions(sci_mode=True)
    torch.set_printoptions(sci_mode=True)
    set_printoptions(precision=3)
    torch.set_printoptions(precision=3)
    assert get_printoptions() == torch._tensor_str.get_printoptions()
    assert get_printoptions()["sci_mode"] is None


def test_full_profile_threshold_is_infinite() -> None:
    set_printoptions(profile="full")
    assert get_printoptions()["threshold"] == float("inf")
    text = tensor_repr(np.arange(2000), dtype_name="int64", default_float_dtype_name="float32")
    assert "..." not in text
    set_printoptions(profile="default")
    text = tensor_repr(np.arange(2000), dtype_name="int64", default_float_dtype_name="float32")
    assert text.startswith("tensor([   0,    1,    2,  ..., 1997, 1998, 1999])")


def test_module_does_not_import_torch() -> None:
    code = ("import sys, disttorch._tensor_str; "
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).resolve().parents[1])
