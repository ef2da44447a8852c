"""Adamax: Adam with the infinity norm of the gradients."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..creation import zeros_like
from .optimizer import (
    Optimizer,
    ParamsT,
    _bump,
    _check_adam_args,
    _grad,
    _lerp_,
    _params_with_grad,
    _value,
    _xp,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Implements the Adamax algorithm, like ``torch.optim.Adamax``."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_adam_args(lr, eps, betas, weight_decay)
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._fill_old_state({"foreach": None, "maximize": False, "differentiable": False,
                              "capturable": False})

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step; returns the closure's loss if one is given."""
        return self._step(closure)

    def _new_state(self, group: dict[str, Any], p: Tensor, state: dict) -> None:
        state["exp_avg"] = zeros_like(p)
        state["exp_inf"] = zeros_like(p)

    def _update_group(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        lr, eps = _value(group["lr"]), group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p in _params_with_grad(group):
            state = self._init_state(group, p)
            xp = _xp(p)
            step_t = state["step"]
            step_t._data += 1
            g = _grad(p, maximize, wd)
            exp_avg = state["exp_avg"]._data
            exp_inf = state["exp_inf"]._data
            _lerp_(exp_avg, g, 1 - beta1)  # m = beta1 * m + (1 - beta1) * g
            # u = max(beta2 * u, |g| + eps)
            exp_inf *= beta2
            norm = xp.abs(g)
            norm += eps
            xp.maximum(exp_inf, norm, out=exp_inf)
            # p -= lr / (1 - beta1 ** step) * m / u
            clr = lr / (1 - beta1 ** step_t.item())
            p._data += (-clr * exp_avg) / exp_inf
            _bump(p, step_t, state["exp_avg"], state["exp_inf"])
