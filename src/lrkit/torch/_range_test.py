"""The PyTorch LR range test: sweep, record, and leave everything as it was found."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import os
import random
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..range_test import RangeTestResult, StopRule, _race, analyze, sweep_lrs

__all__ = ["range_test"]

RACE_BACKOFF = 0.33  # decades below the race's winner (docs/range_test.md)

Batch = Any


def range_test(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    train_loader: Iterable[Batch],
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    val_loader: Iterable[Batch] | None = None,
    val_batches: int | None = None,
    accumulation_steps: int = 1,
    grad_scaler: Any = None,
    amp_dtype: torch.dtype | None = None,
    scheduler: Any = None,
    device: torch.device | str | None = None,
    batch_fn: Callable[[Batch], tuple[Any, Any]] | None = None,
    stop_factor: float = 4.0,
    smoothing: float = 0.9,
    bandwidth: float | None = None,
    safety: float = 0.7,
    state_dir: str | os.PathLike[str] | None = None,
    validate: bool = False,
    race_loader: Iterable[Batch] | None = None,
    schedule: str | Callable[[float], float] = "constant",
    val_metric: Callable[[Any, Any], float] | None = None,
    race_steps: int | None = None,
    race_candidates: int = 5,
    race_eta: int = 3,
    race_backoff: float = RACE_BACKOFF,
) -> RangeTestResult:
    """Run an LR range test (Smith 2017) and restore every piece of state afterwards.

    The LR of the first parameter group follows ``lr_i`` (see
    :func:`lrkit.range_test.sweep_lrs`; ``exp``: ``start_lr * (end_lr/start_lr) **
    (i/(num_steps-1))``) for ``i = 0 .. num_steps-1``; every other group keeps its
    ratio to the first. Each point is one real optimizer step: ``accumulation_steps``
    micro-batches, each loss divided by ``accumulation_steps`` before ``backward``, the
    recorded loss being their mean. Under ``torch.distributed`` the recorded loss is
    averaged over ranks, so every rank stops at the same step and gets the same answer.
    The sweep stops early by :class:`lrkit.range_test.StopRule` (NaN/inf, or divergence),
    and the curve is read by :func:`lrkit.range_test.analyze`.

    Afterwards (also after an exception or Ctrl-C) the parameters, buffers, gradients
    and train/eval modes of ``model``; the state and per-group hyper-parameters of
    ``optimizer``; ``scheduler``'s state; ``grad_scaler``'s state; the torch (CPU and
    CUDA), numpy and Python RNG states and any generator of the loaders' samplers are
    restored bit for bit, in place. The copy lives in host memory (or in a temporary
    file in ``state_dir``, deleted afterwards), never on the accelerator.

    Args:
        model: the model, already on its device; may be wrapped in DDP.
        optimizer: its optimizer (any ``torch.optim.Optimizer`` without a closure).
        loss_fn: ``loss_fn(model(inputs), targets)`` returns a scalar tensor.
        train_loader: yields batches; cycled if shorter than the sweep.
        start_lr, end_lr: first and last LR of the first parameter group.
        num_steps: optimizer steps (points) in the sweep, >= 2.
        mode: ``"exp"`` (evenly spaced in log LR) or ``"linear"``.
        val_loader: if given, each point's loss is the mean validation loss (eval mode,
            no grad) over a fixed subsample: its first ``val_batches`` batches.
        val_batches: how many validation batches (default 5).
        accumulation_steps: micro-batches per optimizer step, >= 1.
        grad_scaler: a ``torch.amp.GradScaler`` for mixed precision.
        amp_dtype: run the forward pass under ``torch.autocast`` with this dtype.
        scheduler: an LR scheduler attached to ``optimizer``; it is not stepped, and
            its state is restored.
        device: where batches go (default: the device of the model's parameters).
        batch_fn: maps a batch to ``(inputs, targets)`` (default: the batch is that pair).
        stop_factor, smoothing: the stop rule (see :class:`~lrkit.range_test.StopRule`).
        bandwidth, safety: passed to :func:`~lrkit.range_test.analyze`.
        state_dir: keep the saved tensors in a temporary file in this directory instead
            of host memory (removed afterwards).
        validate: after the sweep, race ``race_candidates`` LRs log-spaced from the
            bottom of the result's interval up to its edge (where the loss starts to
            rise) by successive halving (:func:`lrkit.range_test.race`): each run starts
            from the state the test found, follows ``schedule`` with the candidate as
            its peak for ``race_steps * race_eta**k`` steps at rung ``k``, and is scored
            on all of ``race_loader`` (or ``val_loader``) by ``val_metric``; the best ``1/race_eta``
            go on. ``result.race`` holds the rungs, and ``result.suggest(for_schedule=
            schedule)`` returns its answer, ``race_backoff`` decades below the winner.
            Everything is restored afterwards, as for the sweep. Cost:
            ``race_steps * (5 + 2 * 3) = 11 race_steps`` optimizer steps for the defaults.
        race_loader: the validation batches the race is scored on. Give this rather
            than ``val_loader`` to keep the sweep on the training loss (``val_loader``
            also turns every sweep point into a validation loss). Default: ``val_loader``.
        schedule: the schedule the race trains with: ``"constant"``, ``"cosine"``,
            ``"linear"``, ``"onecycle"``, ``"wsd"`` or a callable ``shape(p)`` of the
            fraction ``p`` of the run, peak 1 (see :func:`lrkit.range_test.schedule_shape`).
        val_metric: ``val_metric(outputs, targets) -> float``, higher is better,
            averaged over the validation batches weighted by their size (default: minus
            the validation loss).
        race_steps: optimizer steps of each run of the first rung (default ``num_steps``).
        race_candidates: how many LRs start the race, >= 2.
        race_eta: the factor between rungs, >= 2.
        race_backoff: decades the validated answer stays below the race's winner
            (short runs favour larger LRs than the full run; measured on the finder zoo,
            see docs/range_test.md).

    Returns:
        The :class:`~lrkit.range_test.RangeTestResult`.

    Raises:
        TypeError, ValueError: bad arguments (named in the message); errors raised by
            the model, the loss or the loader propagate after the state is restored.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> _ = torch.manual_seed(0)
        >>> x = torch.randn(256, 4)
        >>> y = (x.sum(1) > 0).long()
        >>> loader = torch.utils.data.DataLoader(
        ...     torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
        >>> model = nn.Linear(4, 2)
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> before = [p.clone() for p in model.parameters()]
        >>> result = range_test(model, opt, nn.functional.cross_entropy, loader, num_steps=60)
        >>> all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
        True
        >>> opt.param_groups[0]["lr"]
        0.1
        >>> len(result.lrs) <= 60
        True
    """
    lrs = sweep_lrs(start_lr, end_lr, num_steps, mode)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {model!r}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {optimizer!r}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {loss_fn!r}")
    if batch_fn is not None and not callable(batch_fn):
        raise TypeError(f"batch_fn must be callable, got {batch_fn!r}")
    accum = _check_count("accumulation_steps", accumulation_steps)
    n_val = 5 if val_batches is None else _check_count("val_batches", val_batches)
    if val_batches is not None and val_loader is None:
        raise ValueError(f"val_batches={val_batches!r} needs a val_loader")
    if grad_scaler is not None and not hasattr(grad_scaler, "scale"):
        raise TypeError(f"grad_scaler must be a torch.amp.GradScaler, got {grad_scaler!r}")
    if amp_dtype is not None and not isinstance(amp_dtype, torch.dtype):
        raise TypeError(f"amp_dtype must be a torch.dtype, got {amp_dtype!r}")
    if scheduler is not None and not hasattr(scheduler, "state_dict"):
        raise TypeError(f"scheduler must have state_dict()/load_state_dict(), got {scheduler!r}")
    if state_dir is not None and not os.path.isdir(state_dir):
        raise ValueError(f"state_dir must be an existing directory, got {state_dir!r}")
    if not isinstance(validate, bool):
        raise TypeError(f"validate must be True or False, got {validate!r}")
    shape = _race.schedule_shape(schedule)
    scored_on = race_loader if race_loader is not None else val_loader
    if validate and scored_on is None:
        raise ValueError("validate=True needs a race_loader (or val_loader) to score the race on")
    if val_metric is not None and not callable(val_metric):
        raise TypeError(f"val_metric must be callable, got {val_metric!r}")
    first_rung = num_steps if race_steps is None else _check_count("race_steps", race_steps)
    n_candidates = _check_count("race_candidates", race_candidates)
    if n_candidates < 2:
        raise ValueError(f"race_candidates must be >= 2, got {race_candidates!r}")
    eta = _check_count("race_eta", race_eta)
    if eta < 2:
        raise ValueError(f"race_eta must be >= 2, got {race_eta!r}")
    rule = StopRule(stop_factor=stop_factor, smoothing=smoothing)
    dev = _infer_device(model, optimizer) if device is None else torch.device(device)
    unpack = batch_fn if batch_fn is not None else _default_batch

    losses: list[float] = []
    saved = _save(model, optimizer, scheduler, grad_scaler, (train_loader, val_loader), state_dir)
    try:
        val_data = None if val_loader is None else _take(val_loader, n_val)
        base = [float(g["lr"]) for g in optimizer.param_groups]
        ratios = [b / base[0] if base[0] > 0 else 1.0 for b in base]
        model.train()
        batches = _cycle(train_loader)
        distributed = _distributed()
        state = rule.init()
        for lr in lrs:
            for group, ratio in zip(optimizer.param_groups, ratios, strict=True):
                _set_lr(group, float(lr) * ratio)
            loss = _train_step(
                model, optimizer, loss_fn, batches, unpack, dev, accum, grad_scaler, amp_dtype
            )
            if val_data is not None:
                loss = _val_loss(model, loss_fn, val_data, unpack, dev, amp_dtype)
            value = _all_ranks_mean(loss, distributed)
            losses.append(value)
            state, why = rule.update(state, value)
            if why is not None:
                break
        result = analyze(
            lrs[: len(losses)],
            losses,
            num_steps=num_steps,
            stop_factor=stop_factor,
            smoothing=smoothing,
            bandwidth=bandwidth,
            safety=safety,
        )
        if validate and result.reliable and scored_on is not None:
            runner = _RaceRunner(
                model,
                optimizer,
                loss_fn,
                train_loader,
                scored_on,
                unpack,
                dev,
                accum,
                grad_scaler,
                amp_dtype,
                shape,
                val_metric,
                saved,
                scheduler,
                ratios,
            )
            low, high = _race_interval(result)
            name = schedule if isinstance(schedule, str) else "custom"
            found = _race.race(
                _race.race_candidates(low, high, n_candidates),
                runner.evaluate,
                steps=first_rung,
                eta=eta,
                schedule=name,
                backoff=race_backoff,
            )
            result = dataclasses.replace(result, race=found)
    finally:
        saved.restore(model, optimizer, scheduler, grad_scaler)
    return result


def _race_interval(result: RangeTestResult) -> tuple[float, float]:
    """From the interval's bottom (or the suggestion) up to the edge (or the interval's top)."""
    if result.interval is None or result.suggestion is None:  # pragma: no cover - reliable
        raise ValueError(f"no interval to race in: {result.reason}")
    low = min(result.interval[0], result.suggestion)
    high = result.edge if result.edge is not None else result.interval[1]
    return low, max(high, low)


@dataclass
class _RaceRunner:
    """Short runs of the user's schedule from the saved state, scored on the validation set."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: Callable[[Any, Any], torch.Tensor]
    train_loader: Iterable[Batch]
    val_loader: Iterable[Batch]
    unpack: Callable[[Batch], tuple[Any, Any]]
    device: torch.device
    accum: int
    scaler: Any
    amp_dtype: torch.dtype | None
    shape: Callable[[float], float]
    metric: Callable[[Any, Any], float] | None
    saved: _Saved
    scheduler: Any
    ratios: list[float]

    def evaluate(self, lr: float, steps: int) -> float:
        self.saved.restore(self.model, self.optimizer, self.scheduler, self.scaler, final=False)
        self.model.train()
        batches = _cycle(self.train_loader)
        for i in range(steps):
            value = lr * float(self.shape(i / steps))
            for group, ratio in zip(self.optimizer.param_groups, self.ratios, strict=True):
                _set_lr(group, value * ratio)
            loss = _train_step(
                self.model,
                self.optimizer,
                self.loss_fn,
                batches,
                self.unpack,
                self.device,
                self.accum,
                self.scaler,
                self.amp_dtype,
            )
            if not bool(torch.isfinite(loss)):
                return -math.inf
        return self._score()

    def _score(self) -> float:
        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for batch in self.val_loader:
                inputs, targets = self.unpack(batch)
                inputs, targets = _to(inputs, self.device), _to(targets, self.device)
                with _autocast(self.device, self.amp_dtype):
                    out = self.model(inputs)
                n = len(targets) if hasattr(targets, "__len__") else 1
                if self.metric is None:
                    value = -float(self.loss_fn(out, targets))
                else:
                    value = float(self.metric(out, targets))
                total += value * n
                count += n
        self.model.train()
        if count == 0:
            raise ValueError("val_loader yielded no batches")
        score = total / count
        return score if math.isfinite(score) else -math.inf


# -- the sweep ------------------------------------------------------------------------


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return value


def _infer_device(model: nn.Module, optimizer: torch.optim.Optimizer) -> torch.device:
    for p in model.parameters():
        return p.device
    for group in optimizer.param_groups:
        for p in group["params"]:
            return p.device
    return torch.device("cpu")


def _default_batch(batch: Batch) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise TypeError(
        f"a batch must be an (inputs, targets) pair, got {type(batch).__name__}; "
        "pass batch_fn=... to unpack other batch shapes"
    )


def _to(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj if obj.device == device else obj.to(device, non_blocking=True)
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    return obj


def _cycle(loader: Iterable[Batch]) -> Iterator[Batch]:
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("train_loader yielded no batches")


def _take(loader: Iterable[Batch], n: int) -> list[Batch]:
    out = []
    for batch in loader:
        out.append(batch)
        if len(out) == n:
            break
    if not out:
        raise ValueError("val_loader yielded no batches")
    return out


def _set_lr(group: dict[str, Any], lr: float) -> None:
    if isinstance(group["lr"], torch.Tensor):
        group["lr"].fill_(lr)
    else:
        group["lr"] = lr


_NULL = contextlib.nullcontext()


def _autocast(
    device: torch.device, dtype: torch.dtype | None
) -> contextlib.AbstractContextManager[Any]:
    if dtype is None:
        return _NULL
    return torch.autocast(device_type=device.type, dtype=dtype)


def _train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    batches: Iterator[Batch],
    unpack: Callable[[Batch], tuple[Any, Any]],
    device: torch.device,
    accum: int,
    scaler: Any,
    amp_dtype: torch.dtype | None,
) -> torch.Tensor:
    """One optimizer step over ``accum`` micro-batches; returns their mean loss (detached)."""
    optimizer.zero_grad(set_to_none=True)
    no_sync = getattr(model, "no_sync", None) if accum > 1 else None
    values = []
    for micro in range(accum):
        inputs, targets = unpack(next(batches))
        inputs, targets = _to(inputs, device), _to(targets, device)
        skip_sync = no_sync is not None and micro < accum - 1
        with no_sync() if skip_sync else _NULL:  # type: ignore[misc]
            with _autocast(device, amp_dtype):
                loss = loss_fn(model(inputs), targets)
            scaled = loss / accum if accum > 1 else loss
            (scaler.scale(scaled) if scaler is not None else scaled).backward()
        value = loss.detach()
        values.append(value.float() if value.dtype in (torch.float16, torch.bfloat16) else value)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return values[0] if accum == 1 else torch.stack(values).mean()


def _val_loss(
    model: nn.Module,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    batches: list[Batch],
    unpack: Callable[[Batch], tuple[Any, Any]],
    device: torch.device,
    amp_dtype: torch.dtype | None,
) -> torch.Tensor:
    model.eval()
    total = torch.zeros((), device=device)
    with torch.no_grad():
        for batch in batches:
            inputs, targets = unpack(batch)
            with _autocast(device, amp_dtype):
                out = model(_to(inputs, device))
                total = total + loss_fn(out, _to(targets, device)).float()
    model.train()
    return total / len(batches)


def _distributed() -> bool:
    return bool(torch.distributed.is_available() and torch.distributed.is_initialized())


def _all_ranks_mean(loss: torch.Tensor, distributed: bool) -> float:
    if distributed:
        dist = torch.distributed
        loss = loss.detach().clone()
        dist.all_reduce(loss, op=dist.ReduceOp.SUM)
        loss = loss / dist.get_world_size()
    return float(loss)


# -- saving and restoring state -------------------------------------------------------


def _host(value: Any) -> Any:
    """A copy of ``value`` in host memory: tensors copied to the CPU, the rest deep-copied."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return type(value)((k, _host(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_host(v) for v in value)
    return copy.deepcopy(value)


def _put(current: Any, saved: Any) -> Any:
    """Write ``saved`` back into ``current`` in place where possible; return the value to keep."""
    if (
        isinstance(current, torch.Tensor)
        and isinstance(saved, torch.Tensor)
        and current.shape == saved.shape
        and current.dtype == saved.dtype
    ):
        with torch.no_grad():
            current.copy_(saved)
        return current
    return saved


def _generators(loaders: Iterable[Any]) -> list[torch.Generator]:
    found: dict[int, torch.Generator] = {}
    for loader in loaders:
        for owner in (
            loader,
            getattr(loader, "sampler", None),
            getattr(getattr(loader, "batch_sampler", None), "sampler", None),
        ):
            gen = getattr(owner, "generator", None)
            if isinstance(gen, torch.Generator):
                found[id(gen)] = gen
    return list(found.values())


@dataclass
class _Saved:
    """Everything a range test changes, in host memory (or a temporary file)."""

    tensors: list[torch.Tensor]  # parameters and buffers (model and optimizer), in order
    bulk: dict[str, Any] | None  # values, grads, optimizer state: on the host
    path: str | None  # or in this temporary file
    state_devices: list[dict[str, torch.device]]
    groups: list[dict[str, Any]]
    modes: list[bool]
    scheduler: Any
    scaler: dict[str, Any]
    rng: dict[str, Any]
    generators: list[tuple[torch.Generator, torch.Tensor]] = field(default_factory=list)

    def restore(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        scaler: Any,
        *,
        final: bool = True,
    ) -> None:
        bulk = self.bulk
        if bulk is None and self.path is not None:
            bulk = torch.load(self.path, map_location="cpu", weights_only=True)
        if bulk is None:  # pragma: no cover - restored twice
            raise RuntimeError("range-test state was already restored")
        try:
            _restore_tensors(self.tensors, bulk)
            _restore_optimizer(optimizer, bulk["opt_state"], self.state_devices, self.groups)
        finally:
            if final and self.path is not None:
                os.unlink(self.path)
                self.path = None
        for module, mode in zip(model.modules(), self.modes, strict=True):
            module.training = mode
        if scheduler is not None:
            scheduler.load_state_dict(copy.deepcopy(self.scheduler))
        if scaler is not None:
            _restore_scaler(scaler, self.scaler)
        torch.set_rng_state(self.rng["torch"])
        if "cuda" in self.rng:
            torch.cuda.set_rng_state_all(self.rng["cuda"])
        np.random.set_state(self.rng["numpy"])  # noqa: NPY002 - restoring it
        random.setstate(self.rng["python"])
        for gen, state in self.generators:
            gen.set_state(state)


def _save(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any,
    loaders: tuple[Any, ...],
    state_dir: str | os.PathLike[str] | None,
) -> _Saved:
    tensors: dict[int, torch.Tensor] = {}
    for t in [*model.parameters(), *model.buffers()]:
        tensors.setdefault(id(t), t)
    opt_params = [p for g in optimizer.param_groups for p in g["params"]]
    for p in opt_params:
        tensors.setdefault(id(p), p)
    kept = list(tensors.values())
    opt_state = [_host(optimizer.state[p]) if p in optimizer.state else None for p in opt_params]
    devices = [
        {k: v.device for k, v in optimizer.state[p].items() if isinstance(v, torch.Tensor)}
        if p in optimizer.state
        else {}
        for p in opt_params
    ]
    bulk: dict[str, Any] | None = {
        "values": [_host(t) for t in kept],
        "grads": [None if t.grad is None else _host(t.grad) for t in kept],
        "opt_state": opt_state,
    }
    path = None
    if state_dir is not None:
        fd, path = tempfile.mkstemp(prefix="lrkit-range-test-", suffix=".pt", dir=state_dir)
        os.close(fd)
        try:
            torch.save(bulk, path)
        except BaseException:
            os.unlink(path)
            raise
        bulk = None
    rng: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),  # noqa: NPY002
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return _Saved(
        tensors=kept,
        bulk=bulk,
        path=path,
        state_devices=devices,
        groups=[
            {k: _host(v) for k, v in g.items() if k != "params"} for g in optimizer.param_groups
        ],
        modes=[m.training for m in model.modules()],
        scheduler=None if scheduler is None else _host(scheduler.state_dict()),
        scaler=_save_scaler(scaler),
        rng=rng,
        generators=[(g, g.get_state()) for g in _generators(loaders)],
    )


def _restore_tensors(tensors: list[torch.Tensor], bulk: dict[str, Any]) -> None:
    with torch.no_grad():
        for t, value, grad in zip(tensors, bulk["values"], bulk["grads"], strict=True):
            t.copy_(value)
            if grad is None:
                t.grad = None
            elif t.grad is not None and t.grad.shape == grad.shape and t.grad.dtype == grad.dtype:
                t.grad.copy_(grad)
            else:
                t.grad = grad.to(t.device)


def _restore_optimizer(
    optimizer: torch.optim.Optimizer,
    opt_state: list[dict[str, Any] | None],
    devices: list[dict[str, torch.device]],
    groups: list[dict[str, Any]],
) -> None:
    opt_params = [p for g in optimizer.param_groups for p in g["params"]]
    for p, saved, devs in zip(opt_params, opt_state, devices, strict=True):
        if saved is None:
            optimizer.state.pop(p, None)
            continue
        current = optimizer.state.get(p, {})
        restored = {}
        for key, value in saved.items():
            kept = _put(current.get(key), value)
            if kept is value and isinstance(value, torch.Tensor):
                kept = value.to(devs.get(key, p.device))
            restored[key] = kept
        optimizer.state[p] = restored
    for group, saved_group in zip(optimizer.param_groups, groups, strict=True):
        for key in [k for k in group if k != "params" and k not in saved_group]:
            del group[key]
        for key, value in saved_group.items():
            group[key] = _put(group.get(key), value)


_SCALER_TENSORS = ("_scale", "_growth_tracker")


def _save_scaler(scaler: Any) -> dict[str, Any]:
    if scaler is None:
        return {}
    out: dict[str, Any] = {"state": _host(scaler.state_dict())}
    for name in _SCALER_TENSORS:
        value = getattr(scaler, name, None)
        out[name] = None if value is None else (_host(value), value.device)
    states = getattr(scaler, "_per_optimizer_states", None)
    if states is not None:
        out["_per_optimizer_states"] = (type(states), {k: dict(v) for k, v in states.items()})
    return out


def _restore_scaler(scaler: Any, saved: dict[str, Any]) -> None:
    if saved["state"]:
        scaler.load_state_dict(copy.deepcopy(saved["state"]))
    for name in _SCALER_TENSORS:
        if name not in saved:
            continue
        value = saved[name]
        if value is None:
            setattr(scaler, name, None)
        else:
            host, device = value
            current = getattr(scaler, name, None)
            kept = _put(current, host)
            setattr(scaler, name, kept.to(device) if kept is host else kept)
    if "_per_optimizer_states" in saved:
        _, states = saved["_per_optimizer_states"]
        fresh = copy.copy(scaler._per_optimizer_states)
        fresh.clear()
        fresh.update(states)
        scaler._per_optimizer_states = fresh
