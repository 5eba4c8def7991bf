"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import (
    Schedule,
    check_fraction,
    check_non_negative,
    check_number,
    check_positive,
    check_span,
    set_field,
)

__all__ = ["CosineRestarts"]


@dataclass(frozen=True)
class CosineRestarts(Schedule):
    """Cosine annealing restarted at the end of each cycle (SGDR), with growing periods.

    Cycle ``i = 0, 1, ...`` starts at ``S_i = P * (m**i - 1) / (m - 1)`` (``S_i = i * P``
    when ``m = 1``) and lasts ``P_i = P * m**i``, with ``P = period`` and
    ``m = period_mult``. Inside it, with ``u = t - S_i`` and peak
    ``h_i = max(lr * peak_decay**i, end_lr)``::

        lr(t) = end_lr + (h_i - end_lr) * (1 + cos(pi * u / P_i)) / 2

    A restart at ``S_i`` applies for ``t >= S_i``. Matches PyTorch
    ``CosineAnnealingWarmRestarts(T_0=period, T_mult=period_mult, eta_min=end_lr)``
    (which has no peak decay and takes integer periods only) and Keras
    ``CosineDecayRestarts`` (whose ``alpha`` also decays; here ``end_lr`` is a fixed
    floor).

    Args:
        lr: the peak of the first cycle, > 0.
        period: the length of the first cycle, > 0.
        period_mult: the growth factor of the cycle length, >= 1.
        end_lr: the floor every cycle anneals to, in ``[0, lr]``.
        peak_decay: the factor applied to the peak at each restart, in ``(0, 1]``.

    Raises:
        ValueError: ``lr`` or ``period`` not > 0, ``period_mult < 1``, ``end_lr``
            outside ``[0, lr]``, ``peak_decay`` outside ``(0, 1]``.
        TypeError: a non-number.

    Example:
        >>> s = CosineRestarts(lr=1.0, period=10, period_mult=2.0, peak_decay=0.5)
        >>> [round(s(t), 12) for t in (0, 5, 10, 20, 30)]
        [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    config_name = "cosine_restarts"
    lr: float
    period: float
    period_mult: float = 1.0
    end_lr: float = 0.0
    peak_decay: float = 1.0

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))
        set_field(self, "period", check_span("period", self.period))
        mult = check_number("period_mult", self.period_mult)
        if mult < 1.0:
            raise ValueError(f"period_mult must be >= 1, got {self.period_mult!r}")
        set_field(self, "period_mult", mult)
        end_lr = check_non_negative("end_lr", self.end_lr)
        if end_lr > self.lr:
            raise ValueError(f"end_lr must be <= lr={self.lr!r}, got {self.end_lr!r}")
        set_field(self, "end_lr", end_lr)
        set_field(
            self, "peak_decay", check_fraction("peak_decay", self.peak_decay, high_open=False)
        )

    def _cycle_start(self, i: np.ndarray) -> np.ndarray:
        if self.period_mult == 1.0:
            return self.period * i
        return self.period * (self.period_mult**i - 1.0) / (self.period_mult - 1.0)

    def _cycle_guess(self, t: np.ndarray) -> np.ndarray:
        if self.period_mult == 1.0:
            return np.floor(t / self.period)
        return np.floor(
            np.log1p(t / self.period * (self.period_mult - 1.0)) / np.log(self.period_mult)
        )

    def _value(self, t: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            out = self._cycles(t)
        # Where the cycle arithmetic overflows (t near the largest float) the place in the
        # cycle is lost to rounding: take the cycle's start, the peak.
        lost = ~np.isfinite(out)
        if np.any(lost):
            out[lost] = self._peak(np.array([np.inf]))[0]
        return out

    def _cycles(self, t: np.ndarray) -> np.ndarray:
        mult = self.period_mult
        guess = float(self._cycle_guess(t.max(initial=0.0)))
        n_cycles = int(guess) + 3 if np.isfinite(guess) else -1
        # with few cycles, tabulate per-cycle values: no pow per t
        few = 0 <= n_cycles <= max(t.size, 1024)
        if mult != 1.0 and few:
            k = np.arange(n_cycles, dtype=np.float64)
            starts = self._cycle_start(k)
            j = np.searchsorted(starts, t, side="right") - 1
            return self._at(t - starts[j], (self.period * mult**k)[j], self._peak(k)[j])
        i = self._cycle_guess(t)
        # Rounding can land one cycle off at a boundary: settle it exactly.
        i = np.where(self._cycle_start(i) > t, i - 1.0, i)
        i = np.where(self._cycle_start(i + 1.0) <= t, i + 1.0, i)
        length = self.period if mult == 1.0 else self.period * mult**i
        if self.peak_decay == 1.0:
            peak: np.ndarray | float = self.lr
        elif few:
            peak = self._peak(np.arange(n_cycles, dtype=np.float64))[i.astype(np.intp)]
        else:
            peak = self._peak(i)
        return self._at(t - self._cycle_start(i), length, peak)

    def _peak(self, i: np.ndarray) -> np.ndarray:
        return np.maximum(self.lr * self.peak_decay**i, self.end_lr)

    def _at(
        self, u: np.ndarray, length: np.ndarray | float, peak: np.ndarray | float
    ) -> np.ndarray:
        # The factor in [0, 1] first: (peak - end_lr) * (1 + cos) overflows near 1e308.
        share = (1.0 + np.cos(np.pi * (u / length))) / 2.0
        return self.end_lr + (peak - self.end_lr) * share

    def _sup(self) -> float:
        return self.lr


@dataclass(frozen=True)
class CosineCycles(Schedule):
    """``num_cycles`` equal cosine cycles with hard restarts over ``total_steps``, then ``end_lr``.

    With ``T = total_steps``, ``c = num_cycles`` and ``u = frac(c * t / T)``::

        lr(t) = end_lr + (lr - end_lr) * (1 + cos(pi * u)) / 2      t < T
        lr(t) = end_lr                                              t >= T

    Each cycle lasts ``T / c`` and restarts at the peak. This is Hugging Face's
    ``get_cosine_with_hard_restarts_schedule_with_warmup`` after its warm-up; unlike
    :class:`CosineRestarts` (which never ends) the run ends at ``T``.

    Args:
        lr: the peak of every cycle, > 0.
        total_steps: ``T``, > 0.
        num_cycles: ``c``, > 0 (need not be whole: the last cycle is then cut short).
        end_lr: the floor, in ``[0, lr]``.

    Raises:
        ValueError: ``lr``, ``total_steps`` or ``num_cycles`` not > 0, ``end_lr``
            outside ``[0, lr]``.
        TypeError: a non-number.

    Example:
        >>> s = CosineCycles(lr=1.0, total_steps=100, num_cycles=2)
        >>> s(0), s(25), s(50), s(75), s(100)
        (1.0, 0.5, 1.0, 0.5, 0.0)
    """

    config_name = "cosine_cycles"
    lr: float
    total_steps: float
    num_cycles: float = 1
    end_lr: float = 0.0

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))
        set_field(self, "total_steps", check_span("total_steps", self.total_steps))
        set_field(self, "num_cycles", check_span("num_cycles", self.num_cycles))
        end_lr = check_non_negative("end_lr", self.end_lr)
        if end_lr > self.lr:
            raise ValueError(f"end_lr must be <= lr={self.lr!r}, got {self.end_lr!r}")
        set_field(self, "end_lr", end_lr)

    def _value(self, t: np.ndarray) -> np.ndarray:
        u = self.num_cycles * (np.minimum(t, self.total_steps) / self.total_steps)
        u -= np.floor(u)  # the fractional part, exactly (x % 1 for x >= 0), faster than mod
        share = (1.0 + np.cos(np.pi * u)) / 2.0  # in [0, 1] first: no overflow near 1e308
        out = self.end_lr + (self.lr - self.end_lr) * share
        out[t >= self.total_steps] = self.end_lr
        return out

    def _sup(self) -> float:
        return self.lr
