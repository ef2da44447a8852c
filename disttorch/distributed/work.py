"""``Work``: the handle an ``async_op=True`` collective returns, over MPI requests."""
from __future__ import annotations

import time
from collections.abc import Callable

from ..futures import Future

_MPI = None


def _mpi():
    """mpi4py's ``MPI``, imported on first use (importing it initialises MPI)."""
    global _MPI
    if _MPI is None:
        from mpi4py import MPI

        _MPI = MPI
    return _MPI


class Work:
    """Completes MPI requests, then runs the finishing step (write-back, averaging)."""

    def __init__(self, requests: list, finish: Callable[[], object] | None = None,
                 result: Callable[[], list] | None = None) -> None:
        self._requests = requests
        self._finish = finish
        self._result = result
        self._completed = False
        self._future: Future | None = None

    def _complete(self) -> None:
        if self._completed:
            return
        self._completed = True
        if self._finish is not None:
            self._finish()
        if self._future is not None and not self._future.done():
            self._future.set_result(self._result() if self._result else None)

    def wait(self, timeout=None) -> bool:
        """Block until the collective is done (``timeout`` in seconds or a timedelta)."""
        if self._completed:
            return True
        MPI = _mpi()
        if timeout is None:
            MPI.Request.Waitall(self._requests)
        else:
            limit = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
            end = time.monotonic() + limit
            while not MPI.Request.Testall(self._requests):
                if time.monotonic() > end:
                    raise RuntimeError(f"Work.wait timed out after {limit} seconds")
                time.sleep(0)
        self._complete()
        return True

    def is_completed(self) -> bool:
        if self._completed:
            return True
        MPI = _mpi()
        if self._requests and not MPI.Request.Testall(self._requests):
            return False
        self._complete()
        return True

    def is_success(self) -> bool:
        return self.is_completed()

    def exception(self):
        return None

    def result(self) -> list:
        self.wait()
        return self._result() if self._result else []

    def get_future(self) -> Future:
        if self._future is None:
            self._future = Future(waiter=lambda: (self.wait(), self._result() if self._result else None)[1])
            if self._completed:
                self._future.set_result(self._result() if self._result else None)
        return self._future

    def synchronize(self) -> None:
        self.wait()


class CompletedWork(Work):
    """The Work of a collective that already finished (blocking paths, size-1 groups)."""

    def __init__(self, result: Callable[[], list] | None = None) -> None:
        super().__init__([], None, result)
        self._completed = True
