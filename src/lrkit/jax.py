"""JAX/optax adapter: an lrkit schedule as an optax schedule, ``count -> learning rate``.

Install with ``pip install lrkit[jax]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from .schedules import Schedule
from .schedules._table import step_table

__all__ = ["as_optax"]


def as_optax(schedule: Schedule, steps: int | None = None) -> Callable[[Any], Any]:
    """An optax-compatible schedule: ``fn(count) = float32(schedule(count))`` for integer counts.

    The schedule is tabulated once at ``count = 0 .. n - 1`` (``n`` one past its end,
    or ``steps`` for a schedule that never ends) and ``fn`` is a lookup,
    ``table[clip(count, 0, n - 1)]``: it works under ``jax.jit``, ``vmap`` and
    ``optax.inject_hyperparams``, equals the numpy schedule at every integer step to
    float32, and holds the last value past ``n - 1``. A non-integer count is
    truncated to the step below it. (A lookup rather than a closed form in
    ``jax.numpy``: one code path for every lrkit schedule, combinators included,
    and the values are lrkit's float64 ones, rounded once.)

    Args:
        schedule: a :class:`~lrkit.schedules.Schedule`.
        steps: the table's length; required when ``schedule`` never ends.

    Returns:
        ``fn(count) -> jnp.float32 scalar`` (or array, for an array of counts).

    Raises:
        TypeError, ValueError: not a schedule, or a never-ending schedule without ``steps``.

    Example:
        >>> import optax
        >>> from lrkit.schedules import WarmupStableDecay
        >>> fn = as_optax(WarmupStableDecay(lr=1e-3, total_steps=1000, warmup_steps=100))
        >>> tx = optax.adamw(learning_rate=fn)
        >>> round(float(fn(50)), 7), round(float(fn(5_000)), 7)
        (0.0005, 0.0)
    """
    table = jnp.asarray(step_table(schedule, steps).astype(np.float32))
    last = table.shape[0] - 1

    def fn(count: Any) -> Any:
        index = jnp.clip(jnp.asarray(count).astype(jnp.int32), 0, last)
        return table[index]

    fn.__doc__ = f"lrkit {schedule.to_spec()} as an optax schedule (a lookup of {last + 1} steps)."
    return fn
