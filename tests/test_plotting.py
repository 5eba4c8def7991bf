"""lrkit.plotting draws schedules on Axes without pyplot state and saves atomically."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from lrkit.plotting import plot_schedule, plot_schedule_grid, plot_schedules, save_figure
from lrkit.schedules import Constant


def test_plot_schedule_draws_every_step_of_a_short_range():
    ax = plot_schedule(Constant(lr=0.1), 100, label="c")
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(101.0))
    np.testing.assert_array_equal(line.get_ydata(), np.full(101, 0.1))
    assert ax.get_legend() is not None
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"


def test_long_ranges_are_sampled_and_reach_the_end():
    ax = plot_schedule(Constant(lr=0.1), 1_000_000, num=500, log=True)
    x = ax.get_lines()[0].get_xdata()
    assert len(x) == 500 and x[0] == 0 and x[-1] == 1_000_000
    assert ax.get_yscale() == "log"


def test_draws_on_a_given_axes_and_returns_it():
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    assert plot_schedule(Constant(lr=0.1), 10, ax) is ax
    assert plot_schedules([Constant(lr=0.1), Constant(lr=0.2)], 10, ax) is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[1:] == ["constant(lr=0.1)", "constant(lr=0.2)"]


def test_bad_arguments():
    with pytest.raises(TypeError, match="schedule must be a Schedule"):
        plot_schedule(0.1, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="total must be a finite number > 0, got 0"):
        plot_schedule(Constant(lr=0.1), 0)
    with pytest.raises(ValueError, match="schedules is empty"):
        plot_schedules({}, 10)
    with pytest.raises(TypeError, match="schedules must be a mapping or a sequence"):
        plot_schedules(Constant(lr=0.1), 10)  # type: ignore[arg-type]


def test_save_figure_writes_the_file_and_no_leftovers(tmp_path):
    ax = plot_schedules({"a": Constant(lr=0.1)}, 10)
    path = save_figure(ax.figure, tmp_path / "sub" / "plot.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["plot.png"]
    with pytest.raises(ValueError, match="suffix"):
        save_figure(ax.figure, tmp_path / "plot")
    with pytest.raises(ValueError):
        save_figure(ax.figure, tmp_path / "plot.nosuchformat")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


def test_plotting_opens_no_pyplot_figures():
    plt = pytest.importorskip("matplotlib.pyplot")
    before = plt.get_fignums()
    for _ in range(30):  # pyplot would warn (an error here) past 20 open figures
        plot_schedule(Constant(lr=0.1), 10)
    assert plt.get_fignums() == before


def test_grid_draws_one_titled_panel_per_schedule_on_a_shared_axis():
    schedules = {f"c{i}": Constant(lr=0.1 * (i + 1)) for i in range(5)}
    axes = plot_schedule_grid(schedules, 20, ncols=2)
    assert [ax.get_title() for ax in axes] == list(schedules)
    assert len(axes[0].figure.axes) == 5
    assert axes[0].get_ylim()[0] == 0.0 and axes[4].get_ylim() == axes[0].get_ylim()
    assert axes[0].get_ylim()[1] >= 0.5
    with pytest.raises(ValueError, match="ncols must be an int >= 1, got 0"):
        plot_schedule_grid(schedules, 20, ncols=0)
