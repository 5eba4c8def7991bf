"""The learning rates a range test sweeps through."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["check_positive_float", "sweep_lrs"]

MODES = ("exp", "linear")


def check_positive_float(name: str, value: Any) -> float:
    """``value`` as a float; refuses non-numbers, booleans, and values not finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    out = float(value)
    if not (math.isfinite(out) and out > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return out


def sweep_lrs(start_lr: float, end_lr: float, num_steps: int, mode: str = "exp") -> np.ndarray:
    """The ``num_steps`` learning rates of a sweep from ``start_lr`` to ``end_lr``, both included.

    ``exp``: ``lr_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))`` (evenly
    spaced on a log axis, as in Smith 2017, fastai and torch-lr-finder);
    ``linear``: ``lr_i = start_lr + (end_lr - start_lr) * i / (num_steps - 1)``.

    Args:
        start_lr: first learning rate, > 0.
        end_lr: last learning rate, > ``start_lr``.
        num_steps: number of optimizer steps (points), >= 2.
        mode: ``"exp"`` or ``"linear"``.

    Returns:
        A float64 array of ``num_steps`` strictly increasing learning rates.

    Raises:
        TypeError: a number is of the wrong type.
        ValueError: a bound is not > 0, ``end_lr <= start_lr``, ``num_steps < 2`` or an
            unknown ``mode``.

    Example:
        >>> sweep_lrs(1e-3, 1.0, 4).round(6).tolist()
        [0.001, 0.01, 0.1, 1.0]
        >>> sweep_lrs(0.1, 0.4, 4, mode="linear").round(6).tolist()
        [0.1, 0.2, 0.3, 0.4]
    """
    start = check_positive_float("start_lr", start_lr)
    end = check_positive_float("end_lr", end_lr)
    if end <= start:
        raise ValueError(f"end_lr must be > start_lr={start_lr!r}, got {end_lr!r}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, numbers.Integral):
        raise TypeError(f"num_steps must be an integer, got {num_steps!r}")
    if num_steps < 2:
        raise ValueError(f"num_steps must be >= 2, got {num_steps!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}; got {mode!r}")
    frac = np.arange(int(num_steps), dtype=np.float64) / (int(num_steps) - 1)
    out = start * (end / start) ** frac if mode == "exp" else start + (end - start) * frac
    out[0], out[-1] = start, end
    return out
