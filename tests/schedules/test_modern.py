"""Issue 10's schedules over random and extreme arguments: finite, >= 0, bounded, end held."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrkit.schedules import (
    Constant,
    Cooldown,
    CosineCycles,
    CosineDecay,
    InverseSqrt,
    Schedule,
    Shift,
    Warmup,
    WarmupStableDecay,
    cooldown,
    end_of,
    from_config,
    parse,
)

lrs = st.floats(1e-300, 1e300)
spans = st.one_of(st.integers(1, 10**9), st.floats(1e-300, 1e300))
TIMES = np.concatenate(
    [np.arange(0.0, 300.0, 0.5), np.geomspace(300.0, 1e300, 300), [np.finfo(np.float64).max]]
)


@st.composite
def wsds(draw: st.DrawFn) -> WarmupStableDecay:
    lr = draw(lrs)
    total = draw(spans)
    warm = draw(st.floats(0.0, 1.0)) * total
    decay = draw(st.floats(0.0, 1.0)) * (total - warm)
    shape = draw(st.sampled_from(["linear", "cosine", "1-sqrt", "square", "exp"]))
    end = draw(st.floats(0.0, 1.0)) * lr
    if shape == "exp":
        end = max(end, lr * 1e-12)
    length = draw(st.sampled_from(["steps", "fraction"]))
    return WarmupStableDecay(
        lr,
        total,
        warm,
        decay_steps=decay if length == "steps" else None,
        decay_fraction=decay / total if length == "fraction" else None,
        end_lr=end,
        start_lr=draw(st.floats(0.0, 1.0)) * lr,
        warmup_shape=draw(st.sampled_from(["linear", "cosine", "1-sqrt"])),
        decay_shape=shape,
    )


@st.composite
def cooldowns(draw: st.DrawFn) -> Cooldown:
    lr = draw(lrs)
    inner = draw(
        st.sampled_from([Constant(lr), CosineDecay(lr, 1000.0, lr / 10), Warmup(Constant(lr), 50)])
    )
    start = draw(st.floats(0.0, 1e12))
    shape = draw(st.sampled_from(["linear", "cosine", "1-sqrt", "square", "exp"]))
    end = draw(st.floats(0.0, 1.0)) * inner(start)
    if shape == "exp" and inner(start) == 0.0:
        shape = "linear"  # a geometric cooldown from 0 is refused (tested below)
    if shape == "exp":
        end = max(end, inner(start) * 1e-9)
    return cooldown(inner, start, draw(spans), shape, end)


inverse_sqrts = st.builds(
    InverseSqrt, lrs, st.one_of(st.integers(1, 10**9), st.floats(1e-300, 1e300)), st.none() | spans
)
cosines = st.builds(CosineDecay, lrs, spans, st.just(0.0), st.floats(1e-6, 1e6))
cycles = st.builds(CosineCycles, lrs, spans, st.floats(1e-6, 1e6), st.just(0.0))
shifts = st.builds(Shift, cosines | inverse_sqrts, st.floats(0.0, 1e300))
modern = st.one_of(wsds(), cooldowns(), inverse_sqrts, cosines, cycles, shifts)

SETTINGS = settings(max_examples=200, deadline=None)


def _peak(s: Schedule) -> float:
    inner = s.schedule if isinstance(s, (Shift, Cooldown)) else s
    if isinstance(inner, Warmup):
        inner = inner.schedule
    return inner.lr  # type: ignore[attr-defined]


@SETTINGS
@given(modern)
def test_finite_non_negative_and_never_above_the_peak(schedule: Schedule) -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        values = schedule(TIMES)
    assert np.all(np.isfinite(values))
    assert np.all(values >= 0.0)
    assert np.all(values <= _peak(schedule) * (1 + 1e-12))


@SETTINGS
@given(modern)
def test_the_end_value_is_held(schedule: Schedule) -> None:
    end = end_of(schedule)
    if end is None:
        assert isinstance(schedule, InverseSqrt) or isinstance(schedule.schedule, InverseSqrt)  # type: ignore[attr-defined]
        return
    after = np.array([end, end * 1.5 + 1, end * 1e6 + 10, np.finfo(np.float64).max])
    after = after[np.isfinite(after) & (after >= end)]
    assert np.all(schedule(after) == schedule(end))


@SETTINGS
@given(modern)
def test_round_trips_through_config_and_spec(schedule: Schedule) -> None:
    assert from_config(schedule.to_config()) == schedule
    assert parse(schedule.to_spec()) == schedule


@SETTINGS
@given(wsds())
def test_wsd_rises_holds_then_falls(schedule: WarmupStableDecay) -> None:
    t = np.linspace(0.0, float(schedule.total_steps), 501)
    v = schedule(t)
    rising = t < schedule.warmup_steps
    falling = t >= schedule.decay_start
    tol = 1e-12 * schedule.lr
    assert np.all(np.diff(v[rising]) >= -tol)
    assert np.all(v[~rising & ~falling] == schedule.lr)
    assert np.all(np.diff(v[falling]) <= tol)


def test_the_old_cosine_config_is_unchanged() -> None:
    # States saved before num_cycles existed hold this config; they must keep their fingerprint.
    assert CosineDecay(0.1, 1000).to_config() == {
        "name": "cosine",
        "lr": 0.1,
        "total_steps": 1000,
        "end_lr": 0.0,
    }
    assert CosineDecay(0.1, 1000, num_cycles=1.0).to_config()["num_cycles"] == 1.0


def test_end_of_the_new_schedules() -> None:
    assert end_of(WarmupStableDecay(0.1, 1000, 100)) == 1000.0
    assert end_of(cooldown(Constant(0.1), 800, 200)) == 1000.0
    assert end_of(CosineCycles(0.1, 300, 3)) == 300.0
    assert end_of(Shift(CosineDecay(0.1, 1000), 250)) == 750.0
    assert end_of(Shift(CosineDecay(0.1, 1000), 2500)) == 0.0
    assert end_of(InverseSqrt(0.1, 100)) is None


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (
            lambda: WarmupStableDecay(0.1, 100, 60, decay_steps=50),
            ValueError,
            "must be <= total_steps",
        ),
        (
            lambda: WarmupStableDecay(0.1, 100, decay_steps=10, decay_fraction=0.1),
            ValueError,
            "not both",
        ),
        (
            lambda: WarmupStableDecay(0.1, 100, decay_fraction=1.5),
            ValueError,
            "decay_fraction must be in",
        ),
        (lambda: WarmupStableDecay(0.1, 100, decay_shape="exp"), ValueError, "end_lr must be > 0"),
        (
            lambda: WarmupStableDecay(0.1, 100, decay_shape="tanh"),
            ValueError,
            "decay_shape must be one of",
        ),
        (
            lambda: WarmupStableDecay(0.1, 100, warmup_shape="square"),
            ValueError,
            "warmup_shape must be one of",
        ),
        (lambda: WarmupStableDecay(0.1, 100, end_lr=0.2), ValueError, "end_lr must be <= lr"),
        (
            lambda: WarmupStableDecay(0.1, 100, warmup_steps=-1),
            ValueError,
            "warmup_steps must be >= 0",
        ),
        (lambda: WarmupStableDecay(0.1, math.inf), ValueError, "total_steps must be finite"),
        (
            lambda: WarmupStableDecay(0.1, 100, warmup_steps=True),
            TypeError,
            "warmup_steps must be a number",
        ),
        (lambda: cooldown(Constant(0.1), 10, 0), ValueError, "length must be > 0"),
        (lambda: cooldown(Constant(0.1), 10, 5, end_lr=0.2), ValueError, "does not rise"),
        (lambda: cooldown(Constant(0.1), 10, 5, "exp"), ValueError, "end_lr must be > 0"),
        (lambda: cooldown(0.1, 10, 5), TypeError, "schedule must be a Schedule"),  # type: ignore[arg-type]
        (lambda: cooldown(Constant(0.1), 1e308, 1e308), ValueError, "must be finite"),
        (lambda: InverseSqrt(0.1, 0), ValueError, "timescale must be given"),
        (lambda: InverseSqrt(0.1, 10, timescale=0), ValueError, "timescale must be > 0"),
        (lambda: CosineDecay(0.1, 10, num_cycles=0), ValueError, "num_cycles must be > 0"),
        (lambda: CosineDecay(0.1, 10, num_cycles=1e308), ValueError, "num_cycles must be < 1e307"),
        (lambda: CosineCycles(0.1, 10, 2, end_lr=0.5), ValueError, "end_lr must be <= lr"),
        (lambda: Shift(Constant(0.1), -1), ValueError, "offset must be >= 0"),
    ],
)
def test_bad_arguments_are_named_at_construction(build, error, match) -> None:
    with pytest.raises(error, match=match):
        build()
