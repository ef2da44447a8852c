"""A small DDP training program for the SLURM tests: checkpoints, preemption, requeue, resume.

    srun --mpi=pmi2 python tests/slurm/train_job.py --checkpoint-dir ckpt --out final.dt

Every step's batch is drawn from a generator seeded with (seed, step), so the run does not
depend on any generator state after initialisation: a run that is interrupted, requeued and
resumed from its checkpoint ends with bit-identical weights to an uninterrupted one.
On SIGUSR1/SIGTERM every rank stops after the same step, the state is checkpointed, and
rank 0 asks SLURM to requeue the job; the requeued run resumes from the newest checkpoint.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import disttorch as torch
import disttorch.distributed as dist
import disttorch.nn as nn
import disttorch.nn.functional as F
from disttorch.nn.parallel import DistributedDataParallel as DDP
from disttorch.utils.resume import Checkpointer, PreemptionHandler

SAMPLES, FEATURES, BATCH = 512, 8, 16


def log(rank: int, msg: str) -> None:
    if rank == 0:
        print(msg, flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40, help="total optimizer steps")
    p.add_argument("--checkpoint-dir", required=True)
    p.add_argument("--checkpoint-every", type=int, default=0, help="steps between checkpoints (0: never)")
    p.add_argument("--step-sleep", type=float, default=0.0, help="seconds to sleep after each step")
    p.add_argument("--out", default=None, help="rank 0 writes the final state dict here")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    log(rank, f"world size {world} (SLURM job {os.environ.get('SLURM_JOB_ID', '-')}, "
              f"restart {os.environ.get('SLURM_RESTART_COUNT', '0')})")

    torch.manual_seed(args.seed)
    data = np.random.RandomState(args.seed)
    x_all = torch.tensor(data.standard_normal((SAMPLES, FEATURES)).astype(np.float32))
    w_true = torch.tensor(data.standard_normal((FEATURES, 1)).astype(np.float32))
    y_all = torch.tanh(x_all @ w_true) + 0.1 * torch.tensor(data.standard_normal((SAMPLES, 1)).astype(np.float32))

    model = nn.Sequential(nn.Linear(FEATURES, 32), nn.Tanh(), nn.Linear(32, 1))
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.7)

    ckpt = Checkpointer(args.checkpoint_dir, keep_last=2)
    preempt = PreemptionHandler()
    step = 0
    resumed = ckpt.load()
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        opt.load_state_dict(resumed["optim"])
        sched.load_state_dict(resumed["sched"])
        step = resumed["step"]
        log(rank, f"resumed from checkpoint at step {step}")

    def state() -> dict:
        return {"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict()}

    while step < args.steps:
        pick = np.random.RandomState([args.seed, step]).permutation(SAMPLES)[: BATCH * world]
        mine = torch.tensor(pick[rank * BATCH:(rank + 1) * BATCH].astype(np.int64))
        opt.zero_grad()
        loss = F.mse_loss(ddp(x_all[mine]), y_all[mine])
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        log(rank, f"step {step} loss {loss.item():.6f}")
        if args.step_sleep:
            time.sleep(args.step_sleep)
        if args.checkpoint_every and step % args.checkpoint_every == 0:
            ckpt.save(step, state())
        if preempt.should_stop():
            path = ckpt.save(step, state())
            log(rank, f"preempted: checkpoint {path} at step {step}")
            requeued = preempt.requeue()
            log(rank, f"requeued: {requeued}")
            dist.destroy_process_group()
            return 0 if requeued else 3

    ckpt.save(step, state())
    with torch.no_grad():
        full = F.mse_loss(model(x_all), y_all).item()
    log(rank, f"trained {step} steps on {world} ranks: loss {full:.6f}")
    if rank == 0 and args.out:
        torch.save(model.state_dict(), args.out)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
