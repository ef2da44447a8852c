"""Activation checkpointing: ``disttorch.utils.checkpoint`` (reentrant and non-reentrant)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import disttorch
from disttorch import nn
from disttorch.autograd.graph import saved_tensors_hooks
from disttorch.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential

VARIANTS = [True, False]


def mlp(lib, p):
    lib.manual_seed(3)
    return lib.nn.Sequential(
        lib.nn.Linear(6, 16), lib.nn.Tanh(), lib.nn.Dropout(p),
        lib.nn.Linear(16, 16), lib.nn.ReLU(), lib.nn.Dropout(p),
        lib.nn.Linear(16, 3),
    )


def convnet(lib):
    lib.manual_seed(4)
    return lib.nn.Sequential(
        lib.nn.Conv2d(2, 4, 3, padding=1), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
        lib.nn.Conv2d(4, 4, 3), lib.nn.Tanh(), lib.nn.Flatten(), lib.nn.Linear(4, 3),
    )


def copy_weights(src, dst):
    """Load ``src``'s (a torch or disttorch module) weights into ``dst`` (a disttorch module)."""
    state = {k: disttorch.tensor(np.asarray(v.detach().numpy())) for k, v in src.state_dict().items()}
    dst.load_state_dict(state)


def run(lib, model, x, mode, seed=7, noise=True, **ck):
    """Loss and grads (input first, then parameters) of one step; ``mode`` None: no checkpoint."""
    model.zero_grad()
    x = x.detach().requires_grad_()
    lib.manual_seed(seed)
    body = list(model.children())
    head, tail = lib.nn.Sequential(*body[:-1]), body[-1]
    if mode is None:
        h = head(x)
    else:
        h = lib.utils.checkpoint.checkpoint(head, x, use_reentrant=mode, **ck)
    if noise:  # draws after the checkpoint must not see a shifted generator
        h = h * (1 + 0.01 * lib.rand(h.shape))
    loss = (tail(h) ** 2).mean()
    loss.backward()
    after = lib.rand(4).numpy()
    grads = [x.grad.numpy()] + [p.grad.numpy() for p in model.parameters()]
    return loss.item(), grads, after


def assert_same(a, b, exact=True):
    assert len(a[1]) == len(b[1])
    if exact:
        assert a[0] == b[0]
        for g, h in zip(a[1], b[1]):
            np.testing.assert_array_equal(g, h)
        np.testing.assert_array_equal(a[2], b[2])
    else:
        np.testing.assert_allclose(a[0], b[0], rtol=1e-5)
        for g, h in zip(a[1], b[1]):
            np.testing.assert_allclose(g, h, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_mlp_with_dropout_matches_uncheckpointed(use_reentrant):
    model = mlp(disttorch, 0.3)
    x = disttorch.randn(5, 6)
    plain = run(disttorch, model, x, None)
    ck = run(disttorch, model, x, use_reentrant)
    assert_same(plain, ck)  # same masks: the forward's RNG state is replayed


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_without_preserve_rng_state_masks_differ(use_reentrant):
    model = mlp(disttorch, 0.5)
    x = disttorch.randn(5, 6)
    plain = run(disttorch, model, x, None)
    ck = run(disttorch, model, x, use_reentrant, preserve_rng_state=False)
    assert plain[0] == ck[0]  # the forward is the same...
    assert not all(np.array_equal(g, h) for g, h in zip(plain[1], ck[1]))  # ...the rerun is not


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_mlp_matches_torch_without_dropout(use_reentrant):
    torch = pytest.importorskip("torch")
    tm = mlp(torch, 0.0).double()
    dm = mlp(disttorch, 0.0).double()
    copy_weights(tm, dm)
    x = np.random.default_rng(0).standard_normal((5, 6))
    theirs = _torch_step(torch, tm, torch.tensor(x), use_reentrant)
    ours = _own_step(dm, disttorch.tensor(x), use_reentrant)
    assert_same(ours, theirs, exact=False)
    assert_same(ours, _own_step(dm, disttorch.tensor(x), None))


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_convnet_matches_uncheckpointed_and_torch(use_reentrant):
    torch = pytest.importorskip("torch")
    tm = convnet(torch).double()
    dm = convnet(disttorch).double()
    copy_weights(tm, dm)
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 6))
    ours = _own_step(dm, disttorch.tensor(x), use_reentrant)
    assert_same(ours, _own_step(dm, disttorch.tensor(x), None))
    assert_same(ours, _torch_step(torch, tm, torch.tensor(x), use_reentrant), exact=False)


def _own_step(model, x, mode):
    loss, grads, _ = run(disttorch, model, x, mode, noise=False)
    return loss, grads, None


def _torch_step(torch, model, x, mode):
    model.zero_grad()
    x = x.detach().requires_grad_()
    body = list(model.children())
    head, tail = torch.nn.Sequential(*body[:-1]), body[-1]
    h = head(x) if mode is None else torch.utils.checkpoint.checkpoint(head, x, use_reentrant=mode)
    loss = (tail(h) ** 2).mean()
    loss.backward()
    return loss.item(), [x.grad.numpy()] + [p.grad.numpy() for p in model.parameters()], None


def _sequential_step(lib, model, x, segments, mode):
    model.zero_grad()
    x = x.detach().requires_grad_()
    lib.manual_seed(11)
    if mode is None:
        out = model(x)
    else:
        out = lib.utils.checkpoint.checkpoint_sequential(model, segments, x, use_reentrant=mode)
    loss = (out ** 2).sum()
    loss.backward()
    return loss.item(), [x.grad.numpy()] + [p.grad.numpy() for p in model.parameters()], None


@pytest.mark.parametrize("use_reentrant", VARIANTS)
@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential(use_reentrant, segments):
    model = mlp(disttorch, 0.4)
    x = disttorch.randn(4, 6)
    assert_same(_sequential_step(disttorch, model, x, segments, use_reentrant),
                _sequential_step(disttorch, model, x, segments, None))
    torch = pytest.importorskip("torch")
    tm = mlp(torch, 0.0).double()
    dm = mlp(disttorch, 0.0).double()
    copy_weights(tm, dm)
    xn = np.random.default_rng(2).standard_normal((4, 6))
    assert_same(_sequential_step(disttorch, dm, disttorch.tensor(xn), segments, use_reentrant),
                _sequential_step(torch, tm, torch.tensor(xn), segments, use_reentrant), exact=False)


def test_kwargs_non_reentrant():
    x = disttorch.tensor([0.5, 1.5], requires_grad=True)
    w = disttorch.tensor([2.0, -1.0], requires_grad=True)

    def f(a, *, scale, shift=0.0):
        return (a * scale + shift).exp()

    y = checkpoint(f, x, scale=w, shift=1.0, use_reentrant=False)
    y.sum().backward()
    e = np.exp(np.array([0.5, 1.5]) * [2.0, -1.0] + 1.0)
    np.testing.assert_allclose(x.grad.numpy(), e * [2.0, -1.0], rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), e * [0.5, 1.5], rtol=1e-6)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(f, x, scale=w, use_reentrant=True)


def test_inputs_without_grad():
    lin = nn.Linear(3, 2)
    x = disttorch.ones(4, 3)
    # non-reentrant: the parameters used inside still get their gradients
    checkpoint(lin, x, use_reentrant=False).sum().backward()
    ref = nn.Linear(3, 2)
    ref.load_state_dict(lin.state_dict())
    ref(x).sum().backward()
    np.testing.assert_array_equal(lin.weight.grad.numpy(), ref.weight.grad.numpy())
    np.testing.assert_array_equal(lin.bias.grad.numpy(), ref.bias.grad.numpy())
    # reentrant: as in torch, it warns and the output is cut from the graph
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True. Gradients will be None"):
        out = checkpoint(lin, x, use_reentrant=True)
    assert not out.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        out.sum().backward()


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_tuple_outputs_with_non_tensors(use_reentrant):
    x = disttorch.tensor([0.3, 1.2], requires_grad=True)
    out = checkpoint(lambda t: (t.sin(), 3, "tag", t.cos()), x, use_reentrant=use_reentrant)
    assert isinstance(out, tuple) and out[1:3] == (3, "tag") and out[0].requires_grad
    (out[0].sum() + out[3].sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.3, 1.2]) - np.sin([0.3, 1.2]), rtol=1e-6)
    x.grad = None
    out = checkpoint(lambda t: (t.sin(), None, t.cos()), x, use_reentrant=use_reentrant)
    out[0].sum().backward()  # one output unused: its grad is zeros / absent
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.3, 1.2]), rtol=1e-6)


def test_gradcheck_through_checkpoint():
    x = disttorch.randn(3, 4, dtype=disttorch.float64, requires_grad=True)
    w = disttorch.randn(4, 4, dtype=disttorch.float64, requires_grad=True)

    def block(a, b):
        return (a @ b).tanh().exp() * a

    assert disttorch.autograd.gradcheck(
        lambda a, b: checkpoint(block, a, b, use_reentrant=False), (x, w))
    assert disttorch.autograd.gradgradcheck(
        lambda a, b: checkpoint(block, a, b, use_reentrant=False), (x, w))


def test_retain_graph_recomputes_for_each_backward():
    x = disttorch.tensor([0.2, 0.7], requires_grad=True)
    calls = []

    def f(t):
        calls.append(1)
        return t.sin().exp()

    y = checkpoint(f, x, use_reentrant=False).sum()
    y.backward(retain_graph=True)
    g = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g)
    assert len(calls) == 3  # the forward, then one (early-stopped) rerun per backward


def test_nested_non_reentrant_checkpoints():
    x = disttorch.tensor([0.2, 0.7, -0.4], requires_grad=True)

    def inner(t):
        return t.sin() * t

    def outer(t):
        return checkpoint(inner, t.exp(), use_reentrant=False).tanh()

    checkpoint(outer, x, use_reentrant=False).sum().backward()
    got = x.grad.numpy()
    x.grad = None
    outer_plain = (x.exp().sin() * x.exp()).tanh()
    outer_plain.sum().backward()
    np.testing.assert_allclose(got, x.grad.numpy(), rtol=1e-6)


# -- misuse --------------------------------------------------------------------------------
def test_missing_use_reentrant_warns_and_uses_reentrant():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="the use_reentrant parameter should be passed explicitly"):
        y = checkpoint(lambda t: t.sin(), x)
    assert y.grad_fn.name() == "CheckpointFunctionBackward"
    with pytest.warns(UserWarning, match="checkpoint_sequential: the use_reentrant parameter"):
        checkpoint_sequential([nn.Linear(2, 2), nn.ReLU()], 2, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checkpoint(lambda t: t.sin(), x, use_reentrant=False)


def test_reentrant_refuses_grad_and_backward_inputs():
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    msg = "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad()"
    with pytest.raises(RuntimeError, match=msg):
        disttorch.autograd.grad(checkpoint(lambda t: t.sin(), x, use_reentrant=True).sum(), x)
    with pytest.raises(RuntimeError, match=msg):
        checkpoint(lambda t: t.sin(), x, use_reentrant=True).sum().backward(inputs=[x])
    (g,) = disttorch.autograd.grad(checkpoint(lambda t: t.sin(), x, use_reentrant=False).sum(), x)
    np.testing.assert_allclose(g.numpy(), np.cos([1.0, 2.0]), rtol=1e-6)


def test_argument_errors():
    x = disttorch.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        checkpoint(lambda t: t, x, use_reentrant=True, debug=True)
    with pytest.raises(ValueError, match=r"determinism_check should be one of \['default', 'none'\], but got x"):
        checkpoint(lambda t: t, x, use_reentrant=False, determinism_check="x")
    with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
        checkpoint_sequential([nn.ReLU()], 1, x, use_reentrant=False, foo=1)


def test_nondeterministic_recompute_is_detected():
    x = disttorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    n = [0]

    def f(t):
        n[0] += 1
        return t[: n[0]].exp()

    y = checkpoint(f, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="different metadata than during the forward pass"):
        y.sum().backward()
    n[0] = 0
    checkpoint(f, x, use_reentrant=False, determinism_check="none").sum().backward()

    def g(t):
        n[0] += 1
        return t.exp() if n[0] == 1 else t + 1  # the rerun saves nothing

    n[0] = 0
    y = checkpoint(g, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="A different number of tensors was saved"):
        y.sum().backward()


def test_unpacking_twice_is_refused():
    class Twice(disttorch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * 2

        @staticmethod
        def backward(ctx, g):
            ctx.saved_tensors
            ctx.saved_tensors
            return g * 2

    x = disttorch.tensor([1.0], requires_grad=True)
    y = checkpoint(lambda t: Twice.apply(t.sin()), x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="already unpacked once"):
        y.sum().backward()


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_inplace_on_input_after_forward_is_detected(use_reentrant):
    x = disttorch.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    y = checkpoint(lambda t: t.exp(), a, use_reentrant=use_reentrant)
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# -- memory --------------------------------------------------------------------------------
def held_activation_bytes(root, params) -> int:
    """Bytes of distinct non-parameter arrays the graph keeps for backward."""
    from disttorch.utils.checkpoint import _Frame, _Holder

    skip = {id(p._data) for p in params}
    held = {}
    seen, stack = set(), [root]

    def keep(t):
        if t is not None and id(t._data) not in skip:
            held[id(t._data)] = t._data.nbytes

    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for t, version, _ in node._saved or ():
            if version is not None:
                keep(t)
            elif isinstance(t.value, _Holder):
                for v in t.value.values.values():
                    keep(v)
                frame = t.unpack_hook.__self__
                assert isinstance(frame, _Frame)
                for s, _, _ in frame.inputs._saved:
                    keep(s)
            else:
                keep(t.value)
        stack.extend(n for n, _ in node.next_functions)
    return sum(held.values())


def test_non_reentrant_checkpoint_holds_fewer_tensors():
    model = nn.Sequential(*[m for _ in range(4) for m in (nn.Linear(32, 32), nn.Tanh())])
    params = list(model.parameters())
    x = disttorch.randn(64, 32, requires_grad=True)
    plain = model(x).sum()
    ck = checkpoint(model, x, use_reentrant=False).sum()
    counts, hooks = [0], saved_tensors_hooks(lambda t: (counts.__setitem__(0, counts[0] + 1), t)[1],
                                               lambda t: t)
    with hooks:
        model(x).sum()
    # without checkpoint: the input and each tanh output (Linear keeps its input, tanh
    # its output, as in torch)
    one = 64 * 32 * 4
    assert held_activation_bytes(plain.grad_fn, params) == 5 * one
    # with it: only the block's input; the graph's saved slots hold empty placeholders
    assert held_activation_bytes(ck.grad_fn, params) == one
    assert counts[0] == 12  # 4 x (Linear: input, weight; tanh: output)
    ck.backward()
    plain.backward()


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_dropout_on_device_matches_uncheckpointed(device):
    for use_reentrant in VARIANTS:
        model = mlp(disttorch, 0.5).to(device)
        x = disttorch.randn(5, 6).to(device)
        grads = []
        for mode in (None, use_reentrant):
            model.zero_grad()
            xi = x.detach().requires_grad_()
            disttorch.manual_seed(5)
            out = model(xi) if mode is None else checkpoint(model, xi, use_reentrant=mode)
            out.sum().backward()
            grads.append([xi.grad.cpu().numpy()] + [p.grad.cpu().numpy() for p in model.parameters()])
        for g, h in zip(*grads):
            np.testing.assert_array_equal(g, h)
