"""disttorch-run (launch/): real mpiexec runs in subprocesses, each under a time limit."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from argparse import Namespace
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "launch" / "run.py"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
LIMIT = 120

pytestmark = pytest.mark.skipif(
    not (Path(sys.executable).parent / "mpiexec").exists(), reason="needs the mpich wheel's mpiexec")


def _load_run_module():
    """launch/run.py as a module (it imports its sibling _bootstrap as a plain module)."""
    sys.path.insert(0, str(REPO / "launch"))
    try:
        spec = importlib.util.spec_from_file_location("_disttorch_launch_run", RUN)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(REPO / "launch"))


run_mod = _load_run_module()


def clean_env(**extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (*THREAD_VARS, *TORCHRUN_VARS)}
    env.update(extra)
    return env


def launch(args, env=None, cwd=None, timeout=LIMIT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUN), *map(str, args)], env=env or clean_env(),
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


REPORT = textwrap.dedent("""
    import json, os, sys
    from mpi4py import MPI
    keys = {keys!r}
    rec = {{k: os.environ.get(k) for k in keys}}
    rec["mpi_rank"] = MPI.COMM_WORLD.Get_rank()
    rec["mpi_size"] = MPI.COMM_WORLD.Get_size()
    rec["argv"] = sys.argv
    rec["name"] = __name__
    print("REPORT " + json.dumps(rec), flush=True)
""").format(keys=[*TORCHRUN_VARS, *THREAD_VARS, "MASTER_ADDR", "MASTER_PORT", "CUDA_VISIBLE_DEVICES"])


def reports(stdout: str) -> list[dict]:
    recs = [json.loads(line.split("REPORT ", 1)[1]) for line in stdout.splitlines() if "REPORT " in line]
    return sorted(recs, key=lambda r: r["mpi_rank"])


def cores() -> int:
    return len(os.sched_getaffinity(0))


@pytest.fixture
def report_script(tmp_path) -> Path:
    path = tmp_path / "report.py"
    path.write_text(REPORT)
    return path


def check_reports(recs, n, argv_tail, threads=None):
    assert [r["mpi_rank"] for r in recs] == list(range(n))
    expect = str(max(1, cores() // n)) if threads is None else threads
    for r in recs:
        assert r["RANK"] == str(r["mpi_rank"])
        assert r["WORLD_SIZE"] == str(n) == str(r["mpi_size"])
        assert r["LOCAL_RANK"] == str(r["mpi_rank"])       # one host
        assert r["LOCAL_WORLD_SIZE"] == str(n)
        assert r["MASTER_ADDR"] and r["MASTER_PORT"] == "29500"
        assert r["name"] == "__main__"
        assert r["argv"][1:] == argv_tail
        if isinstance(expect, dict):
            assert {v: r[v] for v in THREAD_VARS} == expect
        else:
            assert all(r[v] == expect for v in THREAD_VARS), r


# ---------------------------------------------------------------- running programs

@pytest.mark.parametrize("n", [2, 3])
def test_script_ranks_and_env(n, report_script):
    out = launch(["-n", n, report_script, "--flag", "x", "-n", "7"])
    assert out.returncode == 0, out.stderr
    recs = reports(out.stdout)
    check_reports(recs, n, ["--flag", "x", "-n", "7"])
    assert all(r["argv"][0] == str(report_script) for r in recs)


@pytest.mark.parametrize("n", [2, 3])
def test_module_ranks_and_env(n, tmp_path):
    pkg = tmp_path / "userpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "job.py").write_text(REPORT)
    out = launch(["-n", n, "-m", "userpkg.job", "a", "--b=1"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    recs = reports(out.stdout)
    check_reports(recs, n, ["a", "--b=1"])
    assert all(r["argv"][0] == str(pkg / "job.py") for r in recs)


def test_module_joined_form_and_double_dash(tmp_path, report_script):
    (tmp_path / "joined.py").write_text(REPORT)
    out = launch(["-n", 2, "-mjoined", "z"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    check_reports(reports(out.stdout), 2, ["z"])
    out = launch(["-n", 2, "--", report_script, "-m", "q"])
    assert out.returncode == 0, out.stderr
    check_reports(reports(out.stdout), 2, ["-m", "q"])


def test_user_thread_setting_is_kept(report_script):
    out = launch(["-n", 2, report_script], env=clean_env(OMP_NUM_THREADS="5"))
    assert out.returncode == 0, out.stderr
    auto = str(max(1, cores() // 2))
    check_reports(reports(out.stdout), 2, [],
                  threads={"OMP_NUM_THREADS": "5", "OPENBLAS_NUM_THREADS": auto, "MKL_NUM_THREADS": auto})


def test_threads_option(report_script):
    out = launch(["-n", 2, "--threads", 3, report_script], env=clean_env(MKL_NUM_THREADS="9"))
    assert out.returncode == 0, out.stderr
    check_reports(reports(out.stdout), 2, [],
                  threads={"OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "3", "MKL_NUM_THREADS": "9"})


def test_hostfile_localhost(tmp_path, report_script):
    hosts = tmp_path / "hosts"
    hosts.write_text("localhost:3\n")
    out = launch(["-n", 3, "--hostfile", hosts, report_script])
    assert out.returncode == 0, out.stderr
    recs = reports(out.stdout)
    assert [r["RANK"] for r in recs] == ["0", "1", "2"]
    assert all(r["LOCAL_WORLD_SIZE"] == "3" for r in recs)
    assert all(r["OMP_NUM_THREADS"] == str(max(1, cores() // 3)) for r in recs)


def test_explicit_mpiexec_and_wheel_mode(report_script):
    wheel = Path(sys.executable).parent / "mpiexec"
    for opts in (["--mpi", "wheel"], ["--mpiexec", wheel], ["--mpi", "auto"]):
        out = launch(["-n", 2, *opts, report_script])
        assert out.returncode == 0, out.stderr
        check_reports(reports(out.stdout), 2, [])


def test_python_dash_m_disttorch_launch(tmp_path, report_script):
    """``python -m disttorch.launch``: the package form (mapped onto launch/ when installed)."""
    if importlib.util.find_spec("disttorch.launch") is not None:
        cmd = [sys.executable, "-m", "disttorch.launch"]
    else:   # not installed with the package mapping yet: map it the same way for this run
        (tmp_path / "pkgroot").mkdir()
        (tmp_path / "pkgroot" / "launch").symlink_to(REPO / "launch")
        code = ("import sys, runpy, disttorch; disttorch.__path__.append(sys.argv.pop(1)); "
                "runpy.run_module('disttorch.launch', run_name='__main__', alter_sys=True)")
        cmd = [sys.executable, "-c", code, str(tmp_path / "pkgroot")]
    out = subprocess.run([*cmd, "-n", "2", str(report_script), "k"], env=clean_env(),
                         capture_output=True, text=True, timeout=LIMIT)
    assert out.returncode == 0, out.stderr
    check_reports(reports(out.stdout), 2, ["k"])


def test_mlp_digits_example():
    pytest.importorskip("sklearn")
    out = launch(["-n", 2, REPO / "examples" / "mlp_digits.py", "--epochs", "2"], cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "final:" in out.stdout
    assert "ranks 2" in out.stdout


def test_bootstrap_binds_one_gpu_per_local_rank(report_script, capfd, monkeypatch):
    """With GPUs visible (faked here: the launcher's cupy probe), local rank i sees GPU ids[i]."""
    monkeypatch.setattr(run_mod, "visible_gpus", lambda: ["4", "6"])
    for v in (*THREAD_VARS, *TORCHRUN_VARS):
        monkeypatch.delenv(v, raising=False)
    assert run_mod.main(["-n", "2", str(report_script)]) == 0
    recs = reports(capfd.readouterr().out)
    assert [r["CUDA_VISIBLE_DEVICES"] for r in recs] == ["4", "6"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert run_mod.main(["-n", "2", "--no-bind-gpus", str(report_script)]) == 0
    recs = reports(capfd.readouterr().out)
    assert [r["CUDA_VISIBLE_DEVICES"] for r in recs] == ["1", "1"]


# ---------------------------------------------------------------- failures

FAIL = textwrap.dedent("""
    import os, signal, sys, time
    from mpi4py import MPI
    world = MPI.COMM_WORLD
    mode, who = sys.argv[1], int(sys.argv[2])
    if mode == "dist":
        import disttorch.distributed as dist
        dist.init_process_group("mpi")
    if world.Get_rank() == who:
        time.sleep(0.3)
        if mode == "exit":
            sys.exit(3)
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise ValueError("rank-specific failure")
    world.Barrier()
""")


@pytest.fixture
def fail_script(tmp_path) -> Path:
    path = tmp_path / "fail.py"
    path.write_text(FAIL)
    return path


@pytest.mark.parametrize("n,who", [(2, 1), (3, 2), (3, 0)])
def test_exit_code_names_rank(n, who, fail_script):
    t0 = time.monotonic()
    out = launch(["-n", n, fail_script, "exit", who], timeout=60)
    assert out.returncode == 3
    assert f"disttorch-run: rank {who} failed with exit code 3" in out.stderr
    assert time.monotonic() - t0 < 30


@pytest.mark.parametrize("attempt", range(4))   # which rank MPI reports first varies: repeat
def test_sigkill_names_rank(attempt, fail_script):
    t0 = time.monotonic()
    out = launch(["-n", 3, fail_script, "kill", 1], timeout=60)
    assert out.returncode != 0
    assert "disttorch-run: rank 1 failed with exit code -9 (killed by" in out.stderr
    assert "SIGKILL" in out.stderr.splitlines()[-1]
    assert out.returncode == 128 + 9
    assert time.monotonic() - t0 < 15


@pytest.mark.parametrize("mode", ["raise", "dist"])
def test_exception_names_rank(mode, fail_script):
    out = launch(["-n", 2, fail_script, mode, 1], timeout=60)
    assert out.returncode == 1
    assert "disttorch-run: rank 1 failed with exit code 1 (ValueError: rank-specific failure)" in out.stderr
    assert "Traceback" in out.stderr


def test_traceback_lost_in_the_abort_is_printed_from_the_record(tmp_path):
    """mpiexec may drop what a rank wrote just before MPI_Abort; the launcher has a copy."""
    trace = "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: boom\n"
    (tmp_path / "failed-1.json").write_text(json.dumps({"rank": 1, "traceback": trace}))
    assert run_mod._lost_traceback(str(tmp_path), 1, "[disttorch] rank 1 of 2 raised") == trace
    assert run_mod._lost_traceback(str(tmp_path), 1, trace) == ""
    assert run_mod._lost_traceback(str(tmp_path), 0, "") == ""

def test_preset_rank_disagreeing_with_mpi_is_an_error(report_script):
    out = launch(["-n", 2, report_script], env=clean_env(RANK="1"))
    assert out.returncode == 2
    assert "disagree with MPI" in out.stderr
    assert "RANK=1 but MPI says 0" in out.stderr
    assert "REPORT" not in out.stdout      # the program never ran
    out = launch(["-n", 2, report_script], env=clean_env(WORLD_SIZE="3"))
    assert out.returncode == 2 and "WORLD_SIZE=3 but MPI says 2" in out.stderr


def test_preset_variables_that_agree_are_fine(report_script):
    out = launch(["-n", 1, report_script], env=clean_env(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0"))
    assert out.returncode == 0, out.stderr
    check_reports(reports(out.stdout), 1, [])


SLOW = textwrap.dedent("""
    import os, signal, sys, time
    from mpi4py import MPI
    rank = MPI.COMM_WORLD.Get_rank()
    got = []
    signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
    with open(os.path.join(sys.argv[1], f"pid-{rank}"), "w") as f:
        f.write(str(os.getpid()))
    deadline = time.time() + 60
    while time.time() < deadline:
        if got:
            print(f"rank {rank} got SIGUSR1", flush=True)
            got.clear()
            if sys.argv[2] == "exit-on-usr1":
                break
        time.sleep(0.05)
    MPI.COMM_WORLD.Barrier()
""")


def _start_slow(tmp_path, n, mode):
    script = tmp_path / "slow.py"
    script.write_text(SLOW)
    proc = subprocess.Popen([sys.executable, str(RUN), "-n", str(n), str(script), str(tmp_path), mode],
                            env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("pid-*"))) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.2)
    return proc, [int(p.read_text()) for p in sorted(tmp_path.glob("pid-*"))]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_sigterm_ends_all_ranks(tmp_path):
    proc, pids = _start_slow(tmp_path, 3, "wait")
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 15
    assert proc.returncode == 128 + signal.SIGTERM
    assert "stopped by SIGTERM" in err
    time.sleep(0.2)
    assert not any(_alive(p) for p in pids)


def test_sigint_ends_all_ranks(tmp_path):
    proc, pids = _start_slow(tmp_path, 2, "wait")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGINT
    time.sleep(0.2)
    assert not any(_alive(p) for p in pids)


def test_sigusr1_is_forwarded(tmp_path):
    proc, pids = _start_slow(tmp_path, 2, "exit-on-usr1")
    proc.send_signal(signal.SIGUSR1)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "rank 0 got SIGUSR1" in out and "rank 1 got SIGUSR1" in out


# ---------------------------------------------------------------- argument errors

@pytest.mark.parametrize("args,message", [
    (["-n", "2"], "missing the program"),
    (["-n", "0", "x.py"], "must be at least 1"),
    (["-n", "-1", "x.py"], "-n"),
    (["-n", "two", "x.py"], "invalid int value"),
    (["x.py"], "required: -n"),
    (["-n", "2", "-m"], "expected one argument"),
    (["-n", "2", "--mpi", "bogus", "x.py"], "invalid choice"),
])
def test_argument_errors(args, message):
    out = launch(args, timeout=60)
    assert out.returncode == 2
    assert message in out.stderr
    assert "usage: disttorch-run" in out.stderr


def test_missing_files_are_errors(tmp_path, report_script):
    out = launch(["-n", 2, tmp_path / "nope.py"], timeout=60)
    assert out.returncode == 2 and "can't open file" in out.stderr
    out = launch(["-n", 2, "--hostfile", tmp_path / "nohosts", report_script], timeout=60)
    assert out.returncode == 2 and "--hostfile" in out.stderr
    out = launch(["-n", 2, "--mpiexec", tmp_path / "no-mpiexec", report_script], timeout=60)
    assert out.returncode == 2 and "--mpiexec" in out.stderr


def test_missing_module_fails():
    out = launch(["-n", 2, "-m", "no_such_module_xyz"], timeout=60)
    assert out.returncode == 1
    assert "No module named no_such_module_xyz" in out.stderr
    assert "failed with exit code 1" in out.stderr


# ---------------------------------------------------------------- pieces (no MPI run)

def test_parse_args_split():
    ns = run_mod.parse_args(["-n", "2", "--threads", "4", "-m", "pkg.mod", "--threads", "9", "-n", "1"])
    assert (ns.nprocs, ns.threads, ns.module, ns.program) == (2, 4, "pkg.mod", None)
    assert ns.args == ["--threads", "9", "-n", "1"]
    ns = run_mod.parse_args(["--np=3", "--no-bind-gpus", "train.py", "-m", "x"])
    assert (ns.nprocs, ns.bind_gpus, ns.module, ns.program, ns.args) == (3, False, None, "train.py", ["-m", "x"])
    ns = run_mod.parse_args(["-n", "2", "--hostfile", "h", "--mpi", "system", "t.py"])
    assert (ns.hostfile, ns.mpi, ns.program, ns.args) == ("h", "system", "t.py", [])


def _ns(**kw):
    base = dict(nprocs=4, module=None, program="t.py", args=["--x"], hostfile=None, threads=None)
    base.update(kw)
    return Namespace(**base)


def test_build_command_mpich_and_openmpi(monkeypatch):
    for v in THREAD_VARS:
        monkeypatch.delenv(v, raising=False)
    env = run_mod.build_env(_ns(threads=2), "/tmp/s", ["0", "1"])
    assert env["OMP_NUM_THREADS"] == "2" and env["DISTTORCH_LAUNCH_GPUS"] == "0,1"
    cmd = run_mod.build_command(_ns(hostfile="hosts"), "mpiexec", "mpich", {"A": "1"})
    assert cmd[:6] == ["mpiexec", "-f", "hosts", "-genv", "A", "1"]
    assert cmd[6:9] == ["-n", "4", sys.executable]
    assert cmd[-3:] == ["--", "t.py", "--x"]
    cmd = run_mod.build_command(_ns(module="m.n"), "mpirun", "openmpi", {"A": "1"})
    assert "--oversubscribe" in cmd and "-f" not in cmd and "-genv" not in cmd
    assert cmd[cmd.index("-x") + 1] == "A=1" and cmd[-3:] == ["-m", "m.n", "--x"]
    cmd = run_mod.build_command(_ns(hostfile="hosts"), "mpirun", "openmpi", {})
    assert cmd[1:3] == ["--hostfile", "hosts"] and "--oversubscribe" not in cmd
    auto = run_mod.build_env(_ns(hostfile="hosts"), "/tmp/s", [])
    assert auto["DISTTORCH_LAUNCH_AUTO_THREADS"] == ",".join(THREAD_VARS)
    assert "OMP_NUM_THREADS" not in auto     # the bootstrap decides per node


@pytest.mark.parametrize("text,flavor", [
    ("mpiexec (OpenRTE) 4.1.2\n\nReport bugs to http://www.open-mpi.org/community/help/", "openmpi"),
    ("mpirun (Open MPI) 5.0.3\n", "openmpi"),
    ("HYDRA build details:\n    Version: 4.1.2\n", "mpich"),
    ("Intel(R) MPI Library for Linux* OS, Version 2021.10", "mpich"),
])
def test_mpi_flavor_detection(tmp_path, text, flavor):
    fake = tmp_path / "mpiexec"
    fake.write_text(f"#!/bin/sh\ncat <<'EOF'\n{text}\nEOF\n")
    fake.chmod(0o755)
    assert run_mod.mpi_flavor(str(fake)) == flavor


def test_diagnose_open_mpi_and_mpich_output(tmp_path):
    (tmp_path / "started-2.json").write_text(json.dumps({"rank": 2, "pid": 4242, "host": "n1"}))
    hydra = ("=====\n=   BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES\n=   PID 4242 RUNNING AT n1\n"
             "=   EXIT CODE: 9\n=   CLEANING UP\n====\nYOUR APPLICATION TERMINATED WITH THE EXIT STRING: "
             "Killed (signal 9)\n")
    assert run_mod.diagnose(str(tmp_path), hydra) == (2, -9, "killed by SIGKILL")
    ompi = "mpirun noticed that process rank 1 with PID 77 on node n2 exited on signal 15 (Terminated)."
    assert run_mod.diagnose(str(tmp_path), ompi) == (1, -15, "killed by SIGTERM")
    ompi_exit = ("The first process to do so was:\n\n  Process name:    [[4131,1],3]\n"
                 "  Exit code:    7\n")
    assert run_mod.diagnose(str(tmp_path), ompi_exit) == (3, 7, "")
    assert run_mod.diagnose(str(tmp_path), "nothing useful") == (None, None, "")
