"""DistributedDataParallel: gradient-sync cost, overlap, weak scaling, and PyTorch DDP as the peer.

Two workloads, per-rank batch 64, float32, SGD, one thread per rank:
  mlp  784-1024-1024-10 (1.86 M parameters, 7.5 MB of gradients)
  cnn  conv 1->16 3x3, pool, conv 16->32 3x3, pool, linear 1568->10 (21 K parameters)

Under ``mpiexec -n k`` (k = 1 or 2) rank 0 prints, per workload:
  (a) sync: backward with DDP minus the same backward under ``ddp.no_sync()`` (no
      communication), against one flat ``comm.Allreduce`` of all gradients concatenated,
      the ideal (target sync / ideal <= 1.05), and against that Allreduce run right after
      the no_sync backward (so it also waits for the slower rank, as DDP must); and from
      ``ddp.timeline`` of the fastest DDP backward how much of the buckets'
      launch->complete time fell before backward ended and how long the end of backward
      still waited for them.
  (c) a whole training step (forward, backward, SGD) with our DDP and with PyTorch DDP
      (gloo over loopback TCP, in the same mpiexec run) and their ratio; plus the same
      step on the bare module (no DDP), which separates communication from the
      slowdown of sharing the machine.
then one ``JSON {...}`` line with every figure.

Run without mpiexec (or with ``--world-sizes 1,2``), the script launches ``mpiexec -n k``
itself for each k, echoes their tables and prints (b) weak scaling: step time at 1 rank
against k ranks, efficiency = t1 / tk (target >= 0.9), split into a compute part (bare
module steps, t1 / tk) and a communication part (bare / DDP step at k ranks).

Timings: the variants run interleaved round by round, in a shuffled order (the same on
every rank), each behind a barrier; each rank keeps its best per variant and the slowest
rank's best is reported. ``--profile`` runs
cProfile over DDP steps on rank 0 and prints the top entries.

Run:
  python bench/bench_ddp.py [--world-sizes 1,2] [--rounds 30]
  mpiexec -n 2 python bench/bench_ddp.py [--rounds 30] [--profile]
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time

import _common

BATCH = 64
LR = 0.01
MODELS = ("mlp", "cnn")


# ---------------------------------------------------------------------------
# workloads (the same code for both libraries)
# ---------------------------------------------------------------------------

def build(lib, kind: str):
    nn = lib.nn
    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                             nn.Linear(1024, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def batch(lib, kind: str, rank: int):
    import numpy as np

    rng = np.random.default_rng(rank)
    shape = (BATCH, 784) if kind == "mlp" else (BATCH, 1, 28, 28)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    return lib.tensor(x), lib.tensor(y)


class Workload:
    """One library's model, its DDP wrapper, an optimizer and a batch."""

    def __init__(self, lib, ddp_cls, kind: str, rank: int, **ddp_kwargs) -> None:
        lib.manual_seed(0)
        self.lib = lib
        self.model = build(lib, kind)
        self.ddp = ddp_cls(self.model, **ddp_kwargs)
        self.params = list(self.model.parameters())
        self.opt = lib.optim.SGD(self.params, lr=LR)
        self.x, self.y = batch(lib, kind, rank)
        self.loss_fn = lib.nn.functional.cross_entropy

    def _zero(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self, net) -> None:
        self._zero()
        loss = self.loss_fn(net(self.x), self.y)
        loss.backward()
        self.opt.step()

    def step_ddp(self) -> None:
        self.step(self.ddp)

    def step_local(self) -> None:
        self.step(self.model)

    def loss(self, sync: bool):
        """Forward through the DDP wrapper (under no_sync unless ``sync``), grads cleared."""
        self._zero()
        if sync:
            return self.loss_fn(self.ddp(self.x), self.y)
        with self.ddp.no_sync():
            return self.loss_fn(self.ddp(self.x), self.y)


# ---------------------------------------------------------------------------
# measuring (under mpiexec)
# ---------------------------------------------------------------------------

def timed_rounds(variants: dict, comm, rounds: int) -> dict:
    """Best time per variant, interleaved, slowest rank's best.

    A variant is ``(prepare, run)``: ``prepare()`` (untimed, may return an argument) then
    ``run(arg)`` (timed, behind a barrier). Optional third item: ``after(t0, dt)``, untimed,
    told when the timed call started and how long it took.
    """
    import random

    from mpi4py import MPI

    best = dict.fromkeys(variants, float("inf"))
    order = list(variants)
    for r in range(rounds + 1):  # round 0 warms up
        # a variant run right after another library's (gloo's threads, evicted caches) is
        # slowed; a fresh order each round, the same on every rank, spreads that evenly
        random.Random(r).shuffle(order)
        for name in order:
            prepare, run, *after = variants[name]
            arg = prepare()
            comm.Barrier()
            t0 = time.perf_counter()
            run(arg)
            dt = time.perf_counter() - t0
            if after and r:
                after[0](t0, dt)
            if r:
                best[name] = min(best[name], dt)
    return {name: comm.allreduce(t, op=MPI.MAX) for name, t in best.items()}


def overlap(timeline: list, t_start: float) -> dict:
    """From one backward's ``ddp.timeline``: communication hidden before backward ended."""
    launch, complete, end = {}, {}, None
    for t, what, idx in timeline:
        if what == "launch":
            launch[idx] = t
        elif what == "complete":
            complete[idx] = t
        elif what == "backward_end":
            end = t
    if end is None or not launch:
        return {}
    inflight = hidden = 0.0
    for idx, t0 in launch.items():
        t1 = complete.get(idx, end)
        inflight += t1 - t0
        hidden += max(0.0, min(t1, end) - t0)
    last = max(complete.values(), default=end)
    return {"buckets": len(launch), "first_launch": min(launch.values()) - t_start,
            "backward": end - t_start, "hidden": hidden / inflight if inflight else 1.0,
            "exposed": max(0.0, last - end)}


def measure(kind: str, comm, rounds: int, torch) -> dict:
    import numpy as np
    from mpi4py import MPI

    import disttorch
    from disttorch.nn.parallel import DistributedDataParallel as DDP

    rank = comm.Get_rank()
    ours = Workload(disttorch, DDP, kind, rank)
    view = Workload(disttorch, DDP, kind, rank, gradient_as_bucket_view=True)
    nparams = sum(p.numel() for p in ours.params)
    flat = np.zeros(nparams, np.float32)  # the ideal: every gradient in one Allreduce
    fastest = [float("inf"), {}]  # the timeline of this rank's fastest DDP backward

    def record(t0, dt):
        if dt < fastest[0]:
            fastest[:] = [dt, overlap(ours.ddp.timeline, t0)]

    nothing = lambda: None  # noqa: E731
    variants = {
        "ours_bwd_local": (lambda: ours.loss(False), lambda loss: loss.backward()),
        "ours_bwd_sync": (lambda: ours.loss(True), lambda loss: loss.backward(), record),
        "ours_bwd_sync_view": (lambda: view.loss(True), lambda loss: loss.backward()),
        "ideal_allreduce": (nothing, lambda _: comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)),
        "ideal_bwd_allreduce": (lambda: ours.loss(False), lambda loss: (
            loss.backward(), comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM))),
        "ours_step_local": (nothing, lambda _: ours.step_local()),
        "ours_step_ddp": (nothing, lambda _: ours.step_ddp()),
    }
    if torch is not None:
        from torch.nn.parallel import DistributedDataParallel as TDDP

        theirs = Workload(torch, TDDP, kind, rank)
        variants.update({
            "torch_bwd_local": (lambda: theirs.loss(False), lambda loss: loss.backward()),
            "torch_bwd_sync": (lambda: theirs.loss(True), lambda loss: loss.backward()),
            "torch_step_local": (nothing, lambda _: theirs.step_local()),
            "torch_step_ddp": (nothing, lambda _: theirs.step_ddp()),
        })
    res = timed_rounds(variants, comm, rounds)
    res["params"] = nparams
    res["grad_bytes"] = flat.nbytes
    res["buckets"] = [b.nbytes for b in ours.ddp.reducer.buckets]
    for key, value in fastest[1].items():
        res[f"ours_{key}"] = value  # rank 0's figures go in the report
    res["ours_sync"] = res["ours_bwd_sync"] - res["ours_bwd_local"]
    # the ideal as DDP meets it: after the slower rank's backward, not behind a barrier
    res["ideal_sync"] = res["ideal_bwd_allreduce"] - res["ours_bwd_local"]
    res["ours_sync_view"] = res["ours_bwd_sync_view"] - res["ours_bwd_local"]
    if torch is not None:
        res["torch_sync"] = res["torch_bwd_sync"] - res["torch_bwd_local"]
    return res


def profile_steps(kind: str, comm, steps: int = 50) -> None:
    """cProfile over ``steps`` DDP training steps; rank 0 prints the top entries."""
    import cProfile
    import io
    import pstats

    import disttorch
    from disttorch.nn.parallel import DistributedDataParallel as DDP

    w = Workload(disttorch, DDP, kind, comm.Get_rank())
    for _ in range(3):
        w.step_ddp()
    comm.Barrier()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        w.step_ddp()
    prof.disable()
    if comm.Get_rank() == 0:
        out = io.StringIO()
        st = pstats.Stats(prof, stream=out).sort_stats("tottime")
        st.print_stats(18)
        st.sort_stats("cumulative").print_stats("reducer|distributed/|work.py", 14)
        print(f"\n--- cProfile, rank 0, {steps} DDP steps of {kind}: top by own time, then the "
              "DDP/collective functions by cumulative time ---")
        print("\n".join(out.getvalue().splitlines()[4:]))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(args) -> None:
    from mpi4py import MPI

    import disttorch.distributed as dist

    torch = None if args.no_torch else _common.load_torch()
    if torch is not None and not torch.distributed.is_available():
        torch = None
    comm = MPI.COMM_WORLD.Dup()
    rank, world = comm.Get_rank(), comm.Get_size()
    dist.init_process_group("mpi")
    if torch is not None:
        import torch.distributed as tdist

        port = comm.bcast(free_port() if rank == 0 else None, root=0)
        tdist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                 world_size=world)
    results = {"world": world, "torch": torch is not None, "models": {},
               "load_before": os.getloadavg()[0]}
    for kind in args.models:
        results["models"][kind] = measure(kind, comm, args.rounds, torch)
    results["load_after"] = os.getloadavg()[0]
    if rank == 0:
        report(results)
        print("JSON " + json.dumps(results), flush=True)
    if args.profile:
        for kind in args.models:
            profile_steps(kind, comm)
    gc.collect()  # the DDP wrappers and their pending work go before their process groups
    comm.Barrier()
    if torch is not None:
        import torch.distributed as tdist

        tdist.barrier()
        tdist.destroy_process_group()
    dist.destroy_process_group()
    comm.Free()


# ---------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------

def ms(t: float) -> str:
    return f"{t * 1e3:8.3f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:8.3f}x" if b > 0 else "     n/a"


def report(res: dict) -> None:
    n = res["world"]
    print(f"\n=== DDP, {n} rank{'s' if n > 1 else ''}, per-rank batch {BATCH}, float32, 1 thread each "
          f"(machine: {os.cpu_count()} cores, load average {res['load_before']:.2f} before, "
          f"{res['load_after']:.2f} after) ===")
    for kind, r in res["models"].items():
        buckets = ", ".join(_common.fmt_bytes(b) for b in r["buckets"])
        print(f"\n[{kind}] {r['params']:,} parameters, {_common.fmt_bytes(r['grad_bytes'])} of "
              f"gradients, buckets: {buckets}")
        print("(a) gradient sync per step")
        print(f"  backward under no_sync (no communication)     {ms(r['ours_bwd_local'])}")
        print(f"  backward with DDP                             {ms(r['ours_bwd_sync'])}")
        print(f"  sync = DDP - no_sync                          {ms(r['ours_sync'])}")
        print(f"  sync, gradient_as_bucket_view=True            {ms(r['ours_sync_view'])}")
        print(f"  ideal: one flat Allreduce of all grads        {ms(r['ideal_allreduce'])}")
        if n > 1:
            print(f"  ideal after backward (with the rank skew)     {ms(r['ideal_sync'])}")
            print(f"  sync / flat Allreduce                         {ratio(r['ours_sync'], r['ideal_allreduce'])}"
                  "   (target <= 1.05)")
            print(f"  sync / ideal after backward                   {ratio(r['ours_sync'], r['ideal_sync'])}")
            print(f"  sync (bucket view) / flat Allreduce           "
                  f"{ratio(r['ours_sync_view'], r['ideal_allreduce'])}")
        if "ours_hidden" in r and n > 1:
            hidden = 1 - r["ours_exposed"] / r["ideal_allreduce"] if n > 1 else 1.0
            print(f"  timeline of the fastest DDP backward (rank 0): first bucket launched {r['ours_first_launch'] * 1e3:.3f} ms into a "
                  f"{r['ours_backward'] * 1e3:.3f} ms backward; {r['ours_hidden'] * 100:.0f}% of the "
                  f"buckets' launch->complete time before backward_end; wait after backward_end "
                  f"{r['ours_exposed'] * 1e3:.3f} ms = {max(0.0, hidden) * 100:.0f}% of the flat "
                  "Allreduce hidden")
        if res["torch"]:
            print(f"  torch DDP (gloo): sync {ms(r['torch_sync'])}  (backward {ms(r['torch_bwd_sync'])}"
                  f", under no_sync {ms(r['torch_bwd_local'])})")
        print("(c) training step, ours vs PyTorch")
        theirs = r.get("torch_step_ddp")
        print("  " + _common.row("step, DDP", r["ours_step_ddp"], theirs))
        print("  " + _common.row("step, bare module (no DDP)", r["ours_step_local"],
                                 r.get("torch_step_local")))


def weak_scaling(runs: dict) -> None:
    sizes = sorted(runs)
    base = sizes[0]
    print(f"\n=== (b) weak scaling, per-rank batch {BATCH}, 1 thread per rank "
          f"(efficiency = t{base} / tk, target >= 0.9) ===")
    libs = ["ours"] + (["torch"] if all(runs[k]["torch"] for k in sizes) else [])
    head = (f"{'model':<5} {'lib':<6} {'ranks':>5} {'step DDP':>11} {'efficiency':>10} "
            f"{'bare step':>11} {'compute eff':>11} {'comm eff':>9}")
    print(head)
    print("-" * len(head))
    for kind in runs[base]["models"]:
        for lib in libs:
            r1 = runs[base]["models"][kind]
            for k in sizes:
                rk = runs[k]["models"][kind]
                ddp, bare = rk[f"{lib}_step_ddp"], rk[f"{lib}_step_local"]
                eff = r1[f"{lib}_step_ddp"] / ddp
                comp = r1[f"{lib}_step_local"] / bare
                print(f"{kind:<5} {lib:<6} {k:>5} {ddp * 1e3:8.3f} ms {eff:10.3f} "
                      f"{bare * 1e3:8.3f} ms {comp:11.3f} {bare / ddp:9.3f}")


def launch(args) -> None:
    runs = {}
    mpiexec = _common.mpiexec()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "PMIX_", "HYDRA_", "MPIR_", "OMPI_"))}
    for k in args.world_sizes:
        cmd = [mpiexec, "-n", str(k), sys.executable, os.path.abspath(__file__),
               "--rounds", str(args.rounds), "--models", ",".join(args.models)]
        if args.no_torch:
            cmd.append("--no-torch")
        if args.profile:
            cmd.append("--profile")
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout.splitlines():
            if line.startswith("JSON "):
                runs[k] = json.loads(line[5:])
            else:
                print(line)
        if proc.returncode != 0 or k not in runs:
            sys.exit(f"mpiexec -n {k} failed (exit {proc.returncode})")
    if len(runs) > 1:
        weak_scaling(runs)


def under_mpiexec() -> bool:
    return any(v in os.environ for v in ("PMI_RANK", "PMI_SIZE", "PMIX_RANK",
                                         "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world-sizes", type=lambda s: [int(v) for v in s.split(",")], default=None,
                    help="launch mpiexec -n k for each k and print the weak-scaling table")
    ap.add_argument("--models", type=lambda s: s.split(","), default=list(MODELS))
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--profile", action="store_true", help="cProfile DDP steps on rank 0")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch DDP peer")
    args = ap.parse_args()
    if args.world_sizes is None and not under_mpiexec():
        args.world_sizes = [1, 2]
    if args.world_sizes is not None:
        if under_mpiexec():
            sys.exit("--world-sizes launches mpiexec itself: run it without mpiexec")
        launch(args)
    else:
        worker(args)


if __name__ == "__main__":
    main()
