"""Fuzz: mutated specs and configs raise only ConfigError, and what parses behaves.

Each example mutates a valid spec (or config) of every schedule in cases.py with
tokens that broke the parser before (a 400-digit number, '-' * 2000, deep brackets,
null bytes, mixed key types, 1e308...). parse() and from_config() must either return a
schedule whose values are finite and >= 0, or raise ConfigError built by a check that
foresaw the fault (never the catch-all, which would mean an unforeseen one).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lrkit.schedules import ConfigError, Schedule, end_of, from_config, parse
from schedules.cases import CASES

SPECS = sorted({case[0].to_spec() for case in CASES.values()})
CONFIGS = [json.loads(json.dumps(case[0].to_config())) for case in CASES.values()]
TIMES = np.array([0.0, 0.5, 1.0, 7.0, 100.0, 1e3, 1e6, 1e15, 1e300])
HUGE = "1" + "0" * 400
BIG = "1.7976931348623157e308"
TOKENS = [
    *"()[],=-+.e0129 '*",
    "**",
    "1e308",
    "-1e308",
    BIG,
    "5e-324",
    "1e-320",
    "1e300",
    "inf",
    "nan",
    "None",
    "True",
    HUGE,
    "-" * 2000,
    "[" * 60,
    "(" * 60,
    "\x00",
    "\ud800",
    "__import__('os')",
    "lr",
    "total_steps",
    "constant(1.0)",
    "cosine",
    "warmup",
    "join",
    "scale",
    "clip",
]
FALLBACK = "cannot be built:"  # the catch-all's message: a fault no check foresaw

NUMBER = re.compile(r"(?<![\w.])\d+(\.\d*)?(e-?\d+)?")
EXTREME_NUMBERS = ["0", "0.0", "5e-324", "1e-320", "1e-300", "1e300", "1e308", BIG, HUGE, "-1"]

mutation = st.tuples(
    st.sampled_from(["insert", "delete", "replace", "number", "number"]),
    st.integers(0, 10**6),
    st.integers(1, 12),
    st.sampled_from(TOKENS),
)


def mutate(spec: str, ops: list[tuple[str, int, int, str]]) -> str:
    for op, where, length, token in ops:
        i = where % (len(spec) + 1)
        if op == "number":  # an extreme value in place of one of the spec's numbers
            found = list(NUMBER.finditer(spec))
            if found:
                m = found[where % len(found)]
                value = EXTREME_NUMBERS[length % len(EXTREME_NUMBERS)]
                spec = spec[: m.start()] + value + spec[m.end() :]
        elif op == "insert":
            spec = spec[:i] + token + spec[i:]
        elif op == "delete":
            spec = spec[:i] + spec[i + length :]
        else:
            spec = spec[:i] + token + spec[i + length :]
    return spec


def check_accepted(schedule: Schedule) -> None:
    end = end_of(schedule)
    times = TIMES if end is None else np.append(TIMES, [end, end * 2.0])
    values = schedule(times[np.isfinite(times)])
    assert np.all(np.isfinite(values)), (schedule, values)
    assert np.all(values >= 0.0), (schedule, values)


FUZZ = settings(
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.timeout(120)  # nothing hangs: the whole run is bounded
@FUZZ
@given(st.sampled_from(SPECS), st.lists(mutation, min_size=1, max_size=4))
def test_mutated_specs_raise_only_config_errors(
    spec: str, ops: list[tuple[str, int, int, str]]
) -> None:
    text = mutate(spec, ops)
    try:
        schedule = parse(text)
    except ConfigError as exc:
        assert FALLBACK not in str(exc), str(exc)
        return
    check_accepted(schedule)


def _nested_list(depth: int) -> list[Any]:
    out: list[Any] = []
    for _ in range(depth):
        out = [out]
    return out


WEIRD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 10**400, 10**5000, 1e308, 5e-324, True, None, "", "cosine"]),
    st.text(max_size=5),
    st.lists(st.integers(-3, 10**6), max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), st.integers(), max_size=2),
    st.just({"name": "constant", "lr": 1e308}),
    st.builds(lambda: _nested_list(60)),
)


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) in a config tree, depth first."""
    if isinstance(node, dict):
        for key in list(node):
            out.append((node, key))
            _slots(node[key], out)
    elif isinstance(node, list):
        for i in range(len(node)):
            out.append((node, i))
            _slots(node[i], out)
    return out


@pytest.mark.timeout(120)
@FUZZ
@given(
    st.sampled_from(range(len(CONFIGS))),
    st.lists(
        st.tuples(st.sampled_from(["set", "delete", "add", "nest"]), st.integers(0, 10**6), WEIRD),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_configs_raise_only_config_errors(
    index: int, ops: list[tuple[str, int, Any]]
) -> None:
    config: Any = copy.deepcopy(CONFIGS[index])
    for op, where, drawn in ops:
        value = copy.deepcopy(drawn)  # a value shared between two slots could form a loop
        slots = _slots(config, [])
        if op == "nest":
            config = {"name": "scale", "schedule": config, "factor": value}
            continue
        if not slots:
            continue
        container, key = slots[where % len(slots)]
        if op == "set":
            container[key] = value
        elif op == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[value if isinstance(value, (str, int, float)) else "extra"] = value
        else:
            container.append(value)
    try:
        schedule = from_config(config)
    except ConfigError as exc:
        assert FALLBACK not in str(exc), str(exc)
        return
    check_accepted(schedule)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("constant(lr=1" + "0" * 400 + ")", "lr must be finite"),
        ("-" * 2000 + "1", "nests deeper than 50 levels"),
        ("constant(lr=" + "-" * 2000 + "1)", "nests deeper than 50 levels"),
        ("constant(lr=" + "-" * 90_000 + "1)", "nests too deeply"),
        ("x" * 100_001, "more than the 100000 allowed"),
        ("constant(lr=1" + "0" * 5000 + ")", "cannot parse spec"),
        ("constant(\x00)", "null bytes"),
        ("constant(lr='\ud800')", "cannot parse spec"),
    ],
)
def test_specs_that_escaped_before_raise_config_errors_naming_the_cause(
    spec: str, match: str
) -> None:
    # OverflowError, RecursionError and MemoryError escaped parse() before.
    with pytest.raises(ConfigError, match=match):
        parse(spec)


def test_configs_that_escaped_before_raise_config_errors_naming_the_cause() -> None:
    with pytest.raises(ConfigError, match="config keys must be strings, got 1"):
        from_config({"name": "constant", 1: 2, "lr": 0.1})  # TypeError before
    with pytest.raises(ConfigError, match="lr must be finite"):
        from_config({"name": "constant", "lr": 10**400})  # OverflowError before
    deep: dict[str, Any] = {"name": "constant", "lr": 0.1}
    for _ in range(5_000):
        deep = {"name": "scale", "schedule": deep, "factor": 1}
    with pytest.raises(ConfigError, match="nests deeper than 50 levels"):
        from_config(deep)  # RecursionError before
    loop: dict[str, Any] = {"name": "scale", "factor": 1}
    loop["schedule"] = loop
    with pytest.raises(ConfigError, match="nests deeper than 50 levels"):
        from_config(loop)


def test_nesting_up_to_the_limit_still_parses() -> None:
    spec = "constant(1.0)"
    for _ in range(20):
        spec = f"scale({spec}, factor=1)"
    assert parse(spec)(0) == 1.0
