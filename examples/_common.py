"""Helpers shared by the example programs: launch, logging, progress, data, plots.

Everything specific to a model lives in the example itself; this file holds the parts
every training program needs and nobody wants to read three times.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import logging
import os
import signal
import sys
import time

import disttorch as torch
import disttorch.distributed as dist

log = logging.getLogger("example")


# ---------------------------------------------------------------------------------------
# command line


def add_common_args(p: argparse.ArgumentParser, *, epochs: int, batch_size: int, lr: float,
                    checkpoint_every: int = 50) -> None:
    """The options every example has: schedule, seeding, checkpoints, outputs."""
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size, help="per rank")
    p.add_argument("--lr", type=float, default=lr, help="peak learning rate")
    p.add_argument("--seed", type=int, default=0, help="same seed and ranks -> same final weights")
    p.add_argument("--max-steps", type=int, default=None,
                   help="stop after this many optimizer steps (the schedule still spans --epochs)")
    p.add_argument("--eval-every", type=int, default=100, help="validate every N steps (and at the end)")
    p.add_argument("--log-every", type=int, default=10, help="record the training loss every N steps")
    p.add_argument("--device", default="cpu", help="cpu, cuda, or auto (this rank's GPU when there is one)")
    p.add_argument("--checkpoint-dir", default=None, help="where checkpoints (and the loss plot) go")
    p.add_argument("--checkpoint-every", type=int, default=checkpoint_every,
                   help="checkpoint every N steps (0: only on preemption and at the end)")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    p.add_argument("--plot", default=None, help="loss-curve PNG (default: CHECKPOINT_DIR/loss.png)")
    p.add_argument("--save-final", default=None, help="write the final model state dict here")
    p.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")
    # hooks for the tests that crash a rank on purpose (hidden from --help)
    hidden = argparse.SUPPRESS
    p.add_argument("--fail-at-step", type=int, default=None, help=hidden)
    p.add_argument("--fail-rank", type=int, default=0, help=hidden)
    p.add_argument("--fail-mode", choices=("raise", "kill", "sigterm"), default="raise", help=hidden)
    p.add_argument("--step-delay", type=float, default=0.0, help=hidden)


def parse(p: argparse.ArgumentParser) -> argparse.Namespace:
    args = p.parse_args()
    if args.resume and not args.checkpoint_dir:
        p.error("--resume needs --checkpoint-dir (where the checkpoints are)")
    return args


def test_hooks(args, step: int, rank: int) -> None:
    """Called after each step: sleep, raise, SIGKILL or SIGTERM this rank when the tests ask."""
    if args.step_delay:
        time.sleep(args.step_delay)
    if args.fail_at_step is not None and step == args.fail_at_step and rank == args.fail_rank:
        if args.fail_mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if args.fail_mode == "sigterm":  # as if only this rank were told of a preemption
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise RuntimeError(f"deliberate failure at step {step} (--fail-at-step)")


# ---------------------------------------------------------------------------------------
# processes and devices


def init_distributed() -> tuple[int, int]:
    """Join the MPI job (a world of one when started without mpiexec); (rank, world size)."""
    if dist.is_available():
        dist.init_process_group("mpi")
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        local = int(os.environ.get("MPI_LOCALRANKID", os.environ.get("OMPI_COMM_WORLD_LOCAL_RANK",
                                   os.environ.get("SLURM_LOCALID", "0"))))
        return torch.device("cuda", local % torch.cuda.device_count())
    return torch.device(name)


def setup_logging(rank: int) -> None:
    """INFO lines from rank 0 only; the other ranks report warnings and errors."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout,
                        format=f"%(asctime)s [rank {rank}] %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO if rank == 0 else logging.WARNING)


def seed_everything(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ---------------------------------------------------------------------------------------
# the training loop's plumbing


def resumable_batches(loader, sampler, epoch: int, skip: int):
    """Yield ``(epoch, index, batch)`` forever, starting ``skip`` batches into ``epoch``.

    Each epoch calls ``sampler.set_epoch`` (a new shuffle, identical on every rank); on
    resume the batches the checkpoint had already consumed are skipped, so the run sees
    exactly the batches an uninterrupted run would.
    """
    while True:
        sampler.set_epoch(epoch)
        for i, batch in itertools.islice(enumerate(loader), skip, None):
            yield epoch, i, batch
        epoch, skip = epoch + 1, 0


class Progress:
    """A tqdm bar on rank 0 (plain log lines without tqdm or with ``--no-progress``)."""

    def __init__(self, total: int, initial: int, rank: int, enabled: bool = True,
                 every: int = 50) -> None:
        self.rank, self.every, self.n, self.total, self.bar = rank, every, initial, total, None
        self.postfix: dict = {}
        if rank == 0 and enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True)

    def update(self, **postfix) -> None:
        self.n += 1
        self.postfix.update(postfix)
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4f}" if isinstance(v, float) else v
                                  for k, v in self.postfix.items()}, refresh=False)
            self.bar.update(1)
        elif self.rank == 0 and (self.n % self.every == 0 or self.n == self.total):
            log.info("step %d/%d %s", self.n, self.total,
                     "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in self.postfix.items()))

    def write(self, msg: str) -> None:
        if self.rank != 0:
            return
        if self.bar is not None:
            self.bar.write(msg, file=sys.stdout)
        else:
            log.info(msg)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def mean_over_ranks(values: list[float]) -> list[float]:
    """Average floats over the ranks (float64, so every rank gets the same numbers)."""
    t = torch.tensor(values, dtype=torch.float64)
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(t)
        t /= dist.get_world_size()
    return t.tolist()


def resume(args, device) -> tuple:
    """(Checkpointer or None, the latest checkpoint's state or None) as the flags ask.

    Call it once the model exists and before DDP and the optimizer do: loading restores this
    rank's random number generators, and the model's weights go in before DDP wraps it.
    """
    from disttorch.utils.resume import Checkpointer

    ckpt = Checkpointer(args.checkpoint_dir) if args.checkpoint_dir else None
    state = ckpt.load(map_location=device) if ckpt is not None and args.resume else None
    return ckpt, state


@dataclasses.dataclass
class Finished:
    """What :func:`train` hands back after the last step, for the example's ``final:`` line."""

    step: int
    train_loss: float
    metrics: dict
    start: float

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def _record(history: dict, step: int, running: list) -> None:
    history["train"].append([step, mean_over_ranks([running[0] / running[1]])[0]])


def train(args, model, net, opt, sched, loader, sampler, loss_fn, evaluate, report, *,
          ckpt, state, device, title: str, postfix=None, clip_grad_norm: float | None = None,
          extra_state: dict | None = None, count_parameters: bool = False) -> Finished | None:
    """The resumable training loop the examples share; None when preempted.

    ``loss_fn(x, y)`` runs the forward pass of one batch (through ``net``, the DDP wrapper)
    and returns the loss; ``evaluate()`` returns a dict of validation metrics holding
    ``val_loss``, which ``report(metrics)`` turns into the text of a progress line;
    ``postfix(epoch)`` gives the progress bar's extra fields (default: the epoch).
    ``extra_state`` goes into every checkpoint beside the model, optimizer and scheduler.
    """
    rank, world = _rank_world()
    total_steps = args.epochs * len(loader)
    last_step = min(total_steps, args.max_steps or total_steps)
    step, epoch, batch = 0, 0, 0
    history = {"train": [], "val": []}
    running = [0.0, 0.0]  # training loss sum and count since the last record
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step, epoch, batch = state["step"], state["epoch"], state["batch"]
        history, running = state["history"], state["running"]
        log.info("resumed from step %d (epoch %d, batch %d)", step, epoch, batch)

    def checkpoint_state() -> dict:
        return {"model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "epoch": epoch, "batch": batch,
                "history": history, "running": running, **(extra_state or {}), "args": vars(args)}

    from disttorch.utils.resume import PreemptionHandler

    preempt = PreemptionHandler()
    progress = Progress(last_step, step, rank, enabled=not args.no_progress)
    line = "%d rank(s), %d steps per epoch, training steps %d..%d on %s"
    values = [world, len(loader), step, last_step, device]
    if count_parameters:
        line += ", %d parameters"
        values.append(sum(p.numel() for p in model.parameters()))
    log.info(line, *values)
    start = time.perf_counter()
    batches = resumable_batches(loader, sampler, epoch, batch)
    net.train()
    while step < last_step:
        epoch, index, (x, y) = next(batches)
        opt.zero_grad()
        loss = loss_fn(x, y)
        loss.backward()  # DDP all-reduces the gradients here
        if clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
        opt.step()
        sched.step()
        step, batch = step + 1, index + 1
        running[0] += loss.item()
        running[1] += 1
        test_hooks(args, step, rank)

        if step % args.log_every == 0:
            _record(history, step, running)
            running = [0.0, 0.0]
        progress.update(loss=loss.item(), **(postfix(epoch) if postfix else {"epoch": epoch}))
        if step % args.eval_every == 0 and step < last_step:
            metrics = evaluate()
            history["val"].append([step, metrics["val_loss"]])
            progress.write(f"step {step}: {report(metrics)}")

        stop = preempt.should_stop()  # collective: every rank sees the same answer
        every = args.checkpoint_every and step % args.checkpoint_every == 0
        if ckpt is not None and (stop or every or step == last_step):
            ckpt.save(step, checkpoint_state())
        if stop and step < last_step:
            progress.close()
            log.info("preempted: stopped at step %d%s", step,
                     ", checkpoint written" if ckpt is not None else " (no --checkpoint-dir!)")
            if rank == 0:
                preempt.requeue()
            return None
    progress.close()

    if running[1]:  # the steps since the last record
        _record(history, step, running)
    metrics = evaluate()
    history["val"].append([step, metrics["val_loss"]])
    train_loss = history["train"][-1][1] if history["train"] else float("nan")
    if rank == 0:
        plot = args.plot or (os.path.join(args.checkpoint_dir, "loss.png") if args.checkpoint_dir else None)
        if plot and plot_losses(history, plot, title):
            log.info("loss curve: %s", plot)
    save_final(model, args.save_final, rank)
    return Finished(step, train_loss, metrics, start)


def plot_losses(history: dict, path: str, title: str) -> str | None:
    """Write the loss curves to a PNG when matplotlib is installed; the path or None."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.info("matplotlib is not installed: no loss plot (pip install matplotlib)")
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    if history["train"]:
        steps, losses = zip(*history["train"])
        ax.plot(steps, losses, label="train loss")
    if history["val"]:
        steps, losses = zip(*history["val"])
        ax.plot(steps, losses, "o-", label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def save_final(model, path: str | None, rank: int) -> None:
    """Rank 0 writes the model's state dict (the tests compare these files bit for bit)."""
    if path and rank == 0:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        torch.save(model.state_dict(), path)


# ---------------------------------------------------------------------------------------
# image data: the embedded digits, or MNIST from IDX files


def image_data(mnist_dir: str | None, seed: int):
    """(train dataset, validation images, validation labels, image side) as float tensors.

    Images are ``(N, 1, side, side)`` scaled to [0, 1]. The digits are split 80/20 with
    ``seed``; MNIST uses its own train/test files.
    """
    from disttorch.utils.data import TensorDataset
    from disttorch.utils.data.datasets import MNIST, load_digits

    if mnist_dir:
        train, test = MNIST(mnist_dir, train=True), MNIST(mnist_dir, train=False)
        def to_float(ds):
            return ds.data.float().div(255.0).unsqueeze(1), ds.targets
        x, y = to_float(train)
        vx, vy = to_float(test)
        return TensorDataset(x, y), vx, vy, 28
    images, labels = load_digits()
    images = images.unsqueeze(1) / 16.0
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_val = len(labels) // 5
    val, train = order[:n_val], order[n_val:]
    return TensorDataset(images[train], labels[train]), images[val], labels[val], 8


@torch.no_grad()
def evaluate_classifier(model, x, y) -> dict:
    """Loss and accuracy on the whole validation set (the same on every rank)."""
    model.eval()
    logits = model(x)
    model.train()
    return {"val_loss": torch.nn.functional.cross_entropy(logits, y).item(),
            "val_accuracy": (logits.argmax(dim=1) == y).float().mean().item()}


def classifier_report(m: dict) -> str:
    """The text of a classifier's validation progress line."""
    return f"val loss {m['val_loss']:.4f}  val accuracy {m['val_accuracy']:.4f}"
