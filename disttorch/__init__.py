"""disttorch: PyTorch's programming model on numpy/cupy, distributed over MPI."""
from __future__ import annotations

import warnings as _warnings

# torch computes inf/nan silently; numpy's floating-point RuntimeWarnings raised inside
# disttorch's own ops are noise to a torch user (the user's own numpy code still warns)
_warnings.filterwarnings(
    "ignore", message=r"(divide by zero|invalid value|overflow|underflow) encountered",
    category=RuntimeWarning, module=r"disttorch(\.|$)")

from .backend import malloc as _malloc

_malloc.tune()  # large per-step buffers stay in the process (see backend/malloc.py)

from . import autograd  # noqa: E402
from ._tensor import Size, Tensor
from ._tensor_str import get_printoptions, set_printoptions
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.grad_mode import is_inference_mode_enabled
from .backend.device import device
from .backend.dtypes import (
    bfloat16,
    bool_ as bool,  # noqa: A004 - torch's name
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    set_default_dtype,
    uint8,
)
from .creation import *  # noqa: F403
from .ops import *  # noqa: F403
from .ops.conv import adaptive_max_pool1d_with_indices as adaptive_max_pool1d  # torch's top level returns both
from ._misc import compile, get_num_threads, set_num_threads  # noqa: A004
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from . import cuda  # noqa: E402
from .serialization import load, save
from . import backends, distributed, linalg, nn, optim, utils  # noqa: E402
from . import func  # noqa: E402

globals().update(linalg.TOP_LEVEL)  # torch's legacy names: det, inverse, qr, svd, ...

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def numel(input: Tensor) -> int:
    return input.numel()


def result_type(tensor1, tensor2) -> dtype:
    from .ops._util import result_type as _rt

    return _rt(tensor1, tensor2)


def can_cast(from_: dtype, to: dtype) -> bool:
    if from_.is_floating_point and not to.is_floating_point:
        return False
    if from_.name != "bool" and to.name == "bool":
        return False
    return True

