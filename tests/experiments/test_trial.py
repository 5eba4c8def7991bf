"""Trials are picklable data; run_trial gives the same rows in any process; executors plug in."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

torch = pytest.importorskip("torch")

from lrkit.experiments import (  # noqa: E402
    Strategy,
    TaskSpec,
    Trial,
    compare,
    read_metrics,
    run_trial,
)
from lrkit.schedules import Constant, StepDecay  # noqa: E402

SPEC = TaskSpec("digits", num_samples=150)
SGD = Strategy("sgd", "sgd", StepDecay(0.05, 1, 0.5), {"momentum": 0.9}, batch_size=32)
ADAM = Strategy("adam", "adam", Constant(0.01), batch_size=32)


def _strip(rows):
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]


def test_a_trial_pickles_and_trains_the_same_after(tmp_path):
    trial = Trial(SPEC, SGD, seed=2, epochs=2)
    again = pickle.loads(pickle.dumps(trial))
    assert again == trial
    assert _strip(run_trial(again).rows) == _strip(run_trial(trial).rows)


def test_run_trial_gives_the_same_rows_in_a_spawned_process():
    trial = Trial(SPEC, ADAM, seed=1, epochs=2)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        theirs = pool.submit(run_trial, trial).result(timeout=120)
    assert _strip(theirs.rows) == _strip(run_trial(trial).rows)


def test_an_executor_plugs_into_compare_and_results_may_come_in_any_order(tmp_path):
    seen = []

    def backwards(fn, trials):  # an executor: maps fn over trials, yields as they finish
        for trial in reversed(list(trials)):
            seen.append(trial.label)
            yield fn(trial)

    args = {"epochs": 2, "seeds": 2, "plots": False}
    inline = compare("digits", [SGD, ADAM], out=tmp_path / "a", num_samples=150, **args)
    other = compare(
        "digits", [SGD, ADAM], out=tmp_path / "b", num_samples=150, executor=backwards, **args
    )
    assert seen == ["adam seed 1", "sgd seed 1", "adam seed 0", "sgd seed 0"]
    assert _strip(read_metrics(tmp_path / "a" / "metrics.csv")) == _strip(
        read_metrics(tmp_path / "b" / "metrics.csv")
    )
    assert [(r.strategy, r.seed) for r in other.results] == [
        (r.strategy, r.seed) for r in inline.results
    ]


def test_bad_trial_fields_are_named():
    with pytest.raises(ValueError, match="epochs must be an int >= 1, got 0"):
        Trial(SPEC, SGD, seed=0, epochs=0)
    with pytest.raises(TypeError, match="strategy must be a Strategy"):
        Trial(SPEC, "sgd", seed=0, epochs=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threads must be an int >= 1 or None"):
        Trial(SPEC, SGD, seed=0, epochs=1, threads=0)
