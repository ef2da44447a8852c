"""``disttorch.backends``: the switches PyTorch scripts commonly set (accepted, no effect here).

numpy/cupy choose their own kernels, so cuDNN/TF32 flags only need to exist for code that
sets or reads them.
"""
from __future__ import annotations

import types

cudnn = types.SimpleNamespace(enabled=True, benchmark=False, deterministic=False,
                              allow_tf32=True, is_available=lambda: False)
cuda = types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=False))
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
