"""Adam (and the AMSGrad variant), with optional decoupled weight decay."""
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
    _check_fused_flags,
    _ema_sq_,
    _grad,
    _lerp_,
    _params_with_grad,
    _value,
    _xp,
)

__all__ = ["Adam"]


def _check_tensor_betas(betas, foreach, capturable) -> None:
    if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
            or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
        raise ValueError("betas must be either both floats or both Tensors")
    for i in (0, 1):
        if isinstance(betas[i], Tensor):
            if not capturable and foreach:
                raise ValueError(
                    f"betas[{i}] as a Tensor is not supported for capturable=False and foreach=True"
                )
            if betas[i].numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")


def _to_scalar(x):
    """A 1-element tensor hyperparameter as a 0-d tensor; anything else unchanged."""
    if isinstance(x, Tensor) and x.dim() != 0:
        return x.reshape(())
    return x


def _adam_update(p: Tensor, state: dict, *, beta1: float, beta2: float, lr: float, eps: float,
                weight_decay: float, amsgrad: bool, maximize: bool,
                decoupled_weight_decay: bool) -> None:
    """One Adam step for one parameter, in torch's single-tensor order of operations."""
    xp = _xp(p)
    step_t = state["step"]
    step_t._data += 1
    g = _grad(p, maximize, weight_decay, lr, decoupled_weight_decay)
    exp_avg = state["exp_avg"]._data
    exp_avg_sq = state["exp_avg_sq"]._data
    _lerp_(exp_avg, g, 1 - beta1)  # m = beta1 * m + (1 - beta1) * g
    _ema_sq_(exp_avg_sq, g, beta2)  # v = beta2 * v + (1 - beta2) * g * g
    step = step_t.item()
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2 ** 0.5
    if amsgrad:
        m = state["max_exp_avg_sq"]
        xp.maximum(m._data, exp_avg_sq, out=m._data)
        _bump(m)
        denom = xp.sqrt(m._data)
    else:
        denom = xp.sqrt(exp_avg_sq)
    # p -= step_size * m / (sqrt(v) / sqrt(bias_correction2) + eps)
    denom /= bias_correction2_sqrt
    denom += eps
    p._data += (-step_size * exp_avg) / denom
    _bump(p, step_t, state["exp_avg"], state["exp_avg_sq"])


class Adam(Optimizer):
    """Implements the Adam algorithm, like ``torch.optim.Adam``."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        if isinstance(lr, Tensor):
            if foreach and not capturable:
                raise ValueError(
                    "lr as a Tensor is not supported for capturable=False and foreach=True"
                )
        _check_adam_args(lr, eps, betas, weight_decay)
        _check_tensor_betas(betas, foreach, capturable)
        betas = tuple(map(_to_scalar, betas))
        defaults = {
            "lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
            "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
            "capturable": capturable, "differentiable": differentiable, "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)
        if fused:
            _check_fused_flags(fused, foreach, differentiable)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._fill_old_state({"amsgrad": False, "maximize": False, "foreach": None,
                              "capturable": False, "differentiable": False,
                              "decoupled_weight_decay": False, "fused": None})

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step; returns the closure's loss if one is given."""
        return self._step(closure)

    def _new_state(self, group: dict[str, Any], p: Tensor, state: dict) -> None:
        state["exp_avg"] = zeros_like(p)
        state["exp_avg_sq"] = zeros_like(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_like(p)

    def _update_group(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        kw = dict(beta1=_value(beta1), beta2=_value(beta2), lr=_value(group["lr"]),
                  eps=group["eps"], weight_decay=_value(group["weight_decay"]),
                  amsgrad=group["amsgrad"], maximize=group["maximize"],
                  decoupled_weight_decay=group["decoupled_weight_decay"])
        for p in _params_with_grad(group):
            _adam_update(p, self._init_state(group, p), **kw)
