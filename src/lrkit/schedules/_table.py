"""A schedule's values at the integer steps ``0 .. n - 1``: the table behind the adapters."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ._base import Schedule
from ._end import end_of

__all__ = ["MAX_TABLE", "step_table"]

MAX_TABLE = 50_000_000  # 200 MB as float32: beyond this, a table is the wrong tool


def step_table(schedule: Schedule, steps: Any = None) -> np.ndarray:
    """``schedule(t)`` at ``t = 0, 1, ..., n - 1`` as float64, where it is held past ``n - 1``.

    ``n`` is ``steps`` when given, else one past the end of ``schedule`` (see
    :func:`~lrkit.schedules.end_of`), so that the last entry is the value held forever.

    Raises:
        TypeError: ``schedule`` is not a Schedule, or ``steps`` not an integer.
        ValueError: a schedule that never ends and no ``steps``, or a table longer than
            :data:`MAX_TABLE`.
    """
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a lrkit Schedule, got {schedule!r}")
    if steps is None:
        end = end_of(schedule)
        if end is None:
            raise ValueError(
                f"{schedule.to_spec()} never stops changing: give steps= (the number of "
                "training steps; the value at steps - 1 is held after it)"
            )
        n = math.floor(end) + 1
    else:
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
            raise TypeError(f"steps must be an integer, got {steps!r}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps!r}")
        n = int(steps)
    if n > MAX_TABLE:
        raise ValueError(f"a table of {n} steps is longer than {MAX_TABLE}: give a smaller steps=")
    return np.asarray(schedule(np.arange(n, dtype=np.float64)), dtype=np.float64)
