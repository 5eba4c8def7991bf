"""The :class:`BatchSchedule` base, rounding to a granularity and the clock rule.

A batch schedule is a value: a frozen dataclass whose ``__call__(t)`` returns the
batch size at time ``t`` in closed form, as an ``int`` for a scalar and an int64
array for an array.

The clock rule: time is measured in **epochs** (fractional epochs, ``samples seen /
dataset size``) or in **samples seen**, never in optimizer steps. Once the batch
grows, an epoch holds fewer steps, so a milestone placed at a step count would move
with the schedule itself. A step clock is rejected with a :class:`ValueError`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from .._config import Configurable, shorten
from ..schedules._base import as_time

__all__ = [
    "CLOCKS",
    "BatchSchedule",
    "check_batch_size",
    "check_clock",
    "round_batch",
]

CLOCKS = ("epoch", "sample")

# Batch sizes are held in int64; anything above this is capped (2**62 samples).
_HUGE = float(2**62)


class BatchSchedule(Configurable):
    """Base class of batch-size schedules.

    Subclasses are frozen dataclasses with a ``clock`` field (``"epoch"`` or
    ``"sample"``) and implement :meth:`_value`, mapping a float64 array of checked
    times to an int64 array of batch sizes >= 1 of the same shape.
    """

    clock: str

    @overload
    def __call__(self, t: float) -> int: ...

    @overload
    def __call__(self, t: npt.ArrayLike) -> np.ndarray | int: ...

    def __call__(self, t: Any) -> Any:
        """Batch size at time ``t``: an ``int`` for a scalar, an int64 array for an array."""
        arr = as_time(t)
        out = np.asarray(self._value(arr), dtype=np.int64)
        if arr.ndim == 0:
            return int(out)
        return out

    def _value(self, t: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


def round_batch(raw: np.ndarray, granularity: int, max_batch_size: int | None = None) -> np.ndarray:
    """Round raw batch sizes to the nearest multiple of ``granularity`` and cap them.

    ``B = clip(granularity * floor(raw / granularity + 1/2), granularity, max_batch_size)``;
    ties round up, NaN or infinite raw sizes go to the cap.

    Example:
        >>> round_batch(np.array([1.0, 47.0, 50.0, 1e9]), 8, 64).tolist()
        [8, 48, 48, 64]
    """
    cap = _HUGE if max_batch_size is None else float(max_batch_size)
    raw = np.where(np.isfinite(raw), raw, cap)
    units = np.floor(np.minimum(raw, cap) / granularity + 0.5)
    out = np.clip(units * granularity, granularity, cap)
    return out.astype(np.int64)


# -- argument checks: each names the argument and the bad value ------------------------


def check_batch_size(name: str, value: Any) -> int:
    """An integer >= 1 (a float with an integral value is accepted)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the largest float
        number = math.inf
    if number > _HUGE:
        raise ValueError(f"{name} must be <= 2**62 (batch sizes are int64), got {shorten(value)}")
    if not (math.isfinite(number) and number.is_integer()):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    out = int(number)
    if out < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return out


def check_cap(max_batch_size: Any, granularity: int, batch_size: int | None = None) -> int:
    """``max_batch_size``: a multiple of ``granularity`` and not below ``batch_size``."""
    cap = check_batch_size("max_batch_size", max_batch_size)
    if cap % granularity:
        raise ValueError(
            f"max_batch_size must be a multiple of granularity={granularity}, "
            f"got {max_batch_size!r}"
        )
    if batch_size is not None and cap < batch_size:
        raise ValueError(
            f"max_batch_size must be >= batch_size={batch_size}, got {max_batch_size!r}"
        )
    return cap


def check_clock(value: Any) -> str:
    """``"epoch"`` or ``"sample"``; a step clock is refused with the reason."""
    if value in ("step", "steps", "iteration", "update"):
        raise ValueError(
            f"clock={value!r} is not allowed for a batch-size schedule: the number of optimizer "
            "steps per epoch shrinks as the batch grows, so a schedule on a step clock would "
            "move its own milestones. Put the schedule on clock='epoch' (fractional epochs) "
            "or clock='sample' (samples seen) instead"
        )
    if value not in CLOCKS:
        raise ValueError(f"clock must be 'epoch' or 'sample', got {value!r}")
    return str(value)
