"""`lrkit find --validate`: the race is printed and saved; the schedule's peak otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from lrkit.cli import main
from lrkit.range_test import RangeTestResult

ARGV = ["find", "--task", "digits", "--num-samples", "400", "--batch-size", "32", "--seed", "1"]


def test_find_validate_prints_and_saves_the_race(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "find.json"
    status = main(
        [*ARGV, "--optimizer", "adam", "--validate", "--race-steps", "4", "--json", str(out)]
    )
    text = capsys.readouterr().out
    result = RangeTestResult.from_dict(json.loads(out.read_text())["result"])
    assert status == (0 if result.reliable else 1)
    if not result.reliable:
        pytest.skip("this sweep gave no reliable interval to race in")
    race = result.race
    assert race is not None and race.schedule == "cosine"
    assert f"validated (cosine): {race.suggestion:.3g}" in text
    assert f"winner {race.winner:.3g}" in text
    assert "rung 1: 4 steps each" in text and f"rung {len(race.rungs)}:" in text
    assert race.rungs[0].lrs == race.candidates and len(race.candidates) == 5
    assert race.total_steps == sum(r.steps * len(r.lrs) for r in race.rungs)


def test_find_prints_the_peak_for_the_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    status = main([*ARGV, "--optimizer", "adam", "--num-steps", "60", "--schedule", "onecycle"])
    text = capsys.readouterr().out
    if status == 0:
        assert "onecycle peak: " in text
    assert "(Lightning)" in text


def test_find_validate_needs_room_for_a_validation_split(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["find", "--task", "digits", "--num-samples", "40", "--batch-size", "64"]
    assert main([*argv, "--validate"]) != 0
    assert "--validate" in capsys.readouterr().err
