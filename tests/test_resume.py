"""disttorch.utils.resume in one process: Checkpointer files, RNG round trips, preemption flags."""
from __future__ import annotations

import os
import random
import signal
import subprocess

import numpy as np
import pytest

import disttorch
import disttorch.nn as nn
from disttorch.utils.resume import Checkpointer, PreemptionHandler


def _draws():
    return (disttorch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)],
            np.random.randn(1).tolist())  # randn: numpy's cached gaussian is part of the state


def test_save_load_round_trip_restores_state_and_rngs(tmp_path):
    model = nn.Linear(3, 2)
    opt = disttorch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(disttorch.randn(4, 3)).sum().backward()
    opt.step()
    ck = Checkpointer(tmp_path / "ck")
    np.random.randn()  # leave a cached gaussian in numpy's state
    path = ck.save(7, {"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 2, "batch": 5})
    assert path == os.path.join(str(tmp_path / "ck"), "ckpt-00000007.dt")
    assert os.path.isfile(path)
    expected = _draws()

    disttorch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    got = ck.load()
    assert got["step"] == 7 and got["epoch"] == 2 and got["batch"] == 5
    assert set(got) == {"step", "model", "optim", "epoch", "batch"}
    assert _draws() == expected
    other = nn.Linear(3, 2)
    other.load_state_dict(got["model"])
    for a, b in zip(model.parameters(), other.parameters()):
        assert disttorch.equal(a, b)
    opt2 = disttorch.optim.SGD(other.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(got["optim"])
    buf = opt.state_dict()["state"][0]["momentum_buffer"]
    assert disttorch.equal(opt2.state_dict()["state"][0]["momentum_buffer"], buf)


def test_latest_keep_last_and_explicit_path(tmp_path):
    ck = Checkpointer(tmp_path, keep_last=2)
    assert ck.latest() is None
    assert ck.load() is None
    for step in (1, 2, 10, 3):
        ck.save(step, {"x": disttorch.tensor([float(step)])})
    names = sorted(p for p in os.listdir(tmp_path) if p.startswith("ckpt-"))
    assert names == ["ckpt-00000003.dt", "ckpt-00000010.dt"]  # kept by step, not write order
    assert ck.latest() == str(tmp_path / "ckpt-00000010.dt")
    assert ck.load()["x"].tolist() == [10.0]
    assert ck.load(tmp_path / "ckpt-00000003.dt")["step"] == 3


def test_latest_skips_incomplete_and_foreign_files(tmp_path):
    ck = Checkpointer(tmp_path)
    ck.save(1, {"a": 1})
    (tmp_path / "ckpt-00000005.dt").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")  # truncated
    (tmp_path / "ckpt-00000009.dt").write_bytes(b"")
    (tmp_path / ".ckpt-00000008.dt.abcd.tmp").write_bytes(b"partial")
    (tmp_path / "notes-00000099.dt").write_bytes(b"x")
    assert ck.latest() == str(tmp_path / "ckpt-00000001.dt")
    assert ck.load() == {"step": 1, "a": 1}


def test_load_map_location(tmp_path):
    ck = Checkpointer(tmp_path)
    ck.save(0, {"t": disttorch.arange(3)})
    got = ck.load(map_location="cpu")
    assert got["t"].device.type == "cpu" and got["t"].tolist() == [0, 1, 2]


def test_save_errors(tmp_path):
    ck = Checkpointer(tmp_path)
    with pytest.raises(TypeError):
        ck.save(0, [1, 2])
    with pytest.raises(ValueError, match="step"):
        ck.save(0, {"step": 3})
    with pytest.raises(TypeError, match="cannot save"):
        ck.save(0, {"bad": object()})
    with pytest.raises(ValueError):
        Checkpointer(tmp_path, keep_last=0)


def test_resumed_training_is_bit_identical(tmp_path):
    """Train 6 steps straight vs 3 steps, checkpoint, fresh objects, load, 3 more steps."""

    def build():
        disttorch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))
        opt = disttorch.optim.Adam(model.parameters(), lr=0.01)
        return model, opt

    data = disttorch.Generator().manual_seed(1)
    xs = disttorch.randn(6, 5, 4, generator=data)
    ys = disttorch.randint(0, 2, (6, 5), generator=data)

    def step(model, opt, i):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xs[i]), ys[i]).backward()
        opt.step()

    model, opt = build()
    for i in range(6):
        step(model, opt, i)
    straight = [p.detach().clone() for p in model.parameters()]

    model, opt = build()
    ck = Checkpointer(tmp_path)
    for i in range(3):
        step(model, opt, i)
    ck.save(3, {"model": model.state_dict(), "optim": opt.state_dict()})
    disttorch.rand(10)  # the process dies here: what it drew afterwards must not matter

    model, opt = build()
    got = ck.load()
    model.load_state_dict(got["model"])
    opt.load_state_dict(got["optim"])
    for i in range(got["step"], 6):
        step(model, opt, i)
    for a, b in zip(straight, model.parameters()):
        assert disttorch.equal(a, b)


def test_preemption_handler_flag_and_restore():
    before = signal.getsignal(signal.SIGUSR1)
    h = PreemptionHandler()
    try:
        assert not h.received and not h.should_stop()
        os.kill(os.getpid(), signal.SIGUSR1)
        assert h.received and h.should_stop()
        assert h.signum == signal.SIGUSR1
    finally:
        h.restore()
    assert signal.getsignal(signal.SIGUSR1) == before


def test_preemption_handler_custom_signals():
    h = PreemptionHandler(signals=(signal.SIGUSR2,))
    try:
        os.kill(os.getpid(), signal.SIGUSR2)
        assert h.should_stop() and h.signum == signal.SIGUSR2
    finally:
        h.restore()


def test_requeue_without_slurm(monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    h = PreemptionHandler(signals=())
    assert h.requeue() is False


def test_requeue_calls_scontrol(monkeypatch):
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.delenv("SLURM_ARRAY_JOB_ID", raising=False)
    monkeypatch.setattr(subprocess, "run", fake_run)
    h = PreemptionHandler(signals=())
    assert h.requeue() is True
    assert calls == [["scontrol", "requeue", "4242"]]

    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "100")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "7")
    assert h.requeue() is True
    assert calls[-1] == ["scontrol", "requeue", "100_7"]


def test_requeue_failure_warns(monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "1")
    monkeypatch.setattr(subprocess, "run",
                        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "Invalid job id"))
    h = PreemptionHandler(signals=())
    with pytest.warns(UserWarning, match="Invalid job id"):
        assert h.requeue() is False

    def missing(cmd, **kw):
        raise FileNotFoundError("scontrol")

    monkeypatch.setattr(subprocess, "run", missing)
    with pytest.warns(UserWarning, match="could not requeue"):
        assert h.requeue() is False


def test_rng_round_trip_on_device(tmp_path, device):
    disttorch.manual_seed(5)
    disttorch.rand(2, device=device)  # create and advance the device's generator
    ck = Checkpointer(tmp_path)
    ck.save(1, {"t": disttorch.ones(2, device=device)})
    expected = disttorch.rand(4, device=device).tolist(), disttorch.rand(2).tolist()
    disttorch.manual_seed(6)
    got = ck.load()
    assert got["t"].device.type == device
    assert (disttorch.rand(4, device=device).tolist(), disttorch.rand(2).tolist()) == expected
