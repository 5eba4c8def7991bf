"""The lab's batch strategies and the smith2018 reproduction (tiny sizes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lrkit.batch_size import count_updates
from lrkit.experiments import Strategy, StrategyContext, get_strategy, registered_strategies

NAMES = ("decaying-lr", "increase-batch", "hybrid", "higher-lr-batch", "higher-momentum")


@pytest.mark.parametrize("name", NAMES)
def test_strategies_keep_the_reference_noise_scale(name: str) -> None:
    from lrkit.experiments._batch_strategies import reference_schedule

    assert name in registered_strategies()
    ctx = StrategyContext(epochs=20, batch_size=32, train_size=3000, lr=0.1)
    strategy = get_strategy(name, ctx)
    ref = reference_schedule(ctx)
    t = np.linspace(0, 20, 81)[:-1]
    m = strategy.optimizer_options["momentum"]
    batch = np.array([strategy.batch_size_at(x) for x in t], dtype=float)
    np.testing.assert_allclose(strategy.lr(t) / (batch * (1 - m)), ref(t) / (32 * 0.1), rtol=1e-12)
    assert batch.max() <= 3000
    assert Strategy.from_config(json.loads(json.dumps(strategy.to_config()))) == strategy


def test_update_counts_shrink_as_in_the_paper() -> None:
    ctx = StrategyContext(epochs=20, batch_size=32, train_size=32_000)
    updates = {n: count_updates(get_strategy(n, ctx).batch_size, 32_000, 20) for n in NAMES}
    base = updates["decaying-lr"]
    assert base == 20 * 1000
    assert base / updates["increase-batch"] > 2.5
    assert base / updates["higher-lr-batch"] > 10 and base / updates["higher-momentum"] > 10


@pytest.mark.slow
def test_smith2018_run_folder(tmp_path: Path) -> None:
    from lrkit.experiments import read_metrics
    from lrkit.experiments._smith2018 import NAMES as ROWS
    from lrkit.experiments._smith2018 import Smith2018Settings, reproduce_smith2018

    settings = Smith2018Settings(num_samples=500, epochs=3, batch_size=4, lr=0.05, seeds=1)
    out = tmp_path / "smith"
    result = reproduce_smith2018(
        out, settings=settings, command="lrkit reproduce smith2018 --out X"
    )
    summary = json.loads((out / "summary.json").read_text())
    assert tuple(summary["strategies"]) == ROWS
    assert set(summary["targets"]) >= {"increasing_batch_update_ratio", "control_gap_points"}
    for name in ("config.json", "metrics.csv", "report.md", "smith2018_figure.png"):
        assert (out / name).exists(), name
    report = (out / "report.md").read_text()
    assert "Row by row with the paper" in report and "## Targets" in report
    # the trainer followed every batch schedule: sizes per epoch and the update counts
    rows = read_metrics(out / "metrics.csv")
    n = 360  # 80% of 500, less 10% of that held out as val
    for strategy in result.strategies:
        mine = [r for r in rows if r["strategy"] == strategy.name]
        assert [r["batch_size"] for r in mine] == [strategy.batch_size_at(e) for e in range(3)]
        assert mine[-1]["updates"] == count_updates(strategy.batch_size, n, 3)


def _rows(name: str, losses: list[list[float]], finals: list[float]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for seed, (curve, acc) in enumerate(zip(losses, finals, strict=True)):
        for epoch, loss in enumerate(curve, start=1):
            rows.append(
                {
                    "strategy": name,
                    "seed": seed,
                    "epoch": epoch,
                    "train_loss": loss,
                    "test_acc": acc,
                }
            )
    return rows


def test_smith2018_control_and_curve_gaps() -> None:
    from lrkit.experiments._smith2018 import control_checks

    rows = [
        *_rows("decaying-lr", [[2.0, 1.0, 0.5], [2.2, 1.2, 0.3]], [0.98, 0.97]),
        *_rows("increasing-batch", [[2.0, 1.1, 0.4], [2.2, 1.1, 0.3]], [0.975, 0.97]),
        *_rows("constant-lr", [[2.0, 1.5, 1.0], [2.0, 1.5, float("nan")]], [0.90, 0.93]),
    ]
    lines, checks = control_checks(rows)
    # paired by seed: (98 - 90, 97 - 93) -> mean 6; (97.5 - 98, 97 - 97) -> mean -0.25
    assert checks["control_gap_points"] == pytest.approx(6.0)
    assert checks["increasing_batch_gap_points"] == pytest.approx(-0.25)
    assert checks["control_gap_clearly_larger"] is False  # two seeds: t(1) interval reaches 0
    # mean curves: decaying (2.1, 1.1, 0.4), increasing (2.1, 1.1, 0.35), constant (2.0, 1.5, 1.0)
    grow = checks["train_loss_curve_gap_increasing_batch"]
    assert grow["epoch"] == 3 and grow["max_abs"] == pytest.approx(0.05)
    assert grow["max_rel"] == pytest.approx(0.05 / 0.4)
    control = checks["train_loss_curve_gap_constant_lr"]
    assert control["epoch"] == 3 and control["max_abs"] == pytest.approx(0.6)
    assert "not clearly the larger" in lines[0] and "more closely than the control does" in lines[1]
