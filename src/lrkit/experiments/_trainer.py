"""The lab's training loop: one strategy, one seed, per-epoch metrics, resumable.

Per optimizer update the trainer sets every param group's learning rate to
``strategy.lr(t)`` in closed form (no torch scheduler), where ``t`` is the
fractional epoch ``samples_seen / train_size`` on the epoch clock or the number
of updates done on the step clock. The batch size is read once per epoch from
``strategy.batch_size_at(samples_seen / train_size)``; the last, partial batch of
an epoch is kept, so every sample is used once per epoch.

Determinism: the model is initialised after ``torch.manual_seed(seed)``; epoch
``e`` is shuffled by ``numpy.random.default_rng([seed, e])``; torch's global RNG
(for dropout, say) is saved in each checkpoint. The caller's global torch RNG is
restored when ``train`` returns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import atomic_file
from ._optimizers import make_optimizer, optimizer_entry
from ._strategies import Strategy
from ._tasks import Task

if TYPE_CHECKING:
    import torch

__all__ = ["METRIC_COLUMNS", "RunResult", "checkpoint_path", "train"]

# The per-epoch row, in CSV column order (``noisy_fit`` only with label noise).
METRIC_COLUMNS = (
    "epoch",
    "updates",
    "samples",
    "lr",
    "batch_size",
    "train_loss",
    "test_loss",
    "test_acc",
    "wall_s",
)

_CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class RunResult:
    """The outcome of one training run.

    Attributes:
        strategy: the strategy's name.
        seed: the seed.
        rows: one dict per finished epoch with the keys of :data:`METRIC_COLUMNS`
            (plus ``noisy_fit`` with label noise); accuracies are fractions in [0, 1],
            ``wall_s`` is cumulative training time (evaluation excluded).
        diverged_epoch: the epoch in which the loss became NaN/inf, or ``None``.
        resumed_from: epochs restored from a checkpoint (0 for a fresh run).
    """

    strategy: str
    seed: int
    rows: tuple[dict[str, Any], ...]
    diverged_epoch: int | None = None
    resumed_from: int = 0

    @property
    def final(self) -> dict[str, Any]:
        """The last row (raises IndexError when no epoch finished)."""
        return self.rows[-1]


def checkpoint_path(checkpoint_dir: str | Path, strategy: Strategy, seed: int) -> Path:
    """Where :func:`train` keeps the checkpoint of ``strategy`` and ``seed``."""
    return Path(checkpoint_dir) / f"{strategy.name}-seed{seed}.pt"


def _run_key(task: Task, strategy: Strategy, epochs: int, seed: int) -> str:
    """What a checkpoint must match: task (name, size, noisy labels), strategy, epochs, seed."""
    import hashlib
    import json

    text = json.dumps(strategy.to_config(), sort_keys=True, separators=(",", ":"))
    fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
    noisy = "-" if task.noisy is None else hashlib.sha256(task.noisy.tobytes()).hexdigest()[:8]
    return f"{task.name}|{task.train_size}|{noisy}|{fingerprint}|{epochs}|{seed}"


def train(
    task: Task,
    strategy: Strategy,
    *,
    epochs: int,
    seed: int,
    checkpoint_dir: str | Path | None = None,
    progress: bool = False,
    device: str = "cpu",
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    eval_batch_size: int = 1024,
) -> RunResult:
    """Train ``task``'s model with ``strategy`` for ``epochs`` epochs.

    Args:
        task: what to train.
        strategy: optimizer, LR schedule, clock, batch size, momentum.
        epochs: number of epochs (>= 1).
        seed: seeds the initialisation, the shuffling and torch's RNG.
        checkpoint_dir: if given, a checkpoint is written atomically after every
            epoch and an existing one (same task, strategy, epochs and seed) is
            resumed; the resumed run ends with the same rows as an uninterrupted
            one (``wall_s`` aside). A finished run's checkpoint is returned as is.
        progress: show a tqdm bar over epochs (only on a terminal).
        device: torch device.
        on_epoch: called with each new row after its checkpoint is written.
        eval_batch_size: batch size for evaluation.

    Returns:
        The :class:`RunResult`; a run whose loss becomes NaN or infinite stops with
        ``diverged_epoch`` set and a last row with ``train_loss = nan``.

    Raises:
        ValueError: bad ``epochs``/``seed`` or a checkpoint made with other settings.

    Example:
        >>> from lrkit.experiments import get_task, get_strategy, StrategyContext
        >>> task = get_task("digits", num_samples=200)
        >>> strategy = get_strategy("adam", StrategyContext(epochs=2, batch_size=32))
        >>> result = train(task, strategy, epochs=2, seed=0)
        >>> [row["epoch"] for row in result.rows], result.rows[-1]["updates"]
        ([1, 2], 10)
    """
    import torch

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    ckpt_file = None if checkpoint_dir is None else checkpoint_path(checkpoint_dir, strategy, seed)
    key = _run_key(task, strategy, epochs, seed)
    dev = torch.device(device)
    fork_devices = [dev] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)
        model = task.model_fn().to(dev)
        optimizer = _make_optimizer(strategy, model)
        state = _State()
        if ckpt_file is not None and ckpt_file.exists():
            state = _load_checkpoint(ckpt_file, key, model, optimizer, dev)
        resumed_from = len(state.rows)
        if not state.done:
            _Loop(task, strategy, model, optimizer, dev, seed, eval_batch_size).run(
                state, epochs, ckpt_file, key, progress, on_epoch
            )
    return RunResult(
        strategy=strategy.name,
        seed=seed,
        rows=tuple(state.rows),
        diverged_epoch=state.diverged_epoch,
        resumed_from=resumed_from,
    )


@dataclass
class _State:
    rows: list[dict[str, Any]] = field(default_factory=list)
    samples: int = 0
    updates: int = 0
    wall_s: float = 0.0
    diverged_epoch: int | None = None
    done: bool = False


def _make_optimizer(strategy: Strategy, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The strategy's optimizer over ``model``, built from its optimizer-registry entry."""
    entry = optimizer_entry(strategy.optimizer)
    kwargs = strategy.optimizer_options
    if strategy.momentum is not None:
        m0 = float(strategy.momentum(0.0))
        if entry.momentum_key is None:
            raise ValueError(
                f"strategy {strategy.name!r}: a momentum schedule does not apply to "
                f"{strategy.optimizer}, which has no momentum"
            )
        if entry.momentum_key == "betas":
            kwargs["betas"] = (m0, tuple(kwargs.get("betas", (0.9, 0.999)))[1])
        else:
            kwargs["momentum"] = m0
    try:
        return make_optimizer(
            strategy.optimizer, model.parameters(), lr=float(strategy.lr(0.0)), options=kwargs
        )
    except ValueError as exc:
        raise ValueError(f"strategy {strategy.name!r}: {exc}") from None


class _Data:
    """Index a dataset by a tensor of positions: tensors directly, anything else by collate."""

    def __init__(self, dataset: Any, device: torch.device) -> None:
        import torch

        self.tensors: tuple[torch.Tensor, ...] | None = None
        if isinstance(dataset, torch.utils.data.TensorDataset) and len(dataset.tensors) == 2:
            self.tensors = tuple(t.to(device) for t in dataset.tensors)
        self.dataset = dataset
        self.device = device

    def batch(self, index: torch.Tensor) -> tuple[Any, Any]:
        if self.tensors is not None:
            x, y = self.tensors
            return x[index], y[index]
        from torch.utils.data import default_collate

        x, y = default_collate([self.dataset[i] for i in index.tolist()])
        return x.to(self.device), y.to(self.device)


class _Loop:
    def __init__(
        self,
        task: Task,
        strategy: Strategy,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        device: torch.device,
        seed: int,
        eval_batch_size: int,
    ) -> None:
        self.task, self.strategy, self.model, self.optimizer = task, strategy, model, optimizer
        self.device, self.seed, self.eval_batch_size = device, seed, eval_batch_size
        self.train_data = _Data(task.train_set, device)
        self.test_data = _Data(task.test_set, device)
        self.n = task.train_size
        self.noisy_index = None if task.noisy is None else np.flatnonzero(task.noisy)

    def run(
        self,
        state: _State,
        epochs: int,
        ckpt_file: Path | None,
        key: str,
        progress: bool,
        on_epoch: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        import sys

        from tqdm.auto import tqdm

        start = len(state.rows)
        bar = tqdm(
            total=epochs,
            initial=start,
            desc=f"{self.strategy.name} seed {self.seed}",
            disable=not (progress and sys.stderr.isatty()),
            leave=False,
        )
        try:
            for epoch in range(start, epochs):
                row = self.epoch(state, epoch)
                state.rows.append(row)
                state.done = state.diverged_epoch is not None or epoch + 1 == epochs
                if ckpt_file is not None:
                    self.save(ckpt_file, key, state)
                bar.update(1)
                if on_epoch is not None:
                    on_epoch(row)
                if state.diverged_epoch is not None:
                    break
        finally:
            bar.close()

    def epoch(self, state: _State, epoch: int) -> dict[str, Any]:
        import torch

        strategy, n = self.strategy, self.n
        batch_size = strategy.batch_size_at(state.samples / n)
        steps = math.ceil(n / batch_size)
        before = state.samples + np.arange(steps) * batch_size  # samples seen before each step
        if strategy.clock == "epoch":
            times = before / n
        else:
            times = state.updates + np.arange(steps, dtype=np.float64)
        lrs = np.atleast_1d(strategy.lr(times)).tolist()
        moms = None if strategy.momentum is None else np.atleast_1d(strategy.momentum(times))
        order = torch.from_numpy(np.random.default_rng([self.seed, epoch]).permutation(n))
        order = order.to(self.device)
        groups = self.optimizer.param_groups
        adam = optimizer_entry(strategy.optimizer).momentum_key == "betas"
        model, optimizer, loss_fn = self.model, self.optimizer, self.task.loss_fn
        model.train()
        loss_sum, seen, diverged = 0.0, 0, False
        tic = time.perf_counter()
        for i in range(steps):
            x, y = self.train_data.batch(order[i * batch_size : (i + 1) * batch_size])
            for group in groups:
                group["lr"] = lrs[i]
                if moms is not None:
                    if adam:
                        group["betas"] = (float(moms[i]), group["betas"][1])
                    else:
                        group["momentum"] = float(moms[i])
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            value = loss.item()
            if not math.isfinite(value):
                diverged = True
                break
            loss.backward()
            optimizer.step()
            size = len(y)
            loss_sum += value * size
            seen += size
            state.updates += 1
            state.samples += size
        state.wall_s += time.perf_counter() - tic
        test_loss, test_acc = self.evaluate(self.test_data, None)
        if not math.isfinite(test_loss):
            diverged = True
        if diverged:
            state.diverged_epoch = epoch + 1
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "updates": state.updates,
            "samples": state.samples,
            "lr": float(lrs[min(i, steps - 1)]),
            "batch_size": batch_size,
            "train_loss": math.nan if diverged else loss_sum / max(seen, 1),
            "test_loss": test_loss,
            "test_acc": test_acc,
            "wall_s": state.wall_s,
        }
        if self.noisy_index is not None:
            index = torch.from_numpy(self.noisy_index).to(self.device)
            row["noisy_fit"] = self.evaluate(self.train_data, index)[1]
        return row

    def evaluate(self, data: _Data, index: torch.Tensor | None) -> tuple[float, float]:
        """Mean loss and accuracy over ``data`` (or the positions ``index``)."""
        import torch

        self.model.eval()
        if index is None:
            index = torch.arange(len(data.dataset), device=self.device)
        loss_sum, correct = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(index), self.eval_batch_size):
                x, y = data.batch(index[start : start + self.eval_batch_size])
                out = self.model(x)
                loss_sum += float(self.task.loss_fn(out, y)) * len(y)
                correct += int((out.argmax(dim=1) == y).sum())
        count = max(len(index), 1)
        return loss_sum / count, correct / count

    def save(self, path: Path, key: str, state: _State) -> None:
        import torch

        payload = {
            "version": _CHECKPOINT_VERSION,
            "key": key,
            "rows": state.rows,
            "samples": state.samples,
            "updates": state.updates,
            "wall_s": state.wall_s,
            "diverged_epoch": state.diverged_epoch,
            "done": state.done,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": (
                torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
            ),
        }
        with atomic_file(path, "wb") as fh:
            torch.save(payload, fh)


def _load_checkpoint(
    path: Path,
    key: str,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
) -> _State:
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"cannot read checkpoint {path}: {exc}") from None
    if payload.get("version") != _CHECKPOINT_VERSION or payload.get("key") != key:
        raise ValueError(
            f"checkpoint {path} was made with other settings (task, strategy, epochs or "
            "seed); delete it or use another folder"
        )
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    torch.set_rng_state(payload["torch_rng"])
    if device.type == "cuda" and payload.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(payload["cuda_rng"], device)
    return _State(
        rows=list(payload["rows"]),
        samples=int(payload["samples"]),
        updates=int(payload["updates"]),
        wall_s=float(payload["wall_s"]),
        diverged_epoch=payload["diverged_epoch"],
        done=bool(payload["done"]),
    )
