"""Reactive control: cut the learning rate when a metric stops improving (:class:`ReduceOnPlateau`).

The controller is a frozen config with an explicit state and a pure update, in
optax's ``init``/``update`` style (as :class:`lrkit.range_test.StopRule`): the same
trace of metrics always gives the same decisions, and a state is plain data that
saves and resumes exactly. Its decisions are those of PyTorch's
``torch.optim.lr_scheduler.ReduceLROnPlateau`` for every option;
:class:`lrkit.torch.PlateauScheduler` drives an optimizer with it.
"""

from __future__ import annotations

import enum
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .._config import Configurable
from ._base import check_choice, check_non_negative, check_number, set_field

__all__ = ["PlateauDecision", "PlateauState", "ReduceOnPlateau"]


class PlateauDecision(str, enum.Enum):
    """What one update decided."""

    HOLD = "hold"
    """No plateau (or one still within ``patience``, or in cooldown)."""
    CUT_LR = "cut_lr"
    """A plateau: the learning rate of at least one group was cut."""
    AT_FLOOR = "at_floor"
    """A plateau, but every group is already within ``eps`` of its ``min_lr``."""
    GROW_BATCH = "grow_batch"
    """A plateau answered by a larger batch (:class:`lrkit.batch_size.BatchOnPlateau`)."""


@dataclass(frozen=True)
class PlateauState:
    """What the controller remembers; plain data (:meth:`to_dict` / :meth:`from_dict`).

    Attributes:
        lrs: the current learning rate of each param group.
        best: the best metric so far (``inf`` for ``mode="min"``, ``-inf`` for max, before any).
        num_bad: metrics since the last improvement (torch's ``num_bad_epochs``).
        cooldown_left: updates left in the cooldown after a cut.
        step: metrics seen.
        plateaus: plateaus detected so far.
    """

    lrs: tuple[float, ...]
    best: float
    num_bad: int = 0
    cooldown_left: int = 0
    step: int = 0
    plateaus: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (an infinite ``best`` is written as a string)."""
        best: float | str = self.best if math.isfinite(self.best) else repr(self.best)
        return {
            "lrs": list(self.lrs),
            "best": best,
            "num_bad": self.num_bad,
            "cooldown_left": self.cooldown_left,
            "step": self.step,
            "plateaus": self.plateaus,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlateauState:
        """Rebuild from :meth:`to_dict`.

        Raises:
            ValueError: a missing key or a value of the wrong kind.
        """
        try:
            return cls(
                lrs=tuple(float(x) for x in data["lrs"]),
                best=float(data["best"]),
                num_bad=int(data["num_bad"]),
                cooldown_left=int(data["cooldown_left"]),
                step=int(data["step"]),
                plateaus=int(data["plateaus"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a PlateauState dict ({exc!r}): {data!r}") from None


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ReduceOnPlateau(Configurable):
    """Cut the learning rate by ``factor`` once a metric has not improved for ``patience`` updates.

    Each :meth:`update` takes one metric ``m`` (a validation loss, say). With ``b`` the
    best so far, ``m`` improves on it when ::

        mode="min", "rel":  m < b * (1 - threshold)      "abs":  m < b - threshold
        mode="max", "rel":  m > b * (1 + threshold)      "abs":  m > b + threshold

    A metric that does not improve is a bad one; metrics in the cooldown after a cut
    do not count. After ``patience + 1`` bad ones in a row, every group's rate
    becomes ``max(lr * factor, min_lr)`` (unless that changes it by ``eps`` or less),
    the count restarts and a cooldown of ``cooldown`` updates begins. These are
    PyTorch's ``ReduceLROnPlateau`` decisions, with the same arithmetic, so the
    rates are equal bit for bit; Keras's ``ReduceLROnPlateau`` callback and
    Hugging Face's ``reduce_lr_on_plateau`` are the same rule.

    Args:
        mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
        factor: the cut, in ``(0, 1)``.
        patience: bad metrics tolerated before a cut, an integer >= 0.
        threshold: how much better counts as better, >= 0.
        threshold_mode: ``"rel"`` or ``"abs"``.
        cooldown: updates after a cut during which bad metrics are not counted, >= 0.
        min_lr: the floor, >= 0, or a list with one floor per param group.
        eps: a cut smaller than this is not made, >= 0.

    Raises:
        ValueError, TypeError: a bad argument (named in the message).

    Example:
        >>> plateau = ReduceOnPlateau(factor=0.5, patience=1)
        >>> state = plateau.init(lrs=0.1)
        >>> for loss in [1.0, 0.9, 0.95, 0.92, 0.91]:
        ...     state, decision = plateau.update(state, loss)
        ...     print(decision.value, state.lrs)
        hold (0.1,)
        hold (0.1,)
        hold (0.1,)
        cut_lr (0.05,)
        hold (0.05,)
    """

    config_name = "reduce_on_plateau"
    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float | tuple[float, ...] = field(default=0.0)
    eps: float = 1e-8

    def __post_init__(self) -> None:
        set_field(self, "mode", check_choice("mode", self.mode, ("min", "max")))
        factor = check_number("factor", self.factor)
        if not 0.0 < factor < 1.0:
            raise ValueError(f"factor must be in (0, 1), got {self.factor!r}")
        set_field(self, "factor", factor)
        set_field(self, "patience", _check_count("patience", self.patience))
        set_field(self, "threshold", check_non_negative("threshold", self.threshold))
        set_field(
            self,
            "threshold_mode",
            check_choice("threshold_mode", self.threshold_mode, ("rel", "abs")),
        )
        set_field(self, "cooldown", _check_count("cooldown", self.cooldown))
        if isinstance(self.min_lr, Sequence) and not isinstance(self.min_lr, str):
            floors = tuple(check_non_negative(f"min_lr[{i}]", v) for i, v in enumerate(self.min_lr))
            if not floors:
                raise ValueError("min_lr must be a number or a non-empty list, got []")
            set_field(self, "min_lr", floors)
        else:
            set_field(self, "min_lr", check_non_negative("min_lr", self.min_lr))
        set_field(self, "eps", check_non_negative("eps", self.eps))

    def floors(self, n: int) -> tuple[float, ...]:
        """``min_lr`` for ``n`` param groups.

        Raises:
            ValueError: a list of floors whose length is not ``n``.
        """
        if isinstance(self.min_lr, tuple):
            if len(self.min_lr) != n:
                raise ValueError(f"min_lr has {len(self.min_lr)} floors for {n} param groups")
            return self.min_lr
        return (float(self.min_lr),) * n

    def init(self, lrs: float | Sequence[float]) -> PlateauState:
        """The state before the first metric, at the learning rate(s) ``lrs`` (one per group).

        Raises:
            ValueError, TypeError: a negative or non-finite rate, or a floor list of
                another length.
        """
        values: tuple[Any, ...] = (lrs,) if isinstance(lrs, numbers.Real) else tuple(lrs)  # type: ignore[arg-type]
        rates = tuple(check_non_negative(f"lrs[{i}]", v) for i, v in enumerate(values))
        if not rates:
            raise ValueError("lrs must hold at least one learning rate, got []")
        self.floors(len(rates))
        return PlateauState(lrs=rates, best=math.inf if self.mode == "min" else -math.inf)

    def is_better(self, metric: float, best: float) -> bool:
        """Whether ``metric`` improves on ``best`` (the rule in the class docstring)."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return metric < best * (1.0 - self.threshold)
            return metric < best - self.threshold
        if self.threshold_mode == "rel":
            return metric > best * (self.threshold + 1.0)
        return metric > best + self.threshold

    def detect(self, state: PlateauState, metric: float) -> tuple[PlateauState, bool]:
        """Feed one metric; return the new state and whether it completes a plateau.

        The learning rates are left alone: :meth:`update` cuts them, and
        :class:`lrkit.batch_size.BatchOnPlateau` decides between a cut and a larger batch.
        """
        current = float(metric)
        best, bad = state.best, state.num_bad
        if self.is_better(current, best):
            best, bad = current, 0
        else:
            bad += 1
        left = state.cooldown_left
        if left > 0:
            left -= 1
            bad = 0  # bad metrics in the cooldown do not count
        plateau = bad > self.patience
        if plateau:
            left, bad = self.cooldown, 0
        new = replace(
            state,
            best=best,
            num_bad=bad,
            cooldown_left=left,
            step=state.step + 1,
            plateaus=state.plateaus + plateau,
        )
        return new, plateau

    def cut(self, lrs: Sequence[float], factor: float | None = None) -> tuple[float, ...]:
        """``max(lr * factor, min_lr)`` per group; a rate the cut moves by ``eps`` or less stays."""
        f = self.factor if factor is None else factor
        out = []
        for old, floor in zip(lrs, self.floors(len(lrs)), strict=True):
            new = max(old * f, floor)
            out.append(new if old - new > self.eps else old)
        return tuple(out)

    def update(self, state: PlateauState, metric: float) -> tuple[PlateauState, PlateauDecision]:
        """Feed one metric; return the new state (with its rates) and the decision."""
        state, plateau = self.detect(state, metric)
        if not plateau:
            return state, PlateauDecision.HOLD
        lrs = self.cut(state.lrs)
        if lrs == state.lrs:
            return state, PlateauDecision.AT_FLOOR
        return replace(state, lrs=lrs), PlateauDecision.CUT_LR
