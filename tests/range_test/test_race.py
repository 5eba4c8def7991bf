"""Successive halving on synthetic objectives with a known best LR, and the schedule shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrkit.range_test import Race, race, race_candidates, schedule_shape


def _score(best: float):
    calls: list[tuple[float, int]] = []

    def score(lr: float, steps: int) -> float:
        calls.append((lr, steps))
        # a bowl in log-LR whose noise shrinks with the budget (deterministic)
        wobble = 0.3 * math.sin(7.0 * math.log10(lr)) / steps
        return -((math.log10(lr) - math.log10(best)) ** 2) + wobble

    return score, calls


@pytest.mark.parametrize("best", [3e-4, 2e-3, 0.05])
def test_the_winner_is_the_candidate_nearest_the_known_best(best: float) -> None:
    candidates = [10.0**e for e in np.linspace(-4, -1, 7)]
    score, calls = _score(best)
    result = race(candidates, score, steps=20, eta=2)
    # independent: nearest candidate in log distance (the wobble vanishes at the last rung)
    nearest = min(candidates, key=lambda c: abs(math.log10(c) - math.log10(best)))
    assert result.winner == pytest.approx(nearest)
    # rungs: 7 -> 4 -> 2 -> 1 survivors, budgets 20, 40, 80
    assert [len(r.lrs) for r in result.rungs] == [7, 4, 2]
    assert [r.steps for r in result.rungs] == [20, 40, 80]
    assert result.total_steps == 7 * 20 + 4 * 40 + 2 * 80
    assert sum(steps for _, steps in calls) == result.total_steps


def test_survivors_are_the_best_of_each_rung() -> None:
    score, _ = _score(1e-2)
    result = race(race_candidates(1e-4, 1.0, 5), score, steps=10, eta=3)
    first, second = result.rungs
    ranked = sorted(zip(first.scores, first.lrs, strict=True), reverse=True)
    assert sorted(second.lrs) == sorted(lr for _, lr in ranked[:2])
    assert result.total_steps == 5 * 10 + 2 * 30


def test_a_diverged_run_never_wins() -> None:
    def score(lr: float, steps: int) -> float:
        return math.nan if lr > 0.01 else math.log10(lr)

    result = race([1e-3, 1e-2, 1e-1], score, steps=5, eta=2)
    assert result.winner == pytest.approx(1e-2)
    assert result.rungs[0].scores[2] == -math.inf


def test_round_trip_and_description() -> None:
    score, _ = _score(1e-3)
    result = race(race_candidates(1e-5, 1e-1, 4), score, steps=3, schedule="cosine", backoff=0.5)
    assert Race.from_dict(result.to_dict()) == result
    assert result.suggestion == pytest.approx(result.winner / math.sqrt(10.0))
    with pytest.raises(ValueError, match="backoff"):
        race([1e-3], score, steps=1, backoff=-0.1)
    lines = result.describe()
    assert len(lines) == len(result.rungs) and lines[0].startswith("rung 1: 3 steps each")
    with pytest.raises(ValueError, match="bad race dict"):
        Race.from_dict({"candidates": []})


def test_candidates_are_log_spaced() -> None:
    got = race_candidates(1e-4, 1e-1, 4)
    assert np.allclose(np.log10(got), [-4, -3, -2, -1])
    with pytest.raises(ValueError, match="low"):
        race_candidates(1e-1, 1e-4, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"steps": 0}, "steps"), ({"steps": 5, "eta": 1}, "eta"), ({"steps": True}, "steps")],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        race([1e-3], lambda lr, s: 0.0, **kwargs)
    with pytest.raises(ValueError, match="candidates"):
        race([], lambda lr, s: 0.0, steps=1)


def test_schedule_shapes() -> None:
    cos = schedule_shape("cosine")
    assert cos(0.25) == pytest.approx((1 + math.cos(math.pi / 4)) / 2)
    assert schedule_shape("linear")(0.75) == pytest.approx(0.25)
    assert schedule_shape("constant")(0.9) == 1.0
    one = schedule_shape("onecycle")
    assert one(0.0) == pytest.approx(1 / 25) and one(0.3) == pytest.approx(1.0)
    assert one(1.0) == pytest.approx(1 / 25 / 1e4)
    wsd = schedule_shape("wsd")
    assert wsd(0.05) == pytest.approx(0.5) and wsd(0.5) == 1.0 and wsd(0.9) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="schedule"):
        schedule_shape("step")
