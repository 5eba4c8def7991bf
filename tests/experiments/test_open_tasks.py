"""Tasks beyond classification: metrics with a direction, dict batches, a forward hook, val."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sk_metrics = pytest.importorskip("sklearn.metrics")

from lrkit.experiments import Metric, Strategy, Task, compare, get_task, train  # noqa: E402
from lrkit.experiments._metrics import METRICS  # noqa: E402
from lrkit.schedules import Constant  # noqa: E402


def _regression_task(metric="r2", val=False):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 5)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.3 * rng.normal(size=240)).astype(np.float32)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    data = torch.utils.data.TensorDataset
    return Task(
        name="linear",
        model_fn=lambda: torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(),
                                             torch.nn.Linear(16, 1), torch.nn.Flatten(0)),
        train_set=data(xt[:160], yt[:160]),
        test_set=data(xt[200:], yt[200:]),
        val_set=data(xt[160:200], yt[160:200]) if val else None,
        loss_fn=torch.nn.functional.mse_loss,
        metric=metric,
    )  # fmt: skip


ADAM = Strategy("adam", "adam", Constant(0.01), batch_size=32)
SGD = Strategy("sgd", "sgd", Constant(0.01), {"momentum": 0.9}, batch_size=32)


@pytest.mark.parametrize("name", ["mse", "rmse", "r2", "accuracy"])
def test_builtin_metrics_match_sklearn(name):
    rng = np.random.default_rng(3)
    if name == "accuracy":
        out, y = rng.normal(size=(50, 4)), rng.integers(0, 4, size=50)
        expected = sk_metrics.accuracy_score(y, out.argmax(1))
    else:
        out, y = rng.normal(size=50), rng.normal(size=50)
        expected = {
            "mse": sk_metrics.mean_squared_error(y, out),
            "rmse": math.sqrt(sk_metrics.mean_squared_error(y, out)),
            "r2": sk_metrics.r2_score(y, out),
        }[name]
    got = METRICS[name].value(0.0, torch.from_numpy(out), torch.from_numpy(y))
    assert got == pytest.approx(expected, rel=1e-12)


def test_the_default_metric_is_accuracy_with_classes_and_loss_otherwise():
    assert get_task("digits", num_samples=100).metric.name == "accuracy"
    assert _regression_task(metric=None).metric.name == "loss"
    with pytest.raises(ValueError, match="metric must be a Metric or one of accuracy"):
        _regression_task(metric="f1")


def test_a_regression_task_is_ranked_by_its_metric_through_compare(tmp_path):
    task = _regression_task("r2", val=True)
    result = compare(task, [ADAM, SGD], epochs=3, seeds=2, out=tmp_path / "r", plots=True)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["metric"] == {"name": "r2", "higher_is_better": True}
    stats = summary["strategies"]
    assert "final_test_acc" not in stats["adam"]
    first, second = (
        name for name, _ in sorted(stats.items(), key=lambda kv: -kv[1]["final_test_metric"])
    )
    table = (tmp_path / "r" / "report.md").read_text()
    assert "final test r2" in table and table.index(f"| {first} |") < table.index(f"| {second} |")
    for run in result.results:
        final = run.final
        assert final["test_acc"] is None and final["val_metric"] is not None
        assert final["test_metric"] <= 1.0
    assert (tmp_path / "r" / "test_r2_vs_epoch.png").is_file()
    lower = compare(_regression_task("mse"), [ADAM, SGD], epochs=3, seeds=2, out=tmp_path / "m",
                    plots=False)  # fmt: skip
    order = [name for name, _ in sorted(lower.summary["strategies"].items(),
                                        key=lambda kv: kv[1]["final_test_metric"])]  # fmt: skip
    assert list(lower.summary["strategies"]) != [] and order[0] in lower.report.read_text()
    ranked_first = lower.report.read_text().split("| 1")[1].split("|")[1].strip()
    assert ranked_first == order[0]  # lower mse ranks first


class _DictData(torch.utils.data.Dataset):
    def __init__(self, tensors):
        self.x, self.y = tensors

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"features": self.x[i], "labels": self.y[i]}


class _KeywordModel(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, features):
        return self.inner(features)


def test_dict_batches_and_a_forward_hook_train_exactly_like_tuples():
    base = get_task("digits", num_samples=150)
    as_dicts = dataclasses.replace(
        base,
        train_set=_DictData(base.train_set.tensors),
        test_set=_DictData(base.test_set.tensors),
        model_fn=lambda: _KeywordModel(base.model_fn()),
    )

    def forward(model, batch):  # a model that computes its own loss
        x, y = batch
        out = model(x)
        return torch.nn.functional.cross_entropy(out, y), out, y

    hooked = dataclasses.replace(base, forward=forward)
    runs = [train(t, ADAM, epochs=2, seed=1).rows for t in (base, as_dicts, hooked)]

    def strip(rows):
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]

    assert strip(runs[1]) == strip(runs[0])
    assert strip(runs[2]) == strip(runs[0])


def test_a_user_metric_is_reduced_over_the_whole_evaluation_set():
    mae = Metric("mae", lambda out, y: float((out - y).abs().mean()), higher_is_better=False)
    task = _regression_task(mae)
    row = train(task, ADAM, epochs=1, seed=0).final
    assert row["test_metric"] > 0 and row["test_acc"] is None
    with pytest.raises(ValueError, match="label noise needs a classification task"):
        from lrkit.experiments import with_label_noise

        with_label_noise(task, 0.1)


def test_tiny_lm_and_diabetes_are_registered_with_their_metrics(tmp_path):
    diabetes = get_task("diabetes")
    assert (diabetes.metric.name, diabetes.num_classes, diabetes.train_size) == ("r2", None, 266)
    assert len(diabetes.val_set) == 88
    lm = get_task("tiny-lm", num_samples=32)
    assert lm.metric.name == "perplexity" and lm.train_size == 32 and len(lm.val_set) == 8
    strategy = Strategy("adamw", "adamw", Constant(3e-3), batch_size=16)
    result = compare(lm, [strategy], epochs=1, seeds=1, out=tmp_path / "lm", plots=False)
    row = result.results[0].final
    # perplexity is exp of the mean token loss; a character model starts near the vocabulary
    assert row["test_metric"] == pytest.approx(math.exp(row["test_loss"]), rel=1e-9)
    assert 1.0 < row["val_metric"] < 200.0
    assert result.summary["metric"] == {"name": "perplexity", "higher_is_better": False}
