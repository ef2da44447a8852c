"""``disttorch.distributed``: process groups and collectives over MPI (torch.distributed's API)."""
from .collectives import all_reduce, barrier, broadcast
from .process_group import (
    GroupMember,
    ProcessGroup,
    destroy_process_group,
    get_backend,
    get_global_rank,
    get_group_rank,
    get_node_local_rank,
    get_node_local_size,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    new_group,
)
from .reduce_op import ReduceOp
from .work import Work

__all__ = [
    "GroupMember", "ProcessGroup", "ReduceOp", "Work", "all_reduce", "barrier", "broadcast",
    "destroy_process_group", "get_backend", "get_global_rank", "get_group_rank",
    "get_node_local_rank", "get_node_local_size", "get_process_group_ranks", "get_rank",
    "get_world_size", "group", "init_process_group", "is_available", "is_gloo_available",
    "is_initialized", "is_mpi_available", "is_nccl_available", "new_group",
]
