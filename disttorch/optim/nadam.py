"""NAdam: Adam with Nesterov momentum (and optional decoupled weight decay)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..creation import ones, zeros, zeros_like
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

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """Implements the NAdam algorithm, like ``torch.optim.NAdam``."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize, "foreach": foreach, "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0:
                    dev = p.device if group["capturable"] else None
                    for key in ("step", "mu_product"):
                        if not isinstance(p_state[key], Tensor):
                            p_state[key] = _scalar(p_state[key], _get_scalar_dtype(), dev)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step; returns the closure's loss if one is given."""
        return self._step(closure)

    def _update_group(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        lr, eps = _value(group["lr"]), group["eps"]
        wd, momentum_decay = group["weight_decay"], group["momentum_decay"]
        decoupled, maximize = group["decoupled_weight_decay"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                dev = p.device if group["capturable"] else "cpu"
                state["step"] = zeros((), dtype=_get_scalar_dtype(), device=dev)
                state["mu_product"] = ones((), dtype=_get_scalar_dtype(), device=dev)
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
            xp = _xp(p)
            pd = p._data
            g = p.grad._data
            if maximize:
                g = -g
            step_t, mu_product = state["step"], state["mu_product"]
            step_t._data += 1
            step = step_t.item()
            bias_correction2 = 1 - beta2 ** step
            if wd != 0:
                if decoupled:
                    pd *= 1 - lr * wd
                else:
                    g = g + wd * pd
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
            mu_product._data *= mu
            exp_avg = state["exp_avg"]._data
            exp_avg_sq = state["exp_avg_sq"]._data
            _lerp_(exp_avg, g, 1 - beta1)
            exp_avg_sq *= beta2
            exp_avg_sq += ((1 - beta2) * g) * g
            denom = exp_avg_sq / bias_correction2
            xp.sqrt(denom, out=denom)
            mu_prod = mu_product.item()
            mu_product_next = mu_prod * mu_next
            denom += eps
            pd += ((-lr * (1.0 - mu) / (1.0 - mu_prod)) * g) / denom
            pd += (((-lr * mu_next) / (1.0 - mu_product_next)) * exp_avg) / denom
            _bump(p, step_t, mu_product, state["exp_avg"], state["exp_avg_sq"])
