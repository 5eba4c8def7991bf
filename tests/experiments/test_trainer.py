"""The trainer: schedules applied per update, determinism, resume, divergence."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrkit.batch_size import BatchStep  # noqa: E402
from lrkit.experiments import (  # noqa: E402
    METRIC_COLUMNS,
    Strategy,
    checkpoint_path,
    get_task,
    train,
)
from lrkit.schedules import Constant, StepDecay  # noqa: E402


@pytest.fixture(scope="module")
def task():
    # 223 samples: 178 train+val (80%), 18 of them held out as val: 160 train
    return get_task("digits", num_samples=223)


_LR = Constant(0.05)


def _sgd(lr=_LR, **kw):
    fields = {"name": "sgd", "optimizer": "sgd", "lr": lr, "batch_size": 32}
    fields.update(kw)
    fields.setdefault("optimizer_kwargs", {"momentum": 0.9})
    return Strategy(**fields)


def _strip(rows):
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]


def test_rows_have_the_documented_columns_and_counts(task):
    result = train(task, _sgd(), epochs=2, seed=0)
    assert [tuple(row) for row in result.rows] == [METRIC_COLUMNS] * 2
    last = result.final
    assert (last["epoch"], last["updates"], last["samples"], last["batch_size"]) == (2, 10, 320, 32)
    assert result.diverged_epoch is None and result.resumed_from == 0
    assert 0.0 <= last["test_acc"] <= 1.0 and last["wall_s"] > 0


def test_same_seed_same_metrics_other_seed_other_metrics(task):
    a = train(task, _sgd(), epochs=2, seed=1)
    b = train(task, _sgd(), epochs=2, seed=1)
    c = train(task, _sgd(), epochs=2, seed=2)
    assert _strip(a.rows) == _strip(b.rows)
    assert _strip(a.rows) != _strip(c.rows)


def test_callers_global_rng_is_left_alone(task):
    torch.manual_seed(7)
    before = torch.get_rng_state()
    train(task, _sgd(), epochs=1, seed=0)
    assert torch.equal(torch.get_rng_state(), before)


class _Recorder(torch.optim.SGD):
    """SGD that remembers the LR and momentum of every step."""

    seen: ClassVar[list[tuple[float, float]]] = []

    def step(self, closure=None):
        group = self.param_groups[0]
        _Recorder.seen.append((group["lr"], group["momentum"]))
        return super().step(closure)


@pytest.mark.parametrize("clock", ["epoch", "step"])
def test_every_update_gets_the_schedule_at_its_time(task, monkeypatch, clock):
    monkeypatch.setattr(torch.optim, "SGD", _Recorder)
    _Recorder.seen = []
    lr = StepDecay(lr=0.1, step_size=0.5 if clock == "epoch" else 4, gamma=0.5)
    momentum = StepDecay(lr=0.9, step_size=1 if clock == "epoch" else 7, gamma=0.5)
    strategy = _sgd(lr=lr, momentum=momentum, clock=clock, batch_size=48)
    result = train(task, strategy, epochs=2, seed=0)
    steps = np.arange(len(_Recorder.seen))  # 160 samples / 48 -> 4 updates per epoch
    samples = np.array([0, 48, 96, 144, 160, 208, 256, 304])
    t = samples / 160 if clock == "epoch" else steps
    assert [s[0] for s in _Recorder.seen] == list(lr(t))
    assert [s[1] for s in _Recorder.seen] == list(momentum(t))
    assert [row["lr"] for row in result.rows] == [lr(t[3]), lr(t[7])]


def test_every_batch_follows_the_batch_schedule(task):
    # 160 samples: batches of 16, doubling each epoch, and once mid-epoch (at 2.2).
    schedule = BatchStep(16, milestones=[1, 2, 2.2], factor=2)
    result = train(task, _sgd(batch_size=schedule), epochs=3, seed=0)
    assert [row["batch_size"] for row in result.rows] == [16, 32, 64]
    # 10 and 5 updates; then 64 at t = 2.0 and, at t = 2.4, one short batch of the 96
    # samples left (the schedule says 128): read per batch, not once per epoch (3).
    assert [row["updates"] for row in result.rows] == [10, 15, 17]
    assert [row["samples"] for row in result.rows] == [160, 320, 480]


def test_any_map_style_dataset_trains_like_the_tensor_fast_path(task):
    class Plain(torch.utils.data.Dataset):
        def __init__(self, inner):
            self.inner = inner

        def __len__(self):
            return len(self.inner)

        def __getitem__(self, i):
            return self.inner[i]

    plain = dataclasses.replace(
        task, train_set=Plain(task.train_set), test_set=Plain(task.test_set)
    )
    fast = train(task, _sgd(), epochs=2, seed=0)
    slow = train(plain, _sgd(), epochs=2, seed=0)
    for a, b in zip(_strip(fast.rows), _strip(slow.rows), strict=True):
        assert a["val_loss"] is not None  # the held-out validation set
        numbers = {k: v for k, v in b.items() if v is not None}
        assert {k: a[k] for k in numbers} == pytest.approx(numbers, rel=1e-6)


class _Interrupt(Exception):
    pass


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resume_after_an_interruption_equals_an_uninterrupted_run(task, tmp_path, optimizer):
    kwargs = {"momentum": 0.9} if optimizer == "sgd" else {}
    strategy = _sgd(lr=StepDecay(0.02, 1, 0.5), optimizer=optimizer, optimizer_kwargs=kwargs)
    full = train(task, strategy, epochs=4, seed=3)

    def stop_after_two(row):
        if row["epoch"] == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(task, strategy, epochs=4, seed=3, checkpoint_dir=tmp_path, on_epoch=stop_after_two)
    assert checkpoint_path(tmp_path, strategy, 3).exists()
    resumed = train(task, strategy, epochs=4, seed=3, checkpoint_dir=tmp_path)
    assert resumed.resumed_from == 2
    assert _strip(resumed.rows) == _strip(full.rows)
    assert [row["wall_s"] for row in resumed.rows] == sorted(row["wall_s"] for row in resumed.rows)
    again = train(task, strategy, epochs=4, seed=3, checkpoint_dir=tmp_path)  # finished: read back
    assert again.rows == resumed.rows and again.resumed_from == 4
    name = "sgd-seed3.pt"  # the strategy's name, whatever its optimizer
    assert sorted(p.name for p in tmp_path.iterdir()) == [name, f"{name}.sha256"]


@pytest.mark.parametrize("damage", ["flip", "no-sha256"])
def test_a_corrupt_checkpoint_is_rerun_from_its_start_and_says_so(task, tmp_path, damage):
    strategy = _sgd(lr=StepDecay(0.02, 1, 0.5))
    full = train(task, strategy, epochs=3, seed=1)

    def stop_after_two(row):
        if row["epoch"] == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(task, strategy, epochs=3, seed=1, checkpoint_dir=tmp_path, on_epoch=stop_after_two)
    path = checkpoint_path(tmp_path, strategy, 1)
    if damage == "flip":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    else:
        path.with_name(path.name + ".sha256").unlink()
    rerun = train(task, strategy, epochs=3, seed=1, checkpoint_dir=tmp_path)
    assert rerun.resumed_from == 0
    assert _strip(rerun.rows) == _strip(full.rows)
    assert rerun.note.startswith("checkpoint sgd-seed1.pt ") and rerun.note.endswith(
        "sgd seed 1 reruns from its start"
    )
    assert "\n" not in rerun.note
    assert train(task, strategy, epochs=3, seed=1, checkpoint_dir=tmp_path).note == ""


def test_a_checkpoint_from_other_settings_is_refused(task, tmp_path):
    train(task, _sgd(), epochs=1, seed=0, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="made with other settings"):
        train(task, _sgd(), epochs=2, seed=0, checkpoint_dir=tmp_path)


def test_a_huge_lr_diverges_and_the_run_stops(task):
    result = train(task, _sgd(lr=Constant(1e30)), epochs=5, seed=0)
    assert result.diverged_epoch is not None and result.diverged_epoch <= 2
    assert len(result.rows) == result.diverged_epoch
    assert np.isnan(result.final["train_loss"])


def test_bad_arguments_are_named(task):
    with pytest.raises(ValueError, match="epochs must be an int >= 1, got 0"):
        train(task, _sgd(), epochs=0, seed=0)
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        train(task, _sgd(), epochs=1, seed=-1)
    with pytest.raises(ValueError, match="bad optimizer_kwargs"):
        train(task, _sgd(optimizer_kwargs={"momentun": 0.9}), epochs=1, seed=0)


def _dropout_mlp():
    return torch.nn.Sequential(
        torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(32, 10)
    )


def test_resume_is_exact_with_dropout_too(task, tmp_path):
    noisy_model = dataclasses.replace(task, model_fn=_dropout_mlp)
    full = train(noisy_model, _sgd(), epochs=3, seed=0)

    def stop_after_one(row):
        raise _Interrupt

    with pytest.raises(_Interrupt):
        train(
            noisy_model, _sgd(), epochs=3, seed=0, checkpoint_dir=tmp_path, on_epoch=stop_after_one
        )
    resumed = train(noisy_model, _sgd(), epochs=3, seed=0, checkpoint_dir=tmp_path)
    assert resumed.resumed_from == 1
    assert _strip(resumed.rows) == _strip(full.rows)
