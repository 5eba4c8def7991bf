"""Scaling rules and the SGD noise scale, for numbers (floats or numpy arrays)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..schedules._base import check_fraction, check_positive
from ._base import check_batch_size

__all__ = ["equivalent_batch_size", "linear_scaling", "noise_scale", "sqrt_scaling"]


def linear_scaling(lr: float, batch_size: int, new_batch_size: int) -> float:
    """The LR for a new batch size by the linear rule, ``lr * new_batch_size / batch_size``.

    Goyal et al. (2017) pair it with a gradual warm-up over about 5 epochs; it keeps
    the SGD noise scale ``lr * N / B`` unchanged.

    Raises:
        TypeError, ValueError: a non-positive LR or batch size (named).

    Example:
        >>> linear_scaling(0.1, 256, 1024)
        0.4
    """
    lr = check_positive("lr", lr)
    b = check_batch_size("batch_size", batch_size)
    nb = check_batch_size("new_batch_size", new_batch_size)
    return lr * nb / b


def sqrt_scaling(lr: float, batch_size: int, new_batch_size: int) -> float:
    """The LR for a new batch size by the square-root rule, ``lr * sqrt(new / old)``.

    The usual rule for Adam-type optimizers, which keeps the update's variance fixed.

    Raises:
        TypeError, ValueError: a non-positive LR or batch size (named).

    Example:
        >>> sqrt_scaling(1e-3, 256, 1024)
        0.002
    """
    lr = check_positive("lr", lr)
    b = check_batch_size("batch_size", batch_size)
    nb = check_batch_size("new_batch_size", new_batch_size)
    return float(lr * np.sqrt(nb / b))


def noise_scale(lr: Any, dataset_size: int, batch_size: Any, momentum: float = 0.0) -> Any:
    """The SGD noise scale ``g = lr * N / (B * (1 - m))`` (Smith et al. 2018).

    The exact form is ``lr * (N / B - 1) / (1 - m)``; for ``B << N`` they agree.
    Vectorised over ``lr`` and ``batch_size``.

    Args:
        lr: learning rate(s), >= 0.
        dataset_size: ``N``, the training-set size.
        batch_size: batch size(s) ``B`` >= 1.
        momentum: ``m`` in [0, 1).

    Returns:
        A float for scalars, a float64 array otherwise.

    Raises:
        TypeError, ValueError: a bad argument (named).

    Example:
        >>> round(noise_scale(0.1, 50_000, 128, momentum=0.9), 6)
        390.625
        >>> round(noise_scale(0.5, 50_000, 3200, momentum=0.98), 6)
        390.625
    """
    n = check_batch_size("dataset_size", dataset_size)
    m = check_fraction("momentum", momentum, low_open=False)
    lr_arr = np.asarray(lr, dtype=np.float64)
    b_arr = np.asarray(batch_size, dtype=np.float64)
    if np.any(lr_arr < 0) or not np.all(np.isfinite(lr_arr)):
        raise ValueError(f"lr must be finite and >= 0, got {lr!r}")
    if np.any(b_arr < 1) or not np.all(np.isfinite(b_arr)):
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    out = lr_arr * n / (b_arr * (1.0 - m))
    return float(out) if out.ndim == 0 else out


def equivalent_batch_size(
    batch_size: int,
    *,
    lr: float = 1.0,
    new_lr: float = 1.0,
    momentum: float = 0.0,
    new_momentum: float = 0.0,
) -> float:
    """The batch size with the same noise scale after changing the LR and/or the momentum.

    ``B' = B * (new_lr / lr) * (1 - m) / (1 - m')``: the paper's two knobs, ``B ∝ lr``
    and ``B ∝ 1 / (1 - m)``. Round it to what the hardware wants.

    Raises:
        TypeError, ValueError: a bad argument (named).

    Example:
        >>> round(equivalent_batch_size(128, lr=0.1, new_lr=0.5, momentum=0.9,
        ...                             new_momentum=0.98), 6)
        3200.0
    """
    b = check_batch_size("batch_size", batch_size)
    ratio = check_positive("new_lr", new_lr) / check_positive("lr", lr)
    m = check_fraction("momentum", momentum, low_open=False)
    m2 = check_fraction("new_momentum", new_momentum, low_open=False)
    return b * ratio * (1.0 - m) / (1.0 - m2)
