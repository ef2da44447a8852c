"""Per-op autograd overhead on 1-element tensors: forward + backward, microseconds per op.

Run: python bench/bench_autograd_overhead.py
"""
from __future__ import annotations

import _common  # noqa: F401  (sets single-threaded BLAS before numpy loads)

import disttorch

CHAIN = 200


def chain(lib, x):
    y = x
    for _ in range(CHAIN // 4):
        y = y * 1.0001
        y = y + 0.5
        y = y - x
        y = y * x
    return y


def step(lib):
    x = lib.ones(1, requires_grad=True)

    def run():
        x.grad = None
        chain(lib, x).sum().backward()

    return run


def forward_only(lib):
    x = lib.ones(1)

    def run():
        with lib.no_grad():
            chain(lib, x)

    return run


def main() -> None:
    torch = _common.load_torch()
    print(f"autograd overhead, chain of {CHAIN} ops on 1-element float32 tensors, 1 thread")
    for name, make in (("forward + backward per op", step), ("forward under no_grad per op", forward_only)):
        ours = _common.best_time(make(disttorch), repeat=7, number=20) / CHAIN
        theirs = _common.best_time(make(torch), repeat=7, number=20) / CHAIN if torch else None
        print(_common.row(name, ours, theirs, unit="us", scale=1e6))


if __name__ == "__main__":
    main()
