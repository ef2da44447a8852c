"""Train a small MLP on a three-armed spiral with tensors and autograd alone.

The same file runs on PyTorch: ``python examples/spiral_mlp.py --lib torch``.

    python examples/spiral_mlp.py --epochs 200
"""
from __future__ import annotations

import argparse
import importlib
import math
import time

import numpy as np


def spiral(n_per_class: int, classes: int, seed: int):
    """The classic spiral toy set: ``classes`` interleaved arms with noise."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        theta = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + rng.normal(0, 0.2, n_per_class)
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
        ys.append(np.full(n_per_class, c))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lib", default="disttorch", choices=["disttorch", "torch"])
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    torch = importlib.import_module(args.lib)
    torch.manual_seed(args.seed)

    x_np, y_np = spiral(200, 3, args.seed)
    x = torch.tensor(x_np, device=args.device)
    y = torch.tensor(y_np, device=args.device)

    def init(fan_in, fan_out):
        bound = 1 / math.sqrt(fan_in)
        w = (torch.rand(fan_in, fan_out, device=args.device) * 2 - 1) * bound
        b = (torch.rand(fan_out, device=args.device) * 2 - 1) * bound
        return w.requires_grad_(), b.requires_grad_()

    params = [*init(2, args.hidden), *init(args.hidden, args.hidden), *init(args.hidden, 3)]

    def model(inp):
        w1, b1, w2, b2, w3, b3 = params
        h = (inp @ w1 + b1).relu()
        h = (h @ w2 + b2).tanh()
        return h @ w3 + b3

    n = x.shape[0]
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(n, device=args.device)
        total = 0.0
        for i in range(0, n, args.batch_size):
            idx = perm[i:i + args.batch_size]
            logits = model(x[idx])
            # cross-entropy written out: -log softmax at the target class
            loss = -logits.log_softmax(dim=1).gather(1, y[idx].unsqueeze(1)).mean()
            for q in params:
                q.grad = None
            loss.backward()
            with torch.no_grad():
                for q in params:
                    q -= args.lr * q.grad
            total += loss.item() * idx.shape[0]
        if epoch % max(1, args.epochs // 10) == 0 or epoch == args.epochs:
            with torch.no_grad():
                acc = (model(x).argmax(dim=1) == y).float().mean().item()
            print(f"epoch {epoch:4d}  loss {total / n:.4f}  accuracy {acc:.3f}")
    elapsed = time.perf_counter() - start
    print(f"final: loss {total / n:.4f} accuracy {acc:.3f} epochs {args.epochs} time {elapsed:.1f}s")


if __name__ == "__main__":
    main()
