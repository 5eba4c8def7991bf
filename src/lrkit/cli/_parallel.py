"""The options that say where a command's trials run: ``--jobs``, ``--backend``/``--ray``,
``--devices``; shared by ``compare``, ``reproduce`` and the benchmarks.

``executor_from_args`` turns them into an executor (see
:mod:`lrkit.experiments._executors`); Ray is imported only when a Ray run starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import sys
from collections.abc import Callable
from typing import Any, TextIO

from ._common import CLIError, positive_int

__all__ = ["ParallelRun", "add_parallel_arguments", "executor_from_args", "place_on_device"]

_LOCAL = "local"  # --ray with no address: start a local instance


def add_parallel_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--jobs``, ``--backend``, ``--ray [ADDRESS]`` and ``--devices`` to ``parser``."""
    group = parser.add_argument_group("where the trials run")
    group.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="trials at once (default: every CPU core, or one per --devices entry; "
        "1 runs them in this process); torch threads are divided so jobs x threads <= cores",
    )
    group.add_argument(
        "--backend",
        choices=("auto", "inline", "processes", "ray"),
        default="auto",
        help="auto (default): inline for one job, local processes otherwise; ray: Ray tasks",
    )
    group.add_argument(
        "--ray",
        nargs="?",
        const=_LOCAL,
        default=None,
        metavar="ADDRESS",
        help="run the trials as Ray tasks (lrkit[ray]): on a local instance, on 'auto' "
        "(the cluster 'ray start --head' made here) or on ADDRESS (host:6379, ray://host:10001)",
    )
    group.add_argument(
        "--devices",
        "--device",
        dest="devices",
        default="cpu",
        metavar="LIST",
        help="torch devices, e.g. cuda:0,cuda:1: one trial per device at a time (cpu)",
    )


def executor_from_args(args: argparse.Namespace) -> Any:
    """The executor the parsed options ask for (``args.threads``, if any, per worker).

    Raises:
        CLIError: contradicting options, bad devices or counts, or Ray not installed.
    """
    from ..experiments._executors import make_executor

    backend = args.backend
    address = None
    if args.ray is not None:
        if backend not in ("auto", "ray"):
            raise CLIError(f"--ray contradicts --backend {backend}")
        backend = "ray"
        address = None if args.ray == _LOCAL else args.ray
    if backend == "ray" and importlib.util.find_spec("ray") is None:
        raise CLIError("the Ray backend needs Ray: pip install 'lrkit[ray]'")
    try:
        return make_executor(
            backend,
            jobs=args.jobs,
            threads=getattr(args, "threads", None),
            devices=args.devices,
            address=address,
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def place_on_device(item: Any, device: str) -> Any:
    """A dataclass item (a lab ``Trial``) with its ``device`` field set to ``device``."""
    return dataclasses.replace(item, device=device)


class ParallelRun:
    """What a command needs to run its trials where the options say, and report them.

    ``stream`` is ``None`` for one job (the command's own inline loop, with its
    per-epoch bar) and otherwise a :class:`~lrkit.experiments.ResultStream` to pass as
    the driver's executor; ``threads`` is each trial's torch thread count. After the
    run, :meth:`exit_status` prints one line per failed trial and returns 1 if any
    failed (``--resume`` reruns only those), else 0. Use as a context manager.

    Args:
        args: the parsed options (``add_parallel_arguments``, ``--threads``, ``--quiet``).
        total: the number of trials, for the progress bar (``None``: not known ahead).
        describe: a trial's label in progress lines.
        stream: where progress goes (default stderr).
    """

    def __init__(
        self,
        args: argparse.Namespace,
        total: int | None,
        *,
        describe: Callable[[Any], str] = str,
        stream: TextIO | None = None,
        lines: bool = True,
    ) -> None:
        from ..experiments._executors import InlineExecutor, ResultStream
        from ._progress import ProgressReporter

        self.executor = executor_from_args(args)
        if not isinstance(self.executor, InlineExecutor):
            self.executor.start()  # the workers import torch while the driver plans
        self.inline = isinstance(self.executor, InlineExecutor)
        self.threads: int | None = getattr(self.executor, "threads", None)
        if not self.inline and self.threads is None:  # Ray: a task's CPUs
            self.threads = int(getattr(self.executor, "num_cpus", 1))
        self.err = sys.stderr if stream is None else stream
        self.progress = ProgressReporter(
            total,
            describe=describe,
            stream=self.err,
            quiet=getattr(args, "quiet", False),
            lines=lines,
        )
        self.stream = (
            None
            if self.inline
            else ResultStream(self.executor, place=place_on_device, progress=self.progress)
        )

    @property
    def driver_device(self) -> str:
        """The device the driver checks before planning: the first of ``--devices``, or
        ``cpu`` on Ray (the GPUs are the cluster's, not the driver's)."""
        from ..experiments._executors import RayExecutor

        return "cpu" if isinstance(self.executor, RayExecutor) else self.executor.devices[0]

    def exit_status(self, command: str) -> int:
        """Print the failed trials (one line each); 1 if any failed, else 0."""
        failures = [] if self.stream is None else self.stream.failures
        for outcome in failures:
            label = self.progress.describe(outcome.item)
            why = outcome.failure.summary if outcome.failure is not None else "?"
            print(f"lrkit {command}: {label} failed: {why}", file=self.err)
        if failures:
            print(
                f"lrkit {command}: {len(failures)} trial(s) failed; --resume reruns only those",
                file=self.err,
            )
        return 1 if failures else 0

    def __enter__(self) -> ParallelRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.close()
        self.executor.close()
