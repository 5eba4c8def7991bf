"""The lab's trainer is the plain loop of docs/lab.md: same metrics at every epoch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from lrkit.experiments import Strategy, compare, get_task  # noqa: E402
from lrkit.schedules import Constant, OneCycle, StepDecay  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lab.md"


def _plain_loop():
    """The code block after ``<!-- plain-loop -->`` in docs/lab.md, executed."""
    text = DOCS.read_text()
    match = re.search(r"<!-- plain-loop -->\n```python\n(.*?)```", text, flags=re.S)
    assert match is not None, "docs/lab.md lost its plain-loop block"
    namespace: dict = {}
    exec(compile(match.group(1), str(DOCS), "exec"), namespace)
    return namespace["plain_loop"]


STRATEGIES = [
    Strategy("sgd-step", "sgd", StepDecay(0.1, 1, 0.5), {"momentum": 0.9}, batch_size=32),
    Strategy(
        "one-cycle-steps", "sgd", OneCycle(max_lr=0.1, total_steps=20), clock="step", batch_size=48
    ),
    Strategy("adam", "adam", Constant(0.003), batch_size=40),
]


def test_compare_trains_exactly_the_plain_loop_of_the_docs(tmp_path):
    pytest.importorskip("schedulefree")
    strategies = [
        *STRATEGIES,
        Strategy("sf", "schedulefree-adamw", Constant(0.003), batch_size=32),
    ]
    task = get_task("digits", num_samples=200)
    plain_loop = _plain_loop()
    result = compare(task, strategies, epochs=3, seeds=[0, 4], out=tmp_path / "r", plots=False)
    assert len(result.results) == 2 * len(strategies)
    by_name = {s.name: s for s in strategies}
    for run in result.results:
        mine = plain_loop(task, by_name[run.strategy], epochs=3, seed=run.seed)
        lab = [(row["train_loss"], row["test_loss"], row["test_acc"]) for row in run.rows]
        assert lab == mine, (run.strategy, run.seed)
