"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import importlib
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

__all__ = [
    "CLIError",
    "MissingDependency",
    "check_output",
    "is_optional",
    "listing",
    "missing_dependency",
    "positive_int",
    "preflight",
]

# The optional modules the commands import, and the pip name of each.
_OPTIONAL = {
    "torch": "torch",
    "matplotlib": "matplotlib",
    "tqdm": "tqdm",
    "sklearn": "scikit-learn",
    "mnist1d": "mnist1d",
    "tomli": "tomli",
}
# The extra that brings everything a command needs.
_EXTRA = {"schedule": "plot", "find": "lab", "compare": "lab", "reproduce": "lab"}


class CLIError(Exception):
    """An error the user can fix; the CLI prints its message as one line."""


class MissingDependency(CLIError):
    """An optional package a command needs is not installed; the message says what to install."""


def positive_int(text: str) -> int:
    """An ``argparse`` type: a whole number > 0, refused with a one-line message otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number > 0, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number > 0, got {text!r}")
    return value


def listing(entries: Callable[[], Mapping[str, str]], what: str, width: int) -> str:
    """Indented ``name  help`` lines for a ``--help`` text; a broken plugin says so instead."""
    try:
        names = entries()
    except Exception as exc:  # a broken plugin must not break --help
        return f"({what} unavailable: {exc})"
    return "\n".join(f"  {name:<{width}} {help}" for name, help in names.items())


def missing_dependency(command: str, module: str) -> MissingDependency:
    """``lrkit COMMAND needs MODULE: pip install 'lrkit[EXTRA]'`` as an error to raise."""
    top = module.partition(".")[0]
    extra = _EXTRA.get(command, "all")
    return MissingDependency(
        f"lrkit {command} needs {_OPTIONAL.get(top, top)}: pip install 'lrkit[{extra}]'"
    )


def is_optional(module: str | None) -> bool:
    """Whether ``module`` (a dotted name) belongs to one of lrkit's optional dependencies."""
    return module is not None and module.partition(".")[0] in _OPTIONAL


def check_output(flag: str, path: str | os.PathLike[str], *, folder: bool = False) -> Path:
    """Refuse an output path that cannot be created and written, before any work starts.

    The probe is real: a temporary file (or, where folders are still to be made, a
    temporary folder) is created in the deepest folder of ``path`` that exists, then
    removed. So every reason the operating system has (no permission, a read-only
    file system, ``/sys``, a parent that is a regular file) shows up now, with the
    user's path, rather than after the work.

    Args:
        flag: the option's name, for the message (``"--plot"``).
        path: the file (or, with ``folder=True``, the folder) to be written.

    Raises:
        CLIError: the path cannot be written; the message names it and the reason.
    """
    target = Path(path)
    where = f"cannot write {target} ({flag})"
    try:
        if folder and target.exists() and not target.is_dir():
            raise CLIError(f"{where}: it exists and is not a folder")
        if not folder and target.is_dir():
            raise CLIError(f"{where}: it is a folder; give a file name")
        base = target if folder else target.parent
        to_make = False
        while not base.exists():
            base, to_make = base.parent, True
        if not base.is_dir():
            raise CLIError(f"{where}: {base} is a file, not a folder")
        if to_make:  # folders are to be made: can one be made here?
            probe = tempfile.mkdtemp(prefix=".lrkit-probe-", dir=base)
            os.rmdir(probe)
        else:
            fd, probe = tempfile.mkstemp(prefix=".lrkit-probe-", dir=base)
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise CLIError(f"{where}: {exc.strerror or exc}") from None
    return target


def preflight(
    command: str,
    *,
    modules: Iterable[str] = (),
    outputs: Mapping[str, str | os.PathLike[str] | None] | None = None,
    folders: Mapping[str, str | os.PathLike[str] | None] | None = None,
) -> None:
    """Check what a command needs before it starts: its optional modules, its outputs.

    ``outputs`` and ``folders`` map an option (``"--csv"``) to the path it was given
    (``None``: not given); files and folders are checked with :func:`check_output`.

    Raises:
        MissingDependency: a module cannot be imported (one line: what to install).
        CLIError: an output cannot be written.
    """
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise missing_dependency(command, name) from None
    for flag, path in (folders or {}).items():
        if path is not None:
            check_output(flag, path, folder=True)
    for flag, path in (outputs or {}).items():
        if path is not None:
            check_output(flag, path)
