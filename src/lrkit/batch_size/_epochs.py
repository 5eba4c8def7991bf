"""Where the batches of an epoch fall when the batch size follows a schedule.

The one rule shared by the PyTorch sampler, the DDP split and the update counts:
a batch starting at position ``p`` of epoch ``e`` (``p`` samples of the epoch
already used) has size ``schedule(t)`` with ``t = e + p / N`` on the epoch clock or
``t = e * N + p`` on the sample clock. The epoch's remainder, when smaller than the
scheduled size, is handled by ``last_batch``: ``"short"`` makes it one smaller
batch (every sample is used once per epoch) and ``"drop"`` skips it (every batch
has exactly the scheduled size; the skipped samples change each epoch when
shuffling).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import BatchSchedule, check_batch_size

__all__ = ["LAST_BATCH", "as_batch_schedule", "clock_time", "count_updates", "epoch_batch_sizes"]

LAST_BATCH = ("short", "drop")


def as_batch_schedule(value: Any) -> BatchSchedule:
    """A :class:`BatchSchedule`, or an int turned into :class:`BatchConstant`."""
    from ._schedules import BatchConstant

    if isinstance(value, BatchSchedule):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return BatchConstant(batch_size=value)
    raise TypeError(f"batch_size must be an int or a BatchSchedule, got {value!r}")


def check_last_batch(value: Any) -> str:
    if value not in LAST_BATCH:
        raise ValueError(f"last_batch must be 'short' or 'drop', got {value!r}")
    return str(value)


def clock_time(clock: str, epoch: int, position: int, dataset_size: int) -> float:
    """The schedule's time at ``position`` samples into ``epoch``.

    Example:
        >>> clock_time("epoch", 2, 250, 1000), clock_time("sample", 2, 250, 1000)
        (2.25, 2250.0)
    """
    if clock == "sample":
        return float(epoch * dataset_size + position)
    return epoch + position / dataset_size


def epoch_batch_sizes(
    schedule: BatchSchedule | int,
    dataset_size: int,
    epoch: int,
    *,
    last_batch: str = "short",
    start: int = 0,
    min_last: int = 1,
) -> np.ndarray:
    """Global batch sizes of ``epoch``, from position ``start`` to the end of the epoch.

    Args:
        schedule: the batch schedule (or a fixed int).
        dataset_size: ``N``.
        epoch: the epoch index, >= 0.
        last_batch: ``"short"`` or ``"drop"`` (see the module docstring).
        start: samples of the epoch already used (a batch boundary).
        min_last: a short last batch smaller than this is dropped (DDP uses the
            world size, so that every rank gets at least one sample).

    Returns:
        An int64 array; ``sum`` is ``N - start`` for ``"short"`` (less any tail
        smaller than ``min_last``).

    Example:
        >>> from lrkit.batch_size import BatchStep
        >>> epoch_batch_sizes(BatchStep(2, milestones=[0.5], factor=2), 10, 0).tolist()
        [2, 2, 2, 4]
    """
    sched = as_batch_schedule(schedule)
    n = check_batch_size("dataset_size", dataset_size)
    check_last_batch(last_batch)
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0, got {epoch!r}")
    if not 0 <= start <= n:
        raise ValueError(f"start must be in [0, dataset_size={n}], got {start!r}")
    sizes: list[int] = []
    pos = int(start)
    while pos < n:
        b = sched(clock_time(sched.clock, int(epoch), pos, n))
        full = (n - pos) // b
        if full == 0:
            rest = n - pos
            if last_batch == "short" and rest >= min_last:
                sizes.append(rest)
            break
        # assume the size holds; check it at every start at once, keep the run that does
        starts = pos + b * np.arange(full)
        times = starts / n + epoch if sched.clock == "epoch" else starts + float(epoch * n)
        same = np.asarray(sched(times)) == b
        run = full if bool(same.all()) else int(np.argmin(same))
        sizes.extend([b] * run)
        pos += b * run
    return np.asarray(sizes, dtype=np.int64)


def count_updates(
    schedule: BatchSchedule | int, dataset_size: int, epochs: int, *, last_batch: str = "short"
) -> int:
    """Optimizer updates in ``epochs`` epochs of a batch schedule.

    Example:
        >>> from lrkit.batch_size import BatchStep
        >>> count_updates(BatchStep(128, milestones=[60, 120, 160], factor=5), 50_000, 200)
        29000
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
    return sum(
        len(epoch_batch_sizes(schedule, dataset_size, e, last_batch=last_batch))
        for e in range(int(epochs))
    )
