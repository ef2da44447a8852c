"""``disttorch-run``: start a program on N ranks through ``mpiexec``, the way ``torchrun`` does.

    disttorch-run -n 2 train.py --epochs 3
    disttorch-run -n 4 -m mypackage.train --lr 0.1
    python -m disttorch.launch -n 2 train.py          # the same, as a module
    python launch/run.py -n 2 train.py                # the same, from a checkout

See launch/README.md for the options, multi-host runs and how failures are reported.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

try:
    from ._bootstrap import AUTO_THREADS_VAR, GPUS_VAR, STATUS_DIR_VAR
except ImportError:  # run as a file (python launch/run.py): the directory is on sys.path
    from _bootstrap import AUTO_THREADS_VAR, GPUS_VAR, STATUS_DIR_VAR

PROG = "disttorch-run"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
BOOTSTRAP = Path(__file__).resolve().with_name("_bootstrap.py")
KILL_GRACE_S = 10.0

# options that take a value: the first token after the launcher's options that is not one of
# these (or their value) is the program
_VALUE_OPTIONS = {"-n", "--np", "--nproc", "--nprocs", "--mpi", "--mpiexec", "--hostfile", "--threads"}


class LaunchError(Exception):
    """A problem found before any rank started (printed as ``disttorch-run: error: ...``)."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, usage=f"{PROG} -n N [options] [-m module | script.py] [args...]",
        description="Run a Python program on N ranks through mpiexec, with torchrun-style "
                    "environment variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE).")
    p.add_argument("-n", "--np", "--nproc", "--nprocs", dest="nprocs", type=_positive_int,
                   required=True, help="number of ranks in total")
    p.add_argument("--mpi", choices=("auto", "wheel", "system"), default="auto",
                   help="which mpiexec: the PyPI mpich wheel's (next to the Python executable), a "
                        "system one on PATH, or auto (the wheel's if present, else PATH)")
    p.add_argument("--mpiexec", metavar="PATH", help="this mpiexec (overrides --mpi)")
    p.add_argument("--hostfile", metavar="FILE",
                   help="host file for multi-host runs, passed to MPI (MPICH -f, Open MPI --hostfile)")
    p.add_argument("--threads", type=_positive_int, metavar="N",
                   help="OMP/OPENBLAS/MKL threads per rank (default: cores of the node // ranks "
                        "on the node); variables already set in the environment are kept")
    p.add_argument("--bind-gpus", action=argparse.BooleanOptionalAction, default=None,
                   help="one GPU per local rank through CUDA_VISIBLE_DEVICES (default: when cupy "
                        "sees GPUs)")
    p.add_argument("-m", "--module", metavar="MODULE", help="run a module, like python -m")
    p.add_argument("program", nargs="?", help="the script to run (unless -m)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the program")
    return p


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Split ``argv`` into the launcher's options and the program with its own arguments."""
    parser = _parser()
    i, split, module, program = 0, len(argv), None, None
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            split = i + 1
            break
        if tok in ("-m", "--module"):
            if i + 1 >= len(argv):
                parser.error("argument -m/--module: expected one argument")
            module, split = argv[i + 1], i + 2
            break
        if tok.startswith("--module="):
            module, split = tok.split("=", 1)[1], i + 1
            break
        if tok.startswith("-m") and not tok.startswith("--"):
            module, split = tok[2:], i + 1
            break
        if not tok.startswith("-") or tok == "-":
            split = i
            break
        i += 2 if tok in _VALUE_OPTIONS else 1
    ns = parser.parse_args(argv[:split])
    rest = argv[split:]
    if module is None and rest:
        program, rest = rest[0], rest[1:]
    if module is None and program is None:
        parser.error("missing the program to run: give a script or -m module")
    if module is not None and not module:
        parser.error("argument -m/--module: expected a module name")
    ns.module, ns.program, ns.args = module, program, rest
    return ns


def find_mpiexec(mode: str, explicit: str | None) -> str:
    """The mpiexec to use: ``--mpiexec``, else the wheel's, else one on PATH (per ``--mpi``)."""
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise LaunchError(f"--mpiexec {explicit}: not found or not executable")
        return found
    wheel = Path(sys.executable).parent / "mpiexec"
    wheel_ok = wheel.is_file() and os.access(wheel, os.X_OK)
    if mode in ("auto", "wheel") and wheel_ok:
        return str(wheel)
    if mode == "wheel":
        raise LaunchError(f"--mpi wheel: no mpiexec next to {sys.executable} "
                          "(pip install mpich, or use --mpi system)")
    # a system MPI: the first mpiexec/mpirun on PATH that is not the wheel's
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        for name in ("mpiexec", "mpirun"):
            cand = Path(directory or ".") / name
            if cand.is_file() and os.access(cand, os.X_OK) and not (
                    wheel_ok and cand.resolve() == wheel.resolve()):
                return str(cand)
    raise LaunchError("no mpiexec found: pip install mpich (the wheel is used by default), "
                      "install a system MPI, or pass --mpiexec PATH")


def mpi_flavor(mpiexec: str) -> str:
    """'mpich' (MPICH/hydra, Intel MPI) or 'openmpi', from ``mpiexec --version``."""
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30)
        text = out.stdout + out.stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LaunchError(f"could not run {mpiexec} --version: {exc}") from None
    if re.search(r"Open MPI|OpenRTE|Open RTE|PRRTE|prterun", text, re.IGNORECASE):
        return "openmpi"
    if re.search(r"HYDRA|MPICH|Intel\(R\) MPI", text, re.IGNORECASE):
        return "mpich"
    sys.stderr.write(f"{PROG}: warning: cannot tell which MPI {mpiexec} is from --version; "
                     "assuming MPICH-style options\n")
    return "mpich"


def visible_gpus() -> list[str]:
    """Device ids (as CUDA_VISIBLE_DEVICES would name them) that cupy sees here; [] without cupy.
    Asked in a child process so that this process never initialises CUDA."""
    if importlib.util.find_spec("cupy") is None:
        return []
    code = "import cupy\ntry:\n print(cupy.cuda.runtime.getDeviceCount())\nexcept Exception:\n print(0)"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        count = int(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return []
    preset = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [d.strip() for d in preset.split(",") if d.strip()] if preset else [str(i) for i in range(count)]
    return ids[:count]


def build_env(ns: argparse.Namespace, status_dir: str, gpus: list[str]) -> dict[str, str]:
    """The variables the launcher adds for every rank (the rest of the environment is inherited)."""
    add: dict[str, str] = {STATUS_DIR_VAR: status_dir}
    unset = [v for v in THREAD_VARS if not os.environ.get(v)]
    if ns.threads is not None:
        add.update({v: str(ns.threads) for v in unset})
    elif unset:
        # each rank's bootstrap sets these from its own node: cores // ranks on that node
        add[AUTO_THREADS_VAR] = ",".join(unset)
        if ns.hostfile is None:   # single host: the same value, also visible to mpiexec itself
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            add.update({v: str(max(1, (cores or 1) // ns.nprocs)) for v in unset})
    if gpus:
        add[GPUS_VAR] = ",".join(gpus)
    return add


def build_command(ns: argparse.Namespace, mpiexec: str, flavor: str, add_env: dict[str, str]) -> list[str]:
    """The full mpiexec command line."""
    cmd = [mpiexec]
    if flavor == "openmpi":
        if ns.hostfile:
            cmd += ["--hostfile", ns.hostfile]
        else:
            cmd += ["--oversubscribe"]
        cmd += ["--bind-to", "none"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd += ["--allow-run-as-root"]
        # Open MPI exports nothing to remote hosts unless asked
        for var in sorted({*add_env, *(v for v in (*THREAD_VARS, "PYTHONPATH", "CUDA_VISIBLE_DEVICES",
                                                     "VIRTUAL_ENV", "PATH") if v in os.environ)}):
            cmd += ["-x", f"{var}={add_env[var]}" if var in add_env else var]
    else:
        if ns.hostfile:
            cmd += ["-f", ns.hostfile]
        for var, value in sorted(add_env.items()):
            cmd += ["-genv", var, value]
    cmd += ["-n", str(ns.nprocs), sys.executable, str(BOOTSTRAP)]
    cmd += ["-m", ns.module] if ns.module is not None else ["--", ns.program]
    return cmd + list(ns.args)


class _Tee:
    """Copy a child's output stream to ours as it arrives, keeping the tail for diagnosis."""

    TAIL = 1 << 16

    def __init__(self, src, dst) -> None:
        self.src, self.dst, self.tail = src, dst, bytearray()
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        fd = self.src.fileno()
        out = getattr(self.dst, "buffer", None)
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.tail += chunk
            del self.tail[:-self.TAIL]
            try:
                if out is not None:
                    out.write(chunk)
                else:
                    self.dst.write(chunk.decode(errors="replace"))
                self.dst.flush()
            except (OSError, ValueError):
                pass

    def text(self) -> str:
        self.thread.join(timeout=5)
        return self.tail.decode(errors="replace")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _lost_traceback(status_dir: str, rank: int, output: str) -> str:
    """The traceback ``rank`` recorded, when its last line is missing from ``output``."""
    rec = _read_json(Path(status_dir) / f"failed-{rank}.json") or {}
    trace = rec.get("traceback") or ""
    lines = trace.strip().splitlines()
    return trace if lines and lines[-1] not in output else ""


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _first_death(d: Path, started: dict[int, int], failed: list[dict]) -> tuple[int, float] | None:
    """(rank, time) of the earliest rank that ended without a status of its own (a signal)."""
    accounted = {r["rank"] for r in failed} | {int(p.name.split("-", 1)[1]) for p in d.glob("done-*")}
    deaths = []
    for rec in map(_read_json, d.glob("ended-*.json")):
        if rec and rec.get("pid") in started and started[rec["pid"]] not in accounted:
            deaths.append((rec["time"], started[rec["pid"]]))
    if not deaths:
        return None
    t, rank = min(deaths)
    return rank, t


def diagnose(status_dir: str, output: str) -> tuple[int | None, int | None, str]:
    """(rank, exit code, detail) of the first failure: a negative code is a signal, like Popen."""
    d = Path(status_dir)
    failed = sorted((r for r in map(_read_json, d.glob("failed-*.json")) if r), key=lambda r: r["time"])
    started_recs = [r for r in map(_read_json, d.glob("started-*.json")) if r]
    started = {r["pid"]: r["rank"] for r in started_recs}
    by_host = {(r.get("host"), r["pid"]): r["rank"] for r in started_recs}
    # MPICH/hydra names one rank that ended abnormally (by PID; not always the first one)
    hydra_rank = hydra_code = None
    m = re.search(r"BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES\s*=*\s*(?:=\s*RANK (\d+)\s+)?"
                  r"=?\s*PID (\d+) RUNNING AT (\S+)\s*=\s*(?:EXIT CODE|KILLED BY SIGNAL): (\d+)", output)
    if m:
        pid = int(m.group(2))
        hydra_rank = int(m.group(1)) if m.group(1) else by_host.get((m.group(3), pid), started.get(pid))
        sig = re.search(r"EXIT STRING:.*\(signal (\d+)\)", output)
        if sig or "KILLED BY SIGNAL" in m.group(0):
            hydra_code = -int(sig.group(1)) if sig else -int(m.group(4))
        else:
            hydra_code = int(m.group(4))
    # the earliest event wins: a rank's own failure record, or a death without one (a signal)
    death = _first_death(d, started, failed)
    if failed and (death is None or failed[0]["time"] <= death[1]):
        first = failed[0]
        return first["rank"], first["exit_code"], first.get("error", "")
    if death is not None:
        rank = death[0]
        if rank == hydra_rank and hydra_code is not None:
            return rank, hydra_code, f"killed by {_signal_name(-hydra_code)}" if hydra_code < 0 else ""
        ompi = re.search(rf"process rank {rank} with PID \d+ on node \S+ exited on signal (\d+)", output)
        if ompi:
            return rank, -int(ompi.group(1)), f"killed by {_signal_name(int(ompi.group(1)))}"
        if hydra_code is not None and hydra_code < 0:   # MPI named another rank it killed after
            return rank, hydra_code, f"killed by a signal; mpiexec reported {_signal_name(-hydra_code)}"
        return rank, None, "ended without an exit status: killed by a signal?"
    if hydra_rank is not None:
        return hydra_rank, hydra_code, f"killed by {_signal_name(-hydra_code)}" if hydra_code < 0 else ""
    # MPICH: MPI_Abort called outside the bootstrap's view
    m = re.search(r"Abort\((-?\d+)\) on node \d+ \(rank (\d+) in comm 0\)", output)
    if m:
        return int(m.group(2)), int(m.group(1)), "called MPI_Abort"
    # Open MPI
    m = re.search(r"process rank (\d+) with PID \d+ on node \S+ exited on signal (\d+)", output)
    if m:
        signum = int(m.group(2))
        return int(m.group(1)), -signum, f"killed by {_signal_name(signum)}"
    m = re.search(r"Process name:\s*\[\[\d+,\d+\],(\d+)\]\s*Exit code:\s*(\d+)", output)
    if m:
        return int(m.group(1)), int(m.group(2)), ""
    m = re.search(r"MPI_ABORT was invoked on rank (\d+) .*?errorcode (-?\d+)", output, re.DOTALL)
    if m:
        return int(m.group(1)), int(m.group(2)), "called MPI_Abort"
    return None, None, ""


def _wait_for_watchers(status_dir: str, limit_s: float = 2.0) -> None:
    """Each started rank's watcher records its end just after it; give them a moment."""
    d, deadline = Path(status_dir), time.monotonic() + limit_s
    while time.monotonic() < deadline:
        pids = {r["pid"] for r in map(_read_json, d.glob("started-*.json")) if r}
        ended = {r.get("pid") for r in map(_read_json, d.glob("ended-*.json")) if r}
        if pids <= ended:
            return
        time.sleep(0.02)


def _kill_ranks(status_dir: str) -> None:
    """SIGKILL this host's ranks that are still alive (each runs in its own process group)."""
    for rec in map(_read_json, Path(status_dir).glob("started-*.json")):
        if not rec:
            continue
        try:
            with open(f"/proc/{rec['pid']}/cmdline", "rb") as f:
                if BOOTSTRAP.name.encode() not in f.read():
                    continue
            os.kill(rec["pid"], signal.SIGKILL)
        except (OSError, KeyError):
            pass


def launch(ns: argparse.Namespace) -> int:
    """Run the job; return the launcher's exit status."""
    if ns.program is not None and not os.path.isfile(ns.program):
        raise LaunchError(f"can't open file {ns.program!r}: no such file")
    if ns.hostfile is not None and not os.path.isfile(ns.hostfile):
        raise LaunchError(f"--hostfile {ns.hostfile}: no such file")
    mpiexec = find_mpiexec(ns.mpi, ns.mpiexec)
    flavor = mpi_flavor(mpiexec)
    gpus = [] if ns.bind_gpus is False else visible_gpus()
    if ns.bind_gpus and not gpus:
        sys.stderr.write(f"{PROG}: warning: --bind-gpus: cupy sees no GPU; not binding\n")
    if gpus and ns.hostfile is None and ns.nprocs > len(gpus):
        sys.stderr.write(f"{PROG}: warning: {ns.nprocs} ranks share {len(gpus)} GPU(s)\n")
    status_dir = tempfile.mkdtemp(prefix="disttorch-run-")
    try:
        add_env = build_env(ns, status_dir, gpus)
        cmd = build_command(ns, mpiexec, flavor, add_env)
        env = {k: v for k, v in os.environ.items() if k not in (STATUS_DIR_VAR, AUTO_THREADS_VAR, GPUS_VAR)}
        return _supervise(cmd, {**env, **add_env}, status_dir)
    finally:
        shutil.rmtree(status_dir, ignore_errors=True)


def _supervise(cmd: list[str], env: dict[str, str], status_dir: str) -> int:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    tees = (_Tee(proc.stdout, sys.stdout), _Tee(proc.stderr, sys.stderr))
    stop: dict[str, float] = {}

    def forward(signum, frame) -> None:
        try:
            os.killpg(proc.pid, signum)
        except OSError:
            pass
        if signum in (signal.SIGINT, signal.SIGTERM):
            if "sig" in stop:       # asked twice: stop waiting
                stop["deadline"] = 0.0
            else:
                stop.update(sig=signum, deadline=time.monotonic() + KILL_GRACE_S)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {s: signal.signal(s, forward) for s in FORWARDED_SIGNALS}
    try:
        while True:
            try:
                rc = proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if "sig" in stop and time.monotonic() >= stop["deadline"]:
                _kill_ranks(status_dir)
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    out, err = (t.text() for t in tees)
    if "sig" in stop:
        _kill_ranks(status_dir)
        sys.stderr.write(f"{PROG}: stopped by {_signal_name(int(stop['sig']))}; all ranks ended\n")
        return 128 + int(stop["sig"])
    if rc == 0:
        return 0
    _kill_ranks(status_dir)
    _wait_for_watchers(status_dir)
    rank, code, detail = diagnose(status_dir, out + "\n" + err)
    _kill_ranks(status_dir)
    if rank is None:
        what = f"killed by {_signal_name(-rc)}" if rc < 0 else f"exit code {rc}"
        sys.stderr.write(f"{PROG}: mpiexec failed ({what}); could not tell which rank failed\n")
        return 128 - rc if rc < 0 else rc
    code = rc if code is None else code
    trace = _lost_traceback(status_dir, rank, err)
    if trace:
        sys.stderr.write(f"{PROG}: rank {rank}'s traceback, which the MPI abort cut from its "
                         f"output:\n{trace}")
    sys.stderr.write(f"{PROG}: rank {rank} failed with exit code {code}"
                     + (f" ({detail})" if detail else "") + "\n")
    if code < 0:
        return 128 - code
    return code if 0 < code < 256 else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``disttorch-run`` and ``python -m disttorch.launch``."""
    ns = parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        return launch(ns)
    except LaunchError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
