"""Where a schedule stops changing: :func:`end_of`."""

from __future__ import annotations

import math

from ._base import Schedule
from ._combinators import Clip, Join, Mirror, Scale, Shift, Warmup
from ._constant import Constant
from ._cyclic import OneCycle
from ._decay import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LinearDecay,
    MultiStepDecay,
    PolynomialDecay,
    StepDecay,
)
from ._restarts import CosineCycles
from ._wsd import Cooldown, WarmupStableDecay

__all__ = ["end_of"]


def _shifted(end: float | None, offset: float) -> float | None:
    """The first time ``t`` whose local time ``t - offset`` (in floats) reaches ``end``."""
    if end is None:
        return None
    t = float(offset) + end
    while t - offset < end:
        t = math.nextafter(t, math.inf)
    return t


def _unshifted(end: float | None, offset: float) -> float | None:
    """The first time ``t >= 0`` whose shifted time ``t + offset`` (in floats) reaches ``end``."""
    if end is None:
        return None
    t = max(float(end) - offset, 0.0)
    while t > 0.0 and math.nextafter(t, -math.inf) + offset >= end:
        t = math.nextafter(t, -math.inf)
    while t + offset < end:
        t = math.nextafter(t, math.inf)
    return t


def end_of(schedule: Schedule) -> float | None:
    """The time from which ``schedule`` holds its final value, or ``None`` if it never does.

    Decays with a ``total_steps`` end there, a multi-step decay at its last milestone,
    a one-cycle at ``total_steps - 1``; cycles, restarts and unbounded decays never
    end. Combinators shift their pieces' ends by the time they add (a clipped or
    scaled schedule ends no later than its inner one).

    Args:
        schedule: any lrkit schedule.

    Returns:
        A time ``>= 0``, or ``None``.

    Example:
        >>> from lrkit.schedules import CosineDecay, Cyclic, Warmup
        >>> end_of(Warmup(CosineDecay(lr=0.1, total_steps=1000), warmup_steps=100))
        1100.0
        >>> end_of(Cyclic(base_lr=0.01, max_lr=0.1, step_size=10)) is None
        True
    """
    if isinstance(schedule, Constant):
        return 0.0
    if isinstance(schedule, (PolynomialDecay, CosineDecay, LinearDecay, CosineCycles)):
        return float(schedule.total_steps)
    if isinstance(schedule, (StepDecay, MultiStepDecay)) and schedule.gamma == 1.0:
        return 0.0  # never drops
    if isinstance(schedule, MultiStepDecay):
        return float(schedule.milestones[-1])
    if isinstance(schedule, OneCycle):
        return float(schedule.total_steps) - 1.0
    if isinstance(schedule, ExponentialDecay) and schedule.decay_rate == 1.0:
        return 0.0
    if isinstance(schedule, InverseTimeDecay) and schedule.decay_rate == 0.0:
        return 0.0
    if isinstance(schedule, Warmup):
        return _shifted(end_of(schedule.schedule), schedule.warmup_steps)
    if isinstance(schedule, Join):
        start = schedule.boundaries[-1] if schedule.boundaries else 0.0
        return _shifted(end_of(schedule.schedules[-1]), start)
    if isinstance(schedule, WarmupStableDecay):
        return float(schedule.total_steps)
    if isinstance(schedule, Cooldown):
        return _shifted(float(schedule.length), schedule.start)
    if isinstance(schedule, Shift):
        return _unshifted(end_of(schedule.schedule), schedule.offset)
    if isinstance(schedule, (Scale, Clip, Mirror)):
        return end_of(schedule.schedule)
    return None
