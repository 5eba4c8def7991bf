"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse

__all__ = ["CLIError", "positive_int"]


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
