"""``RangeTestResult`` and :func:`analyze`, which turns a sweep into one."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ._race import SCHEDULES, Race
from ._stop import StopRule
from ._suggest import (
    AMBIGUOUS_DROP,
    AMBIGUOUS_WIDTH,
    EDGE_MARGIN,
    SHIFT,
    lightning,
    lrkit_rule,
    minimum,
    steepest,
    valley,
)
from ._sweep import check_positive_float
from ._verdict import Verdict

__all__ = ["METHODS", "NoSuggestionError", "RangeTestResult", "analyze", "peak_lr"]

METHODS = ("lrkit", "steepest", "valley", "minimum", "lightning")

# The schedules ``suggest(for_schedule=...)`` answers for: a constant LR, or the peak of
# a decaying one. PEAK_SHIFT (decades above the constant-LR suggestion) and PEAK_MARGIN
# (decades the peak stays below the edge) come from the finder zoo's two grids (a
# constant-LR grid and a cosine grid per case); see docs/range_test.md.
PEAK_SHIFT = 0.3
PEAK_MARGIN = 0.0


class NoSuggestionError(ValueError):
    """The sweep gives no reliable learning rate; the message says why and what to change."""


def _readonly(values: Any) -> np.ndarray:
    out = np.array(values, dtype=np.float64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class RangeTestResult:
    """The outcome of an LR range test: the curve, why it stopped, and what to train with.

    Build it with :func:`analyze` (or :func:`lrkit.torch.range_test`); all LRs are those
    of the first parameter group (the others keep their ratios to it).

    Attributes:
        lrs: the LR of each recorded optimizer step, increasing.
        losses: the raw loss at each step (the last one may be NaN/inf or diverged).
        smoothed: lrkit's centred local fit of the loss over ``log10(lr)``; NaN where
            nothing was fitted (non-finite losses, or too few points).
        stopped_early: whether the stop rule ended the sweep.
        stop_reason: why (``None`` when the sweep ran to the end).
        suggestion: the LR to train with at a constant or decayed rate, or ``None`` when
            the curve gives no reliable answer (see ``reason``).
        interval: ``(low, high)``: where the fitted loss falls at least half as fast as
            at its steepest (widened to include ``suggestion``); for a curve without a
            clear descent, from half a decade below the suggestion up to ``safety``
            decades below the edge; ``None`` when unreliable.
        reliable: whether ``suggestion`` and ``interval`` can be trusted.
        reason: how the suggestion was placed, or why there is none (for people: it may
            be reworded; code branches on ``verdict``).
        verdict: what the rule concluded, a :class:`Verdict` (``verdict.reliable`` equals
            ``reliable``; ``verdict.shift`` says which way to move a sweep that gave
            no suggestion).
        num_steps: the number of steps planned for the sweep.
        stop_factor, smoothing: the stop rule (see :class:`StopRule`).
        bandwidth: the fit's kernel width, in decades.
        safety: how many decades below the edge (where the loss starts to rise) the
            suggestion stays at least.
        edge: the LR where the fitted loss starts to rise (training becomes unstable),
            or ``None`` when it never does within the sweep.
        race: the validated mode's race (``validate=True``), or ``None``.
        ambiguous: a suggestion on a curve whose fitted loss fell by less than 15% of
            itself before the edge: the model barely learned within the sweep, and on
            the finder zoo such curves held most of the suggestions more than 3 points
            off the grid's best. The interval is then widened (from 0.75 decades below
            the suggestion up to the edge); race it (``validate=True``) before trusting
            the suggestion.

    Example:
        >>> lrs = np.logspace(-6, 0, 61)
        >>> x = np.log10(lrs)
        >>> losses = 2.0 - np.tanh(x + 3.0) + np.exp(4.0 * (x + 0.5))
        >>> result = analyze(lrs, losses)
        >>> result.reliable, round(float(np.log10(result.suggestion)), 1)
        (True, -2.9)
        >>> result.suggest("steepest") > result.suggestion  # the EMA's lag
        True
        >>> RangeTestResult.from_dict(result.to_dict()) == result
        True
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stopped_early: bool
    stop_reason: str | None
    suggestion: float | None
    interval: tuple[float, float] | None
    reliable: bool
    reason: str
    verdict: Verdict
    num_steps: int
    stop_factor: float = 4.0
    smoothing: float = 0.9
    bandwidth: float = 0.25
    safety: float = 0.7
    edge: float | None = None
    race: Race | None = None
    ambiguous: bool = False

    def __post_init__(self) -> None:
        for name in ("lrs", "losses", "smoothed"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))
        if not (len(self.lrs) == len(self.losses) == len(self.smoothed)):
            raise ValueError(
                f"lrs, losses and smoothed must have the same length, got "
                f"{len(self.lrs)}, {len(self.losses)}, {len(self.smoothed)}"
            )
        if self.interval is not None:
            object.__setattr__(self, "interval", (float(self.interval[0]), float(self.interval[1])))
        if self.suggestion is not None:
            object.__setattr__(self, "suggestion", float(self.suggestion))
        if self.edge is not None:
            object.__setattr__(self, "edge", float(self.edge))
        if not isinstance(self.verdict, Verdict):
            raise TypeError(f"verdict must be a Verdict, got {self.verdict!r}")
        if bool(self.reliable) != self.verdict.reliable:
            raise ValueError(
                f"reliable={self.reliable!r} contradicts verdict {self.verdict.value!r}"
            )
        if not isinstance(self.ambiguous, bool):
            raise TypeError(f"ambiguous must be a bool, got {self.ambiguous!r}")
        if self.ambiguous and not self.reliable:
            raise ValueError("ambiguous=True needs a suggestion (reliable=True)")
        if self.race is not None and not isinstance(self.race, Race):
            raise TypeError(f"race must be a Race or None, got {self.race!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RangeTestResult):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def suggest(self, method: str = "lrkit", *, for_schedule: str = "constant") -> float:
        """The LR suggested by ``method`` on this sweep, for a schedule.

        ``"lrkit"``: :attr:`suggestion` (see :func:`analyze`); ``"steepest"``:
        torch-lr-finder's steepest point of its EMA curve; ``"valley"``: fastai's
        default rule; ``"minimum"``: fastai's LR at the smoothed minimum / 10;
        ``"lightning"``: Lightning's steepest point over the raw LR. The peer rules
        read the recorded sweep exactly as the peer would (their smoothing, stop rule
        and trimming), so they return a number even on a bad curve; they answer one
        LR whatever the schedule.

        ``for_schedule`` (lrkit's rule only): ``"constant"`` returns the LR to train
        with at a constant rate (:attr:`suggestion`); ``"cosine"``, ``"linear"``,
        ``"onecycle"`` or ``"wsd"`` return the *peak* of that decaying schedule,

            ``x_peak = min(x* + PEAK_SHIFT, x_edge - PEAK_MARGIN)``  (``x = log10 lr``)

        ``PEAK_SHIFT = 0.3`` and ``PEAK_MARGIN = 0`` decades were fitted on the finder
        zoo's constant and cosine grids (the best cosine peak is a median 0.33 decades
        above the best constant LR; docs/range_test.md gives the spread); since the
        suggestion stays ``safety`` (0.7) decades below the edge, the cap does not bind
        with the defaults: the peak is twice the constant-LR suggestion. The other
        decaying schedules use the cosine relation (not measured separately).
        Without an edge, ``x_peak = x* + PEAK_SHIFT``. When the validated mode raced
        the same schedule, its winner is returned instead.

        Raises:
            ValueError: an unknown ``method`` or ``for_schedule``, a schedule with a peer
                rule, or a peer rule with too few points.
            NoSuggestionError: ``"lrkit"`` on an unreliable curve (says why).

        Example:
            >>> lrs = np.logspace(-6, 0, 61)
            >>> x = np.log10(lrs)
            >>> r = analyze(lrs, 2.0 - np.tanh(x + 3.0) + np.exp(4.0 * (x + 0.5)))
            >>> peak = r.suggest(for_schedule="cosine")
            >>> round(float(np.log10(peak / r.suggestion)), 2)  # PEAK_SHIFT above
            0.3
        """
        if for_schedule not in SCHEDULES:
            raise ValueError(
                f"for_schedule must be one of {', '.join(map(repr, SCHEDULES))}; "
                f"got {for_schedule!r}"
            )
        if method == "lrkit":
            if self.suggestion is None:
                raise NoSuggestionError(f"no reliable suggestion: {self.reason}")
            if self.race is not None and self.race.schedule == for_schedule:
                return self.race.suggestion
            if for_schedule == "constant":
                return self.suggestion
            return peak_lr(self.suggestion, self.edge)
        if for_schedule != "constant":
            raise ValueError(
                f"for_schedule={for_schedule!r} applies to lrkit's rule only, not {method!r}"
            )
        if method == "steepest":
            return steepest(self.lrs, self.losses)
        if method == "valley":
            return valley(self.lrs, self.losses, self.num_steps)
        if method == "minimum":
            return minimum(self.lrs, self.losses, self.num_steps)
        if method == "lightning":
            return lightning(self.lrs, self.losses)
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")

    def cyclic_bounds(self, ratio: float = 4.0) -> tuple[float, float]:
        """``(base_lr, max_lr)`` for a cyclic schedule (Smith 2017).

        ``max_lr`` is the top of :attr:`interval`, where the loss stops falling fast
        (on an :attr:`ambiguous` curve, whose interval reaches the edge, at most
        ``safety`` decades below the edge); ``base_lr = max_lr / ratio`` (Smith
        recommends 3 to 4).

        Raises:
            ValueError: ``ratio`` is not > 1.
            NoSuggestionError: the curve is unreliable.
        """
        r = check_positive_float("ratio", ratio)
        if r <= 1.0:
            raise ValueError(f"ratio must be > 1, got {ratio!r}")
        high = self._fast_top()
        return high / r, high

    def one_cycle_max_lr(self) -> float:
        """``max_lr`` for a one-cycle schedule: the top of :attr:`interval` (capped as in
        :meth:`cyclic_bounds` on an ambiguous curve).

        One-cycle warms up to ``max_lr`` and anneals away from it, so it tolerates the
        largest LR at which the loss still fell fast (Smith & Topin 2018).

        Raises:
            NoSuggestionError: the curve is unreliable.
        """
        return self._fast_top()

    def _fast_top(self) -> float:
        """The top of the interval; on an ambiguous curve (whose interval was widened up
        to the edge) no higher than ``safety`` decades below the edge."""
        high = self._interval()[1]
        if self.ambiguous and self.edge is not None:
            high = min(high, self.edge * 10.0**-self.safety)
        return high

    def _interval(self) -> tuple[float, float]:
        if self.interval is None:
            raise NoSuggestionError(f"no reliable suggestion: {self.reason}")
        return self.interval

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (non-finite losses as strings) for :meth:`from_dict`."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value = [v if math.isfinite(v) else str(v) for v in value.tolist()]
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Race):
                value = value.to_dict()
            elif isinstance(value, Verdict):
                value = value.value
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeTestResult:
        """Rebuild a result from :meth:`to_dict`.

        Raises:
            ValueError: ``data`` is not such a dict (the message names the key).
        """
        if not isinstance(data, dict):
            raise ValueError(f"data must be a dict from RangeTestResult.to_dict(), got {data!r}")
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in data]
        unknown = sorted(set(data) - set(names))
        if missing or unknown:
            raise ValueError(f"bad range-test dict: missing keys {missing}, unknown keys {unknown}")
        kwargs = dict(data)
        for name in ("lrs", "losses", "smoothed"):
            kwargs[name] = [float(v) for v in data[name]]
        if data["interval"] is not None:
            kwargs["interval"] = tuple(data["interval"])
        if data["race"] is not None:
            kwargs["race"] = Race.from_dict(data["race"])
        try:
            kwargs["verdict"] = Verdict(data["verdict"])
        except ValueError:
            raise ValueError(f"bad range-test dict: unknown verdict {data['verdict']!r}") from None
        return cls(**kwargs)


def analyze(
    lrs: Any,
    losses: Any,
    *,
    num_steps: int | None = None,
    stop_factor: float = 4.0,
    smoothing: float = 0.9,
    bandwidth: float | None = None,
    safety: float = 0.7,
    min_points: int = 10,
    shift: float = SHIFT,
    edge_margin: float = EDGE_MARGIN,
    ambiguous_drop: float = AMBIGUOUS_DROP,
    ambiguous_width: float = AMBIGUOUS_WIDTH,
) -> RangeTestResult:
    """Read a range-test sweep: where it stops, the lag-free fit, and the suggestion.

    The causal :class:`StopRule` is applied first (so a longer sweep is cut exactly where
    a run with this rule would have stopped); losses above the divergence level
    ``best + (stop_factor - 1) |best|`` are clipped to it, and lrkit's rule
    (:func:`~lrkit.range_test._suggest.lrkit_rule`) fits ``loss`` over ``x = log10(lr)``
    with a centred, spike-resistant local quadratic of width ``bandwidth`` and suggests

        ``x* = min(x_c + 0.15, x_edge - safety, x_min)``

    where ``x_c`` is the centre of the steepest descent (slope-weighted mean of ``x``
    where the fitted slope is at least half its steepest), ``x_edge`` the first LR at
    which the fitted loss rises significantly above its running minimum (training
    becomes unstable) and ``x_min`` the fitted minimum before it. A curve that never
    clearly falls but shows an edge gets ``x* = x_edge - 1.2``; a weak descent (a drop
    between one and two noise levels ``tau``, or under 5% of the loss) gets a weighted
    mean of the two answers, so the suggestion does not jump when noise tips a descent
    over a threshold. The interval is the half-steepest stretch.

    Args:
        lrs: strictly increasing, finite, positive learning rates (first param group).
        losses: the raw loss at each LR (NaN/inf allowed: the sweep stops there).
        num_steps: the number of steps planned (default ``len(lrs)``); fastai's rules
            trim ``num_steps // 10`` points at the start.
        stop_factor: divergence factor of the stop rule, > 1.
        smoothing: EMA weight on the past for the stop rule, in [0, 1).
        bandwidth: kernel width in decades (default: ``max(0.25, 3 x`` median spacing)).
        safety: decades the suggestion stays below the edge, >= 0.
        min_points: fewest finite points for a reliable suggestion, >= 5.
        shift: decades above the centre of the steepest descent (0.15).
        edge_margin: decades below the edge without a clear descent (1.2).
        ambiguous_drop: the curve is ambiguous when its fitted loss fell by less than this
            fraction of itself (0.15).
        ambiguous_width: an ambiguous interval reaches this many decades below the
            suggestion (0.75), and up to the edge.

    Returns:
        A :class:`RangeTestResult` whose :class:`Verdict` says what the rule found;
        ``reliable=False`` with a reason when the curve is too short, flat, rises from
        the start, or its descent runs off either end of the LR range.

    Raises:
        TypeError, ValueError: malformed input (the message names the argument).

    Example:
        >>> lrs = np.logspace(-6, 1, 71)
        >>> x = np.log10(lrs)
        >>> r = analyze(lrs, 2.3 - 2.0 / (1 + np.exp(-3 * (x + 3))) + np.exp(4 * (x + 0.5)))
        >>> round(float(np.log10(r.suggestion)), 2), r.stopped_early  # descent centred at -3
        (-2.85, True)
    """
    x_lrs = np.asarray(lrs, dtype=np.float64)
    y = np.asarray(losses, dtype=np.float64)
    if x_lrs.ndim != 1 or y.ndim != 1:
        raise ValueError(f"lrs and losses must be 1-D, got shapes {x_lrs.shape} and {y.shape}")
    if len(x_lrs) != len(y):
        raise ValueError(f"lrs and losses must have the same length, got {len(x_lrs)} and {len(y)}")
    if len(x_lrs) == 0:
        raise ValueError("lrs is empty: a range test needs at least one point")
    if not (np.all(np.isfinite(x_lrs)) and np.all(x_lrs > 0)):
        raise ValueError(f"lrs must be finite and > 0, got min {np.nanmin(x_lrs)!r}")
    if np.any(np.diff(x_lrs) <= 0):
        raise ValueError("lrs must be strictly increasing")
    planned = len(x_lrs) if num_steps is None else num_steps
    if isinstance(planned, bool) or not isinstance(planned, numbers.Integral) or planned < 1:
        raise ValueError(f"num_steps must be an integer >= 1, got {num_steps!r}")
    safety_f = float(safety) if isinstance(safety, (int, float)) else math.nan
    if isinstance(safety, bool) or not (math.isfinite(safety_f) and safety_f >= 0.0):
        raise ValueError(f"safety must be a number >= 0, got {safety!r}")
    if isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 5:
        raise ValueError(f"min_points must be an integer >= 5, got {min_points!r}")
    rule = StopRule(stop_factor=stop_factor, smoothing=smoothing)

    state = rule.init()
    stop_at, stop_reason = None, None
    for i, loss in enumerate(y):
        state, why = rule.update(state, loss)
        if why is not None:
            stop_at, stop_reason = i, f"{why} at lr={x_lrs[i]:.3g}"
            break
    if stop_at is not None:
        x_lrs, y = x_lrs[: stop_at + 1], y[: stop_at + 1]
    finite = np.isfinite(y)
    x = np.log10(x_lrs)
    spacing = float(np.median(np.diff(x))) if len(x) > 1 else 0.0
    h = (
        max(0.25, 3.0 * spacing)
        if bandwidth is None
        else check_positive_float("bandwidth", bandwidth)
    )
    best = state.best
    y_fit = y[finite]
    if math.isfinite(best):
        y_fit = np.minimum(y_fit, best + (rule.stop_factor - 1.0) * abs(best))
    found = lrkit_rule(
        x[finite],
        y_fit,
        bandwidth=h,
        safety=safety_f,
        min_points=min_points,
        shift=check_finite("shift", shift),
        edge_margin=check_finite("edge_margin", edge_margin),
        ambiguous_drop=check_finite("ambiguous_drop", ambiguous_drop),
        ambiguous_width=check_finite("ambiguous_width", ambiguous_width),
    )
    smoothed = np.full(len(y), np.nan)
    smoothed[finite] = found.fit
    return RangeTestResult(
        lrs=x_lrs,
        losses=y,
        smoothed=smoothed,
        stopped_early=stop_at is not None,
        stop_reason=stop_reason,
        suggestion=None if found.suggestion is None else 10.0**found.suggestion,
        interval=None
        if found.interval is None
        else (10.0 ** found.interval[0], 10.0 ** found.interval[1]),
        reliable=found.reliable,
        reason=found.reason,
        verdict=found.verdict,
        num_steps=int(planned),
        stop_factor=rule.stop_factor,
        smoothing=rule.smoothing,
        bandwidth=h,
        safety=safety_f,
        edge=None if found.edge is None else 10.0**found.edge,
        ambiguous=found.ambiguous,
    )


def check_finite(name: str, value: Any) -> float:
    """``value`` as a float, or ``ValueError`` naming ``name`` when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def peak_lr(
    suggestion: float,
    edge: float | None,
    *,
    shift: float = PEAK_SHIFT,
    margin: float = PEAK_MARGIN,
) -> float:
    """The peak of a decaying schedule from the constant-LR ``suggestion`` and the ``edge``.

    ``10 ** min(log10(suggestion) + shift, log10(edge) - margin)``, never below the
    suggestion (without an edge, ``suggestion * 10 ** shift``). A decaying schedule
    spends most of its steps below its peak, so its best peak sits above the best
    constant LR; the edge (where the sweep's loss starts to rise) caps it.

    Example:
        >>> [f"{peak_lr(1e-3, edge):.2g}" for edge in (1.0, 1.5e-3, None)]
        ['0.002', '0.0015', '0.002']
    """
    x = math.log10(suggestion) + shift
    if edge is not None:
        x = min(x, math.log10(edge) - margin)
    return float(10.0 ** max(x, math.log10(suggestion)))
