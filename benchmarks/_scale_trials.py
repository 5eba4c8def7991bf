"""Trial functions for benchmarks/scale_out.py, importable by spawned and Ray workers.

Each item is a small spec (names and numbers); the worker rebuilds the task from it
and keeps it in a per-process cache, so a worker builds each dataset once however many
trials it runs, and no tensor is pickled per trial.
"""

from __future__ import annotations

import functools
import math
from typing import Any


@functools.lru_cache(maxsize=8)
def _task(name: str) -> Any:
    from lrkit.experiments import get_task

    return get_task(name)


def demo_trial(spec: tuple[str, str, int, int]) -> list[dict[str, Any]]:
    """``(task, strategy, seed, epochs)`` -> the rows of the lab's ``run_trial``, without
    the wall times (the task comes from ``TaskSpec.build``, cached per process)."""
    from lrkit.experiments import StrategyContext, TaskSpec, Trial, get_strategy, run_trial

    name, strategy_name, seed, epochs = spec
    task = TaskSpec(name)
    ctx = StrategyContext(epochs=epochs, train_size=task.build().train_size, task=name)
    trial = Trial(task, get_strategy(strategy_name, ctx), seed=seed, epochs=epochs)
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in run_trial(trial).rows]


def grid_trial(spec: tuple[str, str, int, int, float, int]) -> float:
    """``(task, optimizer, batch_size, epochs, lr, seed)`` -> final test accuracy (%) at a
    constant LR, as the range-test quality benchmark's grid search trains it."""
    from lrkit.experiments import Strategy, train
    from lrkit.schedules import Constant

    name, optimizer, batch_size, epochs, lr, seed = spec
    kwargs = {"momentum": 0.9} if optimizer == "sgd" else {}
    strategy = Strategy(f"lr{lr:.3g}", optimizer, Constant(lr), kwargs, batch_size=batch_size)
    last = train(_task(name), strategy, epochs=epochs, seed=seed).rows[-1]
    return 0.0 if not math.isfinite(last["test_loss"]) else 100.0 * last["test_acc"]


def noop(x: int) -> int:
    """Nothing: what a backend costs per item, and nothing else."""
    return x
