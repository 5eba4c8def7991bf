"""A race of candidate learning rates by successive halving (numpy only).

The validated range test (:func:`lrkit.torch.range_test` with ``validate=True``)
reads an interval from the sweep, then races a handful of log-spaced candidates in
it with short runs of the user's schedule, keeping the best ``1 / eta`` at each rung
and giving the survivors ``eta`` times more steps (successive halving: Jamieson &
Talwalkar 2016; Li et al. 2017, Hyperband). This module holds the plan and the
bookkeeping; the caller supplies ``evaluate(lr, steps) -> score`` (higher is better).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Race", "Rung", "race", "race_candidates", "schedule_shape"]


@dataclass(frozen=True)
class Rung:
    """One rung of a race: every candidate in it trained for ``steps`` steps from the start.

    Attributes:
        steps: optimizer steps of each run in this rung.
        lrs: the candidates raced in this rung.
        scores: their validation scores (higher is better; ``-inf`` for a run that
            diverged), in the order of ``lrs``.
    """

    steps: int
    lrs: tuple[float, ...]
    scores: tuple[float, ...]

    def survivors(self, keep: int) -> tuple[float, ...]:
        """The ``keep`` best candidates, best first (ties: the lower LR first)."""
        order = sorted(range(len(self.lrs)), key=lambda i: (-self.scores[i], self.lrs[i]))
        return tuple(self.lrs[i] for i in order[:keep])


@dataclass(frozen=True)
class Race:
    """The outcome of :func:`race`.

    Attributes:
        candidates: the LRs that started the race, increasing.
        rungs: the rungs in order (budgets grow by ``eta``).
        winner: the best candidate of the last rung.
        schedule: the schedule the runs followed (a name, or ``"custom"``).
        backoff: decades the answer stays below the winner (see :attr:`suggestion`).
    """

    candidates: tuple[float, ...]
    rungs: tuple[Rung, ...]
    winner: float
    schedule: str = "constant"
    backoff: float = 0.0

    @property
    def suggestion(self) -> float:
        """The validated LR: ``winner * 10**-backoff``.

        Short runs tolerate, and favour, larger LRs than the full run does (the
        short-horizon bias of Wu et al. 2018): a run that is stable for a few dozen
        steps at the edge may blow up later, so the answer backs off from the winner.
        """
        return float(self.winner * 10.0 ** (-self.backoff))

    @property
    def total_steps(self) -> int:
        """Optimizer steps of all runs of the race together."""
        return sum(r.steps * len(r.lrs) for r in self.rungs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (``-inf`` scores as strings) for :meth:`from_dict`."""
        return {
            "candidates": list(self.candidates),
            "rungs": [
                {
                    "steps": r.steps,
                    "lrs": list(r.lrs),
                    "scores": [s if math.isfinite(s) else str(s) for s in r.scores],
                }
                for r in self.rungs
            ],
            "winner": self.winner,
            "schedule": self.schedule,
            "backoff": self.backoff,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Race:
        """Rebuild a race from :meth:`to_dict`.

        Raises:
            ValueError: ``data`` is not such a dict.
        """
        try:
            rungs = tuple(
                Rung(
                    int(r["steps"]),
                    tuple(float(v) for v in r["lrs"]),
                    tuple(float(v) for v in r["scores"]),
                )
                for r in data["rungs"]
            )
            return cls(
                tuple(float(v) for v in data["candidates"]),
                rungs,
                float(data["winner"]),
                str(data["schedule"]),
                float(data.get("backoff", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bad race dict: {exc!r}") from None

    def describe(self) -> list[str]:
        """One line per rung, e.g. ``rung 1: 30 steps each, 1e-3: 81.2, ...``."""
        lines = []
        for i, r in enumerate(self.rungs):
            runs = ", ".join(f"{lr:.3g}: {s:.4g}" for lr, s in zip(r.lrs, r.scores, strict=True))
            lines.append(f"rung {i + 1}: {r.steps} steps each; {runs}")
        return lines


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def race_candidates(low: float, high: float, n: int) -> tuple[float, ...]:
    """``n`` LRs evenly spaced in log from ``low`` to ``high`` (both included).

    Example:
        >>> [f"{v:.0e}" for v in race_candidates(1e-3, 1e-1, 3)]
        ['1e-03', '1e-02', '1e-01']

    Raises:
        ValueError: ``low``/``high`` not finite and ``0 < low <= high``, or ``n < 1``.
    """
    n = _check_int("candidates", n, 1)
    if not (math.isfinite(low) and math.isfinite(high) and 0.0 < low <= high):
        raise ValueError(f"the race needs 0 < low <= high, got low={low!r}, high={high!r}")
    if n == 1 or low == high:
        return (float(math.sqrt(low * high)),) if n == 1 else (float(low),)
    return tuple(float(v) for v in np.logspace(math.log10(low), math.log10(high), n))


def race(
    candidates: tuple[float, ...] | list[float],
    evaluate: Callable[[float, int], float],
    *,
    steps: int,
    eta: int = 3,
    schedule: str = "constant",
    backoff: float = 0.0,
) -> Race:
    """Successive halving over ``candidates``.

    Rung ``k`` (from 0) trains each remaining candidate for ``steps * eta**k`` steps
    (each run from the same starting point: ``evaluate`` must restore it) and keeps the
    best ``ceil(n_k / eta)``; the race ends when one is left. A score that is NaN
    counts as ``-inf`` (a diverged run). The total cost for ``n`` candidates and
    ``eta = 3`` is ``steps * (n + 3 ceil(n / 3) + ...)``: 11 runs of ``steps`` for 5.

    Args:
        candidates: the LRs to race (> 0).
        evaluate: ``evaluate(lr, steps)`` trains from the start with peak ``lr`` for
            ``steps`` optimizer steps and returns the validation score (higher is better).
        steps: the first rung's budget per candidate, >= 1.
        eta: the factor between rungs, >= 2.
        schedule: recorded with the result.
        backoff: decades :attr:`Race.suggestion` stays below the winner, >= 0.

    Returns:
        The :class:`Race`.

    Raises:
        ValueError: no candidates, a non-positive candidate, or bad ``steps``/``eta``.

    Example:
        >>> # a known objective: the best LR is 1e-2, longer runs only sharpen it
        >>> score = lambda lr, steps: -abs(np.log10(lr) + 2) * (1 + 1 / steps)
        >>> r = race(race_candidates(1e-4, 1, 5), score, steps=10)
        >>> f"{r.winner:.0e}", [len(g.lrs) for g in r.rungs], r.total_steps
        ('1e-02', [5, 2], 110)
    """
    lrs = tuple(float(v) for v in candidates)
    if not lrs or not all(math.isfinite(v) and v > 0 for v in lrs):
        raise ValueError(f"candidates must be a non-empty list of LRs > 0, got {candidates!r}")
    steps = _check_int("steps", steps, 1)
    eta = _check_int("eta", eta, 2)
    if isinstance(backoff, bool) or not isinstance(backoff, numbers.Real) or not backoff >= 0:
        raise ValueError(f"backoff must be a number >= 0, got {backoff!r}")
    rungs: list[Rung] = []
    alive = lrs
    budget = steps
    while True:
        scores = []
        for lr in alive:
            value = float(evaluate(lr, budget))
            scores.append(-math.inf if math.isnan(value) else value)
        rung = Rung(budget, alive, tuple(scores))
        rungs.append(rung)
        if len(alive) == 1:
            break
        alive = tuple(sorted(rung.survivors(math.ceil(len(alive) / eta))))
        if len(alive) == 1:
            break
        budget *= eta
    winner = rungs[-1].survivors(1)[0]
    return Race(tuple(sorted(lrs)), tuple(rungs), winner, schedule, float(backoff))


_SHAPES: dict[str, Callable[[float], float]] = {
    "constant": lambda p: 1.0,
    "cosine": lambda p: 0.5 * (1.0 + math.cos(math.pi * min(max(p, 0.0), 1.0))),
    "linear": lambda p: 1.0 - min(max(p, 0.0), 1.0),
    # one-cycle (Smith & Topin 2018, torch defaults): 30% cosine warm-up from peak/25,
    # then cosine annealing to peak/1e4.
    "onecycle": lambda p: _one_cycle(min(max(p, 0.0), 1.0)),
    # warm-up, stable, decay (10% linear warm-up, 70% flat, 20% linear decay to 0)
    "wsd": lambda p: min(p / 0.1, 1.0, max(0.0, (1.0 - p) / 0.2)) if p > 0 else 0.0,
}


def _one_cycle(p: float) -> float:
    start, end = 1.0 / 25.0, 1.0 / 25.0 / 1e4
    if p < 0.3:
        return start + (1.0 - start) * 0.5 * (1.0 - math.cos(math.pi * p / 0.3))
    return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * (p - 0.3) / 0.7))


SCHEDULES = tuple(_SHAPES)


def schedule_shape(schedule: str | Callable[[float], float]) -> Callable[[float], float]:
    """The LR multiplier ``shape(p)`` of a schedule, ``p`` in ``[0, 1]`` the fraction of the run.

    Names: ``"constant"``, ``"cosine"`` (to 0), ``"linear"`` (to 0), ``"onecycle"``
    (torch's defaults: 30% cosine warm-up from peak/25, then cosine to peak/1e4),
    ``"wsd"`` (10% warm-up, 70% flat, 20% linear decay). A callable is used as is (its
    peak should be 1).

    Example:
        >>> shape = schedule_shape("cosine")
        >>> shape(0.0), shape(0.5), shape(1.0)
        (1.0, 0.5, 0.0)

    Raises:
        ValueError: an unknown name.
    """
    if callable(schedule):
        return schedule
    if schedule not in _SHAPES:
        raise ValueError(
            f"schedule must be one of {', '.join(map(repr, _SHAPES))} or a callable, "
            f"got {schedule!r}"
        )
    return _SHAPES[schedule]
