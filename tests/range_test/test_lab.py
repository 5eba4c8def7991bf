"""The range test in the lab: extra tasks, `lrkit find`, and `compare --lr auto`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from lrkit.cli import main  # noqa: E402
from lrkit.experiments import compare, get_task, registered_lr_finders  # noqa: E402
from lrkit.experiments._lr_finder import (  # noqa: E402
    finder_strategy,
    task_range_test,
)
from lrkit.experiments._trainer import lab_loader  # noqa: E402
from lrkit.range_test import RangeTestResult, Verdict  # noqa: E402


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


@pytest.mark.parametrize(
    ("name", "num_samples", "classes"),
    [("mnist1d-bn", 200, 10), ("mnist1d-gru", 200, 10), ("spirals", 200, 3), ("cancer", 200, 2)],
)
def test_extra_tasks_build_and_their_models_fit_their_data(
    name: str, num_samples: int, classes: int, cache: Path
) -> None:
    pytest.importorskip("mnist1d")
    task = get_task(name, num_samples=num_samples)
    assert task.name == name and task.num_classes == classes
    x, y = task.train_set[:8]
    torch.manual_seed(0)
    out = task.model_fn()(x)
    assert out.shape == (8, classes)
    assert int(y.max()) < classes
    assert float(task.loss_fn(out, y).detach()) > 0


def test_spirals_and_cancer_are_deterministic_and_cancer_is_standardised() -> None:
    a, b = get_task("spirals", num_samples=120), get_task("spirals", num_samples=120)
    assert torch.equal(a.train_set.tensors[0], b.train_set.tensors[0])
    cancer = get_task("cancer")  # standardised over train+val (val is held out of train)
    x = torch.cat([cancer.train_set.tensors[0], cancer.val_set.tensors[0]])
    np.testing.assert_allclose(x.mean(0).numpy(), 0.0, atol=1e-5)
    with pytest.raises(ValueError, match="num_samples"):
        get_task("cancer", num_samples=10_000)


def test_the_lab_loader_covers_the_data_whatever_the_global_rng() -> None:
    task = get_task("spirals", num_samples=100)
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    passes = []
    for global_seed in (1, 2):  # torch's DataLoader draws a seed from the global RNG
        torch.manual_seed(global_seed)
        batches = lab_loader(task.train_set, 32, seed=3)
        passes.append([torch.cat([y for _, y in batches]) for _ in range(2)])
    (first, second), (again, _) = passes
    assert len(first) == 67  # 75 train+val, round(7.5) = 8 held out as val
    assert sorted(first.tolist()) == sorted(task.train_set.tensors[1].tolist())
    assert not torch.equal(first, second)  # a new order each pass
    assert torch.equal(first, again)  # the order comes from (seed, epoch) alone
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002


def test_task_range_test_is_reproducible() -> None:
    task = get_task("digits", num_samples=200)
    runs = [task_range_test(task, finder_strategy("adam", 32), num_steps=25) for _ in range(2)]
    assert isinstance(runs[0], RangeTestResult)
    np.testing.assert_array_equal(runs[0].losses, runs[1].losses)


def test_cli_find_prints_and_writes_plot_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot, out = tmp_path / "find.png", tmp_path / "find.json"
    argv = ["find", "--task", "digits", "--num-samples", "300", "--batch-size", "32"]
    status = main([*argv, "--num-steps", "60", "--plot", str(plot), "--json", str(out)])
    text = capsys.readouterr().out
    data = json.loads(out.read_text())
    result = RangeTestResult.from_dict(data["result"])
    assert status == (0 if result.reliable else 1)
    assert plot.stat().st_size > 0
    assert "range test: digits, sgd (momentum 0.9), batch 32" in text
    assert "peers on the same sweep" in text
    if result.reliable:
        assert f"suggestion: {result.suggestion:.3g}" in text
        assert "interval:" in text and "cyclic bounds: base_lr" in text
        assert data["cyclic_bounds"] == list(result.cyclic_bounds())
    else:
        assert "no reliable suggestion" in text
    assert sorted(tmp_path.iterdir()) == [out, plot]  # no temporary files left


def test_cli_find_reports_a_curve_without_suggestion_with_status_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 1e-7 .. 1e-6 is far too small for anything to happen: a flat curve
    argv = ["find", "--task", "digits", "--num-samples", "200", "--num-steps", "20"]
    assert main([*argv, "--end-lr", "1e-6"]) == 1
    assert "no reliable suggestion: flat curve" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--optimizer", "adam", "--momentum", "0.5"], "--momentum applies"),
        (["--task", "nope"], "nope"),
        (["--plot", "noext"], "--plot"),
        (["--start-lr", "1", "--end-lr", "0.1"], "end_lr"),
        (["--device", "bogus"], "device 'bogus'"),
    ],
)
def test_cli_find_bad_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["find", "--task", "digits", "--num-samples", "100", "--num-steps", "5"]
    assert main([*base, *argv]) == 2
    assert message in capsys.readouterr().err


def test_compare_lr_auto_uses_the_range_test_and_shows_its_plot(tmp_path: Path) -> None:
    assert "auto" in registered_lr_finders()
    task = get_task("digits", num_samples=300)
    expected = task_range_test(task, finder_strategy("sgd", 32))
    out = tmp_path / "run"
    result = compare(
        task,
        ["constant", "one-cycle", "adam"],
        epochs=1,
        seeds=1,
        out=out,
        batch_size=32,
        lr_finder="auto",
    )
    by_name = {s.name: s for s in result.strategies}
    assert by_name["constant"].lr(0.0) == pytest.approx(expected.suggestion)
    assert by_name["one-cycle"].lr.max_lr == pytest.approx(2 * expected.suggestion)
    report = result.report.read_text()
    assert report.count("### Range test") == 2  # one for SGD (shared), one for Adam
    plots = sorted(p.name for p in out.glob("range_test_*.png"))
    assert len(plots) == 2 and all(name in report for name in plots)


def test_cli_compare_lr_auto(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    argv = ["compare", "--task", "digits", "--num-samples", "300", "--strategies", "adam"]
    argv += ["--epochs", "1", "--seeds", "1", "--batch-size", "32", "--quiet"]
    assert main([*argv, "--lr", "auto", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    expected = task_range_test(get_task("digits", num_samples=300), finder_strategy("adam", 32))
    assert config["strategies"][0]["lr"]["lr"] == pytest.approx(expected.suggestion)
    assert "### Range test" in (out / "report.md").read_text()


def _fake(verdict: Verdict) -> RangeTestResult:
    lrs = np.logspace(-7, 1, 20)
    return RangeTestResult(
        lrs=lrs,
        losses=np.ones(20),
        smoothed=np.ones(20),
        stopped_early=False,
        stop_reason=None,
        suggestion=0.01 if verdict.reliable else None,
        interval=(0.003, 0.03) if verdict.reliable else None,
        reliable=verdict.reliable,
        # A reason that names neither end: the finder must decide on the verdict alone.
        reason="reworded",
        verdict=verdict,
        num_steps=20,
    )


@pytest.mark.parametrize(
    ("first", "shifted_to"),
    [
        (Verdict.FLAT, (1e-5, 1e3)),
        (Verdict.STEEP_AT_END, (1e-5, 1e3)),
        (Verdict.STEEP_AT_START, (1e-9, 0.1)),
        (Verdict.ROSE_FROM_START, (1e-9, 0.1)),
        (Verdict.TOO_FEW_POINTS, (1e-9, 0.1)),
    ],
)
def test_auto_finder_shifts_the_sweep_once_then_gives_up_with_the_reason(
    first: Verdict, shifted_to: tuple[float, float], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrkit.experiments import StrategyContext, _lr_finder
    from lrkit.range_test import NoSuggestionError

    calls: list[tuple[float, float]] = []

    def fake(task: object, strategy: object, **kwargs: float) -> RangeTestResult:
        calls.append((kwargs.get("start_lr", 1e-7), kwargs.get("end_lr", 10.0)))
        return _fake(first if len(calls) == 1 else Verdict.DESCENT)

    monkeypatch.setattr(_lr_finder, "task_range_test", fake)
    task = get_task("digits", num_samples=100)
    ctx = StrategyContext(epochs=1, batch_size=32)
    lr, note = _lr_finder.auto_lr(task, finder_strategy("sgd", 32), ctx, tmp_path)
    assert calls == [(1e-7, 10.0), shifted_to] and lr == 0.01 and "### Range test" in note

    calls.clear()
    monkeypatch.setattr(_lr_finder, "task_range_test", lambda *a, **k: _fake(first))
    with pytest.raises(NoSuggestionError, match="give --lr explicitly"):
        _lr_finder.auto_lr(task, finder_strategy("adam", 32), ctx, tmp_path)


@pytest.mark.parametrize("verdict", [Verdict.DESCENT, Verdict.WEAK_DESCENT, Verdict.EDGE_ONLY])
def test_auto_finder_keeps_a_sweep_that_gave_a_suggestion(
    verdict: Verdict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrkit.experiments import StrategyContext, _lr_finder

    calls: list[object] = []

    def fake(task: object, strategy: object, **kwargs: float) -> RangeTestResult:
        calls.append(kwargs)
        return _fake(verdict)

    monkeypatch.setattr(_lr_finder, "task_range_test", fake)
    task = get_task("digits", num_samples=100)
    ctx = StrategyContext(epochs=1, batch_size=32)
    lr, _ = _lr_finder.auto_lr(task, finder_strategy("rmsprop", 32), ctx, tmp_path)
    assert calls == [{}] and lr == 0.01


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # decays from ctx.lr as its peak: twice the constant-LR answer (PEAK_SHIFT 0.3
        # decades; the fake sweep has no edge to cap it)
        ("adamw-warmup-cosine", 0.01 * 10**0.3),
        ("adam", 0.01),  # trains at ctx.lr
        ("one-cycle", 0.01),  # sets max_lr = 2 * ctx.lr itself
        ("cyclic", 0.01),
    ],
)
def test_auto_finder_answers_for_how_the_strategy_uses_its_base_lr(
    name: str, expected: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lrkit.experiments import StrategyContext, _lr_finder, get_strategy

    monkeypatch.setattr(_lr_finder, "task_range_test", lambda *a, **k: _fake(Verdict.DESCENT))
    task = get_task("digits", num_samples=100)
    ctx = StrategyContext(epochs=4, batch_size=32)
    strategy = get_strategy(name, ctx)
    lr, note = _lr_finder.auto_lr(task, strategy, ctx, tmp_path)
    assert lr == pytest.approx(expected, rel=1e-12)
    assert ("gets the peak answer" in note) == (expected != 0.01)


def test_lr_roles_are_schedules_the_result_answers_for() -> None:
    from lrkit.experiments._lr_finder import lr_role, register_lr_role

    assert lr_role("adamw-warmup-cosine") == "cosine" and lr_role("constant") == "constant"
    assert lr_role("wsd") == "wsd"  # the built-in wsd decays from ctx.lr as its peak
    with pytest.raises(TypeError, match="role must be one of"):
        register_lr_role("my-strategy", "exponential")
    with pytest.raises(ValueError, match="lower-case"):
        register_lr_role("My Strategy", "cosine")
    assert lr_role("my-strategy") == "constant"
