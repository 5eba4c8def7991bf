"""Plot a range test: loss over LR, the fit, the suggestion and the interval."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._result import RangeTestResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_range_test"]


def plot_range_test(
    result: RangeTestResult, ax: Axes | None = None, *, methods: tuple[str, ...] = ()
) -> Axes:
    """Draw the raw and smoothed loss against the LR (log axis), marking the suggestion.

    The raw losses are faint dots, lrkit's centred fit a line; the interval is a shaded
    band, the suggestion a vertical line, and the point where the sweep stopped a cross.
    ``methods`` (e.g. ``("steepest", "valley")``) adds the peers' suggestions as
    dotted lines. An unreliable result says why in the title.

    Args:
        result: a :class:`~lrkit.range_test.RangeTestResult`.
        ax: the Axes to draw on (default: a new standalone figure, nothing shown).
        methods: other suggestion methods to mark.

    Returns:
        The Axes.

    Example:
        >>> import numpy as np
        >>> from lrkit.range_test import analyze
        >>> lrs = np.logspace(-6, 1, 71)
        >>> x = np.log10(lrs)
        >>> r = analyze(lrs, 2.3 - 2 / (1 + np.exp(-3 * (x + 3))) + np.exp(4 * (x + 0.5)))
        >>> ax = plot_range_test(r, methods=("valley",))
        >>> ax.get_xscale()
        'log'
    """
    if not isinstance(result, RangeTestResult):
        raise TypeError(f"result must be a RangeTestResult, got {result!r}")
    from ..plotting import new_axes

    ax = new_axes(ax)
    lrs, losses = result.lrs, result.losses
    finite = np.isfinite(losses)
    ax.plot(lrs[finite], losses[finite], ".", color="0.6", ms=4, label="loss (raw)")
    fitted = np.isfinite(result.smoothed)
    if fitted.any():
        ax.plot(lrs[fitted], result.smoothed[fitted], "-", color="C0", lw=2, label="lrkit fit")
    if result.interval is not None:
        ax.axvspan(*result.interval, color="C2", alpha=0.15, label="interval")
    if result.suggestion is not None:
        ax.axvline(result.suggestion, color="C2", lw=2, label=f"suggestion {result.suggestion:.2g}")
    for i, method in enumerate(methods):
        try:
            lr = result.suggest(method)
        except ValueError:
            continue
        ax.axvline(lr, color=f"C{4 + i}", ls=":", lw=1.5, label=f"{method} {lr:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    top = 1.0
    if finite.any():
        low, high = np.nanmin(losses[finite]), np.nanmax(losses[finite])
        cap = low + 1.5 * (np.nanmax(result.smoothed) - low) if fitted.any() else high
        top = max(cap, low + 1e-12)
        ax.set_ylim(low - 0.05 * (top - low), top)
    if result.stopped_early and len(lrs):
        # where the sweep stopped (a diverged or NaN loss is drawn at the top edge)
        last = losses[-1]
        y_stop = min(last, top) if np.isfinite(last) else top
        ax.plot([lrs[-1]], [y_stop], "x", color="C3", ms=8, clip_on=False, label="stopped")
    title: Any = "LR range test"
    if not result.reliable:
        title = f"LR range test: no reliable suggestion\n{result.reason}"
    ax.set_title(title, fontsize=9 if not result.reliable else None)
    ax.legend(fontsize=8, loc="best")
    return ax
