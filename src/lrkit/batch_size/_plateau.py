"""Grow the batch when a metric plateaus, cut the LR past a cap: :class:`BatchOnPlateau`.

Smith et al. 2018's hybrid ("increase the batch size instead of decaying the
LR", then decay the LR once the batch reaches its cap), triggered by a metric
instead of a calendar. The plateau detection is :class:`lrkit.schedules.ReduceOnPlateau`'s
(torch's decisions); only the answer to a plateau differs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .._config import Configurable
from ..schedules._base import check_number
from ..schedules._plateau import PlateauDecision, PlateauState, ReduceOnPlateau
from ._base import check_batch_size, check_cap, check_clock
from ._schedules import BatchStep

__all__ = ["BatchOnPlateau", "BatchPlateauState"]


@dataclass(frozen=True)
class BatchPlateauState:
    """The plateau state (rates included) and the times at which the batch grew."""

    plateau: PlateauState
    milestones: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint."""
        return {"plateau": self.plateau.to_dict(), "milestones": list(self.milestones)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchPlateauState:
        """Rebuild from :meth:`to_dict`.

        Raises:
            ValueError: a missing key or a value of the wrong kind.
        """
        try:
            return cls(
                PlateauState.from_dict(data["plateau"]),
                tuple(float(m) for m in data["milestones"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a BatchPlateauState dict ({exc!r}): {data!r}") from None


@dataclass(frozen=True)
class BatchOnPlateau(Configurable):
    """On a plateau, grow the batch by ``1 / factor`` up to ``max_batch_size``; past it, cut the LR.

    With ``plateau`` detecting plateaus exactly as :class:`~lrkit.schedules.ReduceOnPlateau`
    (and so as torch's ``ReduceLROnPlateau``), the ``k``-th batch growth sets::

        B_k = clip(round_g(batch_size / factor**k), granularity, max_batch_size)

    from the time of the plateau on, so the batch sizes are the
    :class:`~lrkit.batch_size.BatchStep` that :meth:`batch_schedule` returns, and a
    :class:`lrkit.torch.ScheduledLoader` follows them. The SGD noise scale
    ``lr / B`` falls by ``factor`` at every plateau: when the cap (or rounding) stops
    the batch short of ``B / factor``, the LR takes the rest,
    ``lr * factor * B_new / B``; at the cap the LR is cut by ``factor`` (floored at
    ``plateau.min_lr``), as ``ReduceOnPlateau`` would.

    Args:
        plateau: the plateau rule (its ``factor``, ``patience``, ``threshold``,
            ``cooldown``, ``min_lr`` and ``eps``).
        batch_size: the batch size before the first plateau, >= 1.
        max_batch_size: the cap, a multiple of ``granularity`` and >= ``batch_size``.
        granularity: batch sizes are multiples of this.
        clock: ``"epoch"`` or ``"sample"``, the clock of the times given to :meth:`update`.

    Raises:
        TypeError, ValueError: a bad argument (named in the message).

    Example:
        >>> from lrkit.schedules import ReduceOnPlateau
        >>> rule = BatchOnPlateau(ReduceOnPlateau(factor=0.5, patience=0), 64, 128)
        >>> state = rule.init(lrs=0.1)
        >>> for epoch, loss in enumerate([1.0, 1.0, 1.0, 0.5], start=1):
        ...     state, decision = rule.update(state, loss, time=epoch)
        ...     print(epoch, decision.value, rule.batch_size_at(state, epoch), state.plateau.lrs)
        1 hold 64 (0.1,)
        2 grow_batch 128 (0.1,)
        3 cut_lr 128 (0.05,)
        4 hold 128 (0.05,)
        >>> s = rule.batch_schedule(state)
        >>> s.milestones, s.factor, s.max_batch_size
        ((2,), 2.0, 128)
    """

    config_name = "batch_on_plateau"
    plateau: ReduceOnPlateau
    batch_size: int
    max_batch_size: int
    granularity: int = 1
    clock: str = "epoch"

    def __post_init__(self) -> None:
        if not isinstance(self.plateau, ReduceOnPlateau):
            raise TypeError(f"plateau must be a ReduceOnPlateau, got {self.plateau!r}")
        object.__setattr__(self, "batch_size", check_batch_size("batch_size", self.batch_size))
        g = check_batch_size("granularity", self.granularity)
        object.__setattr__(self, "granularity", g)
        cap = check_cap(self.max_batch_size, g, self.batch_size)
        object.__setattr__(self, "max_batch_size", cap)
        object.__setattr__(self, "clock", check_clock(self.clock))

    def init(self, lrs: float | list[float] | tuple[float, ...]) -> BatchPlateauState:
        """The state before the first metric, at the learning rate(s) ``lrs``."""
        return BatchPlateauState(self.plateau.init(lrs))

    def batch_schedule(self, state: BatchPlateauState) -> BatchStep:
        """The batch sizes decided so far, a schedule on ``clock`` (for a ``ScheduledLoader``)."""
        return BatchStep(
            self.batch_size,
            list(state.milestones),
            1.0 / self.plateau.factor,
            self.max_batch_size,
            self.granularity,
            self.clock,
        )

    def batch_size_at(self, state: BatchPlateauState, time: float) -> int:
        """The batch size decided for ``time``."""
        return int(self.batch_schedule(state)(time))

    def update(
        self, state: BatchPlateauState, metric: float, time: float
    ) -> tuple[BatchPlateauState, PlateauDecision]:
        """Feed the metric measured at ``time`` (on ``clock``); a growth applies from ``time`` on.

        Returns:
            The new state and the decision: ``HOLD``, ``GROW_BATCH`` (the LR may take
            a part when the cap stops the batch short), ``CUT_LR`` or ``AT_FLOOR``.

        Raises:
            ValueError: ``time`` is not after the last growth, or negative.
        """
        t = check_number("time", time)
        if t < 0 or (state.milestones and t <= state.milestones[-1]):
            last = state.milestones[-1] if state.milestones else 0
            raise ValueError(
                f"time must be >= 0 and after the last growth at {last!r}, got {time!r}"
            )
        plateau_state, plateau = self.plateau.detect(state.plateau, metric)
        state = replace(state, plateau=plateau_state)
        if not plateau:
            return state, PlateauDecision.HOLD
        old = self.batch_size_at(state, t)
        grown = replace(state, milestones=(*state.milestones, t))
        new = self.batch_size_at(grown, t)
        if new > old:
            ratio = self.plateau.factor * new / old
            lrs = plateau_state.lrs
            if abs(ratio - 1.0) > 1e-12:
                lrs = self.plateau.cut(lrs, factor=ratio)
            return replace(
                grown, plateau=replace(plateau_state, lrs=lrs)
            ), PlateauDecision.GROW_BATCH
        lrs = self.plateau.cut(plateau_state.lrs)
        if lrs == plateau_state.lrs:
            return state, PlateauDecision.AT_FLOOR
        return replace(state, plateau=replace(plateau_state, lrs=lrs)), PlateauDecision.CUT_LR
