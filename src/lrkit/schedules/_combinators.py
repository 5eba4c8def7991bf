"""Combinators: schedules built from other schedules.

Each passes its pieces their *local* time, so a piece never needs to know where it
sits: warm-up lives only in :class:`Warmup`, and :class:`Join` restarts each
piece's clock at its boundary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._base import (
    Schedule,
    between,
    check_choice,
    check_fraction,
    check_increasing,
    check_non_negative,
    check_number,
    check_positive,
    check_schedule,
    check_span,
    set_field,
)

__all__ = ["Clip", "Join", "Mirror", "Scale", "Shift", "Warmup"]


def evaluate(schedule: Schedule, t: np.ndarray) -> np.ndarray:
    """``schedule`` at already-checked times ``t`` (an array of any shape), as float64."""
    return np.asarray(schedule._value(t), dtype=np.float64)


@dataclass(frozen=True)
class Warmup(Schedule):
    """Warm up into ``schedule``: a ramp for ``t < W``, then ``schedule(t - W)``.

    With ``W = warmup_steps``, ``a = start_lr`` and ``b = schedule(0)``::

        linear:       lr(t) = a + (b - a) * t / W           for t < W
        exponential:  lr(t) = a * (b / a) ** (t / W)        for t < W
        both:         lr(t) = schedule(t - W)                for t >= W

    The inner schedule sees its local time, so it runs in full after the warm-up
    (unlike optax ``warmup_cosine_decay_schedule`` and Hugging Face's
    ``get_cosine_schedule_with_warmup``, which count the warm-up inside the decay).
    Warm-up from exactly 0 is allowed with the linear shape (PyTorch ``LinearLR``
    refuses ``start_factor=0``).

    Args:
        schedule: the schedule to warm up into.
        warmup_steps: ``W``, > 0.
        start_lr: the rate at ``t = 0``, >= 0 (> 0 for the exponential shape).
        shape: ``"linear"`` or ``"exponential"``.

    Raises:
        ValueError: ``warmup_steps`` not > 0, ``start_lr`` negative, unknown ``shape``,
            or an exponential ramp from or to 0.
        TypeError: ``schedule`` is not a Schedule, or a non-number.

    Example:
        >>> from lrkit.schedules import CosineDecay
        >>> s = Warmup(CosineDecay(lr=1.0, total_steps=100), warmup_steps=10)
        >>> [round(s(t), 12) for t in (0, 5, 10, 60, 110)]
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """

    config_name = "warmup"
    schedule: Schedule
    warmup_steps: float
    start_lr: float = 0.0
    shape: str = "linear"

    def __post_init__(self) -> None:
        check_schedule("schedule", self.schedule)
        set_field(self, "warmup_steps", check_span("warmup_steps", self.warmup_steps))
        set_field(self, "start_lr", check_non_negative("start_lr", self.start_lr))
        set_field(self, "shape", check_choice("shape", self.shape, ("linear", "exponential")))
        if self.shape == "exponential":
            if self.start_lr <= 0.0:
                raise ValueError(
                    f"start_lr must be > 0 for shape='exponential', got {self.start_lr!r}"
                )
            if self.schedule(0) <= 0.0:
                raise ValueError(
                    "an exponential warm-up needs schedule(0) > 0, got "
                    f"schedule(0) = {self.schedule(0)!r} for {self.schedule!r}"
                )

    def _value(self, t: np.ndarray) -> np.ndarray:
        w = self.warmup_steps
        out = evaluate(self.schedule, np.maximum(t - w, 0.0))
        warming = t < w
        if np.any(warming):
            frac = t[warming] / w
            a, b = self.start_lr, float(evaluate(self.schedule, np.zeros(1))[0])
            if self.shape == "linear":
                ramp = a * (1.0 - frac) + b * frac
            else:
                # a * (b / a) ** frac, written so that b / a cannot overflow (a = 5e-324)
                ramp = a ** (1.0 - frac) * b**frac
            # The ramp lies between its ends; rounding near 1.8e308 must not step past them.
            out[warming] = between(ramp, min(a, b), max(a, b))
        return out

    def _sup(self) -> float:
        return max(self.start_lr, self.schedule._sup())


@dataclass(frozen=True)
class Join(Schedule):
    """Run ``schedules`` one after another, switching at ``boundaries``.

    With boundaries ``b_1 < ... < b_{n-1}`` (and ``b_0 = 0``), piece ``i`` runs for
    ``b_i <= t < b_{i+1}`` and sees its local time ``t - b_i``. Like optax
    ``join_schedules``; unlike PyTorch ``SequentialLR``, no piece depends on what
    the optimizer's rate was before.

    Args:
        schedules: the pieces, at least one (a list is stored as a tuple).
        boundaries: ``len(schedules) - 1`` switch times, strictly increasing, > 0.

    Raises:
        ValueError: the wrong number of boundaries, or unsorted/duplicate/non-positive
            boundaries.
        TypeError: a piece is not a Schedule, or a boundary not a number.

    Example:
        >>> from lrkit.schedules import Constant, LinearDecay
        >>> s = Join([Constant(1.0), LinearDecay(1.0, total_steps=10)], boundaries=[5])
        >>> s(4), s(5), s(10), s(20)
        (1.0, 1.0, 0.5, 0.0)
    """

    config_name = "join"
    schedules: tuple[Schedule, ...]
    boundaries: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.schedules, Schedule) or not isinstance(self.schedules, Sequence):
            raise TypeError(f"schedules must be a list of Schedules, got {self.schedules!r}")
        pieces = tuple(self.schedules)
        if not pieces:
            raise ValueError("schedules must hold at least one schedule, got []")
        for i, piece in enumerate(pieces):
            check_schedule(f"schedules[{i}]", piece)
        set_field(self, "schedules", pieces)
        if isinstance(self.boundaries, str) or not isinstance(self.boundaries, Sequence):
            raise TypeError(f"boundaries must be a list of numbers, got {self.boundaries!r}")
        if len(self.boundaries) != len(pieces) - 1:
            raise ValueError(
                f"boundaries must hold len(schedules) - 1 = {len(pieces) - 1} times, "
                f"got {len(self.boundaries)}: {list(self.boundaries)!r}"
            )
        bounds = check_increasing("boundaries", self.boundaries) if self.boundaries else ()
        set_field(self, "boundaries", bounds)

    def _value(self, t: np.ndarray) -> np.ndarray:
        starts = np.asarray((0.0, *self.boundaries), dtype=np.float64)
        piece = np.searchsorted(starts, t, side="right") - 1
        out = np.empty(t.shape, dtype=np.float64)
        for i, schedule in enumerate(self.schedules):
            mask = piece == i
            if np.any(mask):
                out[mask] = evaluate(schedule, t[mask] - starts[i])
        return out

    def _sup(self) -> float:
        return max(piece._sup() for piece in self.schedules)


@dataclass(frozen=True)
class Scale(Schedule):
    """Multiply a schedule by a constant, ``lr(t) = factor * schedule(t)``.

    Useful for the linear scaling rule (``factor = batch_size / base_batch_size``).

    Args:
        schedule: the schedule to scale.
        factor: > 0.

    Raises:
        ValueError: ``factor`` not > 0.
        TypeError: ``schedule`` is not a Schedule, or ``factor`` not a number.

    Example:
        >>> from lrkit.schedules import Constant
        >>> Scale(Constant(0.1), factor=4)(0)
        0.4
    """

    config_name = "scale"
    schedule: Schedule
    factor: float

    def __post_init__(self) -> None:
        check_schedule("schedule", self.schedule)
        set_field(self, "factor", check_positive("factor", self.factor))
        if not math.isfinite(self.factor * self.schedule._sup()):
            raise ValueError(
                f"factor={self.factor!r} takes the rate past the largest float: "
                f"the schedule reaches {self.schedule._sup()!r}"
            )

    def _value(self, t: np.ndarray) -> np.ndarray:
        return self.factor * evaluate(self.schedule, t)

    def _sup(self) -> float:
        return self.factor * self.schedule._sup()


@dataclass(frozen=True)
class Clip(Schedule):
    """Bound a schedule, ``lr(t) = min(max(schedule(t), min_lr), max_lr)``.

    Args:
        schedule: the schedule to bound.
        min_lr: the floor, >= 0.
        max_lr: the ceiling, >= ``min_lr`` and > 0; ``inf`` (the default) for none.
            In a config, no ceiling is written as ``None`` so that it stays plain JSON.

    Raises:
        ValueError: ``min_lr`` negative, ``max_lr`` not > 0 or below ``min_lr``.
        TypeError: ``schedule`` is not a Schedule, or a bound not a number.

    Example:
        >>> from lrkit.schedules import CosineDecay
        >>> s = Clip(CosineDecay(lr=1.0, total_steps=100), min_lr=0.1, max_lr=0.8)
        >>> [round(s(t), 12) for t in (0, 50, 100)]
        [0.8, 0.5, 0.1]
    """

    config_name = "clip"
    schedule: Schedule
    min_lr: float = 0.0
    max_lr: float = math.inf

    def __post_init__(self) -> None:
        check_schedule("schedule", self.schedule)
        set_field(self, "min_lr", check_non_negative("min_lr", self.min_lr))
        if self.max_lr is None or (
            isinstance(self.max_lr, (int, float)) and self.max_lr == math.inf
        ):
            max_lr = math.inf
        else:
            max_lr = check_positive("max_lr", self.max_lr)
        if max_lr < self.min_lr:
            raise ValueError(f"max_lr must be >= min_lr={self.min_lr!r}, got {self.max_lr!r}")
        set_field(self, "max_lr", max_lr)

    def to_config(self) -> dict[str, Any]:
        """The config, with an absent ceiling written as ``None`` (JSON has no infinity)."""
        out = super().to_config()
        if math.isinf(self.max_lr):
            out["max_lr"] = None
        return out

    def _value(self, t: np.ndarray) -> np.ndarray:
        return np.clip(evaluate(self.schedule, t), self.min_lr, self.max_lr)

    def _sup(self) -> float:
        return min(max(self.schedule._sup(), self.min_lr), self.max_lr)


@dataclass(frozen=True)
class Mirror(Schedule):
    """Move opposite to a schedule: map its range ``[lr_low, lr_high]`` onto ``[high, low]``.

    ``value(t) = high - (high - low) * clip((schedule(t) - lr_low) / (lr_high - lr_low), 0, 1)``

    This is how cyclic momentum moves against the learning rate (Smith 2017): at
    ``lr_low`` the momentum is ``high``, at ``lr_high`` it is ``low``. Built by
    :meth:`Cyclic.momentum` and :meth:`OneCycle.momentum`; values lie in
    ``[low, high]``, so ``low`` and ``high`` may be momentums in ``[0, 1)`` or rates.
    If ``lr_high == lr_low`` the value is ``high``.

    Args:
        schedule: the schedule to mirror.
        low: the value when the schedule is at ``lr_high``, >= 0.
        high: the value when the schedule is at ``lr_low``, >= ``low``.
        lr_low: the bottom of the schedule's range, >= 0.
        lr_high: the top of the schedule's range, >= ``lr_low``.

    Raises:
        ValueError: a negative bound, ``high < low`` or ``lr_high < lr_low``.
        TypeError: ``schedule`` is not a Schedule, or a bound not a number.

    Example:
        >>> from lrkit.schedules import Cyclic
        >>> lr = Cyclic(base_lr=0.1, max_lr=1.0, step_size=10)
        >>> m = Mirror(lr, low=0.8, high=0.9, lr_low=0.1, lr_high=1.0)
        >>> m(0), m(10), m(20)
        (0.9, 0.8, 0.9)
    """

    config_name = "mirror"
    schedule: Schedule
    low: float
    high: float
    lr_low: float
    lr_high: float

    def __post_init__(self) -> None:
        check_schedule("schedule", self.schedule)
        for name in ("low", "high", "lr_low", "lr_high"):
            set_field(self, name, check_non_negative(name, getattr(self, name)))
        if self.high < self.low:
            raise ValueError(f"high must be >= low={self.low!r}, got {self.high!r}")
        if self.lr_high < self.lr_low:
            raise ValueError(f"lr_high must be >= lr_low={self.lr_low!r}, got {self.lr_high!r}")

    def _value(self, t: np.ndarray) -> np.ndarray:
        span = self.lr_high - self.lr_low
        if span == 0.0:
            return np.full(t.shape, self.high)
        shape = np.clip((evaluate(self.schedule, t) - self.lr_low) / span, 0.0, 1.0)
        # high - (high - low) * 1 can round below low (to 0 for a tiny low): clip it back.
        return np.clip(self.high - (self.high - self.low) * shape, self.low, self.high)

    def _sup(self) -> float:
        return self.high


@dataclass(frozen=True)
class Shift(Schedule):
    """Start a schedule part-way through, ``lr(t) = schedule(t + offset)``.

    The opposite of :class:`Join`'s local time: ``Shift(s, k)`` at ``t = 0`` is where
    ``s`` was at ``k``. Hugging Face's ``cosine_warmup_with_min_lr`` without a
    warm-up is a cosine shifted by one step.

    Args:
        schedule: the schedule to shift.
        offset: ``k``, >= 0 and finite.

    Raises:
        ValueError: ``offset`` negative or not finite.
        TypeError: ``schedule`` is not a Schedule, or ``offset`` not a number.

    Example:
        >>> from lrkit.schedules import LinearDecay
        >>> Shift(LinearDecay(1.0, total_steps=10), offset=5)(0)
        0.5
    """

    config_name = "shift"
    schedule: Schedule
    offset: float

    def __post_init__(self) -> None:
        check_schedule("schedule", self.schedule)
        offset = check_non_negative("offset", self.offset)
        set_field(self, "offset", int(offset) if isinstance(self.offset, int) else offset)

    def _value(self, t: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            shifted = t + self.offset
        # t near the largest float: the sum overflows; the schedule's value far out is its
        # value at the largest float.
        return evaluate(self.schedule, np.minimum(shifted, np.finfo(np.float64).max))

    def _sup(self) -> float:
        return self.schedule._sup()


def check_momentum(name: str, value: Any) -> float:
    """A momentum (or Adam beta1) in ``[0, 1)``."""
    check_number(name, value)
    return check_fraction(name, value, low_open=False)
