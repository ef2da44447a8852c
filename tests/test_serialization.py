"""Checkpoints: save/load round trips, map_location, sharing, atomic writes, bad files, interop."""
from __future__ import annotations

import io
import json
import math
import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import safetensors
import safetensors.numpy

import disttorch
from disttorch import nn
from disttorch.backend import device as _dev
from disttorch.serialization import load, load_safetensors_state_dict, save, save_safetensors_state_dict

ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
BAD = "is not a disttorch checkpoint or is corrupted"


# -- helpers -------------------------------------------------------------------------------


def host_bytes(t: disttorch.Tensor) -> bytes:
    return _dev.to_device(t._data, _dev.CPU).tobytes()


def assert_same(a, b, path="obj"):
    """Exact equality with exact types: tensors bitwise, with dtype, shape, device and flags."""
    assert type(a) is type(b), f"{path}: {type(a)} != {type(b)}"
    if isinstance(a, disttorch.Tensor):
        assert a.dtype == b.dtype, f"{path}: {a.dtype} != {b.dtype}"
        assert tuple(a.shape) == tuple(b.shape), f"{path}: {a.shape} != {b.shape}"
        assert a.device == b.device, f"{path}: {a.device} != {b.device}"
        assert a.requires_grad == b.requires_grad, f"{path}: requires_grad"
        assert b.is_leaf, f"{path}: loaded tensors are leaves"
        assert host_bytes(a) == host_bytes(b), f"{path}: values differ"
    elif isinstance(a, (dict, OrderedDict)):
        assert list(a.keys()) == list(b.keys()), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            assert type(k) is type(next(kk for kk in b if kk == k)), f"{path}: key type of {k!r}"
            assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    elif isinstance(a, float):
        assert a == b and math.copysign(1, a) == math.copysign(1, b), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def roundtrip(obj, **load_kwargs):
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    return load(buf, **load_kwargs)


def split(blob: bytes):
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def join(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + data


def edit_object(blob: bytes, fn) -> bytes:
    """Rewrite the checkpoint's object description with ``fn(doc) -> doc``."""
    header, data = split(blob)
    doc = json.loads(header["__metadata__"]["disttorch.object"])
    header["__metadata__"]["disttorch.object"] = json.dumps(fn(doc))
    return join(header, data)


def saved_bytes(obj) -> bytes:
    buf = io.BytesIO()
    save(obj, buf)
    return buf.getvalue()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(disttorch.randn(3, 4))
        self.b = nn.Parameter(disttorch.zeros(4, dtype=disttorch.float64), requires_grad=False)
        self.register_buffer("running_mean", disttorch.arange(4, dtype=disttorch.float32))
        self.register_buffer("num_batches", disttorch.tensor(7))
        self.register_buffer("scratch", disttorch.ones(2), persistent=False)


def checkpoint(model: Net, device="cpu"):
    return {
        "epoch": 12,
        "step": 2**40 + 3,
        "lr": 3e-4,
        "best": -0.0,
        "loss_history": [1.5, 0.75, float("inf"), float("nan")],
        "name": "run-é-\u4e2d-\U0001f600",
        "resumed_from": None,
        "use_amp": False,
        "model": model.state_dict(),
        "optimizer": {
            "state": {
                0: {"step": disttorch.tensor(5.0), "exp_avg": disttorch.randn(3, 4, device=device),
                    "exp_avg_sq": disttorch.rand(3, 4, device=device)},
                1: {"step": disttorch.tensor(5.0), "momentum_buffer": None},
            },
            "param_groups": [{"lr": 3e-4, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                              "amsgrad": False, "foreach": None, "params": [0, 1]}],
        },
        "rng_state": disttorch.get_rng_state(),
        "dtype": disttorch.bfloat16,
        "device": disttorch.device(device),
        "input_shape": disttorch.Size([8, 3, 32, 32]),
        "empty": {},
        "nested": [[], (), [()], ((1,),)],
    }


# -- round trips ---------------------------------------------------------------------------


def test_full_checkpoint_roundtrip(tmp_path):
    model = Net()
    ck = checkpoint(model)
    path = tmp_path / "ck.pt"
    save(ck, path)
    out = load(path)
    assert_same(ck, out)
    assert type(out["model"]) is OrderedDict
    assert list(out["model"]) == ["w", "b", "running_mean", "num_batches"]
    assert type(out["optimizer"]["state"]) is dict and list(out["optimizer"]["state"]) == [0, 1]
    # the loaded state dict restores a fresh model exactly
    fresh = Net()
    fresh.load_state_dict(out["model"])
    for k, v in model.state_dict().items():
        assert host_bytes(fresh.state_dict()[k]) == host_bytes(v), k
    # str path and os.PathLike give the same object
    assert_same(ck, load(str(path)))


def test_bytesio_roundtrip_and_sequential_objects():
    buf = io.BytesIO()
    a = {"x": disttorch.arange(5), "y": 1}
    b = [disttorch.ones(2, 2, dtype=disttorch.float16), "two"]
    save(a, buf)
    save(b, buf)
    save(None, buf)
    buf.seek(0)
    assert_same(a, load(buf))
    assert_same(b, load(buf))
    assert load(buf) is None
    assert buf.read() == b""


def test_binary_file_object(tmp_path):
    t = {"t": disttorch.randn(4)}
    with open(tmp_path / "f.bin", "wb") as fh:
        save(t, fh)
    with open(tmp_path / "f.bin", "rb") as fh:
        assert_same(t, load(fh))


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_dtypes_and_shapes(dtype, device):
    dt = getattr(disttorch, dtype)
    rng = np.random.default_rng(0)
    for shape in [(), (0,), (3,), (2, 0, 3), (2, 3, 4)]:
        src = rng.standard_normal(shape) * 50
        if dtype == "uint8":
            src = np.abs(src)
        t = disttorch.tensor(src, device=device).to(dt)
        out = roundtrip({"t": t, "s": [t.shape, t.dtype, t.device]})
        assert_same({"t": t, "s": [t.shape, t.dtype, t.device]}, out)


def test_bfloat16_values_exact():
    bits = np.array([0x0000, 0x8000, 0x3F80, 0x7F80, 0xFF80, 0x7FC0, 0x0001, 0x7F7F], dtype=np.uint16)
    t = disttorch.from_numpy(bits.view(disttorch.bfloat16.np).copy())
    out = roundtrip(t)
    assert out.dtype == disttorch.bfloat16
    assert out._data.view(np.uint16).tolist() == bits.tolist()


def test_scalars_and_containers():
    obj = OrderedDict([
        ("ints", [0, -1, 2**70, -(2**70)]),
        ("floats", [0.1, -0.0, 1e308, 5e-324, float("inf"), float("-inf"), float("nan")]),
        ("bools", (True, False)),
        ("none", None),
        ("strs", ["", "a\"b\\c\n", "\x00", "\ud800"]),  # lone surrogate survives
        (3, "int key"), (-1, "negative"), (2.5, "float key"), (True, "bool key"), (None, "none key"),
        ("dtypes", [disttorch.float32, disttorch.int64, disttorch.bool, disttorch.bfloat16, disttorch.uint8]),
        ("devices", [disttorch.device("cpu"), disttorch.device("cuda", 1), disttorch.device("cuda")]),
        ("sizes", [disttorch.Size([]), disttorch.Size([0, 2])]),
        ("deep", {"a": {"b": {"c": [(1, [2, {"d": ()}])]}}}),
    ])
    out = roundtrip(obj)
    assert_same(obj, out)
    assert out["dtypes"][3] is disttorch.bfloat16
    assert out["devices"][2] == disttorch.device("cuda") and out["devices"][2].index is None
    assert type(out["sizes"][1]) is disttorch.Size
    # bool and int keys stay distinct types; 1 and True would collide in a dict anyway
    assert [type(k) for k in out][5:10] == [int, int, float, bool, type(None)]


def test_toplevel_values():
    for v in [None, 3, 2.5, "s", True, [], (), {}, disttorch.tensor(1.5), disttorch.float16]:
        assert_same(v, roundtrip(v))


def test_parameters_buffers_and_requires_grad(device):
    p = nn.Parameter(disttorch.randn(3, device=device))
    q = nn.Parameter(disttorch.randn(2, device=device), requires_grad=False)
    leaf = disttorch.randn(2, device=device, requires_grad=True)
    nonleaf = leaf * 2
    buf = nn.Buffer(disttorch.ones(2, device=device), persistent=False)
    out = roundtrip([p, q, leaf, nonleaf, buf])
    assert type(out[0]) is nn.Parameter and out[0].requires_grad
    assert type(out[1]) is nn.Parameter and not out[1].requires_grad
    assert type(out[2]) is disttorch.Tensor and out[2].requires_grad and out[2].is_leaf
    # torch loads a saved non-leaf as a leaf that requires grad
    assert out[3].requires_grad and out[3].is_leaf and out[3].grad_fn is None
    assert host_bytes(out[3]) == host_bytes(nonleaf)
    assert type(out[4]) is nn.Buffer and out[4].persistent is False
    for t in out:
        assert t.device == p.device
    # a loaded parameter trains: it gets a grad
    (out[0] * 2).sum().backward()
    assert out[0].grad is not None


def test_grad_is_not_saved():
    p = nn.Parameter(disttorch.ones(2))
    p.sum().backward()
    assert p.grad is not None
    assert roundtrip(p).grad is None


# -- sharing -------------------------------------------------------------------------------


def test_same_tensor_object_is_stored_once_and_stays_one_object(tmp_path):
    t = disttorch.randn(100)
    obj = {"a": t, "b": [t, (t,)], "c": disttorch.randn(3)}
    path = tmp_path / "s.pt"
    save(obj, path)
    with safetensors.safe_open(path, framework="numpy") as f:
        assert len(f.keys()) == 2  # t stored once
    out = load(path)
    assert out["a"] is out["b"][0] is out["b"][1][0]
    assert out["c"] is not out["a"]


def test_parameter_and_its_detach_share_storage_after_load(device):
    model = Net().to(device)
    p = model.w
    obj = {"param": p, "state": model.state_dict(), "data": p.data}
    blob = saved_bytes(obj)
    header, _ = split(blob)
    names = [k for k in header if k != "__metadata__"]
    # w (three views of one array), b, running_mean, num_batches
    assert len(names) == 4
    out = load(io.BytesIO(blob))
    assert type(out["param"]) is nn.Parameter and type(out["state"]["w"]) is disttorch.Tensor
    assert out["param"] is not out["state"]["w"]
    with disttorch.no_grad():
        out["param"].zero_()
    assert host_bytes(out["state"]["w"]) == host_bytes(out["data"]) == host_bytes(disttorch.zeros(3, 4))


def test_views_are_stored_as_contiguous_copies(device):
    x = disttorch.arange(12, dtype=disttorch.float32, device=device).reshape(3, 4)
    xt = x.transpose(0, 1)
    out = roundtrip({"x": x, "xt": xt})
    assert out["xt"].is_contiguous()
    assert host_bytes(out["xt"]) == host_bytes(xt.contiguous())
    with disttorch.no_grad():
        out["x"].add_(1)  # a copy: the view does not follow
    assert host_bytes(out["xt"]) == host_bytes(xt.contiguous())


def test_loaded_tensors_are_writable():
    out = roundtrip({"a": disttorch.zeros(3), "b": disttorch.zeros(3, dtype=disttorch.bfloat16)})
    out["a"].add_(1)
    out["b"].add_(1)
    assert out["a"].tolist() == [1.0, 1.0, 1.0] and out["b"].tolist() == [1.0, 1.0, 1.0]


def test_shared_container_stored_twice():
    inner = [1, 2]
    out = roundtrip({"a": inner, "b": inner})
    assert out["a"] == out["b"] == [1, 2]


# -- devices and map_location --------------------------------------------------------------


def test_map_location_to_cpu(device):
    t = disttorch.randn(2, 3, device=device)
    p = nn.Parameter(disttorch.randn(2, device=device))
    blob = saved_bytes({"t": t, "p": p, "again": t})
    for ml in ["cpu", disttorch.device("cpu"), {"cuda:0": "cpu"}, lambda s, loc: s]:
        out = load(io.BytesIO(blob), map_location=ml)
        assert out["t"].device == disttorch.device("cpu")
        assert out["p"].device == disttorch.device("cpu") and type(out["p"]) is nn.Parameter
        assert out["again"] is out["t"]
        assert host_bytes(out["t"]) == host_bytes(t) and host_bytes(out["p"]) == host_bytes(p)
    # no map_location: the saved device
    out = load(io.BytesIO(blob))
    assert out["t"].device == t.device and out["p"].device == p.device


def test_map_location_callable_gets_cpu_tensor_and_location(device):
    t = disttorch.randn(3, device=device)
    calls = []

    def ml(storage, location):
        calls.append((type(storage), storage.device, location, tuple(storage.shape)))
        return None  # None: restore to the saved location

    out = load(io.BytesIO(saved_bytes([t, t.detach()])), map_location=ml)
    assert calls == [(disttorch.Tensor, disttorch.device("cpu"), str(t.device), (3,))]  # once per array
    assert out[0].device == t.device and host_bytes(out[0]) == host_bytes(t)

    with pytest.raises(TypeError, match="map_location returned"):
        load(io.BytesIO(saved_bytes(t)), map_location=lambda s, loc: "cpu")


def test_map_location_bad_type():
    with pytest.raises(TypeError, match="map_location"):
        load(io.BytesIO(saved_bytes(1)), map_location=3.5)


@pytest.mark.gpu
def test_map_location_cuda_devices():
    t0 = disttorch.randn(4, device="cuda:0")
    t1 = disttorch.randn(4, device="cuda:1")
    c = disttorch.randn(4)
    blob = saved_bytes({"t0": t0, "t1": t1, "c": c})
    out = load(io.BytesIO(blob))
    assert [out[k].device for k in ("t0", "t1", "c")] == [t0.device, t1.device, c.device]
    out = load(io.BytesIO(blob), map_location={"cuda:1": "cpu", "cuda:0": disttorch.device("cuda:1")})
    assert out["t0"].device == disttorch.device("cuda:1")
    assert out["t1"].device == disttorch.device("cpu")
    assert out["c"].device == disttorch.device("cpu")
    out = load(io.BytesIO(blob), map_location="cuda:1")
    assert all(out[k].device == disttorch.device("cuda:1") for k in out)
    out = load(io.BytesIO(blob), map_location=lambda s, loc: s.cuda(1) if loc == "cuda:0" else None)
    assert out["t0"].device == disttorch.device("cuda:1") and out["t1"].device == t1.device
    assert out["c"].device == disttorch.device("cpu")
    for k in out:
        assert host_bytes(out[k]) == host_bytes({"t0": t0, "t1": t1, "c": c}[k])
    # the cpu side of a plain load lands on cuda when asked
    out = load(io.BytesIO(saved_bytes(c)), map_location="cuda")
    assert out.device == disttorch.device("cuda:0")


def _cuda_checkpoint(index=0) -> bytes:
    blob = saved_bytes({"w": disttorch.ones(2)})
    return edit_object(blob, lambda d: {**d, "tensors": [{**e, "device": f"cuda:{index}"} for e in d["tensors"]]})


def test_cuda_checkpoint_without_cuda_needs_map_location(monkeypatch):
    monkeypatch.setattr(_dev, "cuda_available", lambda: False)
    blob = _cuda_checkpoint()
    with pytest.raises(RuntimeError, match=r"CUDA device but disttorch.cuda.is_available\(\) is False.*map_location"):
        load(io.BytesIO(blob))
    out = load(io.BytesIO(blob), map_location="cpu")
    assert out["w"].device == disttorch.device("cpu") and out["w"].tolist() == [1.0, 1.0]
    out = load(io.BytesIO(blob), map_location={"cuda:0": "cpu"})
    assert out["w"].device == disttorch.device("cpu")


@pytest.mark.gpu
def test_cuda_checkpoint_on_missing_device_index():
    with pytest.raises(RuntimeError, match="CUDA device 7 but disttorch.cuda.device_count"):
        load(io.BytesIO(_cuda_checkpoint(7)))
    assert load(io.BytesIO(_cuda_checkpoint(7)), map_location={"cuda:7": "cuda:0"})["w"].device == \
        disttorch.device("cuda:0")


# -- RNG state -----------------------------------------------------------------------------


def test_rng_state_roundtrip(tmp_path):
    disttorch.manual_seed(1234)
    disttorch.rand(5)
    save({"rng": disttorch.get_rng_state()}, tmp_path / "rng.pt")
    expected = disttorch.rand(10).tolist() + disttorch.randn(3).tolist()
    disttorch.manual_seed(99)
    disttorch.rand(7)
    state = load(tmp_path / "rng.pt")["rng"]
    assert state.dtype == disttorch.uint8
    disttorch.set_rng_state(state)
    assert disttorch.rand(10).tolist() + disttorch.randn(3).tolist() == expected


# -- unsupported objects -------------------------------------------------------------------


class Foo:
    pass


def _unsupported_cases():
    return [
        (Foo(), "Foo"),
        (lambda: 1, "function"),
        ({1, 2}, "set"),
        (frozenset(), "frozenset"),
        (1 + 2j, "complex"),
        (b"bytes", "bytes"),
        (np.zeros(2), "numpy.ndarray"),
        (np.array([object()], dtype=object), "numpy.ndarray"),
        (np.float32(1.0), "numpy.float32"),
        (np.float64(1.0), "numpy.float64"),
        (np.int64(1), "numpy.int64"),
        (disttorch.nn.Module(), "Module"),
        (range(3), "range"),
        (type("MyDict", (dict,), {})(), "MyDict"),
    ]


@pytest.mark.parametrize("case", range(len(_unsupported_cases())))
def test_unsupported_objects_raise_at_save_naming_the_path(case, tmp_path):
    bad, tname = _unsupported_cases()[case]
    obj = {"model": {"w": disttorch.ones(1), "x": bad}}
    path = tmp_path / "ck.pt"
    save({"previous": 1}, path)
    with pytest.raises(TypeError) as ei:
        save(obj, path)
    msg = str(ei.value)
    assert "cannot save object of type" in msg and tname in msg
    assert "at checkpoint['model']['x']" in msg
    assert "disttorch.save stores tensors, numbers, strings, None, dtypes, devices and nested dict/list/tuple" in msg
    # nothing was written: the previous checkpoint is intact and no temp file is left
    assert load(path) == {"previous": 1}
    assert os.listdir(tmp_path) == ["ck.pt"]
    with pytest.raises(TypeError):
        save(obj, io.BytesIO())


def test_unsupported_paths_in_lists_tuples_and_int_keys():
    with pytest.raises(TypeError, match=r"at checkpoint\[2\]\[0\]\[3\]: "):
        save([0, 1, [[0, 1, 2, Foo()]]], io.BytesIO())
    with pytest.raises(TypeError, match=r"at checkpoint\['state'\]\[0\]\['buf'\]\[1\]: "):
        save({"state": {0: {"buf": (1, {2})}}}, io.BytesIO())
    with pytest.raises(TypeError, match=r"at checkpoint: "):
        save(Foo(), io.BytesIO())


def test_bad_dict_keys():
    with pytest.raises(TypeError, match=r"dict key \(1, 2\) of type tuple at checkpoint\['a'\]"):
        save({"a": {(1, 2): 3}}, io.BytesIO())
    with pytest.raises(TypeError, match="dict key"):
        save({disttorch.float32: 1}, io.BytesIO())


def test_unsupported_tensor_subclass():
    class MyTensor(disttorch.Tensor):
        _make_subclass = staticmethod(nn.parameter._make_subclass)

    t = MyTensor._make_subclass(MyTensor, disttorch.ones(2))
    with pytest.raises(TypeError, match=r"tensor subclass .*MyTensor at checkpoint\['t'\]"):
        save({"t": t}, io.BytesIO())


def test_circular_reference():
    a = [1]
    a.append(a)
    with pytest.raises(ValueError, match=r"circular reference"):
        save(a, io.BytesIO())
    d = {}
    d["self"] = {"x": d}
    with pytest.raises(ValueError, match=r"checkpoint\['self'\]\['x'\]"):
        save(d, io.BytesIO())


def test_bad_file_argument():
    with pytest.raises(TypeError, match="binary file object"):
        save(1, 42)
    with pytest.raises(TypeError, match="binary file object"):
        load(42)
    with pytest.raises(TypeError):
        save(1, io.StringIO())


# -- atomic writes -------------------------------------------------------------------------


def _crash_half_way(monkeypatch, exc):
    real = safetensors.serialize_file

    def crashing(tensors, filename, metadata=None):
        real(tensors, filename, metadata=metadata)
        size = os.path.getsize(filename)
        with open(filename, "r+b") as fh:
            fh.truncate(size // 2)
        raise exc

    monkeypatch.setattr(safetensors, "serialize_file", crashing)


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_crash_mid_save_keeps_previous_checkpoint(tmp_path, monkeypatch, exc):
    path = tmp_path / "ck.pt"
    old = {"epoch": 1, "w": disttorch.ones(1000)}
    save(old, path)
    before = path.read_bytes()
    _crash_half_way(monkeypatch, exc)
    with pytest.raises(type(exc)):
        save({"epoch": 2, "w": disttorch.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert_same(old, load(path))
    assert os.listdir(tmp_path) == ["ck.pt"]
    monkeypatch.undo()
    save({"epoch": 2}, path)
    assert load(path) == {"epoch": 2}
    assert os.listdir(tmp_path) == ["ck.pt"]


def test_crash_in_fsync_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"

    def failing_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output"):
        save({"a": disttorch.ones(3)}, path)
    assert os.listdir(tmp_path) == []


def test_save_writes_through_fsync_and_rename(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", os.path.dirname(a))),
                                                     real_replace(a, b))[1])
    save({"a": 1}, path)
    assert events == ["fsync", ("replace", str(tmp_path)), "fsync"]  # file, rename in place, directory
    assert load(path) == {"a": 1}


def test_overwrite_keeps_mode_and_follows_symlink(tmp_path):
    path = tmp_path / "ck.pt"
    save(1, path)
    os.chmod(path, 0o600)
    save(2, path)
    assert load(path) == 2 and (os.stat(path).st_mode & 0o777) == 0o600
    link = tmp_path / "latest.pt"
    os.symlink(path, link)
    save(3, link)
    assert os.path.islink(link) and load(path) == 3


def test_missing_parent_directory(tmp_path):
    with pytest.raises(RuntimeError, match="Parent directory .*nope does not exist"):
        save(1, tmp_path / "nope" / "ck.pt")


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.pt")


# -- corrupted and foreign files -----------------------------------------------------------


def _good_blob():
    return saved_bytes({"w": disttorch.randn(10), "epoch": 3, "b": disttorch.ones(4, dtype=disttorch.bfloat16)})


def _corrupt_cases():
    good = _good_blob()
    header, data = split(good)
    n = int.from_bytes(good[:8], "little")
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    wrong_offsets = json.loads(json.dumps(header))
    name = next(k for k in wrong_offsets if k != "__metadata__")
    wrong_offsets[name]["data_offsets"][1] += 4
    bad_dtype_len = json.loads(json.dumps(header))
    bad_dtype_len[name]["shape"] = [999]
    return {
        "empty": b"",
        "tiny": b"\x01\x02\x03",
        "only_length": good[:8],
        "mid_header": good[: 8 + n // 2],
        "mid_data": good[: 8 + n + len(data) // 2],
        "one_byte_short": good[:-1],
        "trailing_garbage": good + b"garbage!",
        "text": b"epoch: 3\nloss: 0.25\nthis is just a text file\n",
        "zip": zbuf.getvalue(),
        "pickle": b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.",
        "flipped_header_byte": good[:8] + good[8:9].replace(b"{", b"[") + good[9:],
        "header_not_json": good[:8] + b"{" + b"\xff" * (n - 1) + data,
        "header_list": join({"a": [1, 2]}, b""),
        "wrong_offsets": join(wrong_offsets, data + b"\x00" * 4),
        "shape_mismatch": join(bad_dtype_len, data),
        "object_not_json": join({**header, "__metadata__": {**header["__metadata__"], "disttorch.object": "{nope"}}, data),
        "object_missing": join({**header, "__metadata__": {"disttorch.checkpoint": "1"}}, data),
        "newer_version": join({**header, "__metadata__": {**header["__metadata__"], "disttorch.checkpoint": "9"}}, data),
        "missing_tensor": edit_object(good, lambda d: {**d, "tensors": [{**e, "data": "77"} for e in d["tensors"]]}),
        "bad_tensor_ref": edit_object(good, lambda d: {**d, "root": {"$": "tensor", "i": 5}}),
        "unknown_tag": edit_object(good, lambda d: {**d, "root": {"$": "pickle", "v": "os.system"}}),
        "bad_device": edit_object(good, lambda d: {**d, "tensors": [{**e, "device": "tpu:0"} for e in d["tensors"]]}),
        "bad_dtype_obj": edit_object(good, lambda d: {**d, "root": {"$": "dtype", "v": "complex128"}}),
        "bad_dict": edit_object(good, lambda d: {**d, "root": {"$": "dict", "k": [1], "v": []}}),
        "list_key": edit_object(good, lambda d: {**d, "root": {"$": "dict", "k": [[1]], "v": [2]}}),
    }


@pytest.mark.parametrize("case", list(_corrupt_cases()))
def test_corrupted_or_foreign_files_raise_clear_runtime_error(case, tmp_path):
    blob = _corrupt_cases()[case]
    path = tmp_path / f"{case}.pt"
    path.write_bytes(blob)
    with pytest.raises(RuntimeError, match=f"'{path}' {BAD}: .+"):
        load(path)
    if case == "trailing_garbage":  # a stream is read up to the checkpoint's end: the rest stays
        buf = io.BytesIO(blob)
        assert load(buf)["epoch"] == 3 and buf.read() == b"garbage!"
        return
    with pytest.raises(RuntimeError, match=f"<BytesIO> {BAD}: .+"):
        load(io.BytesIO(blob))


def test_corrupted_reasons_are_specific(tmp_path):
    cases = _corrupt_cases()
    reasons = {
        "empty": "the file is empty",
        "mid_data": "truncated",
        "trailing_garbage": "unexpected bytes after the tensor data",
        "zip": "zip archive",
        "newer_version": "newer disttorch",
    }
    for case, reason in reasons.items():
        path = tmp_path / f"{case}.pt"
        path.write_bytes(cases[case])
        with pytest.raises(RuntimeError, match=reason):
            load(path)


def test_real_torch_file_is_rejected(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(3), "epoch": 1}, path)
    with pytest.raises(RuntimeError, match=f"'{path}' {BAD}: it is a zip archive"):
        load(path)
    legacy = io.BytesIO()
    torch.save({"w": torch.ones(3)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match=BAD):
        load(io.BytesIO(legacy.getvalue()))


def test_valid_safetensors_header_checked_before_data(tmp_path):
    # a checkpoint whose object refers to data with a dtype disttorch has no name for
    good = _good_blob()
    header, data = split(good)
    name = next(k for k in header if k != "__metadata__" and header[k]["dtype"] == "F32")
    header[name]["dtype"] = "U32"
    path = tmp_path / "u32.pt"
    path.write_bytes(join(header, data))
    with pytest.raises(TypeError, match=f"tensor '{name}' has safetensors dtype U32"):
        load(path)


# -- plain safetensors files ---------------------------------------------------------------


def test_plain_safetensors_roundtrip(tmp_path, device):
    sd = OrderedDict([
        ("layer.weight", disttorch.randn(3, 4, device=device)),
        ("layer.bias", disttorch.randn(4, device=device).to(disttorch.bfloat16)),
        ("steps", disttorch.tensor(3, device=device)),
        ("mask", disttorch.tensor([True, False], device=device)),
        ("t", disttorch.randn(4, 3, device=device).transpose(0, 1)),
        ("empty", disttorch.zeros(0, 5, device=device)),
    ])
    path = tmp_path / "model.safetensors"
    save_safetensors_state_dict(sd, path, metadata={"format": "pt", "note": "x"})
    with safetensors.safe_open(path, framework="numpy") as f:
        assert f.metadata() == {"format": "pt", "note": "x"}
        assert sorted(f.keys()) == sorted(sd)
    for out in (load_safetensors_state_dict(path), load(path)):
        assert type(out) is dict and sorted(out) == sorted(sd)
        for k, v in sd.items():
            assert out[k].device == disttorch.device("cpu")
            assert out[k].dtype == v.dtype and tuple(out[k].shape) == tuple(v.shape)
            assert host_bytes(out[k]) == host_bytes(v.contiguous()), k
    out = load_safetensors_state_dict(path, device=device)
    assert all(v.device == sd["steps"].device for v in out.values())
    out = load(path, map_location=device)
    assert all(v.device == sd["steps"].device for v in out.values())


def test_plain_safetensors_from_numpy_and_bytesio():
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array(2.5)}
    blob = safetensors.numpy.save(arrays)
    out = load(io.BytesIO(blob))
    assert list(out) == list(load_safetensors_state_dict(io.BytesIO(blob)))
    assert out["a"].tolist() == arrays["a"].tolist() and out["b"].item() == 2.5 and out["b"].dim() == 0
    assert load(io.BytesIO(safetensors.numpy.save({}))) == {}


def test_plain_safetensors_unsupported_dtype(tmp_path):
    path = tmp_path / "u16.safetensors"
    safetensors.numpy.save_file({"ok": np.ones(2, np.float32), "bad": np.ones(2, np.uint16)}, path)
    with pytest.raises(TypeError, match="tensor 'bad' has safetensors dtype U16"):
        load_safetensors_state_dict(path)


def test_save_safetensors_state_dict_errors(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match="keys must be str"):
        save_safetensors_state_dict({1: disttorch.ones(1)}, path)
    with pytest.raises(TypeError, match=r"state_dict\['a'\] is a int, not a Tensor"):
        save_safetensors_state_dict({"a": 1}, path)
    with pytest.raises(TypeError, match="mapping"):
        save_safetensors_state_dict([disttorch.ones(1)], path)
    with pytest.raises(TypeError, match="metadata"):
        save_safetensors_state_dict({"a": disttorch.ones(1)}, path, metadata={"v": 1})
    with pytest.raises(ValueError, match="reserved"):
        save_safetensors_state_dict({"a": disttorch.ones(1)}, path, metadata={"disttorch.checkpoint": "1"})
    assert not path.exists()


def test_load_safetensors_state_dict_rejects_checkpoints(tmp_path):
    save({"w": disttorch.ones(1)}, tmp_path / "ck.pt")
    with pytest.raises(ValueError, match="is a disttorch checkpoint.*read it with disttorch.load"):
        load_safetensors_state_dict(tmp_path / "ck.pt")


def test_checkpoint_is_a_valid_safetensors_file(tmp_path):
    ck = {"w": disttorch.randn(3), "b": disttorch.ones(2, dtype=disttorch.bfloat16), "i": disttorch.arange(4)}
    save(ck, tmp_path / "ck.pt")
    with safetensors.safe_open(tmp_path / "ck.pt", framework="numpy") as f:
        meta = f.metadata()
        assert meta["disttorch.checkpoint"] == "1"
        json.loads(meta["disttorch.object"])
        assert len(f.keys()) == 3
    safetensors.deserialize(saved_bytes(ck))


def test_load_accepts_torch_keyword_arguments():
    blob = saved_bytes({"a": 1})
    assert load(io.BytesIO(blob), weights_only=False) == {"a": 1}
    assert load(io.BytesIO(blob), None, None, weights_only=True, mmap=False) == {"a": 1}
    buf = io.BytesIO()
    save({"a": 1}, buf, pickle_protocol=4, _use_new_zipfile_serialization=True)
    assert load(io.BytesIO(buf.getvalue())) == {"a": 1}


# -- interop with PyTorch ------------------------------------------------------------------


def test_pytorch_safetensors_file_loads(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file

    g = torch.Generator().manual_seed(0)
    sd = {
        "fc.weight": torch.randn(4, 3, generator=g),
        "fc.bias": torch.randn(4, generator=g, dtype=torch.float64),
        "emb.weight": torch.randn(5, 2, generator=g).to(torch.bfloat16),
        "half": torch.randn(3, generator=g).to(torch.float16),
        "steps": torch.tensor(17),
        "idx": torch.tensor([1, 2], dtype=torch.int32),
        "mask": torch.tensor([True, False]),
        "bytes": torch.tensor([0, 255], dtype=torch.uint8),
        "small": torch.tensor([-3, 4], dtype=torch.int8),
        "short": torch.tensor([-300], dtype=torch.int16),
        "scalar": torch.tensor(1.5),
    }
    path = tmp_path / "model.safetensors"
    save_file(sd, str(path), metadata={"format": "pt"})
    for out in (load_safetensors_state_dict(path), load(path), load_safetensors_state_dict(str(path))):
        assert list(out) == list(load_file(str(path)))  # the same (file) order
        for k, v in sd.items():
            ours = out[k]
            assert str(ours.dtype).split(".")[-1] == str(v.dtype).split(".")[-1], k
            assert tuple(ours.shape) == tuple(v.shape), k
            assert host_bytes(ours) == v.reshape(-1).view(torch.uint8).numpy().tobytes(), k
    out = load_safetensors_state_dict(path)
    np.testing.assert_array_equal(out["emb.weight"].float().numpy(), sd["emb.weight"].float().numpy())
    np.testing.assert_array_equal(out["half"].float().numpy(), sd["half"].float().numpy())


def test_disttorch_file_loads_in_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    sd = {
        "w": disttorch.randn(3, 4),
        "wt": disttorch.randn(4, 3).transpose(0, 1),
        "bf": disttorch.randn(5).to(disttorch.bfloat16),
        "h": disttorch.randn(2, 2).to(disttorch.float16),
        "d": disttorch.randn(2, dtype=disttorch.float64),
        "i": disttorch.arange(3),
        "b": disttorch.tensor([True, False]),
        "s": disttorch.tensor(2.0),
        "u": disttorch.tensor([7], dtype=disttorch.uint8),
    }
    path = tmp_path / "ours.safetensors"
    save_safetensors_state_dict(sd, path)
    theirs = load_file(str(path))
    assert sorted(theirs) == sorted(sd)
    for k, v in sd.items():
        t = theirs[k]
        assert str(t.dtype).split(".")[-1] == v.dtype.name, k
        assert tuple(t.shape) == tuple(v.shape), k
        assert t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() == host_bytes(v.contiguous()), k
    # a model state dict saved this way loads into the same PyTorch module
    lin = torch.nn.Linear(3, 2)
    ours = {"weight": disttorch.randn(2, 3), "bias": disttorch.randn(2)}
    save_safetensors_state_dict(ours, path)
    lin.load_state_dict(load_file(str(path)))
    np.testing.assert_array_equal(lin.weight.detach().numpy(), ours["weight"].numpy())
