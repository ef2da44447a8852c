"""Adagrad: per-coordinate learning rates from the accumulated squared gradients."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..creation import full_like, zeros
from .optimizer import (
    Optimizer,
    ParamsT,
    _bump,
    _check_fused_flags,
    _check_lr,
    _device_dtype_check_for_fused,
    _get_scalar_dtype,
    _scalar,
    _value,
    _xp,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Implements the Adagrad algorithm, like ``torch.optim.Adagrad``."""

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}"
            )
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {
            "lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
            "maximize": maximize, "differentiable": differentiable, "fused": fused,
        }
        super().__init__(params, defaults)
        if fused:
            _check_fused_flags(fused, foreach, differentiable)
        # the state is created eagerly, for every parameter
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(group, p)

    def _init_state(self, group: dict[str, Any], p: Tensor) -> dict:
        state = self.state[p]
        if len(state) == 0:
            if group["fused"]:
                _device_dtype_check_for_fused(p)
            state["step"] = zeros((), dtype=_get_scalar_dtype(is_fused=group["fused"]),
                                  device=p.device if group["fused"] else "cpu")
            state["sum"] = full_like(p, self.defaults["initial_accumulator_value"])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        fused = None
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            fused = group.setdefault("fused", None)
            for p in group["params"]:
                p_state = self.state.get(p, [])
                if len(p_state) != 0 and not isinstance(p_state["step"], Tensor):
                    p_state["step"] = _scalar(p_state["step"], _get_scalar_dtype(is_fused=fused),
                                              p.device if group["fused"] else None)

    def share_memory(self) -> None:
        """Kept for torch compatibility: state tensors live in process memory already."""

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step; returns the closure's loss if one is given."""
        return self._step(closure)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = _value(group["lr"])
        lr_decay, eps = group["lr_decay"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self._init_state(group, p)
            step_t = state["step"]
            step_t._data += 1
            step = step_t.item()
            pd = p._data
            g = p.grad._data
            if maximize:
                g = -g
            if wd != 0:
                g = g + wd * pd
            clr = lr / (1 + (step - 1) * lr_decay)
            s = state["sum"]._data
            s += g * g
            std = _xp(p).sqrt(s)
            std += eps
            pd += (-clr * g) / std
            _bump(p, step_t, state["sum"])
