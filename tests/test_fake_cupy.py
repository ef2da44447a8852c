"""The CPU stand-in for cupy: refusals, host/device transfers, views, devices, pickling."""
from __future__ import annotations

import copy
import pickle
import threading

import numpy as np
import pytest

from disttorch.backend import fake_cupy as xp

IMPLICIT = "Implicit conversion to a NumPy array is not allowed"


@pytest.fixture(autouse=True)
def _device_zero():
    """Every test starts and ends on device 0."""
    xp.cuda.Device(0).use()
    yield
    xp.cuda.Device(0).use()


def dev(values, dtype=None) -> xp.ndarray:
    return xp.asarray(np.asarray(values, dtype=dtype))


# -- refusals -----------------------------------------------------------------------


def test_is_not_numpy():
    a = xp.zeros(3)
    assert xp.IS_STAND_IN is True
    assert isinstance(a, xp.ndarray)
    assert not isinstance(a, np.ndarray)


@pytest.mark.parametrize(
    "convert",
    [np.asarray, np.array, np.ascontiguousarray, lambda a: np.array([a, a]), memoryview],
)
def test_numpy_conversion_refused(convert):
    with pytest.raises(TypeError):
        convert(xp.arange(3))


def test_numpy_asarray_message():
    with pytest.raises(TypeError, match=IMPLICIT):
        np.asarray(xp.arange(3))


def test_numpy_ufunc_and_function_refused():
    a = xp.arange(3.0)
    with pytest.raises(TypeError):
        np.exp(a)
    with pytest.raises(TypeError):
        np.add(a, 1)
    with pytest.raises(TypeError):
        np.concatenate([a, a])
    with pytest.raises(TypeError):
        np.sum(a)


def test_mixed_binary_op_refused():
    a, h = xp.ones(3), np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        a + h
    with pytest.raises(TypeError):
        h + a
    with pytest.raises(TypeError):
        h * a
    with pytest.raises(TypeError):
        a @ np.ones((3, 3))
    with pytest.raises(TypeError):
        a += h
    with pytest.raises(TypeError):
        a == h  # noqa: B015 - the comparison itself must raise


def test_numpy_operand_in_wrapped_function_refused():
    a, h = xp.ones(3), np.ones(3)
    msg = "Unsupported type <class 'numpy.ndarray'>"
    with pytest.raises(TypeError, match=msg):
        xp.add(a, h)
    with pytest.raises(TypeError, match=msg):
        xp.concatenate([a, h])
    with pytest.raises(TypeError, match=msg):
        xp.zeros_like(h)
    with pytest.raises(TypeError, match=msg):
        xp.add(a, 1, out=h)
    with pytest.raises(TypeError, match=msg):
        a.dot(h)
    with pytest.raises(TypeError, match=msg):
        xp.linalg.norm(h)


def test_python_values_accepted_everywhere():
    assert xp.add(xp.ones(2), [1, 2]).tolist() == [2.0, 3.0]
    assert (xp.ones(2) + 1.5).tolist() == [2.5, 2.5]
    assert xp.maximum(2, (1, 3)).tolist() == [2, 3]
    assert (xp.ones(2) * np.float32(2)).tolist() == [2.0, 2.0]


def test_numpy_internals_do_not_leak():
    a = xp.arange(3)
    assert not hasattr(a, "__array_interface__")
    assert not hasattr(a, "__array_struct__")
    assert not hasattr(a, "__array_namespace__")
    with pytest.raises(AttributeError):
        xp.__path__  # noqa: B018 - must not make the module look like a package
    with pytest.raises(AttributeError):
        xp.no_such_function  # noqa: B018


# -- host <-> device ------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["asarray", "array", "asanyarray", "ascontiguousarray"])
def test_host_entry_points_copy(entry):
    h = np.arange(4.0)
    a = getattr(xp, entry)(h)
    assert isinstance(a, xp.ndarray)
    h[0] = 100.0
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_entry_points_take_dtype_lists_and_scalars():
    assert xp.asarray([[1, 2], [3, 4]], dtype=xp.float32).dtype == np.float32
    assert xp.array(3).ndim == 0
    assert xp.asarray(np.float64(2.5)).item() == 2.5


def test_asarray_of_device_array_is_identity():
    a = xp.arange(3)
    assert xp.asarray(a) is a
    assert xp.ascontiguousarray(a) is a
    b = xp.array(a)
    assert b is not a
    b[0] = 9
    assert a[0].item() == 0


def test_get_and_asnumpy_copy():
    a = xp.arange(3.0)
    h = a.get()
    assert type(h) is np.ndarray
    h[0] = 7.0
    assert a[0].item() == 0.0
    g = xp.asnumpy(a)
    assert type(g) is np.ndarray
    np.testing.assert_array_equal(g, [0.0, 1.0, 2.0])
    assert type(xp.asnumpy([1, 2])) is np.ndarray
    out = np.empty(3)
    assert a.get(out=out) is out


def test_set_and_setitem_accept_host_values():
    a = xp.zeros(3)
    a.set(np.array([1.0, 2.0, 3.0]))
    assert a.tolist() == [1.0, 2.0, 3.0]
    a[1:] = np.array([5.0, 6.0])
    assert a.tolist() == [1.0, 5.0, 6.0]
    a[0] = xp.asarray(9.0)
    assert a.tolist() == [9.0, 5.0, 6.0]


# -- views and in-place updates --------------------------------------------------------


def test_slice_view_shares_memory():
    a = xp.zeros((3, 4))
    v = a[1]
    v[:] = 5
    assert a.get()[1].tolist() == [5.0] * 4
    v += 1
    assert a[1, 0].item() == 6.0
    a[:, 0] = -1
    assert v[0].item() == -1.0


def test_reshape_transpose_and_ravel_are_views():
    a = xp.arange(6.0)
    r = a.reshape(2, 3)
    r[0, 0] = 10
    r.T[2, 1] = 20
    a.ravel()[1] = 30
    assert a.tolist() == [10.0, 30.0, 2.0, 3.0, 4.0, 20.0]
    assert xp.shares_memory(a, r)


def test_setitem_through_chained_views():
    a = xp.zeros((4, 4))
    a[1:3][:, 1:3][...] = 1
    assert a.sum().item() == 4.0
    a[xp.asarray([0, 3])] = 2
    assert a[0].tolist() == [2.0] * 4
    a[a > 1.5] = 3
    assert a[3].tolist() == [3.0] * 4
    a[[True, False, False, False], None] = 4
    assert a[0, 0].item() == 4.0


def test_as_strided_is_a_view():
    a = xp.arange(8.0)
    s = a.itemsize
    w = xp.lib.stride_tricks.as_strided(a, shape=(3, 4), strides=(2 * s, s))
    assert isinstance(w, xp.ndarray)
    assert w.tolist()[1] == [2.0, 3.0, 4.0, 5.0]
    a[2] = 100.0
    assert w[1, 0].item() == 100.0
    assert w[0, 2].item() == 100.0


def test_out_argument_writes_in_place():
    a = xp.ones(3)
    out = xp.zeros(3)
    res = xp.add(a, a, out=out)
    assert res is out
    assert out.tolist() == [2.0, 2.0, 2.0]


def test_inplace_operator_returns_same_object():
    a = xp.ones(2)
    b = a
    a *= 3
    assert a is b
    assert b.tolist() == [3.0, 3.0]


# -- ufunc methods ---------------------------------------------------------------------


def test_add_at_accumulates_repeated_indices():
    t = xp.zeros(4)
    xp.add.at(t, xp.asarray([0, 1, 1, 3, 3, 3]), 1.0)
    assert t.tolist() == [1.0, 2.0, 0.0, 3.0]
    t2 = xp.zeros((2, 3))
    xp.add.at(t2, (xp.asarray([0, 0]), xp.asarray([2, 2])), xp.asarray([1.0, 2.0]))
    assert t2[0, 2].item() == 3.0


def test_ufunc_reduce_accumulate_outer():
    a = dev([[1, 5], [4, 2]])
    assert xp.maximum.reduce(a, axis=0).tolist() == [4, 5]
    assert xp.add.accumulate(dev([1, 2, 3])).tolist() == [1, 3, 6]
    assert xp.multiply.outer(dev([1, 2]), dev([3, 4])).tolist() == [[3, 4], [6, 8]]
    assert xp.add.nin == 2


# -- results -----------------------------------------------------------------------------


def test_reductions_return_zero_dim_device_arrays():
    a = dev([[1.0, 2.0], [3.0, 4.0]])
    for r in (a.sum(), xp.sum(a), a.max(), xp.mean(a), a.argmax(), xp.linalg.norm(a), a[0, 1]):
        assert isinstance(r, xp.ndarray)
        assert r.ndim == 0
    assert float(a.sum()) == 10.0
    assert [type(v) for v in dev([1, 2])] == [xp.ndarray, xp.ndarray]


def test_tuple_and_namedtuple_results():
    rows, cols = xp.nonzero(dev([[0, 1], [1, 0]]))
    assert isinstance(rows, xp.ndarray)
    assert rows.tolist() == [0, 1]
    assert cols.tolist() == [1, 0]
    svd = xp.linalg.svd(dev(np.eye(2)))
    assert isinstance(svd.S, xp.ndarray)
    assert svd.S.tolist() == [1.0, 1.0]


def test_operators():
    a, b = dev([1.0, 2.0]), dev([3.0, 4.0])
    assert (a + b).tolist() == [4.0, 6.0]
    assert (1 - a).tolist() == [0.0, -1.0]
    assert (2 ** a).tolist() == [2.0, 4.0]
    assert (a @ b).item() == 11.0
    assert (a < b).tolist() == [True, True]
    assert (-a).tolist() == [-1.0, -2.0]
    assert abs(dev([-1])).tolist() == [1]
    assert (~dev([0], dtype=np.int8)).tolist() == [-1]
    assert (dev([6]) // 4).tolist() == [1]
    q, r = divmod(dev([7]), 2)
    assert (q.tolist(), r.tolist()) == ([3], [1])
    assert (dev([5]) & 3).tolist() == [1]


def test_scalar_conversions():
    i = xp.asarray(3)
    assert int(i) == 3
    assert [10, 20, 30, 40][i] == 40
    assert float(xp.asarray(2.5)) == 2.5
    assert complex(xp.asarray(1j)) == 1j
    assert bool(xp.asarray(1))
    with pytest.raises(TypeError):
        [1, 2][xp.asarray(1.0)]
    with pytest.raises(ValueError):
        bool(xp.ones(2))


def test_methods_properties_and_repr():
    a = xp.arange(6, dtype=xp.float32).reshape(2, 3)
    assert repr(a) == repr(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert a.shape == (2, 3) and a.ndim == 2 and a.size == 6
    assert a.dtype == np.float32 and a.itemsize == 4 and a.nbytes == 24
    assert a.strides == (12, 4)
    assert a.flags.c_contiguous
    assert a.T.shape == (3, 2)
    assert a.astype(xp.int64).dtype == np.int64
    assert a.astype(xp.float32, copy=False) is a
    assert a.swapaxes(0, 1).shape == (3, 2)
    assert a.clip(1, 4).tolist() == [[1, 1, 2], [3, 4, 4]]
    assert a.cumsum().tolist()[-1] == 15.0
    assert a.take([0, 5]).tolist() == [0.0, 5.0]
    assert a.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert a[1, 2].item() == 5.0
    assert len(a) == 2
    c = dev([1.0 + 2.0j])
    assert c.real.tolist() == [1.0] and c.imag.tolist() == [2.0]
    a.fill(1)
    assert a.sum().item() == 6.0


def test_passthrough_of_non_callables_and_classes():
    assert xp.float32 is np.float32
    assert xp.dtype is np.dtype
    assert xp.pi == np.pi and xp.inf == np.inf
    assert xp.newaxis is None
    assert xp.finfo(xp.float32).eps == np.finfo(np.float32).eps
    assert xp.iinfo(xp.int8).max == 127
    assert xp.linalg.LinAlgError is np.linalg.LinAlgError


def test_wrappers_are_cached():
    assert xp.exp is xp.exp
    assert xp.add is xp.add
    assert xp.random.default_rng is xp.random.default_rng
    assert xp.lib.stride_tricks.as_strided is xp.lib.stride_tricks.as_strided


# -- random ------------------------------------------------------------------------------


def test_random_generator_proxy():
    rng = xp.random.default_rng(0)
    x = rng.standard_normal((2, 3))
    assert isinstance(x, xp.ndarray)
    assert x.shape == (2, 3)
    np.testing.assert_array_equal(x.get(), np.random.default_rng(0).standard_normal((2, 3)))
    assert isinstance(rng.integers(0, 10, size=4), xp.ndarray)
    assert isinstance(rng.random(), xp.ndarray)


def test_random_module_functions_and_random_state():
    xp.random.seed(1)
    assert isinstance(xp.random.rand(3), xp.ndarray)
    rs = xp.random.RandomState(0)
    np.testing.assert_array_equal(rs.randn(2).get(), np.random.RandomState(0).randn(2))
    perm = xp.random.default_rng(0).permutation(5)
    assert sorted(perm.tolist()) == [0, 1, 2, 3, 4]
    assert isinstance(xp.random.rand(), xp.ndarray)
    state = rs.get_state()
    first = rs.rand(3).get()
    rs.set_state(state)
    np.testing.assert_array_equal(rs.rand(3).get(), first)


# -- devices -----------------------------------------------------------------------------


def test_device_count_from_environment(monkeypatch):
    assert xp.cuda.runtime.getDeviceCount() == 2
    monkeypatch.setenv("DISTTORCH_FAKE_CUDA_DEVICES", "4")
    assert xp.cuda.runtime.getDeviceCount() == 4
    xp.cuda.Device(3).use()
    assert xp.cuda.Device().id == 3
    assert xp.cuda.is_available()


def test_device_context_and_array_placement():
    a = xp.ones(2)
    assert a.device.id == 0
    assert xp.cuda.Device().id == 0
    with xp.cuda.Device(1) as d:
        assert d.id == 1
        assert xp.cuda.Device().id == 1
        b = xp.zeros(2)
        assert b.device.id == 1
        with xp.cuda.Device(0):
            assert xp.cuda.Device().id == 0
        assert xp.cuda.Device().id == 1
        view = a[:1]  # a view lives with the memory it shares
        assert view.device.id == 0
    assert xp.cuda.Device().id == 0
    assert b.device.id == 1
    assert b.device == xp.cuda.Device(1)


def test_asarray_copies_across_devices():
    a = xp.arange(3.0)
    with xp.cuda.Device(1):
        b = xp.asarray(a)
        assert xp.asarray(b) is b
    assert b.device.id == 1
    assert b is not a
    b[0] = 9.0
    assert a[0].item() == 0.0


def test_use_and_invalid_device():
    xp.cuda.Device(1).use()
    assert xp.zeros(1).device.id == 1
    with pytest.raises(RuntimeError):
        xp.cuda.Device(2).use()
    with pytest.raises(RuntimeError), xp.cuda.Device(5):
        pass
    assert xp.cuda.Device().id == 1


def test_current_device_is_per_thread():
    seen = []
    with xp.cuda.Device(1):
        t = threading.Thread(target=lambda: seen.append(xp.cuda.Device().id))
        t.start()
        t.join()
    assert seen == [0]


def test_streams_and_synchronize_are_no_ops():
    xp.cuda.get_current_stream().synchronize()
    xp.cuda.Stream.null.synchronize()
    xp.cuda.Device(1).synchronize()
    assert xp.cuda.get_current_stream() is xp.cuda.Stream.null


def test_get_array_module():
    assert xp.get_array_module(np.ones(1), xp.ones(1)) is xp
    assert xp.get_array_module(np.ones(1), 3) is np


# -- copying and pickling ---------------------------------------------------------------


def test_pickle_round_trip():
    with xp.cuda.Device(1):
        a = xp.arange(6, dtype=xp.float32).reshape(2, 3)
    b = pickle.loads(pickle.dumps(a))
    assert isinstance(b, xp.ndarray)
    assert b.dtype == np.float32 and b.shape == (2, 3)
    assert b.tolist() == a.tolist()
    assert b.device.id == 1
    rng = pickle.loads(pickle.dumps(xp.random.default_rng(3)))
    np.testing.assert_array_equal(rng.random(2).get(), np.random.default_rng(3).random(2))


def test_copy_and_deepcopy_are_independent():
    a = xp.zeros(2)
    for b in (copy.copy(a), copy.deepcopy(a), a.copy()):
        assert isinstance(b, xp.ndarray)
        b[0] = 1.0
    assert a.tolist() == [0.0, 0.0]
