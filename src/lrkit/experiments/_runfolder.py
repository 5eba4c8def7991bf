"""The run folder that ``lrkit compare`` and the reproductions write.

Layout (every file is written to a temporary name and renamed, so an interrupted
run never leaves a half-written file)::

    DIR/config.json      everything needed to rerun: task, strategies, epochs, seeds,
                         versions, the command line
    DIR/metrics.csv      strategy,seed,epoch,updates,samples,lr,batch_size,decision,train_loss,
                         test_loss,test_acc,wall_s[,noisy_fit]; finished runs only
    DIR/summary.json     {"task": ..., "strategies": {NAME: {"final_test_acc": ..., ...}}}
    DIR/*.png            the plots
    DIR/report.md        ranked table (mean ± std over seeds), plots, the command
    DIR/checkpoints/     one file per (strategy, seed) for --resume

Accuracies are fractions in [0, 1] in the CSV and JSON files, percent in the report.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._io import write_text as _write_text
from ._metrics import METRICS, Metric
from ._stats import intervals_overlap, mean_ci, paired_difference
from ._trainer import METRIC_COLUMNS, RunResult

__all__ = [
    "CSV_COLUMNS",
    "SUMMARY_KEYS",
    "format_table",
    "prepare_run_folder",
    "ranked",
    "read_metrics",
    "summarize",
    "versions",
    "write_json",
    "write_metrics",
    "write_report",
    "write_text",
]

CSV_COLUMNS = ("strategy", "seed", *METRIC_COLUMNS)
SUMMARY_KEYS = (
    "final_test_metric",
    "final_test_metric_std",
    "final_test_metric_ci95",
    "final_val_metric",
    "final_test_acc",
    "final_test_acc_std",
    "best_test_acc",
    "updates",
    "samples",
    "wall_s",
    "seeds",
    "diverged",
    "diff_to_leader",
    "diff_to_leader_ci95",
    "tied_with_leader",
)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file, then rename)."""
    return _write_text(path, text)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically; NaN/inf become ``null``."""
    return write_text(path, json.dumps(_json_safe(data), indent=2) + "\n")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, ``platform.processor()`` else)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def versions() -> dict[str, str]:
    """Versions of Python, lrkit, numpy and torch, the platform and the CPU model.

    The torch thread count is not here: it changes while a run trains, and
    config.json records the number training used (``torch_threads``).
    """
    import numpy

    from .. import __version__

    out = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "lrkit": __version__,
        "numpy": numpy.__version__,
    }
    import torch

    out["torch"] = torch.__version__
    return out


def prepare_run_folder(
    out: Path, *, resume: bool, overwrite: bool, plan: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Check ``out`` before a run; return the stored config when resuming, else ``None``.

    A missing or empty folder is fine. An existing one is refused unless
    ``resume`` (its ``config.json`` must describe the same ``plan``) or
    ``overwrite`` (it must be an lrkit run folder, i.e. hold a ``config.json``
    with a ``plan``; it is then deleted).

    Raises:
        FileExistsError: ``out`` exists and neither flag allows it.
        ValueError: both flags, or resuming a folder made with another plan.
    """
    out = Path(out)
    if resume and overwrite:
        raise ValueError("use either --resume or --overwrite, not both")
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    if not out.exists() or not any(out.iterdir()):
        return None
    config_file = out / "config.json"
    stored = _run_config(config_file)
    if overwrite:
        if stored is None:
            raise FileExistsError(
                f"refusing to replace {out}: it is not an lrkit run folder "
                "(no config.json with a plan)"
            )
        shutil.rmtree(out)
        return None
    if not resume:
        raise FileExistsError(
            f"{out} already exists; use --resume to continue it or --overwrite to replace it"
        )
    if stored is None:
        raise ValueError(
            f"cannot resume {out}: not an lrkit run folder (no config.json with a plan)"
        )
    if _json_safe(stored.get("plan")) != _json_safe(dict(plan)):
        old, new = stored.get("plan", {}), _json_safe(dict(plan))
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        raise ValueError(
            f"cannot resume {out}: it was made with other settings ({', '.join(diff)}); "
            "use --overwrite or another --out"
        )
    return stored


def _run_config(path: Path) -> dict[str, Any] | None:
    """The config.json of an lrkit run folder, or ``None`` (missing, unreadable, foreign)."""
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or not isinstance(stored.get("plan"), dict):
        return None
    return stored


def _fmt(value: Any) -> str:
    if value is None:
        return ""  # not measured (no validation set, no classes)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "nan"
    return str(value)


def write_metrics(out: Path, results: Iterable[RunResult], *, noisy: bool) -> Path:
    """Write ``metrics.csv`` (one row per strategy, seed and epoch) atomically."""
    columns = [*CSV_COLUMNS, *(["noisy_fit"] if noisy else [])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for result in results:
        for row in result.rows:
            full = {"strategy": result.strategy, "seed": result.seed, **row}
            writer.writerow([_fmt(full[c]) for c in columns])
    return write_text(Path(out) / "metrics.csv", buffer.getvalue())


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Read a ``metrics.csv`` back: ints and floats converted."""
    ints = {"seed", "epoch", "updates", "samples", "batch_size"}
    rows = []
    with open(path, newline="") as fh:
        for raw in csv.DictReader(fh):
            rows.append(
                {
                    k: (
                        v
                        if k in ("strategy", "decision")
                        else None
                        if v == ""
                        else int(v)
                        if k in ints
                        else float(v)
                    )
                    for k, v in raw.items()
                }
            )
    return rows


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return math.nan, math.nan
    std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    return float(arr.mean()), std


def summarize(
    task: str,
    results: Sequence[RunResult],
    order: Sequence[str] | None = None,
    metric: Metric | None = None,
) -> dict[str, Any]:
    """The ``summary.json`` content: per strategy, statistics over seeds of the final row.

    ``"metric"`` names the task's metric and its direction. Per strategy:
    ``final_test_metric`` (mean over seeds of the last epoch's test metric; a
    diverged run counts with its last row), ``final_test_metric_std`` (sample std),
    ``final_test_metric_ci95`` (95% t-interval of the mean), ``final_val_metric``
    (mean, ``None`` without a validation set); ``tied_with_leader`` (its interval
    overlaps the leader's), ``diff_to_leader`` and ``diff_to_leader_ci95`` (paired
    by seed); for classification ``final_test_acc``, ``final_test_acc_std`` and
    ``best_test_acc`` (mean of each run's best epoch); ``updates``, ``samples``,
    ``wall_s`` (means of the final values), ``seeds`` and ``diverged`` (runs that
    diverged). With label noise, ``final_noisy_fit`` (and its ``_std``).
    """
    metric = METRICS["accuracy"] if metric is None else metric
    names = list(order) if order is not None else []
    for result in results:
        if result.strategy not in names:
            names.append(result.strategy)
    finals: dict[str, dict[int, float]] = {}
    strategies: dict[str, Any] = {}
    for name in names:
        runs = [r for r in results if r.strategy == name and r.rows]
        if not runs:
            continue
        per_seed = {r.seed: float(_final_metric(r.final)) for r in runs}
        finals[name] = per_seed
        mean, std, ci = mean_ci(list(per_seed.values()))
        val = [r.final.get("val_metric") for r in runs]
        entry: dict[str, Any] = {
            "final_test_metric": mean,
            "final_test_metric_std": std,
            "final_test_metric_ci95": list(ci),
            "final_val_metric": None if None in val else float(np.mean(np.asarray(val, float))),
        }
        accs = [r.final.get("test_acc") for r in runs]
        if None not in accs:
            acc_mean, acc_std = _mean_std([float(a) for a in accs if a is not None])
            entry["final_test_acc"] = acc_mean
            entry["final_test_acc_std"] = acc_std
            entry["best_test_acc"] = _mean_std(
                [max(row["test_acc"] for row in r.rows) for r in runs]
            )[0]
        entry.update(
            {
                "updates": _mean_std([r.final["updates"] for r in runs])[0],
                "samples": _mean_std([r.final["samples"] for r in runs])[0],
                "wall_s": _mean_std([r.final["wall_s"] for r in runs])[0],
                "seeds": len(runs),
                "diverged": sum(r.diverged_epoch is not None for r in runs),
            }
        )
        if all("noisy_fit" in r.final for r in runs):
            fit, fit_std = _mean_std([r.final["noisy_fit"] for r in runs])
            entry["final_noisy_fit"] = fit
            entry["final_noisy_fit_std"] = fit_std
        strategies[name] = entry
    summary = {
        "task": task,
        "metric": {"name": metric.name, "higher_is_better": metric.higher_is_better},
        "strategies": strategies,
    }
    order_ = ranked(summary)
    if order_:
        leader, lead = order_[0]
        for name, entry in strategies.items():
            diff, diff_ci, _ = paired_difference(finals[name], finals[leader])
            entry["diff_to_leader"] = 0.0 if name == leader else diff
            entry["diff_to_leader_ci95"] = [0.0, 0.0] if name == leader else list(diff_ci)
            entry["tied_with_leader"] = name != leader and intervals_overlap(
                tuple(entry["final_test_metric_ci95"]), tuple(lead["final_test_metric_ci95"])
            )
    return summary


def _final_metric(row: Mapping[str, Any]) -> float:
    value = row.get("test_metric")
    return float(row["test_acc"] if value is None else value)


def _metric_of(summary: Mapping[str, Any]) -> tuple[str, bool, str]:
    """(name, higher is better, the summary key ranked by); old summaries rank by accuracy."""
    info = summary.get("metric")
    if isinstance(info, Mapping):
        return str(info["name"]), bool(info["higher_is_better"]), "final_test_metric"
    return "accuracy", True, "final_test_acc"


def ranked(summary: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Strategies sorted by their mean final test metric, best first (NaN last)."""
    _, higher, key_name = _metric_of(summary)

    def key(item: tuple[str, dict[str, Any]]) -> float:
        value = item[1].get(key_name)
        if value is None or not math.isfinite(value):
            return math.inf
        return -value if higher else value

    return sorted(summary["strategies"].items(), key=key)


def _pct(mean: float | None, std: float | None = None) -> str:
    if mean is None or not math.isfinite(mean):
        return "n/a"
    text = f"{100 * mean:.1f}"
    return text + (f" ± {100 * std:.1f}" if std is not None and math.isfinite(std) else "")


def _num(mean: float | None, std: float | None = None) -> str:
    if mean is None or not math.isfinite(mean):
        return "n/a"
    text = f"{mean:.4g}"
    return text + (f" ± {std:.2g}" if std is not None and math.isfinite(std) else "")


def _interval(ci: Sequence[float] | None, percent: bool) -> str:
    if not ci or any(v is None or not math.isfinite(v) for v in ci):
        return "n/a"
    scale = 100.0 if percent else 1.0
    fmt = ".1f" if percent else ".4g"
    return f"{scale * ci[0]:{fmt}} to {scale * ci[1]:{fmt}}"


def format_table(summary: Mapping[str, Any], *, markdown: bool = True) -> str:
    """The ranked table: rank, strategy, final metric (mean ± std, 95% CI, tie), updates, time.

    A ``=`` after the rank marks a strategy tied with the leader (overlapping 95%
    intervals).
    """
    name_, _, key_name = _metric_of(summary)
    accuracy = name_ == "accuracy"
    fmt = _pct if accuracy else _num
    noisy = any("final_noisy_fit" in s for s in summary["strategies"].values())
    label = "final test acc %" if accuracy else f"final test {name_}"
    header = ["rank", "strategy", label, "95% CI"]
    if accuracy:
        header.append("best test acc %")
    header += ["updates", "train s"]
    if noisy:
        header.append("noisy fit %")
    header.append("diverged")
    rows = []
    for rank, (name, s) in enumerate(ranked(summary), start=1):
        std_key = key_name + "_std"
        row = [
            f"{rank}=" if s.get("tied_with_leader") else str(rank),
            name,
            fmt(s.get(key_name), s.get(std_key)),
            _interval(s.get("final_test_metric_ci95"), accuracy),
        ]
        if accuracy:
            row.append(_pct(s.get("best_test_acc")))
        row += [f"{s['updates']:.0f}", f"{s['wall_s']:.1f}"]
        if noisy:
            row.append(_pct(s.get("final_noisy_fit"), s.get("final_noisy_fit_std")))
        row.append(f"{s['diverged']}/{s['seeds']}")
        rows.append(row)
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 1 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [header, *rows]
    )


def _toml_key(key: str) -> str:
    return key if key and all(c.isalnum() or c in "-_" for c in key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    """``value`` as a TOML inline value (tables inline; ``None`` entries left out)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, Mapping):
        items = [
            f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items() if v is not None
        ]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def what_next(summary: Mapping[str, Any], strategies: Sequence[Any] = ()) -> str:
    """The report's "What next" section: the winner to paste, and more seeds if tied."""
    order = ranked(summary)
    if not order:
        return ""
    leader, lead = order[0]
    lines = ["## What next", ""]
    by_name = {s.name: s for s in strategies}
    if leader in by_name:
        config = by_name[leader].to_config()
        fields = {k: v for k, v in config.items() if k not in ("name", "description")}
        lines += [
            f"The leader, **{leader}**, as a line for a strategies file (TOML):",
            "",
            "```toml",
            f"[strategies]\n{_toml_key(leader)} = {_toml_value(fields)}",
            "```",
            "",
        ]
    tied = [name for name, s in order[1:] if s.get("tied_with_leader")]
    seeds = int(lead.get("seeds", 0))
    if tied:
        lines.append(
            f"Tied with the leader (95% intervals overlap over {seeds} seed"
            f"{'s' if seeds != 1 else ''}): {', '.join(tied)}. The order among them is noise "
            "at this budget: rerun with more seeds (`--seeds`) to separate them, or let the "
            "range test pick each one's LR (`--lr auto`)."
        )
    else:
        lines.append(
            f"No strategy's 95% interval overlaps the leader's over {seeds} seeds: the lead "
            "holds at this budget."
        )
    return "\n".join(lines)


def write_report(
    out: Path,
    *,
    title: str,
    summary: Mapping[str, Any],
    command: str,
    intro: str = "",
    strategies: Sequence[Any] = (),
    plots: Sequence[tuple[str, str]] = (),
    sections: Sequence[str] = (),
    findings: Sequence[str] = (),
) -> Path:
    """Write ``report.md``: intro, ranked table, findings, strategies, plots, sections, command.

    Args:
        out: the run folder.
        title: the report's heading.
        summary: as returned by :func:`summarize`.
        command: the exact command that made the run.
        intro: markdown paragraph under the title.
        strategies: Strategy values, listed with their optimizer and schedule.
        plots: ``(caption, file name)`` pairs, shown inline.
        sections: extra markdown sections, appended before the command.
        findings: markdown sections placed right after the table (a verdict, say).
    """
    parts = [f"# {title}", ""]
    if intro:
        parts += [intro.strip(), ""]
    name_, higher, _ = _metric_of(summary)
    parts += [
        f"Ranked by the final test {name_} ({'higher' if higher else 'lower'} is better; mean "
        "± sample std over seeds, and the 95% t-interval of the mean; `=` marks a strategy "
        "tied with the leader, its interval overlapping the leader's; "
        + ("accuracies in %; " if name_ == "accuracy" else "")
        + "`train s` is training time without evaluation).",
        "",
        format_table(summary),
        "",
    ]
    for finding in findings:
        parts += [finding.strip(), ""]
    if strategies:
        parts += ["## Strategies", ""]
        for s in strategies:
            opts = ", ".join(f"{k}={v}" for k, v in s.optimizer_kwargs)
            bs = s.batch_size if isinstance(s.batch_size, int) else s.batch_size.to_spec()
            line = f"- **{s.name}**: {s.description or s.optimizer}. `{s.optimizer}"
            line += f"({opts})`" if opts else "`"
            line += f", lr `{s.lr.to_spec()}` on the {s.clock} clock, batch size `{bs}`"
            if s.momentum is not None:
                line += f", momentum `{s.momentum.to_spec()}`"
            if s.controller is not None:
                line += f", controller `{s.controller.to_spec()}` (on the validation loss)"
            parts.append(line)
        parts.append("")
    if plots:
        parts += ["## Plots", ""]
        for caption, name in plots:
            parts += [f"![{caption}]({name})", ""]
    for section in sections:
        parts += [section.strip(), ""]
    nxt = what_next(summary, strategies)
    if nxt:
        parts += [nxt, ""]
    parts += ["## Command", "", "```", command, "```", ""]
    info = versions()
    parts += [
        f"Machine: {info['cpu']}; Python {info['python']}, torch {info['torch']}, "
        f"numpy {info['numpy']}, lrkit {info['lrkit']} ({info['platform']}).",
        "",
    ]
    return write_text(Path(out) / "report.md", "\n".join(parts))
