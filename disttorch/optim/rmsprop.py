"""RMSprop, optionally centered and with momentum."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..creation import zeros_like
from .optimizer import (
    Optimizer,
    ParamsT,
    _bump,
    _check_lr,
    _check_nonnegative,
    _ema_sq_,
    _grad,
    _lerp_,
    _params_with_grad,
    _value,
    _xp,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """Implements the RMSprop algorithm, like ``torch.optim.RMSprop``."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonnegative(epsilon=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = {
            "lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
            "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._fill_old_state({"momentum": 0, "centered": False, "foreach": None,
                              "maximize": False, "differentiable": False, "capturable": False})

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step; returns the closure's loss if one is given."""
        return self._step(closure)

    def _new_state(self, group: dict[str, Any], p: Tensor, state: dict) -> None:
        state["square_avg"] = zeros_like(p)
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = zeros_like(p)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = _value(group["lr"])
        alpha, eps = group["alpha"], group["eps"]
        wd = group["weight_decay"]
        momentum, centered, maximize = group["momentum"], group["centered"], group["maximize"]
        for p in _params_with_grad(group):
            state = self._init_state(group, p)
            xp = _xp(p)
            state["step"]._data += 1
            g = _grad(p, maximize, wd)
            sq = state["square_avg"]._data
            _ema_sq_(sq, g, alpha)  # v = alpha * v + (1 - alpha) * g * g
            if centered:
                # avg = sqrt(v - mean(g)**2), with mean(g) a running average too
                ga = state["grad_avg"]._data
                _lerp_(ga, g, 1 - alpha)
                avg = xp.sqrt(sq + (-ga) * ga)
                _bump(state["grad_avg"])
            else:
                avg = xp.sqrt(sq)
            avg += eps
            if momentum > 0:
                # buf = momentum * buf + g / avg;  p -= lr * buf
                buf = state["momentum_buffer"]
                b = buf._data
                b *= momentum
                b += g / avg
                p._data += -lr * b
                _bump(buf)
            else:
                p._data += (-lr * g) / avg
            _bump(p, state["step"], state["square_avg"])
