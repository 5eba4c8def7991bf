"""``lrkit reproduce NAME``: rerun a paper's experiment and judge its claim."""

from __future__ import annotations

import argparse
import inspect
import shlex
import sys
from typing import Any

from ._common import CLIError, listing, positive_int, preflight
from ._compare import trial_reporter
from ._parallel import ParallelRun, add_parallel_arguments

__all__ = ["register", "run"]

_DESCRIPTION = """\
Rerun a paper's experiment on a CPU-sized problem and write a run folder (the
same layout as 'lrkit compare') whose report.md states, from this run's numbers,
whether the paper's claim held. --quick is a smoke-sized run (a minute or two).
"""


def _names_help() -> str:
    from ..experiments import registered_reproductions

    return listing(registered_reproductions, "reproductions", 12)


def register(subparsers: Any) -> None:
    """Add the ``reproduce`` subcommand."""
    parser = subparsers.add_parser(
        "reproduce",
        help="reproduce a paper's experiment (you2019, ...)",
        description=_DESCRIPTION + "\nreproductions:\n" + _names_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME", help="the reproduction")
    parser.add_argument("--quick", action="store_true", help="a short smoke-sized run")
    parser.add_argument("--out", required=True, help="run folder")
    parser.add_argument("--seeds", type=positive_int, default=None, help="number of seeds")
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


def run(args: argparse.Namespace) -> int:
    """Run ``lrkit reproduce``; prints where the report is."""
    preflight("reproduce", modules=("torch", "matplotlib"), folders={"--out": args.out})
    from ..experiments import get_reproduction

    func = get_reproduction(args.name)
    parts = ["lrkit", "reproduce", args.name, *(["--quick"] if args.quick else [])]
    parts += ["--out", str(args.out)]
    parts += ["--seeds", str(args.seeds)] if args.seeds else []
    command = " ".join(shlex.quote(p) for p in parts)
    params = inspect.signature(func).parameters
    parallel = "executor" in params  # older plug-ins run their trials inline
    jobs_asked = args.jobs not in (None, 1) or args.ray is not None or args.backend != "auto"
    if jobs_asked and not parallel:
        raise CLIError(f"reproduction {args.name!r} runs its trials inline only (no --jobs)")
    if not parallel or args.jobs is None:
        args.jobs = 1  # a reproduction runs in this process unless --jobs asks otherwise
    try:
        # a reproduction that takes on_trial prints its own line per trial (with the
        # metric); for one that does not, the parallel progress prints the lines
        lines = "on_trial" not in params
        with ParallelRun(args, None, describe=lambda trial: trial.label, lines=lines) as par:
            extra: dict[str, Any] = {}
            if not lines:
                extra["on_trial"] = trial_reporter(quiet=args.quiet)
            if parallel:
                extra["executor"] = par.stream
            report = func(
                args.out,
                quick=args.quick,
                seeds=args.seeds,
                resume=args.resume,
                overwrite=args.overwrite,
                progress=not args.quiet and par.inline,
                command=command,
                threads=par.threads,
                **extra,
            )
            status = par.exit_status("reproduce")
    except KeyboardInterrupt:
        print(
            f"lrkit reproduce: interrupted; rerun with --resume to continue {args.out}",
            file=sys.stderr,
        )
        return 130
    print(f"report: {report}")
    return status
