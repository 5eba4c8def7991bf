"""compare(): the run folder's schema, refusal to overwrite, resume without lost rows."""

from __future__ import annotations

import csv
import json

import pytest

pytest.importorskip("torch")

from lrkit.experiments import (
    CSV_COLUMNS,
    SUMMARY_KEYS,
    Strategy,
    StrategyContext,
    compare,
    get_task,
    read_metrics,
    register_lr_finder,
)
from lrkit.schedules import Constant

SMALL = {"num_samples": 200, "epochs": 2, "seeds": 2, "batch_size": 32}
PLOTS = [
    "test_acc_vs_epoch.png",
    "test_acc_vs_updates.png",
    "test_acc_vs_wall.png",
    "train_loss_vs_epoch.png",
    "schedules.png",
]


def _run(out, strategies=("constant", "adam"), **kw):
    kw.setdefault("plots", False)  # plots are slow to draw; one test checks them
    return compare("digits", list(strategies), out=out, **{**SMALL, **kw})


def test_run_folder_has_every_file_with_the_documented_schema(tmp_path):
    out = tmp_path / "run"
    result = _run(out, command="lrkit compare --task digits", plots=True)
    for name in ["config.json", "metrics.csv", "summary.json", "report.md", *PLOTS]:
        assert (out / name).is_file(), name
    with open(out / "metrics.csv") as fh:
        reader = csv.reader(fh)
        assert tuple(next(reader)) == CSV_COLUMNS
        assert sum(1 for _ in reader) == 2 * 2 * 2  # strategies x seeds x epochs
    rows = read_metrics(out / "metrics.csv")
    assert {(r["strategy"], r["seed"]) for r in rows} == {
        (s, k) for s in ("constant", "adam") for k in (0, 1)
    }
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"task", "metric", "strategies"} and summary["task"] == "digits"
    assert summary["metric"] == {"name": "accuracy", "higher_is_better": True}
    assert list(summary["strategies"]) == ["constant", "adam"]
    for stats in summary["strategies"].values():
        assert tuple(stats) == SUMMARY_KEYS
        assert stats["seeds"] == 2 and stats["diverged"] == 0 and stats["updates"] == 10
    adam = [r["test_acc"] for r in rows if r["strategy"] == "adam" and r["epoch"] == 2]
    assert summary["strategies"]["adam"]["final_test_acc"] == pytest.approx(sum(adam) / 2)
    config = json.loads((out / "config.json").read_text())
    assert config["command"] == "lrkit compare --task digits"
    assert {"python", "torch", "numpy", "lrkit"} <= set(config["versions"])
    assert [Strategy.from_config(c) for c in config["strategies"]] == list(result.strategies)
    report = (out / "report.md").read_text()
    assert "| rank | strategy | final test acc % |" in report
    assert "lrkit compare --task digits" in report
    for plot in PLOTS:
        assert f"]({plot})" in report
    assert not list(out.glob("**/*.tmp*"))


def test_label_noise_adds_the_noisy_fit_column_and_plot(tmp_path):
    out = tmp_path / "noisy"
    _run(out, strategies=["adam"], seeds=1, label_noise=0.3, plots=True)
    with open(out / "metrics.csv") as fh:
        assert next(csv.reader(fh)) == [*CSV_COLUMNS, "noisy_fit"]
    assert (out / "noisy_fit_vs_epoch.png").is_file()
    summary = json.loads((out / "summary.json").read_text())["strategies"]["adam"]
    assert 0.0 <= summary["final_noisy_fit"] <= 1.0


def test_an_existing_folder_is_refused_unless_resume_or_overwrite(tmp_path):
    out = tmp_path / "run"
    _run(out, strategies=["constant"], seeds=1)
    before = (out / "metrics.csv").read_text()
    with pytest.raises(FileExistsError, match="--resume to continue it or --overwrite"):
        _run(out, strategies=["constant"], seeds=1)
    resumed = _run(out, strategies=["constant"], seeds=1, resume=True)
    assert resumed.results[0].resumed_from == 2  # nothing retrained
    assert (out / "metrics.csv").read_text() == before
    with pytest.raises(ValueError, match=r"other settings .*epochs"):
        _run(out, strategies=["constant"], seeds=1, epochs=3, resume=True)
    _run(out, strategies=["adam"], seeds=1, overwrite=True)
    assert {r["strategy"] for r in read_metrics(out / "metrics.csv")} == {"adam"}


def test_overwrite_refuses_a_folder_that_is_not_a_run_folder(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not an lrkit run folder"):
        _run(tmp_path, overwrite=True)
    assert (tmp_path / "precious.txt").exists()


@pytest.mark.parametrize("text", ['{"editor": "vim"}', "[1, 2]", "{not json"])
def test_overwrite_and_resume_refuse_a_folder_with_a_foreign_config_json(tmp_path, text):
    # Another program's config.json does not make a folder an lrkit run folder.
    (tmp_path / "config.json").write_text(text)
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not an lrkit run folder"):
        _run(tmp_path, overwrite=True)
    with pytest.raises(ValueError, match="not an lrkit run folder") as info:
        _run(tmp_path, resume=True)
    assert "\n" not in str(info.value)
    assert (tmp_path / "precious.txt").exists()
    assert (tmp_path / "config.json").read_text() == text


def test_resume_refuses_a_strategy_value_that_changed_since_the_run(tmp_path):
    # A strategy from a file, edited before --resume, must not be silently replaced
    # by the stored one (nor mixed with its finished runs).
    out = tmp_path / "run"
    first = Strategy(name="mine", optimizer="sgd", lr=Constant(lr=0.1))
    _run(out, strategies=[first], seeds=1)
    _run(out, strategies=[first], seeds=1, resume=True)  # unchanged: fine
    edited = Strategy(name="mine", optimizer="adam", lr=Constant(lr=0.001))
    with pytest.raises(ValueError, match=r"cannot resume .*strategy 'mine'"):
        _run(out, strategies=[edited], seeds=1, resume=True)


def test_a_bad_device_fails_before_anything_is_written(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="device 'bogus'"):
        _run(out, device="bogus")
    assert not out.exists()


class _Stop(Exception):
    pass


def test_resume_after_an_interruption_loses_and_duplicates_no_row(tmp_path, monkeypatch):
    import lrkit.experiments._trial as lab

    full = _run(tmp_path / "full", epochs=3)
    real_train = lab.train
    calls = []

    def flaky_train(*args, **kwargs):
        calls.append(kwargs["seed"])
        if len(calls) == 3:  # seed 1, first strategy: stop after its first epoch

            def stop(row):
                raise _Stop

            kwargs["on_epoch"] = stop
        return real_train(*args, **kwargs)

    monkeypatch.setattr(lab, "train", flaky_train)
    out = tmp_path / "cut"
    with pytest.raises(_Stop):
        _run(out, epochs=3)
    partial = read_metrics(out / "metrics.csv")
    assert {(r["strategy"], r["seed"]) for r in partial} == {("constant", 0), ("adam", 0)}
    assert not (out / "summary.json").exists()
    monkeypatch.setattr(lab, "train", real_train)
    resumed = _run(out, epochs=3, resume=True)
    assert [r.resumed_from for r in resumed.results] == [3, 3, 1, 0]

    def strip(rows):
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]

    assert strip(read_metrics(out / "metrics.csv")) == strip(
        read_metrics(tmp_path / "full" / "metrics.csv")
    )
    a, b = full.summary["strategies"], resumed.summary["strategies"]
    assert {k: v["final_test_acc"] for k, v in a.items()} == {
        k: v["final_test_acc"] for k, v in b.items()
    }


def test_a_diverging_strategy_is_counted_and_the_others_go_on(tmp_path):
    boom = Strategy("boom", "sgd", Constant(1e30), batch_size=32)
    result = _run(tmp_path / "run", strategies=[boom, "adam"], seeds=1, epochs=3)
    stats = result.summary["strategies"]
    assert stats["boom"]["diverged"] == 1
    assert stats["adam"]["diverged"] == 0 and stats["adam"]["updates"] == 15
    assert "boom" in (tmp_path / "run" / "report.md").read_text()


def test_an_lr_finder_sets_the_base_lr_of_named_strategies(tmp_path):
    seen = []

    def finder(task, strategy, ctx, out):
        seen.append((strategy.name, ctx.lr))
        return 0.0042, f"found 0.0042 for {strategy.name}"

    register_lr_finder("test-fixed", finder)
    result = _run(tmp_path / "run", strategies=["constant"], seeds=1, lr_finder="test-fixed")
    assert seen == [("constant", None)]
    assert result.strategies[0].lr == Constant(0.0042)
    assert "found 0.0042 for constant" in (tmp_path / "run" / "report.md").read_text()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strategies": ["constant", "constant"]}, "distinct names"),
        ({"strategies": ["warp"]}, "unknown strategy 'warp'"),
        ({"seeds": 0}, "seeds must be >= 1"),
        ({"epochs": 0}, "epochs must be an int >= 1"),
        ({"lr_finder": "nope"}, "unknown LR finder 'nope'"),
    ],
)
def test_bad_arguments_fail_before_training(tmp_path, kwargs, match):
    strategies = kwargs.pop("strategies", ["constant"])
    with pytest.raises(ValueError, match=match):
        _run(tmp_path / "run", strategies=strategies, **kwargs)


def test_a_task_value_can_be_compared_directly(tmp_path):
    task = get_task("digits", num_samples=100)
    ctx = StrategyContext(epochs=1, batch_size=32, train_size=task.train_size)
    result = compare(task, ["adam"], epochs=1, seeds=[5], out=tmp_path / "r", plots=False)
    assert result.results[0].seed == 5 and ctx.steps_per_epoch == 3


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"optimizer_kwargs": {"foo": 1}}, "bad optimizer_kwargs"),
        ({"optimizer": "adagrad", "momentum": Constant(lr=0.9)}, "does not apply to adagrad"),
    ],
)
def test_a_strategy_torch_refuses_fails_before_anything_is_written_or_trained(
    tmp_path, fields, match
):
    # Found at the first epoch, it left a folder with only config.json (so a rerun
    # needed --resume or --overwrite), after training the strategies before it.
    bad = Strategy(name="bad", **{"optimizer": "sgd", "lr": Constant(lr=0.1), **fields})
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=match):
        _run(out, strategies=["constant", bad], seeds=1)
    assert not out.exists()


def test_resume_keeps_the_original_command_and_records_the_resume(tmp_path):
    out = tmp_path / "run"
    first = "lrkit compare --task digits --strategies constant --out run"
    _run(out, strategies=["constant"], seeds=1, command=first)
    again = f"{first} --resume"
    _run(out, strategies=["constant"], seeds=1, resume=True, command=again)
    config = json.loads((out / "config.json").read_text())
    assert config["command"] == first
    assert config["resumed_with"] == [again]
    assert first in (out / "report.md").read_text()
