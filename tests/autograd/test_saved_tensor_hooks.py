"""Saved-tensor hooks: ``saved_tensors_hooks``, ``disable_saved_tensors_hooks``, ``save_on_cpu``."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import disttorch
from disttorch.autograd.graph import disable_saved_tensors_hooks, save_on_cpu, saved_tensors_hooks


def counting_hooks(lib, log=None):
    counts = [0, 0]

    def pack(x):
        counts[0] += 1
        if log is not None:
            log.append(("pack", tuple(x.shape), lib.is_grad_enabled()))
        return x

    def unpack(x):
        counts[1] += 1
        return x

    return counts, lib.autograd.graph.saved_tensors_hooks(pack, unpack)


PROGRAMS = {
    "mul": lambda lib, a, b: (a * b).sum(),
    "exp": lambda lib, a, b: a.exp().sum(),
    "sin_tanh": lambda lib, a, b: a.sin().tanh().sum(),
    "matmul": lambda lib, a, b: (a @ b.t()).sum(),
    "linear_relu": lambda lib, a, b: lib.nn.functional.relu(lib.nn.functional.linear(a, b)).sum(),
    "div": lambda lib, a, b: (a / b).sum(),
    "softmax": lambda lib, a, b: lib.softmax(a, dim=1).sum(),
    "mse_loss": lambda lib, a, b: lib.nn.functional.mse_loss(a, b),
    "add_sub": lambda lib, a, b: (a + b - a).sum(),
    "conv2d": lambda lib, a, b: lib.nn.functional.conv2d(
        a.reshape(1, 1, 3, 4), b.reshape(1, 1, 3, 4)[:, :, :2, :2]).sum(),
}


def _run_counting(lib, fn):
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    counts, hooks = counting_hooks(lib)
    with hooks:
        y = fn(lib, a, b)
    after_forward = tuple(counts)
    y.backward()
    grads = [t.grad.numpy() if t.grad is not None else None for t in (a, b)]
    return after_forward, tuple(counts), grads


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_pack_unpack_counts_match_torch(name):
    torch = pytest.importorskip("torch")
    ours = _run_counting(disttorch, PROGRAMS[name])
    theirs = _run_counting(torch, PROGRAMS[name])
    assert ours[0] == theirs[0]  # packs in forward, no unpack yet
    assert ours[0][1] == 0
    assert ours[1] == theirs[1]  # one unpack per saved tensor in backward
    for g, ref in zip(ours[2], theirs[2]):
        assert (g is None) == (ref is None)
        if g is not None:
            np.testing.assert_allclose(g, ref, rtol=1e-12)


def test_pack_sees_tensors_under_no_grad_and_hooks_keep_values():
    x = disttorch.tensor([0.5, 1.0, 2.0], requires_grad=True)
    log = []
    counts, hooks = counting_hooks(disttorch, log)
    with hooks:
        y = (x * x).exp()
    assert log == [("pack", (3,), False)] * 3  # x twice (mul), the result of exp
    y.sum().backward()
    assert counts == [3, 3]
    np.testing.assert_allclose(x.grad.numpy(), (2 * x * (x * x).exp()).detach().numpy(), rtol=1e-6)


def test_pack_value_replaces_the_tensor_in_the_graph():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    with saved_tensors_hooks(lambda t: t.detach().numpy().copy(), lambda arr: disttorch.tensor(arr)):
        y = x.exp()
    (packed, version, _), = y.grad_fn._saved
    assert isinstance(packed.value, np.ndarray) and version is None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]), rtol=1e-6)


def test_hooks_apply_only_inside_the_block():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    counts, hooks = counting_hooks(disttorch)
    with hooks:
        y = x.exp()
    z = y.sin()  # saved without hooks
    z.sum().backward()
    assert counts == [1, 1]


def test_nesting_uses_innermost_pair_then_restores_outer():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    log = []

    def make(tag):
        return saved_tensors_hooks(lambda t: (log.append("p" + tag), t)[1],
                                   lambda t: (log.append("u" + tag), t)[1])

    with make("1"):
        a = x.exp()
        with make("2"):
            b = a.sin()
        c = b.tanh()
    assert log == ["p1", "p2", "p1"]
    c.sum().backward()
    assert log[3:] == ["u1", "u2", "u1"]


def test_hooks_are_thread_local():
    counts, hooks = counting_hooks(disttorch)
    out = {}

    def worker():
        x = disttorch.tensor([1.0], requires_grad=True)
        out["y"] = x.exp()

    with hooks:
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert counts == [0, 0]


def test_custom_function_saves_go_through_hooks():
    class MulExp(disttorch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            out = (a * b).exp()
            ctx.save_for_backward(a, b, out, None)
            return out

        @staticmethod
        def backward(ctx, g):
            a, b, out, none = ctx.saved_tensors
            assert none is None
            assert out.grad_fn is ctx  # a saved output is unpacked as this node's output
            return g * out * b, g * out * a

    a = disttorch.tensor([0.5, 1.0], requires_grad=True)
    b = disttorch.tensor([2.0, -1.0], requires_grad=True)
    counts, hooks = counting_hooks(disttorch)
    with hooks:
        y = MulExp.apply(a, b)
    assert counts == [3, 0]
    y.sum().backward()
    assert counts == [3, 3]
    e = np.exp([1.0, -1.0])
    np.testing.assert_allclose(a.grad.numpy(), e * [2.0, -1.0], rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), e * [0.5, 1.0], rtol=1e-6)


def test_double_backward_through_hooks():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    with saved_tensors_hooks(lambda t: t.clone(), lambda t: t):
        y = (x * x * x).sum()
    (g,) = disttorch.autograd.grad(y, x, create_graph=True)
    assert g.tolist() == [3.0, 12.0]
    g.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_unpack_every_access_and_freed_after_backward():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    counts, hooks = counting_hooks(disttorch)
    with hooks:
        y = x.exp()
    y.grad_fn.saved_tensors
    y.grad_fn.saved_tensors
    assert counts == [1, 2]
    y.sum().backward()
    assert counts == [1, 3]
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.grad_fn.saved_tensors


def test_unpack_must_return_a_tensor():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    with saved_tensors_hooks(lambda t: t, lambda t: 5):
        y = x.exp()
    with pytest.raises(TypeError, match="Output of saved tensor unpack_hook expected to be a Tensor "
                                        "but got result of type int"):
        y.sum().backward()


def test_unpack_of_wrong_shape_raises_like_torch():
    msgs = []
    for lib in (disttorch, pytest.importorskip("torch")):
        a = lib.ones(3, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t, lib=lib: lib.ones(4)):
            c = (a * 2).sin()
        with pytest.raises(RuntimeError) as e:
            c.sum().backward()
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]
    assert "The size of tensor a (3) must match the size of tensor b (4)" in msgs[0]


def test_pack_modifying_its_input_raises():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1

    def pack(t):
        t.add_(1)
        return t

    with saved_tensors_hooks(pack, lambda t: t), pytest.raises(
            RuntimeError, match="A saved tensor pack hook is modifying its input in place"):
        y.exp()


def test_inplace_after_save_still_detected_without_hooks():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    counts, hooks = counting_hooks(disttorch)
    with hooks:
        b = x.exp()  # its result is packed
        c = b.sin()  # b packed again, as sin's input
    d = b.cos()  # b saved normally
    b.add_(1)
    assert counts == [2, 0]
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (c + d).sum().backward()


def test_inplace_after_save_with_hooks_is_not_checked_like_torch():
    # torch cannot track versions through the hooks, so it computes with the modified
    # value without complaint; so do we (same numbers for identity, detach and clone)
    torch = pytest.importorskip("torch")
    for pack in (lambda t: t, lambda t: t.detach(), lambda t: t.clone()):
        grads = []
        for lib in (disttorch, torch):
            a = lib.ones(3, requires_grad=True)
            with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                b = a * 2
                c = b.sin()
            b.add_(1)
            c.sum().backward()
            grads.append(a.grad.numpy())
        np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def test_disable_saved_tensors_hooks():
    x = disttorch.tensor([1.0], requires_grad=True)
    with disable_saved_tensors_hooks("no hooks here"):
        x.exp()  # ops are fine, only installing hooks is refused
        with pytest.raises(RuntimeError, match="^no hooks here$"):
            with saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
        with disable_saved_tensors_hooks("inner"):
            with pytest.raises(RuntimeError, match="^inner$"), save_on_cpu():
                pass
        with pytest.raises(RuntimeError, match="^no hooks here$"):
            with saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
    with saved_tensors_hooks(lambda t: t, lambda t: t):
        # torch refuses to disable while hooks are installed
        with pytest.raises(RuntimeError, match="^late$"), disable_saved_tensors_hooks("late"):
            pass
        x.exp()


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_save_on_cpu(device):
    x = disttorch.tensor([0.5, 1.0, 2.0], device=device, requires_grad=True)
    w = disttorch.tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)
    with save_on_cpu():
        y = (x * w).exp()
    z = y * w
    # every tensor saved inside the block is held on the host, with its device
    for node in (y.grad_fn, y.grad_fn.next_functions[0][0]):
        for packed, _, _ in node._saved:
            dev, held = packed.value
            assert dev.type == device and held.device.type == "cpu"
    assert z.grad_fn._saved[0][0].device.type == device  # saved outside: untouched
    z.sum().backward()
    ref_x = disttorch.tensor([0.5, 1.0, 2.0], requires_grad=True)
    ref_w = disttorch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    ((ref_x * ref_w).exp() * ref_w).sum().backward()
    assert x.grad.device.type == device
    np.testing.assert_allclose(x.grad.cpu().numpy(), ref_x.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(w.grad.cpu().numpy(), ref_w.grad.numpy(), rtol=1e-6)


def test_save_on_cpu_keeps_cpu_tensors_without_copy():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    with save_on_cpu():
        y = x.exp()
    _, held = y.grad_fn._saved[0][0].value
    assert held._data is y._data  # torch's .cpu() of a CPU tensor is the tensor itself
