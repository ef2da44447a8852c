"""``Optimizer``: the base of every optimizer, with torch's param groups, state and hooks.

Subclasses keep per-parameter state in ``self.state[param]`` (a dict of tensors) and
update parameters in place. The update kernels work on the raw arrays of the
parameters, gradients and state (through the array module of the parameter's device),
in the same order of operations as torch's single-tensor ("foreach=False") code, so
float64 trajectories agree with torch to rounding.
"""
from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable
from copy import deepcopy
from itertools import chain
from typing import Any

import numpy as np

from .._tensor import Tensor, _reset_grads
from ..autograd import grad_mode
from ..autograd.node import RemovableHandle
from ..backend import device as _dev
from ..backend import dtypes as _dtypes
from ..creation import zeros

__all__ = ["Optimizer", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]

_CPU = _dev.CPU
StateDict = dict[str, Any]
ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]


class _RequiredParameter:
    """Singleton class representing a required parameter for an Optimizer."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

_global_optimizer_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
_global_optimizer_post_hooks: OrderedDict[int, Callable] = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs)`` to run before every optimizer's ``step``."""
    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs)`` to run after every optimizer's ``step``."""
    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


# -- helpers shared by the optimizers ------------------------------------------------------
def _typename(obj) -> str:
    """torch.typename: ``disttorch.FloatTensor`` for tensors, the qualified type name otherwise."""
    if isinstance(obj, Tensor):
        cuda = ".cuda" if obj._device.type == "cuda" else ""
        return f"disttorch{cuda}.{obj.dtype.tensor_type_name}"
    module = getattr(type(obj), "__module__", "") or ""
    qualname = getattr(type(obj), "__qualname__", None) or type(obj).__name__
    if module in ("", "builtins"):
        return qualname
    return f"{module}.{qualname}"


def _xp(t: Tensor):
    """The array module of a tensor's device (numpy, or cupy / its stand-in)."""
    return np if t._device is _CPU else _dev.cupy_module()


def _get_scalar_dtype(is_fused: bool | None = None) -> _dtypes.dtype:
    """The dtype of 0-d state scalars (``step``): float64 under a float64 default, else float32."""
    if is_fused:
        return _dtypes.float32
    return _dtypes.float64 if _dtypes.get_default_dtype() is _dtypes.float64 else _dtypes.float32


def _scalar(value, dtype: _dtypes.dtype, device=None) -> Tensor:
    from ..creation import tensor

    return tensor(float(value), dtype=dtype, device=device)


def _value(x) -> float:
    """A hyperparameter or 0-d state tensor as a Python number."""
    return x.item() if isinstance(x, Tensor) else x


def _one_minus(w: float, dt) -> float:
    """``1 - w`` rounded as torch's lerp computes it (in float32 for float32 and lower)."""
    if dt == np.float64:
        return 1.0 - w
    return float(np.float32(1.0) - np.float32(w))


def _lerp_(a, end, w: float) -> None:
    """``a.lerp_(end, w)`` on arrays with torch's two-branch formula."""
    d = end - a
    if abs(w) < 0.5:
        d *= w
        a += d
    else:
        d *= _one_minus(w, a.dtype)
        a[...] = end
        a -= d


def _bump(*tensors: Tensor) -> None:
    for t in tensors:
        t._vc[0] += 1


def _fused_supported_devices() -> list[str]:
    return ["cpu", "cuda"]


def _device_dtype_check_for_fused(p: Tensor) -> None:
    devices = _fused_supported_devices()
    if not (p._device.type in devices and p.dtype.is_floating_point):
        raise RuntimeError(
            "`fused=True` requires all the params to be floating point Tensors of "
            f"supported devices: {devices} but {p.dtype} and {p._device.type}"
        )


def _check_lr(lr) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_nonnegative(**values) -> None:
    """torch's ``Invalid <name> value: <v>`` for the first of ``values`` that is negative (or NaN)."""
    for name, value in values.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {name} value: {value}")


def _check_adam_args(lr, eps, betas, weight_decay) -> None:
    """The checks of the Adam family's constructors, in torch's order."""
    _check_lr(lr)
    _check_nonnegative(epsilon=eps)
    _check_betas(betas)
    _check_nonnegative(weight_decay=weight_decay)


def _check_betas(betas) -> None:
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def _check_fused_flags(fused, foreach, differentiable) -> None:
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _params_with_grad(group: dict[str, Any]) -> list[Tensor]:
    """The params of a group that have a gradient (the others are skipped by ``step``)."""
    return [p for p in group["params"] if p.grad is not None]


def _grad(p: Tensor, maximize: bool, weight_decay=0, lr=None, decoupled: bool = False):
    """The gradient array of ``p`` as the update sees it: negated under ``maximize``, plus
    ``weight_decay * p`` (L2), or, when ``decoupled``, ``p`` itself shrunk in place by
    ``1 - lr * weight_decay`` (AdamW-style). Never modifies ``p.grad``."""
    g = p.grad._data
    if maximize:
        g = -g
    if weight_decay != 0:
        if decoupled:
            p._data *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p._data
    return g


def _ema_sq_(avg, g, beta: float) -> None:
    """``avg.mul_(beta).addcmul_(g, g, value=1 - beta)`` on arrays: a running mean of g**2."""
    avg *= beta
    avg += ((1 - beta) * g) * g


def _step_scalar(group: dict[str, Any], p: Tensor, make=None) -> Tensor:
    """A new 0-d state scalar (``step``): float32 when fused, on the param's device when the
    group is capturable or fused, else on the CPU."""
    fused = group.get("fused")
    device = p.device if group.get("capturable") or fused else "cpu"
    return (make or zeros)((), dtype=_get_scalar_dtype(is_fused=fused), device=device)


def _hooked_step(func: Callable) -> Callable:
    """Wrap a class's ``step`` so the step pre/post hooks run around it (as torch patches it)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        self = args[0]
        for pre_hook in chain(_global_optimizer_pre_hooks.values(),
                              self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(
                        f"{func} must return None or a tuple of (new_args, new_kwargs), but got "
                        f"{result}."
                    )
        out = func(*args, **kwargs)
        self._opt_called = True  # read by the lr schedulers' call-order warning
        for post_hook in chain(self._optimizer_step_post_hooks.values(),
                               _global_optimizer_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out

    wrapper.hooked = True
    return wrapper


class Optimizer:
    """Base class for all optimizers: param groups, per-parameter state, state dicts, hooks."""

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._patch_step_function()

        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + _typename(params)
            )
        self.state: defaultdict[Tensor, Any] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # -- pickling / repr --------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self._patch_step_function()
        self.defaults.setdefault("differentiable", False)

    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        s += ")"
        return s

    def _patch_step_function(self) -> None:
        cls = self.__class__
        if not getattr(cls.step, "hooked", False):
            cls.step = _hooked_step(cls.step)

    # -- hooks ------------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` before ``step``; may return new ``(args, kwargs)``."""
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` after ``step``."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    @staticmethod
    def _add_hook(hooks: OrderedDict, hook: Callable, prepend: bool) -> RemovableHandle:
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer)`` before ``state_dict``."""
        return self._add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` after ``state_dict``; may return a new state dict."""
        return self._add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable,
                                          prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` before ``load_state_dict``; may return a new one."""
        return self._add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable,
                                           prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer)`` after ``load_state_dict``."""
        return self._add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # -- state dicts ------------------------------------------------------------------------
    def state_dict(self) -> StateDict:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``."""
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        param_mappings: dict[int, int] = {}
        start_index = 0

        def pack_group(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start_index):
                param_mappings.setdefault(id(p), i)
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {
            (param_mappings[id(k)] if isinstance(k, Tensor) else k): v
            for k, v in self.state.items()
        }
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    @staticmethod
    def _process_value_according_to_param_policy(param: Tensor, value: Tensor, param_id: int,
                                                 param_groups: list[dict[Any, Any]],
                                                 key: Hashable = None) -> Tensor:
        fused = capturable = False
        for pg in param_groups:
            if param_id in pg["params"]:
                fused = pg.get("fused", False)
                capturable = pg.get("capturable", False)
                break
        if key == "step":
            # step keeps its dtype and device unless the group puts it on the param's device
            if capturable or fused:
                return value.to(dtype=_dtypes.float32, device=param.device)
            return value
        if param.is_floating_point():
            return value.to(dtype=param.dtype, device=param.device)
        return value.to(device=param.device)

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Load a state dict from :meth:`state_dict` (tensors cast to each param's dtype/device)."""
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result

        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        saved_pgs = state_dict["param_groups"]

        def _cast(param, value, param_id=None, key=None):
            if isinstance(value, Tensor):
                return Optimizer._process_value_according_to_param_policy(
                    param, value, param_id, saved_pgs, key)
            if isinstance(value, dict):
                return {k: _cast(param, v, param_id=param_id, key=k) for k, v in value.items()}
            if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
                return type(value)(_cast(param, v, param_id=param_id) for v in value)
            return value

        state: defaultdict[Tensor, dict[Any, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast(param, v, param_id=k)
            else:
                state[k] = v

        def update_group(group: dict[str, Any], new_group: dict[str, Any]) -> dict[str, Any]:
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    # -- grads and steps --------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to ``None`` by default)."""
        for group in self.param_groups:
            _reset_grads(group["params"], set_to_none)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Perform a single optimization step (implemented by subclasses)."""
        raise NotImplementedError

    def _step(self, closure) -> Any:
        """The shared body of ``step``: the closure under grad mode, the update without."""
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        st = grad_mode.state
        prev = st.grad_enabled
        st.grad_enabled = False
        try:
            for group in self.param_groups:
                self._update_group(group)
        finally:
            st.grad_enabled = prev
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    # -- per-parameter state (for the built-in optimizers) ----------------------------------
    def _init_state(self, group: dict[str, Any], p: Tensor) -> dict:
        """``self.state[p]``; the first time, a ``step`` scalar and ``_new_state``'s buffers."""
        state = self.state[p]
        if len(state) == 0:
            if group.get("fused"):
                _device_dtype_check_for_fused(p)
            state["step"] = _step_scalar(group, p)
            self._new_state(group, p, state)
        return state

    def _new_state(self, group: dict[str, Any], p: Tensor, state: dict) -> None:
        """Add the optimizer's buffers to a new ``state`` (after ``step``)."""
        raise NotImplementedError

    def _fill_old_state(self, defaults: dict[str, Any],
                        scalars: tuple[str, ...] = ("step",)) -> None:
        """``__setstate__`` of the built-in optimizers: the group options an older state dict
        lacks, and numeric state ``scalars`` turned into 0-d tensors (as torch does)."""
        for group in self.param_groups:
            for key, value in defaults.items():
                group.setdefault(key, value)
            fused = group.get("fused")
            on_device = group.get("capturable") or fused
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) == 0:
                    continue
                for key in scalars:
                    if not isinstance(p_state[key], Tensor):
                        p_state[key] = _scalar(p_state[key], _get_scalar_dtype(is_fused=fused),
                                               p.device if on_device else None)

    # -- param groups -----------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a param group (a dict with ``params`` and per-group options) to ``param_groups``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) == len(tensors):
                param_group["param_names"] = names
            else:
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    + _typename(param)
                )
            if not self.defaults.get("differentiable", None) and not (
                param.is_leaf or param.retains_grad
            ):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization parameter "
                    f"{name}"
                )
            param_group.setdefault(name, default)

        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for more "
                "information",
                stacklevel=3,
            )

        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {txt} to the optimizer"
                )
        if any(id(p) in seen for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)
