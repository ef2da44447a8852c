"""Module full backward hooks: identity nodes around a module's inputs and outputs.

The outputs pass through an identity node whose backward sees ``grad_output`` (and runs
the pre-hooks, which may replace it); the inputs pass through one whose backward sees
``grad_input`` and runs the hooks, which may replace it.
"""
from __future__ import annotations

from ..._tensor import Tensor
from ...autograd.function import Function
from ...autograd.node import RemovableHandle


def _store(module, name):
    d = module.__dict__.get(name)
    if d is None:
        d = module.__dict__[name] = {}
    return d


def _register(module, store: str, hook, prepend: bool) -> RemovableHandle:
    hooks = _store(module, store)
    h = RemovableHandle(hooks)
    hooks[h.id] = hook
    if prepend:  # move every other hook behind the new one
        hooks.update({k: hooks.pop(k) for k in [k for k in hooks if k != h.id]})
    return h


def register_full_backward_hook(module, hook, prepend: bool) -> RemovableHandle:
    return _register(module, "_backward_hooks", hook, prepend)


def register_full_backward_pre_hook(module, hook, prepend: bool) -> RemovableHandle:
    return _register(module, "_backward_pre_hooks", hook, prepend)


class _State:
    def __init__(self, module) -> None:
        self.module = module
        self.grad_output = None
        self.n_inputs = 0


class _OutputIdentity(Function):
    @staticmethod
    def forward(ctx, state, *tensors):
        ctx.state = state
        return tuple(t.detach() for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        st = ctx.state
        for hook in list(st.module.__dict__.get("_backward_pre_hooks", {}).values()):
            r = hook(st.module, grads)
            if r is not None:
                grads = tuple(r)
        st.grad_output = grads
        if st.n_inputs == 0:  # no input needs grad: the hooks fire here with grad_input=(None,)
            _call_hooks(st, (None,))
        return (None,) + tuple(grads)


class _InputIdentity(Function):
    @staticmethod
    def forward(ctx, state, *tensors):
        ctx.state = state
        return tuple(t.detach() for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        grads = _call_hooks(ctx.state, grads)
        return (None,) + tuple(grads)


def _call_hooks(st, grad_input):
    for hook in list(st.module.__dict__.get("_backward_hooks", {}).values()):
        r = hook(st.module, grad_input, st.grad_output)
        if r is not None:
            grad_input = tuple(r)
    return grad_input


def wrap_call(module, args, kwargs):
    """Run ``module.forward`` with the identity nodes around it, then the forward hooks."""
    st = _State(module)
    pos = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    st.n_inputs = len(pos)
    if pos:
        wrapped = _InputIdentity.apply(st, *[args[i] for i in pos])
        args = list(args)
        for i, w in zip(pos, wrapped):
            args[i] = w
        args = tuple(args)
    result = module.forward(*args, **kwargs)
    result = module._run_forward_hooks(args, kwargs, result)
    single = isinstance(result, Tensor)
    outs = (result,) if single else result
    if isinstance(outs, tuple) and all(isinstance(o, Tensor) for o in outs) and any(o.requires_grad for o in outs):
        new = _OutputIdentity.apply(st, *outs)
        return new[0] if single else new
    return result
