"""NAdam: Adam with Nesterov momentum (and optional decoupled weight decay)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..creation import ones, zeros_like
from .optimizer import (
    Optimizer,
    ParamsT,
    _bump,
    _check_adam_args,
    _check_nonnegative,
    _ema_sq_,
    _grad,
    _lerp_,
    _params_with_grad,
    _step_scalar,
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
        _check_adam_args(lr, eps, betas, weight_decay)
        _check_nonnegative(momentum_decay=momentum_decay)
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize, "foreach": foreach, "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._fill_old_state({"maximize": False, "foreach": None, "capturable": False,
                              "differentiable": False, "decoupled_weight_decay": False},
                             scalars=("step", "mu_product"))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step; returns the closure's loss if one is given."""
        return self._step(closure)

    def _new_state(self, group: dict[str, Any], p: Tensor, state: dict) -> None:
        state["mu_product"] = _step_scalar(group, p, make=ones)
        state["exp_avg"] = zeros_like(p)
        state["exp_avg_sq"] = zeros_like(p)

    def _update_group(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        lr, eps = _value(group["lr"]), group["eps"]
        wd, momentum_decay = group["weight_decay"], group["momentum_decay"]
        decoupled, maximize = group["decoupled_weight_decay"], group["maximize"]
        for p in _params_with_grad(group):
            state = self._init_state(group, p)
            xp = _xp(p)
            step_t, mu_product = state["step"], state["mu_product"]
            step_t._data += 1
            step = step_t.item()
            bias_correction2 = 1 - beta2 ** step
            g = _grad(p, maximize, wd, lr, decoupled)
            # the momentum schedule: mu_t and mu_{t+1}, and their running product
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
            mu_product._data *= mu
            exp_avg = state["exp_avg"]._data
            exp_avg_sq = state["exp_avg_sq"]._data
            _lerp_(exp_avg, g, 1 - beta1)  # m = beta1 * m + (1 - beta1) * g
            _ema_sq_(exp_avg_sq, g, beta2)  # v = beta2 * v + (1 - beta2) * g * g
            denom = xp.sqrt(exp_avg_sq / bias_correction2)
            mu_prod = mu_product.item()
            mu_product_next = mu_prod * mu_next
            denom += eps
            # p -= lr * ((1 - mu) / (1 - mu_prod) * g + mu_next / (1 - mu_prod_next) * m) / denom
            p._data += ((-lr * (1.0 - mu) / (1.0 - mu_prod)) * g) / denom
            p._data += (((-lr * mu_next) / (1.0 - mu_product_next)) * exp_avg) / denom
            _bump(p, step_t, mu_product, state["exp_avg"], state["exp_avg_sq"])
