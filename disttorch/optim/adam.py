"""Adam (and the AMSGrad variant), with optional decoupled weight decay."""
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
    _check_fused_flags,
    _check_lr,
    _device_dtype_check_for_fused,
    _get_scalar_dtype,
    _lerp_,
    _scalar,
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
    pd = p._data
    g = p.grad._data
    if maximize:
        g = -g
    step_t = state["step"]
    step_t._data += 1
    if weight_decay != 0:
        if decoupled_weight_decay:
            pd *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * pd
    exp_avg = state["exp_avg"]._data
    exp_avg_sq = state["exp_avg_sq"]._data
    _lerp_(exp_avg, g, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += ((1 - beta2) * g) * g
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
    denom /= bias_correction2_sqrt
    denom += eps
    pd += (-step_size * exp_avg) / denom
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
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
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
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            fused = group.setdefault("fused", None)
            on_device = group["capturable"] or group["fused"]
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0 and not isinstance(p_state["step"], Tensor):
                    dt = _get_scalar_dtype(is_fused=fused)
                    p_state["step"] = _scalar(p_state["step"], dt, p.device if on_device else None)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step; returns the closure's loss if one is given."""
        return self._step(closure)

    def _init_state(self, group: dict[str, Any], p: Tensor) -> dict:
        state = self.state[p]
        if len(state) == 0:
            if group["fused"]:
                _device_dtype_check_for_fused(p)
            on_device = group["capturable"] or group["fused"]
            state["step"] = zeros((), dtype=_get_scalar_dtype(is_fused=group["fused"]),
                                  device=p.device if on_device else "cpu")
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_like(p)
        return state

    def _update_group(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        kw = dict(beta1=_value(beta1), beta2=_value(beta2), lr=_value(group["lr"]),
                  eps=group["eps"], weight_decay=_value(group["weight_decay"]),
                  amsgrad=group["amsgrad"], maximize=group["maximize"],
                  decoupled_weight_decay=group["decoupled_weight_decay"])
        for p in group["params"]:
            if p.grad is None:
                continue
            _adam_update(p, self._init_state(group, p), **kw)
