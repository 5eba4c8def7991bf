"""A trial is data: what to train, picklable; ``run_trial`` is the one place it is trained.

A :class:`Trial` names its task by a :class:`TaskSpec` (a registered name or
``package.module:function`` with its arguments, not the tensors), holds its
strategy (a frozen value), the seed, the epoch budget, the device and the
checkpoint file. It is cheap to send to another process; the worker rebuilds the
task from its spec (cached per process). :func:`run_trial` trains it with
:func:`~lrkit.experiments.train` and returns its rows: it writes no file but its
checkpoint, and it is deterministic for the same trial on the same machine,
whichever process runs it.

An executor maps ``run_trial`` over trials and yields the results as they finish;
:func:`run_trials` is the inline one (``executor=None``)::

    for result in run_trials(trials, executor=my_pool_map):
        ...  # the driver appends rows and writes the run folder
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._strategies import Strategy
from ._tasks import Task, get_task
from ._trainer import RunResult, train

__all__ = ["Executor", "TaskSpec", "Trial", "TrialResult", "run_trial", "run_trials"]

TrialResult = RunResult

# executor(run_trial, trials) -> an iterator of TrialResult, in any order, as they finish
Executor = Callable[[Callable[["Trial"], RunResult], Iterable["Trial"]], Iterable[RunResult]]


@dataclass(frozen=True)
class TaskSpec:
    """How to build a task: :func:`~lrkit.experiments.get_task`'s arguments, as data.

    Example:
        >>> spec = TaskSpec("digits", num_samples=200)
        >>> spec.build().train_size, spec.build() is spec.build()
        (144, True)
    """

    name: str
    num_samples: int | None = None
    label_noise: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(
                f"name must be a task name or 'package.module:function', got {self.name!r}"
            )
        if isinstance(self.label_noise, bool) or not isinstance(self.label_noise, (int, float)):
            raise TypeError(f"label_noise must be a number, got {self.label_noise!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"seed must be an int, got {self.seed!r}")

    def build(self) -> Task:
        """The task (built once per process and spec, then reused)."""
        task = _TASKS.get(self)
        if task is None:
            task = get_task(
                self.name,
                num_samples=self.num_samples,
                label_noise=self.label_noise,
                seed=self.seed,
            )
            if len(_TASKS) >= 4:
                _TASKS.clear()
            _TASKS[self] = task
        return task


_TASKS: dict[TaskSpec, Task] = {}


@dataclass(frozen=True)
class Trial:
    """One strategy, one seed, on one task: everything :func:`run_trial` needs.

    Args:
        task: a :class:`TaskSpec` (picklable: any executor), or a :class:`Task`
            (inline only: its model and data need not pickle).
        strategy: the strategy.
        seed: the seed (initialisation, shuffling, torch's RNG).
        epochs: the epoch budget (>= 1).
        device: the torch device.
        checkpoint: the checkpoint file (written each epoch, resumed), or ``None``.
        threads: torch CPU threads while training (``None``: leave torch's setting).
        micro_batch_size: the most samples per forward pass (``None``: no cap).

    Raises:
        TypeError, ValueError: a bad field (named).
    """

    task: TaskSpec | Task
    strategy: Strategy
    seed: int
    epochs: int
    device: str = "cpu"
    checkpoint: str | None = None
    threads: int | None = 1
    micro_batch_size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.task, (TaskSpec, Task)):
            raise TypeError(f"task must be a TaskSpec or a Task, got {self.task!r}")
        if not isinstance(self.strategy, Strategy):
            raise TypeError(f"strategy must be a Strategy, got {self.strategy!r}")
        for field, low in (("seed", 0), ("epochs", 1)):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{field} must be an int >= {low}, got {value!r}")
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise ValueError(f"threads must be an int >= 1 or None, got {self.threads!r}")
        if self.checkpoint is not None:
            object.__setattr__(self, "checkpoint", str(self.checkpoint))

    @property
    def label(self) -> str:
        """``"strategy seed N"``, for progress lines."""
        return f"{self.strategy.name} seed {self.seed}"


def run_trial(trial: Trial, on_epoch: Callable[[dict[str, Any]], None] | None = None) -> RunResult:
    """Train ``trial`` and return its rows (see :func:`~lrkit.experiments.train`).

    The task is rebuilt from its spec (cached per process); torch's thread count is
    set to ``trial.threads`` while training and restored after.

    Example:
        >>> from lrkit.experiments import StrategyContext, get_strategy
        >>> trial = Trial(TaskSpec("digits", num_samples=100),
        ...               get_strategy("adam", StrategyContext(epochs=1)), seed=0, epochs=1)
        >>> result = run_trial(trial)
        >>> result.strategy, result.seed, len(result.rows)
        ('adam', 0, 1)
    """
    import torch

    task = trial.task.build() if isinstance(trial.task, TaskSpec) else trial.task
    saved = torch.get_num_threads()
    if trial.threads is not None:
        torch.set_num_threads(trial.threads)
    try:
        return train(
            task,
            trial.strategy,
            epochs=trial.epochs,
            seed=trial.seed,
            checkpoint=None if trial.checkpoint is None else Path(trial.checkpoint),
            device=trial.device,
            on_epoch=on_epoch,
            micro_batch_size=trial.micro_batch_size,
        )
    finally:
        torch.set_num_threads(saved)


def run_trials(
    trials: Iterable[Trial], executor: Executor | None = None
) -> Generator[RunResult, None, None]:
    """Run every trial, yielding each result as it finishes.

    ``executor`` maps :func:`run_trial` over the trials (``executor(run_trial,
    trials)``, results in any order); ``None`` runs them inline, in order.
    """
    if executor is None:
        for trial in trials:
            yield run_trial(trial)
        return
    yield from executor(run_trial, trials)


def final_metric(result: RunResult) -> float:
    """The last epoch's test accuracy (NaN when no epoch finished)."""
    return float(result.rows[-1]["test_acc"]) if result.rows else math.nan
