"""Cyclical learning rates (Smith 2017) and the one-cycle policy (Smith & Topin 2018)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import (
    Schedule,
    between,
    check_bool,
    check_choice,
    check_fraction,
    check_non_negative,
    check_number,
    check_positive,
    check_span,
    set_field,
)
from ._combinators import Mirror, check_momentum

__all__ = ["Cyclic", "OneCycle"]

_MODES = ("triangular", "triangular2", "exp_range")


def _check_momentum_pair(base_momentum: float, max_momentum: float) -> tuple[float, float]:
    low = check_momentum("base_momentum", base_momentum)
    high = check_momentum("max_momentum", max_momentum)
    if high < low:
        raise ValueError(
            f"max_momentum must be >= base_momentum={base_momentum!r}, got {max_momentum!r}"
        )
    return low, high


@dataclass(frozen=True)
class Cyclic(Schedule):
    """A triangular cycle between ``base_lr`` and ``max_lr`` (Smith 2017, "CLR").

    With ``U = step_size`` (rising half), ``D = step_size_down`` (falling half,
    ``U`` by default), ``C = U + D`` and ``r = U / C``::

        cycle = floor(1 + t / C)              (1, 2, ...)
        x     = 1 + t / C - cycle             (position in the cycle, [0, 1))
        s     = x / r  if x <= r  else (x - 1) / (r - 1)
        lr(t) = base_lr + (max_lr - base_lr) * s * f

    where ``f = 1`` (``"triangular"``), ``f = 1 / 2 ** (cycle - 1)``
    (``"triangular2"``: the amplitude halves each cycle) or ``f = gamma ** t``
    (``"exp_range"``: gamma scales the amplitude only, as in PyTorch). Matches
    PyTorch ``CyclicLR(base_lr, max_lr, step_size_up=U, step_size_down=D, mode,
    gamma)``; its momentum cycling is :meth:`momentum`, never applied implicitly.

    Args:
        base_lr: the bottom of the cycle, >= 0.
        max_lr: the top of the first cycle, >= ``base_lr`` and > 0.
        step_size: ``U``, the length of the rising half, > 0.
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: the per-step amplitude factor of ``"exp_range"``, in ``(0, 1]``; must
            stay 1 in the other modes, which ignore it.
        step_size_down: ``D``, the length of the falling half, > 0; ``None`` for ``U``.

    Raises:
        ValueError: a bad bound, ``max_lr < base_lr``, unknown ``mode``, ``gamma``
            outside ``(0, 1]`` or set in a mode that ignores it, a length not > 0.
        TypeError: a non-number.

    Example:
        >>> s = Cyclic(base_lr=0.1, max_lr=1.0, step_size=10)
        >>> s(0), s(5), s(10), s(20)
        (0.1, 0.55, 1.0, 0.1)
        >>> round(Cyclic(0.1, 1.0, 10, mode="triangular2")(30), 12)
        0.55
    """

    config_name = "cyclic"
    base_lr: float
    max_lr: float
    step_size: float
    mode: str = "triangular"
    gamma: float = 1.0
    step_size_down: float | None = None

    def __post_init__(self) -> None:
        set_field(self, "base_lr", check_non_negative("base_lr", self.base_lr))
        max_lr = check_positive("max_lr", self.max_lr)
        if max_lr < self.base_lr:
            raise ValueError(f"max_lr must be >= base_lr={self.base_lr!r}, got {self.max_lr!r}")
        set_field(self, "max_lr", max_lr)
        set_field(self, "step_size", check_span("step_size", self.step_size))
        set_field(self, "mode", check_choice("mode", self.mode, _MODES))
        set_field(self, "gamma", check_fraction("gamma", self.gamma, high_open=False))
        if self.mode != "exp_range" and self.gamma != 1.0:
            raise ValueError(
                f"gamma is only used by mode='exp_range'; got gamma={self.gamma!r} "
                f"with mode={self.mode!r}"
            )
        if self.step_size_down is not None:
            set_field(self, "step_size_down", check_span("step_size_down", self.step_size_down))

    def _value(self, t: np.ndarray) -> np.ndarray:
        up = float(self.step_size)
        down = up if self.step_size_down is None else float(self.step_size_down)
        total = up + down
        if np.isinf(total):  # two halves near 1e308: every t lies in the first cycle
            cycle = np.ones_like(t)
            s = np.where(t <= up, t / up, 1.0 - (t - up) / down)
        else:
            ratio = up / total
            u = t / total
            # Where t / total overflows (t near the largest float) the place in the cycle
            # is lost to rounding: take the cycle's start, as for every t >= 2**53 * total.
            u = np.where(np.isfinite(u), u, 0.0)
            cycle = np.floor(1.0 + u)
            x = 1.0 + u - cycle
            # A half of negligible length (ratio 0 or 1 after rounding) is skipped, not 0/0.
            rise = x / ratio if ratio > 0.0 else np.zeros_like(x)
            fall = (x - 1.0) / (ratio - 1.0) if ratio < 1.0 else np.zeros_like(x)
            s = np.where(x <= ratio, rise, fall)
        height = (self.max_lr - self.base_lr) * s
        if self.mode == "triangular2":
            height *= 0.5 ** (cycle - 1.0)
        elif self.mode == "exp_range":
            height *= self.gamma**t
        # Within [base_lr, max_lr], also where base_lr + height rounds past max_lr = 1.8e308.
        return between(self.base_lr + height, self.base_lr, self.max_lr)

    def _sup(self) -> float:
        return self.max_lr

    def momentum(self, base_momentum: float = 0.8, max_momentum: float = 0.9) -> Mirror:
        """The momentum that cycles opposite to this rate, as PyTorch ``CyclicLR`` does.

        ``m(t) = max_momentum - (max_momentum - base_momentum) * s * f``: at
        ``base_lr`` the momentum is ``max_momentum``, at the top it is ``base_momentum``.

        Args:
            base_momentum: the momentum at the top of the cycle, in ``[0, 1)``.
            max_momentum: the momentum at ``base_lr``, in ``[base_momentum, 1)``.

        Raises:
            ValueError: a momentum outside ``[0, 1)`` or ``max_momentum < base_momentum``.

        Example:
            >>> m = Cyclic(base_lr=0.1, max_lr=1.0, step_size=10).momentum()
            >>> m(0), m(10)
            (0.9, 0.8)
        """
        low, high = _check_momentum_pair(base_momentum, max_momentum)
        return Mirror(self, low=low, high=high, lr_low=self.base_lr, lr_high=self.max_lr)


def _anneal(kind: str, start: float, end: float, pct: np.ndarray) -> np.ndarray:
    # The same expressions as PyTorch's OneCycleLR, so the two agree to the last bits.
    if kind == "cos":
        return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1.0)
    return (end - start) * pct + start


@dataclass(frozen=True)
class OneCycle(Schedule):
    """The one-cycle policy: warm up to ``max_lr``, then anneal far below the start.

    With ``T = total_steps``, ``a = max_lr / div_factor`` (start) and
    ``z = a / final_div_factor`` (end), the phases end at (PyTorch ``OneCycleLR``'s
    boundaries exactly)::

        two phases:   a -> max_lr until pct_start*T - 1, max_lr -> z until T - 1
        three phases: a -> max_lr until pct_start*T - 1, max_lr -> a until
                      2*pct_start*T - 2, a -> z until T - 1

    Inside a phase from ``s`` to ``e`` with ``p = (t - s) / (e - s)``, the rate goes
    from ``u`` to ``v`` as ``v + (u - v) * (1 + cos(pi * p)) / 2`` (``anneal="cos"``)
    or ``u + (v - u) * p`` (``"linear"``). Differences from PyTorch: for
    ``t >= T - 1`` the end value ``z`` is held (PyTorch extrapolates at step ``T``,
    which can give a negative rate, and raises after it); a phase of zero length
    gives its end value instead of a ZeroDivisionError. Momentum is
    :meth:`momentum`, never applied implicitly.

    Args:
        max_lr: the peak rate, > 0.
        total_steps: ``T``, >= 1.
        pct_start: the share of ``T`` spent warming up, in ``[0, 1]``.
        anneal: ``"cos"`` or ``"linear"``.
        div_factor: ``max_lr / start``, >= 1.
        final_div_factor: ``start / end``, >= 1.
        three_phase: anneal back to the start before the final decay (Smith's
            original); otherwise two phases (fastai's).

    Raises:
        ValueError: a bad value of any argument (the message names it).
        TypeError: a non-number, or ``three_phase`` not a bool.

    Example:
        >>> s = OneCycle(max_lr=1.0, total_steps=1001, pct_start=0.25)
        >>> [round(s(t), 9) for t in (0, 249.25, 1000, 5000)]
        [0.04, 1.0, 4e-06, 4e-06]
    """

    config_name = "one_cycle"
    max_lr: float
    total_steps: float
    pct_start: float = 0.3
    anneal: str = "cos"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False

    def __post_init__(self) -> None:
        set_field(self, "max_lr", check_positive("max_lr", self.max_lr))
        total = check_span("total_steps", self.total_steps)
        if total < 1:
            raise ValueError(f"total_steps must be >= 1, got {self.total_steps!r}")
        set_field(self, "total_steps", total)
        set_field(
            self,
            "pct_start",
            check_fraction("pct_start", self.pct_start, low_open=False, high_open=False),
        )
        set_field(self, "anneal", check_choice("anneal", self.anneal, ("cos", "linear")))
        for name in ("div_factor", "final_div_factor"):
            value = check_number(name, getattr(self, name))
            if value < 1.0:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
            set_field(self, name, value)
        set_field(self, "three_phase", check_bool("three_phase", self.three_phase))

    def _phases(self, start: float, peak: float, end: float) -> list[tuple[float, float, float]]:
        """``(end_step, from, to)`` of each phase for the levels start -> peak -> end."""
        warm_end = float(self.pct_start * self.total_steps) - 1
        last = float(self.total_steps) - 1
        if self.three_phase:
            back_end = float(2 * self.pct_start * self.total_steps) - 2
            return [(warm_end, start, peak), (back_end, peak, start), (last, start, end)]
        return [(warm_end, start, peak), (last, peak, end)]

    def _value(self, t: np.ndarray) -> np.ndarray:
        initial = self.max_lr / self.div_factor
        phases = self._phases(initial, self.max_lr, initial / self.final_div_factor)
        tc = np.minimum(t, float(self.total_steps) - 1)
        out = np.empty(t.shape, dtype=np.float64)
        todo = np.ones(t.shape, dtype=bool)
        phase_start = 0.0
        for i, (phase_end, a, b) in enumerate(phases):
            sel = todo if i == len(phases) - 1 else todo & (tc <= phase_end)
            length = phase_end - phase_start
            pct = (tc[sel] - phase_start) / length if length != 0 else np.ones(np.sum(sel))
            out[sel] = _anneal(self.anneal, a, b, pct)
            todo &= ~sel
            phase_start = phase_end
        return out

    def _sup(self) -> float:
        return self.max_lr

    def momentum(self, base_momentum: float = 0.85, max_momentum: float = 0.95) -> Mirror:
        """The momentum that moves opposite to this rate, as PyTorch ``OneCycleLR`` does.

        ``max_momentum -> base_momentum`` while the rate warms up, back to
        ``max_momentum`` while it anneals (and held there in the third phase), with
        the same phase boundaries and anneal shape. Built as a :class:`Mirror` of a
        unit one-cycle whose start and end levels coincide.

        Args:
            base_momentum: the momentum at the peak rate, in ``[0, 1)``.
            max_momentum: the momentum at the start and the end, in ``[base_momentum, 1)``.

        Raises:
            ValueError: a momentum outside ``[0, 1)`` or ``max_momentum < base_momentum``.

        Example:
            >>> m = OneCycle(max_lr=1.0, total_steps=1001, pct_start=0.25).momentum()
            >>> [round(m(t), 12) for t in (0, 249.25, 1000)]
            [0.95, 0.85, 0.95]
        """
        low, high = _check_momentum_pair(base_momentum, max_momentum)
        shape = OneCycle(
            max_lr=1.0,
            total_steps=self.total_steps,
            pct_start=self.pct_start,
            anneal=self.anneal,
            div_factor=2.0,
            final_div_factor=1.0,
            three_phase=self.three_phase,
        )
        return Mirror(shape, low=low, high=high, lr_low=0.5, lr_high=1.0)
