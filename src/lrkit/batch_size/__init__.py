"""Batch-size schedules and the conversion of an LR schedule into one (numpy only).

Smith, Kindermans, Ying & Le (ICLR 2018), "Don't decay the learning rate, increase
the batch size": the SGD noise scale is ``g = lr * N / (B * (1 - m))``, so dividing
the LR by ``a`` and multiplying the batch by ``a`` give the same learning curve per
epoch with ``a`` times fewer updates. :func:`increase_batch_instead` turns any LR
schedule into a plan (an LR schedule and a batch schedule) that keeps
``lr(t) / B(t)`` exactly as the original, rounding and the cap included.

Batch schedules are values like LR schedules: frozen dataclasses, ``schedule(t)``
returns an ``int`` (or an int64 array), configs and one-line specs round-trip.

The clock rule: a batch schedule (and the LR schedule it is paired with) runs on
fractional **epochs** or **samples seen**, never optimizer steps, because the
steps per epoch change as the batch grows. ``clock="step"`` is refused.

Example:
    >>> from lrkit.batch_size import parse, from_config
    >>> s = parse("batch_step(batch_size=128, milestones=[60, 120, 160], factor=5)")
    >>> s(130.5)
    3200
    >>> from_config(s.to_config()) == s
    True
"""

from __future__ import annotations

from typing import Any

from .._config import ConfigError, fingerprint, parse_spec
from .._config import from_config as _from_config
from ._adam import (
    AdamBatchFromLR,
    AdamMatchedLR,
    adam_equivalent_batch_size,
    increase_batch_instead_adam,
)
from ._adaptive import (
    LR_COUPLINGS,
    AdaptiveBatch,
    AdaptiveBatchState,
    BatchDecision,
    BatchPiecewise,
)
from ._base import CLOCKS, BatchSchedule, round_batch
from ._convert import (
    BatchMatchedLR,
    BatchPlan,
    higher_lr_batch,
    higher_momentum,
    increase_batch_instead,
)
from ._epochs import LAST_BATCH, clock_time, count_updates, epoch_batch_sizes
from ._plateau import BatchOnPlateau, BatchPlateauState
from ._rules import equivalent_batch_size, linear_scaling, noise_scale, sqrt_scaling
from ._schedules import BatchConstant, BatchFromLR, BatchLinear, BatchStep

__all__ = [
    "CLOCKS",
    "LAST_BATCH",
    "LR_COUPLINGS",
    "AdamBatchFromLR",
    "AdamMatchedLR",
    "AdaptiveBatch",
    "AdaptiveBatchState",
    "BatchConstant",
    "BatchDecision",
    "BatchFromLR",
    "BatchLinear",
    "BatchMatchedLR",
    "BatchOnPlateau",
    "BatchPiecewise",
    "BatchPlan",
    "BatchPlateauState",
    "BatchSchedule",
    "BatchStep",
    "ConfigError",
    "adam_equivalent_batch_size",
    "clock_time",
    "count_updates",
    "epoch_batch_sizes",
    "equivalent_batch_size",
    "fingerprint",
    "from_config",
    "higher_lr_batch",
    "higher_momentum",
    "increase_batch_instead",
    "increase_batch_instead_adam",
    "linear_scaling",
    "noise_scale",
    "parse",
    "round_batch",
    "sqrt_scaling",
]


def from_config(config: dict[str, Any]) -> BatchSchedule | BatchPlan | AdaptiveBatch:
    """Rebuild a batch schedule, :class:`BatchPlan` or :class:`AdaptiveBatch` from ``to_config()``.

    Raises:
        ConfigError: unknown name, bad fields, or the config of something else.
    """
    value = _from_config(config)
    if not isinstance(value, (BatchSchedule, BatchPlan, AdaptiveBatch)):
        raise ConfigError(f"{config.get('name')!r} is not a batch schedule")
    return value


def parse(spec: str) -> BatchSchedule:
    """Build a batch schedule from a spec such as ``"batch_constant(batch_size=128)"``.

    Raises:
        ConfigError: the spec is malformed, names an unknown or non-batch schedule,
            or has bad arguments (the message names them).
    """
    value = parse_spec(spec)
    if not isinstance(value, BatchSchedule):
        raise ConfigError(f"{spec!r} is not a batch schedule")
    return value
