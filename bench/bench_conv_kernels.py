"""Time the conv2d array kernels against torch on small-CNN layer shapes.

Single-threaded on both sides so the comparison is per core: the thread-count
variables must be set before numpy (and its BLAS) is imported.

    python bench/bench_conv_kernels.py [--reps 7] [--float64] [--alternatives]

Prints, per shape, milliseconds for forward, input grad, weight grad and the total,
and the ratio disttorch-kernel-time / torch-time (lower is better; < 1 is faster).
``--alternatives`` also times the other formulations that were considered.

Only the thread counts are pinned. OpenBLAS picks its GEMM kernels from the CPU it
detects; on CPUs newer than the OpenBLAS build it may fall back to older (e.g.
AVX2-only) kernels, and ``OPENBLAS_CORETYPE`` (e.g. ``SkylakeX``) in the
environment overrides that for comparison.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from disttorch.backend.shims import as_strided  # noqa: E402
from disttorch.ops import _conv_kernels as K  # noqa: E402

torch.set_num_threads(1)
F = torch.nn.functional

# (name, x shape, w shape, stride, padding, groups): a batch-64 MNIST-style CNN
# (3 -> 32 -> 64 channels at 28x28, then 64 at 14x14 after pooling), plus a strided
# and a depthwise layer to exercise the other paths.
SHAPES = [
    ("conv1 3->32 28x28 k3", (64, 3, 28, 28), (32, 3, 3, 3), 1, 1, 1),
    ("conv2 32->64 28x28 k3", (64, 32, 28, 28), (64, 32, 3, 3), 1, 1, 1),
    ("conv3 64->64 14x14 k3", (64, 64, 14, 14), (64, 64, 3, 3), 1, 1, 1),
    ("conv 32->64 28x28 k3 s2", (64, 32, 28, 28), (64, 32, 3, 3), 2, 1, 1),
    ("dw 64 14x14 k3", (64, 64, 14, 14), (64, 1, 3, 3), 1, 1, 64),
]


def best_ms(fn, reps: int) -> float:
    fn()  # warm-up: first-touch page faults, BLAS buffers
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def bench_shape(name, xs, ws, s, p, g, dtype, reps: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    st, pd, dl = (s, s), (p, p), (1, 1)
    y = K.conv_forward(np, x, w, st, pd, dl, g)
    gy = rng.standard_normal(y.shape).astype(dtype)

    ours_f = best_ms(lambda: K.conv_forward(np, x, w, st, pd, dl, g), reps)
    ours_gi = best_ms(lambda: K.conv_backward_input(np, gy, w, x.shape, st, pd, dl, g), reps)
    ours_gw = best_ms(lambda: K.conv_backward_weight(np, x, gy, w.shape, st, pd, dl, g), reps)

    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    gyt = torch.from_numpy(gy)

    def torch_fwd():
        with torch.no_grad():
            F.conv2d(xt, wt, stride=s, padding=p, groups=g)

    def torch_fwd_bwd():
        yt = F.conv2d(xt, wt, stride=s, padding=p, groups=g)
        torch.autograd.grad(yt, (xt, wt), gyt)

    t_f = best_ms(torch_fwd, reps)
    t_fb = best_ms(torch_fwd_bwd, reps)
    ours_fb = ours_f + ours_gi + ours_gw
    print(
        f"{name:26s} {np.dtype(dtype).name:7s} ours: fwd {ours_f:7.2f} gx {ours_gi:7.2f} "
        f"gw {ours_gw:7.2f} total {ours_fb:7.2f} | torch: fwd {t_f:7.2f} fwd+bwd {t_fb:7.2f} "
        f"| ratio fwd {ours_f / t_f:5.2f} fwd+bwd {ours_fb / t_fb:5.2f}"
    )


def bench_alternatives(reps: int, dtype, name: str, xs, ws) -> None:
    """Other formulations of one stride-1, pad-1, groups-1 3x3 layer."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    N, C, H, W = xs
    O = ws[0]
    L = H * W
    gy = rng.standard_normal((N, O, H, W)).astype(dtype)
    xp_ = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    sN, sC, sH, sW = xp_.strides
    w2 = w.reshape(O, -1)
    gy3 = gy.reshape(N, O, L)
    one = ((1, 1), (1, 1), (1, 1), 1)

    def view_nckl():  # (N, C, kh, kw, H, W): output-major columns per sample
        return as_strided(np, xp_, (N, C, 3, 3, H, W), (sN, sC, sH, sW, sH, sW))

    def view_nlck():  # (N, H, W, C, kh, kw): one (N*L, C*K) matrix
        return as_strided(np, xp_, (N, H, W, C, 3, 3), (sN, sH, sW, sC, sH, sW))

    def view_cknl():  # (C, kh, kw, N, H, W): one (C*K, N*L) matrix
        return as_strided(np, xp_, (C, 3, 3, N, H, W), (sC, sH, sW, sN, sH, sW))

    alts = {
        "fwd: kernel (chunked im2col + batched matmul)": lambda: K.conv_forward(np, x, w, *one),
        "fwd: whole-batch im2col + batched matmul": lambda: np.matmul(w2, view_nckl().reshape(N, C * 9, L)),
        "fwd: (N*L, CK) GEMM + transpose copy": lambda: np.ascontiguousarray(
            (view_nlck().reshape(N * L, -1) @ w2.T).reshape(N, L, O).transpose(0, 2, 1)
        ),
        "fwd: (CK, N*L) GEMM + transpose copy": lambda: np.ascontiguousarray(
            (w2 @ view_cknl().reshape(C * 9, -1)).reshape(O, N, L).transpose(1, 0, 2)
        ),
        "fwd: tensordot on strided view": lambda: np.tensordot(w, view_nckl(), axes=([1, 2, 3], [1, 2, 3])),
        "fwd: einsum(optimize=True)": lambda: np.einsum("ockl,nckluv->nouv", w, view_nckl(), optimize=True),
        "gx: kernel": lambda: K.conv_backward_input(np, gy, w, x.shape, *one),
        "gx: flipped-kernel conv of gy": lambda: K.conv_forward(np, gy, K._flipped_weight(np, w, 1), *one),
        "gw: kernel (chunked cols @ gy^T per sample)": lambda: K.conv_backward_weight(
            np, x, gy, w.shape, *one
        ),
        "gw: whole-batch gy @ cols^T per sample": lambda: np.matmul(
            gy3, view_nckl().reshape(N, C * 9, L).transpose(0, 2, 1)
        ).sum(0),
        "gw: tensordot over (N, L)": lambda: np.tensordot(
            gy3, view_nckl().reshape(N, C * 9, L), axes=([0, 2], [0, 2])
        ),
        "gw: einsum(optimize=True)": lambda: np.einsum(
            "nol,nkl->ok", gy3, view_nckl().reshape(N, C * 9, L), optimize=True
        ),
    }
    print(f"\nalternatives for {name} ({np.dtype(dtype).name}), ms:")
    for label, fn in alts.items():
        print(f"  {label:48s} {best_ms(fn, reps):8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--float64", action="store_true", help="also time float64")
    ap.add_argument("--alternatives", action="store_true", help="time other formulations")
    args = ap.parse_args()
    print(f"numpy {np.__version__}, torch {torch.__version__}, threads: torch "
          f"{torch.get_num_threads()}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    dtypes = [np.float32] + ([np.float64] if args.float64 else [])
    for dtype in dtypes:
        for shape in SHAPES:
            bench_shape(*shape, dtype, args.reps)
    if args.alternatives:
        for dtype in dtypes:
            for name, xs, ws, *_ in SHAPES[1:3]:
                bench_alternatives(args.reps, dtype, name, xs, ws)


if __name__ == "__main__":
    main()
