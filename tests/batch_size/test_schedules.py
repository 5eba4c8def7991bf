"""Batch schedules: oracle values at every boundary, rounding, caps, configs, the clock rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrkit.batch_size import (
    BatchConstant,
    BatchFromLR,
    BatchLinear,
    BatchStep,
    from_config,
    parse,
    round_batch,
)
from lrkit.schedules import CosineDecay, MultiStepDecay


def _round_g(x: float, g: int, cap: float = math.inf) -> int:
    """Independent rounding: nearest multiple of g (ties up), at least g, at most cap."""
    k = math.floor(x / g + 0.5)
    return int(min(max(k * g, g), cap))


def test_step_matches_formula_at_every_epoch_and_boundary() -> None:
    s = BatchStep(
        batch_size=100, milestones=[3, 5, 8], factor=3, max_batch_size=1600, granularity=16
    )
    ts = [t + d for t in range(12) for d in (0.0, 0.5)] + [2.999999, 7.9999]
    for t in ts:
        drops = sum(m <= t for m in (3, 5, 8))
        assert s(t) == _round_g(100 * 3**drops, 16, 1600), t
    assert s(np.asarray(ts)).tolist() == [s(t) for t in ts]
    assert s(np.asarray(ts)).dtype == np.int64
    assert isinstance(s(3), int)


def test_every_value_is_a_multiple_of_granularity_within_the_cap() -> None:
    s = BatchStep(
        batch_size=5, milestones=[1, 2, 3, 4], factor=2.7, max_batch_size=96, granularity=12
    )
    values = s(np.linspace(0, 6, 200))
    assert np.all(values % 12 == 0)
    assert values.min() >= 12 and values.max() == 96
    assert np.all(np.diff(values) >= 0)


def test_linear_ramp() -> None:
    s = BatchLinear(batch_size=32, end_batch_size=512, duration=4.0, granularity=32)
    for t in np.linspace(0, 6, 25):
        raw = 32 + (512 - 32) * min(t, 4.0) / 4.0
        assert s(t) == _round_g(raw, 32)


def test_from_lr_follows_the_decay_and_caps() -> None:
    lr = CosineDecay(lr=0.1, total_steps=10, end_lr=0.0)
    s = BatchFromLR(lr=lr, batch_size=64, max_batch_size=1024, granularity=8)
    for t in np.linspace(0, 12, 49):
        expected = _round_g(64 * 0.1 / lr(t), 8, 1024) if lr(t) > 0 else 1024
        assert s(t) == expected
    assert s(10) == 1024  # lr reaches 0: the cap


def test_round_batch_handles_ties_infinities_and_the_cap() -> None:
    assert round_batch(np.array([2.0, 6.0, np.inf, np.nan]), 4, 16).tolist() == [4, 8, 16, 16]


@pytest.mark.parametrize(
    "schedule",
    [
        BatchConstant(batch_size=128),
        BatchStep(batch_size=128, milestones=[60, 120.5], factor=5, max_batch_size=5120),
        BatchLinear(batch_size=32, end_batch_size=256, duration=1e5, clock="sample"),
        BatchFromLR(
            lr=MultiStepDecay(lr=0.1, milestones=[2, 4], gamma=0.2),
            batch_size=100,
            max_batch_size=2000,
            granularity=4,
        ),
    ],
)
def test_config_and_spec_round_trip(schedule: object) -> None:
    config = schedule.to_config()  # type: ignore[attr-defined]
    assert from_config(config) == schedule
    assert parse(schedule.to_spec()) == schedule  # type: ignore[attr-defined]
    t = np.linspace(0, 200, 101)
    np.testing.assert_array_equal(parse(schedule.to_spec())(t), schedule(t))  # type: ignore


def test_step_clock_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="steps per epoch"):
        BatchStep(batch_size=128, milestones=[10], clock="step")
    with pytest.raises(ValueError, match="clock must be"):
        BatchConstant(batch_size=128, clock="hour")


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"batch_size": 0, "milestones": [1]}, ValueError, "batch_size"),
        ({"batch_size": 2.5, "milestones": [1]}, ValueError, "batch_size"),
        ({"batch_size": "8", "milestones": [1]}, TypeError, "batch_size"),
        ({"batch_size": 8, "milestones": [2, 1]}, ValueError, "milestones"),
        ({"batch_size": 8, "milestones": 3}, TypeError, "milestones"),
        ({"batch_size": 8, "milestones": [1], "factor": 0}, ValueError, "factor"),
        ({"batch_size": 8, "milestones": [1], "granularity": 0}, ValueError, "granularity"),
        (
            {"batch_size": 8, "milestones": [1], "granularity": 4, "max_batch_size": 10},
            ValueError,
            "max_batch_size",
        ),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, error: type, needle: str) -> None:
    with pytest.raises(error, match=needle):
        BatchStep(**kwargs)


def test_from_lr_refuses_a_cap_below_the_start_and_a_zero_start_lr() -> None:
    lr = MultiStepDecay(lr=0.1, milestones=[2], gamma=0.5)
    with pytest.raises(ValueError, match="max_batch_size"):
        BatchFromLR(lr=lr, batch_size=128, max_batch_size=64)
    with pytest.raises(TypeError, match="lr"):
        BatchFromLR(lr=0.1, batch_size=128, max_batch_size=256)  # type: ignore[arg-type]


def test_negative_or_nan_time_is_refused() -> None:
    with pytest.raises(ValueError, match="t must"):
        BatchConstant(batch_size=4)(-1)
    with pytest.raises(ValueError, match="t must"):
        BatchConstant(batch_size=4)(np.array([0.0, np.nan]))


def test_parse_refuses_an_lr_schedule() -> None:
    from lrkit.batch_size import ConfigError

    with pytest.raises(ConfigError, match="not a batch schedule"):
        parse("constant(lr=0.1)")


def test_batch_size_needs_numpy_only() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lrkit.batch_size as b, lrkit.schedules as s\n"
        "b.increase_batch_instead(s.Constant(lr=0.1), 8, 64)\n"
        "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_batch_step_refuses_a_cap_below_its_first_batch_size() -> None:
    # The cap would silently replace batch_size from t = 0 (BatchFromLR refuses it too).
    with pytest.raises(ValueError, match="max_batch_size must be >= batch_size=128, got 64"):
        BatchStep(128, milestones=[10], factor=2, max_batch_size=64)
    assert BatchStep(128, milestones=[10], factor=2, max_batch_size=128)(20) == 128
