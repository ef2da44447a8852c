"""Train an MLP on handwritten digits with DistributedDataParallel over MPI, resumably.

    python examples/mlp_digits.py                       # one process
    mpiexec -n 2 python examples/mlp_digits.py          # two ranks: DDP + DistributedSampler
    mpiexec -n 2 python examples/mlp_digits.py --checkpoint-dir ckpt          # checkpoints
    mpiexec -n 2 python examples/mlp_digits.py --checkpoint-dir ckpt --resume # continue

The data is scikit-learn's 1797 8x8 digits (or MNIST with ``--mnist-dir DIR`` holding the
four IDX files). Each rank reads its own share of every epoch; gradients are averaged
across ranks during backward, so all ranks keep identical weights. SIGUSR1 or SIGTERM
(what SLURM sends before preempting a job) makes every rank finish its step, write a
checkpoint and exit 0; ``--resume`` then continues to bit-identical final weights.
"""
from __future__ import annotations

import argparse

import _common as common

import disttorch as torch
import disttorch.nn as nn
import disttorch.nn.functional as F
from disttorch.nn.parallel import DistributedDataParallel as DDP
from disttorch.utils.data import DataLoader, DistributedSampler


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_args(p, epochs=20, batch_size=32, lr=0.05)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--mnist-dir", default=None, help="train on MNIST IDX files from this directory")
    return common.parse(p)


def main() -> None:
    args = parse_args()
    rank, world = common.init_distributed()
    common.setup_logging(rank)
    device = common.pick_device(args.device)
    common.seed_everything(args.seed)

    # data: each rank draws a disjoint shard of every epoch's shuffle
    train_set, val_x, val_y, side = common.image_data(args.mnist_dir, args.seed)
    val_x, val_y = val_x.flatten(1).to(device), val_y.to(device)
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, seed=args.seed, drop_last=True)
    # the loader's own generator keeps its per-iterator seed draw off the global RNG (dropout's)
    loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler, drop_last=True,
                        generator=torch.Generator().manual_seed(args.seed))

    model = nn.Sequential(nn.Linear(side * side, args.hidden), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(args.hidden, 10)).to(device)

    # resume: load before DDP and the optimizer exist (the checkpoint also restores the RNGs)
    ckpt, state = common.resume(args, device)
    if state is not None:
        model.load_state_dict(state["model"])
    net = DDP(model) if world > 1 else model
    total_steps = args.epochs * len(loader)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)

    def loss_fn(x, y):
        return F.cross_entropy(net(x.flatten(1).to(device)), y.to(device))

    done = common.train(args, model, net, opt, sched, loader, sampler, loss_fn,
                        lambda: common.evaluate_classifier(model, val_x, val_y), common.classifier_report,
                        ckpt=ckpt, state=state, device=device, title="MLP on digits")
    if done is not None and rank == 0:
        m = done.metrics
        print(f"final: step {done.step} val_accuracy {m['val_accuracy']:.4f} val_loss {m['val_loss']:.4f} "
              f"train_loss {done.train_loss:.4f} ranks {world} time {done.seconds:.1f}s", flush=True)
    common.shutdown()


if __name__ == "__main__":
    main()
