"""The ``lrkit`` command.

Each subcommand lives in its own module with a ``register(subparsers)`` function
that adds its parser and sets ``func`` to a callable taking the parsed
arguments and returning an exit code. Subcommand modules import torch and
matplotlib only inside the functions that run the command, so ``lrkit --help``
stays fast.

Errors a user can fix (bad arguments, bad specs, missing files) and faults of the
environment (an output that cannot be written, a full disk, a missing optional
package) print one line on stderr and exit with status 2 (set ``LRKIT_DEBUG=1`` to
see the traceback); Ctrl-C exits with status 130. Output paths are checked before
any work starts (:func:`~lrkit.cli._common.preflight`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from .. import __version__
from .._io import WriteError
from ._common import CLIError, MissingDependency, is_optional, missing_dependency

__all__ = ["CLIError", "build_parser", "main"]

# Subcommand modules, in the order `lrkit --help` lists them.
_COMMANDS = ("_schedule", "_compare", "_reproduce", "_find")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="lrkit",
        description=(
            "Take the guesswork out of a neural network's learning rate: "
            "schedules, comparisons, the LR range test and batch-size growth."
        ),
        epilog="Run 'lrkit COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"lrkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS:
        module = importlib.import_module(f".{name}", __name__)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("lrkit: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        line = _one_line(args.command, exc)
        if line is None or os.environ.get("LRKIT_DEBUG"):
            raise
        print(line, file=sys.stderr)
        return 2


def _one_line(command: str, exc: Exception) -> str | None:
    """The line to print for an error a user or their machine caused; None for a bug."""
    if isinstance(exc, ModuleNotFoundError) and is_optional(exc.name):
        exc = missing_dependency(command, str(exc.name))
    if isinstance(exc, MissingDependency):
        return str(exc)
    # from the OS: "PATH: REASON" rather than "[Errno N] REASON: 'PATH'"
    if isinstance(exc, OSError) and not isinstance(exc, WriteError) and exc.filename:
        return f"lrkit {command}: error: {exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, (CLIError, ValueError, TypeError, OSError)):
        return f"lrkit {command}: error: {exc}"
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
