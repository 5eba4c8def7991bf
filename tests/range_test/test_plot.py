"""plot_range_test: what it draws, and that it draws nothing for a bad input."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from lrkit.range_test import analyze, plot_range_test

LRS = np.logspace(-7, 1, 100)
X = np.log10(LRS)


def _curve() -> np.ndarray:
    return 2.3 - 2.0 / (1 + np.exp(-(X + 3.0) / 0.35)) + 0.3 * np.exp((X + 1.0) / 0.15)


def test_draws_raw_fit_suggestion_and_interval_on_a_log_axis() -> None:
    result = analyze(LRS, _curve())
    ax = plot_range_test(result, methods=("steepest", "valley"))
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "loss (raw)" in labels and "lrkit fit" in labels and "interval" in labels
    assert any(label.startswith("suggestion") for label in labels)
    assert any(label.startswith("steepest") for label in labels)
    # the suggestion line sits at the suggestion
    lines = [line for line in ax.get_lines() if line.get_label().startswith("suggestion")]
    assert lines[0].get_xdata()[0] == pytest.approx(result.suggestion)


def test_unreliable_result_says_so_and_uses_the_given_axes() -> None:
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    result = analyze(LRS, np.full(100, 2.3))
    assert plot_range_test(result, ax) is ax
    assert "no reliable suggestion" in ax.get_title()


def test_is_reexported_from_lrkit_plotting_and_refuses_other_values() -> None:
    from lrkit import plotting

    assert plotting.plot_range_test is plot_range_test
    with pytest.raises(TypeError, match="RangeTestResult"):
        plot_range_test({"lrs": []})  # type: ignore[arg-type]
