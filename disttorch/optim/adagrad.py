"""Adagrad: per-coordinate learning rates from the accumulated squared gradients."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._tensor import Tensor
from ..creation import full_like
from .optimizer import (
    Optimizer,
    ParamsT,
    _bump,
    _check_fused_flags,
    _check_lr,
    _check_nonnegative,
    _grad,
    _params_with_grad,
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
        _check_nonnegative(lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial_accumulator_value, epsilon=eps)
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

    def _new_state(self, group: dict[str, Any], p: Tensor, state: dict) -> None:
        state["sum"] = full_like(p, self.defaults["initial_accumulator_value"])

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._fill_old_state({"foreach": None, "maximize": False, "differentiable": False,
                              "fused": None})

    def share_memory(self) -> None:
        """Kept for torch compatibility: state tensors live in process memory already."""

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step; returns the closure's loss if one is given."""
        return self._step(closure)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = _value(group["lr"])
        lr_decay, eps = group["lr_decay"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p in _params_with_grad(group):
            state = self._init_state(group, p)
            step_t = state["step"]
            step_t._data += 1
            step = step_t.item()
            g = _grad(p, maximize, wd)
            # sum += g * g;  p -= lr / (1 + (step - 1) * lr_decay) * g / (sqrt(sum) + eps)
            clr = lr / (1 + (step - 1) * lr_decay)
            s = state["sum"]._data
            s += g * g
            std = _xp(p).sqrt(s)
            std += eps
            p._data += (-clr * g) / std
            _bump(p, step_t, state["sum"])
