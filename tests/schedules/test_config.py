"""Configs and specs: every schedule round-trips to an equal, equally hashed value."""

from __future__ import annotations

import json
import math

import pytest

from lrkit.schedules import (
    Clip,
    ConfigError,
    Constant,
    CosineDecay,
    Cyclic,
    Join,
    MultiStepDecay,
    Schedule,
    Warmup,
    fingerprint,
    from_config,
    parse,
)
from schedules.cases import CASES

EXTRA: dict[str, Schedule] = {
    "clip_no_ceiling": Clip(CosineDecay(0.1, 10), min_lr=0.01),
    "cyclic_default_down": Cyclic(0.01, 0.1, 5),
    "float_total": CosineDecay(0.1, total_steps=2.5),
}
ALL = {**{name: case[0] for name, case in CASES.items()}, **EXTRA}


@pytest.mark.parametrize("name", sorted(ALL))
def test_config_round_trip_is_plain_json_and_equal(name: str) -> None:
    schedule = ALL[name]
    text = json.dumps(schedule.to_config(), allow_nan=False)  # strict JSON: no Infinity
    back = from_config(json.loads(text))
    assert back == schedule
    assert hash(back) == hash(schedule)
    assert fingerprint(back) == fingerprint(schedule)
    assert back.to_config() == schedule.to_config()


@pytest.mark.parametrize("name", sorted(ALL))
def test_spec_round_trip_is_equal(name: str) -> None:
    schedule = ALL[name]
    spec = schedule.to_spec()
    assert "\n" not in spec
    assert parse(spec) == schedule


def test_the_documented_spec_parses_to_the_nested_value() -> None:
    s = parse("warmup(cosine(lr=0.1, total_steps=1000), warmup_steps=100)")
    assert s == Warmup(CosineDecay(lr=0.1, total_steps=1000), warmup_steps=100)
    assert s(100) == 0.1


def test_positional_arguments_map_to_fields_in_order() -> None:
    assert parse("cyclic(0.01, 0.1, 20, 'exp_range', 0.99, 10)") == Cyclic(
        base_lr=0.01, max_lr=0.1, step_size=20, mode="exp_range", gamma=0.99, step_size_down=10
    )


def test_lists_become_tuples_so_values_stay_hashable() -> None:
    m = MultiStepDecay(0.1, [30, 60])
    assert m.milestones == (30, 60)
    j = Join([Constant(0.1), Constant(0.01)], [10])
    assert isinstance(j.schedules, tuple)
    assert j.boundaries == (10,)
    assert (
        len({m, MultiStepDecay(0.1, (30, 60)), j, Join((Constant(0.1), Constant(0.01)), (10,))})
        == 2
    )


def test_ints_stay_ints_in_specs() -> None:
    assert CosineDecay(0.1, 1000).to_spec() == "cosine(lr=0.1, total_steps=1000, end_lr=0.0)"


def test_no_ceiling_is_none_in_a_config_and_inf_in_a_spec_both_parse() -> None:
    c = Clip(Constant(0.1), max_lr=math.inf)
    assert c.to_config()["max_lr"] is None
    assert (
        parse("clip(constant(0.1), max_lr=inf)") == c == parse("clip(constant(0.1), max_lr=None)")
    )


def test_momentum_schedules_are_serialisable_values() -> None:
    m = Cyclic(0.01, 0.1, 20).momentum()
    assert parse(m.to_spec()) == m
    assert from_config(json.loads(json.dumps(m.to_config()))) == m


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("cosin(lr=0.1, total_steps=10)", "unknown name 'cosin'"),
        ("cosine(lr=0.1, total_steps=10, warmup=5)", "unknown argument 'warmup'"),
        ("cosine(lr=0.1)", "total_steps"),
        ("cosine(lr=-0.1, total_steps=10)", "lr must be > 0, got -0.1"),
        (
            "warmup(cosine(lr=0.1, total_steps=10), warmup_steps=__import__('os'))",
            "unknown name '__import__'",
        ),
        ("cosine(lr=0.1 * 2, total_steps=10)", "unsupported expression '0.1 \\* 2'"),
        ("cosine(lr=0.1, total_steps=10", "cannot parse"),
        ("0.1", "must be a call"),
    ],
)
def test_bad_specs_raise_config_errors_naming_the_problem(spec: str, match: str) -> None:
    with pytest.raises((ConfigError, ValueError, TypeError), match=match):
        parse(spec)


def test_from_config_refuses_unknown_names_and_non_dicts() -> None:
    with pytest.raises(ConfigError, match="unknown name 'nope'"):
        from_config({"name": "nope"})
    with pytest.raises(ConfigError, match="dict"):
        from_config([1, 2])  # type: ignore[arg-type]


def test_equal_schedules_have_equal_fingerprints_whatever_int_or_float() -> None:
    # total_steps=1000 and total_steps=1000.0 make equal (==, same hash) schedules whose
    # configs compare equal; their fingerprints, which guard resuming, must agree too.
    pairs = [
        (CosineDecay(0.1, 1000), CosineDecay(0.1, 1000.0)),
        (
            Warmup(MultiStepDecay(0.1, [30, 60]), warmup_steps=5),
            Warmup(MultiStepDecay(0.1, [30.0, 60.0]), warmup_steps=5.0),
        ),
    ]
    for a, b in pairs:
        assert a == b and a.to_config() == b.to_config()
        assert fingerprint(a) == fingerprint(b)
    assert fingerprint(CosineDecay(0.1, 1000)) != fingerprint(CosineDecay(0.1, 1000.5))


def test_bad_argument_values_raise_config_error_as_documented() -> None:
    # parse/from_config document ConfigError for bad arguments, but a ValueError raised by
    # a class's own checks (lr=-1) escaped as a plain ValueError; a TypeError did not.
    with pytest.raises(ConfigError, match="constant: lr must be > 0, got -1"):
        parse("constant(lr=-1)")
    with pytest.raises(ConfigError, match="warmup: warmup_steps must be > 0, got 0"):
        from_config(
            {"name": "warmup", "schedule": {"name": "constant", "lr": 0.1}, "warmup_steps": 0}
        )
