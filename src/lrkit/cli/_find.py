"""``lrkit find``: run an LR range test on a task and print what to train with."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from .._io import write_text
from ..range_test._race import SCHEDULES
from ._common import CLIError, listing, positive_int, preflight

__all__ = ["register", "run"]

_DESCRIPTION = """\
Run an LR range test (Smith 2017) on a task: one short run from a fresh model in
which the learning rate grows from --start-lr to --end-lr over --num-steps
optimizer steps, stopping once the loss diverges. Prints lrkit's suggestion (the
LR to train with at a constant or decaying rate), the interval where the loss
falls fast, bounds for a cyclic schedule and a one-cycle max_lr, and what the
peers' rules (torch-lr-finder's steepest point, fastai's valley and min/10) read
from the same sweep. Exit status 1 when the curve gives no reliable suggestion
(the reason is printed; the plot and JSON are still written).
"""

_EPILOG = """\
examples:
  lrkit find --task mnist1d
  lrkit find --task mnist1d --optimizer adam --batch-size 128 --plot find.png --json find.json
  lrkit find --task digits --optimizer sgd --momentum 0.0 --num-steps 200 --end-lr 100
  lrkit find --task mnist1d --schedule cosine --validate --race-steps 60
"""


def _optimizer_help() -> str:
    from ..experiments import registered_optimizers

    return "\noptimizers (--optimizer, or package.module:Class):\n" + listing(
        registered_optimizers, "optimizers", 20
    )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def register(subparsers: Any) -> None:
    """Add the ``find`` subcommand."""
    parser = subparsers.add_parser(
        "find",
        help="LR range test: suggest a learning rate for a task",
        description=_DESCRIPTION + _optimizer_help(),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", required=True, help="task name (e.g. mnist1d) or module:function")
    parser.add_argument(
        "--optimizer", default="sgd", help="a name listed below or package.module:Class (sgd)"
    )
    parser.add_argument(
        "--momentum",
        type=float,
        default=None,
        help="SGD/RMSprop momentum (default: 0.9 for sgd, torch's default otherwise)",
    )
    parser.add_argument("--batch-size", type=positive_int, default=64, help="default: 64")
    parser.add_argument("--num-steps", type=positive_int, default=100, help="default: 100")
    parser.add_argument("--start-lr", type=_positive_float, default=1e-7, help="default: 1e-7")
    parser.add_argument("--end-lr", type=_positive_float, default=10.0, help="default: 10")
    parser.add_argument("--mode", choices=("exp", "linear"), default="exp", help="default: exp")
    parser.add_argument("--seed", type=int, default=0, help="model init and batch order")
    parser.add_argument("--num-samples", type=positive_int, default=None, help="task size")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--plot", metavar="PATH", help="write the loss-vs-LR plot (.png, .pdf)")
    parser.add_argument("--json", metavar="PATH", help="write the result as JSON")
    parser.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="cosine",
        help="the schedule you will train with: prints its peak LR, and --validate races "
        "with it (default: cosine)",
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="after the sweep, race 5 LRs from the interval up to the edge by successive "
        "halving, with short runs of --schedule scored on a held-out 15%% of the training set",
    )
    parser.add_argument(
        "--race-steps",
        type=positive_int,
        default=None,
        help="optimizer steps of each first-rung run of --validate (default: --num-steps)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``lrkit find``; returns 0, or 1 when there is no reliable suggestion."""
    if args.plot and not Path(args.plot).suffix:
        raise CLIError(f"--plot needs a file name with an image suffix (.png), got {args.plot!r}")
    if args.seed < 0:
        raise CLIError(f"--seed must be >= 0, got {args.seed}")
    preflight(
        "find",
        modules=("torch", *(("matplotlib",) if args.plot else ())),
        outputs={"--plot": args.plot, "--json": args.json},
    )
    from ..experiments import get_task, optimizer_entry

    try:
        entry = optimizer_entry(args.optimizer)
    except ValueError as exc:
        raise CLIError(f"--optimizer: {exc}") from None
    if args.momentum is not None and entry.momentum_key != "momentum":
        raise CLIError(f"--momentum applies to optimizers with a momentum, not {args.optimizer}")
    from ..experiments._compare import _check_device
    from ..experiments._lr_finder import finder_strategy, task_range_test

    _check_device(args.device)
    task = get_task(args.task, num_samples=args.num_samples)
    kwargs = {} if args.momentum is None else {"momentum": args.momentum}
    strategy = finder_strategy(args.optimizer, args.batch_size, kwargs)
    race_options: dict[str, Any] = {}
    if args.validate:
        task, race_options = _validation_split(task, args)
    result = task_range_test(
        task,
        strategy,
        num_steps=args.num_steps,
        start_lr=args.start_lr,
        end_lr=args.end_lr,
        mode=args.mode,
        seed=args.seed,
        device=args.device,
        **race_options,
    )
    peers: dict[str, float | None] = {}
    for method, label in (
        ("steepest", "steepest (torch-lr-finder)"),
        ("valley", "valley (fastai)"),
        ("minimum", "minimum/10 (fastai)"),
        ("lightning", "steepest over raw LR (Lightning)"),
    ):
        try:
            peers[label] = result.suggest(method)
        except ValueError:
            peers[label] = None
    options = ", ".join(f"{k} {v}" for k, v in strategy.optimizer_kwargs)
    print(
        f"range test: {task.name}, {args.optimizer}{f' ({options})' if options else ''}, "
        f"batch {args.batch_size}, {len(result.lrs)} of {args.num_steps} steps "
        f"from {args.start_lr:g} to {args.end_lr:g} ({args.mode})"
    )
    if result.stop_reason:
        print(f"stopped early: {result.stop_reason}")
    if result.suggestion is not None and result.interval is not None:
        base, top = result.cyclic_bounds()
        print(f"suggestion: {result.suggestion:.3g}  ({result.reason})")
        print(f"interval: {result.interval[0]:.3g} .. {result.interval[1]:.3g}")
        print(f"cyclic bounds: base_lr {base:.3g}, max_lr {top:.3g}")
        print(f"one-cycle max_lr: {result.one_cycle_max_lr():.3g}")
        if result.race is None:
            peak = result.suggest(for_schedule=args.schedule)
            print(f"{args.schedule} peak: {peak:.3g}  (the peak LR of a {args.schedule} schedule)")
        else:
            race = result.race
            print(
                f"validated ({args.schedule}): {race.suggestion:.3g}  (race of "
                f"{len(race.candidates)} candidates, {race.total_steps} optimizer steps; "
                f"winner {race.winner:.3g}, backed off {race.backoff:g} decades)"
            )
            for line in race.describe():
                print(f"  {line}")
    else:
        print(f"no reliable suggestion: {result.reason}")
    print(
        "peers on the same sweep: "
        + ", ".join(f"{k} {'-' if v is None else format(v, '.3g')}" for k, v in peers.items())
    )
    if args.plot:
        from ..plotting import plot_range_test, save_figure

        ax = plot_range_test(result, methods=("steepest", "valley"))
        save_figure(ax.figure, args.plot)  # type: ignore[arg-type]
        print(f"plot: {args.plot}")
    if args.json:
        payload = {
            "task": task.name,
            "optimizer": args.optimizer,
            "optimizer_kwargs": dict(strategy.optimizer_kwargs),
            "batch_size": args.batch_size,
            "seed": args.seed,
            "cyclic_bounds": list(result.cyclic_bounds()) if result.reliable else None,
            "one_cycle_max_lr": result.one_cycle_max_lr() if result.reliable else None,
            "schedule": args.schedule,
            "peak_lr": result.suggest(for_schedule=args.schedule) if result.reliable else None,
            "peers": peers,
            "result": result.to_dict(),
        }
        _write_json(Path(args.json), payload)
        print(f"json: {args.json}")
    return 0 if result.reliable else 1


def _validation_split(task: Any, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The task without its last 15% of training examples, and the race's options that
    score on those (accuracy for a classification task)."""
    import dataclasses

    import torch

    n = len(task.train_set)
    n_val = max(1, round(0.15 * n))
    if n - n_val < args.batch_size:
        raise CLIError(
            f"--validate holds out 15% of the {n} training examples; too few remain for "
            f"--batch-size {args.batch_size}"
        )
    train: Any = torch.utils.data.Subset(task.train_set, range(n - n_val))
    val: Any = torch.utils.data.Subset(task.train_set, range(n - n_val, n))
    if isinstance(task.train_set, torch.utils.data.TensorDataset):
        x, y = task.train_set.tensors
        train = torch.utils.data.TensorDataset(x[: n - n_val], y[: n - n_val])
        val = torch.utils.data.TensorDataset(x[n - n_val :], y[n - n_val :])
    val_loader = torch.utils.data.DataLoader(val, batch_size=1024)

    def accuracy(outputs: Any, targets: Any) -> float:
        return float((outputs.argmax(-1) == targets).double().mean())

    options = {
        "validate": True,
        "race_loader": val_loader,
        "val_metric": accuracy,
        "schedule": args.schedule,
        "race_steps": args.race_steps,
    }
    return dataclasses.replace(task, train_set=train, noisy=None), options


def _write_json(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` atomically."""
    write_text(path, json.dumps(data, indent=1, allow_nan=False) + "\n")
