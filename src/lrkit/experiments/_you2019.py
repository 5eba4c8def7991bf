"""Reproduction: what an initially large learning rate does to noisy labels (You et al. 2019).

K. You, M. Long, J. Wang, M. I. Jordan, "How does learning rate decay help modern
neural networks?" (arXiv:1908.01878) claim that an initially large LR suppresses
the memorisation of noisy data, while decaying it afterwards improves the
learning of complex patterns (and so the clean test accuracy).

Here: MNIST-1D with a fixed fraction of wrong training labels, a 1-D CNN, SGD
with momentum 0.9, three schedules over the same epochs:

- ``small-constant``: a small LR throughout;
- ``large-constant``: a 10x larger LR throughout;
- ``large-then-decayed``: the large LR, divided by 10 at half the budget.

Measured per epoch: ``noisy_fit``, the share of the noisy-labelled training
examples that the network predicts *with their wrong label* (memorisation; about
0.1 means none), and the clean test accuracy. The report judges each claim from
this run's numbers: a claim holds when the ±1 std intervals over seeds do not
overlap in the claimed direction, fails when they do not overlap the other way,
and is inconclusive otherwise.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..plotting import save_figure
from ._compare import CompareResult, plan_compare, run_compare, write_config
from ._plots import write_plots
from ._reproductions import register_reproduction
from ._runfolder import summarize, write_json, write_report
from ._strategies import Strategy
from ._tasks import get_task

__all__ = ["SETTINGS", "you2019"]

# Full and quick settings; the full run took 222 s on a shared 2-core CPU (1 thread).
SETTINGS: dict[str, dict[str, Any]] = {
    "full": {
        "num_samples": 5000,
        "label_noise": 0.3,
        "epochs": 60,
        "seeds": 5,
        "channels": 64,
        "small_lr": 0.02,
        "large_lr": 0.2,
    },
    "quick": {
        "num_samples": 1000,
        "label_noise": 0.3,
        "epochs": 8,
        "seeds": 2,
        "channels": 32,
        "small_lr": 0.02,
        "large_lr": 0.2,
    },
}


def _cnn(channels: int) -> Any:
    def make() -> Any:
        from torch import nn

        return nn.Sequential(
            nn.Unflatten(1, (1, 40)),
            nn.Conv1d(1, channels, 5, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(channels * 5, 10),
        )

    return make


def strategies(small_lr: float, large_lr: float, epochs: int) -> list[Strategy]:
    """The three schedules: small constant, large constant, large then /10 at half-time."""
    from ..schedules import Constant, MultiStepDecay

    decay_at = epochs // 2
    momentum = {"momentum": 0.9}
    return [
        Strategy(
            "small-constant",
            "sgd",
            Constant(small_lr),
            momentum,
            description=f"SGD momentum 0.9, small constant lr {small_lr:g}",
        ),
        Strategy(
            "large-constant",
            "sgd",
            Constant(large_lr),
            momentum,
            description=f"SGD momentum 0.9, large constant lr {large_lr:g}",
        ),
        Strategy(
            "large-then-decayed",
            "sgd",
            MultiStepDecay(lr=large_lr, milestones=(decay_at,), gamma=0.1),
            momentum,
            description=f"SGD momentum 0.9, lr {large_lr:g}, divided by 10 at epoch {decay_at}",
        ),
    ]


def you2019(
    out: str | Path,
    *,
    quick: bool = False,
    seeds: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    command: str | None = None,
    threads: int | None = 1,
    on_trial: Any = None,
    executor: Any = None,
) -> Path:
    """Run the reproduction into ``out``; return the path of its ``report.md``.

    Args:
        out: the run folder.
        quick: smoke-sized settings (``SETTINGS["quick"]``), a minute or less.
        seeds: number of seeds (``None``: 5, or 2 when quick).
        resume, overwrite, progress, threads: as in :func:`~lrkit.experiments.compare`.
        command: the command line recorded in the report.
        on_trial: called with each finished trial (see :func:`~lrkit.experiments.compare`).
        executor: runs the trials (see :func:`~lrkit.experiments.compare`; ``None``:
            inline).

    Raises:
        FileExistsError, ValueError: as :func:`~lrkit.experiments.compare`.
    """
    cfg = dict(SETTINGS["quick" if quick else "full"])
    if seeds is not None:
        cfg["seeds"] = seeds
    epochs = cfg["epochs"]
    task = get_task("mnist1d", num_samples=cfg["num_samples"], label_noise=cfg["label_noise"])
    task = dataclasses.replace(
        task,
        model_fn=_cnn(cfg["channels"]),
        description=(
            f"MNIST-1D, {task.train_size} train / {len(task.test_set)} test, "
            f"{cfg['label_noise']:.0%} of training labels replaced by wrong classes, "
            f"1-D CNN with {cfg['channels']} channels"
        ),
    )
    plan = strategies(cfg["small_lr"], cfg["large_lr"], epochs)
    command = command or f"lrkit reproduce you2019 {'--quick ' if quick else ''}--out {out}"
    title = "Reproduction: an initially large LR and label noise (You et al. 2019)"
    intro = (
        "Claim (You, Long, Wang, Jordan 2019, arXiv:1908.01878): *an initially large "
        "learning rate suppresses the network from memorizing noisy data, while decaying "
        "the learning rate improves the learning of complex patterns.*\n\n"
        f"Setup: {task.description}; batch 64, {epochs} epochs, {cfg['seeds']} seeds. "
        "`noisy fit` is the share of the noisy-labelled training examples predicted with "
        "their *wrong* label (memorised noise; about 10% is chance)."
    )
    if quick:
        intro += (
            "\n\n**This is a `--quick` smoke run: too short and too small for the verdict "
            "below to mean anything about the claim.**"
        )
    # plan -> run -> report, the steps of compare; the report step is the paper's own
    # (its figure and verdict), report.md written once.
    trials = plan_compare(
        task,
        plan,
        epochs=epochs,
        seeds=cfg["seeds"],
        out=out,
        resume=resume,
        overwrite=overwrite,
        threads=threads,
    )
    command = write_config(trials, out, command)
    results = run_compare(trials, out, executor=executor, progress=progress, on_trial=on_trial)
    built = tuple(trials.strategies)
    summary = summarize(str(trials.record["task"]), results, [s.name for s in built], task.metric)
    out = Path(out)
    write_json(out / "summary.json", summary)
    made = write_plots(out, results, built, epochs=epochs, metric=task.metric)
    result = CompareResult(out, summary, tuple(results), built, out / "report.md", tuple(made))
    figure = _plot(result, decay_at=epochs // 2)
    verdict = judge(result, decay_at=epochs // 2)
    return write_report(
        out,
        title=title,
        summary=summary,
        command=command,
        intro=intro,
        strategies=built,
        plots=[figure, *made],
        findings=[verdict],
    )


def _stats(result: CompareResult, name: str, key: str, epoch: int) -> tuple[float, float]:
    """Mean and sample std over seeds of ``key`` at ``epoch`` (last row if shorter)."""
    values = []
    for run in result.results:
        if run.strategy == name and run.rows:
            row = run.rows[min(epoch, len(run.rows)) - 1]
            values.append(float(row[key]))
    arr = np.asarray(values)
    if arr.size == 0:
        return math.nan, math.nan
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def _best(result: CompareResult, name: str) -> tuple[float, float]:
    """Mean and sample std over seeds of each run's best test accuracy."""
    arr = np.asarray(
        [max(r["test_acc"] for r in run.rows) for run in result.results if run.strategy == name]
    )
    if arr.size == 0:
        return math.nan, math.nan
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def _compare_stats(low: tuple[float, float], high: tuple[float, float]) -> str:
    """``held`` if low+std < high-std, ``failed`` if reversed, else ``inconclusive``."""
    if low[0] + low[1] < high[0] - high[1]:
        return "held"
    if high[0] + high[1] < low[0] - low[1]:
        return "failed"
    return "inconclusive"


def _pm(stat: tuple[float, float]) -> str:
    return f"{100 * stat[0]:.1f} ± {100 * stat[1]:.1f}%"


def judge(result: CompareResult, *, decay_at: int) -> str:
    """The report's verdict section, computed from ``result``'s numbers."""
    end = max(len(r.rows) for r in result.results)
    small, large, decayed = "small-constant", "large-constant", "large-then-decayed"
    fit_small_d = _stats(result, small, "noisy_fit", decay_at)
    fit_large_d = _stats(result, large, "noisy_fit", decay_at)
    fit_small_e = _stats(result, small, "noisy_fit", end)
    fit_large_e = _stats(result, large, "noisy_fit", end)
    fit_decay_e = _stats(result, decayed, "noisy_fit", end)
    acc = {n: _stats(result, n, "test_acc", end) for n in (small, large, decayed)}
    acc_d = {n: _stats(result, n, "test_acc", decay_at) for n in (small, large)}
    claim1_d = _compare_stats(fit_large_d, fit_small_d)
    claim1_e = _compare_stats(fit_large_e, fit_small_e)
    claim2 = [_compare_stats(acc[other], acc[decayed]) for other in (small, large)]
    if claim2 == ["held", "held"]:
        verdict2 = "held"
    elif "failed" in claim2:
        verdict2 = "failed"
    else:
        verdict2 = "inconclusive"

    lines = [
        "## Verdict (from this run's numbers)",
        "",
        "A claim *held* when the mean ± std intervals over seeds do not overlap in the "
        "claimed direction, *failed* when they do not overlap the other way, and is "
        "*inconclusive* otherwise.",
        "",
        "| measure | small-constant | large-constant | large-then-decayed |",
        "|---|---|---|---|",
        f"| noisy fit at epoch {decay_at} (decay point) | {_pm(fit_small_d)} | "
        f"{_pm(fit_large_d)} | {_pm(_stats(result, decayed, 'noisy_fit', decay_at))} |",
        f"| noisy fit at epoch {end} | {_pm(fit_small_e)} | {_pm(fit_large_e)} | "
        f"{_pm(fit_decay_e)} |",
        f"| test acc at epoch {decay_at} | {_pm(acc_d[small])} | {_pm(acc_d[large])} | "
        f"{_pm(_stats(result, decayed, 'test_acc', decay_at))} |",
        f"| test acc at epoch {end} | {_pm(acc[small])} | {_pm(acc[large])} | "
        f"{_pm(acc[decayed])} |",
        "",
        f"1. **A large initial LR memorises less noise: {claim1_d.upper()}** at the decay "
        f"point (epoch {decay_at}: large {_pm(fit_large_d)} vs small {_pm(fit_small_d)} of "
        f"the noisy labels fitted) and **{claim1_e.upper()}** at the end of the budget "
        f"(epoch {end}: large {_pm(fit_large_e)} vs small {_pm(fit_small_e)}).",
        f"2. **Decaying the large LR then lifts clean test accuracy: {verdict2.upper()}**: "
        f"large-then-decayed ends at {_pm(acc[decayed])}, against {_pm(acc[small])} for "
        f"the small constant LR ({claim2[0]}) and {_pm(acc[large])} for the large "
        f"constant LR ({claim2[1]}).",
    ]
    best = {n: _best(result, n) for n in (small, large, decayed)}
    winner = max(best, key=lambda n: best[n][0])
    lines += [
        "",
        "With early stopping (each run's best epoch) the ranking reads: "
        + ", ".join(f"{n} {_pm(best[n])}" for n in sorted(best, key=lambda n: -best[n][0]))
        + f"; {winner} is best"
        + (
            "."
            if winner == decayed
            else ", so the decay's advantage at the end of the budget does not survive "
            "early stopping."
        ),
    ]
    fit_decay_d = _stats(result, decayed, "noisy_fit", decay_at)
    change = _compare_stats(fit_decay_d, fit_decay_e)
    if change == "held":
        lines += [
            "",
            f"After the decay the network fits more of the noisy labels ({_pm(fit_decay_d)} "
            f"at epoch {decay_at} -> {_pm(fit_decay_e)} at epoch {end}): the smaller LR "
            "lets it learn what the large LR kept it from learning, noise included.",
        ]
    return "\n".join(lines)


def _plot(result: CompareResult, *, decay_at: int) -> tuple[str, str]:
    """Two panels: noisy-label fit and clean test accuracy vs epochs."""

    from ._plots import _pyplot, plot_curves

    plt = _pyplot()

    names = [s.name for s in result.strategies]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    plot_curves(result.results, names, y="noisy_fit", ax=left, scale=100.0)
    plot_curves(result.results, names, y="test_acc", ax=right, scale=100.0)
    for ax, label in ((left, "noisy labels fitted (%)"), (right, "clean test accuracy (%)")):
        ax.axvline(decay_at, color="grey", ls="--", lw=1)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    left.set_title("Memorisation of the noisy labels")
    right.set_title("Clean test accuracy")
    fig.tight_layout()
    path = Path(result.out) / "you2019.png"
    try:
        save_figure(fig, path, dpi=110)
    finally:
        plt.close(fig)
    return ("Noisy-label fit and clean test accuracy vs epochs (dashed: the decay)", path.name)


register_reproduction(
    "you2019",
    you2019,
    "You et al. 2019: a large initial LR and label noise on MNIST-1D (about 4 min)",
)
