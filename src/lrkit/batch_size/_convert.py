"""Turn an LR schedule into a batch-size schedule: ``increase_batch_instead`` and its knobs.

The SGD noise scale (Smith, Kindermans, Ying & Le, ICLR 2018) is
``g = lr * N / (B * (1 - m))``. Dividing the LR by ``a`` and multiplying the batch
by ``a`` leave it unchanged, so a plan keeps ``lr(t) / (B(t) * (1 - m))`` equal to
the original schedule's at every ``t``; the batch takes the decay until it reaches
its cap and the LR takes the rest (the paper's "hybrid").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._config import Configurable
from ..schedules._base import (
    Schedule,
    check_fraction,
    check_positive,
    check_schedule,
    set_field,
)
from ._base import BatchSchedule, check_batch_size, check_clock
from ._schedules import BatchFromLR

__all__ = [
    "BatchMatchedLR",
    "BatchPlan",
    "higher_lr_batch",
    "higher_momentum",
    "increase_batch_instead",
]


@dataclass(frozen=True)
class BatchMatchedLR(Schedule):
    """The LR that goes with a batch schedule: ``lr(t) * B(t) / base_batch_size * scale``.

    With ``scale = 1`` it keeps ``value(t) / B(t) == lr(t) / base_batch_size`` (up to
    float rounding); ``scale = (1 - new_momentum) / (1 - momentum)`` keeps the
    noise scale when the momentum changes.

    Args:
        lr: the original LR schedule (for the original batch ``base_batch_size``).
        batch_size: the batch-size schedule actually used.
        base_batch_size: the batch size ``lr`` was written for.
        scale: a constant factor, > 0.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> from lrkit.schedules import Constant
        >>> from lrkit.batch_size import BatchConstant
        >>> BatchMatchedLR(Constant(lr=0.1), BatchConstant(batch_size=640), base_batch_size=128)(0)
        0.5
    """

    config_name = "batch_matched_lr"
    lr: Schedule
    batch_size: BatchSchedule
    base_batch_size: int
    scale: float = 1.0

    def __post_init__(self) -> None:
        check_schedule("lr", self.lr)
        if not isinstance(self.batch_size, BatchSchedule):
            raise TypeError(f"batch_size must be a BatchSchedule, got {self.batch_size!r}")
        set_field(
            self, "base_batch_size", check_batch_size("base_batch_size", self.base_batch_size)
        )
        set_field(self, "scale", check_positive("scale", self.scale))
        if not np.isfinite(self._sup()):
            raise ValueError(
                f"lr * batch_size * scale / base_batch_size passes the largest float: "
                f"lr reaches {self.lr._sup()!r}, scale={self.scale!r}"
            )

    def _value(self, t: np.ndarray) -> np.ndarray:
        lr = np.asarray(self.lr(t), dtype=np.float64)
        batch = np.asarray(self.batch_size(t), dtype=np.float64)
        return lr * (batch * self.scale / self.base_batch_size)

    def _sup(self) -> float:
        cap = getattr(self.batch_size, "max_batch_size", None) or 2**62  # int64 batch sizes
        with np.errstate(over="ignore"):
            return float(self.lr._sup() * (np.float64(cap) * self.scale / self.base_batch_size))


@dataclass(frozen=True)
class BatchPlan(Configurable):
    """An LR schedule and a batch-size schedule to be used together.

    Args:
        lr: the learning-rate schedule, on the same clock as ``batch_size``.
        batch_size: the batch-size schedule.
        momentum: the SGD momentum to use with it, or None when it does not matter.

    Example:
        >>> from lrkit.schedules import Constant
        >>> plan = increase_batch_instead(Constant(lr=0.1), 128, 1024)
        >>> plan.lr(5.0), plan.batch_size(5.0)
        (0.1, 128)
    """

    config_name = "batch_plan"
    lr: Schedule
    batch_size: BatchSchedule
    momentum: float | None = None

    def __post_init__(self) -> None:
        check_schedule("lr", self.lr)
        if not isinstance(self.batch_size, BatchSchedule):
            raise TypeError(f"batch_size must be a BatchSchedule, got {self.batch_size!r}")
        if self.momentum is not None:
            set_field(self, "momentum", check_fraction("momentum", self.momentum, low_open=False))

    @property
    def clock(self) -> str:
        """The clock both schedules are on: ``"epoch"`` or ``"sample"``."""
        return self.batch_size.clock

    def noise_scale(self, t: Any, dataset_size: int) -> Any:
        """``g(t) = lr(t) * N / (B(t) * (1 - m))`` (``m = 0`` when ``momentum`` is None)."""
        from ._rules import noise_scale

        m = 0.0 if self.momentum is None else self.momentum
        return noise_scale(self.lr(t), dataset_size, self.batch_size(t), momentum=m)


def _plan(
    lr_schedule: Any,
    batch_size: Any,
    max_batch_size: Any,
    *,
    start_factor: float,
    momentum: float | None,
    new_momentum: float | None,
    granularity: Any,
    clock: Any,
) -> BatchPlan:
    check_schedule("lr_schedule", lr_schedule)
    if not lr_schedule(0.0) > 0.0:
        raise ValueError(
            "lr_schedule must be > 0 at t=0, the reference the batch grows from; got "
            f"lr_schedule(0)={lr_schedule(0.0)!r} (a warm-up from 0 has no reference rate)"
        )
    clock = check_clock(clock)
    b0 = check_batch_size("batch_size", batch_size)
    start = b0 * start_factor
    scale = 1.0
    if new_momentum is not None:
        if momentum is None:
            raise ValueError("momentum must be given with new_momentum")
        scale = (1.0 - new_momentum) / (1.0 - momentum)
        start /= scale
    start_batch = max(1, int(np.floor(start + 0.5)))
    if start_batch > b0:  # a knob's start is capped too
        start_batch = max(b0, min(start_batch, check_batch_size("max_batch_size", max_batch_size)))
    batch = BatchFromLR(
        lr=lr_schedule,
        batch_size=start_batch,
        max_batch_size=max_batch_size,
        granularity=granularity,
        clock=clock,
    )
    lr = BatchMatchedLR(lr=lr_schedule, batch_size=batch, base_batch_size=b0, scale=scale)
    m = momentum if new_momentum is None else new_momentum
    return BatchPlan(lr=lr, batch_size=batch, momentum=m)


def increase_batch_instead(
    lr_schedule: Schedule,
    batch_size: int,
    max_batch_size: int,
    *,
    momentum: float | None = None,
    granularity: int = 1,
    clock: str = "epoch",
) -> BatchPlan:
    """Grow the batch where ``lr_schedule`` decays; past ``max_batch_size`` decay the LR.

    ``B(t) = clip(round_g(B0 * lr_ref(0) / lr_ref(t)), granularity, max_batch_size)`` and
    ``lr(t) = lr_ref(t) * B(t) / B0``, so that
    ``plan.lr(t) / plan.batch_size(t) == lr_schedule(t) / batch_size`` at every ``t``
    (to float rounding), rounding and the cap included: the noise scale
    ``lr * N / (B * (1 - m))`` follows the original schedule exactly, and the
    hybrid schedule of Smith et al. (2018) is what comes out once the cap is hit.

    The clock must be epochs or samples seen, never optimizer steps: the steps in
    an epoch shrink as the batch grows, so milestones on a step clock would move.
    Write ``lr_schedule`` on that clock (e.g. ``MultiStepDecay(0.1, [60, 120, 160], 0.2)``
    in epochs) and drive it with fractional epochs.

    Args:
        lr_schedule: the LR schedule written for batch size ``batch_size``.
        batch_size: the original batch size ``B0``.
        max_batch_size: the largest batch (memory, or about N/10 for generalisation),
            a multiple of ``granularity``.
        momentum: the SGD momentum used (kept in the plan; it does not change the
            conversion since it is the same before and after).
        granularity: batch sizes are multiples of this (e.g. world size x micro-batch).
        clock: ``"epoch"`` or ``"sample"``; ``"step"`` is refused.

    Returns:
        A :class:`BatchPlan` with ``.lr`` (a :class:`BatchMatchedLR`) and
        ``.batch_size`` (a :class:`BatchFromLR`).

    Raises:
        TypeError, ValueError: a bad argument, or ``clock="step"`` (the message says why).

    Example:
        >>> from lrkit.schedules import MultiStepDecay
        >>> ref = MultiStepDecay(lr=0.1, milestones=[60, 120, 160], gamma=0.2)
        >>> plan = increase_batch_instead(ref, 128, 5120)
        >>> plan.batch_size([0, 60, 120, 160]).tolist()
        [128, 640, 3200, 5120]
        >>> [round(x, 6) for x in plan.lr([0, 60, 120, 160]).tolist()]
        [0.1, 0.1, 0.1, 0.032]
    """
    return _plan(
        lr_schedule,
        batch_size,
        max_batch_size,
        start_factor=1.0,
        momentum=momentum,
        new_momentum=None,
        granularity=granularity,
        clock=clock,
    )


def higher_lr_batch(
    lr_schedule: Schedule,
    batch_size: int,
    max_batch_size: int,
    factor: float,
    *,
    momentum: float | None = None,
    granularity: int = 1,
    clock: str = "epoch",
) -> BatchPlan:
    """Start with an LR and a batch ``factor`` times larger (``B ∝ lr``), then grow the batch.

    Same noise scale as ``lr_schedule`` at ``batch_size``, about ``factor`` times fewer
    updates again: ``B(t) = clip(round_g(factor * B0 * lr_ref(0) / lr_ref(t)), g, cap)``,
    ``lr(t) = lr_ref(t) * B(t) / B0`` (Smith et al. 2018, section 5.2: lr 0.5, batch 640).

    Args:
        lr_schedule, batch_size, max_batch_size, momentum, granularity, clock: as in
            :func:`increase_batch_instead`.
        factor: how much larger the initial LR and batch are, > 0. A start batch
            above ``max_batch_size`` is capped, and the LR starts lower to match.

    Returns:
        A :class:`BatchPlan`.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> from lrkit.schedules import Constant
        >>> plan = higher_lr_batch(Constant(lr=0.1), 128, 5120, factor=5)
        >>> round(plan.lr(0), 6), plan.batch_size(0)
        (0.5, 640)
    """
    factor = check_positive("factor", factor)
    return _plan(
        lr_schedule,
        batch_size,
        max_batch_size,
        start_factor=factor,
        momentum=momentum,
        new_momentum=None,
        granularity=granularity,
        clock=clock,
    )


def higher_momentum(
    lr_schedule: Schedule,
    batch_size: int,
    max_batch_size: int,
    momentum: float,
    new_momentum: float,
    *,
    factor: float = 1.0,
    granularity: int = 1,
    clock: str = "epoch",
) -> BatchPlan:
    """Raise the momentum and the batch with it (``B ∝ 1 / (1 - m)``), then grow the batch.

    Keeps ``lr / (B * (1 - m))``: ``B(t) = clip(round_g(factor * B0 * (1 - m) / (1 - m')
    * lr_ref(0) / lr_ref(t)), g, cap)`` and ``lr(t) = lr_ref(t) * B(t) / B0 * (1 - m') / (1 - m)``.
    Smith et al. (2018) section 5.2: lr 0.5, momentum 0.98, batch 3200 from lr 0.1,
    momentum 0.9, batch 128 is ``factor=5, new_momentum=0.98``.

    Args:
        lr_schedule, batch_size, max_batch_size, granularity, clock: as in
            :func:`increase_batch_instead`.
        momentum: the momentum ``lr_schedule`` was used with, in [0, 1).
        new_momentum: the higher momentum, in [0, 1).
        factor: also start with an LR ``factor`` times larger (as :func:`higher_lr_batch`).

    Returns:
        A :class:`BatchPlan` whose ``momentum`` is ``new_momentum``.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> from lrkit.schedules import Constant
        >>> plan = higher_momentum(Constant(lr=0.1), 128, 5120, 0.9, 0.98, factor=5)
        >>> round(plan.lr(0), 6), plan.batch_size(0), plan.momentum
        (0.5, 3200, 0.98)
    """
    momentum = check_fraction("momentum", momentum, low_open=False)
    new_momentum = check_fraction("new_momentum", new_momentum, low_open=False)
    factor = check_positive("factor", factor)
    return _plan(
        lr_schedule,
        batch_size,
        max_batch_size,
        start_factor=factor,
        momentum=momentum,
        new_momentum=new_momentum,
        granularity=granularity,
        clock=clock,
    )
