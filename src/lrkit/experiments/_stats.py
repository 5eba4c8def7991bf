"""Statistics over seeds: mean, sample std, 95% t-intervals, paired differences, ties.

With ``n`` seeds giving values ``x_i``: the mean ``m``, the sample standard deviation
``s`` (``ddof=1``) and the 95% confidence interval ``m ± t(0.975, n-1) s / sqrt(n)``
(Student's t). The difference of a strategy to the leader is paired by seed (same
seed, same initialisation and data order): ``d_i = x_i - leader_i`` over the seeds
both have, with its own t-interval. A strategy is **tied** with the leader when
their 95% intervals overlap: more seeds would be needed to separate them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["intervals_overlap", "mean_ci", "paired_difference", "t_quantile_975"]

# t(0.975, df) for df = 1..30 (the standard table, three decimals).
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile_975(df: int) -> float:
    """Student's t quantile at 0.975 with ``df`` degrees of freedom (>= 1).

    The table for ``df <= 30``; above, the Cornish-Fisher expansion around the
    normal quantile ``z = 1.959964`` (error below 1e-4).

    Example:
        >>> t_quantile_975(2), round(t_quantile_975(100), 3)
        (4.303, 1.984)
    """
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"df must be an int >= 1, got {df!r}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959963984540054
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / df + g2 / df**2 + g3 / df**3


def mean_ci(values: Sequence[float]) -> tuple[float, float, tuple[float, float]]:
    """``(mean, sample std, (low, high))``: the 95% t-interval of the mean.

    One value gives std 0 and an interval of NaNs (no spread is known); no value
    gives NaNs throughout.

    Example:
        >>> m, s, (lo, hi) = mean_ci([0.90, 0.92, 0.94])
        >>> round(m, 3), round(s, 3), round(lo, 4), round(hi, 4)
        (0.92, 0.02, 0.8703, 0.9697)
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return math.nan, math.nan, (math.nan, math.nan)
    mean = float(arr.mean())
    if arr.size == 1:
        return mean, 0.0, (math.nan, math.nan)
    std = float(arr.std(ddof=1))
    half = t_quantile_975(int(arr.size - 1)) * std / math.sqrt(arr.size)
    return mean, std, (mean - half, mean + half)


def paired_difference(
    values: dict[int, float], leader: dict[int, float]
) -> tuple[float, tuple[float, float], int]:
    """Mean and 95% t-interval of ``values[seed] - leader[seed]`` over shared seeds.

    Returns ``(mean, (low, high), number of pairs)``.
    """
    seeds = sorted(set(values) & set(leader))
    mean, _, ci = mean_ci([values[s] - leader[s] for s in seeds])
    return mean, ci, len(seeds)


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two intervals share a point (an interval of NaNs overlaps everything)."""
    if any(math.isnan(v) for v in (*a, *b)):
        return True
    return a[0] <= b[1] and b[0] <= a[1]
