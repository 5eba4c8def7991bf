"""The behaviours users rely on: the t >= b convention, holding past the end, types, API."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import lrkit.schedules as S
from lrkit.schedules import (
    Constant,
    CosineDecay,
    CosineRestarts,
    Cyclic,
    ExponentialDecay,
    InverseTimeDecay,
    Join,
    LinearDecay,
    MultiStepDecay,
    OneCycle,
    PolynomialDecay,
    Schedule,
    StepDecay,
    Warmup,
)

BELOW = np.nextafter(30.0, 0.0)  # the largest float below 30


@pytest.mark.parametrize(
    "schedule",
    [
        StepDecay(1.0, 30, 0.5),
        MultiStepDecay(1.0, [30], 0.5),
        ExponentialDecay(1.0, 0.5, 30, staircase=True),
        InverseTimeDecay(1.0, 1.0, 30, staircase=True),
        Join([Constant(1.0), Constant(0.5)], [30]),
    ],
    ids=repr,
)
def test_a_change_at_b_applies_from_t_equal_b(schedule: Schedule) -> None:
    assert schedule(BELOW) == 1.0
    # gamma ** 1 goes through numpy's power kernel: exact on most CPUs, not promised
    assert schedule(30) == pytest.approx(0.5, rel=1e-12)


def test_a_restart_at_the_end_of_a_period_applies_from_that_time() -> None:
    s = CosineRestarts(1.0, period=10, period_mult=2.0, end_lr=0.0)
    assert s(np.nextafter(10.0, 0.0)) < 1e-20
    assert s(10) == 1.0
    assert s(30) == 1.0  # the second cycle lasts 20


def test_warmup_ends_on_the_inner_start_and_hands_over_its_local_time() -> None:
    inner = StepDecay(1.0, 30, 0.5)
    s = Warmup(inner, warmup_steps=10)
    assert s(0) == 0.0  # warm-up from exactly zero
    assert s(BELOW - 20) < 1.0
    assert s(10) == inner(0) == 1.0
    assert s(40) == inner(30) == pytest.approx(0.5, rel=1e-12)


def test_join_pieces_see_their_local_time() -> None:
    s = Join([Constant(1.0), CosineDecay(1.0, 100)], [50])
    assert s(50) == 1.0
    assert s(100) == CosineDecay(1.0, 100)(50)


@pytest.mark.parametrize(
    ("schedule", "end"),
    [
        (PolynomialDecay(1.0, 100, 0.01, 2.0), 100),
        (CosineDecay(1.0, 100, 0.01), 100),
        (LinearDecay(1.0, 100, 0.01), 100),
        (LinearDecay(1.0, 100, 0.0), 100),
        (OneCycle(1.0, 100, anneal="linear"), 99),
        (OneCycle(1.0, 100, three_phase=True), 99),
        (Warmup(CosineDecay(1.0, 100), 10), 110),
        (Join([Constant(1.0), PolynomialDecay(1.0, 30)], [5]), 35),
    ],
    ids=repr,
)
def test_past_the_end_the_end_value_is_held(schedule: Schedule, end: int) -> None:
    far = np.array([end, end + 0.5, end + 1, 10 * end, 1e12])
    values = schedule(far)
    assert np.all(values == values[0])
    assert values[0] >= 0.0


def test_scalars_give_floats_arrays_give_float64_arrays_of_the_same_shape() -> None:
    s = CosineDecay(0.1, 100)
    assert type(s(3)) is float
    assert type(s(np.int64(3))) is float
    assert type(s(np.float32(3.5))) is float
    grid = s(np.arange(12).reshape(3, 4))
    assert grid.dtype == np.float64 and grid.shape == (3, 4)
    assert s([]).shape == (0,)
    assert list(s([1, 2])) == [s(1), s(2)]


def test_values_do_not_depend_on_what_was_asked_before() -> None:
    s = Warmup(Join([OneCycle(1.0, 50), CosineRestarts(0.1, 7, 2.0)], [50]), 5)
    t = np.arange(400.0)
    forward = s(t)
    shuffled = np.random.default_rng(0).permutation(t)
    back = s(shuffled)
    assert np.array_equal(back[np.argsort(shuffled)], forward)
    assert [s(x) for x in t[::-1]] == list(forward[::-1])


def test_schedules_are_immutable_values() -> None:
    s = CosineDecay(0.1, 100)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.lr = 0.2  # type: ignore[misc]
    assert s == CosineDecay(0.1, 100.0) and hash(s) == hash(CosineDecay(0.1, 100.0))
    assert s != CosineDecay(0.1, 101)


def test_cyclic_momentum_moves_opposite_to_the_rate() -> None:
    c = Cyclic(0.01, 0.1, 10, mode="triangular2")
    m = c.momentum(0.8, 0.9)
    t = np.arange(100)
    lr, mom = c(t), m(t)
    assert np.all(np.sign(np.diff(lr)) == -np.sign(np.diff(mom)))
    assert m(0) == 0.9 and m(10) == 0.8


def test_one_cycle_momentum_moves_opposite_in_the_two_active_phases() -> None:
    oc = OneCycle(1.0, 200, pct_start=0.3)
    m = oc.momentum()
    t = np.arange(200)
    assert np.all(np.sign(np.diff(oc(t))) == -np.sign(np.diff(m(t))))
    assert m(0) == 0.95 and m(199) == 0.95 and abs(m(59) - 0.85) < 1e-15


def test_three_phase_one_cycle_momentum_holds_max_in_the_last_phase() -> None:
    m = OneCycle(1.0, 200, pct_start=0.25, three_phase=True).momentum(0.85, 0.95)
    assert np.all(m(np.arange(98, 300)) == 0.95)


def test_one_cycle_phase_of_zero_length_gives_its_end_value_not_an_error() -> None:
    # pct_start * total_steps == 1: PyTorch divides 0 by 0 at step 0.
    s = OneCycle(1.0, 10, pct_start=0.1)
    assert s(0) == 1.0


@pytest.mark.parametrize(
    ("schedule", "end"),
    [
        (Constant(0.1), 0.0),
        (CosineDecay(0.1, 100), 100.0),
        (MultiStepDecay(0.1, [10, 40]), 40.0),
        (OneCycle(0.1, 100), 99.0),
        (Warmup(LinearDecay(0.1, 50), 10), 60.0),
        (Join([Cyclic(0.01, 0.1, 5), PolynomialDecay(0.1, 30)], [20]), 50.0),
        (Cyclic(0.01, 0.1, 5).momentum(), None),
        (CosineRestarts(0.1, 10), None),
        (StepDecay(0.1, 10), None),
        (ExponentialDecay(0.1, 0.9), None),
        # gamma = 1 never drops: constant from 0, like ExponentialDecay(lr, 1.0)
        (StepDecay(0.1, 10, gamma=1.0), 0.0),
        (MultiStepDecay(0.1, [10, 40], gamma=1.0), 0.0),
        (ExponentialDecay(0.1, 1.0), 0.0),
    ],
    ids=repr,
)
def test_end_of_is_where_the_value_stops_changing(schedule: Schedule, end: float | None) -> None:
    assert S.end_of(schedule) == end
    if end is not None:
        t = np.linspace(end, end + 1000.0, 101)
        assert np.all(schedule(t) == schedule(end))
        if end > 0:
            assert schedule(end - 1) != schedule(end)


@pytest.mark.parametrize(
    "schedule",
    [
        Cyclic(0.01, 0.1, 0.25),
        Cyclic(0.01, 0.1, 0.25, mode="triangular2"),
        Cyclic(0.01, 0.1, 0.25, mode="exp_range", gamma=0.9),
        CosineRestarts(0.1, 0.25),
        CosineRestarts(0.1, 1, period_mult=3.0),
        CosineRestarts(0.1, 0.25, period_mult=1.5, end_lr=0.01, peak_decay=0.5),
        Join([Constant(0.1), CosineRestarts(0.1, 0.5)], boundaries=[1]),
    ],
    ids=repr,
)
def test_cycles_stay_finite_and_in_range_up_to_the_largest_float_time(schedule: Schedule) -> None:
    # t / period overflowed to inf near the largest float: Cyclic returned NaN and
    # CosineRestarts raised OverflowError. Any finite t >= 0 is a valid time.
    t = np.array([1e300, 1e308, 1.7e308, np.finfo(np.float64).max])
    values = schedule(t)
    assert np.all(np.isfinite(values)) and np.all(values >= 0.0) and np.all(values <= 0.1)
    assert schedule(float(t[-1])) == values[-1]


def test_cosine_holds_exactly_end_lr_from_total_steps_on_every_cpu() -> None:
    # cos(pi) may miss -1 by an ulp on some CPUs; from T on the value is end_lr itself.
    s = CosineDecay(0.3, 7, end_lr=0.1)
    assert np.all(s(np.array([7.0, 8.0, 1e300])) == 0.1)
    assert CosineDecay(0.3, 7)(7) == 0.0
