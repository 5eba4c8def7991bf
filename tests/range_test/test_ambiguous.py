"""Ambiguous curves: a loss that barely falls during the sweep gets a wide interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrkit.range_test import RangeTestResult, Verdict, analyze

LRS = np.logspace(-7, 1, 100)
X = np.log10(LRS)


def shallow(fall: float, centre: float = -3.0, gap: float = 2.0) -> np.ndarray:
    """From 2.3, a logistic fall by ``fall`` of the loss, then a divergence ``gap`` later."""
    return 2.3 * (1.0 - fall / (1 + np.exp(-(X - centre) / 0.35))) + 0.3 * np.exp(
        (X - centre - gap) / 0.15
    )


@pytest.mark.parametrize("fall", [0.08, 0.12])
def test_a_loss_that_fell_little_is_ambiguous_with_a_wide_interval(fall: float) -> None:
    result = analyze(LRS, shallow(fall))
    assert result.reliable and result.verdict is Verdict.DESCENT and result.ambiguous
    assert "ambiguous" in result.reason
    # the same suggestion as a clear descent's: only the interval changes
    deep = analyze(LRS, shallow(0.8))
    assert not deep.ambiguous
    assert math.log10(result.suggestion) == pytest.approx(  # type: ignore[arg-type]
        math.log10(deep.suggestion),
        abs=0.05,  # type: ignore[arg-type]
    )
    low, high = result.interval  # type: ignore[misc]
    # the unwidened interval, from the same curve with the check off
    plain = analyze(LRS, shallow(fall), ambiguous_drop=0.0)
    assert not plain.ambiguous and plain.suggestion == result.suggestion
    p_low, p_high = plain.interval  # type: ignore[misc]
    # widened to 0.75 decades below the suggestion (or the plain bottom, if lower) and
    # up to the edge
    expected_low = min(math.log10(p_low), math.log10(result.suggestion) - 0.75)  # type: ignore[arg-type]
    assert math.log10(low) == pytest.approx(expected_low, abs=1e-9)
    assert high == pytest.approx(max(p_high, result.edge)) and high > p_high  # type: ignore[type-var]


def test_the_threshold_is_the_fraction_the_loss_fell() -> None:
    y = shallow(0.25)
    assert not analyze(LRS, y).ambiguous
    assert analyze(LRS, y, ambiguous_drop=0.3).ambiguous
    assert not analyze(LRS, y, ambiguous_drop=0.0).ambiguous
    narrow = analyze(LRS, shallow(0.1), ambiguous_width=0.0)
    assert narrow.ambiguous and narrow.interval[0] <= narrow.suggestion  # type: ignore[index,operator]


def test_ambiguous_round_trips_and_needs_a_suggestion() -> None:
    result = analyze(LRS, shallow(0.1))
    assert RangeTestResult.from_dict(result.to_dict()) == result
    flat = analyze(LRS, np.full(100, 2.3))
    assert flat.verdict is Verdict.FLAT and not flat.ambiguous
    with pytest.raises(ValueError, match="ambiguous=True needs a suggestion"):
        RangeTestResult.from_dict({**flat.to_dict(), "ambiguous": True})
    with pytest.raises(ValueError, match="ambiguous_drop"):
        analyze(LRS, shallow(0.1), ambiguous_drop=math.nan)


def test_one_cycle_and_cyclic_stay_a_safety_margin_below_the_edge_when_ambiguous() -> None:
    result = analyze(LRS, shallow(0.1))
    assert result.ambiguous and result.interval[1] == pytest.approx(result.edge)  # type: ignore[index]
    cap = result.edge * 10**-0.7  # type: ignore[operator]
    assert result.one_cycle_max_lr() == pytest.approx(cap)
    assert result.cyclic_bounds() == pytest.approx((cap / 4, cap))
    deep = analyze(LRS, shallow(0.8))
    assert deep.one_cycle_max_lr() == deep.interval[1]  # type: ignore[index]
