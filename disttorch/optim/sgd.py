"""Stochastic gradient descent, optionally with (Nesterov) momentum."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor, _wrap
from .optimizer import (
    Optimizer,
    ParamsT,
    _bump,
    _check_fused_flags,
    _check_lr,
    _device_dtype_check_for_fused,
    _grad,
    _params_with_grad,
    _value,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    """Implements stochastic gradient descent (optionally with momentum), like ``torch.optim.SGD``."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float | Tensor = 0, nesterov: bool = False,
                 *, maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr, "momentum": momentum, "dampening": dampening,
            "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
            "foreach": foreach, "differentiable": differentiable, "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        if fused:
            _check_fused_flags(fused, foreach, differentiable)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._fill_old_state({"nesterov": False, "maximize": False, "foreach": None,
                              "differentiable": False, "fused": False}, scalars=())

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step; returns the closure's loss if one is given."""
        return self._step(closure)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = _value(group["lr"])
        momentum = group["momentum"]
        dampening = group["dampening"]
        wd = _value(group["weight_decay"])
        nesterov = group["nesterov"]
        maximize = group["maximize"]
        fused = group["fused"]
        for p in _params_with_grad(group):
            if fused:
                _device_dtype_check_for_fused(p)
            g = _grad(p, maximize, wd)
            owned = g is not p.grad._data  # a new array, free to keep as the momentum buffer
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = _wrap(g if owned else g.copy(), p._device)
                    state["momentum_buffer"] = buf
                else:
                    b = buf._data
                    b *= momentum
                    b += (1 - dampening) * g if dampening != 0 else g
                    _bump(buf)
                g = g + momentum * buf._data if nesterov else buf._data
            p._data += -lr * g
            _bump(p)
