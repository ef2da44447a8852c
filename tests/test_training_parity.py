"""End-to-end training parity: one PyTorch-style script, run with ``lib = torch`` and
``lib = disttorch``, must give the same loss curve, parameters, optimizer and scheduler
states, BatchNorm running statistics and eval outputs.

The script uses ``lib.nn`` modules, ``lib.utils.data.DataLoader``, a label-smoothed
cross-entropy, an optimizer with an LR scheduler, gradient clipping, train/eval switches,
and a checkpoint (``lib.save``/``lib.load``) halfway through after which training goes on
with freshly built model, optimizer and scheduler restored from the checkpoint.
"""
from __future__ import annotations

import numpy as np
import pytest

import disttorch

torch = pytest.importorskip("torch")

N, BATCH, EPOCHS, CLASSES = 80, 16, 3, 3
STEPS_PER_EPOCH = N // BATCH
TOTAL_STEPS = EPOCHS * STEPS_PER_EPOCH
CKPT_STEP = TOTAL_STEPS // 2  # 7: in the middle of the second epoch
RTOL = 1e-9


# -- models, written once for both libraries -------------------------------------------------
def make_cnn(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 16), nn.Dropout(p=0.0), nn.Linear(16, CLASSES))


def make_mlp(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Linear(12, 24), nn.LayerNorm(24), nn.GELU(), nn.Linear(24, 16),
        nn.LayerNorm(16, elementwise_affine=True), nn.GELU(approximate="tanh"),
        nn.Linear(16, CLASSES))


ARCHS = {"cnn": (make_cnn, (1, 8, 8)), "mlp": (make_mlp, (12,))}


def make_optim(lib, kind, params):
    sched = lib.optim.lr_scheduler
    if kind == "adam-steplr":
        opt = lib.optim.Adam(params, lr=0.01, betas=(0.85, 0.99), weight_decay=1e-3)
        return opt, sched.StepLR(opt, step_size=4, gamma=0.5)
    opt = lib.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
    return opt, sched.CosineAnnealingLR(opt, T_max=TOTAL_STEPS, eta_min=1e-3)


def train(lib, init_state, data, arch="cnn", kind="adam-steplr", ckpt_path=None, device="cpu"):
    """Train for EPOCHS epochs with a checkpoint/restore at CKPT_STEP; returns a record."""
    make_model = ARCHS[arch][0]
    x, y, x_val, y_val = (lib.tensor(a).to(device) for a in data)

    def build():
        model = make_model(lib).double().to(device)
        model.load_state_dict({k: lib.tensor(v).to(device) for k, v in init_state.items()})
        opt, sched = make_optim(lib, kind, model.parameters())
        return model, opt, sched

    model, opt, sched = build()
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(x, y), batch_size=BATCH,
                                       shuffle=False)
    criterion = lib.nn.CrossEntropyLoss(label_smoothing=0.1)
    rec = {"loss": [], "grad_norm": [], "lr": [], "val_loss": [], "modes": []}
    step = 0
    for _epoch in range(EPOCHS):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            rec["grad_norm"].append(
                lib.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5).item())
            opt.step()
            sched.step()
            rec["loss"].append(loss.item())
            rec["lr"].append(sched.get_last_lr()[0])
            step += 1
            if step == CKPT_STEP:
                lib.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                          "scheduler": sched.state_dict(), "step": step}, ckpt_path)
                del model, opt, sched
                model, opt, sched = build()  # fresh objects, then restore
                ckpt = lib.load(ckpt_path)
                assert ckpt["step"] == CKPT_STEP
                model.load_state_dict(ckpt["model"])
                opt.load_state_dict(ckpt["optimizer"])
                sched.load_state_dict(ckpt["scheduler"])
                model.train()
        # validation in eval mode (BatchNorm uses and keeps its running statistics)
        model.eval()
        with lib.no_grad():
            rec["val_loss"].append(criterion(model(x_val), y_val).item())
        rec["modes"].append((model.training, all(not m.training for m in model.modules())))
    model.eval()
    with lib.no_grad():
        rec["eval_out"] = host(model(x))
    model.train()
    with lib.no_grad():
        rec["train_out"] = host(model(x[:BATCH]))
    rec["model"] = {k: host(v) for k, v in model.state_dict().items()}
    rec["optimizer"] = numpy_tree(opt.state_dict())
    rec["scheduler"] = numpy_tree(sched.state_dict())
    rec["last_lr"] = sched.get_last_lr()
    return rec


# -- helpers ---------------------------------------------------------------------------------
def host(t):
    return t.detach().cpu().numpy().copy()


def numpy_tree(v):
    if isinstance(v, (torch.Tensor, disttorch.Tensor)):
        return host(v)
    if isinstance(v, dict):
        return {k: numpy_tree(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(numpy_tree(x) for x in v)
    return v


def assert_tree_close(ours, theirs, path="root"):
    if isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray), path
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, (path, ours.dtype,
                                                                           theirs.dtype)
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-13, err_msg=path)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), (path, list(ours),
                                                                       list(theirs))
        for k in theirs:
            assert_tree_close(ours[k], theirs[k], f"{path}.{k}")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_tree_close(a, b, f"{path}[{i}]")
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=RTOL, abs=1e-15), path
    else:
        assert ours == theirs, path


def make_data(arch, seed=0):
    rng = np.random.default_rng(seed)
    shape = ARCHS[arch][1]
    x = rng.standard_normal((N, *shape))
    y = rng.integers(0, CLASSES, N)
    x_val = rng.standard_normal((24, *shape))
    y_val = rng.integers(0, CLASSES, 24)
    return x, y, x_val, y_val


def torch_init_state(arch):
    torch.manual_seed(1)
    model = ARCHS[arch][0](torch).double()
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# -- tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["adam-steplr", "sgd-cosine"])
@pytest.mark.parametrize("arch", ["cnn", "mlp"])
def test_training_script_parity(arch, kind, device, tmp_path):
    init, data = torch_init_state(arch), make_data(arch)
    theirs = train(torch, init, data, arch, kind, str(tmp_path / "torch.pt"))
    ours = train(disttorch, init, data, arch, kind, str(tmp_path / "ours.pt"),
                 device="cpu" if device == "cpu" else "cuda")

    assert len(ours["loss"]) == len(theirs["loss"]) == TOTAL_STEPS
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(ours["grad_norm"], theirs["grad_norm"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(ours["lr"], theirs["lr"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours["val_loss"], theirs["val_loss"], rtol=RTOL, atol=0)
    # training really moved the model, and the checkpoint did not reset anything
    assert theirs["loss"][-1] < theirs["loss"][0]
    assert ours["modes"] == theirs["modes"] == [(False, True)] * EPOCHS

    assert_tree_close(ours["model"], theirs["model"], "model")
    assert_tree_close(ours["optimizer"], theirs["optimizer"], "optimizer")
    assert_tree_close(ours["scheduler"], theirs["scheduler"], "scheduler")
    assert_tree_close(ours["last_lr"], theirs["last_lr"], "last_lr")
    np.testing.assert_allclose(ours["eval_out"], theirs["eval_out"], rtol=RTOL, atol=1e-13)
    np.testing.assert_allclose(ours["train_out"], theirs["train_out"], rtol=RTOL, atol=1e-13)

    if arch == "cnn":
        # BatchNorm: running stats updated by the train-mode forwards only (the training
        # steps and the final no_grad train-mode pass), not by the eval passes
        sd = ours["model"]
        assert int(sd["1.num_batches_tracked"]) == TOTAL_STEPS + 1
        assert not np.allclose(sd["1.running_mean"], 0.0)
        assert not np.allclose(sd["1.running_var"], 1.0)
        # eval mode normalises with the running stats, train mode with the batch's
        assert not np.allclose(ours["eval_out"][:BATCH], ours["train_out"])


def test_checkpoint_matches_uninterrupted(tmp_path):
    """Restoring from the mid-run checkpoint continues exactly as if never interrupted."""
    init, data = torch_init_state("cnn"), make_data("cnn")
    resumed = train(disttorch, init, data, "cnn", "sgd-cosine", str(tmp_path / "a.pt"))
    global CKPT_STEP
    saved, CKPT_STEP = CKPT_STEP, -1  # never checkpoint
    try:
        straight = train(disttorch, init, data, "cnn", "sgd-cosine", str(tmp_path / "b.pt"))
    finally:
        CKPT_STEP = saved
    assert resumed["loss"] == straight["loss"]
    for k, v in straight["model"].items():
        np.testing.assert_array_equal(resumed["model"][k], v, err_msg=k)
