"""Decaying schedules: time-based, exponential, step, multi-step, polynomial, cosine, linear.

Every formula is closed form in ``t``. Step-wise changes at ``b`` apply for
``t >= b``. Schedules with a ``total_steps`` hold their end value for
``t >= total_steps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._base import (
    Schedule,
    check_bool,
    check_fraction,
    check_increasing,
    check_non_negative,
    check_positive,
    check_span,
    set_field,
)

__all__ = [
    "CosineDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LinearDecay",
    "MultiStepDecay",
    "PolynomialDecay",
    "StepDecay",
]


def _progress(t: np.ndarray, decay_steps: float, staircase: bool) -> np.ndarray:
    p = t / decay_steps
    return np.floor(p) if staircase else p


@dataclass(frozen=True)
class InverseTimeDecay(Schedule):
    """The seed's time-based decay, ``lr(t) = lr / (1 + decay_rate * t / decay_steps)``.

    With ``staircase=True`` the ratio ``t / decay_steps`` is floored, so the rate
    drops at ``t = decay_steps, 2 * decay_steps, ...``. Matches Keras
    ``InverseTimeDecay`` (PyTorch has no equivalent).

    Args:
        lr: the learning rate at ``t = 0``, > 0.
        decay_rate: ``k`` in the formula, >= 0 (0 gives a constant rate).
        decay_steps: the time unit ``s`` of the decay, > 0.
        staircase: floor ``t / decay_steps``.

    Raises:
        ValueError: ``lr`` or ``decay_steps`` not > 0, ``decay_rate`` negative.
        TypeError: a non-number, or ``staircase`` not a bool.

    Example:
        >>> s = InverseTimeDecay(lr=0.1, decay_rate=1.0, decay_steps=10)
        >>> s(0), s(10), s(30)
        (0.1, 0.05, 0.025)
        >>> InverseTimeDecay(0.1, 1.0, 10, staircase=True)(19)
        0.05
    """

    config_name = "inverse_time"
    lr: float
    decay_rate: float
    decay_steps: float = 1
    staircase: bool = False

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))
        set_field(self, "decay_rate", check_non_negative("decay_rate", self.decay_rate))
        set_field(self, "decay_steps", check_span("decay_steps", self.decay_steps))
        set_field(self, "staircase", check_bool("staircase", self.staircase))

    def _value(self, t: np.ndarray) -> np.ndarray:
        if self.decay_rate == 0.0:  # 0 * inf would be NaN where t / decay_steps overflows
            return np.full(t.shape, self.lr)
        return self.lr / (1.0 + self.decay_rate * _progress(t, self.decay_steps, self.staircase))

    def _sup(self) -> float:
        return self.lr


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """Exponential decay, ``lr(t) = lr * decay_rate ** (t / decay_steps)``.

    With ``staircase=True`` the exponent is floored. PyTorch's ``ExponentialLR(gamma)``
    is ``ExponentialDecay(lr, decay_rate=gamma)``; Keras ``ExponentialDecay`` and optax
    ``exponential_decay`` have the same arguments (optax: ``transition_steps``).

    Args:
        lr: the learning rate at ``t = 0``, > 0.
        decay_rate: the factor per ``decay_steps``, in ``(0, 1]`` (a growing rate is
            refused: it would overflow).
        decay_steps: the time unit of the decay, > 0.
        staircase: floor ``t / decay_steps``.

    Raises:
        ValueError: ``lr`` or ``decay_steps`` not > 0, ``decay_rate`` outside ``(0, 1]``.
        TypeError: a non-number, or ``staircase`` not a bool.

    Example:
        >>> s = ExponentialDecay(lr=1.0, decay_rate=0.5, decay_steps=10)
        >>> [round(s(t), 12) for t in (0, 10, 5)]
        [1.0, 0.5, 0.707106781187]
        >>> round(ExponentialDecay(1.0, 0.5, 10, staircase=True)(19), 12)
        0.5
    """

    config_name = "exponential"
    lr: float
    decay_rate: float
    decay_steps: float = 1
    staircase: bool = False

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))
        set_field(
            self, "decay_rate", check_fraction("decay_rate", self.decay_rate, high_open=False)
        )
        set_field(self, "decay_steps", check_span("decay_steps", self.decay_steps))
        set_field(self, "staircase", check_bool("staircase", self.staircase))

    def _value(self, t: np.ndarray) -> np.ndarray:
        return self.lr * self.decay_rate ** _progress(t, self.decay_steps, self.staircase)

    def _sup(self) -> float:
        return self.lr


@dataclass(frozen=True)
class StepDecay(Schedule):
    """Step decay, ``lr(t) = lr * gamma ** floor(t / step_size)``.

    The rate drops at ``t = step_size, 2 * step_size, ...`` (a drop at ``b`` applies
    for ``t >= b``). Matches PyTorch ``StepLR``.

    Args:
        lr: the learning rate before the first drop, > 0.
        step_size: time between drops, > 0.
        gamma: the factor of each drop, in ``(0, 1]``.

    Raises:
        ValueError: ``lr`` or ``step_size`` not > 0, ``gamma`` outside ``(0, 1]``.
        TypeError: a non-number.

    Example:
        >>> s = StepDecay(lr=1.0, step_size=30, gamma=0.5)
        >>> [round(s(t), 12) for t in (29, 30, 60)]
        [1.0, 0.5, 0.25]
    """

    config_name = "step"
    lr: float
    step_size: float
    gamma: float = 0.1

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))
        set_field(self, "step_size", check_span("step_size", self.step_size))
        set_field(self, "gamma", check_fraction("gamma", self.gamma, high_open=False))

    def _value(self, t: np.ndarray) -> np.ndarray:
        return self.lr * self.gamma ** np.floor(t / self.step_size)

    def _sup(self) -> float:
        return self.lr


@dataclass(frozen=True)
class MultiStepDecay(Schedule):
    """Decay at milestones, ``lr(t) = lr * gamma ** #{m in milestones : m <= t}``.

    Matches PyTorch ``MultiStepLR``, except that duplicate milestones (which PyTorch
    turns into a drop of ``gamma ** 2``) are refused.

    Args:
        lr: the learning rate before the first milestone, > 0.
        milestones: times of the drops, non-empty, strictly increasing, > 0 (a list is
            stored as a tuple).
        gamma: the factor of each drop, in ``(0, 1]``.

    Raises:
        ValueError: ``lr`` not > 0, empty/unsorted/duplicate/non-positive milestones,
            ``gamma`` outside ``(0, 1]``.
        TypeError: a non-number, or milestones not a list.

    Example:
        >>> s = MultiStepDecay(lr=1.0, milestones=[30, 80], gamma=0.1)
        >>> [round(s(t), 12) for t in (29, 30, 80)]
        [1.0, 0.1, 0.01]
    """

    config_name = "multistep"
    lr: float
    milestones: tuple[float, ...]
    gamma: float = 0.1

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))
        set_field(self, "milestones", check_increasing("milestones", self.milestones))
        set_field(self, "gamma", check_fraction("gamma", self.gamma, high_open=False))

    def _value(self, t: np.ndarray) -> np.ndarray:
        drops = np.searchsorted(np.asarray(self.milestones, dtype=np.float64), t, side="right")
        return self.lr * self.gamma ** drops.astype(np.float64)

    def _sup(self) -> float:
        return self.lr


@dataclass(frozen=True)
class PolynomialDecay(Schedule):
    """Polynomial decay, ``lr(t) = (lr - end_lr) * (1 - min(t, T) / T) ** power + end_lr``.

    ``T = total_steps``; the end value is held for ``t >= T``. Matches Keras and optax
    ``polynomial_decay`` (without ``cycle``) and PyTorch ``PolynomialLR``
    (``total_iters = T``, ``end_lr = 0``).

    Args:
        lr: the learning rate at ``t = 0``, > 0.
        total_steps: ``T``, > 0.
        end_lr: the learning rate from ``t = T`` on, >= 0.
        power: the exponent, > 0 (1 is linear).

    Raises:
        ValueError: ``lr``, ``total_steps`` or ``power`` not > 0, ``end_lr`` negative.
        TypeError: a non-number.

    Example:
        >>> s = PolynomialDecay(lr=1.0, total_steps=100, end_lr=0.0, power=2.0)
        >>> [round(s(t), 12) for t in (0, 50, 100, 1000)]
        [1.0, 0.25, 0.0, 0.0]
    """

    config_name = "polynomial"
    lr: float
    total_steps: float
    end_lr: float = 0.0
    power: float = 1.0

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))
        set_field(self, "total_steps", check_span("total_steps", self.total_steps))
        set_field(self, "end_lr", check_non_negative("end_lr", self.end_lr))
        set_field(self, "power", check_positive("power", self.power))

    def _value(self, t: np.ndarray) -> np.ndarray:
        frac = 1.0 - np.minimum(t, self.total_steps) / self.total_steps
        return (self.lr - self.end_lr) * frac**self.power + self.end_lr

    def _sup(self) -> float:
        return max(self.lr, self.end_lr)


@dataclass(frozen=True)
class CosineDecay(Schedule):
    """Cosine decay, ``lr(t) = end_lr + (lr - end_lr) * (1 + cos(2 pi c min(t, T) / T)) / 2``.

    ``T = total_steps``, ``c = num_cycles`` (0.5, the default, is the usual half
    wave ``cos(pi * min(t, T) / T)``); the value at ``T`` is held for ``t >= T``.
    Matches the closed form of PyTorch ``CosineAnnealingLR`` (``T_max = T``,
    ``eta_min = end_lr``) up to ``T``; past ``T`` PyTorch's rate climbs back up along
    the cosine, ours holds ``end_lr``. optax ``cosine_decay_schedule`` uses
    ``alpha = end_lr / lr``; a floor given as a ratio ``r`` of the peak (Hugging
    Face's ``min_lr_rate``) is ``end_lr = r * lr``. ``num_cycles`` is Hugging Face's
    ``get_cosine_schedule_with_warmup(num_cycles)``: with ``c != 0.5`` the wave goes
    back up after ``T / (2c)`` and ends at ``T`` wherever it is.

    Args:
        lr: the learning rate at ``t = 0``, > 0.
        total_steps: ``T``, > 0.
        end_lr: the floor of the wave (the rate from ``t = T`` on for ``c = 0.5``), >= 0.
        num_cycles: ``c``, > 0, the number of full waves over ``T`` (0.5: one half wave).

    Raises:
        ValueError: ``lr``, ``total_steps`` or ``num_cycles`` not > 0, ``end_lr`` negative.
        TypeError: a non-number.

    Example:
        >>> s = CosineDecay(lr=1.0, total_steps=100, end_lr=0.1)
        >>> [round(s(t), 12) for t in (0, 50, 100, 500)]
        [1.0, 0.55, 0.1, 0.1]
        >>> round(CosineDecay(lr=1.0, total_steps=100, num_cycles=1.0)(100), 12)
        1.0
    """

    config_name = "cosine"
    lr: float
    total_steps: float
    end_lr: float = 0.0
    num_cycles: float = 0.5

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))
        set_field(self, "total_steps", check_span("total_steps", self.total_steps))
        set_field(self, "end_lr", check_non_negative("end_lr", self.end_lr))
        set_field(self, "num_cycles", check_positive("num_cycles", self.num_cycles))
        if not math.isfinite(2.0 * math.pi * self.num_cycles):
            raise ValueError(
                f"num_cycles must be < 1e307 (2 pi num_cycles overflows), got {self.num_cycles!r}"
            )

    def to_config(self) -> dict[str, Any]:
        """The config; ``num_cycles`` only when not the half wave (older configs stay valid)."""
        out = super().to_config()
        if self.num_cycles == 0.5:
            del out["num_cycles"]
        return out

    def _value(self, t: np.ndarray) -> np.ndarray:
        # A weighted mean of the two ends, weights in [0, 1]: (lr - end_lr) * (1 + cos)
        # overflowed for lr near 1e308, and end_lr + (lr - end_lr) lost lr = 0.1 next to
        # end_lr = 1e308. Both terms are >= 0; the minimum keeps a sum of two halves of
        # 1.8e308 that rounds up finite. Computed in place (two buffers for a million steps):
        # out = lr * ((1 + cos) / 2) + end_lr * ((1 - cos) / 2).
        cos = np.minimum(t, self.total_steps)
        cos /= self.total_steps
        cos *= np.pi if self.num_cycles == 0.5 else 2.0 * np.pi * self.num_cycles
        np.cos(cos, out=cos)
        low = 1.0 - cos
        low /= 2.0
        low *= self.end_lr
        out = cos
        out += 1.0
        out /= 2.0
        out *= self.lr
        out += low
        np.minimum(out, max(self.lr, self.end_lr), out=out)
        if self.num_cycles != 0.5:
            return out  # frac stops at 1: from T on, the wave's value at T
        # From T on, end_lr exactly (cos(pi) may miss -1 by an ulp on some CPUs).
        out[t >= self.total_steps] = self.end_lr
        return out

    def _sup(self) -> float:
        return max(self.lr, self.end_lr)


@dataclass(frozen=True)
class LinearDecay(Schedule):
    """Linear interpolation, ``lr(t) = lr * (1 - f) + end_lr * f`` with ``f = min(t, T) / T``.

    ``T = total_steps``; the end value is held for ``t >= T``. ``end_lr`` may exceed
    ``lr`` (a linear ramp up). PyTorch ``LinearLR(start_factor, end_factor,
    total_iters)`` on a base rate ``b`` is ``LinearDecay(lr=b * start_factor,
    total_steps=total_iters, end_lr=b * end_factor)``; optax ``linear_schedule``
    is ``LinearDecay(init_value, transition_steps, end_value)``.

    Args:
        lr: the learning rate at ``t = 0``, > 0.
        total_steps: ``T``, > 0.
        end_lr: the learning rate from ``t = T`` on, >= 0.

    Raises:
        ValueError: ``lr`` or ``total_steps`` not > 0, ``end_lr`` negative.
        TypeError: a non-number.

    Example:
        >>> s = LinearDecay(lr=1.0, total_steps=100, end_lr=0.5)
        >>> s(0), s(50), s(100), s(200)
        (1.0, 0.75, 0.5, 0.5)
    """

    config_name = "linear"
    lr: float
    total_steps: float
    end_lr: float = 0.0

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))
        set_field(self, "total_steps", check_span("total_steps", self.total_steps))
        set_field(self, "end_lr", check_non_negative("end_lr", self.end_lr))

    def _value(self, t: np.ndarray) -> np.ndarray:
        frac = np.minimum(t, self.total_steps) / self.total_steps
        out = self.lr * (1.0 - frac) + self.end_lr * frac
        # Both terms are >= 0; a sum of two halves of 1.8e308 can round up to inf.
        return np.minimum(out, max(self.lr, self.end_lr))

    def _sup(self) -> float:
        return max(self.lr, self.end_lr)
