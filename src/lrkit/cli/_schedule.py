"""``lrkit schedule``: evaluate, tabulate, plot and export learning-rate schedules."""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._io import write_text
from ..schedules import Schedule, parse
from ._common import CLIError, positive_int, preflight

__all__ = ["register", "run", "split_label", "summary_table"]

_DESCRIPTION = """\
Evaluate one or more learning-rate schedules over --steps steps (t = 0 .. N),
print their values at the start, the quarters and the end with their min and
max, and optionally plot them side by side and write every step to a CSV.

A SPEC is a schedule written as a call, e.g. "cosine(lr=0.1, total_steps=1000)";
combinators nest: "warmup(cosine(lr=0.1, total_steps=900), warmup_steps=100)".
Prefix a label to name it in the table, CSV and plot: "warm-cos=warmup(...)".
Quote each spec for the shell. Known names are listed when a name is wrong.
"""

_EPILOG = """\
examples:
  lrkit schedule "cosine(lr=0.1, total_steps=1000)" --steps 1000
  lrkit schedule "step(lr=0.1, step_size=300)" "one_cycle(max_lr=0.1, total_steps=1000)" \\
      --steps 1000 --plot schedules.png --csv schedules.csv
  lrkit schedule "exponential(lr=0.1, decay_rate=0.99)" --steps 500 --plot exp.png --log
  lrkit schedule "constant=constant(lr=0.1)" "cyclic=cyclic(base_lr=0.01, max_lr=0.1, \
      step_size=100)" --steps 1000 --grid --plot panels.png
"""


def register(subparsers: Any) -> None:
    """Add the ``schedule`` subcommand."""
    parser = subparsers.add_parser(
        "schedule",
        help="tabulate, plot and export learning-rate schedules",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "specs", nargs="+", metavar="SPEC", help="a schedule spec, optionally LABEL=SPEC (quote it)"
    )
    parser.add_argument(
        "--steps",
        type=positive_int,
        required=True,
        metavar="N",
        help="evaluate at t = 0, 1, ..., N",
    )
    parser.add_argument("--plot", metavar="PATH", help="write a plot (.png, .pdf, .svg)")
    parser.add_argument("--csv", metavar="PATH", help="write every step: step, one column a spec")
    parser.add_argument("--log", action="store_true", help="logarithmic y axis in the plot")
    parser.add_argument(
        "--grid", action="store_true", help="plot one panel per schedule instead of one chart"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``lrkit schedule`` with parsed arguments; returns the exit status."""
    preflight(
        "schedule",
        modules=("matplotlib",) if args.plot else (),
        outputs={"--plot": args.plot, "--csv": args.csv},
    )
    labelled = [split_label(text) for text in args.specs]
    labels = [label for label, _ in labelled]
    if len(set(labels)) != len(labels):
        raise ValueError(f"each schedule needs its own label; got {labels}")
    schedules = [parse(spec) for _, spec in labelled]
    if args.plot:
        _check_image_suffix(Path(args.plot))
    steps = np.arange(args.steps + 1, dtype=np.float64)
    values = [np.asarray(s(steps)) for s in schedules]
    shown = [spec if label == spec else f"{label}: {spec}" for label, spec in labelled]
    print(summary_table(shown, values))
    if args.csv:
        path = _write_csv(Path(args.csv), labels, values)
        print(f"wrote {path}")
    if args.plot:
        path = _write_plot(Path(args.plot), dict(zip(labels, schedules, strict=True)), args)
        print(f"wrote {path}")
    return 0


def summary_table(labels: Sequence[str], values: Sequence[np.ndarray]) -> str:
    """Specs numbered ``#1, #2, ...``, then one row per time (start, quarters, end), min, max.

    ``values[i][t]`` is schedule ``i`` at step ``t`` for ``t = 0 .. N``.
    """
    n = len(values[0]) - 1
    lines = [f"#{i + 1}  {label}" for i, label in enumerate(labels)]
    rows: list[tuple[str, list[float]]] = []
    for k, name in enumerate(("start", "1/4", "1/2", "3/4", "end")):
        t = n * k // 4
        rows.append((f"{name} (t={t})", [float(v[t]) for v in values]))
    rows.append(("min", [float(v.min()) for v in values]))
    rows.append(("max", [float(v.max()) for v in values]))
    head_w = max(len(r[0]) for r in rows)
    cells = [[f"{x:.6g}" for x in r[1]] for r in rows]
    col_w = max(12, *(len(c) for row in cells for c in row))
    header = " " * head_w + "".join(f"  {'#' + str(i + 1):>{col_w}}" for i in range(len(labels)))
    lines += ["", header]
    for (name, _), row in zip(rows, cells, strict=True):
        lines.append(f"{name:<{head_w}}" + "".join(f"  {c:>{col_w}}" for c in row))
    return "\n".join(lines)


def split_label(text: str) -> tuple[str, str]:
    """``"name=spec"`` -> ``("name", "spec")``; a bare spec is its own label."""
    head, sep, tail = text.partition("=")
    if sep and "(" not in head and head.strip() and tail.strip():
        return head.strip(), tail.strip()
    return text.strip(), text.strip()


def _write_csv(path: Path, labels: Sequence[str], values: Sequence[np.ndarray]) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["step", *labels])
    for t, row in enumerate(zip(*values, strict=True)):
        writer.writerow([t, *(repr(float(x)) for x in row)])
    return write_text(path, buf.getvalue())


def _write_plot(path: Path, schedules: dict[str, Schedule], args: argparse.Namespace) -> Path:
    from ..plotting import plot_schedule_grid, plot_schedules, save_figure

    if args.grid:
        ax = plot_schedule_grid(schedules, args.steps, log=args.log)[0]
    else:
        ax = plot_schedules(schedules, args.steps, log=args.log)
        ax.set_title("learning-rate schedules" if len(schedules) > 1 else "learning-rate schedule")
    return save_figure(ax.get_figure(), path)  # type: ignore[arg-type]


def _check_image_suffix(path: Path) -> None:
    """Refuse a plot path matplotlib cannot write, before any work is done."""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lstrip(".").lower() not in formats:
        raise CLIError(
            f"--plot {path}: the suffix must name an image format, one of {', '.join(formats)}"
        )
