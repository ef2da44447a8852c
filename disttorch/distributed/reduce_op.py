"""``ReduceOp``: the reductions collectives apply (torch's names)."""
from __future__ import annotations

import enum


class ReduceOp(enum.Enum):
    """How ``all_reduce``/``reduce``/``reduce_scatter`` combine values across ranks."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {list(ReduceOp).index(self)}>"


_TABLES: tuple | None = None


def _tables() -> tuple:
    global _TABLES
    if _TABLES is None:
        from mpi4py import MPI

        # torch reduces bools logically: SUM is OR, PRODUCT is AND
        logical = {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.BOR: MPI.LOR,
                   ReduceOp.PRODUCT: MPI.LAND, ReduceOp.MIN: MPI.LAND, ReduceOp.BAND: MPI.LAND,
                   ReduceOp.BXOR: MPI.LXOR, ReduceOp.AVG: MPI.LOR}
        numeric = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                   ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
                   ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}
        _TABLES = (numeric, logical)
    return _TABLES


def mpi_op(op: ReduceOp, is_bool: bool):
    """The MPI operation for ``op`` (AVG reduces as SUM and divides afterwards)."""
    if not isinstance(op, ReduceOp):
        raise ValueError(f"op should be a disttorch.distributed.ReduceOp, got {op!r}")
    return _tables()[1 if is_bool else 0][op]
