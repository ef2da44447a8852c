"""Whole-model training steps beside PyTorch (same code, same run, one thread).

* LeNet-style CNN, batch 64 of 1x28x28: conv(1,6,5)-relu-maxpool-conv(6,16,5)-relu-maxpool
  -fc120-relu-fc84-relu-fc10, cross entropy, Adam.
* One-block transformer LM, batch 16, seq 64, vocab 256, d_model 128, 4 heads: token +
  positional embeddings, one pre-norm ``nn.TransformerEncoderLayer(batch_first=True,
  norm_first=True)`` under a causal mask, linear head, cross entropy, AdamW.

Targets: CNN within 2x of PyTorch, transformer within 1.5x.

Run: python bench/bench_models.py
"""
from __future__ import annotations

import _common
import numpy as np

import disttorch

CNN_BATCH = 64
LM_BATCH, SEQ, VOCAB, D_MODEL, HEADS = 16, 64, 256, 128, 4


def lenet(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def make_lm(lib):
    nn = lib.nn

    class TinyLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(VOCAB, D_MODEL)
            self.pos = nn.Embedding(SEQ, D_MODEL)
            self.block = nn.TransformerEncoderLayer(D_MODEL, HEADS, dim_feedforward=4 * D_MODEL,
                                                    dropout=0.0, batch_first=True,
                                                    norm_first=True)
            self.head = nn.Linear(D_MODEL, VOCAB)
            self.register_buffer("positions", lib.arange(SEQ), persistent=False)
            self.register_buffer(
                "mask", nn.Transformer.generate_square_subsequent_mask(SEQ), persistent=False)

        def forward(self, idx):
            h = self.tok(idx) + self.pos(self.positions)
            h = self.block(h, src_mask=self.mask, is_causal=True)
            return self.head(h)

    return TinyLM()


def copy_weights(src, dst, lib):
    """Start both libraries from the same weights (the torch model's)."""
    dst.load_state_dict({k: lib.tensor(v.detach().numpy()) for k, v in src.state_dict().items()})


def cnn_step(lib, model, data):
    x, y = (lib.tensor(a) for a in data)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def lm_step(lib, model, data):
    idx, tgt = (lib.tensor(a) for a in data)
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        logits = model(idx)
        loss = lib.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), tgt.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    return step


def main() -> None:
    torch = _common.load_torch()
    rng = np.random.default_rng(0)
    cnn_data = (rng.standard_normal((CNN_BATCH, 1, 28, 28)).astype(np.float32),
                rng.integers(0, 10, CNN_BATCH))
    lm_data = (rng.integers(0, VOCAB, (LM_BATCH, SEQ)), rng.integers(0, VOCAB, (LM_BATCH, SEQ)))

    benches = [
        (f"LeNet CNN step, batch {CNN_BATCH}, Adam", lenet, cnn_step, cnn_data, 2.0),
        (f"Transformer LM step, b{LM_BATCH} s{SEQ} d{D_MODEL}, AdamW", make_lm, lm_step,
         lm_data, 1.5),
    ]
    print("Model training steps, float32, 1 thread (ms per step)")
    for name, build, make_step, data, target in benches:
        ours_model = build(disttorch)
        fns = {}
        if torch:
            torch.manual_seed(0)
            theirs_model = build(torch)
            copy_weights(theirs_model, ours_model, disttorch)
            fns["torch"] = make_step(torch, theirs_model, data)
        fns["ours"] = make_step(disttorch, ours_model, data)
        if torch:  # same weights, same first loss
            first = {k: fn().item() for k, fn in fns.items()}
            assert abs(first["ours"] - first["torch"]) <= 1e-4 * abs(first["torch"]), first
        t = _common.best_times(fns, rounds=40)
        print(_common.row(name, t["ours"], t.get("torch")))
        if torch:
            ratio = t["ours"] / t["torch"]
            verdict = "met" if ratio <= target else "MISSED"
            print(f"{'  target':<44} {target:.1f}x  {verdict}")


if __name__ == "__main__":
    main()
