"""Compare strategies on one task over several seeds and write the run folder."""

from __future__ import annotations

import datetime as _dt
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._plots import write_plots
from ._registry import Registry
from ._runfolder import (
    prepare_run_folder,
    summarize,
    versions,
    write_json,
    write_metrics,
    write_report,
)
from ._strategies import Strategy, StrategyContext, get_strategy
from ._tasks import Task, get_task
from ._trainer import RunResult, _make_optimizer, train

__all__ = ["CompareResult", "LRFinder", "compare", "register_lr_finder", "registered_lr_finders"]

# finder(task, strategy, ctx, out) -> lr, or (lr, markdown for the report)
LRFinder = Callable[[Task, Strategy, StrategyContext, Path], "float | tuple[float, str]"]


def _check_finder(finder: object) -> None:
    if not callable(finder):
        raise TypeError(f"finder must be callable, got {finder!r}")


LR_FINDERS: Registry[LRFinder] = Registry("LR finder", check=_check_finder)


def register_lr_finder(name: str, finder: LRFinder, help: str = "") -> None:
    """Register a way to choose each strategy's base LR before a comparison.

    ``compare(..., lr_finder=name)`` (``lrkit compare --lr NAME``, e.g. ``auto``)
    calls ``finder(task, strategy, ctx, out)`` for every named strategy, built first
    with ``ctx.lr = None``; the strategy is then rebuilt with ``ctx.lr`` set to the
    returned LR. The finder may write files (plots) into ``out`` and return
    ``(lr, markdown)`` to add a paragraph to the report.
    """
    LR_FINDERS.register(name, finder, help)


def registered_lr_finders() -> list[str]:
    """Names accepted by ``compare(lr_finder=...)``."""
    return sorted(LR_FINDERS)


@dataclass(frozen=True)
class CompareResult:
    """What :func:`compare` made: the folder, the summary, every run and the plots.

    ``plots`` holds ``(caption, file name)`` pairs, as :func:`write_report` takes them.
    """

    out: Path
    summary: dict[str, Any]
    results: tuple[RunResult, ...]
    strategies: tuple[Strategy, ...]
    report: Path
    plots: tuple[tuple[str, str], ...] = ()


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, bool):
        raise TypeError(f"seeds must be a count or a list of ints, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds!r}")
        return list(range(seeds))
    out = [int(s) for s in seeds]
    if not out or len(set(out)) != len(out) or min(out) < 0:
        raise ValueError(f"seeds must be distinct ints >= 0, got {seeds!r}")
    return out


def compare(
    task_spec: str | Task,
    strategies: Sequence[str | Strategy],
    *,
    epochs: int,
    seeds: int | Sequence[int],
    out: str | Path,
    resume: bool = False,
    overwrite: bool = False,
    batch_size: int = 64,
    lr: float | None = None,
    lr_finder: str | LRFinder | None = None,
    num_samples: int | None = None,
    label_noise: float = 0.0,
    task_seed: int = 0,
    device: str = "cpu",
    threads: int | None = 1,
    progress: bool = False,
    command: str | None = None,
    title: str | None = None,
    intro: str = "",
    sections: Sequence[str] = (),
    plots: bool = True,
) -> CompareResult:
    """Train every strategy for every seed on one task and write the run folder.

    Runs go seed by seed, every strategy within a seed, so an interrupted
    comparison has comparable partial results. Each run checkpoints after every
    epoch under ``out/checkpoints``; with ``resume=True`` finished runs are read
    back and the interrupted one continues, so no row is lost or duplicated.

    Args:
        task_spec: a task name or ``package.module:function`` (see
            :func:`~lrkit.experiments.get_task`), or a :class:`Task`.
        strategies: registered names (built for this context) or Strategy values.
        epochs: the epoch budget of every run.
        seeds: a count (seeds ``0..n-1``) or a list of seeds.
        out: the run folder (refused if it exists, unless ``resume``/``overwrite``).
        batch_size: base batch size given to named strategies.
        lr: base LR given to named strategies (``None``: their defaults).
        lr_finder: a registered finder's name or a finder (see
            :func:`register_lr_finder`) that picks each named strategy's base LR.
        num_samples, label_noise, task_seed: passed to ``get_task``.
        threads: torch CPU threads while training (restored afterwards); ``None``
            keeps torch's setting. One thread is the fastest for the lab's small
            models, and by far on a shared machine: two processes that both use
            every core slow each other down more than tenfold.
        progress: a tqdm bar over all epochs (only on a terminal).
        command: the command line to record (default: ``sys.argv``).
        title, intro, sections: report heading, first paragraph, extra sections.
        plots: write the PNG plots (and show them in the report).

    Returns:
        A :class:`CompareResult`.

    Raises:
        FileExistsError: ``out`` exists and neither ``resume`` nor ``overwrite``.
        ValueError: bad arguments, unknown strategies, duplicate names, or a resume
            with different settings.
    """
    out = Path(out)
    seed_list = _seed_list(seeds)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if not strategies:
        raise ValueError("strategies must name at least one strategy")
    _check_device(device)
    if isinstance(task_spec, Task):
        task, spec = task_spec, task_spec.name
    else:
        task = get_task(task_spec, num_samples=num_samples, label_noise=label_noise, seed=task_seed)
        spec = task_spec
    ctx = StrategyContext(
        epochs=epochs, batch_size=batch_size, train_size=task.train_size, lr=lr, task=task.name
    )
    requested = [s if isinstance(s, str) else s.name for s in strategies]
    if len(set(requested)) != len(requested):
        raise ValueError(f"strategies must have distinct names, got {requested}")
    _check_optimizers([s for s in strategies if isinstance(s, Strategy)], task)
    command = command or " ".join(shlex.quote(a) for a in ["lrkit", *sys.argv[1:]])
    plan = {
        "task": spec,
        "num_samples": num_samples,
        "label_noise": label_noise,
        "task_seed": task_seed,
        "train_size": task.train_size,
        "epochs": epochs,
        "seeds": seed_list,
        "batch_size": batch_size,
        "lr": lr,
        "lr_finder": lr_finder if isinstance(lr_finder, str) or lr_finder is None else "custom",
        "strategy_names": requested,
    }
    stored = prepare_run_folder(out, resume=resume, overwrite=overwrite, plan=plan)
    finder_notes: list[str] = []
    if stored is not None:  # resume exactly what was planned, even if defaults changed since
        built = [Strategy.from_config(cfg) for cfg in stored["strategies"]]
        given = {s.name: s for s in strategies if isinstance(s, Strategy)}
        changed = [s.name for s in built if s.name in given and given[s.name] != s]
        if changed:  # an edited strategy file: its runs would mix with the old ones
            raise ValueError(
                f"cannot resume {out}: strategy {changed[0]!r} differs from the one the run "
                "was made with; use --overwrite or another --out"
            )
        finder_notes = list(stored.get("finder_notes", []))
    else:
        built, finder_notes = _build(strategies, ctx, task, lr_finder, out)
    out.mkdir(parents=True, exist_ok=True)
    previous = stored or {}
    original = previous.get("command") or command  # the command that reruns it from scratch
    config = {
        "plan": plan,
        "task_description": task.description,
        "strategies": [s.to_config() for s in built],
        "finder_notes": finder_notes,
        "command": original,
        "resumed_with": [*previous.get("resumed_with", []), command] if stored else [],
        "argv": previous.get("argv", sys.argv),
        "created": previous.get("created")
        or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
    }
    write_json(out / "config.json", config)
    results = _run_all(task, built, seed_list, epochs, out, device, progress, threads)
    summary = summarize(spec, results, [s.name for s in built])
    write_json(out / "summary.json", summary)
    made = write_plots(out, results, built, epochs=epochs) if plots else []
    heading = title or f"lrkit compare: {task.name}"
    about = intro or (
        f"Task: {task.description}. {epochs} epochs, seeds {seed_list}, "
        f"base batch size {batch_size}."
    )
    report = write_report(
        out,
        title=heading,
        summary=summary,
        command=original,
        intro=about,
        strategies=built,
        plots=made,
        sections=[*finder_notes, *sections],
    )
    return CompareResult(out, summary, tuple(results), tuple(built), report, tuple(made))


def _check_device(device: str) -> None:
    """Refuse a device torch cannot use before anything is written."""
    import torch

    try:
        torch.empty(0, device=torch.device(device))
    except Exception as exc:  # RuntimeError, AssertionError (no CUDA build), ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"device {device!r} is not usable: {first}") from None


def _check_optimizers(strategies: Sequence[Strategy], task: Task) -> None:
    """Build each strategy's optimizer on a throwaway model: torch refuses bad kwargs now."""
    import torch

    if not strategies:
        return
    with torch.random.fork_rng(devices=[]):
        model = task.model_fn()
    for strategy in strategies:
        _make_optimizer(strategy, model)


def _build(
    strategies: Sequence[str | Strategy],
    ctx: StrategyContext,
    task: Task,
    lr_finder: str | LRFinder | None,
    out: Path,
) -> tuple[list[Strategy], list[str]]:
    finder = LR_FINDERS.get(lr_finder) if isinstance(lr_finder, str) else lr_finder
    built: list[Strategy] = []
    notes: list[str] = []
    for item in strategies:
        if isinstance(item, Strategy):
            built.append(item)
            continue
        strategy = get_strategy(item, ctx)
        if finder is not None:
            out.mkdir(parents=True, exist_ok=True)
            found = finder(task, strategy, ctx, out)
            lr, note = found if isinstance(found, tuple) else (found, "")
            strategy = get_strategy(item, ctx.replace(lr=float(lr)))
            if note:
                notes.append(note)
        built.append(strategy)
    return built, notes


def _run_all(
    task: Task,
    strategies: Sequence[Strategy],
    seeds: Sequence[int],
    epochs: int,
    out: Path,
    device: str,
    progress: bool,
    threads: int | None,
) -> list[RunResult]:
    import torch
    from tqdm.auto import tqdm

    noisy = task.noisy is not None
    results: list[RunResult] = []
    bar = tqdm(
        total=len(strategies) * len(seeds) * epochs,
        unit="epoch",
        disable=not (progress and sys.stderr.isatty()),
    )
    saved_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        for seed in seeds:
            for strategy in strategies:
                bar.set_description(f"{strategy.name} seed {seed}")
                result = train(
                    task,
                    strategy,
                    epochs=epochs,
                    seed=seed,
                    checkpoint_dir=out / "checkpoints",
                    device=device,
                    on_epoch=lambda row: bar.update(1),
                )
                # Epochs restored from a checkpoint, and epochs skipped after a divergence.
                bar.update(epochs - (len(result.rows) - result.resumed_from))
                results.append(result)
                write_metrics(out, results, noisy=noisy)
    finally:
        torch.set_num_threads(saved_threads)
        bar.close()
    return results
