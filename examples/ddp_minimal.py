"""PyTorch's DDP tutorial program (its ToyModel), running on disttorch over MPI.

    mpiexec -n 2 python examples/ddp_minimal.py

The only change from the tutorial is the import line and the backend name.
"""
from __future__ import annotations

import disttorch as torch
import disttorch.distributed as dist
import disttorch.nn as nn
import disttorch.optim as optim
from disttorch.nn.parallel import DistributedDataParallel as DDP


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net1 = nn.Linear(10, 10)
        self.relu = nn.ReLU()
        self.net2 = nn.Linear(10, 5)

    def forward(self, x):
        return self.net2(self.relu(self.net1(x)))


def demo_basic() -> None:
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    print(f"Start running basic DDP example on rank {rank}.")
    torch.manual_seed(rank)  # different data per rank; DDP makes the weights agree
    model = ToyModel()
    ddp_model = DDP(model)
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(ddp_model.parameters(), lr=0.001)
    for _ in range(5):
        optimizer.zero_grad()
        outputs = ddp_model(torch.randn(20, 10))
        labels = torch.randn(20, 5)
        loss_fn(outputs, labels).backward()
        optimizer.step()
    # every rank ends with the same parameters
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    ref = flat.clone()
    dist.broadcast(ref, src=0)
    assert torch.equal(flat, ref), f"rank {rank}: parameters differ from rank 0"
    print(f"rank {rank}: finished, parameters identical across {dist.get_world_size()} ranks")
    dist.destroy_process_group()


if __name__ == "__main__":
    demo_basic()
