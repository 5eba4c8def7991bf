"""The :class:`Schedule` base and argument checks shared by every schedule.

A schedule is a value: a frozen dataclass whose ``__call__(t)`` returns the
learning rate at time ``t`` in closed form. Time is a real number ``>= 0`` on a
clock the caller chooses (optimizer steps by default, or fractional epochs).

Step convention: a change "at ``b``" applies for ``t >= b`` (as in PyTorch and
optax; Keras uses ``t > b``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from .._config import Configurable, shorten

__all__ = ["Schedule", "TimeLike"]

TimeLike = float | int | npt.ArrayLike


class Schedule(Configurable):
    """Base class of all learning-rate schedules.

    Subclasses are frozen dataclasses that implement :meth:`_value`, mapping a
    float64 array of times (already checked: finite and ``>= 0``) to an array of
    learning rates of the same shape, and :meth:`_sup`, an upper bound of those
    rates. Every value is finite and ``>= 0`` for every ``t >= 0``: a class computes
    in forms that cannot overflow, and refuses at construction the arguments whose
    values no float can hold. ``_value`` runs with numpy's overflow and underflow
    warnings off (an intermediate ``t / span`` may overflow to ``inf`` on purpose).
    """

    @overload
    def __call__(self, t: float) -> float: ...

    @overload
    def __call__(self, t: npt.ArrayLike) -> np.ndarray | float: ...

    def __call__(self, t: Any) -> Any:
        """Learning rate at time ``t``: a float for a scalar, a float64 array for an array."""
        arr = as_time(t)
        with np.errstate(over="ignore", under="ignore"):
            if arr.ndim == 0:
                # Through a one-element array, not numpy's scalar path: its pow/exp/cos
                # can differ from the array loops in the last bit; s(t) == s([t])[0].
                return float(np.asarray(self._value(arr.reshape(1)), dtype=np.float64)[0])
            return np.asarray(self._value(arr), dtype=np.float64)

    def _value(self, t: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sup(self) -> float:
        """An upper bound of the rate over all ``t >= 0`` (finite): what :class:`Scale` checks."""
        raise NotImplementedError(
            f"{type(self).__name__} must define _sup(), an upper bound of its values"
        )


def as_time(t: Any) -> np.ndarray:
    """Convert ``t`` to a float64 array, refusing NaN, infinite or negative times.

    Raises:
        TypeError: ``t`` is not a real number or an array of them (a string, a bool,
            a complex number, a datetime, None, a ragged list).
        ValueError: a time is negative, NaN or infinite.
    """
    try:
        raw = np.asarray(t)
        if t is None or raw.dtype.kind not in "iufO":
            raise TypeError
        arr = raw.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise TypeError(f"t must be a real number or an array of them, got {t!r}") from None
    if arr.ndim == 0:
        value = float(arr)
        if not (value >= 0.0 and math.isfinite(value)):
            raise ValueError(f"t must be a finite number >= 0, got {t!r}")
    elif arr.size and not (np.all(np.isfinite(arr)) and arr.min() >= 0.0):
        raise ValueError("t must hold finite numbers >= 0; got a negative, NaN or infinite time")
    return arr


# -- argument checks: each names the argument and the bad value ------------------------


def check_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {shorten(value)}")
    try:
        out = float(value)
    except OverflowError:  # an int beyond the largest float
        out = math.inf
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {shorten(value)}")
    return out


def check_positive(name: str, value: Any) -> float:
    out = check_number(name, value)
    if out <= 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return out


def check_non_negative(name: str, value: Any) -> float:
    out = check_number(name, value)
    if out < 0.0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return out


def check_span(name: str, value: Any) -> float:
    """A length of time > 0; an ``int`` stays an ``int`` (a spec reads ``1000``, not ``1000.0``)."""
    out = check_positive(name, value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return out


def check_increasing(name: str, value: Any, *, low: float = 0.0) -> tuple[float, ...]:
    """A non-empty, strictly increasing sequence of finite numbers ``> low``, as a tuple."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a list of numbers, got {value!r}")
    items = tuple(value)
    if not items:
        raise ValueError(f"{name} must not be empty, got {value!r}")
    out: list[float] = []
    for i, v in enumerate(items):
        number = check_number(f"{name}[{i}]", v)
        out.append(int(v) if isinstance(v, numbers.Integral) else number)
    for i, v in enumerate(out):
        if v <= low:
            raise ValueError(f"{name} must hold numbers > {low:g}, got {name}[{i}] = {v!r}")
        if i and v <= out[i - 1]:
            raise ValueError(
                f"{name} must be strictly increasing (no duplicates), got {list(items)!r}"
            )
    return tuple(out)


def check_fraction(
    name: str, value: Any, *, low_open: bool = True, high_open: bool = True
) -> float:
    out = check_number(name, value)
    low_ok = out > 0.0 if low_open else out >= 0.0
    high_ok = out < 1.0 if high_open else out <= 1.0
    if not (low_ok and high_ok):
        lo, hi = ("(" if low_open else "["), (")" if high_open else "]")
        raise ValueError(f"{name} must be in {lo}0, 1{hi}, got {value!r}")
    return out


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return str(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_schedule(name: str, value: Any) -> Schedule:
    if not isinstance(value, Schedule):
        raise TypeError(f"{name} must be a Schedule, got {value!r}")
    return value


def between(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """``x`` clipped to ``[low, high]``: ``np.clip`` without its microseconds of overhead."""
    return np.minimum(np.maximum(x, low), high)


def set_field(obj: object, name: str, value: Any) -> None:
    """Normalise a field of a frozen dataclass in ``__post_init__``."""
    object.__setattr__(obj, name, value)
