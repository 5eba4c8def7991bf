"""Batch-size schedules: constant, step growth at milestones, linear ramp, LR-shaped."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..schedules._base import Schedule, check_number, check_positive, check_schedule, set_field
from ._base import BatchSchedule, check_batch_size, check_cap, check_clock, round_batch

__all__ = ["BatchConstant", "BatchFromLR", "BatchLinear", "BatchStep"]


def _check_granularity(obj: Any) -> int:
    g = check_batch_size("granularity", obj.granularity)
    set_field(obj, "granularity", g)
    return g


def _check_milestones(value: Any) -> tuple[float | int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"milestones must be a list of times, got {value!r}")
    out: list[float | int] = []
    for m in value:
        x = check_number("milestones", m)
        if x < 0:
            raise ValueError(f"milestones must be >= 0, got {list(value)!r}")
        out.append(int(x) if x.is_integer() else x)
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise ValueError(f"milestones must be strictly increasing, got {list(value)!r}")
    return tuple(out)


@dataclass(frozen=True)
class BatchConstant(BatchSchedule):
    """A fixed batch size, ``B(t) = batch_size``.

    Args:
        batch_size: the batch size, an integer >= 1.
        clock: ``"epoch"`` or ``"sample"`` (see :mod:`lrkit.batch_size`).

    Raises:
        TypeError, ValueError: ``batch_size`` is not an integer >= 1, or a bad clock.

    Example:
        >>> BatchConstant(batch_size=128)(7.5)
        128
    """

    config_name = "batch_constant"
    batch_size: int
    clock: str = "epoch"

    def __post_init__(self) -> None:
        set_field(self, "batch_size", check_batch_size("batch_size", self.batch_size))
        set_field(self, "clock", check_clock(self.clock))

    def _value(self, t: np.ndarray) -> np.ndarray:
        return np.full(t.shape, self.batch_size, dtype=np.int64)


@dataclass(frozen=True)
class BatchStep(BatchSchedule):
    """Multiply the batch size by ``factor`` at each milestone, capped and rounded.

    ``B(t) = clip(round_g(batch_size * factor ** #{m_i <= t}), granularity, max_batch_size)``
    where ``round_g`` rounds to the nearest multiple of ``granularity``. A change at
    milestone ``m`` applies for ``t >= m``. This is the batch-size twin of
    :class:`lrkit.schedules.MultiStepDecay` (Smith et al. 2018 multiply by 5 where
    the LR schedule divides by 5).

    Args:
        batch_size: the batch size before the first milestone, an integer >= 1.
        milestones: strictly increasing times >= 0 on ``clock``.
        factor: the growth factor per milestone, > 0.
        max_batch_size: the cap (a multiple of ``granularity``), or None for no cap.
        granularity: batch sizes are multiples of this (e.g. world size x micro-batch).
        clock: ``"epoch"`` (fractional epochs) or ``"sample"`` (samples seen).

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> s = BatchStep(batch_size=128, milestones=[60, 120, 160], factor=5, max_batch_size=5120)
        >>> s([0, 60, 120, 160]).tolist()
        [128, 640, 3200, 5120]
    """

    config_name = "batch_step"
    batch_size: int
    milestones: Sequence[float]
    factor: float = 2.0
    max_batch_size: int | None = None
    granularity: int = 1
    clock: str = "epoch"

    def __post_init__(self) -> None:
        set_field(self, "batch_size", check_batch_size("batch_size", self.batch_size))
        set_field(self, "milestones", _check_milestones(self.milestones))
        set_field(self, "factor", check_positive("factor", self.factor))
        g = _check_granularity(self)
        if self.max_batch_size is not None:
            cap = check_cap(self.max_batch_size, g, self.batch_size)
            set_field(self, "max_batch_size", cap)
        set_field(self, "clock", check_clock(self.clock))

    def _value(self, t: np.ndarray) -> np.ndarray:
        count = np.searchsorted(np.asarray(self.milestones, dtype=np.float64), t, side="right")
        with np.errstate(over="ignore"):
            raw = self.batch_size * np.power(self.factor, count.astype(np.float64))
        return round_batch(raw, self.granularity, self.max_batch_size)


@dataclass(frozen=True)
class BatchLinear(BatchSchedule):
    """Grow the batch linearly from ``batch_size`` to ``end_batch_size`` over ``duration``.

    ``B(t) = round_g(batch_size + (end_batch_size - batch_size) * min(t, duration) / duration)``,
    the ramp of Megatron's ``--rampup-batch-size`` on an epoch or sample clock.

    Args:
        batch_size: the batch size at ``t = 0``.
        end_batch_size: the batch size from ``t = duration`` on.
        duration: the length of the ramp on ``clock``, > 0.
        granularity: batch sizes are multiples of this.
        clock: ``"epoch"`` or ``"sample"``.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> BatchLinear(batch_size=32, end_batch_size=256, duration=10_000, granularity=32,
        ...             clock="sample")([0, 5_000, 20_000]).tolist()
        [32, 160, 256]
    """

    config_name = "batch_linear"
    batch_size: int
    end_batch_size: int
    duration: float
    granularity: int = 1
    clock: str = "epoch"

    def __post_init__(self) -> None:
        set_field(self, "batch_size", check_batch_size("batch_size", self.batch_size))
        set_field(self, "end_batch_size", check_batch_size("end_batch_size", self.end_batch_size))
        set_field(self, "duration", check_positive("duration", self.duration))
        _check_granularity(self)
        set_field(self, "clock", check_clock(self.clock))

    def _value(self, t: np.ndarray) -> np.ndarray:
        frac = np.minimum(t, self.duration) / self.duration
        raw = self.batch_size + (self.end_batch_size - self.batch_size) * frac
        return round_batch(raw, self.granularity)


@dataclass(frozen=True)
class BatchFromLR(BatchSchedule):
    """The batch size that makes an LR schedule's decay: ``B ∝ lr(0) / lr(t)``, capped.

    ``B(t) = clip(round_g(batch_size * reference_lr / lr(t)), granularity, max_batch_size)``
    with ``reference_lr = lr(0)`` by default; where ``lr(t) = 0`` the cap is used.
    Paired with :class:`BatchMatchedLR` this is the exact conversion of
    :func:`lrkit.batch_size.increase_batch_instead`. It follows any LR schedule's
    shape, so any growth curve on an epoch or sample clock can be had from it.

    Args:
        lr: the learning-rate schedule whose decay the batch takes over (on ``clock``).
        batch_size: the batch size where ``lr(t) == reference_lr``.
        max_batch_size: the cap, a multiple of ``granularity`` and >= ``batch_size``.
        granularity: batch sizes are multiples of this.
        reference_lr: the LR that maps to ``batch_size``; None means ``lr(0)``.
        clock: ``"epoch"`` or ``"sample"``: the clock ``lr`` is written on.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> from lrkit.schedules import Constant
        >>> BatchFromLR(lr=Constant(lr=0.1), batch_size=128, max_batch_size=1024)(3.0)
        128
    """

    config_name = "batch_from_lr"
    lr: Schedule
    batch_size: int
    max_batch_size: int
    granularity: int = 1
    reference_lr: float | None = None
    clock: str = "epoch"

    def __post_init__(self) -> None:
        check_schedule("lr", self.lr)
        set_field(self, "batch_size", check_batch_size("batch_size", self.batch_size))
        g = _check_granularity(self)
        set_field(self, "max_batch_size", check_cap(self.max_batch_size, g, self.batch_size))
        if self.reference_lr is not None:
            set_field(self, "reference_lr", check_positive("reference_lr", self.reference_lr))
        elif not self.lr(0.0) > 0.0:
            raise ValueError(
                f"lr must be > 0 at t=0 to serve as the reference, got lr(0)={self.lr(0.0)!r}; "
                "pass reference_lr"
            )
        set_field(self, "clock", check_clock(self.clock))

    @property
    def ref_lr(self) -> float:
        """The LR that maps to ``batch_size``: ``reference_lr`` or ``lr(0)``."""
        return self.lr(0.0) if self.reference_lr is None else float(self.reference_lr)

    def _value(self, t: np.ndarray) -> np.ndarray:
        lr = np.asarray(self.lr(t), dtype=np.float64)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            raw = np.where(lr > 0.0, self.batch_size * self.ref_lr / lr, np.inf)
        return round_batch(raw, self.granularity, self.max_batch_size)
