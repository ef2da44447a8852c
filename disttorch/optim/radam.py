"""RAdam: Adam with a rectified adaptive learning rate."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..creation import zeros, zeros_like
from .optimizer import (
    Optimizer,
    ParamsT,
    _bump,
    _check_betas,
    _check_lr,
    _get_scalar_dtype,
    _lerp_,
    _scalar,
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
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "maximize": maximize, "foreach": foreach, "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay, "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("capturable", False)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0 and not isinstance(p_state["step"], Tensor):
                    p_state["step"] = _scalar(p_state["step"], _get_scalar_dtype(),
                                              p.device if group["capturable"] else None)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step; returns the closure's loss if one is given."""
        return self._step(closure)

    def _update_group(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        lr, eps = _value(group["lr"]), group["eps"]
        wd, decoupled, maximize = (group["weight_decay"], group["decoupled_weight_decay"],
                                   group["maximize"])
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                dev = p.device if group["capturable"] else "cpu"
                state["step"] = zeros((), dtype=_get_scalar_dtype(), device=dev)
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
            xp = _xp(p)
            pd = p._data
            g = p.grad._data
            if maximize:
                g = -g
            step_t = state["step"]
            step_t._data += 1
            step = step_t.item()
            if wd != 0:
                if decoupled:
                    pd *= 1 - lr * wd
                else:
                    g = g + wd * pd
            exp_avg = state["exp_avg"]._data
            exp_avg_sq = state["exp_avg_sq"]._data
            _lerp_(exp_avg, g, 1 - beta1)
            exp_avg_sq *= beta2
            exp_avg_sq += ((1 - beta2) * g) * g
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
            pd -= update
            _bump(p, step_t, state["exp_avg"], state["exp_avg_sq"])
