"""A real single-node SLURM cluster for the tests in this directory (slurm/local/cluster.sh).

The session fixture installs SLURM when it is missing (Debian packages; needs root and apt-get),
starts slurmctld and slurmd under a temporary directory on free ports, exports SLURM_CONF for
the clients, and always stops the daemons at the end. When SLURM cannot be installed or started
every test here is skipped with the reason. DISTTORCH_SLURM_TESTS=0 skips them outright.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SH = ROOT / "slurm" / "local" / "cluster.sh"
UNAVAILABLE = 3  # cluster.sh's exit code for "SLURM cannot be installed or started here"


def _free_port_pair() -> int:
    """A port p such that p and p + 1 are both free (slurmctld and slurmd)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of ports")


@dataclass
class Job:
    job_id: str
    returncode: int | None
    output: str


class Cluster:
    """The running test cluster and helpers to submit jobs to it, with every wait bounded."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(self, *cmd: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def sbatch_options(self, workdir: Path, output: Path, ntasks: int = 2) -> list[str]:
        return ["--chdir", str(workdir), "--output", str(output), "--nodes=1",
                f"--ntasks-per-node={ntasks}", "--cpus-per-task=1", "--time=10",
                f"--export=ALL,DISTTORCH_VENV={sys.prefix}"]

    def submit(self, options: list[str], script: list[str]) -> str:
        """sbatch without waiting; the job id."""
        done = self.run("sbatch", "--parsable", *options, *script)
        return done.stdout.strip().split(";")[0]

    def submit_wait(self, options: list[str], script: list[str], output: Path, timeout: float = 180) -> Job:
        """sbatch --wait: returns once the job has ended, with its exit code and output."""
        cmd = ["sbatch", "--wait", "--parsable", *options, *script]
        proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            job = out.strip().split(";")[0]
            if job:
                self.run("scancel", job, check=False)
            text = output.read_text() if output.exists() else ""
            raise AssertionError(f"job {job or '?'} did not finish within {timeout}s; output:\n{text}") from None
        job = out.strip().split(";")[0]
        text = output.read_text() if output.exists() else ""
        if not job:
            raise AssertionError(f"sbatch failed ({proc.returncode}): {err}")
        return Job(job, proc.returncode, text)

    def job_info(self, job: str) -> dict[str, str]:
        done = self.run("scontrol", "show", "job", "-o", job, check=False)
        return dict(re.findall(r"(\w+)=(\S*)", done.stdout))

    def node_state(self) -> str:
        return self.run("sinfo", "-h", "-N", "-o", "%T", check=False).stdout.strip()

    def wait_for(self, predicate, timeout: float, what: str, interval: float = 0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    if os.environ.get("DISTTORCH_SLURM_TESTS", "1") == "0":
        pytest.skip("SLURM tests disabled (DISTTORCH_SLURM_TESTS=0)")
    if shutil.which("bash") is None:
        pytest.skip("SLURM tests need bash")
    directory = tmp_path_factory.mktemp("slurm-cluster")
    env = dict(os.environ)
    env.update(DISTTORCH_SLURM_DIR=str(directory), DISTTORCH_SLURM_PORT=str(_free_port_pair()),
               DISTTORCH_SLURM_CPUS=str(max(os.cpu_count() or 1, 4)))
    env.pop("SLURM_CONF", None)

    def script(action: str, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(CLUSTER_SH), action], env=env, capture_output=True, text=True,
                              timeout=timeout)

    try:
        installed = script("install", 900)
    except subprocess.TimeoutExpired:
        pytest.skip("installing SLURM timed out")
    if installed.returncode == UNAVAILABLE:
        pytest.skip(f"SLURM unavailable: {installed.stderr.strip().splitlines()[-1:]}")
    assert installed.returncode == 0, installed.stderr

    conf = str(directory / "slurm.conf")
    previous = os.environ.get("SLURM_CONF")
    try:
        try:
            started = script("start", 90)
        except subprocess.TimeoutExpired:
            pytest.skip("starting the SLURM daemons timed out")
        if started.returncode == UNAVAILABLE:
            pytest.skip(f"SLURM daemons failed to start: {started.stderr.strip()[-800:]}")
        assert started.returncode == 0, started.stderr
        env["SLURM_CONF"] = conf
        # jobs import this checkout's disttorch even where it is not installed into the venv
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        os.environ["SLURM_CONF"] = conf
        yield Cluster(env)
    finally:
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous
        try:
            script("stop", 120)
        except subprocess.TimeoutExpired:
            pass
