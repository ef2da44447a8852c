"""Anomaly mode: record where each node was made, and catch NaNs made in backward."""
from __future__ import annotations

import threading
import traceback
import warnings


class _State(threading.local):
    enabled = False
    check_nan = True


state = _State()


def forward_trace() -> str:
    # drop the frames inside disttorch so the trace ends at the user's line
    frames = [f for f in traceback.extract_stack()[:-1] if "/disttorch/" not in f.filename]
    return "".join(traceback.format_list(frames))


def is_anomaly_enabled() -> bool:
    return state.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return state.check_nan


class detect_anomaly:  # noqa: N801 - torch's name
    """Context manager: nodes remember their forward stack; NaN grads raise naming the op."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime "
            "and should only be enabled for debugging.",
            stacklevel=2,
        )

    def __enter__(self) -> None:
        self.prev = (state.enabled, state.check_nan)
        state.enabled, state.check_nan = True, self.check_nan

    def __exit__(self, *exc) -> None:
        state.enabled, state.check_nan = self.prev

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly:  # noqa: N801
    """Turn anomaly mode on or off (at once, and restored on exit as a context manager)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (state.enabled, state.check_nan)
        state.enabled, state.check_nan = bool(mode), check_nan

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        state.enabled, state.check_nan = self.prev
