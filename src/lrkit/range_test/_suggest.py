"""Suggestion rules on a recorded sweep: lrkit's lag-free rule and the peers' published rules.

The peers' rules are reimplemented from their published code so that one sweep can be
read the way each tool would read it (torch-lr-finder 0.2.2 ``plot(suggest_lr=True)``,
fastai 2.x ``lr_find`` with ``SuggestionMethod.Valley`` / ``Minimum``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._fit import local_fit
from ._stop import StopRule

__all__ = ["Analysis", "fastai_curve", "lrkit_rule", "minimum", "steepest", "valley"]


def _finite_prefix(lrs: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bad = np.flatnonzero(~np.isfinite(losses))
    end = int(bad[0]) if bad.size else len(losses)
    return lrs[:end], losses[:end]


def steepest(lrs: np.ndarray, losses: np.ndarray) -> float:
    """torch-lr-finder's suggestion: the steepest point of its EMA-smoothed curve.

    As in torch-lr-finder 0.2.2: ``s_0 = loss_0``, ``s_t = 0.05 loss_t + 0.95 s_{t-1}``;
    the sweep stops after the first ``s_t > 5 min_k s_k``; the first 10 and last 5
    points are dropped; the suggestion is ``lr[argmin(np.gradient(s))]`` (gradient per
    point, i.e. over log(lr) for an exponential sweep).

    Raises:
        ValueError: fewer than 17 finite points.
    """
    lrs, losses = _finite_prefix(lrs, losses)
    smooth: list[float] = []
    best = np.inf
    for i, loss in enumerate(losses):
        s = float(loss) if i == 0 else 0.05 * float(loss) + 0.95 * smooth[-1]
        smooth.append(s)
        best = min(best, s)
        if s > 5.0 * best:
            break
    if len(smooth) < 17:
        raise ValueError(f"steepest needs at least 17 points, got {len(smooth)}")
    s_arr = np.asarray(smooth[10:-5])
    return float(lrs[10 : len(smooth) - 5][int(np.argmin(np.gradient(s_arr)))])


def fastai_curve(
    lrs: np.ndarray, losses: np.ndarray, num_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """The curve fastai's suggestion functions see.

    Bias-corrected EMA with ``beta = 0.98``, stop after the first smoothed loss above
    4x the best, then ``[num_steps // 10 : -5]``, cut at the first NaN.
    """
    lrs, losses = np.asarray(lrs), np.asarray(losses)
    rule = StopRule(stop_factor=4.0, smoothing=0.98)
    state = rule.init()
    smooth: list[float] = []
    for loss in losses:
        if not np.isfinite(loss):
            smooth.append(float("nan"))
            break
        state, reason = rule.update(state, float(loss))
        smooth.append(state.smoothed(0.98))
        if reason is not None:
            break
    n = len(smooth)
    lo, hi = num_steps // 10, n - 5
    out_lrs, out = lrs[:n][lo:hi], np.asarray(smooth)[lo:hi]
    return _finite_prefix(out_lrs, out)


def valley(lrs: np.ndarray, losses: np.ndarray, num_steps: int) -> float:
    """fastai's ``valley`` rule (the default of ``Learner.lr_find`` since fastai 2.5).

    On :func:`fastai_curve`, find the longest strictly decreasing subsequence (the
    "longest valley", ``start..end``), and return the LR at
    ``start + int(len/3) + int(len/6)``, about 2/3 of the way down.

    Raises:
        ValueError: no points left after fastai's trimming.
    """
    x, s = fastai_curve(lrs, losses, num_steps)
    n = len(s)
    if n == 0:
        raise ValueError("valley needs at least one point after trimming, got 0")
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if s[i] < s[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return float(x[max_start + int(sections) + int(sections / 2)])


def minimum(lrs: np.ndarray, losses: np.ndarray, num_steps: int) -> float:
    """fastai's ``minimum`` rule: a tenth of the LR at the smoothed loss minimum."""
    x, s = fastai_curve(lrs, losses, num_steps)
    if len(s) == 0:
        raise ValueError("minimum needs at least one point after trimming, got 0")
    return float(x[int(np.argmin(s))]) / 10.0


@dataclass(frozen=True)
class Analysis:
    """What :func:`lrkit_rule` finds on a curve (log10 LRs; ``None`` when unreliable)."""

    fit: np.ndarray
    slope: np.ndarray
    suggestion: float | None
    interval: tuple[float, float] | None
    reliable: bool
    reason: str


def lrkit_rule(
    x: np.ndarray, y: np.ndarray, *, bandwidth: float, safety: float, min_points: int
) -> Analysis:
    """lrkit's default rule on ``x = log10(lr)`` and finite (clipped) losses ``y``.

    1. ``f, f' =`` :func:`~lrkit.range_test._fit.local_fit` (centred, robust, no lag).
    2. ``x_min = argmin f``; the descent strength ``s = max(-f', 0)`` left of ``x_min``.
    3. The interval ``[x_lo, x_hi]`` is the stretch around the steepest point where
       ``s >= max(s) / 2``: the loss falls at least half as fast as at its steepest.
    4. The suggestion is the descent's centre ``x_c = sum(x s) / sum(s)`` over that
       interval (the steepest point of a symmetric descent, but far less noisy than an
       argmax), kept at least ``safety`` decades below ``x_min``, where the loss
       stops falling because training becomes unstable.

    Unreliable (no suggestion): fewer than ``min_points`` points, no significant drop
    (flat curve), a minimum at the start (the loss never falls), a descent that runs
    into ``start_lr`` or is still steep at ``end_lr``.
    """
    n = len(x)
    empty = np.full(n, np.nan)
    if n < min_points:
        return Analysis(
            empty,
            empty,
            None,
            None,
            False,
            f"too few points: {n} finite losses before the stop, need {min_points}; "
            "lower start_lr or raise num_steps",
        )
    fit, slope, noise = local_fit(x, y, bandwidth)
    i_min = int(np.argmin(fit))
    spacing = float(np.median(np.diff(x))) if n > 1 else bandwidth
    n_eff = max(1.0, np.sqrt(2.0 * np.pi) * bandwidth / max(spacing, 1e-12))
    drop = float(np.max(fit[: i_min + 1]) - fit[i_min])
    scale = float(np.max(np.abs(fit[: i_min + 1])))
    threshold = max(8.0 * noise / np.sqrt(n_eff), 0.02 * scale)

    def unreliable(reason: str) -> Analysis:
        return Analysis(fit, slope, None, None, False, reason)

    if i_min == 0 or drop <= threshold:
        rise = float(fit[-1] - fit[0])
        if rise > threshold:
            return unreliable(
                "the loss never fell: it only rose over the sweep; lower start_lr, or "
                "check that the model learns"
            )
        return unreliable(
            f"flat curve: the fitted loss fell by {drop:.3g}, within the noise "
            f"({threshold:.3g}); widen the LR range or check that the model learns"
        )
    strength = np.maximum(-slope[: i_min + 1], 0.0)
    i_st = int(np.argmax(strength))
    half = 0.5 * strength[i_st]
    lo = i_st
    while lo > 0 and strength[lo - 1] >= half:
        lo -= 1
    hi = i_st
    while hi < i_min and strength[hi + 1] >= half:
        hi += 1
    if lo == 0:
        return unreliable(
            "the loss was already falling steeply at start_lr; lower start_lr to see "
            "where the descent begins"
        )
    if hi == n - 1:
        return unreliable(
            "the loss was still falling steeply at the last LR; raise end_lr or num_steps"
        )
    w = strength[lo : hi + 1]
    centre = float(np.sum(x[lo : hi + 1] * w) / np.sum(w))
    suggestion = min(centre, float(x[i_min]) - safety)
    interval = (min(float(x[lo]), suggestion), float(x[hi]))
    how = "centre of the steepest descent"
    if suggestion < centre:
        how = f"{safety:g} decades below the loss minimum (the descent centre was closer)"
    return Analysis(fit, slope, suggestion, interval, True, how)
