"""Per-rank bootstrap: ``python -m disttorch.launch._bootstrap [-m module | script] [args...]``.

``disttorch-run`` starts every rank through this module (by its file path, so that neither
disttorch nor numpy is imported before the per-rank variables are set). In each rank it

1. asks MPI (mpi4py) for the rank, the world size and the node-local split
   (``COMM_TYPE_SHARED``), and checks any pre-set ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/
   ``LOCAL_WORLD_SIZE`` against them (a disagreement is an error, exit code 2);
2. exports the torchrun-style variables ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
   ``LOCAL_WORLD_SIZE``, ``GROUP_RANK``, ``MASTER_ADDR``/``MASTER_PORT`` (informational: MPI
   does the rendezvous);
3. sets the thread counts the launcher left to it (cores of this node // local ranks) and binds
   one GPU per local rank (``CUDA_VISIBLE_DEVICES``) when the launcher asked for it;
4. runs the user's script or module with :mod:`runpy`, ``sys.argv`` as the program expects;
5. on failure (non-zero exit or uncaught exception) writes a small status file for the
   launcher and aborts the MPI job, so that no other rank waits forever in a collective.

It is self-contained (standard library and mpi4py only) on purpose.
"""
from __future__ import annotations

import json
import os
import runpy
import socket
import sys
import time
import traceback

STATUS_DIR_VAR = "DISTTORCH_LAUNCH_STATUS_DIR"
AUTO_THREADS_VAR = "DISTTORCH_LAUNCH_AUTO_THREADS"   # comma list of variables to set per node
GPUS_VAR = "DISTTORCH_LAUNCH_GPUS"                   # comma list of device ids to bind, one per local rank
CHECKED_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
USAGE = "usage: python -m disttorch.launch._bootstrap [-m module | script.py] [args...]"


def _parse(argv: list[str]) -> tuple[str | None, str | None, list[str]]:
    """(module, script, args) from the bootstrap's own argv."""
    if not argv:
        raise SystemExit(USAGE)
    if argv[0] in ("-m", "--module"):
        if len(argv) < 2:
            raise SystemExit(USAGE)
        return argv[1], None, argv[2:]
    if argv[0].startswith("-m") and len(argv[0]) > 2:
        return argv[0][2:], None, argv[1:]
    if argv[0] == "--":
        argv = argv[1:]
        if not argv:
            raise SystemExit(USAGE)
    return None, argv[0], argv[1:]


def _write_status(rank: int, exit_code: int, error: str, trace: str = "") -> None:
    directory = os.environ.get(STATUS_DIR_VAR)
    if not directory or not os.path.isdir(directory):
        return
    # the traceback goes in too: output a rank writes just before MPI_Abort can be lost in
    # mpiexec's forwarding, and the launcher then prints it from here
    record = {"rank": rank, "exit_code": exit_code, "error": error, "time": time.time(),
              "pid": os.getpid(), "host": socket.gethostname(), "traceback": trace}
    path = os.path.join(directory, f"failed-{rank}.json")
    if os.path.exists(path):   # keep the first (earliest) record
        return
    try:
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)
    except OSError:
        pass


def _write_started(rank: int) -> None:
    """Lets the launcher map a PID that MPI reports as killed back to its rank."""
    directory = os.environ.get(STATUS_DIR_VAR)
    if not directory or not os.path.isdir(directory):
        return
    try:
        with open(os.path.join(directory, f"started-{rank}.json"), "w") as f:
            json.dump({"rank": rank, "pid": os.getpid(), "host": socket.gethostname()}, f)
    except OSError:
        pass


def _start_death_watch() -> None:
    """Fork a tiny watcher that records when this process ends, however it ends.

    A rank killed by a signal (SIGKILL from the OOM killer, say) can write nothing itself, and
    MPI then kills the other ranks too; the launcher compares these times to tell which rank
    ended first. The watcher leaves the rank's process group (so MPI's clean-up does not kill it)
    and learns of the rank's death from end-of-file on a pipe only the rank holds open.
    """
    directory = os.environ.get(STATUS_DIR_VAR)
    if not directory or not os.path.isdir(directory) or not hasattr(os, "fork"):
        return
    watched = os.getpid()
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return
    if pid:   # the rank: keep the write end (not inherited by the program's own children)
        os.close(r)
        os.set_inheritable(w, False)
        return
    try:   # the watcher: no stdio (MPI waits for the rank's output pipes to close), own session
        os.close(w)
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        while os.read(r, 1):
            pass
        ended = time.time()
        path = os.path.join(directory, f"ended-{watched}.json")
        with open(path + ".tmp", "w") as f:
            json.dump({"pid": watched, "time": ended}, f)
        os.replace(path + ".tmp", path)
    finally:
        os._exit(0)


def _write_done(rank: int) -> None:
    directory = os.environ.get(STATUS_DIR_VAR)
    if directory and os.path.isdir(directory):
        try:
            open(os.path.join(directory, f"done-{rank}"), "w").close()
        except OSError:
            pass


def _node_cores(local) -> int:
    """CPUs available to this node's ranks: the union of their affinity masks."""
    try:
        mine = set(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        mine = set(range(os.cpu_count() or 1))
    union: set[int] = set()
    for cpus in local.allgather(mine):
        union |= cpus
    return max(1, len(union))


class EnvironmentMismatchError(RuntimeError):
    """A pre-set RANK/WORLD_SIZE/LOCAL_RANK/LOCAL_WORLD_SIZE disagrees with MPI."""

    def __init__(self, own: list[str], message: str) -> None:
        super().__init__(message)
        self.own = own   # this rank's own disagreements (empty if only other ranks disagree)


def setup(comm=None) -> dict[str, str]:
    """Compute and export this rank's variables from MPI; return them. Raises EnvironmentMismatchError on a
    pre-set variable that disagrees with MPI (after every rank has compared, so all fail alike)."""
    from mpi4py import MPI

    world = MPI.COMM_WORLD if comm is None else comm
    rank, size = world.Get_rank(), world.Get_size()
    local = world.Split_type(MPI.COMM_TYPE_SHARED, key=rank)
    try:
        local_rank, local_size = local.Get_rank(), local.Get_size()
        # node index: rank among the local leaders, shared within the node
        leaders = world.Split(0 if local_rank == 0 else MPI.UNDEFINED, rank)
        node = leaders.Get_rank() if leaders != MPI.COMM_NULL else 0
        if leaders != MPI.COMM_NULL:
            leaders.Free()
        node = local.bcast(node, root=0)
        cores = _node_cores(local)
    finally:
        local.Free()
    values = {"RANK": rank, "WORLD_SIZE": size, "LOCAL_RANK": local_rank, "LOCAL_WORLD_SIZE": local_size}
    problems = [f"{var}={os.environ[var]} but MPI says {values[var]}" for var in CHECKED_VARS
                if os.environ.get(var) is not None and os.environ[var].strip() != str(values[var])]
    all_problems = world.allgather(problems)
    if any(all_problems):
        lines = [f"rank {r}: " + "; ".join(p) for r, p in enumerate(all_problems) if p]
        raise EnvironmentMismatchError(problems, "pre-set environment variables disagree with MPI (rank, world size and "
                           "local split come from MPI; unset or fix them):\n  " + "\n  ".join(lines))
    master = world.bcast(socket.gethostname() if rank == 0 else None, root=0)

    env = {k: str(v) for k, v in values.items()}
    env["GROUP_RANK"] = str(node)
    env.setdefault("MASTER_ADDR", os.environ.get("MASTER_ADDR", master))
    env.setdefault("MASTER_PORT", os.environ.get("MASTER_PORT", "29500"))
    auto = [v for v in os.environ.get(AUTO_THREADS_VAR, "").split(",") if v]
    for var in auto:
        env[var] = str(max(1, cores // local_size))
    gpus = [g for g in os.environ.get(GPUS_VAR, "").split(",") if g]
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[local_rank % len(gpus)]
    os.environ.update(env)
    return env


def _run_target(module: str | None, script: str | None, args: list[str]) -> None:
    if module is not None:
        sys.argv = [module, *args]   # runpy puts the module's full path in argv[0], as python -m does
        sys.path[0] = os.getcwd()
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        sys.argv = [script, *args]
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        runpy.run_path(script, run_name="__main__")


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")   # sys.exit("message") prints the message and exits 1
    return 1


def _fail(rank: int, code: int, error: str) -> None:
    """Record the failure, then end the whole MPI job (MPI_Finalize would wait for the others)."""
    _write_status(rank, code, error)
    sys.stdout.flush()
    sys.stderr.flush()
    from mpi4py import MPI

    if MPI.Is_initialized() and not MPI.Is_finalized() and MPI.COMM_WORLD.Get_size() > 1:
        MPI.COMM_WORLD.Abort(code)
    os._exit(code)


def main(argv: list[str] | None = None) -> None:
    # whole lines reach mpiexec as they are printed (a pipe would buffer them until exit)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True, write_through=False)
    module, script, args = _parse(sys.argv[1:] if argv is None else argv)
    if script is not None and not os.path.exists(script):
        sys.stderr.write(f"disttorch-run: can't open file {script!r}: no such file\n")
        raise SystemExit(2)
    _start_death_watch()
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.Get_rank()
    try:
        setup()
    except EnvironmentMismatchError as exc:
        if rank == 0:
            sys.stderr.write(f"disttorch-run: {exc}\n")
        if exc.own:
            _write_status(rank, 2, "; ".join(exc.own))
        sys.stderr.flush()
        MPI.COMM_WORLD.Barrier()   # every rank saw the same disagreement: exit together, cleanly
        raise SystemExit(2) from None
    _write_started(rank)
    try:
        _run_target(module, script, args)
    except SystemExit as exc:
        code = _exit_code(exc)
        if code != 0:
            _fail(rank, code, f"exited with code {code}")
        _write_done(rank)
        raise SystemExit(0) from None
    except KeyboardInterrupt:
        traceback.print_exc()
        _fail(rank, 130, "interrupted (KeyboardInterrupt)")
    except BaseException as exc:  # noqa: B036 - every failure must end the job
        tb = exc.__traceback__
        # drop the bootstrap's and runpy's frames from the report (runpy is frozen in 3.11+);
        # set on the exception too: the default excepthook prints the exception's own traceback
        while tb is not None and tb.tb_frame.f_code.co_filename in (
                __file__, runpy.__file__, "<frozen runpy>"):
            tb = tb.tb_next
        exc.__traceback__ = tb
        _write_status(rank, 1, f"{type(exc).__name__}: {exc}",
                      "".join(traceback.format_exception(type(exc), exc, tb)))
        # disttorch's hook (installed by init_process_group) names the rank and calls MPI_Abort
        sys.excepthook(type(exc), exc, tb)
        _fail(rank, 1, f"{type(exc).__name__}: {exc}")
    else:
        _write_done(rank)


if __name__ == "__main__":
    main()
