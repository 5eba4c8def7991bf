"""Independent trial specs for the range-test benchmark, and the functions that run them.

Every unit of work is a frozen, picklable spec (:class:`Trial`, :class:`Sweep`,
:class:`Race`) whose ``run()`` needs nothing but the spec, so a list of them can be
mapped over processes (``run_specs(specs, jobs=N)``) or, later, over the lab's
executors. Results are plain JSON values, cached by ``spec.key``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SWEEP = {"start_lr": 1e-7, "end_lr": 10.0, "num_steps": 100}
SCHEDULES = ("constant", "cosine")


def _grid(low: float, high: float) -> tuple[float, ...]:
    n = round((high - low) * 3) + 1
    return tuple(float(v) for v in np.logspace(low, high, n))


GRIDS = {"sgd": _grid(-3.0, 1.0), "adam": _grid(-4.0, 0.0)}  # 13 LRs a third of a decade apart


def _setup() -> None:
    import torch

    os.environ.setdefault("TQDM_DISABLE", "1")
    torch.set_num_threads(1)


def _optimizer(name: str, model: Any, lr: float) -> Any:
    import torch

    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return torch.optim.Adam(model.parameters(), lr=lr)


class _Batches:
    """A fresh order each pass from ``(seed, pass)``; tensors indexed directly."""

    def __init__(self, x: Any, y: Any, batch_size: int, seed: int) -> None:
        self.x, self.y, self.batch_size, self.seed, self.passes = x, y, batch_size, seed, 0

    def __iter__(self) -> Any:
        import torch

        order = np.random.default_rng([self.seed, self.passes]).permutation(len(self.y))
        self.passes += 1
        for start in range(0, len(order), self.batch_size):
            idx = torch.from_numpy(order[start : start + self.batch_size])
            yield self.x[idx], self.y[idx]


def _tensors(task: Any) -> dict[str, Any]:
    import torch

    d = task.data()
    return {
        k: torch.from_numpy(getattr(d, k))
        for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
    }


def train_score(task: Any, optimizer: str, schedule: str, lr: float, seed: int) -> float:
    """Test metric (percent, floored at 0) of one run: the plain loop a user would write."""
    import torch

    from lrkit.torch import LRScheduler

    t = _tensors(task)
    torch.manual_seed(seed)
    model = task.model_fn()
    opt = _optimizer(optimizer, model, lr)
    total = task.total_steps()
    sched = LRScheduler(opt, _scaled(schedule, total, lr))
    loss_fn = task.loss_fn()
    batches = _Batches(t["x_train"], t["y_train"], task.batch_size, seed)
    for _ in range(task.epochs):
        for x, y in batches:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            if not torch.isfinite(loss):
                return 0.0
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        out = model(t["x_test"])
    if not torch.all(torch.isfinite(out)):
        return 0.0
    return max(0.0, task.score(out, t["y_test"]))


def _scaled(schedule: str, total: int, lr: float) -> Any:
    from lrkit.schedules import Constant, CosineDecay

    return Constant(lr) if schedule == "constant" else CosineDecay(lr, total_steps=total)


@dataclass(frozen=True)
class Trial:
    """One grid point: a full training run."""

    task: str
    optimizer: str
    schedule: str
    lr: float
    seed: int

    @property
    def key(self) -> str:
        return f"trial/{self.task}/{self.optimizer}/{self.schedule}/{self.lr:.6g}/{self.seed}"

    def run(self) -> float:
        from lrkit.experiments.tasks._zoo import zoo_task

        _setup()
        return train_score(zoo_task(self.task), self.optimizer, self.schedule, self.lr, self.seed)


@dataclass(frozen=True)
class Sweep:
    """One range test on a fresh model: lrkit's whole sweep, and torch-lr-finder's own run."""

    task: str
    optimizer: str
    seed: int

    @property
    def key(self) -> str:
        return f"sweep/{self.task}/{self.optimizer}/{self.seed}"

    def run(self) -> dict[str, Any]:
        import torch

        from lrkit.experiments.tasks._zoo import zoo_task
        from lrkit.torch import range_test

        _setup()
        task = zoo_task(self.task)
        t = _tensors(task)
        torch.manual_seed(self.seed)
        model = task.model_fn()
        opt = _optimizer(self.optimizer, model, 1e-3)
        loader = _Batches(t["x_train"], t["y_train"], task.batch_size, self.seed)
        # A permissive stop rule records the whole sweep; each rule then cuts it where its
        # own causal stop rule would have stopped, exactly as a run with it would.
        result = range_test(model, opt, task.loss_fn(), loader, stop_factor=1e6, **SWEEP)
        return {
            "lrs": result.lrs.tolist(),
            "losses": [v if math.isfinite(v) else str(v) for v in result.losses.tolist()],
            "tlf": _torch_lr_finder(task, self.optimizer, self.seed),
        }


def _torch_lr_finder(task: Any, optimizer: str, seed: int) -> float | None:
    """torch-lr-finder 0.2.2 as its README uses it: ``range_test``, ``plot(suggest_lr=True)``."""
    import matplotlib

    matplotlib.use("Agg")
    import torch
    from matplotlib.figure import Figure
    from torch_lr_finder import LRFinder

    t = _tensors(task)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = task.model_fn()
        opt = _optimizer(optimizer, model, SWEEP["start_lr"])
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(t["x_train"], t["y_train"]),
            batch_size=task.batch_size,
            shuffle=True,
            generator=torch.Generator().manual_seed(seed),
        )
        finder = LRFinder(model, opt, task.loss_fn(), device="cpu")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            finder.range_test(loader, end_lr=SWEEP["end_lr"], num_iter=SWEEP["num_steps"])
            try:
                _, lr = finder.plot(ax=Figure().add_subplot(), suggest_lr=True)
            except Exception:  # its own failure on a short curve: no suggestion
                lr = None
        finder.reset()
    return None if lr is None else float(lr)


@dataclass(frozen=True)
class Race:
    """lrkit's validated range test (sweep, then the race) with the user's schedule."""

    task: str
    optimizer: str
    schedule: str
    seed: int
    race_steps: int

    @property
    def key(self) -> str:
        return f"race/{self.task}/{self.optimizer}/{self.schedule}/{self.seed}/{self.race_steps}/r2"

    def run(self) -> dict[str, Any]:
        import torch

        from lrkit.experiments.tasks._zoo import zoo_task
        from lrkit.torch import range_test

        _setup()
        task = zoo_task(self.task)
        t = _tensors(task)
        torch.manual_seed(self.seed)
        model = task.model_fn()
        opt = _optimizer(self.optimizer, model, 1e-3)
        loader = _Batches(t["x_train"], t["y_train"], task.batch_size, self.seed)
        val = [(t["x_val"], t["y_val"])]
        result = range_test(
            model,
            opt,
            task.loss_fn(),
            loader,
            validate=True,
            race_loader=val,
            val_metric=task.score,
            schedule=self.schedule,
            race_steps=self.race_steps,
            **SWEEP,
        )
        race = result.race
        return {
            "suggestion": result.suggestion,
            "winner": None if race is None else race.winner,
            "steps": len(result.lrs) + (0 if race is None else race.total_steps),
            "race": None if race is None else race.to_dict(),
        }


def _run_one(spec: Any) -> tuple[str, Any]:
    return spec.key, spec.run()


class Cache:
    """A JSON file of results by spec key (``--cache``), written atomically after each batch."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, Any] = {}
        if path is not None and path.exists():
            self.data = json.loads(path.read_text())

    def save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data))
        tmp.replace(self.path)


def run_specs(specs: Iterable[Any], cache: Cache, jobs: int = 1) -> dict[str, Any]:
    """Run the specs not in ``cache`` (inline, or over ``jobs`` spawned processes)."""
    todo = [s for s in dict.fromkeys(specs) if s.key not in cache.data]
    if todo and jobs > 1:
        import multiprocessing

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for i, (key, value) in enumerate(pool.map(_run_one, todo, chunksize=4)):
                cache.data[key] = value
                if i % 50 == 49:
                    cache.save()
    else:
        for i, spec in enumerate(todo):
            cache.data[spec.key] = spec.run()
            if i % 50 == 49:
                cache.save()
    cache.save()
    return cache.data
