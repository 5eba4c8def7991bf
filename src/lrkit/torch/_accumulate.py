"""Gradient accumulation: reach a scheduled batch above the per-device micro-batch cap."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch

from ..batch_size._base import check_batch_size

__all__ = ["AccumulationResult", "accumulate_gradients", "grad_sq_norm"]


@dataclass(frozen=True)
class AccumulationResult:
    """What :func:`accumulate_gradients` did.

    Attributes:
        loss: the mean loss over this rank's samples (a float).
        samples: this rank's samples.
        micro_batches: forward/backward passes made.
        small_sq_norm: ``|G_small|^2``, the squared norm of the first micro-batch's
            gradient (this rank, before any all-reduce), when measured.
        small_batch: the size of that micro-batch.
        big_sq_norm: ``|G_big|^2`` of the full (all-reduced) gradient, when measured.
        big_batch: the global batch size.
    """

    loss: float
    samples: int
    micro_batches: int
    small_sq_norm: float | None = None
    small_batch: int | None = None
    big_sq_norm: float | None = None
    big_batch: int | None = None


def grad_sq_norm(parameters: Iterable[torch.nn.Parameter], scale: float = 1.0) -> float:
    """``sum |scale * p.grad|^2`` over parameters that have a gradient (float64)."""
    total = torch.zeros((), dtype=torch.float64)
    for p in parameters:
        if p.grad is not None:
            total += (p.grad.detach().double() * scale).pow(2).sum().cpu()
    return float(total)


def _is_ddp(model: torch.nn.Module) -> bool:
    return isinstance(model, torch.nn.parallel.DistributedDataParallel)


def accumulate_gradients(
    model: torch.nn.Module,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    micro_batch_size: int | None = None,
    global_batch_size: int | None = None,
    world_size: int | None = None,
    measure_noise: bool = False,
) -> AccumulationResult:
    """Add the gradient of the batch's mean loss to ``.grad``, in micro-batches.

    With ``loss_fn`` returning the *mean* loss of a micro-batch of ``n_i`` samples,
    each micro-batch's loss is weighted by ``n_i * world_size / global_batch_size``,
    so the gradient (after DDP's all-reduce averages over ranks) is that of the
    mean loss over the global batch: the full-batch gradient, whatever the split,
    with a ragged last micro-batch and ranks of unequal shares. Under
    :class:`~torch.nn.parallel.DistributedDataParallel`, gradients are synchronised
    only on the last micro-batch (``no_sync`` before). Call ``optimizer.zero_grad()``
    first; step the optimizer after.

    Args:
        model: the model (DDP-wrapped or not).
        loss_fn: ``loss_fn(model(x), y)``, mean-reduced.
        inputs, targets: this rank's share of the batch (first dimension = samples).
        micro_batch_size: the most samples per forward pass; None: all at once.
        global_batch_size: the global batch (default ``len(inputs) * world_size``).
        world_size: default: the process group's under DDP, else 1.
        measure_noise: also record the squared gradient norms of the first
            micro-batch and of the full batch, for :class:`GradientNoiseScale`
            (needs ``.grad`` zero before and at least two micro-batches or ranks).

    Returns:
        An :class:`AccumulationResult`.

    Raises:
        ValueError: empty or mismatched inputs, a bad micro-batch size, a global batch
            smaller than this rank's samples.

    Example:
        >>> torch.manual_seed(0) and None
        >>> model = torch.nn.Linear(3, 1)
        >>> x, y = torch.randn(10, 3), torch.randn(10, 1)
        >>> mse = torch.nn.functional.mse_loss
        >>> r = accumulate_gradients(model, mse, x, y, micro_batch_size=4)
        >>> r.micro_batches, abs(r.loss - mse(model(x), y).item()) < 1e-6
        (3, True)
    """
    n = len(inputs)
    if n == 0 or len(targets) != n:
        raise ValueError(f"inputs and targets must hold the same number > 0 of samples, got {n}")
    micro = (
        n if micro_batch_size is None else check_batch_size("micro_batch_size", micro_batch_size)
    )
    ddp = _is_ddp(model)
    if world_size is None:
        world_size = torch.distributed.get_world_size() if ddp else 1
    world = check_batch_size("world_size", world_size)
    total = n * world if global_batch_size is None else global_batch_size
    total = check_batch_size("global_batch_size", total)
    if total < n:
        raise ValueError(
            f"global_batch_size must be >= the {n} samples of this rank, got {global_batch_size!r}"
        )
    chunks = list(range(0, n, micro))
    loss_sum = 0.0
    small: float | None = None
    small_n: int | None = None
    for i, lo in enumerate(chunks):
        whole = micro >= n  # one pass: no slicing
        x, y = (inputs, targets) if whole else (inputs[lo : lo + micro], targets[lo : lo + micro])
        k = len(x)
        weight = k * world / total
        last = i == len(chunks) - 1
        sync = contextlib.nullcontext() if (last or not ddp) else model.no_sync()  # type: ignore[operator]
        with sync:
            loss = loss_fn(model(x), y)
            # x * 1.0 is exact: skipping it leaves the gradient bit for bit, one node fewer
            (loss if weight == 1.0 else loss * weight).backward()
        loss_sum += float(loss.detach()) * k
        if measure_noise and i == 0 and not last:
            small, small_n = grad_sq_norm(model.parameters(), 1.0 / weight), k
    big: float | None = None
    if measure_noise:
        if small is None and ddp and world > 1:
            raise ValueError("measure_noise under DDP needs at least two micro-batches per rank")
        if small is not None:
            big = grad_sq_norm(model.parameters())
    return AccumulationResult(
        loss=loss_sum / n,
        samples=n,
        micro_batches=len(chunks),
        small_sq_norm=small,
        small_batch=small_n,
        big_sq_norm=big,
        big_batch=total if big is not None else None,
    )
