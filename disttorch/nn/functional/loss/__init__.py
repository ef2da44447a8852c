"""Loss functions with ``torch.nn.functional``'s names, signatures, reductions and errors.

The hot losses are single ops whose backward is written with Tensor ops (so double
backward works): ``cross_entropy`` on an (N, C) or (C,) input with class indices fuses
log_softmax and nll (its input grad is ``(softmax - smoothed one-hot) * scale``);
``nll_loss`` gathers in one op for any number of spatial dims; the elementwise regression
losses (mse, l1, smooth_l1, huber) and both binary cross entropies reduce inside their op.
The other losses are composed of existing ops. ``size_average``/``reduce`` map to a
reduction string as torch's ``_Reduction.legacy_get_string`` does.

One concept per submodule: ``regression`` (mse, l1, smooth_l1, huber), ``nll`` (nll_loss and
the class-index target handling), ``softmax_cross_entropy`` (cross_entropy: the fused op, its
grad op, the composed paths), ``binary`` (binary_cross_entropy, with and without logits),
``divergences`` (kl_div, poisson/gaussian nll), ``margins`` (margin and embedding losses);
``_common`` holds the helpers they share (dtype helpers, the reduction mapping).
"""
from __future__ import annotations

# Beyond ``__all__``, other files reach for private names here: ``nn.modules.loss`` and
# tests/nn/test_loss.py use ``_legacy_get_string``; tests/nn/test_loss.py compares
# ``_cross_entropy_fused`` with ``_cross_entropy_reference``.
from ._common import _legacy_get_string  # noqa: F401
from .binary import binary_cross_entropy, binary_cross_entropy_with_logits
from .divergences import gaussian_nll_loss, kl_div, poisson_nll_loss
from .margins import (
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from .nll import nll_loss
from .regression import huber_loss, l1_loss, mse_loss, smooth_l1_loss
from .softmax_cross_entropy import (
    _cross_entropy_fused,  # noqa: F401
    _cross_entropy_reference,  # noqa: F401
    cross_entropy,
)

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
    "cross_entropy", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss", "kl_div",
    "l1_loss", "margin_ranking_loss", "mse_loss", "multilabel_soft_margin_loss", "nll_loss",
    "poisson_nll_loss", "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss",
]
