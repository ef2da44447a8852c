"""backend.malloc: glibc keeps a training step's large buffers instead of faulting them in anew."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                           reason="the tuning applies to glibc's allocator only")

# a small conv net's training steps; prints the page faults per step
STEPS = textwrap.dedent("""
    import resource
    import disttorch as torch
    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    def step():
        net.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
    for _ in range(3):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10
    print(int(faults))
""")


def run(**env) -> int:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "DISTTORCH_MALLOC"))}
    clean.update(env, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", STEPS], env=clean, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


@glibc
def test_training_steps_stop_faulting_pages_in():
    tuned, untuned = run(), run(DISTTORCH_MALLOC_TUNING="0")
    assert untuned > 1000, f"the workload no longer shows the problem ({untuned} faults per step)"
    assert tuned < untuned / 20, (tuned, untuned)


def test_the_users_choice_wins(monkeypatch):
    from disttorch.backend import malloc

    monkeypatch.setenv("DISTTORCH_MALLOC_TUNING", "0")
    assert malloc.tune() is False
    monkeypatch.delenv("DISTTORCH_MALLOC_TUNING")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert malloc.tune() is False
