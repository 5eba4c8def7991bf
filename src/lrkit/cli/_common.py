"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

__all__ = ["CLIError", "listing", "positive_int"]


class CLIError(Exception):
    """An error the user can fix; the CLI prints its message as one line."""


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
