"""Warmup-stable-decay (WSD) and the cooldown branch: :class:`WarmupStableDecay`, :func:`cooldown`.

A WSD schedule warms up, holds its peak, then cools down over the last part of
training (Hägele et al. 2024, arXiv 2405.18392; MiniCPM, arXiv 2404.06395). Its
point is the branch: train at a constant rate and start a cooldown from any
checkpoint, which :func:`cooldown` does for any schedule.

Shapes map progress ``p`` in ``[0, 1]`` to a factor, 1 at the start of a decay and
0 at its end (a warm-up uses them the other way round)::

    decay:  linear 1 - p    cosine (1 + cos(pi p)) / 2    1-sqrt 1 - sqrt(p)
            square 1 - p**2  exp (end_lr / peak) ** p  (geometric, needs end_lr > 0)
    warmup: linear p        cosine (1 - cos(pi p)) / 2    1-sqrt 1 - sqrt(1 - p)

The warm-up shapes are Hugging Face's ``get_wsd_schedule`` ``warmup_type``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._base import (
    Schedule,
    check_choice,
    check_fraction,
    check_non_negative,
    check_positive,
    check_schedule,
    check_span,
    set_field,
)
from ._combinators import evaluate

__all__ = ["DECAY_SHAPES", "WARMUP_SHAPES", "Cooldown", "WarmupStableDecay", "cooldown"]

DECAY_SHAPES = ("linear", "cosine", "1-sqrt", "square", "exp")
WARMUP_SHAPES = ("linear", "cosine", "1-sqrt")


def check_length(name: str, value: Any) -> float:
    """A length of time >= 0; an ``int`` stays an ``int``."""
    out = check_non_negative(name, value)
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else out


def decay(shape: str, start: float, end: float, p: np.ndarray) -> np.ndarray:
    """The decay from ``start`` (``p = 0``) to ``end`` (``p = 1``) along ``shape``."""
    if shape == "exp":
        return start * (end / start) ** p
    if shape == "linear":
        f = 1.0 - p
    elif shape == "cosine":
        f = (1.0 + np.cos(np.pi * p)) / 2.0
    elif shape == "1-sqrt":
        f = 1.0 - np.sqrt(p)
    else:  # square
        f = 1.0 - p * p
    return end + (start - end) * f


def warm(shape: str, start: float, peak: float, p: np.ndarray) -> np.ndarray:
    """The warm-up from ``start`` (``p = 0``) to ``peak`` (``p = 1``) along ``shape``."""
    if shape == "linear":
        g = p
    elif shape == "cosine":
        g = (1.0 - np.cos(np.pi * p)) / 2.0
    else:  # 1-sqrt
        g = 1.0 - np.sqrt(1.0 - p)
    return start + (peak - start) * g


def _check_exp_end(shape: str, end_lr: float) -> None:
    if shape == "exp" and end_lr <= 0.0:
        raise ValueError(
            f"end_lr must be > 0 for decay_shape='exp' (a geometric decay never reaches 0), "
            f"got {end_lr!r}"
        )


@dataclass(frozen=True)
class WarmupStableDecay(Schedule):
    """Warm up, hold ``lr``, then decay to ``end_lr`` over the last ``D`` steps (WSD).

    With ``W = warmup_steps``, ``T = total_steps``, ``D = decay_steps`` (or
    ``decay_fraction * T``), ``S = T - D`` the start of the decay and the shapes of
    the module docstring::

        lr(t) = warm(warmup_shape, start_lr -> lr, t / W)        t < W
        lr(t) = lr                                               W <= t < S
        lr(t) = decay(decay_shape, lr -> end_lr, (t - S) / D)    S <= t < T
        lr(t) = end_lr                                           t >= T

    Hägele et al. 2024 (arXiv 2405.18392) find a ``1-sqrt`` cooldown of 10-20% of
    the run matches a cosine schedule; Hugging Face ``get_wsd_schedule`` is the case
    ``start_lr = end_lr = min_lr_ratio * lr`` with the linear, cosine and 1-sqrt
    shapes (see :func:`~lrkit.schedules.from_hf`).

    Args:
        lr: the peak (stable) learning rate, > 0.
        total_steps: ``T``, > 0: the decay ends here.
        warmup_steps: ``W``, >= 0 (0: no warm-up).
        decay_steps: ``D``, the length of the decay, >= 0 (0: a drop to ``end_lr``
            at ``T``). Give this or ``decay_fraction``, not both.
        decay_fraction: ``D / T``, in ``[0, 1]``; the default when neither is given
            is 0.2.
        end_lr: the rate from ``T`` on, in ``[0, lr]`` (> 0 for ``decay_shape="exp"``).
        start_lr: the rate at ``t = 0`` when warming up, in ``[0, lr]``.
        warmup_shape: ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.
        decay_shape: ``"linear"``, ``"cosine"``, ``"1-sqrt"``, ``"square"`` or ``"exp"``.

    Raises:
        ValueError: a bad value (named), both or neither decay lengths in conflict,
            or ``W + D > T`` (the warm-up would overlap the decay).
        TypeError: a non-number or a non-string shape.

    Example:
        >>> s = WarmupStableDecay(lr=1.0, total_steps=100, warmup_steps=10, decay_steps=20)
        >>> s(0), s(5), s(10), s(80), s(90), s(100), s(500)
        (0.0, 0.5, 1.0, 1.0, 0.5, 0.0, 0.0)
        >>> round(WarmupStableDecay(1.0, 100, decay_fraction=0.2, decay_shape="1-sqrt")(85), 4)
        0.5
    """

    config_name = "wsd"
    lr: float
    total_steps: float
    warmup_steps: float = 0
    decay_steps: float | None = None
    decay_fraction: float | None = None
    end_lr: float = 0.0
    start_lr: float = 0.0
    warmup_shape: str = "linear"
    decay_shape: str = "linear"

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))
        set_field(self, "total_steps", check_span("total_steps", self.total_steps))
        set_field(self, "warmup_steps", check_length("warmup_steps", self.warmup_steps))
        if self.decay_steps is not None and self.decay_fraction is not None:
            raise ValueError(
                f"give decay_steps or decay_fraction, not both (got decay_steps="
                f"{self.decay_steps!r}, decay_fraction={self.decay_fraction!r})"
            )
        if self.decay_steps is not None:
            set_field(self, "decay_steps", check_length("decay_steps", self.decay_steps))
        if self.decay_fraction is not None:
            fraction = check_fraction(
                "decay_fraction", self.decay_fraction, low_open=False, high_open=False
            )
            set_field(self, "decay_fraction", fraction)
        for name in ("end_lr", "start_lr"):
            value = check_non_negative(name, getattr(self, name))
            if value > self.lr:
                raise ValueError(f"{name} must be <= lr={self.lr!r}, got {value!r}")
            set_field(self, name, value)
        set_field(
            self, "warmup_shape", check_choice("warmup_shape", self.warmup_shape, WARMUP_SHAPES)
        )
        set_field(self, "decay_shape", check_choice("decay_shape", self.decay_shape, DECAY_SHAPES))
        _check_exp_end(self.decay_shape, self.end_lr)
        if self.warmup_steps + self.decay_length > self.total_steps:
            raise ValueError(
                f"warmup_steps + decay length = {self.warmup_steps!r} + {self.decay_length!r} "
                f"must be <= total_steps={self.total_steps!r}"
            )

    @property
    def decay_length(self) -> float:
        """``D``: ``decay_steps``, or ``decay_fraction * total_steps`` (default 0.2)."""
        if self.decay_steps is not None:
            return self.decay_steps
        fraction = 0.2 if self.decay_fraction is None else self.decay_fraction
        return fraction * self.total_steps

    @property
    def decay_start(self) -> float:
        """``S = T - D``: the first time of the decay."""
        return self.total_steps - self.decay_length

    def _value(self, t: np.ndarray) -> np.ndarray:
        out = np.full(t.shape, self.lr)
        w, d, s = self.warmup_steps, self.decay_length, self.decay_start
        if w > 0:
            m = t < w
            if np.any(m):
                out[m] = warm(self.warmup_shape, self.start_lr, self.lr, t[m] / w)
        m = (t >= s) & (t < self.total_steps)
        if d > 0 and np.any(m):
            out[m] = decay(self.decay_shape, self.lr, self.end_lr, (t[m] - s) / d)
        out[t >= self.total_steps] = self.end_lr
        return out

    def _sup(self) -> float:
        return self.lr


@dataclass(frozen=True)
class Cooldown(Schedule):
    """``schedule`` until ``start``, then a decay to ``end_lr`` over ``length``.

    With ``b = schedule(start)``::

        lr(t) = schedule(t)                                        t < start
        lr(t) = decay(shape, b -> end_lr, (t - start) / length)    start <= t < start + length
        lr(t) = end_lr                                             t >= start + length

    Args:
        schedule: the schedule to branch from.
        start: the time the cooldown starts, >= 0.
        length: its length, > 0.
        shape: a decay shape (``"linear"``, ``"cosine"``, ``"1-sqrt"``, ``"square"``,
            ``"exp"``).
        end_lr: the rate it cools down to, in ``[0, schedule(start)]`` (> 0 for
            ``"exp"``).

    Raises:
        ValueError: a bad value (named), or ``end_lr > schedule(start)``.
        TypeError: ``schedule`` is not a Schedule, or a non-number.

    Example:
        >>> from lrkit.schedules import Constant
        >>> s = Cooldown(Constant(1.0), start=100, length=100, shape="square")
        >>> s(99), s(150), s(200)
        (1.0, 0.75, 0.0)
    """

    config_name = "cooldown"
    schedule: Schedule
    start: float
    length: float
    shape: str = "1-sqrt"
    end_lr: float = 0.0

    def __post_init__(self) -> None:
        check_schedule("schedule", self.schedule)
        set_field(self, "start", check_length("start", self.start))
        set_field(self, "length", check_span("length", self.length))
        set_field(self, "shape", check_choice("shape", self.shape, DECAY_SHAPES))
        set_field(self, "end_lr", check_non_negative("end_lr", self.end_lr))
        peak = self.schedule(self.start)
        if self.end_lr > peak:
            raise ValueError(
                f"end_lr must be <= schedule(start) = {peak!r} (a cooldown does not rise), "
                f"got {self.end_lr!r}"
            )
        _check_exp_end(self.shape, self.end_lr)
        if self.shape == "exp" and peak <= 0.0:
            raise ValueError(f"shape='exp' needs schedule(start) > 0, got {peak!r}")
        if not math.isfinite(self.start + self.length):
            raise ValueError(f"start + length must be finite, got {self.start!r} + {self.length!r}")

    def _value(self, t: np.ndarray) -> np.ndarray:
        end = self.start + self.length
        out = np.full(t.shape, self.end_lr)
        before = t < self.start
        if np.any(before):
            out[before] = evaluate(self.schedule, t[before])
        m = (t >= self.start) & (t < end)
        if np.any(m):
            peak = self.schedule(self.start)
            out[m] = decay(self.shape, peak, self.end_lr, (t[m] - self.start) / self.length)
        return out

    def _sup(self) -> float:
        return self.schedule._sup()


def cooldown(
    schedule: Schedule, start: float, length: float, shape: str = "1-sqrt", end_lr: float = 0.0
) -> Cooldown:
    """Branch a cooldown from ``schedule``: run it as is until ``start``, then decay to ``end_lr``.

    This is the WSD workflow: train at a constant rate (or any schedule), and from
    any checkpoint at step ``start`` run a short cooldown of ``length`` steps.
    ``shape="1-sqrt"`` is the cooldown Hägele et al. 2024 found best.

    Args, Raises: as :class:`Cooldown`.

    Example:
        >>> from lrkit.schedules import Constant
        >>> s = cooldown(Constant(1.0), start=800, length=200, shape="linear")
        >>> s(799), s(900), s(1000)
        (1.0, 0.5, 0.0)
    """
    return Cooldown(schedule, start, length, shape, end_lr)
