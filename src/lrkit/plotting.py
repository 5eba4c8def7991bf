"""Plots of lrkit values and results, drawn with matplotlib.

Every function draws on the :class:`~matplotlib.axes.Axes` it is given, or on a
new standalone figure (not registered with pyplot, so nothing is shown and no
figure leaks), and returns the Axes; save it with :func:`save_figure` or
``ax.figure.savefig(path)``. matplotlib is imported only when a function is
called (``pip install lrkit[plot]``).

Contents:

- schedules: :func:`plot_schedule`, :func:`plot_schedules`, :func:`plot_schedule_grid`
- helpers: :func:`save_figure`

Plot functions for other parts of lrkit live next to their code and are
re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._io import atomic_file
from .schedules import Schedule

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .range_test import plot_range_test

__all__ = [
    "plot_range_test",
    "plot_schedule",
    "plot_schedule_grid",
    "plot_schedules",
    "save_figure",
]


def __getattr__(name: str) -> Any:
    """``plot_range_test`` lives in :mod:`lrkit.range_test`; it is re-exported lazily so
    that this module does not import ``range_test``, whose plot imports this module."""
    if name == "plot_range_test":
        from .range_test import plot_range_test

        return plot_range_test
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Above this many steps, schedules are sampled at this many evenly spaced times.
_MAX_POINTS = 4001


def new_axes(ax: Axes | None = None, *, figsize: tuple[float, float] = (6.4, 4.0)) -> Axes:
    """Return ``ax``, or the Axes of a new standalone figure (no pyplot state)."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def schedule_times(total: int | float, num: int | None = None) -> np.ndarray:
    """Times at which a schedule over ``[0, total]`` is drawn.

    Every integer step when there are at most ``num`` of them (default 4001),
    else ``num`` evenly spaced times.

    Raises:
        TypeError: ``total`` is not a number.
        ValueError: ``total`` is not > 0 or ``num`` < 2.
    """
    if isinstance(total, bool) or not isinstance(total, (int, float, np.integer, np.floating)):
        raise TypeError(f"total must be a number of steps, got {total!r}")
    if not (np.isfinite(total) and total > 0):
        raise ValueError(f"total must be a finite number > 0, got {total!r}")
    num = _MAX_POINTS if num is None else num
    if num < 2:
        raise ValueError(f"num must be >= 2, got {num!r}")
    if float(total).is_integer() and total + 1 <= num:
        return np.arange(int(total) + 1, dtype=np.float64)
    return np.linspace(0.0, float(total), num)


def plot_schedule(
    schedule: Schedule,
    total: int | float,
    ax: Axes | None = None,
    *,
    label: str | None = None,
    log: bool = False,
    num: int | None = None,
    xlabel: str = "step",
    **line_kwargs: Any,
) -> Axes:
    """Draw ``schedule(t)`` for ``0 <= t <= total``.

    Args:
        schedule: the schedule to draw.
        total: the last time drawn (steps or epochs, the schedule's clock).
        ax: the Axes to draw on; a new figure when ``None``.
        label: legend label; a legend is drawn when given.
        log: use a logarithmic y axis.
        num: the most points drawn (default 4001; every step when fewer).
        xlabel: the x-axis label, e.g. ``"epoch"``.
        **line_kwargs: passed to :meth:`~matplotlib.axes.Axes.plot`.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: ``schedule`` is not a Schedule or ``total`` is not a number.
        ValueError: ``total`` is not > 0.

    Example:
        >>> from lrkit.schedules import Constant
        >>> ax = plot_schedule(Constant(lr=0.1), 100, label="constant")
        >>> ax.get_lines()[0].get_ydata()[-1]
        np.float64(0.1)
    """
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule, got {schedule!r}")
    t = schedule_times(total, num)
    ax = new_axes(ax)
    ax.plot(t, schedule(t), label=label, **line_kwargs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("learning rate")
    if log:
        ax.set_yscale("log")
    ax.set_xlim(0.0, float(t[-1]))
    if label is not None:
        ax.legend(fontsize="small")
    return ax


def plot_schedules(
    schedules: Mapping[str, Schedule] | Sequence[Schedule],
    total: int | float,
    ax: Axes | None = None,
    *,
    log: bool = False,
    num: int | None = None,
    xlabel: str = "step",
) -> Axes:
    """Draw several schedules on one Axes, with a legend.

    Args:
        schedules: ``{label: schedule}``, or a sequence labelled by each
            schedule's spec (``schedule.to_spec()``).
        total, ax, log, num, xlabel: as in :func:`plot_schedule`.

    Returns:
        The Axes drawn on.

    Raises:
        TypeError: an item is not a Schedule.
        ValueError: no schedules, or ``total`` is not > 0.

    Example:
        >>> from lrkit.schedules import Constant
        >>> ax = plot_schedules({"a": Constant(lr=0.1), "b": Constant(lr=0.2)}, 10)
        >>> [line.get_label() for line in ax.get_lines()]
        ['a', 'b']
    """
    items = _labelled(schedules)
    ax = new_axes(ax)
    for label, schedule in items:
        plot_schedule(schedule, total, ax, label=label, log=log, num=num, xlabel=xlabel)
    return ax


def plot_schedule_grid(
    schedules: Mapping[str, Schedule] | Sequence[Schedule],
    total: int | float,
    *,
    ncols: int = 4,
    log: bool = False,
    num: int | None = None,
    xlabel: str = "step",
) -> list[Axes]:
    """Draw each schedule in its own panel of a new figure, side by side, titled by its label.

    The panels share their y axis (from 0 unless ``log``), so heights compare.

    Args:
        schedules: ``{label: schedule}``, or a sequence labelled by the specs.
        total, log, num, xlabel: as in :func:`plot_schedule`.
        ncols: panels per row (default 4).

    Returns:
        The Axes, one per schedule, in order (``axes[0].figure`` is the figure).

    Raises:
        TypeError: an item is not a Schedule.
        ValueError: no schedules, ``ncols`` < 1, or ``total`` is not > 0.

    Example:
        >>> from lrkit.schedules import Constant
        >>> axes = plot_schedule_grid({"a": Constant(lr=0.1), "b": Constant(lr=0.2)}, 10)
        >>> [ax.get_title() for ax in axes]
        ['a', 'b']
    """
    items = _labelled(schedules)
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be an int >= 1, got {ncols!r}")
    from matplotlib.figure import Figure

    ncols = min(ncols, len(items))
    nrows = -(-len(items) // ncols)
    fig = Figure(figsize=(3.6 * ncols, 2.6 * nrows), layout="constrained")
    axes: list[Axes] = []
    for i, (label, schedule) in enumerate(items):
        ax = fig.add_subplot(nrows, ncols, i + 1, sharey=axes[0] if axes else None)
        plot_schedule(schedule, total, ax, log=log, num=num, xlabel=xlabel)
        ax.set_title(label, fontsize="medium")
        if i % ncols:
            ax.set_ylabel("")
        axes.append(ax)
    if not log:
        axes[0].set_ylim(bottom=0.0)
    return axes


def save_figure(figure: Figure, path: str | os.PathLike[str], *, dpi: float = 120) -> Path:
    """Save ``figure`` to ``path`` atomically (the format follows the suffix).

    The file is written next to ``path`` under a temporary name and renamed, so an
    interrupted save never leaves a half-written image.

    Raises:
        ValueError: ``path`` has no suffix naming an image format.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if not fmt:
        raise ValueError(f"path needs a suffix naming the image format (e.g. .png), got {path}")
    with atomic_file(path, "wb") as fh:
        figure.savefig(fh, format=fmt, dpi=dpi)
    return path


def _labelled(
    schedules: Mapping[str, Schedule] | Sequence[Schedule],
) -> list[tuple[str, Schedule]]:
    if isinstance(schedules, Mapping):
        items = [(str(k), v) for k, v in schedules.items()]
    elif isinstance(schedules, Schedule) or not isinstance(schedules, Sequence):
        raise TypeError(
            f"schedules must be a mapping or a sequence of Schedules, got {schedules!r}"
        )
    else:
        items = [(_short(s), s) for s in schedules]
    if not items:
        raise ValueError("schedules is empty; give at least one schedule")
    return items


def _short(schedule: Schedule, width: int = 60) -> str:
    spec = schedule.to_spec()
    return spec if len(spec) <= width else spec[: width - 3] + "..."
