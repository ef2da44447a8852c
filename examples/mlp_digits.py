"""Train an MLP on scikit-learn's 8x8 digits with DistributedDataParallel over MPI.

    mpiexec -n 2 python examples/mlp_digits.py --epochs 20

Each rank reads its own share of every epoch (DistributedSampler); gradients are
averaged across ranks during backward, so all ranks keep identical weights.
"""
from __future__ import annotations

import argparse
import time

import disttorch as torch
import disttorch.distributed as dist
import disttorch.nn as nn
import disttorch.nn.functional as F
from disttorch.nn.parallel import DistributedDataParallel as DDP
from disttorch.utils.data import DataLoader, DistributedSampler, TensorDataset, random_split
from disttorch.utils.data.datasets import load_digits


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32, help="per rank")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(args.seed)

    images, labels = load_digits()
    data = TensorDataset(images.reshape(len(images), -1) / 16.0, labels)
    train, val = random_split(data, [0.8, 0.2], generator=torch.Generator().manual_seed(args.seed))
    sampler = DistributedSampler(train, shuffle=True, seed=args.seed)
    loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler, drop_last=True)
    val_x = torch.stack([val[i][0] for i in range(len(val))])
    val_y = torch.stack([val[i][1] for i in range(len(val))])

    model = nn.Sequential(nn.Linear(64, args.hidden), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(args.hidden, 10))
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        ddp.train()
        total, seen = 0.0, 0
        for x, y in loader:
            opt.zero_grad()
            loss = F.cross_entropy(ddp(x), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            seen += len(y)
        sched.step()
        stats = torch.tensor([total, float(seen)], dtype=torch.float64)
        dist.all_reduce(stats)
        ddp.eval()
        with torch.no_grad():
            acc = (model(val_x).argmax(dim=1) == val_y).float().mean().item()
        if rank == 0:
            print(f"epoch {epoch:3d}  train loss {stats[0].item() / stats[1].item():.4f}  "
                  f"val accuracy {acc:.3f}", flush=True)
    if rank == 0:
        print(f"final: val accuracy {acc:.3f} train loss {stats[0].item() / stats[1].item():.4f} "
              f"ranks {world} epochs {args.epochs} time {time.perf_counter() - start:.1f}s")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
