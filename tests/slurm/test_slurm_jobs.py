"""The sbatch templates on a real (local, single-node) SLURM cluster.

Training through `srun --mpi=pmi2` and through mpiexec inside the allocation, the
preemption -> checkpoint -> requeue -> resume flow (bit-identical final weights), and the
refusal of plain `srun` without PMI. The cluster comes from conftest.py's session fixture.
"""
from __future__ import annotations

import re
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import disttorch
from disttorch.utils.resume import Checkpointer

ROOT = Path(__file__).resolve().parents[2]
SINGLE = str(ROOT / "slurm" / "cpu_single_node.sbatch")
MPIEXEC = str(ROOT / "slurm" / "cpu_mpiexec.sbatch")
MLP = str(ROOT / "examples" / "mlp_digits.py")
TRAIN_JOB = str(Path(__file__).with_name("train_job.py"))


def _state(path: Path) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in disttorch.load(str(path)).items()}


def _assert_same_weights(a: Path, b: Path) -> None:
    sa, sb = _state(a), _state(b)
    assert sorted(sa) == sorted(sb)
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


def test_single_node_srun_pmi2_trains(slurm_cluster, tmp_path):
    out, ckpt = tmp_path / "job.out", tmp_path / "ckpt"
    job = slurm_cluster.submit_wait(
        slurm_cluster.sbatch_options(tmp_path, out),
        [SINGLE, MLP, "--epochs", "1", "--max-steps", "12", "--checkpoint-dir", str(ckpt),
         "--no-progress", "--eval-every", "6", "--save-final", str(tmp_path / "final.dt")],
        out)
    assert job.returncode == 0, job.output
    assert re.search(r"^final: step 12 .* ranks 2 ", job.output, re.M), job.output
    latest = Checkpointer(ckpt).latest()
    assert latest is not None and latest.endswith("ckpt-00000012.dt"), sorted(p.name for p in ckpt.iterdir())
    assert (tmp_path / "final.dt").exists()


def test_mpiexec_inside_allocation_trains(slurm_cluster, tmp_path):
    out, ckpt = tmp_path / "job.out", tmp_path / "ckpt"
    job = slurm_cluster.submit_wait(
        slurm_cluster.sbatch_options(tmp_path, out),
        [MPIEXEC, TRAIN_JOB, "--steps", "8", "--checkpoint-dir", str(ckpt), "--out", str(tmp_path / "final.dt")],
        out)
    assert job.returncode == 0, job.output
    assert "world size 2" in job.output, job.output
    assert "trained 8 steps on 2 ranks" in job.output, job.output
    assert Checkpointer(ckpt).latest().endswith("ckpt-00000008.dt")
    # same program, same seed, same world size under srun --mpi=pmi2: the same weights
    out2 = tmp_path / "srun.out"
    job2 = slurm_cluster.submit_wait(
        slurm_cluster.sbatch_options(tmp_path, out2),
        [SINGLE, TRAIN_JOB, "--steps", "8", "--checkpoint-dir", str(tmp_path / "ckpt2"),
         "--out", str(tmp_path / "final2.dt")],
        out2)
    assert job2.returncode == 0, job2.output
    _assert_same_weights(tmp_path / "final.dt", tmp_path / "final2.dt")


@pytest.mark.parametrize("template", [SINGLE, MPIEXEC], ids=["srun-pmi2", "mpiexec"])
def test_preempt_requeue_resume_matches_uninterrupted(slurm_cluster, tmp_path, template):
    steps = 30
    # the uninterrupted reference
    ref_out = tmp_path / "ref.out"
    ref = slurm_cluster.submit_wait(
        slurm_cluster.sbatch_options(tmp_path, ref_out),
        [template, TRAIN_JOB, "--steps", str(steps), "--checkpoint-dir", str(tmp_path / "ref-ckpt"),
         "--out", str(tmp_path / "ref.dt")],
        ref_out)
    assert ref.returncode == 0, ref.output

    # the same run, preempted mid-training: SIGUSR1 to the batch shell, which forwards it
    out, ckpt = tmp_path / "job.out", tmp_path / "ckpt"
    job = slurm_cluster.submit(
        slurm_cluster.sbatch_options(tmp_path, out),
        [template, TRAIN_JOB, "--steps", str(steps), "--step-sleep", "0.2", "--checkpoint-dir", str(ckpt),
         "--out", str(tmp_path / "final.dt")])
    try:
        def text() -> str:
            return out.read_text() if out.exists() else ""

        slurm_cluster.wait_for(lambda: re.search(r"^step 4 ", text(), re.M), 90, "training to start")
        slurm_cluster.run("scancel", "--signal=USR1", "--batch", job)
        # the program checkpoints and requeues the job; SLURM holds a requeued job back for
        # about two minutes (its begin time), so make it eligible at once
        slurm_cluster.wait_for(
            lambda: (lambda i: i.get("Restarts") == "1" and i.get("JobState") in ("PENDING", "RUNNING",
                                                                                   "COMPLETED"))(
                slurm_cluster.job_info(job)), 60, f"job {job} to be requeued")
        if slurm_cluster.job_info(job).get("JobState") == "PENDING":
            # not before the preempted run is gone: slurmd refuses a credential issued within
            # the same second as the old run's revocation ("Job credential revoked")
            slurm_cluster.wait_for(lambda: "batch: step exited" in text(), 60, "the preempted run to end")
            slurm_cluster.wait_for(lambda: slurm_cluster.node_state().startswith("idle"), 60, "an idle node")
            time.sleep(2)
            slurm_cluster.run("scontrol", "update", f"JobId={job}", "StartTime=now", check=False)
        info = slurm_cluster.wait_for(
            lambda: (lambda i: i if i.get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT",
                                                          "NODE_FAIL", "OUT_OF_MEMORY") else None)(
                slurm_cluster.job_info(job)), 120, f"requeued job {job} to finish")
    finally:
        slurm_cluster.run("scancel", job, check=False)
    log = text()
    assert info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0", (info, log)
    preempted = re.search(r"^preempted: checkpoint \S+ckpt-(\d+)\.dt at step (\d+)$", log, re.M)
    assert preempted, log
    stopped = int(preempted.group(2))
    assert 4 <= stopped < steps, log
    assert "requeued: True" in log, log
    assert "batch: got SIGUSR1, forwarding it to the job step" in log
    assert re.search(rf"^resumed from checkpoint at step {stopped}$", log, re.M), log
    assert re.search(rf"^world size 2 \(SLURM job {job}, restart 1\)$", log, re.M), log
    assert f"trained {steps} steps on 2 ranks" in log, log
    # no step is trained twice, none is skipped
    trained = [int(s) for s in re.findall(r"^step (\d+) ", log, re.M)]
    assert trained == list(range(1, steps + 1)), trained
    _assert_same_weights(tmp_path / "final.dt", tmp_path / "ref.dt")


def test_srun_without_pmi_is_refused(slurm_cluster, tmp_path):
    out = tmp_path / "job.out"
    prog = "import disttorch.distributed as d; d.init_process_group('mpi')"
    wrap = f"srun --mpi=none -n 2 {shlex.quote(sys.executable)} -c {shlex.quote(prog)}"
    job = slurm_cluster.submit_wait(
        ["--chdir", str(tmp_path), "--output", str(out), "--ntasks=2", "--time=5", "--wrap", wrap], [], out,
        timeout=120)
    assert job.returncode != 0, job.output
    assert "RuntimeError" in job.output, job.output
    assert "--mpi=pmi2" in job.output, job.output
    assert "each task is its own world" in job.output, job.output
