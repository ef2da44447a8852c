"""Differentiable ops, one file per family. Importing a family installs its Tensor methods."""
from __future__ import annotations

from . import (
    activation,
    arithmetic,
    comparison,
    conv,
    convert,
    fill,
    indexing,
    linalg,
    movement,
    pointwise,
    reduction,
    shape,
    sorting,
)
from .arithmetic import *  # noqa: F403
from .shape import *  # noqa: F403
from .reduction import *  # noqa: F403
from .convert import *  # noqa: F403
from .pointwise import *  # noqa: F403
from .comparison import *  # noqa: F403
from .movement import *  # noqa: F403
from .indexing import *  # noqa: F403
from .linalg import *  # noqa: F403
from .activation import *  # noqa: F403
from .conv import *  # noqa: F403
from .fill import *  # noqa: F403
from .sorting import *  # noqa: F403

# only the families' public names: the submodules themselves stay out of ``disttorch.*``
__all__ = [
    name for module in (arithmetic, shape, reduction, convert, pointwise, comparison, movement,
                        indexing, linalg, activation, conv, fill, sorting)
    for name in module.__all__
]
