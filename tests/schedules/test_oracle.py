"""Every schedule at every step of range(end + k), against tests/reference.py."""

from __future__ import annotations

import numpy as np
import pytest

from schedules.cases import CASES


def assert_matches(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_step_matches_the_reference(name: str) -> None:
    schedule, formula, end = CASES[name]
    t = np.arange(end + 60, dtype=np.float64)
    expected = np.array([formula(float(x)) for x in t])
    assert_matches(schedule(t), expected)
    # Scalars give the same floats as the array, one by one.
    assert [schedule(int(x)) for x in t[:: max(1, len(t) // 40)]] == list(
        schedule(t)[:: max(1, len(t) // 40)]
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_fractional_times_and_far_beyond_match_the_reference(name: str) -> None:
    schedule, formula, end = CASES[name]
    t = np.concatenate([np.linspace(0.0, end + 3.0, 397) + 0.25, [10.0 * end + 0.5, 1e6]])
    expected = np.array([formula(float(x)) for x in t])
    assert_matches(schedule(t), expected)
