"""``gradcheck``: compare autograd's Jacobian with central finite differences."""
from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree."""


def _tensors(x) -> list:
    from .._tensor import Tensor

    if isinstance(x, Tensor):
        return [x]
    return [t for t in x if isinstance(t, Tensor)]


def _flat_outputs(func, inputs) -> list:
    out = func(*inputs)
    return _tensors(out if isinstance(out, (tuple, list)) else (out,))


def _numerical_jacobian(func, inputs, diff_inputs, outputs, eps) -> list:
    """jac[i][j]: d output j / d input i, shape (input numel, output numel)."""
    jac = []
    for x in diff_inputs:
        data = x._data
        rows = np.zeros((data.size, sum(o._data.size for o in outputs)))
        flat = data.reshape(-1)  # a view: perturb in place
        for k in range(data.size):
            orig = flat[k].item()
            # evaluated with grad mode on: ``func`` may itself differentiate (gradgradcheck)
            flat[k] = orig + eps
            plus = [o.detach().cpu().numpy().astype(np.float64).ravel() for o in _flat_outputs(func, inputs)]
            flat[k] = orig - eps
            minus = [o.detach().cpu().numpy().astype(np.float64).ravel() for o in _flat_outputs(func, inputs)]
            flat[k] = orig
            rows[k] = (np.concatenate(plus) - np.concatenate(minus)) / (2 * eps) if plus else 0
        jac.append(rows)
    return jac


def _analytical_jacobian(diff_inputs, outputs, allow_unused=True) -> list:
    from ..creation import zeros_like
    from . import grad as autograd_grad

    total = sum(o._data.size for o in outputs)
    jac = [np.zeros((x._data.size, total)) for x in diff_inputs]
    col = 0
    for o in outputs:
        if not o._requires_grad:
            col += o._data.size
            continue
        for k in range(o._data.size):
            g = zeros_like(o)
            g._data.reshape(-1)[k] = 1
            grads = autograd_grad(o, diff_inputs, g, retain_graph=True, allow_unused=True)
            for i, gi in enumerate(grads):
                if gi is not None:
                    jac[i][:, col + k] = gi.detach().cpu().numpy().astype(np.float64).ravel()
        col += o._data.size
    return jac


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad=True,
              check_grad_dtypes=False, check_batched_grad=False, fast_mode=False, masked=None) -> bool:
    """True when ``func``'s autograd Jacobian matches finite differences at ``inputs``.

    Inputs that require grad should be float64 (a float32 check would be too coarse).
    """
    from .._tensor import Tensor

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff_inputs = [t for t in inputs if isinstance(t, Tensor) and t._requires_grad]
    if not diff_inputs:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for t in diff_inputs:
        if t.dtype.name != "float64":
            import warnings

            warnings.warn(
                f"Input #{inputs.index(t)} requires gradient and is not a double precision "
                "floating point. This check will likely fail if all the inputs are not of "
                "double precision floating point.", stacklevel=2)
    outputs = _flat_outputs(func, inputs)
    analytical = _analytical_jacobian(diff_inputs, outputs)
    # the finite differences perturb the CPU copies when inputs live on a device
    numerical = _numerical_jacobian(func, inputs, diff_inputs, outputs, eps)
    for i, (a, n) in enumerate(zip(analytical, numerical)):
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            msg = (
                f"Jacobian mismatch for output 0 with respect to input {i},\n"
                f"numerical:{n}\nanalytical:{a}\n"
            )
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs=False,
                  raise_exception: bool = True, **kwargs) -> bool:
    """gradcheck of the gradient: second derivatives through ``create_graph=True``."""
    from .._tensor import Tensor
    from ..creation import randn
    from . import grad as autograd_grad

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff_inputs = [t for t in inputs if isinstance(t, Tensor) and t._requires_grad]
    outputs = _flat_outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = [
            randn(o.shape, dtype=o.dtype, device=o.device).requires_grad_() for o in outputs
        ]
    grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else [grad_outputs]
    n_in = len(inputs)

    def first_grads(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs = _flat_outputs(func, ins)
        d_ins = [t for t in ins if isinstance(t, Tensor) and t._requires_grad]
        grads = autograd_grad(outs, d_ins, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    del diff_inputs
    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
