"""The autograd engine: graph building, backward semantics, freeing, hooks, grad()."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import disttorch
from disttorch import autograd


def leaf(*vals, **kw):
    return disttorch.tensor(list(vals), requires_grad=True, **kw)


def test_leaf_and_grad_fn_names():
    x = leaf(1.0, 2.0)
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    y = x * 2
    assert not y.is_leaf and y.grad_fn.name() == "MulBackward0"
    assert (y + 1).grad_fn.name() == "AddBackward0"
    assert y.sum().grad_fn.name() == "SumBackward0"
    z = disttorch.tensor([1.0, 2.0]) * 2
    assert z.grad_fn is None and not z.requires_grad
    nodes = [n for n, _ in (y + x).grad_fn.next_functions]
    assert nodes[0].name() == "MulBackward0" and nodes[1].name() == "AccumulateGrad"


def test_grad_accumulates_across_backward_calls():
    x = leaf(1.0, 2.0, 3.0)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0, 9.0]


def test_non_scalar_backward_needs_gradient():
    x = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(disttorch.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(disttorch.tensor([1.0, 2.0, 3.0]))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        disttorch.tensor([1.0]).sum().backward()


def test_second_backward_through_freed_graph():
    x = leaf(1.0, 2.0)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_saved_tensors_freed_after_backward():
    x = leaf(1.0, 2.0)
    y = x * x
    node = y.grad_fn
    assert node._saved
    y.sum().backward()
    assert node._saved is None


def test_long_chain_is_iterative():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


def test_graph_has_no_reference_cycles():
    gc.collect()
    gc.disable()
    try:
        x = leaf(1.0, 2.0)
        y = (x * x + x) * 3
        ref = weakref.ref(y.grad_fn)
        saved_out = x ** 2.0
        ref2 = weakref.ref(saved_out.grad_fn)
        del y, saved_out
        assert ref() is None and ref2() is None  # freed by refcounting alone
    finally:
        gc.enable()


def test_grad_of_shared_leaves_do_not_alias():
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    (a + b).sum().backward()
    a.grad.add_(1)
    assert b.grad.tolist() == [1.0, 1.0]
    x = leaf(1.0, 2.0)
    g = disttorch.tensor([5.0, 6.0])
    (x * 1).backward(g)
    g.mul_(0)
    assert x.grad.tolist() == [5.0, 6.0]


def test_broadcast_grad_reduced_to_input_shape():
    x = disttorch.ones(3, 1, requires_grad=True)
    b = disttorch.ones(4, requires_grad=True)
    (x * b).sum().backward()
    assert x.grad.shape == (3, 1) and x.grad.tolist() == [[4.0]] * 3
    assert b.grad.tolist() == [3.0] * 4


def test_mixed_dtype_grads_keep_input_dtypes():
    a = disttorch.ones(2, dtype=disttorch.float32, requires_grad=True)
    b = disttorch.ones(2, dtype=disttorch.float64, requires_grad=True)
    out = a * b
    assert out.dtype == disttorch.float64
    out.sum().backward()
    assert a.grad.dtype == disttorch.float32 and b.grad.dtype == disttorch.float64


def test_grad_modes():
    x = leaf(1.0)
    with disttorch.no_grad():
        assert not (x * 2).requires_grad
        with disttorch.enable_grad():
            assert (x * 2).requires_grad
    with disttorch.set_grad_enabled(False):
        assert not disttorch.is_grad_enabled()
    assert disttorch.is_grad_enabled()
    disttorch.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    disttorch.set_grad_enabled(True)
    with disttorch.inference_mode():
        assert not (x * 2).requires_grad and disttorch.is_inference_mode_enabled()

    @disttorch.no_grad()
    def f(t):
        return t * 2

    @disttorch.no_grad
    def g(t):
        return t * 2

    @disttorch.inference_mode()
    def h(t):
        return t * 2

    assert not f(x).requires_grad and not g(x).requires_grad and not h(x).requires_grad
    assert disttorch.is_grad_enabled()


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="floating point"):
        disttorch.tensor([1, 2]).requires_grad_()
    x = leaf(1.0)
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y.detach().numpy())
    y.detach_()
    assert y.grad_fn is None and not y.requires_grad


def test_retain_grad_and_hooks():
    x = leaf(1.0, 2.0)
    y = x * 3
    y.retain_grad()
    seen = []
    h = y.register_hook(lambda g: seen.append(g.tolist()))
    y.register_hook(lambda g: g * 10)  # replaces the grad flowing on
    (y * 2).sum().backward(retain_graph=True)
    assert seen == [[2.0, 2.0]]
    assert x.grad.tolist() == [60.0, 60.0]
    assert y.grad.tolist() == [20.0, 20.0]
    h.remove()
    x.grad = None
    (y * 2).sum().backward()
    assert len(seen) == 1


def test_leaf_hook_and_post_accumulate_hook_order():
    a, b = leaf(1.0), leaf(2.0)
    order = []
    a.register_hook(lambda g: g * 2)
    a.register_post_accumulate_grad_hook(lambda t: order.append(("a", t.grad.item())))
    b.register_post_accumulate_grad_hook(lambda t: order.append(("b", t.grad.item())))
    y = a * 5
    z = y * b  # b is used last, so its grad is ready first
    z.sum().backward()
    assert order == [("b", 5.0), ("a", 20.0)]
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.register_post_accumulate_grad_hook(lambda t: None)


def test_autograd_grad_and_higher_order():
    x = leaf(2.0)
    y = x ** 3
    (g,) = autograd.grad(y, x, create_graph=True)
    assert g.item() == 12.0 and g.requires_grad
    (g2,) = autograd.grad(g, x, create_graph=True)
    assert g2.item() == 12.0
    (g3,) = autograd.grad(g2, x)
    assert g3.item() == 6.0
    assert x.grad is None  # grad() does not accumulate


def test_autograd_grad_unused():
    x, z = leaf(1.0), leaf(2.0)
    y = x * 2
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert gx.item() == 2.0 and gz is None
    gx, gz = autograd.grad(y, [x, z], materialize_grads=True)
    assert gz.item() == 0.0


def test_backward_inputs_restricts_accumulation():
    a, b = leaf(1.0), leaf(2.0)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 2.0 and b.grad is None


def test_inplace_on_saved_tensor_is_detected():
    x = leaf(1.0, 2.0)
    y = x * 1
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_inplace_on_leaf_requiring_grad():
    x = leaf(1.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.mul_(2)
    with disttorch.no_grad():
        x.mul_(2)
    assert x.tolist() == [2.0]


class Cube(autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x ** 3 * scale

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * 3 * x ** 2 * ctx.scale, None


class SortedWithIndex(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        idx = disttorch.tensor(np.argsort(x.detach().numpy()))
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return x * 1, idx

    @staticmethod
    def backward(ctx, g, g_idx):
        assert g_idx is not None  # materialized as zeros
        return g * 2


def test_custom_function():
    x = leaf(1.0, 2.0)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]
    assert autograd.gradcheck(lambda t: Cube.apply(t, 0.5), [disttorch.randn(3, dtype=disttorch.float64, requires_grad=True)])
    out, idx = SortedWithIndex.apply(leaf(3.0, 1.0))
    assert not idx.requires_grad and out.requires_grad
    out.sum().backward()


def test_custom_function_needs_input_grad():
    seen = []

    class F(autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen.append(ctx.needs_input_grad)
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    F.apply(leaf(1.0), disttorch.tensor([2.0]))
    assert seen == [(True, False)]


def test_gradcheck_catches_wrong_backward():
    class Wrong(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g  # should be 2 x g

    x = disttorch.randn(3, dtype=disttorch.float64, requires_grad=True)
    with pytest.raises(autograd.GradcheckError):
        autograd.gradcheck(Wrong.apply, [x])
    assert not autograd.gradcheck(Wrong.apply, [x], raise_exception=False)


def test_detect_anomaly_names_forward_op():
    class MakesNan(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = leaf(1.0)
    with pytest.warns(UserWarning), autograd.detect_anomaly():
        y = MakesNan.apply(x)
        with pytest.raises(RuntimeError, match="MakesNanBackward.* returned nan values") as e:
            y.sum().backward()
    assert "test_detect_anomaly_names_forward_op" in str(e.value)


def test_node_hooks():
    x = leaf(1.0)
    y = x * 2
    calls = []
    y.grad_fn.register_prehook(lambda go: calls.append("pre"))
    y.grad_fn.register_hook(lambda gi, go: calls.append("post"))
    y.sum().backward()
    assert calls == ["pre", "post"]


def test_queue_callback_runs_after_backward():
    from disttorch.autograd.engine import queue_callback

    x = leaf(1.0)
    events = []

    def hook(t):
        events.append("acc")
        queue_callback(lambda: events.append(("done", x.grad.item())))

    x.register_post_accumulate_grad_hook(hook)
    (x * 4).sum().backward()
    assert events == ["acc", ("done", 4.0)]


def test_inplace_on_views_rewrites_the_base_graph():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, disttorch):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = w * 2
        y[0] += 1
        y[1:].mul_(w[1:])
        buf = lib.zeros(2, 3)
        buf[0][:] = w
        buf[1, 1:].add_(y[1:] * 3)
        (y.sum() + (buf * lib.tensor([[1.0], [5.0]])).sum()).backward()
        results.append((y.tolist(), buf.tolist(), w.grad.tolist()))
    assert results[0] == results[1]
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        disttorch.ones(3, requires_grad=True)[0:2].mul_(2)


def test_inplace_view_ops_keep_the_graph():
    x = leaf(1.0, 2.0)
    y = (x * 2).unsqueeze(0)
    y.squeeze_(0)
    y.unsqueeze_(1)
    (y * disttorch.tensor([[1.0], [3.0]])).sum().backward()
    assert y.shape == (2, 1) and x.grad.tolist() == [2.0, 6.0]
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf(1.0).unsqueeze_(0)
