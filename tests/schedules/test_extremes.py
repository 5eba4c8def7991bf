"""Extreme arguments: every schedule is refused at construction or finite and >= 0.

For every schedule class in ``cases.EXTREME``, hypothesis draws each argument from
the whole float range (subnormals to 1e308, zero, negatives) by its annotation. Each
draw either raises ValueError/TypeError at construction or gives finite, non-negative
values at 0, at every boundary the arguments imply (each time-like value, its
neighbours, sums and products of two of them), at the end and at 1e300.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lrkit.batch_size  # noqa: F401 - registers the batch package's schedules
from lrkit._config import _REGISTRY
from lrkit.schedules import (
    Constant,
    CosineDecay,
    Cyclic,
    ExponentialDecay,
    OneCycle,
    Scale,
    Schedule,
    StepDecay,
    Warmup,
    end_of,
)
from schedules.cases import EXTREME

TINY = 5e-324
BIG = 1.7976931348623157e308

extreme_floats = st.one_of(
    st.sampled_from([0.0, TINY, 1e-320, 1e-308, 1e-300, 1e-16, 0.5, 1.0, 2.0, 1e16]),
    st.sampled_from([1e300, 1e307, 1e308, BIG, -1.0, -TINY, 1, 10, 1000]),
    st.floats(min_value=-1e308, max_value=BIG, allow_nan=False, allow_infinity=False),
    st.floats(min_value=TINY, max_value=1.0),
    st.integers(1, 10**6),
)

# Inner schedules for combinators: ordinary ones and ones at the edge of the float range.
INNER: list[Schedule] = [
    Constant(0.1),
    Constant(BIG),
    Constant(TINY),
    CosineDecay(1e308, 1e308, TINY),
    CosineDecay(TINY, 10),
    StepDecay(1.0, TINY, 0.5),
    ExponentialDecay(1e308, TINY, TINY),
    Cyclic(TINY, 1e308, 1e308, step_size_down=TINY),
    OneCycle(BIG, 1e300, TINY),
    Warmup(Constant(1e308), TINY, TINY, "exponential"),
]
inner = st.sampled_from(INNER)


def _field_strategy(annotation: str, choices: Any) -> st.SearchStrategy[Any]:
    if choices is not None:
        return st.sampled_from(choices)
    if annotation == "bool":
        return st.booleans()
    if annotation == "Schedule":
        return inner
    if annotation.startswith("tuple[Schedule"):
        return st.lists(inner, min_size=1, max_size=3)
    if annotation.startswith(("tuple[float", "Sequence[float", "list[float")):
        return st.lists(extreme_floats, min_size=1, max_size=4).map(sorted)
    if annotation in ("int", "int | None"):
        return st.one_of(st.integers(1, 2**62), st.sampled_from([1, 10**400]))
    if annotation.startswith("float"):
        none = st.none() if "None" in annotation else st.nothing()
        return st.one_of(extreme_floats, none)
    raise AssertionError(f"no strategy for a field annotated {annotation!r}: add it to EXTREME")


def _times(schedule: Schedule) -> np.ndarray:
    """0, 1e300, the end, and every time-like value of the tree with its neighbours."""
    values: set[float] = set()

    def collect(node: Any) -> None:
        if isinstance(node, (list, tuple)):
            for item in node:
                collect(item)
        elif dataclasses.is_dataclass(node):
            for field in dataclasses.fields(node):
                collect(getattr(node, field.name))
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            v = float(node)
            if math.isfinite(v) and v > 0:
                values.add(v)

    collect(schedule)
    base = sorted(values)[:12]
    times = {0.0, 1e300, BIG}
    for v in base:
        times.update((v, math.nextafter(v, 0.0), math.nextafter(v, math.inf), v - 1.0))
    for a, b in itertools.combinations_with_replacement(base, 2):
        times.update((a + b, a * b, a + b - 1.0))
    end = end_of(schedule)
    if end is not None:
        times.update((end, math.nextafter(end, 0.0), end + 1.0))
    arr = np.array(sorted(times), dtype=np.float64)
    return arr[np.isfinite(arr) & (arr >= 0.0)]


@st.composite
def arguments(draw: st.DrawFn, cls: type[Schedule]) -> dict[str, Any]:
    table = EXTREME[cls]
    return {
        f.name: draw(_field_strategy(str(f.type), table.get(f.name)))
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init
    }


EXTREMES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("cls", list(EXTREME), ids=lambda c: c.__name__)
@EXTREMES
@given(data=st.data())
def test_refused_at_construction_or_finite_and_non_negative(
    cls: type[Schedule], data: st.DataObject
) -> None:
    kwargs = data.draw(arguments(cls))
    try:
        schedule = cls(**kwargs)
    except (ValueError, TypeError):
        return
    t = _times(schedule)
    values = schedule(t)
    bad = ~(np.isfinite(values) & (values >= 0.0))
    assert not np.any(bad), f"{schedule!r} at t={t[bad][:5]}: {values[bad][:5]}"
    # _sup() bounds the values (Scale and BatchMatchedLR refuse on it), up to rounding.
    with np.errstate(over="ignore"):
        assert np.all(values <= schedule._sup() * (1.0 + 1e-12)), (schedule, values.max())
    # One time at a time gives the same, so no path escapes the check.
    assert [schedule(float(x)) for x in t[:8]] == list(values[:8])


def test_every_registered_schedule_class_bounds_its_values() -> None:
    # Scale refuses a factor that takes a schedule's _sup() past the largest float.
    lacking = sorted(
        cls.__name__
        for cls in _REGISTRY.values()
        if issubclass(cls, Schedule)
        and cls.__module__.startswith("lrkit.")
        and cls._sup is Schedule._sup
    )
    assert not lacking, f"define _sup(), an upper bound of the values, in: {lacking}"


def test_every_registered_schedule_class_is_in_the_table() -> None:
    registered = {
        cls
        for cls in _REGISTRY.values()
        if issubclass(cls, Schedule) and cls.__module__.startswith("lrkit.")  # not tests' own
    }
    missing = sorted(cls.__name__ for cls in registered - set(EXTREME))
    assert not missing, f"add these classes to EXTREME in tests/schedules/cases.py: {missing}"


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        # gave inf: 1e308 * (1 + cos) overflowed; the factor in [0, 1] comes first now
        (CosineDecay(lr=1e308, total_steps=1000), [1e308, 5e307, 0.0, 0.0]),
        # gave -inf: (0.1 - 1e308) * (1 + cos)
        (CosineDecay(lr=0.1, total_steps=1000, end_lr=1e308), [0.1, 5e307, 1e308, 1e308]),
        # gave NaN: step_size + step_size overflowed, 0 / 0 in the cycle position
        (Cyclic(base_lr=1, max_lr=1, step_size=1e308), [1.0, 1.0, 1.0, 1.0]),
        # gave inf: (target / 5e-324) ** frac overflowed
        (
            Warmup(Constant(1.0), 1000, start_lr=TINY, shape="exponential"),
            [TINY, math.sqrt(TINY), 1.0, 1.0],
        ),
    ],
)
def test_the_reported_extremes_give_the_right_finite_values(
    schedule: Schedule, expected: list[float]
) -> None:
    values = schedule(np.array([0.0, 500.0, 1000.0, 1e300]))
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=0.0)


def test_a_scale_past_the_largest_float_is_refused_naming_factor() -> None:
    with pytest.raises(ValueError, match=r"factor=10\.0 takes the rate past the largest float"):
        Scale(Constant(1e308), factor=10.0)
    assert Scale(Constant(1e307), factor=10.0)(0) == 1e308
