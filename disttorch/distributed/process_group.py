"""Process groups over MPI communicators: ``init_process_group``, ``new_group``, queries.

One MPI rank is one process is one autograd engine. The default group wraps
``MPI.COMM_WORLD`` (duplicated, so our traffic never mixes with the user's own MPI
calls); ``new_group`` builds sub-communicators. Rank and size always come from MPI.
"""
from __future__ import annotations

import os
from datetime import timedelta

_BACKENDS = ("mpi", "gloo", "nccl")


class ProcessGroup:
    """A set of ranks with an MPI communicator (and an NCCL communicator for 'nccl')."""

    def __init__(self, comm, backend: str, global_ranks: list[int]) -> None:
        self.comm = comm
        self.backend = backend
        self.global_ranks = global_ranks  # group rank -> global rank
        self._rank = comm.Get_rank()
        self._size = comm.Get_size()
        self._nccl = None  # created on first use of a cuda tensor (see nccl.py)

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size

    def name(self) -> str:
        return self.backend

    def __repr__(self) -> str:
        return f"<ProcessGroup backend={self.backend} rank={self._rank} size={self._size}>"


class GroupMember:
    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = object()


class group:  # noqa: N801 - torch's name
    WORLD = None  # set to the default group by init_process_group


_local_comm = None


def is_available() -> bool:
    """True when mpi4py imports (it brings MPI)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_initialized() -> bool:
    return GroupMember.WORLD is not None


def is_mpi_available() -> bool:
    return is_available()


def is_nccl_available() -> bool:
    try:
        from cupy.cuda import nccl  # noqa: F401
    except Exception:
        return False
    return True


def is_gloo_available() -> bool:
    return is_available()


def _default() -> ProcessGroup:
    if GroupMember.WORLD is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return GroupMember.WORLD


def _resolve(group) -> ProcessGroup:
    if group is None or group is GroupMember.WORLD:
        return _default()
    if group is GroupMember.NON_GROUP_MEMBER:
        raise ValueError("Invalid process group specified: this rank is not a member of the group")
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup or None, got {type(group).__name__}")
    return group


def _check_slurm_world(size: int) -> None:
    """Refuse N independent size-1 'worlds': srun without PMI starts ranks that never meet."""
    n = os.environ.get("SLURM_NTASKS") or os.environ.get("SLURM_NPROCS")
    if n and int(n) > 1 and size == 1 and os.environ.get("SLURM_STEP_ID") is not None:
        raise RuntimeError(
            f"SLURM started {n} tasks but MPI sees a world of size 1: each task is its own "
            "world. Launch with `srun --mpi=pmi2 ...` (or mpiexec inside the allocation) so the "
            "tasks join one MPI world."
        )


def _cross_check_env(rank: int, size: int) -> None:
    """Environment variables (torchrun style) must agree with what MPI says."""
    for var, actual in (("RANK", rank), ("WORLD_SIZE", size)):
        v = os.environ.get(var)
        if v is not None and v.strip().isdigit() and int(v) != actual:
            raise RuntimeError(
                f"environment variable {var}={v} disagrees with MPI ({var.lower()} {actual}); "
                "rank and world size come from MPI, so unset or fix the variable"
            )


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store=None, group_name: str = "", pg_options=None, device_id=None) -> None:
    """Create the default group over ``MPI.COMM_WORLD``.

    ``backend`` is 'mpi' (or 'gloo', which runs over the same MPI transport here) for CPU
    and host-staged tensors, or 'nccl' for cuda tensors through cupy's NCCL. ``world_size``
    and ``rank`` are checked against MPI when given; MPI is the source of truth.
    """
    if GroupMember.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    backend = (backend or "mpi").lower()
    if backend not in _BACKENDS:
        raise ValueError(f"Invalid backend: '{backend}'. disttorch supports {', '.join(_BACKENDS)}")
    from mpi4py import MPI

    if not MPI.Is_initialized():
        MPI.Init_thread()
    world = MPI.COMM_WORLD
    r, n = world.Get_rank(), world.Get_size()
    _check_slurm_world(n)
    if world_size not in (-1, None) and world_size != n:
        raise RuntimeError(f"init_process_group: world_size={world_size} but MPI started {n} ranks")
    if rank not in (-1, None) and rank != r:
        raise RuntimeError(f"init_process_group: rank={rank} but MPI says this process is rank {r}")
    _cross_check_env(r, n)
    pg = ProcessGroup(world.Dup(), backend, list(range(n)))
    GroupMember.WORLD = pg
    group.WORLD = pg
    from .abort import install_abort_on_exception

    install_abort_on_exception()


def destroy_process_group(group=None) -> None:
    """Free a group's communicator (the default group when ``group`` is None)."""
    global _local_comm
    pg = _resolve(group)
    if pg._nccl is not None:
        pg._nccl = None
    pg.comm.Free()
    if pg is GroupMember.WORLD:
        GroupMember.WORLD = None
        globals()["group"].WORLD = None
        if _local_comm is not None:
            _local_comm.Free()
            _local_comm = None


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A group of ``ranks`` (global ranks, all by default); every rank must call it.

    Ranks outside the group get ``GroupMember.NON_GROUP_MEMBER``.
    """
    world = _default()
    if ranks is None:
        ranks = list(range(world.size()))
    ranks = sorted(int(r) for r in ranks)
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"new_group: duplicate ranks in {ranks}")
    for r in ranks:
        if not 0 <= r < world.size():
            raise ValueError(
                f"The new group's rank should be within the world_size set by "
                f"init_process_group ({world.size()}), got {r}"
            )
    member = world.rank() in ranks
    from mpi4py import MPI

    comm = world.comm.Split(0 if member else MPI.UNDEFINED, ranks.index(world.rank()) if member else 0)
    if not member:
        return GroupMember.NON_GROUP_MEMBER
    return ProcessGroup(comm, (backend or world.backend).lower(), ranks)


def get_rank(group=None) -> int:
    """This process's rank in ``group`` (-1 if not a member)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _resolve(group).rank()


def get_world_size(group=None) -> int:
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _resolve(group).size()


def get_backend(group=None) -> str:
    return _resolve(group).backend


def get_global_rank(group, group_rank: int) -> int:
    pg = _resolve(group)
    if not 0 <= group_rank < pg.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {pg}")
    return pg.global_ranks[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    pg = _resolve(group)
    if global_rank not in pg.global_ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {pg}")
    return pg.global_ranks.index(global_rank)


def get_process_group_ranks(group) -> list[int]:
    return list(_resolve(group).global_ranks)


def _node_comm():
    global _local_comm
    if _local_comm is None:
        from mpi4py import MPI

        _local_comm = _default().comm.Split_type(MPI.COMM_TYPE_SHARED)
    return _local_comm


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This rank's index among the ranks on its node (a shared-memory split of the world)."""
    if GroupMember.WORLD is None:
        v = os.environ.get("LOCAL_RANK")
        if v is not None:
            return int(v)
        if fallback_rank is not None:
            return fallback_rank
        raise RuntimeError("LOCAL_RANK is not set and the process group is not initialized")
    return _node_comm().Get_rank()


def get_node_local_size() -> int:
    """How many ranks share this node."""
    return _node_comm().Get_size()
