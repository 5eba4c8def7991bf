"""Plots of a comparison: accuracy and loss curves (mean ± std over seeds), schedules.

matplotlib is imported inside the functions, with the Agg backend; nothing is
shown, every figure is saved and closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._metrics import Metric
from ._stats import t_quantile_975
from ._strategies import Strategy
from ._trainer import RunResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_curves", "plot_strategy_schedules", "write_plots"]


class _Figures:
    """The pyplot calls the lab makes, on standalone Figures.

    No pyplot state and no ``matplotlib.use``: a caller's backend (a notebook's, say)
    is never switched, and the figures need no closing (nothing registers them).
    """

    @staticmethod
    def subplots(nrows: int = 1, ncols: int = 1, *, figsize: Any = None, **kwargs: Any) -> Any:
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        return fig, fig.subplots(nrows, ncols, **kwargs)

    @staticmethod
    def close(fig: Any) -> None:
        """Nothing to do: the figure is not registered with pyplot."""

    @staticmethod
    def get_cmap(name: str) -> Any:
        from matplotlib import colormaps

        return colormaps[name]


def _pyplot() -> Any:
    return _Figures


def _colors(n: int) -> list[Any]:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def _curve(runs: Sequence[RunResult], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Epochs, mean and std over seeds of ``key`` (shorter, diverged runs drop out)."""
    length = max(len(r.rows) for r in runs)
    epochs = np.arange(1, length + 1)
    mean = np.full(length, np.nan)
    std = np.full(length, np.nan)
    for i in range(length):
        vals = [float(r.rows[i][key]) for r in runs if i < len(r.rows)]
        vals = [v for v in vals if np.isfinite(v)]
        if vals:
            mean[i] = np.mean(vals)
            std[i] = np.std(vals)
    return epochs, mean, std


def plot_curves(
    results: Sequence[RunResult],
    names: Sequence[str],
    *,
    y: str,
    x: str = "epoch",
    ax: Axes | None = None,
    scale: float = 1.0,
) -> Axes:
    """Draw ``y`` (mean over seeds) against ``x`` for each strategy, with a 95% band.

    The shaded band is the 95% t-interval of the mean over seeds at each epoch
    (``mean ± t(0.975, n-1) std / sqrt(n)``; no band with one seed). ``x`` is
    ``"epoch"``, or a cumulative column (``"updates"``, ``"samples"``, ``"wall_s"``)
    averaged over seeds per epoch.
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    for name, color in zip(names, _colors(len(names)), strict=True):
        runs = [r for r in results if r.strategy == name and r.rows]
        if not runs:
            continue
        epochs, mean, std = _curve(runs, y)
        xs = epochs.astype(float) if x == "epoch" else _curve(runs, x)[1]
        ax.plot(xs, scale * mean, label=name, color=color, lw=1.5)
        if len(runs) > 1:
            half = t_quantile_975(len(runs) - 1) * std / np.sqrt(len(runs))
            ax.fill_between(
                xs, scale * (mean - half), scale * (mean + half), color=color, alpha=0.15
            )
    ax.grid(True, alpha=0.3)
    return ax


def plot_strategy_schedules(
    strategies: Sequence[Strategy], results: Sequence[RunResult], *, epochs: int
) -> Any:
    """A figure with each strategy's LR and batch size against epochs.

    A reactive strategy's LR is the one its first run recorded (dashed), not a plan.
    """
    plt = _pyplot()
    fig, (ax_lr, ax_bs) = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True)
    grid = np.linspace(0.0, float(epochs), 600, endpoint=False)  # training ends just before E
    for strategy, color in zip(strategies, _colors(len(strategies)), strict=True):
        runs = [r for r in results if r.strategy == strategy.name and r.rows]
        if strategy.controller is not None:  # reactive: the LR its first run decided
            if runs:
                rows = runs[0].rows
                xs = [0, *[r["epoch"] for r in rows]]
                ys = [rows[0]["lr"], *[r["lr"] for r in rows]]
                label = f"{strategy.name} (seed {runs[0].seed}, as decided)"
                ax_lr.step(xs, ys, where="pre", label=label, color=color, lw=1.5, ls="--")
        elif strategy.clock == "epoch":
            ax_lr.plot(grid, strategy.lr(grid), label=strategy.name, color=color, lw=1.5)
        elif runs:
            rows = runs[0].rows
            updates = np.interp(
                grid, [0, *[r["epoch"] for r in rows]], [0, *[r["updates"] for r in rows]]
            )
            ax_lr.plot(grid, strategy.lr(updates), label=strategy.name, color=color, lw=1.5)
        if runs:
            rows = runs[0].rows
            xs = [0, *[r["epoch"] for r in rows]]
            ys = [rows[0]["batch_size"], *[r["batch_size"] for r in rows]]
            ax_bs.step(xs, ys, where="pre", label=strategy.name, color=color, lw=1.5)
    ax_lr.set_yscale("log")
    ax_lr.set_ylabel("learning rate")
    ax_lr.grid(True, which="both", alpha=0.3)
    ax_lr.legend(fontsize=7, ncol=2)
    ax_bs.set_ylabel("batch size")
    ax_bs.set_xlabel("epoch")
    ax_bs.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def _save(fig: Any, path: Path) -> None:
    from ..plotting import save_figure

    try:
        save_figure(fig, path, dpi=110)
    finally:
        _pyplot().close(fig)


def write_plots(
    out: Path,
    results: Sequence[RunResult],
    strategies: Sequence[Strategy],
    *,
    epochs: int,
    metric: Metric | None = None,
) -> list[tuple[str, str]]:
    """Write the comparison's PNGs into ``out``; return ``(caption, file name)`` pairs.

    Test accuracy (or the task's metric) vs epochs, vs optimizer updates and vs
    training time; train loss vs epochs; LR and batch size vs epochs; with label
    noise, noisy-label fit vs epochs. Bands are 95% t-intervals over seeds, and the
    captions say so.
    """
    plt = _pyplot()
    out = Path(out)
    names = [s.name for s in strategies]
    made: list[tuple[str, str]] = []
    band = " (mean over seeds; shaded: 95% t-interval of the mean)"
    if metric is not None and metric.name != "accuracy":
        specs = [
            (f"test_{metric.name}_vs_{x}.png", f"Test {metric.name} vs {label}", "test_metric",
             x, label, 1.0)
            for x, label in (("epoch", "epochs"), ("updates", "optimizer updates"),
                             ("wall_s", "training time (s)"))
        ]  # fmt: skip
        specs.append(
            (
                "train_loss_vs_epoch.png",
                "Training loss vs epochs",
                "train_loss",
                "epoch",
                "epoch",
                1.0,
            )
        )
    else:
        specs = [
            (
                "test_acc_vs_epoch.png",
                "Test accuracy vs epochs",
                "test_acc",
                "epoch",
                "epoch",
                100.0,
            ),
            (
                "test_acc_vs_updates.png",
                "Test accuracy vs optimizer updates",
                "test_acc",
                "updates",
                "optimizer updates",
                100.0,
            ),
            (
                "test_acc_vs_wall.png",
                "Test accuracy vs training time",
                "test_acc",
                "wall_s",
                "training time (s)",
                100.0,
            ),
            (
                "train_loss_vs_epoch.png",
                "Training loss vs epochs",
                "train_loss",
                "epoch",
                "epoch",
                1.0,
            ),
        ]
        if any("noisy_fit" in r.rows[0] for r in results if r.rows):
            specs.append(
                (
                    "noisy_fit_vs_epoch.png",
                    "Fit of the noisy labels vs epochs",
                    "noisy_fit",
                    "epoch",
                    "epoch",
                    100.0,
                )
            )
    for file, caption, y, x, xlabel, scale in specs:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        plot_curves(results, names, y=y, x=x, ax=ax, scale=scale)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(
            {
                "test_acc": "test accuracy (%)",
                "test_metric": f"test {metric.name}" if metric is not None else "",
                "train_loss": "training loss",
                "noisy_fit": "noisy labels fitted (%)",
            }[y]
        )
        log_metric = metric is not None and metric.name in ("loss", "perplexity")
        if y == "train_loss" or (y == "test_metric" and log_metric):
            ax.set_yscale("log")
        if y == "test_acc":
            finals = [100 * r.final["test_acc"] for r in results if r.rows]
            if finals:
                ax.set_ylim(max(0.0, min(finals) - 15), min(100.0, max(finals) + 3))
        ax.set_title(caption)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        _save(fig, out / file)
        made.append((caption + band, file))
    fig = plot_strategy_schedules(strategies, results, epochs=epochs)
    _save(fig, out / "schedules.png")
    made.append(("Learning rate and batch size vs epochs", "schedules.png"))
    return made
