"""Inverse square-root decay after a linear warm-up (Transformers, T5, big_vision)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import Schedule, check_positive, check_span, set_field
from ._wsd import check_length

__all__ = ["InverseSqrt"]


@dataclass(frozen=True)
class InverseSqrt(Schedule):
    """A linear warm-up, then ``lr * sqrt(timescale / (t + timescale - warmup_steps))``.

    With ``W = warmup_steps`` and ``s = timescale`` (default ``W``)::

        lr(t) = lr * t / W                          t < W
        lr(t) = lr * sqrt(s / (t + s - W))          t >= W

    so the rate is ``lr`` at ``t = W`` and falls as ``1 / sqrt(t)``; it never ends.
    Matches Hugging Face ``get_inverse_sqrt_schedule(num_warmup_steps, timescale)``
    (which defaults the timescale to 10,000 when there is no warm-up; here it must
    then be given). The Transformer paper's ``d**-0.5 * min(t**-0.5, t * W**-1.5)``
    is ``InverseSqrt(lr=(d * W) ** -0.5, warmup_steps=W)`` at ``t = step_num``.

    Args:
        lr: the peak, at ``t = W``, > 0.
        warmup_steps: ``W``, >= 0.
        timescale: ``s``, > 0; ``None`` for ``W`` (then ``W`` must be > 0).

    Raises:
        ValueError: ``lr`` or ``timescale`` not > 0, ``warmup_steps`` negative, or no
            timescale with no warm-up.
        TypeError: a non-number.

    Example:
        >>> s = InverseSqrt(lr=1.0, warmup_steps=100)
        >>> s(0), s(50), s(100), s(400)
        (0.0, 0.5, 1.0, 0.5)
    """

    config_name = "inverse_sqrt"
    lr: float
    warmup_steps: float
    timescale: float | None = None

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))
        set_field(self, "warmup_steps", check_length("warmup_steps", self.warmup_steps))
        if self.timescale is None:
            if self.warmup_steps == 0:
                raise ValueError(
                    "timescale must be given when warmup_steps is 0 (it defaults to "
                    "warmup_steps), got timescale=None"
                )
        else:
            set_field(self, "timescale", check_span("timescale", self.timescale))

    @property
    def scale(self) -> float:
        """The timescale in use: ``timescale``, or ``warmup_steps`` when it is None."""
        return self.warmup_steps if self.timescale is None else self.timescale

    def _value(self, t: np.ndarray) -> np.ndarray:
        w, s = self.warmup_steps, self.scale
        # (t - w) + s, never t + (s - w): with a tiny s and a huge w that would cancel to 0.
        # Near the largest float the sum overflows to inf, and s / inf = 0 is the limit.
        with np.errstate(over="ignore"):
            out = self.lr * np.sqrt(s / ((np.maximum(t, w) - w) + s))
        if w > 0:
            m = t < w
            out[m] = self.lr * (t[m] / w)
        return out

    def _sup(self) -> float:
        return self.lr
