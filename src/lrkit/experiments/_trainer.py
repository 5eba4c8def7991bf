"""The lab's training loop: one strategy, one seed, per-epoch metrics, resumable.

It is the loop a user writes from ``lrkit.torch``'s public pieces (docs/lab.md
shows it, and a test checks that both give the same metrics):

- a :class:`~lrkit.torch.ScheduledLoader` reads the training set: the size of every
  batch follows the strategy's batch size (an int or a batch-size schedule, asked
  at the batch's start), the order of epoch ``e`` is
  ``numpy.random.default_rng([seed, e]).permutation(N)``, the last short batch is
  kept so every sample is used once per epoch;
- an :class:`~lrkit.torch.LRScheduler` writes ``lr = strategy.lr(t)`` (and the
  momentum, ``betas[0]`` for Adam & co., when the strategy has one) before every
  update, with ``t = samples_seen / N`` on the epoch clock or the number of updates
  done on the step clock;
- :func:`~lrkit.torch.accumulate_gradients` computes the gradient, in micro-batches
  when ``micro_batch_size`` caps the forward pass;
- the optimizer comes from the optimizer registry, with ``optimizer.train()`` /
  ``optimizer.eval()`` around training and evaluation when its entry says so;
- a strategy with a ``controller`` (``plateau``, ``plateau-batch``) is also run
  through its driver (``lrkit.experiments._controllers``): after each epoch's
  validation (and after every update when the driver asks), its decision may scale
  the LR schedule (a new ``LRScheduler`` over ``Scale(lr, scale)``) and change the
  batch schedule the loader follows from the next epoch
  (``ScheduledLoader.set_schedule``); the decision is the row's ``decision`` and the
  controller's state is in every checkpoint.

Determinism: the model is initialised after ``torch.manual_seed(seed)``; torch's
global RNG (for dropout, say) is saved in each checkpoint with the loader's
position. The caller's global torch RNG is restored when ``train`` returns.
Checkpoints carry a sha256 beside them; one that does not match is not resumed:
the run restarts from epoch 0 and :attr:`RunResult.note` says so.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checksum import verify_checksum, write_checksummed
from ._controllers import Control, ControllerDriver, UpdateReport, controller_driver
from ._metrics import METRICS
from ._optimizers import make_optimizer, optimizer_entry
from ._strategies import Strategy
from ._tasks import Task

if TYPE_CHECKING:
    import torch

    from ..torch import ScheduledLoader

__all__ = ["METRIC_COLUMNS", "RunResult", "checkpoint_path", "lab_loader", "train"]

# The per-epoch row, in CSV column order (``noisy_fit`` only with label noise).
METRIC_COLUMNS = (
    "epoch",
    "updates",
    "samples",
    "lr",
    "batch_size",
    "decision",
    "train_loss",
    "val_loss",
    "val_metric",
    "test_loss",
    "test_metric",
    "test_acc",
    "wall_s",
)

_CHECKPOINT_VERSION = 1
NO_DECISION = None  # the ``decision`` of a strategy without controller (empty in the CSV)


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
        note: one line when the run did something the caller should report (a
            corrupt checkpoint rerun from the start); empty otherwise.
    """

    strategy: str
    seed: int
    rows: tuple[dict[str, Any], ...]
    diverged_epoch: int | None = None
    resumed_from: int = 0
    note: str = ""

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
    checkpoint: str | Path | None = None,
    progress: bool = False,
    device: str = "cpu",
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    eval_batch_size: int = 1024,
    micro_batch_size: int | None = None,
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
        checkpoint: the same with the checkpoint's file named directly.
        progress: show a tqdm bar over epochs (only on a terminal).
        device: torch device.
        on_epoch: called with each new row after its checkpoint is written.
        eval_batch_size: batch size for evaluation.
        micro_batch_size: the most samples per forward pass; larger batches are
            accumulated (:func:`lrkit.torch.accumulate_gradients`) to the same gradient.

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
    if checkpoint is not None and checkpoint_dir is not None:
        raise ValueError("give checkpoint_dir or checkpoint, not both")
    ckpt_file = None if checkpoint_dir is None else checkpoint_path(checkpoint_dir, strategy, seed)
    if checkpoint is not None:
        ckpt_file = Path(checkpoint)
    key = _run_key(task, strategy, epochs, seed)
    dev = torch.device(device)
    fork_devices = [dev] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)
        model = task.model_fn().to(dev)
        optimizer = _make_optimizer(strategy, model)
        loop = _Loop(task, strategy, model, optimizer, dev, seed, eval_batch_size, micro_batch_size)
        state, note = _State(), ""
        if ckpt_file is not None and ckpt_file.exists():
            problem = verify_checksum(ckpt_file)
            if problem:
                note = f"checkpoint {ckpt_file.name} {problem}: {strategy.name} seed {seed} reruns"
                note += " from its start"
            else:
                state = loop.load(ckpt_file, key)
        resumed_from = len(state.rows)
        if not state.done:
            loop.run(state, epochs, ckpt_file, key, progress, on_epoch)
    return RunResult(
        strategy=strategy.name,
        seed=seed,
        rows=tuple(state.rows),
        diverged_epoch=state.diverged_epoch,
        resumed_from=resumed_from,
        note=note,
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


def _as_is(batch: Any) -> Any:
    """The loader's collate step: :class:`_Fetch` already returns whole batches."""
    return batch


class _Fetch:
    """A dataset whose ``__getitems__`` returns a whole batch on ``device``.

    ``DataLoader`` calls ``__getitems__`` with the sampler's index list when a dataset
    has one: a ``TensorDataset`` is then indexed once per batch (no per-sample
    collation); any other dataset is collated item by item. Batching and shuffling
    stay the :class:`~lrkit.torch.ScheduledLoader`'s.
    """

    def __init__(self, dataset: Any, device: torch.device) -> None:
        import torch

        self.dataset, self.device = dataset, device
        self.tensors: tuple[torch.Tensor, ...] | None = None
        if isinstance(dataset, torch.utils.data.TensorDataset):
            self.tensors = tuple(t.to(device) for t in dataset.tensors)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index]

    def __getitems__(self, indices: list[int]) -> Any:
        import torch
        from torch.utils.data import default_collate

        if self.tensors is not None:
            # through numpy: torch.as_tensor on a list of ints costs ~10x more per batch
            index = torch.from_numpy(np.asarray(indices, dtype=np.int64)).to(self.device)
            return tuple(t[index] for t in self.tensors)
        batch = default_collate([self.dataset[i] for i in indices])
        return _to_device(batch, self.device)


def _to_device(batch: Any, device: torch.device) -> Any:
    import torch

    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def lab_loader(
    dataset: Any, batch_size: Any, *, seed: int, device: str | torch.device = "cpu", **options: Any
) -> ScheduledLoader:
    """The :class:`~lrkit.torch.ScheduledLoader` the lab reads ``dataset`` with.

    Batches follow ``batch_size`` (an int or a batch-size schedule), in the order
    drawn from ``numpy.random.default_rng([seed, epoch])``, the last short batch
    kept; they come on ``device``. ``options`` go to ScheduledLoader (``shuffle``).
    """
    import torch

    from ..torch import ScheduledLoader

    return ScheduledLoader(
        _Fetch(dataset, torch.device(device)),
        batch_size,
        seed=seed,
        collate_fn=_as_is,
        **options,
    )


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
        micro_batch_size: int | None,
    ) -> None:
        import torch

        from ..torch import LRScheduler

        self.task, self.strategy, self.model, self.optimizer = task, strategy, model, optimizer
        self.device, self.seed, self.micro = device, seed, micro_batch_size
        self.train_eval = optimizer_entry(strategy.optimizer).train_eval
        self.n = task.train_size
        self.loader = lab_loader(task.train_set, strategy.batch_size, seed=seed, device=device)
        unit = "epoch" if strategy.clock == "epoch" else "step"
        self.scheduler = LRScheduler(optimizer, strategy.lr, momentum=strategy.momentum, unit=unit)
        self.driver: ControllerDriver | None = None
        self.control = Control()
        if strategy.controller is not None:  # every Task has a val_set to decide on
            self.driver = controller_driver(strategy.controller)
            self.follow(self.driver.start(strategy.batch_size), time=0.0)
        self.test_loader = lab_loader(
            task.test_set, eval_batch_size, seed=0, device=device, shuffle=False
        )
        self.val_loader = None
        if task.val_set is not None:
            self.val_loader = lab_loader(
                task.val_set, eval_batch_size, seed=0, device=device, shuffle=False
            )
        self.noisy_loader = None
        if task.noisy is not None:
            noisy = torch.utils.data.Subset(task.train_set, np.flatnonzero(task.noisy).tolist())
            self.noisy_loader = lab_loader(
                noisy, eval_batch_size, seed=0, device=device, shuffle=False
            )

    def follow(self, control: Control, time: float) -> None:
        """Adopt a controller's control: its LR scale now, its batch size from the next epoch."""
        from ..schedules import Scale
        from ..torch import LRScheduler

        old, self.control = self.control, control
        if control.lr_scale != old.lr_scale:
            lr = (
                self.strategy.lr
                if control.lr_scale == 1.0
                else Scale(self.strategy.lr, control.lr_scale)
            )
            self.scheduler = LRScheduler(
                self.optimizer, lr, momentum=self.strategy.momentum, unit=self.scheduler.unit
            )
            self.scheduler.set_time(time)
        if self.loader.position == 0:
            self.sync_batch()

    def sync_batch(self) -> None:
        """Make the loader follow the control's batch size (at an epoch boundary)."""
        from ..batch_size._epochs import as_batch_schedule

        wanted = self.control.batch_size
        if wanted is not None and as_batch_schedule(wanted) != self.loader.schedule:
            self.loader.set_schedule(wanted)

    def clock(self, state: _State) -> float:
        """The strategy's clock now: fractional epochs, or updates done."""
        return state.samples / self.n if self.strategy.clock == "epoch" else state.updates

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
        from ..torch import accumulate_gradients

        # not the scheduler: a controller's decision may replace it within the epoch
        model, optimizer, loss_fn = self.model, self.optimizer, self.task.loss_fn
        epoch_clock = self.strategy.clock == "epoch"
        if self.train_eval:
            optimizer.train()  # type: ignore[attr-defined]
        model.train()
        loss_sum, seen, diverged, first_batch = 0.0, 0, False, 0
        driver = self.driver
        per_update = driver is not None and driver.every == "update"
        decisions: list[str] = []
        tic = time.perf_counter()
        plain = self.task.forward is None
        if epoch_clock:  # this epoch's batch start times, evaluated in one array call
            sizes = self.loader.sampler.plan(self.loader.epoch, self.loader.position).sizes
            if sizes:
                starts = np.cumsum((state.samples, *sizes[:-1]), dtype=np.int64)
                self.scheduler.prefetch(starts / self.n)
        for batch in self.loader:
            self.scheduler.set_time(state.samples / self.n if epoch_clock else state.updates)
            first_batch = first_batch or self.loader.batch_size
            optimizer.zero_grad(set_to_none=True)
            step = None
            if plain and isinstance(batch, (tuple, list)):
                x, y = batch[0], batch[1]
                step = accumulate_gradients(model, loss_fn, x, y, micro_batch_size=self.micro)
                value, size = step.loss, step.samples
            else:  # a dict batch or the task's own forward: one pass, no micro-batches
                if self.micro is not None:
                    raise ValueError(
                        "micro_batch_size needs (input, target) batches and no forward hook"
                    )
                loss = self.forward(batch)[0]
                loss.backward()
                value, size = float(loss.detach()), self.loader.batch_size
            if not math.isfinite(value):
                diverged = True
                break
            optimizer.step()
            loss_sum += value * size
            seen += size
            state.updates += 1
            state.samples += size
            if per_update and driver is not None:
                report = UpdateReport(
                    state.updates, state.samples, self.loader.time, size, value, step
                )
                self.follow(driver.after_update(self.control, report), self.clock(state))
                if self.control.decision != "hold":
                    decisions.append(self.control.decision)
        state.wall_s += time.perf_counter() - tic
        if self.train_eval:
            optimizer.eval()  # type: ignore[attr-defined]
        test_loss, test_metric, test_acc = self.evaluate(self.test_loader)
        val_loss: float | None = None
        val_metric: float | None = None
        if self.val_loader is not None:
            val_loss, val_metric, _ = self.evaluate(self.val_loader)
        if not math.isfinite(test_loss):
            diverged = True
        if diverged:
            state.diverged_epoch = epoch + 1
        row: dict[str, Any] = {
            "epoch": epoch + 1,
            "updates": state.updates,
            "samples": state.samples,
            "lr": float(self.scheduler.get_last_lr()[0]),
            "batch_size": first_batch,
            "decision": NO_DECISION,
            "train_loss": math.nan if diverged else loss_sum / max(seen, 1),
            "val_loss": val_loss,
            "val_metric": val_metric,
            "test_loss": test_loss,
            "test_metric": test_metric,
            "test_acc": test_acc,
            "wall_s": state.wall_s,
        }
        if self.noisy_loader is not None:
            row["noisy_fit"] = self.evaluate(self.noisy_loader)[2]
        if driver is not None and not diverged and val_loss is not None:
            control = driver.after_validation(self.control, val_loss, self.loader.time)
            self.follow(control, self.clock(state))
            if control.decision != "hold":
                decisions.append(control.decision)
            row["decision"] = ";".join(decisions) or "hold"
        return row

    def forward(self, batch: Any) -> tuple[Any, Any, Any]:
        """``(loss, outputs, targets)`` of a batch: the task's hook, or the default."""
        if self.task.forward is not None:
            return self.task.forward(self.model, batch)
        if isinstance(batch, dict):
            if "labels" not in batch:
                raise ValueError(
                    f"task {self.task.name!r}: a dict batch needs a 'labels' key (or give the "
                    f"task a forward hook); got keys {sorted(batch)}"
                )
            inputs = {k: v for k, v in batch.items() if k != "labels"}
            out = self.model(**inputs)
            out = getattr(out, "logits", out)
            return self.task.loss_fn(out, batch["labels"]), out, batch["labels"]
        x, y = batch[0], batch[1]
        out = self.model(x)
        return self.task.loss_fn(out, y), out, y

    def evaluate(self, loader: ScheduledLoader) -> tuple[float, float, float | None]:
        """Mean loss, the task's metric and the accuracy (None without classes) over ``loader``."""
        import torch

        self.model.eval()
        metric, classes = self.task.metric, self.task.num_classes is not None
        keep = not metric.from_loss and metric.name != "accuracy"
        loss_sum, correct, count = 0.0, 0, 0
        outputs, targets = [], []
        with torch.no_grad():
            for batch in loader:
                loss, out, y = self.forward(batch)
                size = loader.batch_size
                loss_sum += float(loss) * size
                if classes:
                    correct += int((out.argmax(dim=1) == y).sum())
                if keep:
                    outputs.append(out.detach())
                    targets.append(y.detach())
                count += size
        count = max(count, 1)
        mean = loss_sum / count
        acc = correct / count if classes else None
        if metric == METRICS["accuracy"] and acc is not None:
            value = acc
        elif keep:
            value = metric.value(mean, torch.cat(outputs), torch.cat(targets))
        else:
            value = metric.value(mean)
        return mean, value, acc

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
            "loader": self.loader.state_dict(),
            "controller": None if self.driver is None else self.driver.dump(self.control),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": (
                torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
            ),
        }
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        write_checksummed(path, buffer.getvalue())

    def load(self, path: Path, key: str) -> _State:
        """Restore a checkpoint written by :meth:`save` (its checksum already verified)."""
        import torch

        try:
            payload = torch.load(
                io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True
            )
        except Exception as exc:
            raise ValueError(f"cannot read checkpoint {path}: {exc}") from None
        if payload.get("version") != _CHECKPOINT_VERSION or payload.get("key") != key:
            raise ValueError(
                f"checkpoint {path} was made with other settings (task, strategy, epochs or "
                "seed); delete it or use another folder"
            )
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        samples, updates = int(payload["samples"]), int(payload["updates"])
        if self.driver is not None:  # before the loader: it checks the batch schedule's
            now = samples / self.n if self.strategy.clock == "epoch" else updates
            self.follow(self.driver.load(payload["controller"]), now)
        self.loader.load_state_dict(payload["loader"])
        torch.set_rng_state(payload["torch_rng"])
        if self.device.type == "cuda" and payload.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(payload["cuda_rng"], self.device)
        return _State(
            rows=list(payload["rows"]),
            samples=samples,
            updates=updates,
            wall_s=float(payload["wall_s"]),
            diverged_epoch=payload["diverged_epoch"],
            done=bool(payload["done"]),
        )
