"""``Future``: a value that will be ready later (returned by ``Work.get_future`` and comm hooks)."""
from __future__ import annotations

from collections.abc import Callable


class Future:
    """A result produced later; ``wait()`` blocks until it is set and returns it."""

    def __init__(self, *, waiter: Callable[[], object] | None = None) -> None:
        self._waiter = waiter  # completes the underlying work and returns the value
        self._done = False
        self._value = None
        self._exception: BaseException | None = None
        self._callbacks: list = []

    def done(self) -> bool:
        return self._done

    def set_result(self, result) -> None:
        if self._done:
            raise RuntimeError("Future.set_result: the future is already completed")
        self._value = result
        self._done = True
        self._waiter = None
        for cb in self._callbacks:
            cb(self)
        self._callbacks.clear()

    def set_exception(self, exc: BaseException) -> None:
        self._exception = exc
        self._done = True
        self._waiter = None

    def wait(self):
        if not self._done:
            if self._waiter is None:
                raise RuntimeError("Future.wait: the future was never completed")
            value = self._waiter()
            if not self._done:  # the waiter may complete this future itself
                self.set_result(value)
        if self._exception is not None:
            raise self._exception
        return self._value

    def value(self):
        if not self._done:
            raise RuntimeError("Future.value: the future is not completed yet; call wait()")
        if self._exception is not None:
            raise self._exception
        return self._value

    def then(self, callback: Callable[[Future], object]) -> Future:
        """A future holding ``callback(self)``, run once this one completes."""
        return Future(waiter=lambda: callback(_waited(self)))

    def add_done_callback(self, callback: Callable[[Future], None]) -> None:
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)


def _waited(f: Future) -> Future:
    f.wait()
    return f


def collect_all(futures: list[Future]) -> Future:
    return Future(waiter=lambda: [_waited(f) for f in futures])


def wait_all(futures: list[Future]) -> list:
    return [f.wait() for f in futures]
