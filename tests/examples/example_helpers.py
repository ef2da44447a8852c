"""Helpers for the tests that run the example programs as subprocesses (under mpiexec).

Each test is single-process: it launches ``mpiexec -n 2 python examples/<name>.py ...``
(mpiexec from the environment's bin directory, next to ``sys.executable``) with a
timeout, so a hung job fails the test instead of stalling the suite.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
TIMEOUT_S = 60

# small settings that keep every run to a few seconds
SMALL = {
    "mlp_digits.py": [],
    "cnn_digits.py": ["--channels", "8"],
    "char_transformer.py": ["--d-model", "32", "--heads", "2", "--layers", "1", "--block-size", "16",
                            "--sample-chars", "20", "--val-batches", "2"],
}


def mpiexec() -> str:
    path = Path(sys.executable).parent / "mpiexec"
    if not path.exists():
        pytest.skip(f"mpiexec not found next to {sys.executable} (install the 'mpich' wheel)")
    return str(path)


def env() -> dict:
    e = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
             PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    e.pop("DISTTORCH_FAKE_CUDA", None)
    return e


def command(script: str, args, ranks: int) -> list[str]:
    """``mpiexec -n ranks python script ...`` (a plain ``python script ...`` for ranks=0)."""
    prog = [sys.executable, str(EXAMPLES / script), "--no-progress", *SMALL[script], *map(str, args)]
    return prog if ranks == 0 else [mpiexec(), "-n", str(ranks), *prog]


def run(script: str, *args, ranks: int = 2, cwd=None, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    cmd = command(script, args, ranks)
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} still running after {timeout} s:\n{e.stdout}\n{e.stderr}")


def ok(proc: subprocess.CompletedProcess) -> str:
    """The stdout of a run that must have succeeded and printed its ``final:`` line."""
    assert proc.returncode == 0, f"exit code {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "\nfinal: " in "\n" + proc.stdout, proc.stdout + proc.stderr
    return proc.stdout


def same_weights(a: Path, b: Path) -> None:
    import disttorch

    sa, sb = disttorch.load(a), disttorch.load(b)
    assert list(sa) == list(sb)
    for k in sa:
        assert disttorch.equal(sa[k], sb[k]), f"parameter {k} differs"
