"""Convolution and pooling: conv{1,2,3}d, conv_transpose{1,2,3}d, max/avg/adaptive pools.

The array work is done by the kernels in ``_conv_kernels``; this package adds the
graph nodes, torch's argument handling (ints or tuples, ``'same'``/``'valid'``
padding, unbatched inputs) and torch's input checks and messages.

Convolution is closed under differentiation with three ops: ``_Conv`` (the forward
correlation), ``_ConvT`` (its input gradient, which is also the transposed
convolution) and ``_ConvW`` (its weight gradient). The backward of each is written
with the other two, so ``create_graph=True`` gives gradients of any order. A
gradient whose spatial size is shorter than the full conv output (a transposed conv
with ``output_padding >= stride``) is zero-padded at the end, and the matching
forward conv output is trimmed, which keeps the three ops adjoint to each other.

Pooling backward ops are linear in the incoming gradient, so each has an adjoint
op as its backward: average pooling and its gradient are adjoints of each other,
and the max-pool gradient (a scatter at the argmax positions) pairs with a gather.

One concept per submodule: ``conv_ops`` (the convolution graph ops), ``convolution``
(the conv and conv_transpose front ends), ``pool_ops`` (the pooling graph ops),
``window_pools`` (max/avg pool front ends), ``adaptive_pools`` (adaptive pool front
ends); ``_common`` holds the helpers they share.
"""
from __future__ import annotations

# Beyond ``__all__``, other modules import the 3-d and ``_with_indices`` variants and the
# 2-d/3-d pools: ``nn.functional.conv`` and ``nn.modules.conv`` (conv3d, conv_transpose3d),
# ``nn.functional.pooling`` (every pool), ``nn.functional.normalization`` (avg_pool2d/3d),
# ``disttorch/__init__`` (adaptive_max_pool1d_with_indices) and ``tests/ops/test_conv.py``
# (by name through ``getattr``).
from .adaptive_pools import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,  # noqa: F401
    adaptive_avg_pool3d,  # noqa: F401
    adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices,  # noqa: F401
    adaptive_max_pool2d,  # noqa: F401
    adaptive_max_pool2d_with_indices,  # noqa: F401
    adaptive_max_pool3d,  # noqa: F401
    adaptive_max_pool3d_with_indices,  # noqa: F401
)
from .convolution import (
    conv1d,
    conv2d,
    conv3d,  # noqa: F401
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,  # noqa: F401
)
from .window_pools import (
    avg_pool1d,
    avg_pool2d,  # noqa: F401
    avg_pool3d,  # noqa: F401
    max_pool1d,
    max_pool1d_with_indices,  # noqa: F401
    max_pool2d,
    max_pool2d_with_indices,  # noqa: F401
    max_pool3d,  # noqa: F401
    max_pool3d_with_indices,  # noqa: F401
)

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "avg_pool1d",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
]
