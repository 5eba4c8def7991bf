"""Suggestion rules on a recorded sweep: lrkit's lag-free rule and the peers' published rules.

The peers' rules are reimplemented from their published code so that one sweep can be
read the way each tool would read it (torch-lr-finder 0.2.2 ``plot(suggest_lr=True)``,
fastai 2.x ``lr_find`` with ``SuggestionMethod.Valley`` / ``Minimum``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ._fit import local_fit
from ._stop import StopRule
from ._verdict import Verdict

__all__ = [
    "Analysis",
    "descent_weight",
    "fastai_curve",
    "lightning",
    "lrkit_rule",
    "minimum",
    "steepest",
    "valley",
]


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


def lightning(lrs: np.ndarray, losses: np.ndarray) -> float:
    """Lightning's suggestion (``Trainer`` tuner ``lr_find(...).suggestion()``, Lightning 2.x).

    As in ``lightning.pytorch.tuner.lr_finder``: at step ``i`` (from 0) Lightning's
    ``global_step`` is already ``i + 1``, so ``a_i = 0.98 a_{i-1} + 0.02 loss_i`` is
    bias-corrected by ``1 - 0.98**(i + 2)`` (one step off); the best smoothed loss is
    reset at ``global_step == 1``; the run stops after the first smoothed loss above
    4x the best (from ``global_step > 1``). ``suggestion(skip_begin=10, skip_end=1)``
    drops the first 10 and the last recorded points and returns the LR at the
    ``argmin`` of ``torch.gradient(losses, spacing=lrs)``: the gradient over the raw
    LR, not its log. After a non-finite loss Lightning keeps recording NaN (which its
    suggestion filters out), so then no finite point is dropped at the end.

    Raises:
        ValueError: fewer than 2 points left.
    """
    lrs, losses = np.asarray(lrs, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    f_lrs, f_losses = _finite_prefix(lrs, losses)
    smooth: list[float] = []
    avg, best = 0.0, 0.0
    for i, loss in enumerate(f_losses):
        step = i + 1
        avg = 0.98 * avg + 0.02 * float(loss)
        value = avg / (1.0 - 0.98 ** (step + 1))
        stop = step > 1 and value > 4.0 * best
        if value < best or step == 1:
            best = value
        smooth.append(value)
        if stop:
            break
    diverged = len(f_losses) < len(losses) and len(smooth) == len(f_losses)
    end = len(smooth) if diverged else len(smooth) - 1
    s_arr, x_arr = np.asarray(smooth[10:end]), f_lrs[10:end]
    if len(s_arr) < 2:
        raise ValueError(f"lightning needs at least 2 points after trimming, got {len(s_arr)}")
    return float(x_arr[int(np.argmin(np.gradient(s_arr, x_arr)))])


@dataclass(frozen=True)
class Analysis:
    """What :func:`lrkit_rule` finds on a curve (log10 LRs; ``None`` when unreliable).

    ``verdict`` is what the rule concluded (a :class:`~lrkit.range_test.Verdict`);
    ``reason`` says it in words, for people. ``ambiguous``: a suggestion on a curve
    whose fitted loss fell by less than ``AMBIGUOUS_DROP`` of itself (its interval is
    widened; see :func:`lrkit_rule`).
    """

    fit: np.ndarray
    slope: np.ndarray
    suggestion: float | None
    interval: tuple[float, float] | None
    reliable: bool
    reason: str
    edge: float | None  # x_edge: where the fitted loss starts to rise
    verdict: Verdict
    ambiguous: bool = False


# Where the suggestion sits, in decades (chosen on the twelve tuning cases of
# benchmarks/range_test_quality.py only; its held-out cases were not used).
SHIFT = 0.15  # above the centre of the steepest descent
EDGE_MARGIN = 1.2  # below the edge when the loss never clearly fell
REL_DROP = 0.05  # a clear descent lowers the fitted loss by at least this fraction
TAU_SE = 8.0  # a change of the fit is significant above this many standard errors
# An ambiguous curve: the fitted loss fell by less than this fraction of itself during
# the sweep (the model barely learned in the sweep's steps, so where the loss falls
# says little about the best LR of a full run); its interval reaches AMBIGUOUS_WIDTH
# decades below the suggestion and up to the edge. Both chosen by leave-one-family-out
# on the finder zoo (benchmarks/range_test_quality.py; docs/range_test.md).
AMBIGUOUS_DROP = 0.15
AMBIGUOUS_WIDTH = 0.75


def descent_weight(drop: float, tau: float, scale: float) -> float:
    """How much a descent of the fitted loss is trusted, from 0 (none) to 1 (clear).

    ``w = clip(drop / tau - 1, 0, 1) * clip(drop / (0.05 scale), 0, 1)``: zero up to
    the significance level ``tau``, one from ``2 tau`` on, and scaled down while the
    drop is under 5% of the loss ``scale``. A hard threshold would make the suggestion
    jump between its two rules when a weak descent is near the threshold, which is
    where most of its seed-to-seed spread came from.

    Example:
        >>> descent_weight(0.5, 0.125, 2.0), descent_weight(0.1875, 0.125, 2.0)
        (1.0, 0.5)
        >>> descent_weight(0.05, 0.0125, 2.0), descent_weight(0.05, 0.125, 2.0)
        (0.5, 0.0)
    """
    if not (tau > 0.0 and scale > 0.0):
        return 0.0
    significance = min(max(drop / tau - 1.0, 0.0), 1.0)
    size = min(max(drop / (REL_DROP * scale), 0.0), 1.0)
    return significance * size


def lrkit_rule(
    x: np.ndarray,
    y: np.ndarray,
    *,
    bandwidth: float,
    safety: float,
    min_points: int,
    shift: float = SHIFT,
    edge_margin: float = EDGE_MARGIN,
    ambiguous_drop: float = AMBIGUOUS_DROP,
    ambiguous_width: float = AMBIGUOUS_WIDTH,
) -> Analysis:
    """lrkit's default rule on ``x = log10(lr)`` and finite (clipped) losses ``y``.

    1. ``f, f' =`` :func:`~lrkit.range_test._fit.local_fit` (centred, spike-resistant:
       no lag). A change of ``f`` is significant above
       ``tau = max(8 se, 0.02 |f_0|)``, ``se`` the noise of the fit.
    2. The edge ``x_edge``: the first point where ``f`` rises more than ``tau`` above
       its running minimum; beyond it training is unstable. Only the curve before the
       edge is read.
    3. A descent: ``x_min = argmin f`` before the edge, its drop
       ``d = max f - f(x_min)`` and its weight ``w =`` :func:`descent_weight`
       (0 below ``tau``, 1 for a drop above ``2 tau`` and 5% of the loss). Its strength
       ``s = max(-f', 0)``; the interval ``[x_lo, x_hi]`` is the stretch around the
       steepest point where ``s >= max(s) / 2``; its centre
       ``x_c = sum(x s) / sum(s)`` (far less noisy than an argmax). The descent's
       answer is ``x_d = min(x_c + 0.15, x_edge - safety, x_min)``.
    4. The edge's answer (the model did not learn within the sweep, but the LR at which
       it becomes unstable is visible) is ``x_e = x_edge - 1.2``.
    5. The suggestion ``x* = w x_d + (1 - w) x_e``: the descent's answer for a clear
       descent, the edge's without one, and in between for a weak one (so that it
       moves smoothly instead of jumping 0.5 decades or more). Without an edge, only a
       clear descent (``w = 1``) gives an answer. Without a clear descent the interval
       is ``[x* - 0.5, x_edge - safety]``.

    6. Ambiguous: the fitted loss fell by ``d / max |f| < ambiguous_drop`` (0.15)
       before the edge. The suggestion stands, and ``ambiguous=True`` says it is not to
       be trusted blindly: its interval is widened to
       ``[min(x_lo, x* - ambiguous_width), max(x_hi, x_edge)]`` (0.75 decades). On the
       finder zoo such curves held 33 of the 41 sweeps with a regret above 3 points.

    ``shift`` and ``edge_margin`` are the rule's other constants (0.15 and 1.2 decades;
    the quality benchmark cross-validates them, and the two ambiguity constants).

    Unreliable (no suggestion): fewer than ``min_points`` points, no clear descent and
    no edge (a flat curve), a loss that rises from the start, a clear descent that runs
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
            None,
            Verdict.TOO_FEW_POINTS,
        )
    fit, slope, noise = local_fit(x, y, bandwidth)

    edge: list[float | None] = [None]

    def unreliable(reason: str, verdict: Verdict) -> Analysis:
        return Analysis(fit, slope, None, None, False, reason, edge[0], verdict)

    spacing = float(np.median(np.diff(x)))
    n_eff = max(1.0, np.sqrt(2.0 * np.pi) * bandwidth / max(spacing, 1e-12))
    tau = max(TAU_SE * noise / np.sqrt(n_eff), 0.02 * abs(float(fit[0])))
    # The fit is noisiest at the ends: the first bandwidth does not set the minimum.
    first = int(np.searchsorted(x, x[0] + bandwidth))
    rising = first + np.flatnonzero(fit[first:] - np.minimum.accumulate(fit[first:]) > tau)
    i_edge = int(rising[0]) if rising.size else n - 1
    x_edge = float(x[i_edge]) if rising.size else math.inf
    edge[0] = x_edge if rising.size else None
    i_min = int(np.argmin(fit[: i_edge + 1]))
    drop = float(np.max(fit[: i_min + 1]) - fit[i_min])
    scale = float(np.max(np.abs(fit[: i_min + 1])))
    weight = 0.0 if i_min == 0 else descent_weight(drop, tau, scale)
    if not rising.size and weight < 1.0:
        weight = 0.0  # no edge to lean on: only a clear descent gives an answer
    descent = _steepest_descent(x, slope, i_min, first) if weight > 0.0 else None
    if isinstance(descent, Verdict):
        if weight == 1.0:
            return unreliable(_UNUSABLE[descent], descent)
        weight = 0.0  # a weak descent that runs off an end of the sweep: not read
    if weight == 0.0 or descent is None or isinstance(descent, Verdict):
        if not rising.size:
            return unreliable(
                f"flat curve: the fitted loss changed by less than {tau:.3g} (the noise "
                "level); widen the LR range, raise num_steps, or check that the model learns",
                Verdict.FLAT,
            )
        suggestion = x_edge - edge_margin
        if suggestion < x[0]:
            return unreliable(
                "the loss never fell: it rose from near start_lr; lower start_lr, or check "
                "that the model learns",
                Verdict.ROSE_FROM_START,
            )
        interval = (suggestion - 0.5, max(suggestion, x_edge - safety))
        return _judged(
            Analysis(
                fit,
                slope,
                suggestion,
                interval,
                True,
                f"no clear descent within the sweep: {edge_margin:g} decades below where the "
                "loss starts to rise",
                x_edge,
                Verdict.EDGE_ONLY,
            ),
            drop / scale if scale > 0.0 else 0.0,
            ambiguous_drop,
            ambiguous_width,
        )
    lo, hi, centre = descent
    suggestion = min(centre + shift, x_edge - safety, float(x[i_min]))
    how = f"the centre of the steepest descent, shifted up by {shift:g} decades"
    if suggestion < centre + shift:
        how = f"{safety:g} decades below where the loss starts to rise"
        if suggestion == float(x[i_min]):
            how = "the loss minimum (the descent ends close to the edge)"
    verdict = Verdict.DESCENT
    if weight < 1.0:
        verdict = Verdict.WEAK_DESCENT
        suggestion = weight * suggestion + (1.0 - weight) * (x_edge - edge_margin)
        how = (
            f"a weak descent (weight {weight:.2f}): the descent's answer ({how}) "
            f"blended with the edge's ({edge_margin:g} decades below where the loss "
            "starts to rise)"
        )
    interval = (min(float(x[lo]), suggestion), max(float(x[hi]), suggestion))
    found = Analysis(fit, slope, suggestion, interval, True, how, edge[0], verdict)
    return _judged(found, drop / scale if scale > 0.0 else 0.0, ambiguous_drop, ambiguous_width)


def _judged(found: Analysis, fell: float, threshold: float, width: float) -> Analysis:
    """``found``, ambiguous with a widened interval when the loss ``fell`` < ``threshold``."""
    if fell >= threshold or found.suggestion is None or found.interval is None:
        return found
    low, high = found.interval
    top = high if found.edge is None else max(high, found.edge)
    reason = (
        f"{found.reason}; ambiguous: the fitted loss fell only {100 * fell:.0f}% during the "
        f"sweep (under {100 * threshold:.0f}%), so the interval is widened; race it "
        "(validate=True) or check with a short grid"
    )
    return dataclasses.replace(
        found,
        interval=(min(low, found.suggestion - width), top),
        reason=reason,
        ambiguous=True,
    )


_UNUSABLE = {
    Verdict.STEEP_AT_START: (
        "the loss was already falling steeply at start_lr; lower start_lr to see "
        "where the descent begins"
    ),
    Verdict.STEEP_AT_END: (
        "the loss was still falling steeply at the last LR; raise end_lr or num_steps"
    ),
}


def _steepest_descent(
    x: np.ndarray, slope: np.ndarray, i_min: int, first: int
) -> tuple[int, int, float] | Verdict:
    """``(lo, hi, x_c)`` of the half-steepest stretch before ``i_min``, or why it is unusable."""
    n = len(x)
    strength = np.maximum(-slope[: i_min + 1], 0.0)
    # Likewise for the steepest point (the interval may still reach start_lr).
    first = min(first, i_min)
    i_st = first + int(np.argmax(strength[first:]))
    half = 0.5 * strength[i_st]
    lo = i_st
    while lo > 0 and strength[lo - 1] >= half:
        lo -= 1
    hi = i_st
    while hi < i_min and strength[hi + 1] >= half:
        hi += 1
    if lo == 0:
        return Verdict.STEEP_AT_START
    if hi == n - 1:
        return Verdict.STEEP_AT_END
    w = strength[lo : hi + 1]
    return lo, hi, float(np.sum(x[lo : hi + 1] * w) / np.sum(w))
