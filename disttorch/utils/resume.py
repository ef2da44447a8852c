"""Checkpoint/resume and preemption handling for training programs.

``Checkpointer`` writes collective checkpoints (model, optimizer, whatever the program puts
in ``state``, plus every rank's random number generator states) so that a job killed at any
point and restarted with ``load()`` continues exactly where the last checkpoint left it: a
resumed run reaches bit-identical parameters to an uninterrupted one with the same seed.
``PreemptionHandler`` turns SIGUSR1/SIGTERM (what SLURM sends before a preemption or the
time limit) into a flag that all ranks agree on at a step boundary::

    ckpt = Checkpointer("checkpoints")
    preempt = PreemptionHandler()
    resumed = ckpt.load()                       # None on a fresh start
    step = resumed["step"] if resumed else 0
    ...
    while step < total_steps:
        train_one_step()
        step += 1
        if step % every == 0:
            ckpt.save(step, {"model": model.state_dict(), "optim": opt.state_dict()})
        if preempt.should_stop():               # collective: every rank stops at this step
            ckpt.save(step, {...})
            preempt.requeue()                   # rank 0 asks SLURM to requeue the job
            break

Both work without an initialised process group (a single process).
"""
from __future__ import annotations

import json
import os
import random as _pyrandom
import re
import shutil
import signal
import subprocess
import warnings
from collections.abc import Iterable

import numpy as np

__all__ = ["Checkpointer", "PreemptionHandler"]

_NAME = re.compile(r"^ckpt-(\d{8,})\.dt$")


def _group_info(group):
    """(rank, world size) in ``group``, or None when no process group is initialised."""
    from .. import distributed as dist

    if not dist.is_available() or not dist.is_initialized():
        return None
    return dist.get_rank(group), dist.get_world_size(group)


# ---------------------------------------------------------------------------------------
# random number generator states


def _rng_state() -> dict:
    """This process's generator states as objects ``disttorch.save`` can store."""
    from .. import random as dt_random
    from ..creation import tensor

    np_state = np.random.get_state(legacy=True)  # ('MT19937', keys, pos, has_gauss, gauss)
    py_version, py_internal, py_gauss = _pyrandom.getstate()
    return {
        "disttorch": dt_random.get_rng_state(),
        "cuda": {i: g.get_state() for i, g in dt_random._cuda_generators.items()},
        "numpy": [str(np_state[0]), tensor(np.asarray(np_state[1], dtype=np.int64)),
                  int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": [int(py_version), [int(v) for v in py_internal], py_gauss],
    }


def _set_rng_state(state: dict) -> None:
    from .. import random as dt_random

    dt_random.set_rng_state(state["disttorch"])
    for index, s in state.get("cuda", {}).items():
        dt_random.cuda_generator(int(index)).set_state(s)
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.cpu().numpy().astype(np.uint32), int(pos), int(has_gauss),
                         float(gauss)))
    version, internal, gauss = state["python"]
    _pyrandom.setstate((int(version), tuple(int(v) for v in internal), gauss))


# ---------------------------------------------------------------------------------------


class Checkpointer:
    """Numbered checkpoints ``directory/ckpt-{step:08d}.dt``, keeping the newest ``keep_last``.

    ``save`` is collective (every rank of ``group`` calls it with the same step); rank 0
    writes the file atomically, so a crash mid-save leaves the previous checkpoint intact.
    ``load`` is called by every rank too: each one reads the file and restores its own
    generator states. ``state`` holds what ``disttorch.save`` stores (tensors, numbers,
    strings, nested dicts/lists/tuples: state dicts of models, optimizers and schedulers).
    """

    def __init__(self, directory: str | os.PathLike, keep_last: int = 3, group=None) -> None:
        if keep_last < 1:
            raise ValueError(f"keep_last must be at least 1, got {keep_last}")
        self.directory = os.fspath(directory)
        self.keep_last = int(keep_last)
        self.group = group

    # -- paths

    def path_for(self, step: int) -> str:
        return os.path.join(self.directory, f"ckpt-{int(step):08d}.dt")

    def _listed(self) -> list[tuple[int, str]]:
        """(step, path) of every checkpoint file in the directory, oldest first."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            m = _NAME.match(name)
            if m:
                found.append((int(m.group(1)), os.path.join(self.directory, name)))
        return sorted(found)

    @staticmethod
    def _complete(path: str) -> bool:
        """A cheap check that the file holds a whole safetensors header and data section."""
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                head = f.read(8)
                if len(head) < 8:
                    return False
                n = int.from_bytes(head, "little")
                if n <= 0 or 8 + n > size:
                    return False
                raw = f.read(n)
        except OSError:
            return False
        try:
            header = json.loads(raw)
        except ValueError:
            return False
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"),
                  default=0)
        return 8 + n + end <= size

    def latest(self) -> str | None:
        """The newest complete checkpoint's path, or None when there is none."""
        for _, path in reversed(self._listed()):
            if self._complete(path):
                return path
        return None

    # -- saving

    def save(self, step: int, state: dict) -> str | None:
        """Write checkpoint ``step`` (collective); the path on rank 0, None on the other ranks."""
        from .. import distributed as dist
        from ..serialization import save

        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict, got {type(state).__name__}")
        if "step" in state:
            raise ValueError("state must not contain the key 'step' (save's step argument is stored there)")
        info = _group_info(self.group)
        rng = _rng_state()
        if info is None:
            rank, rngs = 0, [rng]
        else:
            rank, world = info
            rngs = [None] * world if rank == 0 else None
            dist.gather_object(rng, rngs, dst=dist.get_global_rank(self.group, 0)
                               if self.group is not None else 0, group=self.group)
        path, error = None, None
        if rank == 0:
            try:
                os.makedirs(self.directory, exist_ok=True)
                path = self.path_for(step)
                save({"step": int(step), "state": state, "rng": rngs}, path)
                self._prune()
            except BaseException as e:  # tell the other ranks before raising
                error = e
        if info is not None:
            # every rank leaves save only once the file is on disk (or fails together)
            msg = [None if error is None else f"{type(error).__name__}: {error}"]
            dist.broadcast_object_list(msg, src=dist.get_global_rank(self.group, 0)
                                       if self.group is not None else 0, group=self.group)
            if msg[0] is not None and error is None:
                raise RuntimeError(f"rank 0 failed to write checkpoint step {step}: {msg[0]}")
        if error is not None:
            raise error
        return path

    def _prune(self) -> None:
        listed = self._listed()
        for _, old in listed[:-self.keep_last]:
            try:
                if os.path.isdir(old):
                    shutil.rmtree(old)
                else:
                    os.remove(old)
            except FileNotFoundError:
                pass

    # -- loading

    def load(self, path: str | os.PathLike | None = None, map_location=None) -> dict | None:
        """Read a checkpoint (the latest when ``path`` is None) on every rank.

        Restores this rank's generator states and returns ``{"step": step, **state}``;
        None when there is no checkpoint. With a process group, rank 0 picks the latest
        file and tells the others, so every rank resumes from the same one.
        """
        from .. import distributed as dist
        from ..serialization import load

        info = _group_info(self.group)
        if path is None:
            path = self.latest() if info is None or info[0] == 0 else None
            if info is not None:
                box = [path]
                dist.broadcast_object_list(box, src=dist.get_global_rank(self.group, 0)
                                           if self.group is not None else 0, group=self.group)
                path = box[0]
            if path is None:
                return None
        obj = load(os.fspath(path), map_location=map_location)
        rngs = obj.get("rng") or []
        rank, world = info if info is not None else (0, 1)
        if rngs:
            if len(rngs) != world:
                warnings.warn(
                    f"checkpoint {path} was written by {len(rngs)} ranks but {world} are loading it: "
                    "random number generator states are reused round-robin, so the run will not "
                    "repeat an uninterrupted one exactly", stacklevel=2)
            _set_rng_state(rngs[rank % len(rngs)])
        return {"step": int(obj["step"]), **obj["state"]}


class PreemptionHandler:
    """Turn preemption signals into a flag that every rank checks at the same step.

    The signal handlers only set a flag (nothing unsafe runs inside a handler); the
    training loop calls ``should_stop()`` after each step, which all-reduces the flag
    (MAX) so that every rank stops after the same step, even if the signal reached only
    some of them.
    """

    def __init__(self, signals: Iterable[int] = (signal.SIGUSR1, signal.SIGTERM), group=None) -> None:
        self.group = group
        self.signum: int | None = None  # the last signal received
        self._flag = False
        self._previous: dict[int, object] = {}
        for s in signals:
            self._previous[s] = signal.signal(s, self._handle)

    def _handle(self, signum, frame) -> None:
        self._flag = True
        self.signum = signum

    @property
    def received(self) -> bool:
        """Whether this process got one of the signals (no communication)."""
        return self._flag

    def should_stop(self) -> bool:
        """Collective: True on every rank when any rank has received a signal."""
        info = _group_info(self.group)
        if info is None or info[1] == 1:
            return self._flag
        from .. import distributed as dist
        from ..creation import tensor

        flag = tensor([1 if self._flag else 0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self.group)
        return bool(flag.item())

    def requeue(self) -> bool:
        """On rank 0 in a SLURM job, ``scontrol requeue`` the job; True when that worked."""
        info = _group_info(self.group)
        if info is not None and info[0] != 0:
            return False
        job = os.environ.get("SLURM_JOB_ID")
        if not job:
            return False
        array_job, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
        if array_job and task:
            job = f"{array_job}_{task}"
        try:
            done = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True,
                                  timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            warnings.warn(f"could not requeue SLURM job {job}: {e}", stacklevel=2)
            return False
        if done.returncode != 0:
            warnings.warn(f"scontrol requeue {job} failed ({done.returncode}): {done.stderr.strip()}",
                          stacklevel=2)
            return False
        return True

    def restore(self) -> None:
        """Put back the signal handlers that were installed before this handler."""
        for s, prev in self._previous.items():
            signal.signal(s, prev)
        self._previous.clear()
