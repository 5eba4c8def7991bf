"""The finder zoo: every task builds, its model runs, its metric matches sklearn's."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("mnist1d")

from lrkit.experiments import get_task, registered_tasks  # noqa: E402
from lrkit.experiments.tasks._zoo import ZOO, zoo_task  # noqa: E402


def test_twelve_tasks_in_distinct_families_with_two_batch_sizes() -> None:
    assert len(ZOO) >= 12
    assert len({t.name for t in ZOO}) == len(ZOO)
    families = {}
    for t in ZOO:
        families.setdefault(t.family, set()).add(t.batch_size)
    assert sum(len(b) >= 2 for b in families.values()) >= 1
    assert {t.metric for t in ZOO} == {"acc", "r2"}
    assert all(t.total_steps() >= 256 for t in ZOO)  # a 100-step sweep < 1% of a 39-run grid


@pytest.mark.parametrize("task", ZOO, ids=lambda t: t.name)
def test_each_task_builds_and_its_model_runs(task) -> None:
    d = task.data()
    assert len(d.x_train) == len(d.y_train) and len(d.x_val) and len(d.x_test)
    torch.manual_seed(0)
    out = task.model_fn()(torch.from_numpy(d.x_test[:5]))
    assert out.shape[0] == 5
    loss = task.loss_fn()(out, torch.from_numpy(d.y_test[:5]))
    assert torch.isfinite(loss)


def test_scores_match_sklearn() -> None:
    from sklearn.metrics import accuracy_score, r2_score

    rng = np.random.default_rng(0)
    y, pred = rng.normal(size=50), rng.normal(size=50)
    reg = zoo_task("friedman-mlp")
    got = reg.score(torch.from_numpy(pred[:, None]), torch.from_numpy(y))
    assert got == pytest.approx(100 * r2_score(y, pred))
    logits, labels = rng.normal(size=(40, 4)), rng.integers(0, 4, 40)
    cls = zoo_task("waves-lstm")
    got = cls.score(torch.from_numpy(logits), torch.from_numpy(labels))
    assert got == pytest.approx(100 * accuracy_score(labels, logits.argmax(1)))


def test_classification_tasks_are_lab_tasks() -> None:
    assert "zoo-tokens-transformer" in registered_tasks()
    assert "zoo-spirals-relu-b256" not in registered_tasks()  # batch variants: same task
    task = get_task("zoo-digits-cnn")
    assert task.num_classes == 10 and task.train_size == len(zoo_task("digits-cnn").data().y_train)
    assert task.val_set is not None
    assert get_task("zoo-friedman-mlp").num_classes is None
    with pytest.raises(ValueError, match="unknown zoo task"):
        zoo_task("nope")
