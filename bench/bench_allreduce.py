"""Throughput of ``disttorch.distributed.all_reduce`` against raw mpi4py on the same buffers.

Per size (contiguous float32, 1 KB to 256 MB in powers of 4): our blocking
``all_reduce(t)`` against ``comm.Allreduce(MPI.IN_PLACE, buf)``, then our
``all_reduce(t, async_op=True).wait()`` against ``comm.Iallreduce(MPI.IN_PLACE, buf).Wait()``.
Both sides reduce the same numpy array (the tensor's own memory), interleaved, best of N
per rank behind a barrier, slowest rank reported. ``raw/ours`` near 1 means our Python
layer costs nothing next to MPI (target >= 0.95 from 1 MB up); algbw is size / time.

The buffers hold zeros, so repeated in-place sums stay finite and take constant time.

Run: mpiexec -n 2 python bench/bench_allreduce.py [--max-mb 256] [--rounds 30]
"""
from __future__ import annotations

import argparse
import os

import _common
import numpy as np
from mpi4py import MPI

import disttorch
import disttorch.distributed as dist


def sizes(max_bytes: int) -> list[int]:
    out, n = [], 1024
    while n <= max_bytes:
        out.append(n)
        n *= 4
    return out


def plan(nbytes: int, rounds: int) -> tuple[int, int]:
    """(rounds, calls per timed batch): about 4 MB of traffic per batch, fewer rounds when big."""
    number = max(1, min(200, (4 << 20) // nbytes))
    if nbytes >= 64 << 20:
        rounds = max(3, rounds // 3)
    elif nbytes >= 16 << 20:
        rounds = max(5, rounds // 2)
    return rounds, number


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-mb", type=float, default=256)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()

    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD.Dup()  # raw traffic on its own communicator, like ours
    rank, world = comm.Get_rank(), comm.Get_size()
    check = disttorch.full((1000,), float(rank + 1))
    dist.all_reduce(check)
    assert bool((check == world * (world + 1) / 2).all()), "all_reduce gave a wrong sum"
    if rank == 0:
        print(f"all_reduce SUM, float32, {world} ranks, "
              f"{' '.join(MPI.Get_library_version().splitlines()[0].split())}, "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
        head = (f"{'size':>8} {'ours ms':>10} {'raw ms':>10} {'raw/ours':>9} {'algbw GB/s':>11}"
                f" | {'async ms':>10} {'raw I ms':>10} {'raw/ours':>9} {'algbw GB/s':>11}")
        print(head)
        print("-" * len(head))
    for nbytes in sizes(int(args.max_mb * (1 << 20))):
        t = disttorch.zeros(nbytes // 4, dtype=disttorch.float32)
        buf = t._data  # the same memory for both sides
        assert buf.flags.c_contiguous and buf.dtype == np.float32

        def ours(t=t):
            dist.all_reduce(t)

        def raw(buf=buf):
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)

        def ours_async(t=t):
            dist.all_reduce(t, async_op=True).wait()

        def raw_async(buf=buf):
            comm.Iallreduce(MPI.IN_PLACE, buf, op=MPI.SUM).Wait()

        rounds, number = plan(nbytes, args.rounds)
        b = _common.best_times_synced({"ours": ours, "raw": raw, "ours_async": ours_async,
                                       "raw_async": raw_async}, comm, rounds, number)
        if rank == 0:
            print(f"{_common.fmt_bytes(nbytes):>8} {b['ours'] * 1e3:10.4f} {b['raw'] * 1e3:10.4f} "
                  f"{b['raw'] / b['ours']:9.3f} {nbytes / b['ours'] / 1e9:11.3f}"
                  f" | {b['ours_async'] * 1e3:10.4f} {b['raw_async'] * 1e3:10.4f} "
                  f"{b['raw_async'] / b['ours_async']:9.3f} {nbytes / b['ours_async'] / 1e9:11.3f}",
                  flush=True)
        del t, buf
    if rank == 0:
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
    comm.Free()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
