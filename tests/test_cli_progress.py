"""The CLI's progress callback: a bar on a terminal, lines elsewhere, nothing when quiet."""

from __future__ import annotations

import io

import pytest

from lrkit.cli._progress import ProgressReporter
from lrkit.experiments._executors import Failure, Outcome


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def outcomes() -> list[Outcome]:
    boom = Failure("ValueError: lr must be > 0", "Traceback...\n  in run_trial\nValueError")
    return [
        Outcome(0, ("adam", 0), result=1.0, seconds=4.25),
        Outcome(1, ("sgd", 1), failure=boom),
        Outcome(2, ("sgd", 0), result=2.0, seconds=0.5),
    ]


def describe(item: tuple[str, int]) -> str:
    return f"{item[0]} seed {item[1]}"


def test_one_line_per_item_when_not_on_a_terminal():
    stream = io.StringIO()
    with ProgressReporter(3, describe=describe, stream=stream, debug=False) as report:
        for outcome in outcomes():
            report(outcome)
    assert stream.getvalue().splitlines() == [
        "[1/3] adam seed 0: 4.2 s",
        "[2/3] sgd seed 1: FAILED: ValueError: lr must be > 0",
        "[3/3] sgd seed 0: 0.5 s",
    ]
    assert (report.done, report.failed) == (3, 1)


def test_debug_adds_the_workers_traceback():
    stream = io.StringIO()
    with ProgressReporter(3, describe=describe, stream=stream, debug=True) as report:
        report(outcomes()[1])
    assert stream.getvalue().splitlines()[1:] == ["Traceback...", "  in run_trial", "ValueError"]


def test_quiet_writes_nothing_but_still_counts():
    stream = Terminal()
    with ProgressReporter(3, stream=stream, quiet=True) as report:
        for outcome in outcomes():
            report(outcome)
    assert stream.getvalue() == ""
    assert (report.done, report.failed) == (3, 1)


def test_a_terminal_gets_one_bar_and_the_failures():
    stream = Terminal()
    with ProgressReporter(3, describe=describe, stream=stream, debug=False) as report:
        for outcome in outcomes():
            report(outcome)
    text = stream.getvalue()
    assert "3/3" in text and "trial" in text  # the bar, finished
    assert "sgd seed 1: FAILED: ValueError: lr must be > 0" in text
    assert "adam seed 0: 4.2 s" not in text  # successes only move the bar


def test_total_is_checked():
    with pytest.raises(ValueError, match="total"):
        ProgressReporter(-1)


def test_an_unknown_total_counts_up():
    stream = io.StringIO()
    with ProgressReporter(None, describe=describe, stream=stream, debug=False) as report:
        report(outcomes()[0])
    assert stream.getvalue().splitlines() == ["[1] adam seed 0: 4.2 s"]
