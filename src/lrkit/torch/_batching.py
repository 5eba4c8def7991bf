"""A batch sampler and a loader whose batch size follows a :class:`BatchSchedule`.

Design: the sampler yields whole index lists, decided in the main process from
``(seed, epoch, position)`` and the schedule alone, and the dataset fetch happens
per batch in the workers. A batch's size is a function of where it starts in the
epoch, not of when it is asked for, so batches that workers prefetch are already
the right size: zero stale batches after a change, with persistent workers that
are never restarted. (Setting ``loader.batch_sampler.batch_size`` on a plain
DataLoader leaves ``num_workers x prefetch_factor`` batches of the old size.)

Under data parallelism every rank builds the same global batches and takes its
share (``indices[rank::world_size]``), so every rank takes the same number of
steps and the global batch per step is exactly the schedule's, whatever the world
size; the loader's state holds only global positions, so it resumes under a
different world size.

Last partial batch: with ``last_batch="short"`` (the default) the epoch's
remainder is one smaller batch and every sample is used exactly once per epoch
(under data parallelism a remainder smaller than the world size is skipped, so
that no rank gets an empty batch); ``"drop"`` skips the remainder so that every
batch has exactly the scheduled size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from .._config import fingerprint
from ..batch_size import BatchSchedule
from ..batch_size._base import check_batch_size
from ..batch_size._epochs import (
    as_batch_schedule,
    check_last_batch,
    clock_time,
    epoch_batch_sizes,
)

__all__ = ["ScheduledBatchSampler", "ScheduledLoader"]


class EpochPlan(NamedTuple):
    """The batches of one iteration: ``epoch``, the ``start`` position, the global ``sizes``."""

    epoch: int
    start: int
    sizes: tuple[int, ...]


def _check_index(name: str, value: Any, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return int(value)


def _batch_source(value: Any) -> Any:
    """``value`` when it is a batch source (has a ``schedule`` that is a BatchSchedule)."""
    if isinstance(value, (BatchSchedule, int)):
        return None
    schedule = getattr(value, "schedule", None)
    if not isinstance(schedule, BatchSchedule):
        return None  # the sampler's check names the bad argument
    return value


class ScheduledBatchSampler(Sampler[list[int]]):
    """Yield index lists whose global sizes follow ``batch_size``; pass as ``batch_sampler``.

    The batch starting at position ``p`` of epoch ``e`` has the size
    ``batch_size(e + p / N)`` (epoch clock) or ``batch_size(e * N + p)`` (sample
    clock). The order is a permutation drawn from ``numpy.random.default_rng([seed, e])``
    (the global RNGs are not touched). Iterating runs the rest of the current epoch
    (from ``start``) and moves to the next epoch as its last batch is handed out, so a
    loop that takes ``len(sampler)`` batches gets the next epoch from the next iteration.

    Args:
        dataset_size: ``N``, the number of samples.
        batch_size: a :class:`~lrkit.batch_size.BatchSchedule` (global batch) or an int.
        shuffle: shuffle every epoch (seeded) or keep the dataset order.
        seed: the shuffling seed.
        last_batch: ``"short"`` or ``"drop"`` (see the module docstring).
        rank, world_size: this process's share of each global batch.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> from lrkit.batch_size import BatchStep
        >>> s = ScheduledBatchSampler(10, BatchStep(2, milestones=[0.5], factor=2), shuffle=False)
        >>> list(s)
        [[0, 1], [2, 3], [4, 5], [6, 7, 8, 9]]
        >>> s.epoch
        1
    """

    def __init__(
        self,
        dataset_size: int,
        batch_size: BatchSchedule | int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        last_batch: str = "short",
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.dataset_size = check_batch_size("dataset_size", dataset_size)
        self.schedule = as_batch_schedule(batch_size)
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
        self.shuffle = shuffle
        self.seed = _check_index("seed", seed)
        self.last_batch = check_last_batch(last_batch)
        self.world_size = _check_index("world_size", world_size, low=1)
        self.rank = _check_index("rank", rank)
        if self.rank >= self.world_size:
            raise ValueError(f"rank must be < world_size={self.world_size}, got {rank!r}")
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Make the next iteration run ``epoch`` from position ``start`` (a batch boundary)."""
        self.epoch = _check_index("epoch", epoch)
        self.start = _check_index("start", start)
        if self.start > self.dataset_size:
            raise ValueError(f"start must be <= dataset_size={self.dataset_size}, got {start!r}")

    def global_sizes(self, epoch: int | None = None, start: int | None = None) -> np.ndarray:
        """Global batch sizes from ``start`` to the end of ``epoch`` (default: the current ones)."""
        return epoch_batch_sizes(
            self.schedule,
            self.dataset_size,
            self.epoch if epoch is None else epoch,
            last_batch=self.last_batch,
            start=self.start if start is None else start,
            min_last=self.world_size,
        )

    def order(self, epoch: int) -> np.ndarray:
        """The sample order of ``epoch``: a seeded permutation, or ``0..N-1`` without shuffling."""
        if not self.shuffle:
            return np.arange(self.dataset_size)
        return np.random.default_rng([self.seed, epoch]).permutation(self.dataset_size)

    def plan(self, epoch: int | None = None, start: int | None = None) -> EpochPlan:
        """What an iteration from ``(epoch, start)`` (default: the current ones) yields.

        The one place that decides an epoch's batches: the rest of ``epoch`` from
        ``start``; or, when nothing is left of it (its last batch was handed out,
        however the previous iteration was consumed), the next epoch from its start.
        An epoch that has no batches at all (``"drop"`` with a batch larger than the
        dataset) is yielded as empty, not skipped.

        Example:
            >>> s = ScheduledBatchSampler(10, 4, shuffle=False)
            >>> s.plan(0, 8)  # the rest of epoch 0: one short batch
            EpochPlan(epoch=0, start=8, sizes=(2,))
            >>> s.plan(0, 10)  # nothing left of epoch 0: all of epoch 1
            EpochPlan(epoch=1, start=0, sizes=(4, 4, 2))
        """
        epoch = self.epoch if epoch is None else epoch
        start = self.start if start is None else start
        sizes = self.global_sizes(epoch, start)
        if start > 0 and len(sizes) == 0:
            epoch, start = epoch + 1, 0
            sizes = self.global_sizes(epoch, start)
        return EpochPlan(epoch, start, tuple(sizes.tolist()))

    def __iter__(self) -> Iterator[list[int]]:
        plan = self.plan()
        # Progress moves to the next epoch as the last batch is handed out, not after
        # the caller asks for one more: loops that take len() batches never do.
        if not plan.sizes:
            self.epoch, self.start = plan.epoch + 1, 0
        order = self.order(plan.epoch)
        pos = plan.start
        for k, size in enumerate(plan.sizes):
            if k == len(plan.sizes) - 1:
                self.epoch, self.start = plan.epoch + 1, 0
            yield order[pos + self.rank : pos + size : self.world_size].tolist()
            pos += size

    def __len__(self) -> int:
        """Batches in the epoch that the next iteration yields (all of it, as a DataLoader's)."""
        return len(self.global_sizes(self.plan().epoch, 0))


class ScheduledLoader:
    """A DataLoader whose batch size follows a schedule, with resumable progress.

    Wraps :class:`torch.utils.data.DataLoader` with a :class:`ScheduledBatchSampler`
    as ``batch_sampler``; workers (``num_workers > 0``) are persistent by default.
    Iterating yields the rest of the current epoch; the loader counts the batches
    it has handed out, so :meth:`state_dict` taken between batches resumes at the
    next unseen sample, across batch-size changes and world-size changes.

    Epochs: an epoch is over once its last batch is handed out, so a loop that takes
    exactly ``len(loader)`` batches and never exhausts the iterator (Lightning's fit
    loop, Hugging Face's ``Trainer``, Accelerate) gets the next epoch from the next
    ``iter(loader)``. ``len(loader)`` is the number of batches in the epoch that the
    next iteration yields (the whole epoch, as a DataLoader's); as the batch grows
    that number shrinks, so a loop that reads it once (Lightning without
    ``reload_dataloaders_every_n_epochs=1``, Hugging Face's Trainer) ends the later,
    shorter epochs when the iterator does (a batch that shrinks makes later epochs
    longer than that count: give Lightning ``reload_dataloaders_every_n_epochs=1``,
    which reads the length every epoch). Lightning saves and restores the loader's
    state in its checkpoints (it has ``state_dict``/``load_state_dict``), so a fit
    resumed from a mid-epoch checkpoint reads exactly the batches it had not read.
    :meth:`set_epoch` picks an epoch as ``DistributedSampler.set_epoch`` does. For
    the LR, use the epoch clock (``LRScheduler(..., unit="epoch")`` stepped at each
    epoch's end) or set the scheduler's time to :attr:`batch_time` before each step.
    See ``examples/lightning_increase_batch.py``
    and ``examples/hf_trainer_increase_batch.py``.

    Under ``torch.distributed`` (initialised), ``rank``/``world_size`` default to the
    process group's; each rank gets its share of every global batch and
    :attr:`batch_size` is the global size (weight the loss by
    ``local_size * world_size / batch_size``, which :func:`accumulate_gradients` does).

    A *batch source* (an object whose ``schedule`` attribute is the
    :class:`~lrkit.batch_size.BatchSchedule` in force, e.g. :class:`AdaptiveBatchSize`)
    may change its schedule between batches: the loader checks it after every batch
    and, when it changed, continues from the next unseen sample with the new
    schedule (batches prefetched by workers are dropped, none of the old size is
    handed out).

    Args:
        dataset: a map-style dataset.
        batch_size: a :class:`~lrkit.batch_size.BatchSchedule` of global batch sizes, an
            int, or a batch source.
        shuffle, seed, last_batch: as in :class:`ScheduledBatchSampler`.
        rank, world_size: None to take them from ``torch.distributed``.
        num_workers, prefetch_factor, persistent_workers, pin_memory, collate_fn,
            worker_init_fn, timeout, multiprocessing_context: passed to the DataLoader
            (``persistent_workers`` defaults to ``num_workers > 0``).

    Example:
        >>> from lrkit.batch_size import BatchStep
        >>> loader = ScheduledLoader(list(range(8)), BatchStep(2, milestones=[1], factor=2))
        >>> [len(b) for b in loader], [len(b) for b in loader]
        ([2, 2, 2, 2], [4, 4])
        >>> loader.epoch, loader.state_dict()["position"]
        (2, 0)
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: BatchSchedule | int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        last_batch: str = "short",
        rank: int | None = None,
        world_size: int | None = None,
        num_workers: int = 0,
        prefetch_factor: int | None = None,
        persistent_workers: bool | None = None,
        pin_memory: bool = False,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        worker_init_fn: Callable[[int], None] | None = None,
        timeout: float = 0,
        multiprocessing_context: Any = None,
    ) -> None:
        if rank is None or world_size is None:
            dist = torch.distributed
            ready = dist.is_available() and dist.is_initialized()
            rank = (dist.get_rank() if ready else 0) if rank is None else rank
            world_size = (
                (dist.get_world_size() if ready else 1) if world_size is None else world_size
            )
        num_workers = _check_index("num_workers", num_workers)
        self._source = _batch_source(batch_size)
        self.sampler = ScheduledBatchSampler(
            len(dataset),
            batch_size if self._source is None else self._source.schedule,
            shuffle=shuffle,
            seed=seed,
            last_batch=last_batch,
            rank=rank,
            world_size=world_size,
        )
        if persistent_workers is None:
            persistent_workers = num_workers > 0
        self.loader: DataLoader[Any] = DataLoader(
            dataset,
            batch_sampler=self.sampler,
            num_workers=num_workers,
            prefetch_factor=prefetch_factor if num_workers > 0 else None,
            persistent_workers=persistent_workers,
            pin_memory=pin_memory,
            collate_fn=collate_fn,
            worker_init_fn=worker_init_fn,
            timeout=timeout,
            multiprocessing_context=multiprocessing_context,
        )
        # In-process reading (no workers, no pinning) skips the DataLoader iterator's
        # per-batch machinery but does what it does: the same global-RNG draw per
        # iteration, __getitems__ when the dataset has it, the same collate_fn.
        self._direct = num_workers == 0 and not pin_memory
        self._epoch = 0
        self._position = 0
        self._batch_size = 0
        self._batch_time = 0.0
        self._generation = 0  # which iteration may still move the progress

    @property
    def schedule(self) -> BatchSchedule:
        """The batch-size schedule (global batch sizes); a batch source's current one."""
        return self.sampler.schedule if self._source is None else self._source.schedule

    @property
    def epoch(self) -> int:
        """The epoch being read (it advances as an epoch's last batch is handed out)."""
        return self._epoch

    @property
    def position(self) -> int:
        """Samples of the current epoch handed out so far (globally, over all ranks)."""
        return self._position

    @property
    def time(self) -> float:
        """The schedule's clock now: ``epoch + position / N`` or samples seen."""
        n = self.sampler.dataset_size
        return clock_time(self.schedule.clock, self._epoch, self._position, n)

    @property
    def batch_size(self) -> int:
        """The global size of the last batch handed out (0 before the first)."""
        return self._batch_size

    @property
    def batch_time(self) -> float:
        """The schedule's clock at the start of the last batch: use it for the LR too."""
        return self._batch_time

    def __len__(self) -> int:
        """Batches in the epoch that the next iteration yields, counted from its start.

        As a DataLoader's length, it is the whole epoch's, also when the iteration
        resumes it in the middle: loops that count the batches done in an epoch
        (Lightning's, after a mid-epoch checkpoint) stop at the epoch's real end. Once
        an epoch's last batch is handed out, it is the next epoch's length.
        """
        self._sync_schedule()
        epoch = self.sampler.plan(self._epoch, self._position).epoch
        return len(self.sampler.global_sizes(epoch, 0))

    def set_schedule(self, batch_size: BatchSchedule | int) -> None:
        """Follow another batch-size schedule from the next epoch on (a reactive controller's).

        Allowed only at an epoch boundary (position 0), so the epochs already read keep
        the sizes they had and the next one is planned with the new schedule. Resuming
        a loader that changed its schedule: call ``set_schedule`` with the schedule in
        force before :meth:`load_state_dict` (which checks the schedule's fingerprint).

        Raises:
            TypeError: not a :class:`~lrkit.batch_size.BatchSchedule` or an int.
            ValueError: the loader is in the middle of an epoch.

        Example:
            >>> from lrkit.batch_size import BatchStep
            >>> loader = ScheduledLoader(list(range(8)), 2, shuffle=False)
            >>> [len(b) for b in loader]
            [2, 2, 2, 2]
            >>> loader.set_schedule(BatchStep(2, milestones=[1], factor=2))
            >>> [len(b) for b in loader]
            [4, 4]
        """
        schedule = as_batch_schedule(batch_size)
        if self._position != 0:
            raise ValueError(
                f"set_schedule is allowed at an epoch boundary only; epoch {self._epoch} is at "
                f"position {self._position} of {self.sampler.dataset_size}"
            )
        self.sampler.schedule = schedule
        self._generation += 1  # an iteration planned with the old schedule is stale

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration yield ``epoch``, as ``DistributedSampler.set_epoch`` does.

        The epoch's order and batch sizes depend on ``(seed, epoch)`` only, so every
        rank that sets the same epoch reads the same batches. Setting the epoch in
        progress keeps its position (a mid-epoch resume from :meth:`load_state_dict`
        continues where it stopped); any other epoch starts from its first batch.
        An iteration in progress stops being valid when the epoch changes.

        Raises:
            TypeError, ValueError: ``epoch`` is not an integer >= 0.
        """
        epoch = _check_index("epoch", epoch)
        if epoch != self._epoch:
            self._epoch, self._position = epoch, 0
            self._generation += 1

    def _sync_schedule(self) -> BatchSchedule:
        """Point the sampler at a batch source's schedule in force (no-op for a fixed one)."""
        if self._source is not None:
            self.sampler.schedule = self._source.schedule
        return self.sampler.schedule

    def __iter__(self) -> Iterator[Any]:
        schedule = self._sync_schedule()
        plan = self.sampler.plan(self._epoch, self._position)
        self._epoch, self._position = plan.epoch, plan.start
        self._generation += 1
        generation = self._generation
        if not plan.sizes:
            self._epoch, self._position = plan.epoch + 1, 0
            return
        self.sampler.set_epoch(plan.epoch, plan.start)
        n, last = self.sampler.dataset_size, len(plan.sizes) - 1
        for k, batch in enumerate(self._read() if self._direct else self.loader):
            if generation != self._generation:
                raise RuntimeError(
                    "this ScheduledLoader iterator is stale: a newer iteration or set_epoch() "
                    "moved the loader since it started"
                )
            if k > last:  # pragma: no cover - the sampler and the loader disagree
                raise RuntimeError("the DataLoader yielded more batches than scheduled")
            self._batch_time = clock_time(self.schedule.clock, plan.epoch, self._position, n)
            self._batch_size = plan.sizes[k]
            self._position += plan.sizes[k]
            if k == last:  # the epoch is over once its last batch is handed out
                self._epoch, self._position = plan.epoch + 1, 0
            yield batch
            if (
                k < last
                and self._source is not None
                and self._source.schedule is not schedule
                and generation == self._generation
            ):
                break  # a batch source decided
        else:
            return
        # the rest of the epoch from the next unseen sample, with the new sizes (the
        # batches that workers prefetched are dropped with the old iterator)
        yield from self.__iter__()

    def _read(self) -> Iterator[Any]:
        """The batches as ``iter(self.loader)`` yields them without workers, read directly."""
        loader = self.loader
        # DataLoader's iterator draws a base seed from torch's global RNG: so do we, so
        # that a model drawing from it (dropout) sees the same stream either way.
        torch.empty((), dtype=torch.int64).random_(generator=loader.generator)
        dataset, collate = loader.dataset, loader.collate_fn
        many = getattr(dataset, "__getitems__", None)
        for indices in self.sampler:
            data = many(indices) if many else [dataset[i] for i in indices]
            yield collate(data)

    def state_dict(self) -> dict[str, Any]:
        """Progress as plain data: epoch, position, and what must match on resume."""
        return {
            "epoch": self._epoch,
            "position": self._position,
            "seed": self.sampler.seed,
            "shuffle": self.sampler.shuffle,
            "last_batch": self.sampler.last_batch,
            "dataset_size": self.sampler.dataset_size,
            "schedule": fingerprint(self.schedule),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict` (the world size may differ).

        Raises:
            ValueError: the state belongs to another dataset size, seed, shuffling,
                last-batch rule or batch schedule, or misses a key.
        """
        mine = self.state_dict()
        if not isinstance(state, dict):
            raise ValueError(
                f"state must be a dict from ScheduledLoader.state_dict(), got {state!r}"
            )
        missing = [k for k in mine if k not in state]
        if missing:
            raise ValueError(
                "a truncated ScheduledLoader state: missing " + ", ".join(map(repr, missing))
            )
        for key in ("dataset_size", "seed", "shuffle", "last_batch", "schedule"):
            if state.get(key) != mine[key]:
                raise ValueError(
                    f"cannot resume: state has {key}={state.get(key)!r}, this loader {mine[key]!r}"
                )
        epoch = _check_index("epoch", state["epoch"])
        position = _check_index("position", state["position"])
        if position > self.sampler.dataset_size:
            raise ValueError(f"position must be <= dataset_size, got {position!r}")
        self._epoch, self._position = epoch, position
