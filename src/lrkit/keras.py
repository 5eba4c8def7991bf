"""Keras 3 adapter: an lrkit schedule as a ``keras.optimizers.schedules.LearningRateSchedule``.

Install with ``pip install lrkit[keras]``. Works on every Keras backend (torch,
JAX, TensorFlow) and under ``jit_compile``: the schedule is tabulated at the
integer steps once, and each call is one lookup (``keras.ops.take``).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .schedules import Schedule, from_config, parse
from .schedules._table import step_table

__all__ = ["LearningRateSchedule"]


@keras.saving.register_keras_serializable(package="lrkit")
class LearningRateSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """An lrkit schedule that a Keras optimizer follows: ``lr(step) = float32(schedule(step))``.

    Keras calls the schedule with the optimizer's ``iterations`` (0 on the first
    update), so the ``k``-th update uses ``schedule(k)``, as with
    :class:`lrkit.torch.LRScheduler`. The values come from a table of
    ``schedule(0 .. n - 1)`` (exact at every integer step, to float32); past
    ``n - 1`` the last value is held. ``n`` is one past the schedule's end, or
    ``steps`` for a schedule that never ends.

    Serialisable: ``get_config()`` holds the schedule's config, so
    ``keras.optimizers.schedules.deserialize``, ``from_config`` and a saved model
    rebuild it.

    Args:
        schedule: a :class:`~lrkit.schedules.Schedule`, its config dict or its spec.
        steps: the table's length; required when ``schedule`` never ends.

    Raises:
        TypeError, ValueError: not a schedule, or a never-ending schedule without ``steps``.

    Example:
        >>> from lrkit.schedules import CosineDecay
        >>> s = LearningRateSchedule(CosineDecay(lr=0.1, total_steps=100))
        >>> round(float(s(50)), 6), round(float(s(10_000)), 6)
        (0.05, 0.0)
    """

    def __init__(self, schedule: Schedule | dict[str, Any] | str, steps: int | None = None) -> None:
        super().__init__()
        if isinstance(schedule, dict):
            schedule = from_config(schedule)
        elif isinstance(schedule, str):
            schedule = parse(schedule)
        self.schedule: Schedule = schedule
        self.steps = steps
        self._values = step_table(schedule, steps).astype(np.float32)
        self._table: Any = None

    def __call__(self, step: Any) -> Any:
        """The learning rate at the optimizer's step count ``step`` (a scalar integer tensor)."""
        if self._table is None:
            self._table = keras.ops.convert_to_tensor(self._values, dtype="float32")
        last = len(self._values) - 1
        index = keras.ops.clip(keras.ops.cast(step, "int32"), 0, last)
        return keras.ops.take(self._table, index)

    def get_config(self) -> dict[str, Any]:
        """``{"schedule": <the lrkit config>, "steps": steps}``: plain JSON."""
        return {"schedule": self.schedule.to_config(), "steps": self.steps}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Rebuild from :meth:`get_config`."""
        return cls(**config)
