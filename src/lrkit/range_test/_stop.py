"""The causal stop rule of a range test: a frozen state and a pure update."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ._sweep import check_positive_float

__all__ = ["StopRule", "StopState"]


@dataclass(frozen=True)
class StopState:
    """What the stop rule remembers: steps seen, the EMA accumulator and the best smoothed loss."""

    step: int = 0
    accumulator: float = 0.0
    best: float = math.inf

    def smoothed(self, beta: float) -> float:
        """The bias-corrected EMA after ``step`` losses (NaN before the first)."""
        if self.step == 0:
            return math.nan
        return self.accumulator / (1.0 - beta**self.step)


@dataclass(frozen=True)
class StopRule:
    """Stop a sweep once the loss diverges, looking only at losses seen so far.

    With ``s_t`` the bias-corrected EMA of the raw losses,
    ``s_t = (1 - beta) * sum_k beta**(t-k) * loss_k / (1 - beta**t)``, and
    ``best_t = min_{k <= t} s_k``, the sweep stops at the first step where the raw loss
    is NaN or infinite, or where ``s_t > best_t + (stop_factor - 1) * |best_t|``
    (``s_t > stop_factor * best_t`` for positive losses, the rule of fastai and
    torch-lr-finder). The EMA only decides when to stop; suggestions use a centred fit.

    Args:
        stop_factor: divergence factor, > 1 (fastai uses 4, torch-lr-finder 5).
        smoothing: EMA weight ``beta`` on the past, in [0, 1) (0: raw losses).

    Raises:
        TypeError, ValueError: a bad ``stop_factor`` or ``smoothing`` (named in the message).

    Example:
        >>> rule = StopRule(stop_factor=4.0, smoothing=0.0)
        >>> state = rule.init()
        >>> for loss in [2.0, 1.0, 0.5, 3.0]:
        ...     state, reason = rule.update(state, loss)
        >>> reason
        'loss diverged: smoothed loss 3 > 4 x best 0.5'
    """

    stop_factor: float = 4.0
    smoothing: float = 0.9

    def __post_init__(self) -> None:
        factor = check_positive_float("stop_factor", self.stop_factor)
        if factor <= 1.0:
            raise ValueError(f"stop_factor must be > 1, got {self.stop_factor!r}")
        object.__setattr__(self, "stop_factor", factor)
        if isinstance(self.smoothing, bool) or not isinstance(self.smoothing, (int, float)):
            raise TypeError(f"smoothing must be a number in [0, 1), got {self.smoothing!r}")
        if not 0.0 <= float(self.smoothing) < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {self.smoothing!r}")
        object.__setattr__(self, "smoothing", float(self.smoothing))

    def init(self) -> StopState:
        """The state before the first loss."""
        return StopState()

    def update(self, state: StopState, loss: float) -> tuple[StopState, str | None]:
        """Feed one raw loss; return the new state and a reason to stop, or ``None``."""
        loss = float(loss)
        if not math.isfinite(loss):
            return state, f"non-finite loss ({loss})"
        beta = self.smoothing
        new = StopState(state.step + 1, beta * state.accumulator + (1.0 - beta) * loss, state.best)
        smoothed = new.smoothed(beta)
        best = min(state.best, smoothed)
        new = StopState(new.step, new.accumulator, best)
        if smoothed > best + (self.stop_factor - 1.0) * abs(best):
            factor = f"{self.stop_factor:g}"
            return new, f"loss diverged: smoothed loss {smoothed:.3g} > {factor} x best {best:.3g}"
        return new, None

    def first_stop(self, losses: Iterable[float]) -> tuple[int | None, str | None]:
        """Index of the first loss at which the rule stops (``None``: never), and why."""
        state = self.init()
        for i, loss in enumerate(losses):
            state, reason = self.update(state, loss)
            if reason is not None:
                return i, reason
        return None, None
