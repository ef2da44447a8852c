"""Adamax: Adam with the infinity norm of the gradients."""
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

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Implements the Adamax algorithm, like ``torch.optim.Adamax``."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
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
        wd, maximize = group["weight_decay"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = zeros((), dtype=_get_scalar_dtype(),
                                      device=p.device if group["capturable"] else "cpu")
                state["exp_avg"] = zeros_like(p)
                state["exp_inf"] = zeros_like(p)
            xp = _xp(p)
            pd = p._data
            g = p.grad._data
            if maximize:
                g = -g
            step_t = state["step"]
            step_t._data += 1
            if wd != 0:
                g = g + wd * pd
            exp_avg = state["exp_avg"]._data
            exp_inf = state["exp_inf"]._data
            _lerp_(exp_avg, g, 1 - beta1)
            exp_inf *= beta2
            norm = xp.abs(g)
            norm += eps
            xp.maximum(exp_inf, norm, out=exp_inf)
            clr = lr / (1 - beta1 ** step_t.item())
            pd += (-clr * exp_avg) / exp_inf
            _bump(p, step_t, state["exp_avg"], state["exp_inf"])
