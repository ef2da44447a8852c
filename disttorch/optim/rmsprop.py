"""RMSprop, optionally centered and with momentum."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..creation import zeros, zeros_like
from .optimizer import Optimizer, ParamsT, _bump, _check_lr, _get_scalar_dtype, _lerp_, _scalar, _value, _xp

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """Implements the RMSprop algorithm, like ``torch.optim.RMSprop``."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {
            "lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
            "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
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
        lr = _value(group["lr"])
        alpha, eps = group["alpha"], group["eps"]
        wd = group["weight_decay"]
        momentum, centered, maximize = group["momentum"], group["centered"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = zeros((), dtype=_get_scalar_dtype(),
                                      device=p.device if group["capturable"] else "cpu")
                state["square_avg"] = zeros_like(p)
                if momentum > 0:
                    state["momentum_buffer"] = zeros_like(p)
                if centered:
                    state["grad_avg"] = zeros_like(p)
            xp = _xp(p)
            pd = p._data
            g = p.grad._data
            if maximize:
                g = -g
            state["step"]._data += 1
            if wd != 0:
                g = g + wd * pd
            sq = state["square_avg"]._data
            sq *= alpha
            sq += ((1 - alpha) * g) * g
            if centered:
                ga = state["grad_avg"]._data
                _lerp_(ga, g, 1 - alpha)
                avg = sq + (-ga) * ga
                xp.sqrt(avg, out=avg)
                _bump(state["grad_avg"])
            else:
                avg = xp.sqrt(sq)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]
                b = buf._data
                b *= momentum
                b += g / avg
                pd += -lr * b
                _bump(buf)
            else:
                pd += (-lr * g) / avg
            _bump(p, state["step"], state["square_avg"])
