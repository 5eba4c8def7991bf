"""A registry of paper reproductions run by ``lrkit reproduce NAME``.

A reproduction is ``func(out, *, quick, seeds, resume, overwrite, progress, command,
threads)`` returning the path of its ``report.md``. It writes the same run-folder layout as
:func:`~lrkit.experiments.compare` (usually by calling it) and adds its own
verdict to the report. ``seeds`` is ``None`` for the reproduction's default;
``threads`` is the number of torch CPU threads to train with (``None``: leave
torch's setting).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

__all__ = ["Reproduction", "get_reproduction", "register_reproduction", "registered_reproductions"]

Reproduction = Callable[..., Path]

_REPRODUCTIONS: dict[str, tuple[Reproduction, str]] = {}


def register_reproduction(name: str, func: Reproduction, help: str = "") -> None:
    """Register ``func`` as ``lrkit reproduce NAME``; ``help`` is one line."""
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9\-_]*", name):
        raise ValueError(f"reproduction name must be a lower-case word, got {name!r}")
    if not callable(func):
        raise TypeError(f"func must be callable, got {func!r}")
    _REPRODUCTIONS[name] = (func, help)


def registered_reproductions() -> dict[str, str]:
    """Registered reproductions and their help, sorted by name."""
    from ._registry import load_plugins

    load_plugins()
    return {name: _REPRODUCTIONS[name][1] for name in sorted(_REPRODUCTIONS)}


def get_reproduction(name: str) -> Reproduction:
    """The reproduction registered as ``name``.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    known = registered_reproductions()
    if name not in known:
        raise ValueError(f"unknown reproduction {name!r}; known: {', '.join(known) or 'none'}")
    return _REPRODUCTIONS[name][0]
