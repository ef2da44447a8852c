"""Matrix products: matmul/mm/bmm/mv/dot, the add* family, outer, inner, tensordot, einsum, kron, cross.

Forward passes call BLAS through ``xp.matmul`` on the arrays as they are (transposed
views included); backward passes are written with these same ops (so ``create_graph``
gives higher-order gradients) and return batch-broadcast gradients in the broadcast
shape, which the engine sums back to each input's shape.

One concept per submodule: ``products`` (matmul, mm, bmm, mv, dot, vdot and their ops),
``add_products`` (addmm, addmv, baddbmm, addbmm, addr), ``tensor_products`` (outer/ger,
inner, tensordot, kron, cross), ``einstein`` (einsum: parsing, the Einsum and DiagEmbed
ops); ``_common`` holds the helpers they share. Importing the package installs the Tensor
methods (``@`` included).
"""
from __future__ import annotations

from ..._tensor import Tensor
from .._inplace import inplace_method

# Beyond ``__all__``, ``nn`` reaches for the ops and the BLAS helper here:
# ``nn.modules.rnn`` applies ``Addmm`` and ``Mm``, ``nn.functional.linear`` uses ``Mm`` and ``_mat``.
from ._common import _mat  # noqa: F401
from .add_products import (
    Addmm,  # noqa: F401
    addbmm,
    addmm,
    addmv,
    addr,
    baddbmm,
)
from .einstein import einsum
from .products import (
    Mm,  # noqa: F401
    bmm,
    dot,
    matmul,
    mm,
    mv,
    vdot,
)
from .tensor_products import cross, ger, inner, kron, outer, tensordot


def _install() -> None:
    T = Tensor
    T.matmul, T.mm, T.bmm, T.mv, T.dot, T.vdot = matmul, mm, bmm, mv, dot, vdot
    T.inner, T.outer, T.ger, T.kron, T.cross = inner, outer, ger, kron, cross
    T.addmm, T.addmv, T.addbmm, T.baddbmm, T.addr = addmm, addmv, addbmm, baddbmm, addr
    for fn in (addmm, addmv, addbmm, baddbmm, addr):
        setattr(T, fn.__name__ + "_", inplace_method(fn))

    def __matmul__(self, other):  # noqa: N807
        if not isinstance(other, Tensor):
            return NotImplemented
        return matmul(self, other)

    def __rmatmul__(self, other):  # noqa: N807
        if not isinstance(other, Tensor):
            return NotImplemented
        return matmul(other, self)

    T.__matmul__, T.__rmatmul__ = __matmul__, __rmatmul__


_install()

__all__ = ["addbmm", "addmm", "addmv", "addr", "baddbmm", "bmm", "cross", "dot", "einsum", "ger", "inner",
           "kron", "matmul", "mm", "mv", "outer", "tensordot", "vdot"]
