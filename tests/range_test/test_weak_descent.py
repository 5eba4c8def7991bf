"""lrkit's rule on weak descents: the suggestion moves smoothly between its two answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from lrkit.range_test import Verdict, analyze
from lrkit.range_test._suggest import EDGE_MARGIN, SHIFT, descent_weight

LRS = np.logspace(-7, 1, 100)
X = np.log10(LRS)


def weak_curve(depth: float, *, centre: float = -3.0, noise: float = 0.0, seed: int = 0):
    """A loss of 1.1 that falls by ``depth`` around ``centre`` and blows up past lr = 0.1."""
    y = 1.1 - depth / (1 + np.exp(-(X - centre) / 0.3)) + 0.5 * np.exp((X + 1.0) / 0.2)
    return y * (1 + noise * np.random.default_rng(seed).standard_normal(len(X)))


def test_descent_weight_is_zero_up_to_tau_one_from_two_tau_and_monotone() -> None:
    tau, scale = 0.1, 1.0  # 5% of the scale is 0.05, below tau: only significance matters
    assert descent_weight(0.0, tau, scale) == descent_weight(tau, tau, scale) == 0.0
    assert descent_weight(2 * tau, tau, scale) == descent_weight(5 * tau, tau, scale) == 1.0
    drops = np.linspace(0.0, 0.3, 61)
    weights = [descent_weight(float(d), tau, scale) for d in drops]
    assert all(b >= a for a, b in itertools.pairwise(weights))
    # a significant drop that is a small fraction of the loss is trusted only in part
    assert descent_weight(0.03, 0.01, 2.0) == pytest.approx(0.3)
    assert descent_weight(1.0, 0.0, 1.0) == 0.0  # no noise scale: nothing to weigh


def test_suggestion_moves_smoothly_from_the_edge_rule_to_the_descent_rule() -> None:
    depths = np.linspace(0.0, 0.3, 121)
    xs = []
    for depth in depths:
        result = analyze(LRS, weak_curve(float(depth), centre=-4.5))
        assert result.reliable, (depth, result.reason)
        xs.append(math.log10(result.suggestion))  # type: ignore[arg-type]
    # the two answers are 1.7 decades apart, and a hard threshold between them jumped
    # all the way; the blend moves in small steps as the descent deepens
    assert xs[0] - xs[-1] > 1.5
    assert max(abs(np.diff(xs))) < 0.3
    # no descent: the edge's answer; a clear one: the descent's centre + SHIFT
    edge_answer = xs[0]
    assert -1.6 - EDGE_MARGIN < edge_answer < -1.1 - EDGE_MARGIN
    assert abs(xs[-1] - (-4.5 + SHIFT)) < 0.03
    weak = analyze(LRS, weak_curve(0.04))
    assert "weak descent" in weak.reason and weak.verdict is Verdict.WEAK_DESCENT
    low, high = weak.interval  # type: ignore[misc]
    assert low <= weak.suggestion <= high  # type: ignore[operator]


def test_weak_descent_spreads_less_over_noise_seeds_than_a_hard_threshold() -> None:
    # near the threshold, noise decides which rule answers: with the blend, the answers
    # of 20 noise seeds stay within a few tenths of a decade of each other
    xs = []
    for seed in range(20):
        result = analyze(LRS, weak_curve(0.05, noise=0.01, seed=seed))
        assert result.reliable, result.reason
        xs.append(math.log10(result.suggestion))  # type: ignore[arg-type]
    assert float(np.std(xs)) < 0.25


def test_clear_descent_without_an_edge_is_read_but_a_weak_one_is_not() -> None:
    base = 1.1 - 1.0 / (1 + np.exp(-(X + 3.0) / 0.3))
    clear = analyze(LRS, base)
    assert clear.reliable and "weak" not in clear.reason and clear.verdict is Verdict.DESCENT
    faint = analyze(LRS, 1.1 - 0.03 / (1 + np.exp(-(X + 3.0) / 0.3)))
    assert not faint.reliable and "flat" in faint.reason and faint.verdict is Verdict.FLAT
