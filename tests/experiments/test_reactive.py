"""Reactive strategies: wsd, plateau and plateau-batch, their decisions, resume and configs."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json

import pytest

from lrkit._config import Configurable
from lrkit.batch_size import BatchOnPlateau
from lrkit.experiments import (
    Control,
    Strategy,
    StrategyContext,
    UpdateReport,
    checkpoint_path,
    compare,
    get_strategy,
    get_task,
    load_strategies,
    register_controller,
    train,
)
from lrkit.schedules import Constant, ReduceOnPlateau

torch = pytest.importorskip("torch")


class _Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def task():
    return get_task("diabetes")  # has a validation set: decisions are taken on it


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def _plateau_batch(**plateau) -> Strategy:
    rule = ReduceOnPlateau(**{"factor": 0.5, "patience": 0, "threshold": 1e-3, **plateau})
    return Strategy(
        "pb",
        "sgd",
        Constant(0.05),
        {"momentum": 0.9},
        batch_size=16,
        controller=BatchOnPlateau(rule, batch_size=16, max_batch_size=64),
    )


def test_the_reactive_strategies_train_through_compare_and_record_decisions(tmp_path):
    names = ["wsd", "plateau", "plateau-batch", "constant"]
    compare("diabetes", names, epochs=6, seeds=1, out=tmp_path / "r", plots=False, batch_size=32)
    with open(tmp_path / "r" / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by = {n: [r for r in rows if r["strategy"] == n] for n in names}
    assert all(len(by[n]) == 6 for n in names)
    assert {r["decision"] for r in by["wsd"] + by["constant"]} == {""}  # no controller
    for name in ("plateau", "plateau-batch"):
        assert all(r["decision"] in {"hold", "cut_lr", "grow_batch", "at_floor"} for r in by[name])
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    text = json.dumps(config)
    assert "reduce_on_plateau" in text and "batch_on_plateau" in text


def test_plateau_takes_torchs_decisions_on_the_same_validation_losses(task):
    strategy = get_strategy("plateau", StrategyContext(epochs=12, train_size=task.train_size))
    rows = train(task, strategy, epochs=12, seed=0).rows
    assert any(r["decision"] == "cut_lr" for r in rows)  # the check must see a cut
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=0.1, patience=1, threshold=1e-3, min_lr=0.1 * 1e-3
    )
    for row, nxt in itertools.pairwise(rows):
        before = opt.param_groups[0]["lr"]
        ref.step(row["val_loss"])
        after = opt.param_groups[0]["lr"]
        assert row["lr"] == pytest.approx(before, rel=1e-12)
        assert nxt["lr"] == pytest.approx(after, rel=1e-12)  # the decision's LR, next epoch
        assert (row["decision"] == "cut_lr") == (after < before)


def test_plateau_batch_grows_the_batch_then_cuts_the_lr_past_the_cap(task):
    rows = train(task, _plateau_batch(), epochs=12, seed=0).rows
    decisions = [r["decision"] for r in rows]
    batches = [r["batch_size"] for r in rows]
    lrs = [r["lr"] for r in rows]
    assert decisions.count("grow_batch") == 2, decisions  # 16 -> 32 -> 64, the cap
    first_cut = decisions.index("cut_lr")
    assert max(i for i, d in enumerate(decisions) if d == "grow_batch") < first_cut
    for i, d in enumerate(decisions[:-1]):
        if d == "grow_batch":  # from the next epoch: twice the batch, the same LR
            assert batches[i + 1] == 2 * batches[i] and lrs[i + 1] == lrs[i]
        elif d == "cut_lr":
            assert batches[i + 1] == batches[i] == 64 and lrs[i + 1] == lrs[i] / 2
        else:
            assert batches[i + 1] == batches[i] and lrs[i + 1] == lrs[i]


@pytest.mark.parametrize("name", ["plateau", "plateau-batch"])
def test_resume_equals_an_uninterrupted_run_bit_for_bit(task, tmp_path, name):
    if name == "plateau":
        strategy = get_strategy(name, StrategyContext(epochs=8, train_size=task.train_size))
    else:
        strategy = _plateau_batch()
    full = train(task, strategy, epochs=8, seed=1)
    assert len({r["decision"] for r in full.rows}) > 1  # something was decided

    def stop(row):
        if row["epoch"] == 4:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(task, strategy, epochs=8, seed=1, checkpoint_dir=tmp_path, on_epoch=stop)
    assert checkpoint_path(tmp_path, strategy, 1).exists()
    resumed = train(task, strategy, epochs=8, seed=1, checkpoint_dir=tmp_path)
    assert resumed.resumed_from == 4
    assert _strip(resumed.rows) == _strip(full.rows)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_a_strategy_file_round_trips_the_controller(tmp_path, suffix):
    built = get_strategy("plateau-batch", StrategyContext(epochs=20, batch_size=32))
    if suffix == ".json":
        text = json.dumps({"strategies": {"pb": {**built.to_config(), "name": "pb"}}})
    else:
        text = (
            "[strategies.pb]\n"
            'optimizer = "sgd"\n'
            "optimizer_kwargs = { momentum = 0.9 }\n"
            'lr = "constant(lr=0.1)"\n'
            "batch_size = 32\n"
            f'controller = "{built.controller.to_spec()}"\n'
            f'description = "{built.description}"\n'
        )
    path = tmp_path / f"s{suffix}"
    path.write_text(text)
    (loaded,) = load_strategies(path)
    assert loaded.controller == built.controller
    assert Strategy.from_config(loaded.to_config()) == loaded
    assert loaded == Strategy(**{**built.to_config(), "name": "pb"})


def test_bad_controllers_are_named():
    with pytest.raises(TypeError, match="controller must be one of"):
        Strategy("x", "sgd", Constant(0.1), controller=Constant(0.1))
    with pytest.raises(ValueError, match="starting batch 16"):
        Strategy("x", "sgd", Constant(0.1), batch_size=32, controller=_plateau_batch().controller)
    with pytest.raises(ValueError, match="strategy 'x'"):
        Strategy.from_config(
            {"name": "x", "optimizer": "sgd", "lr": "constant(lr=0.1)", "controller": "nope("}
        )


def test_the_strategy_file_in_docs_lab_loads(tmp_path):
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "lab.md").read_text()
    block = text.split("### Reactive strategies")[1].split("```toml")[1].split("```")[0]
    path = tmp_path / "mine.toml"
    path.write_text(block)
    loaded = {s.name: s for s in load_strategies(path)}
    assert isinstance(loaded["my-plateau"].controller, ReduceOnPlateau)
    assert isinstance(loaded["my-plateau-batch"].controller, BatchOnPlateau)
    assert loaded["my-plateau-batch"].controller.max_batch_size == 800


def test_the_schedule_plot_draws_the_lr_a_reactive_run_decided(task):
    pytest.importorskip("matplotlib")
    from lrkit.experiments import plot_strategy_schedules

    strategy = _plateau_batch()
    result = train(task, strategy, epochs=6, seed=0)
    fig = plot_strategy_schedules([strategy], [result], epochs=6)
    try:
        (line,) = fig.axes[0].get_lines()
        assert list(line.get_ydata()) == [result.rows[0]["lr"], *[r["lr"] for r in result.rows]]
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


# A per-update controller of a new kind, through the public protocol only: after update
# ``at`` it halves the LR scale and asks for twice the batch (applied at the next epoch).
@dataclasses.dataclass(frozen=True)
class _HalveAt(Configurable):
    config_name = "test_halve_at_update"
    at: int = 3


class _HalveAtDriver:
    every = "update"

    def __init__(self, rule: _HalveAt) -> None:
        self.rule = rule

    def check(self, batch_size):
        if batch_size != 16:
            raise ValueError("batch_size must be 16")

    def start(self, batch_size):
        return Control(batch_size=16, state=0)

    def after_validation(self, control, val_loss, time):
        return dataclasses.replace(control, decision="hold")

    def after_update(self, control, report: UpdateReport):
        assert report.step is not None and report.batch_size == report.step.samples
        if report.updates == self.rule.at:
            return Control(lr_scale=0.5, batch_size=32, decision="halve", state=report.updates)
        return dataclasses.replace(control, decision="hold")

    def dump(self, control):
        return {"scale": control.lr_scale, "batch": control.batch_size, "state": control.state}

    def load(self, data):
        return Control(lr_scale=data["scale"], batch_size=data["batch"], state=data["state"])


register_controller(_HalveAt, _HalveAtDriver)


def test_a_per_update_controller_plugs_into_the_same_mechanism(task, tmp_path):
    strategy = Strategy("halve", "sgd", Constant(0.05), batch_size=16, controller=_HalveAt(20))
    assert Strategy.from_config(json.loads(json.dumps(strategy.to_config()))) == strategy
    full = train(task, strategy, epochs=3, seed=0)
    per_epoch = -(-task.train_size // 16)  # 17 updates in epoch 1: update 20 is in epoch 2
    assert full.rows[0]["updates"] == per_epoch
    assert [r["decision"] for r in full.rows] == ["hold", "halve", "hold"]
    assert [r["batch_size"] for r in full.rows] == [16, 16, 32]
    assert [r["lr"] for r in full.rows] == [0.05, 0.025, 0.025]

    def stop(row):
        if row["epoch"] == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(task, strategy, epochs=3, seed=0, checkpoint_dir=tmp_path, on_epoch=stop)
    resumed = train(task, strategy, epochs=3, seed=0, checkpoint_dir=tmp_path)
    assert resumed.resumed_from == 2 and _strip(resumed.rows) == _strip(full.rows)
