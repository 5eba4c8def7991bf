"""Grow the batch from the measured noise scale: a frozen controller and a pure update.

The simple noise scale ``B_simple = tr(Sigma) / |G|^2`` estimates the critical batch
(McCandlish et al. 2018): below it a bigger batch saves steps almost one for one,
above it it mostly costs samples. It is near 0 at initialisation and rises as the
loss falls (Merrill et al. 2025), so a batch that follows it starts small and grows:
a batch-size warm-up with no milestones set by hand.

The decision logic is numpy-only and has no hidden state: :class:`AdaptiveBatch` is
a frozen config, :class:`AdaptiveBatchState` the explicit state, and
:meth:`AdaptiveBatch.update` a pure function of both and one smoothed ``B_simple``.
Every rank that feeds it the same (all-reduced) numbers takes the same decisions.
The decisions so far form a piecewise-constant :class:`BatchPiecewise` schedule, so
a :class:`~lrkit.torch.ScheduledLoader` follows them like any batch schedule.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .._config import Configurable
from ..schedules._base import (
    Schedule,
    check_bool,
    check_choice,
    check_fraction,
    check_number,
    check_positive,
    check_schedule,
    set_field,
)
from ._base import BatchSchedule, check_batch_size, check_cap, check_clock

__all__ = [
    "LR_COUPLINGS",
    "AdaptiveBatch",
    "AdaptiveBatchState",
    "BatchDecision",
    "BatchPiecewise",
]

LR_COUPLINGS = ("none", "linear", "sqrt")


@dataclass(frozen=True)
class BatchPiecewise(BatchSchedule):
    """A piecewise-constant batch size: ``B(t) = batch_sizes[i]`` for ``boundaries[i] <= t``.

    ``B(t) = batch_size`` before the first boundary. A change at ``b`` applies for
    ``t >= b``, like every lrkit milestone. The decisions of :class:`AdaptiveBatch`
    are one of these.

    Args:
        batch_size: the batch size before the first boundary, an integer >= 1.
        boundaries: strictly increasing times >= 0 on ``clock``.
        batch_sizes: the batch size from each boundary on (same length), integers >= 1.
        clock: ``"epoch"`` or ``"sample"``.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> s = BatchPiecewise(32, boundaries=[1.5, 4.0], batch_sizes=[64, 256])
        >>> s([0.0, 1.5, 3.9, 4.0]).tolist()
        [32, 64, 64, 256]
    """

    config_name = "batch_piecewise"
    batch_size: int
    boundaries: tuple[float, ...] = ()
    batch_sizes: tuple[int, ...] = ()
    clock: str = "epoch"

    def __post_init__(self) -> None:
        set_field(self, "batch_size", check_batch_size("batch_size", self.batch_size))
        for name in ("boundaries", "batch_sizes"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise TypeError(f"{name} must be a list, got {value!r}")
        bounds = tuple(check_number("boundaries", b) for b in self.boundaries)
        if any(b < 0 for b in bounds) or any(b <= a for a, b in itertools.pairwise(bounds)):
            raise ValueError(
                f"boundaries must be strictly increasing and >= 0, got {list(self.boundaries)!r}"
            )
        sizes = tuple(check_batch_size("batch_sizes", b) for b in self.batch_sizes)
        if len(sizes) != len(bounds):
            raise ValueError(
                f"batch_sizes must have one entry per boundary ({len(bounds)}), got {len(sizes)}"
            )
        set_field(self, "boundaries", bounds)
        set_field(self, "batch_sizes", sizes)
        set_field(self, "clock", check_clock(self.clock))

    def _value(self, t: np.ndarray) -> np.ndarray:
        values = np.asarray((self.batch_size, *self.batch_sizes), dtype=np.int64)
        index = np.searchsorted(np.asarray(self.boundaries, dtype=np.float64), t, side="right")
        return values[index]


@dataclass(frozen=True)
class BatchDecision:
    """One change of the batch size, as a row for ``metrics.csv``.

    Attributes:
        update: optimizer updates done when it was taken (the new batch serves update
            ``update + 1`` on).
        time: the clock time from which the new batch applies (the next batch's start).
        b_simple: the smoothed ``B_simple`` it was taken on.
        old_batch_size, new_batch_size: the global batch before and after.
        lr_factor: the LR multiplier after it, relative to the start batch.
        lr: ``lr(time) * lr_factor`` when the controller has an ``lr`` schedule, else NaN.
        max_batch_size: the cap in force (for ``max_batch_size="auto"``, the one chosen).
    """

    update: int
    time: float
    b_simple: float
    old_batch_size: int
    new_batch_size: int
    lr_factor: float
    lr: float
    max_batch_size: int

    def as_row(self) -> dict[str, Any]:
        """The decision as a flat dict (the lab writes it to ``metrics.csv``)."""
        return {
            "event": "batch_size",
            "update": self.update,
            "time": self.time,
            "b_simple": self.b_simple,
            "old_batch_size": self.old_batch_size,
            "new_batch_size": self.new_batch_size,
            "lr_factor": self.lr_factor,
            "lr": self.lr,
            "max_batch_size": self.max_batch_size,
        }


@dataclass(frozen=True)
class AdaptiveBatchState:
    """The controller's state; immutable (:meth:`AdaptiveBatch.update` returns a new one).

    Attributes:
        batch_size: the global batch in force.
        updates: optimizer updates seen (calls to ``update``).
        last_change: ``updates`` at the last decision (0 before any).
        max_batch_size: the cap in force; None while ``"auto"`` has not measured yet.
        b_simple_early: the first ``B_simple`` after warm-up (what ``"auto"`` started
            from); NaN before it.
        decisions: every decision so far, oldest first.
    """

    batch_size: int
    updates: int = 0
    last_change: int = 0
    max_batch_size: int | None = None
    b_simple_early: float = math.nan
    decisions: tuple[BatchDecision, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint; :meth:`from_dict` restores it exactly."""
        return {
            "batch_size": self.batch_size,
            "updates": self.updates,
            "last_change": self.last_change,
            "max_batch_size": self.max_batch_size,
            "b_simple_early": self.b_simple_early,
            "decisions": [d.as_row() for d in self.decisions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdaptiveBatchState:
        """Rebuild a state from :meth:`to_dict`.

        Raises:
            ValueError: not a dict from :meth:`to_dict` (a missing key is named).
        """
        if not isinstance(data, dict):
            raise ValueError(
                f"state must be a dict from AdaptiveBatchState.to_dict(), got {data!r}"
            )
        keys = ("batch_size", "updates", "last_change", "max_batch_size", "b_simple_early")
        missing = [k for k in (*keys, "decisions") if k not in data]
        if missing:
            raise ValueError("a truncated AdaptiveBatchState: missing " + ", ".join(missing))
        decisions = tuple(
            BatchDecision(**{k: v for k, v in row.items() if k != "event"})
            for row in data["decisions"]
        )
        return cls(**{k: data[k] for k in keys}, decisions=decisions)


@dataclass(frozen=True)
class AdaptiveBatch(Configurable):
    """Grow the global batch while the smoothed ``B_simple`` is above it.

    After ``warmup_updates`` updates, and ``cooldown_updates`` after each change, the
    batch ``B`` becomes ``B * k`` with the integer ``k = factor**j`` for the largest
    ``j`` such that ``margin * B * factor**j <= B_simple``, cut to ``B * (cap // B)``
    if that is smaller; it changes only if ``k >= 2``. So the batch grows once
    ``B_simple`` reaches ``margin`` times the next batch, stays a multiple of the start
    batch (hence of ``granularity``, the micro-batch times the world size), never
    passes the cap and never shrinks. With ``allow_shrink=True`` it divides by
    ``factor`` while ``B_simple < margin * B / factor`` (and ``B / factor`` is still
    a multiple of ``granularity``, not below ``min_batch_size``): the band between the
    two thresholds spans ``factor**2``, so it does not oscillate.

    LR coupling, with ``B0`` the start batch (the LR multiplier is ``lr_factor``):

    - ``"none"``: ``lr`` unchanged. The SGD noise scale ``lr * N / B`` falls as ``B``
      grows: growing the batch at a fixed LR acts like LR decay (Smith et al. 2018).
    - ``"linear"``: ``lr * B / B0``, keeps the SGD noise scale ``lr / B`` (Goyal et
      al. 2017): fewer, bigger steps on the same per-epoch curve.
    - ``"sqrt"``: ``lr * sqrt(B / B0)``, keeps Adam's ``lr**2 / B`` (the square-root
      rule of Malladi et al. 2022), for Adam-type optimizers. Past ``B_noise`` the
      best Adam LR can fall again (the surge, Li et al. 2024): keep the cap near
      the measured noise scale.

    ``max_batch_size="auto"``: the cap is chosen from measurements. The first
    ``B_simple`` after warm-up sets it (``b_simple_early`` in the state), and each
    eligible update (past warm-up and cool-down) re-measures it and may raise it:
    ``cap = max(cap, floor_g(min(B_simple / margin, max_fraction * dataset_size)))``:
    the batch the measured critical batch allows, never above the ``N / 10`` of
    Smith et al. (2018) by default, and never below the start batch. The cap only
    rises: the critical batch rises, then plateaus (Merrill et al. 2025).

    Args:
        batch_size: the start batch ``B0`` (global), a multiple of ``granularity``.
        max_batch_size: the cap, a multiple of ``granularity``, or ``"auto"``.
        granularity: every batch is a multiple of it (micro-batch x world size).
        factor: the growth factor per step, an integer >= 2.
        margin: grow once ``B_simple >= margin * factor * B``, > 0.
        warmup_updates: updates before the first decision (``B_simple`` is near 0 and
            noisy at initialisation), >= 0.
        cooldown_updates: updates between decisions (the EMA settles), >= 1.
        lr_coupling: ``"none"``, ``"linear"`` or ``"sqrt"``.
        allow_shrink: also shrink (see above).
        min_batch_size: the smallest batch when shrinking; None: ``batch_size``.
        dataset_size: ``N``; needed for ``"auto"`` (the ``max_fraction * N`` bound).
        max_fraction: ``"auto"`` never passes ``max_fraction * N``, in (0, 1].
        lr: the base LR schedule (on the loader's clock), only for the ``lr`` of the
            decision records and :meth:`lr_at`; None leaves them NaN.

    Raises:
        TypeError, ValueError: a bad argument (the message names it).

    Example:
        >>> ctl = AdaptiveBatch(batch_size=32, max_batch_size=512, warmup_updates=2,
        ...                     cooldown_updates=2, lr_coupling="linear")
        >>> state = ctl.init()
        >>> for t, b_simple in enumerate([10.0, 150.0, 150.0, 150.0, 700.0]):
        ...     state = ctl.update(state, b_simple, time=0.1 * (t + 1))
        >>> [(d.update, d.old_batch_size, d.new_batch_size) for d in state.decisions]
        [(2, 32, 128), (5, 128, 512)]
        >>> ctl.lr_factor(state)
        16.0
        >>> ctl.schedule(state)(0.25), ctl.schedule(state)(0.5)
        (128, 512)
    """

    config_name = "adaptive_batch"
    batch_size: int
    max_batch_size: int | str
    granularity: int = 1
    factor: int = 2
    margin: float = 1.0
    warmup_updates: int = 50
    cooldown_updates: int = 50
    lr_coupling: str = "none"
    allow_shrink: bool = False
    min_batch_size: int | None = None
    dataset_size: int | None = None
    max_fraction: float = 0.1
    lr: Schedule | None = None
    clock: str = "epoch"

    def __post_init__(self) -> None:
        g = check_batch_size("granularity", self.granularity)
        set_field(self, "granularity", g)
        b0 = check_batch_size("batch_size", self.batch_size)
        if b0 % g:
            raise ValueError(f"batch_size must be a multiple of granularity={g}, got {b0!r}")
        set_field(self, "batch_size", b0)
        if self.max_batch_size != "auto":
            if isinstance(self.max_batch_size, str):
                raise ValueError(
                    f"max_batch_size must be an integer or 'auto', got {self.max_batch_size!r}"
                )
            set_field(self, "max_batch_size", check_cap(self.max_batch_size, g, b0))
        factor = check_batch_size("factor", self.factor)
        if factor < 2:
            raise ValueError(f"factor must be an integer >= 2, got {self.factor!r}")
        set_field(self, "factor", factor)
        set_field(self, "margin", check_positive("margin", self.margin))
        for name, low in (("warmup_updates", 0), ("cooldown_updates", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
            set_field(self, name, int(value))
        set_field(self, "lr_coupling", check_choice("lr_coupling", self.lr_coupling, LR_COUPLINGS))
        set_field(self, "allow_shrink", check_bool("allow_shrink", self.allow_shrink))
        if self.min_batch_size is not None:
            low = check_batch_size("min_batch_size", self.min_batch_size)
            if low % g or low > b0:
                raise ValueError(
                    f"min_batch_size must be a multiple of granularity={g} and <= "
                    f"batch_size={b0}, got {self.min_batch_size!r}"
                )
            set_field(self, "min_batch_size", low)
        if self.dataset_size is not None:
            set_field(self, "dataset_size", check_batch_size("dataset_size", self.dataset_size))
        elif self.max_batch_size == "auto":
            raise ValueError(
                "max_batch_size='auto' needs dataset_size (the max_fraction * N bound)"
            )
        set_field(
            self, "max_fraction", check_fraction("max_fraction", self.max_fraction, high_open=False)
        )
        if self.lr is not None:
            check_schedule("lr", self.lr)
        set_field(self, "clock", check_clock(self.clock))

    @property
    def auto(self) -> bool:
        """Whether the cap is chosen from measurements (``max_batch_size="auto"``)."""
        return self.max_batch_size == "auto"

    def init(self) -> AdaptiveBatchState:
        """The state before the first update: the start batch, no decision."""
        cap = None if self.auto else int(self.max_batch_size)
        return AdaptiveBatchState(batch_size=self.batch_size, max_batch_size=cap)

    def lr_factor(self, state: AdaptiveBatchState) -> float:
        """The LR multiplier for the batch in force: 1, ``B / B0`` or ``sqrt(B / B0)``."""
        ratio = state.batch_size / self.batch_size
        if self.lr_coupling == "linear":
            return ratio
        if self.lr_coupling == "sqrt":
            return math.sqrt(ratio)
        return 1.0

    def lr_at(self, state: AdaptiveBatchState, t: float) -> float:
        """``lr(t) * lr_factor(state)``; needs the ``lr`` schedule.

        Raises:
            ValueError: the controller has no ``lr`` schedule.
        """
        if self.lr is None:
            raise ValueError("lr_at needs the controller's lr schedule (lr=None)")
        return float(self.lr(t)) * self.lr_factor(state)

    def schedule(self, state: AdaptiveBatchState) -> BatchPiecewise:
        """The batch schedule the decisions so far make (a value; equal states, equal schedules)."""
        return BatchPiecewise(
            self.batch_size,
            boundaries=tuple(d.time for d in state.decisions),
            batch_sizes=tuple(d.new_batch_size for d in state.decisions),
            clock=self.clock,
        )

    def _auto_cap(self, state: AdaptiveBatchState, b_simple: float) -> int:
        g = self.granularity
        bound = min(b_simple / self.margin, self.max_fraction * (self.dataset_size or 0))
        measured = int(bound // g) * g
        return max(self.batch_size, state.max_batch_size or 0, measured)

    def _target(self, batch: int, b_simple: float, cap: int) -> int:
        k = 1
        while self.margin * batch * k * self.factor <= b_simple:
            k *= self.factor
        k = min(k, cap // batch)
        if k >= 2:
            return batch * k
        if not self.allow_shrink:
            return batch
        low = self.batch_size if self.min_batch_size is None else self.min_batch_size
        new = batch
        while (
            b_simple < self.margin * new / self.factor
            and new % self.factor == 0
            and (new // self.factor) % self.granularity == 0
            and new // self.factor >= low
        ):
            new //= self.factor
        return new

    def update(self, state: AdaptiveBatchState, b_simple: float, time: float) -> AdaptiveBatchState:
        """Count one optimizer update and maybe change the batch (pure: returns a new state).

        Call it after each update with the smoothed ``B_simple`` and ``time``, the
        clock at which the next batch starts (``ScheduledLoader.time`` after the
        batch). A ``B_simple`` that is NaN, infinite or <= 0 (no usable estimate yet)
        counts the update and decides nothing.

        Raises:
            TypeError, ValueError: ``b_simple`` not a number, a negative or non-finite
                ``time``, or a ``time`` before the last decision's.
        """
        if isinstance(b_simple, bool) or not isinstance(b_simple, (int, float, np.floating)):
            raise TypeError(f"b_simple must be a number, got {b_simple!r}")
        b_simple = float(b_simple)
        time = check_number("time", time)
        if time < 0:
            raise ValueError(f"time must be >= 0, got {time!r}")
        updates = state.updates + 1
        state = replace(state, updates=updates)
        if updates < self.warmup_updates or not (b_simple > 0 and math.isfinite(b_simple)):
            return state
        if self.auto and math.isnan(state.b_simple_early):
            state = replace(
                state,
                b_simple_early=b_simple,
                max_batch_size=self._auto_cap(state, b_simple),
            )
        if state.decisions and updates - state.last_change < self.cooldown_updates:
            return state
        cap = self._auto_cap(state, b_simple) if self.auto else int(self.max_batch_size)
        state = replace(state, max_batch_size=cap)
        new = self._target(state.batch_size, b_simple, cap)
        if new == state.batch_size:
            return state
        if state.decisions and time <= state.decisions[-1].time:
            raise ValueError(
                f"time must increase between decisions: got {time!r} after "
                f"{state.decisions[-1].time!r}"
            )
        after = replace(state, batch_size=new, last_change=updates)
        factor = self.lr_factor(after)
        lr = math.nan if self.lr is None else float(self.lr(time)) * factor
        decision = BatchDecision(
            update=updates,
            time=time,
            b_simple=b_simple,
            old_batch_size=state.batch_size,
            new_batch_size=new,
            lr_factor=factor,
            lr=lr,
            max_batch_size=cap,
        )
        return replace(after, decisions=(*state.decisions, decision))
