"""lrkit.range_test: stop rule, lag-free suggestion on curves with a known optimum, peer rules."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrkit.range_test import (
    NoSuggestionError,
    RangeTestResult,
    StopRule,
    Verdict,
    analyze,
    fastai_curve,
    local_fit,
    sweep_lrs,
    valley,
)
from lrkit.range_test._suggest import EDGE_MARGIN, SHIFT

LRS = np.logspace(-7, 1, 100)  # the default sweep: 1e-7 -> 10 in 100 steps
X = np.log10(LRS)


def curve(
    centre: float, *, width: float = 0.35, gap: float = 2.0, noise: float = 0.0, seed: int = 0
) -> np.ndarray:
    """A range-test curve whose steepest descent is centred at ``log10(lr) = centre``.

    A logistic drop from 2.3 to 0.3 centred on ``centre``, then a divergence that starts
    ``gap`` decades later; multiplicative Gaussian noise of relative size ``noise``.
    lrkit's rule should answer ``centre + SHIFT`` (the descent is symmetric, so its
    slope-weighted centre is ``centre``; the edge is far enough not to cap it).
    """
    y = 2.3 - 2.0 / (1 + np.exp(-(X - centre) / width)) + 0.3 * np.exp((X - centre - gap) / 0.15)
    rng = np.random.default_rng(seed)
    return y * (1 + noise * rng.standard_normal(len(X)))


@pytest.mark.parametrize("centre", [-5.5, -4.2, -3.0, -2.2])
def test_suggestion_is_the_known_optimum_without_noise(centre: float) -> None:
    result = analyze(LRS, curve(centre))
    assert result.reliable and result.verdict is Verdict.DESCENT, result.reason
    assert abs(math.log10(result.suggestion) - (centre + SHIFT)) < 0.03  # type: ignore[arg-type]
    low, high = result.interval  # type: ignore[misc]
    assert low < result.suggestion < high  # type: ignore[operator]


@pytest.mark.parametrize("noise", [0.02, 0.05])
def test_suggestion_within_a_tenth_of_a_decade_with_noise(noise: float) -> None:
    errors = []
    for centre in (-5.0, -3.7, -2.4):
        for seed in range(10):
            result = analyze(LRS, curve(centre, noise=noise, seed=seed))
            assert result.reliable, result.reason
            errors.append(math.log10(result.suggestion) - (centre + SHIFT))  # type: ignore[arg-type]
    assert max(abs(e) for e in errors) < 0.1


def test_ema_steepest_rule_lags_but_ours_does_not() -> None:
    # the peer rule is biased towards larger LRs even on a noise-free curve (REFERENCE.md s.3)
    result = analyze(LRS, curve(-3.0))
    assert math.log10(result.suggest("steepest")) - (-3.0) > 0.5
    assert abs(math.log10(result.suggest()) - (-3.0 + SHIFT)) < 0.03


def test_suggestion_stays_a_safety_margin_below_the_edge() -> None:
    # a descent that runs straight into divergence: its centre is too close to the blow-up
    free = analyze(LRS, curve(-3.0, gap=0.3, width=0.3))
    capped = analyze(LRS, curve(-3.0, gap=0.3, width=0.3), safety=1.5)
    assert free.reliable and capped.reliable
    assert "below where the loss starts to rise" in capped.reason
    assert math.log10(capped.suggestion) < math.log10(free.suggestion) - 0.2  # type: ignore[arg-type]
    # the edge is past the fitted minimum, so the cap is at most safety below it
    i_min = int(np.nanargmin(capped.smoothed))
    assert math.log10(capped.suggestion) >= X[i_min] - 1.5 - 1e-9  # type: ignore[arg-type]


def test_flat_curve_with_an_edge_suggests_well_below_the_edge() -> None:
    # the model learns nothing within the sweep, but blows up past lr = 0.1
    rng = np.random.default_rng(3)
    y = (1.1 + 0.5 * np.exp((X + 1.0) / 0.2)) * (1 + 0.02 * rng.standard_normal(100))
    result = analyze(LRS, y)
    assert result.reliable and "no clear descent" in result.reason
    assert result.verdict is Verdict.EDGE_ONLY
    x_star = math.log10(result.suggestion)  # type: ignore[arg-type]
    # the rise is significant (a few percent) around log10(lr) = -1.5 .. -1.2
    assert -1.6 - EDGE_MARGIN < x_star < -1.1 - EDGE_MARGIN
    low, high = result.interval  # type: ignore[misc]
    assert low < result.suggestion < high  # type: ignore[operator]


def test_stops_at_divergence_and_keeps_only_the_points_before() -> None:
    result = analyze(LRS, curve(-3.0))
    assert result.stopped_early and "diverged" in (result.stop_reason or "")
    assert len(result.lrs) == len(result.losses) < 100
    assert result.losses[-1] > 4 * np.min(result.losses[:-1]) * 0.5


def test_stop_rule_is_causal_and_handles_nan() -> None:
    rule = StopRule(stop_factor=4.0, smoothing=0.0)
    losses = [3.0, 2.0, 1.0, 5.0, 1.0]
    index, reason = rule.first_stop(losses)
    assert index == 3 and "diverged" in (reason or "")
    # what comes after the stop cannot change it
    assert rule.first_stop([*losses[:4], float("nan")])[0] == 3
    index, reason = rule.first_stop([3.0, 2.0, float("nan"), 1.0])
    assert index == 2 and "non-finite" in (reason or "")
    assert StopRule(smoothing=0.9).first_stop([2.0, 1.0, 1.5, 1.2]) == (None, None)


def test_stop_rule_uses_a_bias_corrected_ema() -> None:
    rule = StopRule(smoothing=0.5)
    state = rule.init()
    for loss in (4.0, 2.0):
        state, _ = rule.update(state, loss)
    # (0.5 * 0.5 * 4 + 0.5 * 2) / (1 - 0.25)
    assert state.smoothed(0.5) == pytest.approx(2.0 / 0.75)


def test_nan_loss_ends_the_curve() -> None:
    y = curve(-3.0, gap=4.0)
    y[60] = np.nan
    result = analyze(LRS, y)
    assert result.stopped_early and len(result.losses) == 61
    assert "non-finite" in (result.stop_reason or "")
    assert np.isnan(result.smoothed[-1]) and np.all(np.isfinite(result.smoothed[:-1]))
    assert result.reliable


def test_too_few_points_is_no_reliable_suggestion() -> None:
    result = analyze(LRS[:6], curve(-6.8)[:6])
    assert not result.reliable and result.suggestion is None and result.interval is None
    assert "too few points" in result.reason and result.verdict is Verdict.TOO_FEW_POINTS
    with pytest.raises(NoSuggestionError, match="too few points"):
        result.suggest()
    with pytest.raises(NoSuggestionError):
        result.cyclic_bounds()
    with pytest.raises(NoSuggestionError):
        result.one_cycle_max_lr()


def test_flat_curve_is_no_reliable_suggestion() -> None:
    rng = np.random.default_rng(1)
    result = analyze(LRS, 2.3 * (1 + 0.05 * rng.standard_normal(100)))
    assert not result.reliable and "flat" in result.reason and result.verdict is Verdict.FLAT
    assert not analyze(LRS, np.full(100, 2.3)).reliable


def test_curve_that_never_falls_is_no_reliable_suggestion() -> None:
    result = analyze(LRS, 1.0 + 0.3 * (X + 7.0))  # start_lr is already too large
    assert not result.reliable and "never fell" in result.reason, result.reason
    assert result.verdict is Verdict.ROSE_FROM_START


def test_curve_still_falling_at_the_end_is_no_reliable_suggestion() -> None:
    result = analyze(LRS, 2.3 - 2.0 / (1 + np.exp(-(X - 0.9) / 0.3)))
    assert not result.reliable and "end_lr" in result.reason
    assert result.verdict is Verdict.STEEP_AT_END


def test_curve_already_falling_at_the_start_is_no_reliable_suggestion() -> None:
    result = analyze(LRS, curve(-7.2))
    assert not result.reliable and "start_lr" in result.reason
    assert result.verdict is Verdict.STEEP_AT_START


def test_cyclic_and_one_cycle_bounds() -> None:
    result = analyze(LRS, curve(-3.0))
    low, high = result.interval  # type: ignore[misc]
    base, top = result.cyclic_bounds()
    assert top == high and base == pytest.approx(high / 4)
    assert result.cyclic_bounds(ratio=3.0)[0] == pytest.approx(high / 3)
    assert result.one_cycle_max_lr() == high
    assert low < result.suggestion < high  # type: ignore[operator]
    with pytest.raises(ValueError, match="ratio"):
        result.cyclic_bounds(ratio=1.0)


def test_valley_matches_fastais_published_rule_on_a_clean_curve() -> None:
    # strictly decreasing from index 0 to 59 of the trimmed curve: valley = start + 1/3 + 1/6
    lrs = np.logspace(-5, 0, 80)
    losses = np.concatenate([np.linspace(3.0, 1.0, 70), np.linspace(1.1, 1.3, 10)])
    x_valley = valley(lrs, losses, num_steps=80)
    # fastai sees lrs[8:-5] of the EMA curve; its longest valley starts at the first point
    assert lrs[8] < x_valley < lrs[70]


def test_peer_rules_return_numbers_and_unknown_method_is_refused() -> None:
    result = analyze(LRS, curve(-3.0, noise=0.05))
    for method in ("steepest", "valley", "minimum", "lrkit"):
        assert 1e-7 <= result.suggest(method) <= 10.0
    lrs, smooth = fastai_curve(result.lrs, result.losses, 100)
    assert result.suggest("minimum") == pytest.approx(lrs[np.argmin(smooth)] / 10)
    assert len(lrs) == len(result.lrs) - 10 - 5  # fastai trims num_it // 10 and 5 points
    with pytest.raises(ValueError, match="method"):
        result.suggest("fastest")


def test_dict_round_trip_through_json() -> None:
    y = curve(-3.0, gap=4.0, noise=0.03)
    y[70] = np.inf
    result = analyze(LRS, y)
    text = json.dumps(result.to_dict(), allow_nan=False)
    back = RangeTestResult.from_dict(json.loads(text))
    assert back == result and back.stop_reason == result.stop_reason
    assert np.isinf(back.losses[-1])
    with pytest.raises(ValueError, match="missing keys"):
        RangeTestResult.from_dict({"lrs": []})
    with pytest.raises(ValueError, match="unknown verdict 'fine'"):
        RangeTestResult.from_dict({**result.to_dict(), "verdict": "fine"})
    with pytest.raises(ValueError, match="contradicts verdict 'flat'"):
        RangeTestResult.from_dict({**result.to_dict(), "verdict": "flat"})


def test_result_is_frozen_and_read_only() -> None:
    result = analyze(LRS, curve(-3.0))
    with pytest.raises(AttributeError):
        result.suggestion = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        result.lrs[0] = 1.0


@pytest.mark.parametrize(
    ("lrs", "losses", "match"),
    [
        ([1e-3, 1e-2], [1.0], "same length"),
        ([], [], "empty"),
        ([1e-3, 0.0], [1.0, 1.0], "lrs must be finite and > 0"),
        ([1e-2, 1e-3], [1.0, 1.0], "increasing"),
        ([[1e-3]], [[1.0]], "1-D"),
    ],
)
def test_bad_curves(lrs: list[float], losses: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        analyze(lrs, losses)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"stop_factor": 0.5}, ValueError, "stop_factor"),
        ({"stop_factor": "4"}, TypeError, "stop_factor"),
        ({"smoothing": -0.1}, ValueError, "smoothing"),
        ({"bandwidth": 0.0}, ValueError, "bandwidth"),
        ({"safety": -1.0}, ValueError, "safety"),
        ({"min_points": 2}, ValueError, "min_points"),
        ({"num_steps": 0}, ValueError, "num_steps"),
    ],
)
def test_bad_options(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        analyze(LRS, curve(-3.0), **kwargs)  # type: ignore[arg-type]


def test_sweep_lrs() -> None:
    lrs = sweep_lrs(1e-7, 10.0, 100)
    assert lrs[0] == 1e-7 and lrs[-1] == 10.0
    np.testing.assert_allclose(np.diff(np.log10(lrs)), 8 / 99)
    with pytest.raises(TypeError, match="num_steps"):
        sweep_lrs(1e-7, 10.0, 10.0)  # type: ignore[arg-type]


def test_local_fit_has_no_lag_on_a_quadratic() -> None:
    x = np.linspace(-4.0, 0.0, 50)
    y = (x + 2.0) ** 2
    fit, slope, noise = local_fit(x, y, bandwidth=0.3, median_window=1)
    np.testing.assert_allclose(fit, y, atol=1e-8)
    np.testing.assert_allclose(slope, 2 * (x + 2.0), atol=1e-6)
    assert noise < 1e-8
    # the spike filter bends a minimum only slightly
    fit, slope, _ = local_fit(x, y, bandwidth=0.3)
    np.testing.assert_allclose(fit, y, atol=0.02)


def test_local_fit_ignores_a_spike() -> None:
    x = np.linspace(-4.0, 0.0, 50)
    y = 1.0 - 0.5 * x
    y_spiked = y.copy()
    y_spiked[25] += 50.0
    fit, _, _ = local_fit(x, y_spiked, bandwidth=0.3)
    np.testing.assert_allclose(fit, y, atol=0.05)
    fit, _, _ = local_fit(x, y_spiked, bandwidth=0.3, median_window=1)
    assert np.max(np.abs(fit - y)) > 1.0  # without the filter, the spike leaks into the fit


@settings(max_examples=40, deadline=None)
@given(
    centre=st.floats(-5.5, -1.5),
    width=st.floats(0.2, 0.6),
    gap=st.floats(0.8, 3.0),
    noise=st.floats(0.0, 0.1),
    seed=st.integers(0, 1000),
)
def test_suggestion_is_safe_and_inside_its_interval(
    centre: float, width: float, gap: float, noise: float, seed: int
) -> None:
    result = analyze(LRS, curve(centre, width=width, gap=gap, noise=noise, seed=seed))
    assert result.reliable == result.verdict.reliable
    if not result.reliable:
        assert result.suggestion is None and result.reason and result.verdict.shift != 0
        return
    low, high = result.interval  # type: ignore[misc]
    assert low <= result.suggestion <= high  # type: ignore[operator]
    # never past the fitted minimum
    x_min = math.log10(result.lrs[int(np.nanargmin(result.smoothed))])
    assert math.log10(result.suggestion) <= x_min + 1e-9  # type: ignore[arg-type]
