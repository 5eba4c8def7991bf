"""Every task has train, val and test; without a val_set a seeded 10% of train is held out."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrkit.experiments import (  # noqa: E402
    Task,
    get_task,
    hold_out,
    plan_compare,
    report_compare,
    run_compare,
    write_config,
)


def _rows(dataset):
    """Each example of a TensorDataset of (x, y) as a hashable tuple."""
    x, y = dataset.tensors
    return [(*map(float, xi), int(yi)) for xi, yi in zip(x, y, strict=True)]


def _task(n=50, **kw):
    x = torch.arange(n, dtype=torch.float32)[:, None]
    data = torch.utils.data.TensorDataset(x, torch.arange(n) % 2)
    return Task(
        "t", lambda: torch.nn.Linear(1, 2), data, data, torch.nn.CrossEntropyLoss(), 2, **kw
    )


def test_held_out_val_is_a_tenth_of_train_disjoint_and_in_order():
    task = _task(50)
    assert task.val_held_out
    assert (task.train_size, len(task.val_set)) == (45, 5)
    train, val = task.train_set.tensors[0][:, 0], task.val_set.tensors[0][:, 0]
    assert sorted(train.tolist() + val.tolist()) == list(range(50))  # a partition
    assert train.tolist() == sorted(train.tolist()) and val.tolist() == sorted(val.tolist())
    assert val.tolist() != list(range(45, 50))  # drawn at random, not the tail


def test_the_split_is_the_same_for_every_seed_and_label_noise():
    # built-in tasks: the split depends on the data only, never on the task/training seed
    a = get_task("digits", num_samples=200, seed=0)
    b = get_task("digits", num_samples=200, label_noise=0.2, seed=5)
    assert _rows(a.val_set) == _rows(b.val_set)
    assert a.train_set.tensors[0].equal(b.train_set.tensors[0])  # inputs; labels noised
    assert (a.train_size, len(a.val_set), len(a.test_set)) == (144, 16, 40)
    assert not set(_rows(a.val_set)) & set(_rows(a.train_set))
    assert b.noisy.shape == (144,)  # noise on the training part only: val stays clean


def test_a_given_val_set_is_kept_and_other_datasets_get_subsets():
    given = _task(30)
    kept = _task(30, val_set=given.val_set)
    assert not kept.val_held_out and kept.train_size == 30 and kept.val_set is given.val_set

    class Plain(torch.utils.data.Dataset):
        def __len__(self):
            return 20

        def __getitem__(self, i):
            return torch.tensor([float(i)]), i % 2

    task = Task("p", lambda: None, Plain(), Plain(), torch.nn.CrossEntropyLoss(), 2)
    seen = sorted(int(task.train_set[i][0]) for i in range(len(task.train_set)))
    seen_val = sorted(int(task.val_set[i][0]) for i in range(len(task.val_set)))
    assert (len(seen), len(seen_val)) == (18, 2) and sorted(seen + seen_val) == list(range(20))
    # a replace keeps the split (val_set is set now), so label noise never re-splits
    assert dataclasses.replace(task, description="x").train_set is task.train_set


def test_hold_out_validates_and_keeps_at_least_one_on_each_side():
    data = torch.utils.data.TensorDataset(torch.zeros(3, 1))
    train, val = hold_out(data)
    assert (len(train), len(val)) == (2, 1)
    with pytest.raises(ValueError, match="fraction must be in"):
        hold_out(data, 1.0)
    with pytest.raises(ValueError, match=">= 2 examples"):
        hold_out(torch.utils.data.TensorDataset(torch.zeros(1, 1)))
    with pytest.raises(ValueError, match="noisy needs a val_set"):
        _task(10, noisy=np.zeros(10, dtype=bool))


def test_range_test_sees_train_only(monkeypatch):
    from lrkit.experiments import _lr_finder as rts
    from lrkit.experiments import _trainer

    task = get_task("digits", num_samples=100)
    seen = []
    real = _trainer.lab_loader

    def spy(dataset, *args, **kw):
        seen.append(dataset)
        return real(dataset, *args, **kw)

    monkeypatch.setattr(_trainer, "lab_loader", spy)
    rts.task_range_test(task, rts.finder_strategy("adam", 16), num_steps=5)
    assert seen and all(d is task.train_set for d in seen)


def test_every_epoch_scores_val_and_the_report_says_where_it_came_from(tmp_path):
    plan = plan_compare("digits", ["adam"], epochs=1, seeds=[0], out=tmp_path, num_samples=100)
    write_config(plan, tmp_path, "lrkit compare ...")
    results = run_compare(plan, tmp_path)
    assert all(r["val_loss"] is not None and r["val_metric"] is not None for r in results[0].rows)
    report_compare(plan, tmp_path, results, command="lrkit compare ...", plots=False)
    text = (tmp_path / "report.md").read_text()
    assert "72 train / 8 val / 20 test" in text  # 100 samples: 80 train+val, 8 held out
    assert "held out" in text and "the lab chooses on val" in text
    assert json.loads((tmp_path / "config.json").read_text())["task_split"].startswith("72 train")
