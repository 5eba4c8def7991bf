"""Helpers shared by the subcommands."""

from __future__ import annotations

__all__ = ["CLIError"]


class CLIError(Exception):
    """An error the user can fix; the CLI prints its message as one line."""
