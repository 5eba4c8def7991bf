"""The constant schedule: the seed's baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import Schedule, check_positive, set_field

__all__ = ["Constant"]


@dataclass(frozen=True)
class Constant(Schedule):
    """A fixed learning rate, ``lr(t) = lr``.

    Args:
        lr: the learning rate, > 0.

    Raises:
        ValueError: ``lr`` is not > 0.

    Example:
        >>> Constant(lr=0.1)(123)
        0.1
    """

    config_name = "constant"
    lr: float

    def __post_init__(self) -> None:
        set_field(self, "lr", check_positive("lr", self.lr))

    def _value(self, t: np.ndarray) -> np.ndarray:
        return np.full(t.shape, self.lr)

    def _sup(self) -> float:
        return self.lr
