"""``lrkit compare``: train several LR strategies on one task and rank them."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._common import CLIError, listing, positive_int, preflight
from ._parallel import ParallelRun, add_parallel_arguments

__all__ = ["parse_strategies", "register", "run", "trial_reporter"]

_DESCRIPTION = """\
Train every strategy for every seed on one task and write a run folder:
config.json, metrics.csv, summary.json, plots (PNG) and report.md with the
ranked table (mean ± std over seeds). Prints the table and where the report is.

Strategies are registered names (below) or TOML/JSON files of your own
strategies, comma-separated. Named strategies are sized for --epochs: the decays
end at 1/100 of their start (time-decay at 1/10), the cycle's step size is about
5 epochs. Their base
LR is tuned for SGD momentum 0.9 (batch 64) on mnist1d; --lr sets it for all of
them (cyclic and one-cycle peak at 2x), --lr auto asks the LR range test.

A run folder is never overwritten silently: --resume continues an interrupted
run (finished runs are kept, the interrupted one restarts from its last epoch),
--overwrite replaces it.
"""

_EPILOG = """\
examples:
  lrkit compare --task mnist1d --out runs/demo
  lrkit compare --task mnist1d --strategies constant,step-decay,adam --epochs 40 --seeds 5 \\
      --out runs/three
  lrkit compare --task digits --strategies constant,mine.toml --label-noise 0.3 --out runs/noisy
  lrkit compare --task mypackage.tasks:make_task --out runs/mine --resume

a strategy file (TOML):
  [strategies.my-step]
  optimizer = "sgd"                       # a name below, or package.module:Class
  optimizer_kwargs = { momentum = 0.9, nesterov = true }
  lr = "step(lr=0.1, step_size=10, gamma=0.1)"   # any lrkit schedule spec
  clock = "epoch"                         # or "step" (optimizer updates)
  batch_size = 64
"""


def _registry_help() -> str:
    from ..experiments import registered_optimizers, registered_strategies, registered_tasks

    return (
        "\nstrategies:\n"
        + listing(registered_strategies, "strategies", 16)
        + "\n\ntasks (--task):\n"
        + listing(registered_tasks, "tasks", 16)
        + "\n\noptimizers (a strategy file's optimizer, or package.module:Class):\n"
        + listing(registered_optimizers, "optimizers", 20)
    )


def register(subparsers: Any) -> None:
    """Add the ``compare`` subcommand."""
    parser = subparsers.add_parser(
        "compare",
        help="train several LR strategies on a task and rank them",
        description=_DESCRIPTION + _registry_help(),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--task",
        default="mnist1d",
        help="a task listed below, or package.module:function returning a Task (mnist1d)",
    )
    parser.add_argument(
        "--strategies",
        default=None,
        metavar="LIST",
        help="comma-separated names and .toml/.json files (default: the seed's ten strategies)",
    )
    parser.add_argument("--epochs", type=positive_int, default=30, help="epochs per run (30)")
    parser.add_argument("--seeds", type=positive_int, default=3, help="seeds 0..N-1 (3)")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="base batch size (64)")
    parser.add_argument(
        "--lr", default=None, help="base LR for named strategies, or 'auto' (range test)"
    )
    parser.add_argument(
        "--num-samples", type=positive_int, default=None, help="dataset size (built-in tasks)"
    )
    parser.add_argument(
        "--label-noise",
        type=float,
        default=0.0,
        metavar="P",
        help="replace a fraction P of training labels by wrong classes (0)",
    )
    parser.add_argument("--out", default="runs/compare", help="run folder (runs/compare)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue an interrupted run")
    group.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        help="torch CPU threads (1: fastest for small models, above all on a shared CPU)",
    )
    add_parallel_arguments(parser)
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar, and no line per finished trial when stderr is not a terminal",
    )
    parser.set_defaults(func=run)


def parse_strategies(text: str | None) -> list[Any]:
    """Names and Strategy values from ``--strategies`` (files expanded)."""
    from ..experiments import SEED_STRATEGIES, load_strategies, registered_strategies

    if text is None:
        return list(SEED_STRATEGIES)
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise CLIError(f"--strategies must name at least one strategy, got {text!r}")
    known = registered_strategies()
    out: list[Any] = []
    for item in items:
        if item.lower().endswith((".toml", ".json")):
            if not Path(item).is_file():
                raise CLIError(f"--strategies: no such file {item!r}")
            out.extend(load_strategies(item))
        elif item in known:
            out.append(item)
        else:
            raise CLIError(
                f"--strategies: unknown strategy {item!r}; known: {', '.join(known)} "
                "(or a .toml/.json file)"
            )
    return out


def _lr_option(text: str | None) -> tuple[float | None, str | None]:
    if text is None:
        return None, None
    try:
        value = float(text)
    except ValueError:
        return None, text  # the name of an LR finder, e.g. "auto"
    if not value > 0 or value == float("inf"):
        raise CLIError(f"--lr must be a number > 0 or 'auto', got {text!r}")
    return value, None


def run(args: argparse.Namespace) -> int:
    """Run ``lrkit compare``; prints the ranked table and the report's path."""
    preflight("compare", modules=("torch", "matplotlib"), folders={"--out": args.out})
    from ..experiments import compare, format_table, registered_lr_finders

    strategies = parse_strategies(args.strategies)
    lr, finder = _lr_option(args.lr)
    if finder is not None and finder not in registered_lr_finders():
        known = registered_lr_finders()
        raise CLIError(
            f"--lr {finder!r}: no such LR finder"
            + (f"; available: {', '.join(known)}" if known else " (none is installed)")
        )
    if not 0.0 <= args.label_noise < 1.0:
        raise CLIError(f"--label-noise must be in [0, 1), got {args.label_noise}")
    command = "lrkit compare " + " ".join(shlex.quote(a) for a in _argv_of(args))
    total = len(strategies) * args.seeds
    try:
        # trial_reporter writes the line per finished trial (with its metric), inline
        # or in parallel; the parallel progress only adds failures and the bar
        with ParallelRun(args, total, describe=lambda trial: trial.label, lines=False) as par:
            result = compare(
                args.task,
                strategies,
                epochs=args.epochs,
                seeds=args.seeds,
                out=args.out,
                resume=args.resume,
                overwrite=args.overwrite,
                batch_size=args.batch_size,
                lr=lr,
                lr_finder=finder,
                num_samples=args.num_samples,
                label_noise=args.label_noise,
                device=par.driver_device,
                threads=par.threads,
                progress=not args.quiet and par.inline,
                command=command,
                executor=par.stream,
                on_trial=trial_reporter(quiet=args.quiet),
            )
            status = par.exit_status("compare")
    except KeyboardInterrupt:
        print(
            f"lrkit compare: interrupted; rerun with --resume to continue {args.out}",
            file=sys.stderr,
        )
        return 130
    print(format_table(result.summary, markdown=False))
    print(f"report: {result.report}")
    return status


def trial_reporter(*, quiet: bool) -> Callable[[Any], None]:
    """Print one line per finished trial on stderr: strategy, seed, final metric, time.

    Only when stderr is not a terminal (a log file, CI; a terminal has the progress
    bar) and not ``quiet``. A note on the trial (a corrupt checkpoint rerun) is
    always printed.
    """
    lines = not quiet and not sys.stderr.isatty()

    def report(result: Any) -> None:
        if result.note:
            print(f"lrkit: {result.note}", file=sys.stderr, flush=True)
        if not lines or not result.rows:
            return
        final = result.final
        state = f", diverged in epoch {result.diverged_epoch}" if result.diverged_epoch else ""
        if final.get("test_acc") is not None:
            metric = f"test_acc {final['test_acc']:.4f}"
        else:  # regression, language models: the task's own metric
            metric = f"test metric {final['test_metric']:.4g}"
        print(
            f"{result.strategy} seed {result.seed}: {metric} "
            f"after {final['epoch']} epochs, {final['wall_s']:.1f} s{state}",
            file=sys.stderr,
            flush=True,
        )

    return report


def _argv_of(args: argparse.Namespace) -> list[str]:
    """The options that define the run, rebuilt from ``args`` (recorded as the command)."""
    out = ["--task", args.task]
    if args.strategies:
        out += ["--strategies", args.strategies]
    out += ["--epochs", str(args.epochs), "--seeds", str(args.seeds)]
    out += ["--batch-size", str(args.batch_size)]
    if args.threads != 1:
        out += ["--threads", str(args.threads)]
    for flag, value in (("--lr", args.lr), ("--num-samples", args.num_samples)):
        if value is not None:
            out += [flag, str(value)]
    if args.label_noise:
        out += ["--label-noise", str(args.label_noise)]
    out += ["--out", str(args.out)]
    out += [f for f, on in (("--resume", args.resume), ("--overwrite", args.overwrite)) if on]
    return out
