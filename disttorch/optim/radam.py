"""RAdam: Adam with a rectified adaptive learning rate."""
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
    _ema_sq_,
    _grad,
    _lerp_,
    _params_with_grad,
    _value,
    _xp,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """Implements the RAdam algorithm, like ``torch.optim.RAdam``."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_args(lr, eps, betas, weight_decay)
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "maximize": maximize, "foreach": foreach, "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay, "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._fill_old_state({"foreach": None, "maximize": False, "differentiable": False,
                              "decoupled_weight_decay": False, "capturable": False})

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step; returns the closure's loss if one is given."""
        return self._step(closure)

    def _new_state(self, group: dict[str, Any], p: Tensor, state: dict) -> None:
        state["exp_avg"] = zeros_like(p)
        state["exp_avg_sq"] = zeros_like(p)

    def _update_group(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        lr, eps = _value(group["lr"]), group["eps"]
        wd, decoupled, maximize = (group["weight_decay"], group["decoupled_weight_decay"],
                                   group["maximize"])
        for p in _params_with_grad(group):
            state = self._init_state(group, p)
            xp = _xp(p)
            step_t = state["step"]
            step_t._data += 1
            step = step_t.item()
            g = _grad(p, maximize, wd, lr, decoupled)
            exp_avg = state["exp_avg"]._data
            exp_avg_sq = state["exp_avg_sq"]._data
            _lerp_(exp_avg, g, 1 - beta1)  # m = beta1 * m + (1 - beta1) * g
            _ema_sq_(exp_avg_sq, g, beta2)  # v = beta2 * v + (1 - beta2) * g * g
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            update = exp_avg / bias_correction1
            update *= lr
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                adaptive = xp.sqrt(exp_avg_sq)
                adaptive += eps
                # scalar / tensor is reciprocal-then-multiply in torch
                xp.reciprocal(adaptive, out=adaptive)
                adaptive *= bias_correction2 ** 0.5
                update *= adaptive
                update *= rect
            p._data -= update
            _bump(p, step_t, state["exp_avg"], state["exp_avg_sq"])
