"""Leave-one-group-out cross-validation, for choosing a rule's constants honestly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

P = TypeVar("P")

__all__ = ["argmin_mean", "leave_one_group_out"]


def argmin_mean(
    candidates: Sequence[P], cases: Sequence[int], loss: Callable[[P, int], float]
) -> P:
    """The candidate with the smallest mean ``loss(candidate, case)`` over ``cases``
    (the first one on ties)."""
    if not candidates or not cases:
        raise ValueError("argmin_mean needs at least one candidate and one case")
    means = [float(np.mean([loss(c, i) for i in cases])) for c in candidates]
    return candidates[int(np.argmin(means))]


def leave_one_group_out(
    groups: Sequence[str], fit: Callable[[list[int]], P]
) -> dict[str, tuple[P, list[int]]]:
    """For each group: the parameters ``fit`` chooses on every *other* case, and the
    indices of the group's own cases (to be scored with those parameters).

    Raises:
        ValueError: fewer than two groups (nothing would be left to fit on).
    """
    names = list(dict.fromkeys(groups))
    if len(names) < 2:
        raise ValueError(f"leave-one-group-out needs at least 2 groups, got {names}")
    out: dict[str, tuple[Any, list[int]]] = {}
    for g in names:
        train = [i for i, h in enumerate(groups) if h != g]
        held = [i for i, h in enumerate(groups) if h == g]
        out[g] = (fit(train), held)
    return out
