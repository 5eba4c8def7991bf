"""Compare strategies on one task over several seeds and write the run folder."""

from __future__ import annotations

import datetime as _dt
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import remove_stale_temps
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
from ._trainer import RunResult, _make_optimizer, checkpoint_path
from ._trial import Executor, TaskSpec, Trial, TrialResult, run_trial, run_trials

__all__ = [
    "LR_FINDERS",
    "ComparePlan",
    "CompareResult",
    "LRFinder",
    "compare",
    "plan_compare",
    "register_lr_finder",
    "registered_lr_finders",
    "report_compare",
    "run_compare",
    "write_config",
]

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


@dataclass(frozen=True)
class ComparePlan:
    """What a comparison will train: the task, the built strategies, seeds and budget.

    Made by :func:`plan_compare`; :meth:`trials` lists its :class:`Trial` values,
    seed by seed and every strategy within a seed, so that an interrupted
    comparison has comparable partial results.
    """

    task: Task
    task_spec: TaskSpec | None  # None when a Task object was given (inline runs only)
    strategies: tuple[Strategy, ...]
    seeds: tuple[int, ...]
    epochs: int
    device: str
    threads: int | None
    record: dict[str, Any]  # the plan as config.json stores it (resume checks it)
    finder_notes: tuple[str, ...] = ()
    stored: dict[str, Any] | None = None  # the config.json being resumed, if any

    def trials(self, out: str | Path) -> list[Trial]:
        """One trial per (seed, strategy), each checkpointed under ``out/checkpoints``."""
        task: TaskSpec | Task = self.task if self.task_spec is None else self.task_spec
        ckpt = Path(out) / "checkpoints"
        return [
            Trial(
                task,
                strategy,
                seed=seed,
                epochs=self.epochs,
                device=self.device,
                checkpoint=str(checkpoint_path(ckpt, strategy, seed)),
                threads=self.threads,
            )
            for seed in self.seeds
            for strategy in self.strategies
        ]


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
    executor: Executor | None = None,
    on_trial: Callable[[TrialResult], None] | None = None,
) -> CompareResult:
    """Train every strategy for every seed on one task and write the run folder.

    The three steps, each usable on its own: :func:`plan_compare` (what to train),
    :func:`run_compare` (train the trials, append their rows as they finish),
    :func:`report_compare` (summary, plots, report). Runs go seed by seed, every
    strategy within a seed. Each run checkpoints after every epoch under
    ``out/checkpoints``; with ``resume=True`` finished runs are read back and the
    interrupted one continues, so no row is lost or duplicated.

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
            every core slow each other down more than tenfold. config.json records
            the number used (``torch_threads``).
        progress: a tqdm bar over all epochs (only on a terminal).
        command: the command line to record (default: ``sys.argv``).
        title, intro, sections: report heading, first paragraph, extra sections.
        plots: write the PNG plots (and show them in the report).
        executor: maps :func:`run_trial` over the trials (see :func:`run_trials`);
            ``None`` trains inline. Out-of-process executors need a task by name.
        on_trial: called with each finished trial's result, after its rows are written.

    Returns:
        A :class:`CompareResult`.

    Raises:
        FileExistsError: ``out`` exists and neither ``resume`` nor ``overwrite``.
        ValueError: bad arguments, unknown strategies, duplicate names, or a resume
            with different settings.
    """
    out = Path(out)
    plan = plan_compare(
        task_spec,
        strategies,
        epochs=epochs,
        seeds=seeds,
        out=out,
        resume=resume,
        overwrite=overwrite,
        batch_size=batch_size,
        lr=lr,
        lr_finder=lr_finder,
        num_samples=num_samples,
        label_noise=label_noise,
        task_seed=task_seed,
        device=device,
        threads=threads,
    )
    command = command or " ".join(shlex.quote(a) for a in ["lrkit", *sys.argv[1:]])
    original = write_config(plan, out, command)
    results = run_compare(plan, out, executor=executor, progress=progress, on_trial=on_trial)
    return report_compare(
        plan,
        out,
        results,
        command=original,
        title=title,
        intro=intro,
        sections=sections,
        plots=plots,
    )


def plan_compare(
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
) -> ComparePlan:
    """Check the arguments and the run folder; build the strategies (``--lr auto`` too).

    Resuming takes the strategies stored in ``out/config.json``, so a resumed run
    trains exactly what was planned even if the defaults changed since. The only
    files this step may write are the LR finder's plots (and, with ``overwrite``,
    it deletes the old folder). Arguments as for :func:`compare`.
    """
    out = Path(out)
    seed_list = _seed_list(seeds)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if not strategies:
        raise ValueError("strategies must name at least one strategy")
    _check_device(device)
    spec_obj: TaskSpec | None
    if isinstance(task_spec, Task):
        task, spec, spec_obj = task_spec, task_spec.name, None
    else:
        spec_obj = TaskSpec(task_spec, num_samples, label_noise, task_seed)
        task = get_task(task_spec, num_samples=num_samples, label_noise=label_noise, seed=task_seed)
        spec = task_spec
    ctx = StrategyContext(
        epochs=epochs, batch_size=batch_size, train_size=task.train_size, lr=lr, task=task.name
    )
    requested = [s if isinstance(s, str) else s.name for s in strategies]
    if len(set(requested)) != len(requested):
        raise ValueError(f"strategies must have distinct names, got {requested}")
    _check_optimizers([s for s in strategies if isinstance(s, Strategy)], task)
    record = {
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
    stored = prepare_run_folder(out, resume=resume, overwrite=overwrite, plan=record)
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
    return ComparePlan(
        task=task,
        task_spec=spec_obj,
        strategies=tuple(built),
        seeds=tuple(seed_list),
        epochs=epochs,
        device=device,
        threads=threads,
        record=record,
        finder_notes=tuple(finder_notes),
        stored=stored,
    )


def write_config(plan: ComparePlan, out: str | Path, command: str) -> str:
    """Write ``out/config.json`` for ``plan``; return the command that reruns it from scratch.

    A resumed run keeps the command that made it and records ``command`` under
    ``resumed_with``. ``torch_threads`` is the thread count training uses.
    """
    import torch

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    previous = plan.stored or {}
    original = previous.get("command") or command
    config = {
        "plan": plan.record,
        "task_description": plan.task.description,
        "task_split": plan.task.split_note,
        "strategies": [s.to_config() for s in plan.strategies],
        "finder_notes": list(plan.finder_notes),
        "command": original,
        "resumed_with": [*previous.get("resumed_with", []), command] if plan.stored else [],
        "argv": previous.get("argv", sys.argv),
        "created": previous.get("created")
        or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "torch_threads": torch.get_num_threads() if plan.threads is None else plan.threads,
        "versions": versions(),
    }
    write_json(out / "config.json", config)
    return str(original)


def run_compare(
    plan: ComparePlan,
    out: str | Path,
    *,
    executor: Executor | None = None,
    progress: bool = False,
    on_trial: Callable[[TrialResult], None] | None = None,
) -> list[TrialResult]:
    """Train the plan's trials; rewrite ``out/metrics.csv`` as each one finishes.

    Results are consumed as the executor yields them (any order) and kept in the
    plan's order (seed by seed), so metrics.csv reads the same however they ran.

    Returns:
        The results in the plan's order.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    trials = plan.trials(out)
    order = {(t.strategy.name, t.seed): i for i, t in enumerate(trials)}
    bar = tqdm(
        total=len(trials) * plan.epochs,
        unit="epoch",
        disable=not (progress and sys.stderr.isatty()),
    )

    def inline(fn: Callable[..., TrialResult], items: Iterable[Trial]) -> Iterator[TrialResult]:
        for trial in items:
            bar.set_description(trial.label)
            yield run_trial(trial, on_epoch=lambda row: bar.update(1))

    done: dict[int, TrialResult] = {}
    noisy = plan.task.noisy is not None
    # A writer killed mid-checkpoint (kill -9, a worker ended on Ctrl-C) leaves its
    # temporary file behind; the driver owns the folder and sweeps them before and
    # after, once every writer has ended.
    remove_stale_temps(out / "checkpoints")
    results = run_trials(trials, executor=executor or inline)
    try:
        for result in results:
            done[order[(result.strategy, result.seed)]] = result
            # Epochs restored from a checkpoint, and epochs skipped after a divergence.
            fresh = len(result.rows) - result.resumed_from
            bar.update(plan.epochs - fresh if executor is None else plan.epochs)
            write_metrics(out, [done[i] for i in sorted(done)], noisy=noisy)
            if on_trial is not None:
                on_trial(result)
    finally:
        results.close()  # ends the executor's workers before the sweep
        remove_stale_temps(out / "checkpoints")
        bar.close()
    return [done[i] for i in sorted(done)]


def report_compare(
    plan: ComparePlan,
    out: str | Path,
    results: Sequence[TrialResult],
    *,
    command: str,
    title: str | None = None,
    intro: str = "",
    sections: Sequence[str] = (),
    plots: bool = True,
) -> CompareResult:
    """Write ``summary.json``, the plots and ``report.md`` from the results."""
    out = Path(out)
    task, built = plan.task, list(plan.strategies)
    summary = summarize(str(plan.record["task"]), results, [s.name for s in built], task.metric)
    write_json(out / "summary.json", summary)
    made = write_plots(out, results, built, epochs=plan.epochs, metric=task.metric) if plots else []
    heading = title or f"lrkit compare: {task.name}"
    about = intro or (
        f"Task: {task.description}. {plan.epochs} epochs, seeds {list(plan.seeds)}, "
        f"base batch size {plan.record['batch_size']}. Data: {task.split_note}; "
        "the lab chooses on val, test is reported."
    )
    report = write_report(
        out,
        title=heading,
        summary=summary,
        command=command,
        intro=about,
        strategies=built,
        plots=made,
        sections=[*plan.finder_notes, *sections],
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
