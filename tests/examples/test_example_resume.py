"""Crashes, preemption and resume of the example programs on 2 MPI ranks.

A run killed mid-way (after a checkpoint) and resumed with ``--resume`` must end with
bit-identical weights to an uninterrupted run; a failing rank must end the whole job
quickly with a non-zero exit code; SIGUSR1 must make the job checkpoint and exit 0.
"""
from __future__ import annotations

import signal
import subprocess
import time

import pytest
from example_helpers import TIMEOUT_S, command, env, ok, run, same_weights

SCRIPTS = ["mlp_digits.py", "cnn_digits.py", "char_transformer.py"]
STEPS = 30
EVERY = 10


def _steps(ck) -> list[int]:
    return sorted(int(p.name[5:13]) for p in ck.glob("ckpt-*.dt"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_sigkill_one_rank_then_resume_is_bit_identical(script, tmp_path):
    common = ["--max-steps", STEPS, "--checkpoint-every", EVERY, "--eval-every", 7]
    ok(run(script, *common, "--checkpoint-dir", tmp_path / "straight", "--save-final", tmp_path / "a.dt"))

    ck = tmp_path / "crashed"
    killed = run(script, *common, "--checkpoint-dir", ck, "--fail-at-step", 25, "--fail-rank", 1,
                 "--fail-mode", "kill")
    assert killed.returncode != 0, killed.stdout + killed.stderr
    assert "final: " not in killed.stdout
    assert _steps(ck) == [10, 20]  # the kill came after the step-20 checkpoint, before step 30's

    out = ok(run(script, *common, "--checkpoint-dir", ck, "--resume", "--save-final", tmp_path / "b.dt"))
    assert "resumed from step 20" in out
    same_weights(tmp_path / "a.dt", tmp_path / "b.dt")


@pytest.mark.parametrize("mode", ["raise", "kill"])
def test_failing_rank_ends_the_job_quickly(mode, tmp_path):
    # undisturbed, this run would take over 30 s (0.1 s per step)
    start = time.monotonic()
    proc = run("mlp_digits.py", "--max-steps", 300, "--step-delay", 0.1, "--fail-at-step", 3,
               "--fail-rank", 1, "--fail-mode", mode)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert elapsed < 20, f"the job took {elapsed:.1f} s to end after rank 1 failed"
    assert "final: " not in proc.stdout
    if mode == "raise":
        text = proc.stdout + proc.stderr
        assert "rank 1 of 2 raised" in text, text
        assert "deliberate failure at step 3" in text


def test_sigusr1_checkpoints_exits_0_and_resumes(tmp_path):
    common = ["--max-steps", 200, "--checkpoint-every", EVERY]
    ok(run("mlp_digits.py", *common, "--save-final", tmp_path / "a.dt"))

    ck = tmp_path / "ck"
    proc = subprocess.Popen(command("mlp_digits.py", [*common, "--checkpoint-dir", ck, "--step-delay", 0.05],
                                    ranks=2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env())
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (ck / "ckpt-00000010.dt").exists():  # past start-up, inside the training loop
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.05)
        proc.send_signal(signal.SIGUSR1)  # mpiexec forwards it to every rank
        out, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out + err
    assert "preempted: stopped at step" in out and "final: " not in out
    stopped = _steps(ck)[-1]
    assert 10 < stopped < 200 and f"stopped at step {stopped}," in out

    out = ok(run("mlp_digits.py", *common, "--checkpoint-dir", ck, "--resume", "--save-final", tmp_path / "b.dt"))
    assert f"resumed from step {stopped} " in out
    same_weights(tmp_path / "a.dt", tmp_path / "b.dt")


def test_sigterm_to_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    """Only rank 1 gets SIGTERM (after step 13): both ranks agree to stop there and checkpoint."""
    ck = tmp_path / "ck"
    out = run("cnn_digits.py", "--max-steps", 40, "--checkpoint-dir", ck, "--checkpoint-every", 0,
              "--fail-at-step", 13, "--fail-rank", 1, "--fail-mode", "sigterm")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "preempted: stopped at step 13, checkpoint written" in out.stdout
    assert _steps(ck) == [13]
    ok(run("cnn_digits.py", "--max-steps", 40, "--checkpoint-dir", ck, "--resume",
           "--save-final", tmp_path / "b.dt"))
    ok(run("cnn_digits.py", "--max-steps", 40, "--save-final", tmp_path / "a.dt"))
    same_weights(tmp_path / "a.dt", tmp_path / "b.dt")
