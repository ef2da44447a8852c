"""A 784-1024-1024-10 MLP training step (batch 128) written with tensor ops.

Compared with PyTorch (same code, same run) and with the same math written by hand in
plain numpy, the floor for any numpy-based engine. One thread.

Run: python bench/bench_mlp.py
"""
from __future__ import annotations

import _common
import numpy as np

import disttorch

SIZES = (784, 1024, 1024, 10)
BATCH = 128
LR = 0.01


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    ws = [(rng.standard_normal((i, o)) / np.sqrt(i)).astype(np.float32) for i, o in zip(SIZES, SIZES[1:])]
    bs = [np.zeros(o, np.float32) for o in SIZES[1:]]
    return x, y, ws, bs


def lib_step(lib):
    x, y, ws, bs = make_data()
    x, y = lib.tensor(x), lib.tensor(y)
    params = []
    for w, b in zip(ws, bs):
        params += [lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)]

    def step():
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i + 2 < len(params):
                h = h.relu()
        loss = -h.log_softmax(dim=1).gather(1, y.unsqueeze(1)).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=LR)
        return loss

    return step


def numpy_step():
    x, y, ws, bs = make_data()

    def step():
        acts, pre = [x], []
        h = x
        for i, (w, b) in enumerate(zip(ws, bs)):
            z = h @ w + b
            pre.append(z)
            h = np.maximum(z, 0) if i + 1 < len(ws) else z
            acts.append(h)
        m = h.max(axis=1, keepdims=True)
        e = np.exp(h - m)
        p = e / e.sum(axis=1, keepdims=True)
        g = p
        g[np.arange(BATCH), y] -= 1
        g /= BATCH
        for i in range(len(ws) - 1, -1, -1):
            gw = acts[i].T @ g
            gb = g.sum(axis=0)
            if i:
                g = (g @ ws[i].T) * (pre[i - 1] > 0)
            ws[i] -= LR * gw
            bs[i] -= LR * gb

    return step


def main() -> None:
    torch = _common.load_torch()
    print(f"MLP {'-'.join(map(str, SIZES))} training step, batch {BATCH}, float32, 1 thread")
    fns = {"ours": lib_step(disttorch), "floor": numpy_step()}
    if torch:
        fns["torch"] = lib_step(torch)
    t = _common.best_times(fns, rounds=30)
    ours, floor, theirs = t["ours"], t["floor"], t.get("torch")
    print(_common.row("disttorch step vs torch", ours, theirs))
    print(_common.row("hand-written numpy step vs torch", floor, theirs))
    print(f"{'disttorch / numpy floor':<44} {ours / floor:6.3f}x")


if __name__ == "__main__":
    main()
