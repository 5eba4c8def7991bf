"""Every bad argument fails at construction, naming the argument and the bad value."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from lrkit.batch_size import BatchConstant
from lrkit.schedules import (
    Clip,
    Constant,
    CosineDecay,
    CosineRestarts,
    Cyclic,
    ExponentialDecay,
    InverseTimeDecay,
    Join,
    LinearDecay,
    Mirror,
    MultiStepDecay,
    OneCycle,
    PolynomialDecay,
    Scale,
    StepDecay,
    Warmup,
)

C = Constant(0.1)

BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("constant_zero", lambda: Constant(0.0), ValueError, "lr must be > 0, got 0.0"),
    ("constant_nan", lambda: Constant(math.nan), ValueError, "lr must be finite, got nan"),
    ("constant_str", lambda: Constant("0.1"), TypeError, "lr must be a number, got '0.1'"),
    ("constant_bool", lambda: Constant(True), TypeError, "lr must be a number, got True"),
    (
        "inverse_rate",
        lambda: InverseTimeDecay(0.1, -1.0),
        ValueError,
        "decay_rate must be >= 0, got -1.0",
    ),
    (
        "inverse_steps",
        lambda: InverseTimeDecay(0.1, 1.0, 0),
        ValueError,
        "decay_steps must be > 0, got 0",
    ),
    (
        "inverse_staircase",
        lambda: InverseTimeDecay(0.1, 1.0, 1, staircase=1),
        TypeError,
        "staircase must be True or False, got 1",
    ),
    (
        "exp_rate_high",
        lambda: ExponentialDecay(0.1, 1.5),
        ValueError,
        r"decay_rate must be in \(0, 1\], got 1.5",
    ),
    (
        "exp_rate_zero",
        lambda: ExponentialDecay(0.1, 0.0),
        ValueError,
        r"decay_rate must be in \(0, 1\], got 0.0",
    ),
    ("exp_lr", lambda: ExponentialDecay(-0.1, 0.5), ValueError, "lr must be > 0, got -0.1"),
    ("step_size", lambda: StepDecay(0.1, -3), ValueError, "step_size must be > 0, got -3"),
    (
        "step_gamma",
        lambda: StepDecay(0.1, 3, gamma=2.0),
        ValueError,
        r"gamma must be in \(0, 1\], got 2.0",
    ),
    (
        "multistep_empty",
        lambda: MultiStepDecay(0.1, []),
        ValueError,
        r"milestones must not be empty, got \[\]",
    ),
    (
        "multistep_unsorted",
        lambda: MultiStepDecay(0.1, [60, 30]),
        ValueError,
        r"milestones must be strictly increasing \(no duplicates\), got \[60, 30\]",
    ),
    (
        "multistep_duplicate",
        lambda: MultiStepDecay(0.1, [30, 30]),
        ValueError,
        r"strictly increasing \(no duplicates\), got \[30, 30\]",
    ),
    ("multistep_zero", lambda: MultiStepDecay(0.1, [0, 30]), ValueError, r"milestones\[0\] = 0"),
    (
        "multistep_type",
        lambda: MultiStepDecay(0.1, 30),
        TypeError,
        "milestones must be a list of numbers, got 30",
    ),
    (
        "multistep_item",
        lambda: MultiStepDecay(0.1, [30, "x"]),
        TypeError,
        r"milestones\[1\] must be a number, got 'x'",
    ),
    ("poly_total", lambda: PolynomialDecay(0.1, 0), ValueError, "total_steps must be > 0, got 0"),
    (
        "poly_power",
        lambda: PolynomialDecay(0.1, 10, power=0.0),
        ValueError,
        "power must be > 0, got 0.0",
    ),
    (
        "poly_end",
        lambda: PolynomialDecay(0.1, 10, end_lr=-0.01),
        ValueError,
        "end_lr must be >= 0, got -0.01",
    ),
    ("cosine_total", lambda: CosineDecay(0.1, -5), ValueError, "total_steps must be > 0, got -5"),
    (
        "cosine_end",
        lambda: CosineDecay(0.1, 5, end_lr=-1.0),
        ValueError,
        "end_lr must be >= 0, got -1.0",
    ),
    ("linear_total", lambda: LinearDecay(0.1, 0.0), ValueError, "total_steps must be > 0, got 0.0"),
    ("restarts_period", lambda: CosineRestarts(0.1, 0), ValueError, "period must be > 0, got 0"),
    (
        "restarts_mult",
        lambda: CosineRestarts(0.1, 10, 0.5),
        ValueError,
        "period_mult must be >= 1, got 0.5",
    ),
    (
        "restarts_end",
        lambda: CosineRestarts(0.1, 10, end_lr=0.2),
        ValueError,
        "end_lr must be <= lr=0.1, got 0.2",
    ),
    (
        "restarts_decay",
        lambda: CosineRestarts(0.1, 10, peak_decay=0.0),
        ValueError,
        r"peak_decay must be in \(0, 1\]",
    ),
    (
        "cyclic_order",
        lambda: Cyclic(0.1, 0.01, 10),
        ValueError,
        "max_lr must be >= base_lr=0.1, got 0.01",
    ),
    ("cyclic_base", lambda: Cyclic(-0.1, 0.1, 10), ValueError, "base_lr must be >= 0, got -0.1"),
    ("cyclic_max", lambda: Cyclic(0.0, 0.0, 10), ValueError, "max_lr must be > 0, got 0.0"),
    (
        "cyclic_mode",
        lambda: Cyclic(0.01, 0.1, 10, mode="sine"),
        ValueError,
        "mode must be one of .*; got 'sine'",
    ),
    ("cyclic_step", lambda: Cyclic(0.01, 0.1, 0), ValueError, "step_size must be > 0, got 0"),
    (
        "cyclic_down",
        lambda: Cyclic(0.01, 0.1, 10, step_size_down=-1),
        ValueError,
        "step_size_down must be > 0, got -1",
    ),
    (
        "cyclic_gamma_unused",
        lambda: Cyclic(0.01, 0.1, 10, gamma=0.9),
        ValueError,
        "gamma is only used by mode='exp_range'; got gamma=0.9",
    ),
    (
        "cyclic_gamma_high",
        lambda: Cyclic(0.01, 0.1, 10, "exp_range", gamma=1.1),
        ValueError,
        r"gamma must be in \(0, 1\], got 1.1",
    ),
    (
        "cyclic_momentum_order",
        lambda: Cyclic(0.01, 0.1, 10).momentum(0.9, 0.8),
        ValueError,
        "max_momentum must be >= base_momentum=0.9, got 0.8",
    ),
    (
        "cyclic_momentum_one",
        lambda: Cyclic(0.01, 0.1, 10).momentum(0.8, 1.0),
        ValueError,
        r"max_momentum must be in \[0, 1\), got 1.0",
    ),
    ("one_cycle_total", lambda: OneCycle(0.1, 0), ValueError, "total_steps must be > 0, got 0"),
    (
        "one_cycle_total_small",
        lambda: OneCycle(0.1, 0.5),
        ValueError,
        "total_steps must be >= 1, got 0.5",
    ),
    (
        "one_cycle_pct",
        lambda: OneCycle(0.1, 10, pct_start=1.5),
        ValueError,
        r"pct_start must be in \[0, 1\], got 1.5",
    ),
    (
        "one_cycle_anneal",
        lambda: OneCycle(0.1, 10, anneal="cosine"),
        ValueError,
        "anneal must be one of .*'cosine'",
    ),
    (
        "one_cycle_div",
        lambda: OneCycle(0.1, 10, div_factor=0.5),
        ValueError,
        "div_factor must be >= 1, got 0.5",
    ),
    (
        "one_cycle_final",
        lambda: OneCycle(0.1, 10, final_div_factor=0),
        ValueError,
        "final_div_factor must be >= 1, got 0",
    ),
    (
        "one_cycle_three",
        lambda: OneCycle(0.1, 10, three_phase="yes"),
        TypeError,
        "three_phase must be True or False, got 'yes'",
    ),
    (
        "one_cycle_momentum",
        lambda: OneCycle(0.1, 10).momentum(-0.1, 0.9),
        ValueError,
        r"base_momentum must be in \[0, 1\), got -0.1",
    ),
    ("warmup_schedule", lambda: Warmup(0.1, 10), TypeError, "schedule must be a Schedule, got 0.1"),
    ("warmup_steps", lambda: Warmup(C, 0), ValueError, "warmup_steps must be > 0, got 0"),
    (
        "warmup_start",
        lambda: Warmup(C, 10, start_lr=-1e-3),
        ValueError,
        "start_lr must be >= 0, got -0.001",
    ),
    (
        "warmup_shape",
        lambda: Warmup(C, 10, shape="cos"),
        ValueError,
        "shape must be one of .*; got 'cos'",
    ),
    (
        "warmup_exponential_from_zero",
        lambda: Warmup(C, 10, shape="exponential"),
        ValueError,
        "start_lr must be > 0 for shape='exponential', got 0.0",
    ),
    (
        "warmup_exponential_to_zero",
        lambda: Warmup(Cyclic(0.0, 0.1, 5), 10, start_lr=1e-3, shape="exponential"),
        ValueError,
        r"schedule\(0\) > 0, got schedule\(0\) = 0.0",
    ),
    (
        "join_count",
        lambda: Join([C, C], []),
        ValueError,
        r"len\(schedules\) - 1 = 1 times, got 0: \[\]",
    ),
    (
        "join_count_many",
        lambda: Join([C], [5]),
        ValueError,
        r"len\(schedules\) - 1 = 0 times, got 1: \[5\]",
    ),
    ("join_empty", lambda: Join([], []), ValueError, "at least one schedule"),
    (
        "join_piece",
        lambda: Join([C, 0.1], [5]),
        TypeError,
        r"schedules\[1\] must be a Schedule, got 0.1",
    ),
    ("join_not_list", lambda: Join(C, []), TypeError, "schedules must be a list of Schedules"),
    (
        "join_unsorted",
        lambda: Join([C, C, C], [10, 5]),
        ValueError,
        r"boundaries must be strictly increasing .*\[10, 5\]",
    ),
    (
        "join_duplicate",
        lambda: Join([C, C, C], [5, 5]),
        ValueError,
        r"boundaries must be strictly increasing .*\[5, 5\]",
    ),
    ("join_zero", lambda: Join([C, C], [0]), ValueError, r"boundaries\[0\] = 0"),
    ("scale_factor", lambda: Scale(C, 0), ValueError, "factor must be > 0, got 0"),
    (
        "scale_schedule",
        lambda: Scale("cosine", 2),
        TypeError,
        "schedule must be a Schedule, got 'cosine'",
    ),
    ("clip_min", lambda: Clip(C, min_lr=-1.0), ValueError, "min_lr must be >= 0, got -1.0"),
    (
        "clip_order",
        lambda: Clip(C, min_lr=0.1, max_lr=0.01),
        ValueError,
        "max_lr must be >= min_lr=0.1, got 0.01",
    ),
    ("clip_max", lambda: Clip(C, max_lr=0), ValueError, "max_lr must be > 0, got 0"),
    (
        "mirror_order",
        lambda: Mirror(C, 0.9, 0.8, 0.0, 1.0),
        ValueError,
        "high must be >= low=0.9, got 0.8",
    ),
    (
        "mirror_range",
        lambda: Mirror(C, 0.8, 0.9, 1.0, 0.0),
        ValueError,
        "lr_high must be >= lr_low=1.0, got 0.0",
    ),
]


@pytest.mark.parametrize(("make", "error", "match"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_arguments_raise_naming_argument_and_value(
    make: Callable[[], Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("t", [-1, -1e-9, math.nan, math.inf, [0.0, -2.0], [1.0, math.nan]])
def test_bad_times_are_refused(t: Any) -> None:
    with pytest.raises(ValueError, match="t must"):
        CosineDecay(0.1, 10)(t)


@pytest.mark.parametrize(
    "t",
    ["5", b"3", np.datetime64("2020"), 1 + 2j, True, [True, False], None, [[1, 2], [3]]],
    ids=["str", "bytes", "datetime64", "complex", "bool", "bools", "none", "ragged"],
)
def test_non_numeric_times_raise_type_error_naming_t(t: Any) -> None:
    # "5" used to read as 5.0 and a datetime64 as years since 1970; None and ragged
    # lists gave numpy's own messages. A time must be a real number or an array of them.
    with pytest.raises(TypeError, match="t must be a real number"):
        CosineDecay(0.1, 10)(t)
    with pytest.raises(TypeError, match="t must be a real number"):
        BatchConstant(4)(t)


def test_numeric_times_of_any_real_dtype_are_accepted() -> None:
    s = CosineDecay(0.1, 10)
    for t in (np.float32(5), np.int64(5), np.array(5), np.array([5], dtype=object), 5):
        assert float(np.asarray(s(t)).ravel()[0]) == s(5.0)
    assert s(np.array([], dtype=np.float64)).shape == (0,)
