"""Increase the batch instead of decaying the LR, for Adam-type optimizers.

:func:`~lrkit.batch_size.increase_batch_instead` keeps the SGD noise scale
``lr / B``. Adam normalises the gradient by its running RMS, so its update noise
does not scale like SGD's. Malladi, Lyu, Panigrahi & Arora (NeurIPS 2022, "On the
SDEs and Scaling Rules for Adaptive Gradient Algorithms") show that Adam's SDE is
kept when the batch grows by ``k`` and the LR by ``sqrt(k)`` (the square-root rule;
they also scale ``1 - beta`` by ``k`` and ``eps`` by ``1 / sqrt(k)``, which matters
little for ``k`` of a few). The quantity kept is ``lr**2 / B``, so the batch growth
that stands in for an LR cut by ``a`` is ``a**2``, not ``a``.

The rule has a range: Li et al. (2024, "Surge phenomenon in optimal learning rate
and batch size scaling", arXiv 2405.14578) find that Adam's best LR first rises with
the batch and then falls once the batch passes the noise scale ``B_noise``. Past it
the square-root rule overshoots, so cap the batch near the measured noise scale
(:class:`lrkit.torch.GradientNoiseScale`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..schedules._base import Schedule, check_positive, check_schedule, set_field
from ._base import BatchSchedule, check_batch_size, check_cap, check_clock, round_batch
from ._convert import BatchPlan

__all__ = [
    "AdamBatchFromLR",
    "AdamMatchedLR",
    "adam_equivalent_batch_size",
    "increase_batch_instead_adam",
]


def adam_equivalent_batch_size(batch_size: int, *, lr: float, new_lr: float) -> float:
    """The batch with Adam's noise ``lr**2 / B`` kept when the LR changes: ``B * (lr / new_lr)**2``.

    Decaying Adam's LR from ``lr`` to ``new_lr`` is matched by growing the batch to
    this at the old LR (square-root rule, Malladi et al. 2022). The SGD twin,
    ``B * lr / new_lr``, is :func:`equivalent_batch_size` read the other way.

    Raises:
        TypeError, ValueError: a bad argument (named).

    Example:
        >>> adam_equivalent_batch_size(64, lr=1e-3, new_lr=5e-4)
        256.0
    """
    b = check_batch_size("batch_size", batch_size)
    ratio = check_positive("lr", lr) / check_positive("new_lr", new_lr)
    return b * ratio * ratio


@dataclass(frozen=True)
class AdamBatchFromLR(BatchSchedule):
    """``B(t) = clip(round_g(batch_size * (lr(0) / lr(t))**2), granularity, max_batch_size)``.

    The batch that takes an Adam LR schedule's decay under the square-root rule;
    where ``lr(t) = 0`` the cap is used.

    Args:
        lr: the LR schedule whose decay the batch takes over (on ``clock``), > 0 at 0.
        batch_size: the batch at ``t = 0``.
        max_batch_size: the cap, a multiple of ``granularity`` and >= ``batch_size``.
        granularity: batch sizes are multiples of this.
        clock: ``"epoch"`` or ``"sample"``.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> from lrkit.schedules import StepDecay
        >>> s = AdamBatchFromLR(StepDecay(lr=1e-3, step_size=2, gamma=0.5), 32, 4096)
        >>> s([0, 2, 4]).tolist()
        [32, 128, 512]
    """

    config_name = "adam_batch_from_lr"
    lr: Schedule
    batch_size: int
    max_batch_size: int
    granularity: int = 1
    clock: str = "epoch"

    def __post_init__(self) -> None:
        check_schedule("lr", self.lr)
        set_field(self, "batch_size", check_batch_size("batch_size", self.batch_size))
        g = check_batch_size("granularity", self.granularity)
        set_field(self, "granularity", g)
        set_field(self, "max_batch_size", check_cap(self.max_batch_size, g, self.batch_size))
        if not self.lr(0.0) > 0.0:
            raise ValueError(f"lr must be > 0 at t=0 (the reference), got lr(0)={self.lr(0.0)!r}")
        set_field(self, "clock", check_clock(self.clock))

    def _value(self, t: np.ndarray) -> np.ndarray:
        lr = np.asarray(self.lr(t), dtype=np.float64)
        ref = float(self.lr(0.0))
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            raw = np.where(lr > 0.0, self.batch_size * (ref / lr) ** 2, np.inf)
        return round_batch(raw, self.granularity, self.max_batch_size)


@dataclass(frozen=True)
class AdamMatchedLR(Schedule):
    """The Adam LR that goes with a batch schedule: ``lr(t) * sqrt(B(t) / base_batch_size)``.

    Keeps ``value(t)**2 / B(t) == lr(t)**2 / base_batch_size`` (to float rounding).

    Args:
        lr: the original LR schedule, written for ``base_batch_size``.
        batch_size: the batch schedule actually used.
        base_batch_size: the batch ``lr`` was written for.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> from lrkit.schedules import Constant
        >>> from lrkit.batch_size import BatchConstant
        >>> AdamMatchedLR(Constant(lr=1e-3), BatchConstant(batch_size=256), base_batch_size=64)(0)
        0.002
    """

    config_name = "adam_matched_lr"
    lr: Schedule
    batch_size: BatchSchedule
    base_batch_size: int

    def __post_init__(self) -> None:
        check_schedule("lr", self.lr)
        if not isinstance(self.batch_size, BatchSchedule):
            raise TypeError(f"batch_size must be a BatchSchedule, got {self.batch_size!r}")
        set_field(
            self, "base_batch_size", check_batch_size("base_batch_size", self.base_batch_size)
        )
        if not np.isfinite(self._sup()):
            raise ValueError(
                "lr * sqrt(batch_size / base_batch_size) passes the largest float: "
                f"lr reaches {self.lr._sup()!r}"
            )

    def _value(self, t: np.ndarray) -> np.ndarray:
        lr = np.asarray(self.lr(t), dtype=np.float64)
        batch = np.asarray(self.batch_size(t), dtype=np.float64)
        return lr * np.sqrt(batch / self.base_batch_size)

    def _sup(self) -> float:
        cap = getattr(self.batch_size, "max_batch_size", None) or 2**62  # int64 batch sizes
        with np.errstate(over="ignore"):
            return float(self.lr._sup() * np.sqrt(np.float64(cap) / self.base_batch_size))


def increase_batch_instead_adam(
    lr_schedule: Schedule,
    batch_size: int,
    max_batch_size: int,
    *,
    granularity: int = 1,
    clock: str = "epoch",
) -> BatchPlan:
    """Grow the batch where an Adam LR schedule decays (``B ∝ lr**-2``); past the cap decay the LR.

    ``B(t) = clip(round_g(B0 * (lr_ref(0) / lr_ref(t))**2), granularity, max_batch_size)``
    and ``lr(t) = lr_ref(t) * sqrt(B(t) / B0)``, so that
    ``plan.lr(t)**2 / plan.batch_size(t) == lr_schedule(t)**2 / B0`` at every ``t``,
    rounding and the cap included (Malladi et al. 2022's square-root rule read
    backwards). An LR cut by ``a`` becomes a batch ``a**2`` times larger: the batch
    hits its cap twice as fast (in decades) as :func:`increase_batch_instead`'s.
    Beyond the noise scale the rule stops holding (the surge of Li et al. 2024), so
    keep ``max_batch_size`` near the measured ``B_simple``.

    Args:
        lr_schedule: the Adam LR schedule written for ``batch_size``, > 0 at 0.
        batch_size: the original batch ``B0``.
        max_batch_size: the cap, a multiple of ``granularity``.
        granularity: batch sizes are multiples of this.
        clock: ``"epoch"`` or ``"sample"`` (never optimizer steps).

    Returns:
        A :class:`BatchPlan` (``momentum`` None: Adam's betas are left as they are).

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> from lrkit.schedules import MultiStepDecay
        >>> ref = MultiStepDecay(lr=1e-3, milestones=[2, 4], gamma=0.5)
        >>> plan = increase_batch_instead_adam(ref, 32, 256)
        >>> plan.batch_size([0, 2, 4]).tolist()
        [32, 128, 256]
        >>> [round(x, 7) for x in plan.lr([0, 2, 4]).tolist()]
        [0.001, 0.001, 0.0007071]
    """
    check_schedule("lr_schedule", lr_schedule)
    batch = AdamBatchFromLR(
        lr=lr_schedule,
        batch_size=batch_size,
        max_batch_size=max_batch_size,
        granularity=granularity,
        clock=clock,
    )
    lr = AdamMatchedLR(lr=lr_schedule, batch_size=batch, base_batch_size=batch.batch_size)
    return BatchPlan(lr=lr, batch_size=batch)
