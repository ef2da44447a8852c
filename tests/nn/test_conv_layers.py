"""Convolution and pooling layers (and the functional lp_pool / max_unpool): parity with
torch for outputs and every grad, repr, state_dict keys, default init, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from parity import check, check_error, gradcheck, need_torch, to_numpy, torch

import disttorch
from disttorch import nn
from disttorch.nn import functional as F


def _close(ours, theirs, name, atol, rtol):
    assert tuple(ours.shape) == tuple(theirs.shape), f"{name}: {tuple(ours.shape)} != {tuple(theirs.shape)}"
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], name
    np.testing.assert_allclose(to_numpy(ours), theirs.detach().numpy(), atol=atol, rtol=rtol, err_msg=name)


def _copy_state(ours, theirs, device):
    ours.load_state_dict({k: disttorch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours.to(device)


def module_parity(make, x_shape, device, dtype="float64", call=None, steps=1, seed=0,
                  atol=None, rtol=None, low=-2.0, high=2.0):
    """Build the layer in both libraries (``make(lib)``), copy torch's state into ours, run
    ``steps`` forward/backward passes on the same inputs and upstream grads, and compare the
    outputs, the input grad, every parameter grad and every buffer."""
    need_torch()
    if atol is None:
        atol, rtol = (1e-10, 1e-8) if dtype == "float64" else (2e-5, 2e-4)
    tdt = getattr(torch, dtype)
    ddt = getattr(disttorch, dtype)
    theirs = make(torch).to(tdt)
    ours = _copy_state(make(disttorch).to(ddt), theirs, device)
    call = call or (lambda m, x: m(x))
    rng = np.random.default_rng(seed)
    for step in range(steps):
        x = rng.uniform(low, high, size=x_shape).astype(dtype)
        tx = torch.tensor(x, requires_grad=True)
        dx = disttorch.tensor(x, device=device, requires_grad=True)
        ty, dy = call(theirs, tx), call(ours, dx)
        t_outs = ty if isinstance(ty, tuple) else (ty,)
        d_outs = dy if isinstance(dy, tuple) else (dy,)
        for i, (d, t) in enumerate(zip(d_outs, t_outs)):
            _close(d, t, f"step {step} output {i}", atol, rtol)
        up = rng.uniform(0.5, 1.5, size=tuple(t_outs[0].shape)).astype(dtype)
        t_outs[0].backward(torch.tensor(up))
        d_outs[0].backward(disttorch.tensor(up, device=device))
        _close(dx.grad, tx.grad, f"step {step} input grad", atol * 10, rtol * 10)
        tp = dict(theirs.named_parameters())
        dp = dict(ours.named_parameters())
        assert tp.keys() == dp.keys()
        for k in tp:
            _close(dp[k].grad, tp[k].grad, f"step {step} grad of {k}", atol * 10, rtol * 10)
        tb = dict(theirs.named_buffers())
        db = dict(ours.named_buffers())
        assert tb.keys() == db.keys()
        for k in tb:
            _close(db[k], tb[k], f"step {step} buffer {k}", atol, rtol)
        theirs.zero_grad()
        ours.zero_grad()
    return ours, theirs


# -- convolution layers ------------------------------------------------------------------------
CONV1D = [
    dict(),
    dict(stride=2, padding=1),
    dict(dilation=2, padding=2, bias=False),
    dict(groups=2),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
    dict(padding=2, padding_mode="reflect"),
    dict(padding=1, padding_mode="replicate", stride=2),
    dict(padding="same", padding_mode="circular"),
]
CONV2D = [
    dict(),
    dict(stride=(2, 1), padding=(1, 2)),
    dict(dilation=(2, 1), padding=1, bias=False),
    dict(groups=2, stride=2),
    dict(groups=4),
    dict(padding="same"),
    dict(padding=(1, 2), padding_mode="reflect"),
    dict(padding=1, padding_mode="replicate"),
    dict(padding=(2, 1), padding_mode="circular", stride=2),
]


@pytest.mark.parametrize("kw", CONV1D, ids=str)
def test_conv1d_parity(kw, device):
    module_parity(lambda lib: lib.nn.Conv1d(4, 6, 3, **kw), (3, 4, 11), device)


@pytest.mark.parametrize("kw", CONV2D, ids=str)
def test_conv2d_parity(kw, device):
    module_parity(lambda lib: lib.nn.Conv2d(4, 8, (3, 2), **kw), (2, 4, 9, 8), device)


def test_conv2d_float32_and_unbatched(device):
    module_parity(lambda lib: lib.nn.Conv2d(3, 5, 3, padding=1), (2, 3, 7, 6), device,
                  dtype="float32")
    module_parity(lambda lib: lib.nn.Conv2d(3, 5, 3, stride=2), (3, 7, 6), device)
    module_parity(lambda lib: lib.nn.Conv1d(3, 5, 2, padding_mode="reflect", padding=1),
                  (3, 7), device)


def test_conv3d_parity(device):
    module_parity(lambda lib: lib.nn.Conv3d(2, 4, (2, 3, 2), padding=(1, 0, 1), stride=(1, 2, 1)),
                  (2, 2, 4, 6, 5), device)


CONVT = [
    dict(),
    dict(stride=2),
    dict(stride=2, padding=1, output_padding=1),
    dict(stride=3, output_padding=2, dilation=2, bias=False),
    dict(groups=2, stride=2, padding=1),
]


@pytest.mark.parametrize("kw", CONVT, ids=str)
def test_conv_transpose1d_parity(kw, device):
    module_parity(lambda lib: lib.nn.ConvTranspose1d(4, 6, 3, **kw), (2, 4, 7), device)


@pytest.mark.parametrize("kw", CONVT, ids=str)
def test_conv_transpose2d_parity(kw, device):
    module_parity(lambda lib: lib.nn.ConvTranspose2d(4, 6, (3, 2), **kw), (2, 4, 5, 4), device)


def test_conv_transpose_output_size(device):
    make = lambda lib: lib.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)  # noqa: E731
    for size in ([9, 7], [10, 8], [2, 4, 10, 7]):
        ours, _ = module_parity(make, (2, 3, 5, 4), device, call=lambda m, x, s=size: m(x, output_size=s))
        assert tuple(ours(disttorch.zeros(2, 3, 5, 4, device=device, dtype=disttorch.float64),
                          output_size=size).shape[-2:]) == tuple(size[-2:])
    module_parity(lambda lib: lib.nn.ConvTranspose1d(3, 4, 3, stride=3), (3, 5), device,
                  call=lambda m, x: m(x, output_size=[17]))
    module_parity(lambda lib: lib.nn.ConvTranspose2d(3, 4, 2, stride=2), (2, 3, 4, 4), device,
                  dtype="float32")


def test_conv_transpose3d_parity(device):
    module_parity(lambda lib: lib.nn.ConvTranspose3d(2, 3, 2, stride=2, output_padding=1),
                  (1, 2, 3, 2, 3), device)


def test_conv_repr_and_state_dict():
    need_torch()
    for spec in [
        "Conv1d(3, 8, 3)", "Conv2d(3, 8, 3)", "Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2))",
        "Conv2d(4, 8, 3, dilation=2, groups=2, bias=False, padding_mode='reflect', padding=1)",
        "Conv1d(3, 8, 3, padding='same', bias=False, padding_mode='circular')",
        "Conv2d(3, 8, 3, padding='valid')", "Conv3d(2, 4, 3, stride=(1, 2, 2))",
        "ConvTranspose1d(3, 8, 3, stride=2, output_padding=1)",
        "ConvTranspose2d(3, 8, 3, output_padding=1, stride=2, dilation=2, groups=1)",
        "ConvTranspose2d(4, 8, 3, groups=4, bias=False)", "ConvTranspose3d(2, 4, 2)",
    ]:
        t, d = eval("torch.nn." + spec), eval("disttorch.nn." + spec)
        assert repr(d) == repr(t)
        assert list(d.state_dict()) == list(t.state_dict())
        for k, v in t.state_dict().items():
            assert tuple(d.state_dict()[k].shape) == tuple(v.shape)
        for attr in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
                     "transposed", "output_padding", "groups", "padding_mode",
                     "_reversed_padding_repeated_twice"):
            assert getattr(d, attr) == getattr(t, attr), (spec, attr)


@pytest.mark.parametrize("spec,fan_in", [
    ("Conv2d(16, 32, 3)", 16 * 9),
    ("Conv1d(8, 64, 5, groups=4)", 2 * 5),
    ("ConvTranspose2d(16, 12, 3)", 12 * 9),
    ("ConvTranspose1d(8, 12, 4, groups=2)", 6 * 4),
])
def test_conv_default_init(spec, fan_in):
    disttorch.manual_seed(0)
    m = eval("disttorch.nn." + spec)
    bound = 1 / math.sqrt(fan_in)
    for p in (m.weight, m.bias):
        a = to_numpy(p)
        assert np.abs(a).max() <= bound
        if a.size >= 50:  # a smaller bound would show: P(all |x| < 0.8 b) = 0.8**50
            assert np.abs(a).max() > 0.8 * bound
        if a.size > 1000:
            assert abs(a.mean()) < 0.05 * bound
            assert abs(a.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert m.weight.requires_grad and m.weight.dtype == disttorch.float32


def test_conv_factory_kwargs(device):
    m = nn.Conv2d(2, 3, 2, dtype=disttorch.float64, device=device)
    assert m.weight.dtype == disttorch.float64 and m.bias.dtype == disttorch.float64
    assert m.weight.device.type == device
    m = nn.ConvTranspose1d(2, 3, 2, bias=False, device=device)
    assert m.bias is None and m.weight.device.type == device


def test_conv_errors():
    check_error(lambda t: t.nn.Conv2d(4, 8, 3, groups=0), ValueError,
                match="groups must be a positive integer")
    check_error(lambda t: t.nn.Conv2d(3, 8, 3, groups=2), ValueError,
                match="in_channels must be divisible by groups")
    check_error(lambda t: t.nn.Conv2d(4, 6, 3, groups=4), ValueError,
                match="out_channels must be divisible by groups")
    check_error(lambda t: t.nn.Conv2d(4, 6, 3, padding="full"), ValueError,
                match="Invalid padding string 'full'")
    check_error(lambda t: t.nn.Conv1d(4, 6, 3, padding="same", stride=2), ValueError,
                match="padding='same' is not supported for strided convolutions")
    check_error(lambda t: t.nn.Conv1d(4, 6, 3, padding_mode="mirror"), ValueError,
                match="padding_mode must be one of")
    check_error(lambda t: t.nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect"), ValueError,
                match='Only "zeros" padding mode is supported for ConvTranspose2d')
    check_error(lambda t: t.nn.ConvTranspose2d(2, 3, 3, stride=2)(t.zeros(1, 2, 4, 4),
                                                                 output_size=[1, 2, 3]),
                ValueError, match="output_size must have 2 or 4 elements")
    check_error(lambda t: t.nn.ConvTranspose2d(2, 3, 3, stride=2)(t.zeros(1, 2, 4, 4),
                                                                 output_size=[12, 9]),
                ValueError, match=r"requested an output size of \[12, 9\], but valid sizes range "
                                  r"from \[9, 9\] to \[10, 10\]")
    check_error(lambda t: t.nn.Conv2d(3, 4, 3)(t.zeros(1, 2, 5, 5)), RuntimeError)
    check_error(lambda t: t.nn.Conv2d(3, 4, 3)(t.zeros(1, 3, 2, 2)), RuntimeError)


def test_conv_in_a_model_trains(device):
    """A small conv net: loss goes down under plain gradient steps."""
    disttorch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(4, 2, 3),
                          nn.AdaptiveAvgPool2d(1)).to(device)
    x = disttorch.randn(4, 1, 8, 8, device=device)
    target = disttorch.randn(4, 2, 1, 1, device=device)
    losses = []
    for _ in range(20):
        loss = ((model(x) - target) ** 2).mean()
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with disttorch.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
    assert losses[-1] < losses[0] * 0.8


# -- pooling layers ------------------------------------------------------------------------------
POOL1D = [
    "MaxPool1d(2)", "MaxPool1d(3, stride=1, padding=1)", "MaxPool1d(3, 2, dilation=2, ceil_mode=True)",
    "MaxPool1d(2, return_indices=True)",
    "AvgPool1d(2)", "AvgPool1d(3, stride=2, padding=1, count_include_pad=False)",
    "AvgPool1d(3, 2, ceil_mode=True)",
    "AdaptiveAvgPool1d(3)", "AdaptiveAvgPool1d(4)", "AdaptiveMaxPool1d(3)",
    "AdaptiveMaxPool1d(4, return_indices=True)",
    "LPPool1d(2, 3)", "LPPool1d(1.5, 2, stride=1)", "LPPool1d(3, 3, ceil_mode=True)",
]
POOL2D = [
    "MaxPool2d(2)", "MaxPool2d((3, 2), stride=(1, 2), padding=1)",
    "MaxPool2d(3, 2, dilation=(1, 2), ceil_mode=True)", "MaxPool2d(2, return_indices=True)",
    "AvgPool2d(2)", "AvgPool2d((3, 2), stride=1, padding=1, count_include_pad=False)",
    "AvgPool2d(3, 2, ceil_mode=True, divisor_override=4)",
    "AdaptiveAvgPool2d((3, 2))", "AdaptiveAvgPool2d((2, None))", "AdaptiveAvgPool2d(1)",
    "AdaptiveMaxPool2d((3, 4))", "AdaptiveMaxPool2d(2, return_indices=True)",
    "LPPool2d(2, 2)", "LPPool2d(1.5, (2, 3), stride=1)",
]


@pytest.mark.parametrize("spec", POOL1D)
def test_pool1d_parity(spec, device):
    low = 0.1 if spec.startswith("LPPool") else -2.0  # fractional powers need x >= 0
    module_parity(lambda lib: eval("lib.nn." + spec), (2, 3, 9), device, low=low)
    module_parity(lambda lib: eval("lib.nn." + spec), (3, 8), device, low=low)


@pytest.mark.parametrize("spec", POOL2D)
def test_pool2d_parity(spec, device):
    low = 0.1 if spec.startswith("LPPool") else -2.0
    module_parity(lambda lib: eval("lib.nn." + spec), (2, 3, 7, 8), device, low=low)
    module_parity(lambda lib: eval("lib.nn." + spec), (3, 6, 7), device, low=low,
                  dtype="float32")


@pytest.mark.parametrize("spec", ["MaxPool3d(2)", "AvgPool3d((2, 1, 2), stride=1)",
                                  "AdaptiveAvgPool3d((2, 1, 3))", "AdaptiveMaxPool3d(2)",
                                  "LPPool3d(2, 2)"])
def test_pool3d_parity(spec, device):
    module_parity(lambda lib: eval("lib.nn." + spec), (2, 2, 4, 5, 6), device, low=0.1)


def test_pool_repr():
    need_torch()
    for spec in POOL1D + POOL2D + [
        "MaxPool3d(2)", "AvgPool3d(2, stride=1)", "AdaptiveAvgPool3d((2, None, 3))",
        "AdaptiveMaxPool3d(2)", "LPPool3d(2, 2)", "MaxUnpool1d(2)", "MaxUnpool2d((2, 3), stride=1)",
        "MaxUnpool3d(2, padding=1)", "MaxPool2d(2, padding=(1, 0))",
    ]:
        t, d = eval("torch.nn." + spec), eval("disttorch.nn." + spec)
        assert repr(d) == repr(t), spec
        assert not list(d.state_dict())


UNPOOL = [
    (1, dict(kernel_size=2), (2, 3, 8), None),
    (1, dict(kernel_size=3, stride=2, padding=1), (2, 3, 9), None),
    (1, dict(kernel_size=2), (3, 8), [9]),
    (2, dict(kernel_size=2), (2, 3, 6, 8), None),
    (2, dict(kernel_size=(2, 3), stride=(2, 2), padding=(1, 1)), (2, 3, 7, 8), [7, 8]),
    (2, dict(kernel_size=2), (3, 6, 8), [1, 3, 7, 9]),
    (3, dict(kernel_size=2), (1, 2, 4, 4, 6), None),
]


@pytest.mark.parametrize("nd,kw,shape,out", UNPOOL, ids=str)
def test_max_unpool_parity(nd, kw, shape, out, device):
    def make(lib):
        pool = getattr(lib.nn, f"MaxPool{nd}d")(return_indices=True, **kw)
        unpool = getattr(lib.nn, f"MaxUnpool{nd}d")(**kw)

        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.pool, self.unpool = pool, unpool

            def forward(self, x):
                y, i = self.pool(x)
                return self.unpool(y, i, output_size=out)

        return Net()

    module_parity(make, shape, device)


def test_functional_pool_names():
    need_torch()
    import torch.nn.functional as TF

    for name in ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                 "conv_transpose3d", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d",
                 "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
                 "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
                 "adaptive_max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
                 "max_pool3d_with_indices", "adaptive_max_pool1d_with_indices",
                 "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
                 "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d", "max_unpool2d",
                 "max_unpool3d"]:
        assert hasattr(TF, name) and callable(getattr(F, name)), name


def _torch_f():
    return __import__("torch").nn.functional


def test_functional_with_indices(device):
    check([(2, 3, 9)], lambda x: _torch_f().max_pool1d_with_indices(x, 3, 2),
          dt_fn=lambda x: F.max_pool1d_with_indices(x, 3, 2), device=device)
    check([(2, 3, 6, 7)], lambda x: _torch_f().max_pool2d_with_indices(x, 2),
          dt_fn=lambda x: F.max_pool2d_with_indices(x, 2), device=device)
    check([(2, 3, 6, 7)], lambda x: _torch_f().adaptive_max_pool2d_with_indices(x, (2, 3)),
          dt_fn=lambda x: F.adaptive_max_pool2d_with_indices(x, (2, 3)), device=device)
    check([(2, 3, 6, 7)], lambda x: _torch_f().max_pool2d(x, 2, return_indices=True),
          dt_fn=lambda x: F.max_pool2d(x, 2, return_indices=True), device=device)


@pytest.mark.parametrize("shape,p,k,s,ceil", [
    ((2, 3, 9), 2, 3, None, False), ((2, 3, 9), 1.5, 2, 1, False), ((3, 8), 3.0, 3, 2, True),
    ((2, 3, 9), float("inf"), 3, None, False), ((2, 3, 9), -float("inf"), 2, 1, False),
])
def test_lp_pool1d_functional(shape, p, k, s, ceil, device):
    check([shape], lambda x: _torch_f().lp_pool1d(x, p, k, s, ceil),
          dt_fn=lambda x: F.lp_pool1d(x, p, k, s, ceil), device=device, low=0.1)


@pytest.mark.parametrize("shape,p,k,s", [
    ((2, 3, 6, 7), 2, 2, None), ((2, 3, 6, 7), 1.5, (2, 3), 1), ((3, 6, 7), 2, 3, 2),
    ((2, 3, 6, 7), float("inf"), 2, None),
])
def test_lp_pool2d_functional(shape, p, k, s, device):
    check([shape], lambda x: _torch_f().lp_pool2d(x, p, k, s),
          dt_fn=lambda x: F.lp_pool2d(x, p, k, s), device=device, low=0.1)


def test_lp_pool3d_functional(device):
    check([(1, 2, 4, 4, 5)], lambda x: _torch_f().lp_pool3d(x, 2, 2),
          dt_fn=lambda x: F.lp_pool3d(x, 2, 2), device=device, low=0.1)


def test_pool_functional_gradchecks():
    gradcheck([(1, 2, 7)], lambda x: F.lp_pool1d(x, 2, 3, 2), low=0.5)
    gradcheck([(1, 2, 5, 4)], lambda x: F.lp_pool2d(x, 1.5, 2), low=0.5)

    def unpool(x):
        y, i = F.max_pool2d(x, 2, return_indices=True)
        return F.max_unpool2d(y * 2, i, 2, output_size=(5, 5))

    gradcheck([(1, 2, 5, 5)], unpool, second_order=True)


def test_max_unpool_errors():
    def pooled(t, nd):
        x = t.arange(2 * 3 * 4 ** nd, dtype=t.float32).reshape((2, 3) + (4,) * nd)
        return getattr(t.nn.functional, f"max_pool{nd}d")(x, 2, return_indices=True)

    check_error(lambda t: t.nn.functional.max_unpool2d(pooled(t, 2)[0], pooled(t, 2)[1] * 100, 2),
                RuntimeError, match="Found an invalid max index: 1500 \\(output volumes are of size 4x4\\)")
    check_error(lambda t: t.nn.functional.max_unpool2d(pooled(t, 2)[0], -1 - pooled(t, 2)[1], 2),
                RuntimeError, match="Found an invalid max index: -16 ")
    check_error(lambda t: t.nn.functional.max_unpool2d(
        pooled(t, 2)[0], pooled(t, 2)[1] + t.tensor([[0, 0], [0, 20]]), 2),
        RuntimeError, match="Found an invalid max index: 35 ")
    check_error(lambda t: t.nn.functional.max_unpool1d(pooled(t, 1)[0], pooled(t, 1)[1] + 10, 2),
                RuntimeError, match="output volumes are of size 4x1")
    check_error(lambda t: t.nn.functional.max_unpool2d(pooled(t, 2)[0], pooled(t, 2)[1].float(), 2),
                RuntimeError, match="elements in indices should be type int64 but got: Float")
    check_error(lambda t: t.nn.functional.max_unpool2d(pooled(t, 2)[0], pooled(t, 2)[1][:1], 2),
                RuntimeError, match="Expected shape of indices to be same as that of the input")
    check_error(lambda t: t.nn.functional.max_unpool2d(pooled(t, 2)[0], pooled(t, 2)[1], 2,
                                                       output_size=(1, 2, 3)),
                ValueError, match="output_size should be a sequence containing 2 or 4 elements, "
                                  "but it has a length of '3'")
    check_error(lambda t: t.nn.functional.max_unpool2d(pooled(t, 2)[0], pooled(t, 2)[1], 2,
                                                       output_size=(9, 4)),
                ValueError, match=r'invalid output_size "\[9, 4\]" \(dim 0 must be between 2 and 6\)')
    check_error(lambda t: t.nn.functional.max_unpool2d(t.zeros(4, 4), t.zeros(4, 4, dtype=t.long), 2),
                RuntimeError, match="Input to max_unpooling2d should be a 3d or 4d Tensor, but got "
                                    "a tensor with 2 dimensions")


def test_pool_module_errors():
    check_error(lambda t: t.nn.MaxPool2d(2)(t.zeros(2, 2)), RuntimeError)
    check_error(lambda t: t.nn.AvgPool1d(4)(t.zeros(1, 2, 3)), RuntimeError)
    check_error(lambda t: t.nn.AdaptiveAvgPool2d((1, 2, 3))(t.zeros(1, 2, 3, 3)), RuntimeError)
    check_error(lambda t: t.nn.LPPool1d(2, (2,))(t.ones(1, 2, 5)), TypeError)
