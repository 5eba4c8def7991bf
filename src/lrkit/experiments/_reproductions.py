"""A registry of paper reproductions run by ``lrkit reproduce NAME``.

A reproduction is ``func(out, *, quick, seeds, resume, overwrite, progress, command,
threads)`` returning the path of its ``report.md``. It writes the same run-folder layout as
:func:`~lrkit.experiments.compare` (usually by calling it) and adds its own
verdict to the report. ``seeds`` is ``None`` for the reproduction's default;
``threads`` is the number of torch CPU threads to train with (``None``: leave
torch's setting). A reproduction may also take ``on_trial`` (passed on to
``compare``): ``lrkit reproduce`` then prints a line per finished trial.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ._registry import Registry

__all__ = [
    "REPRODUCTIONS",
    "Reproduction",
    "get_reproduction",
    "register_reproduction",
    "registered_reproductions",
]

Reproduction = Callable[..., Path]


def _check_func(func: object) -> None:
    if not callable(func):
        raise TypeError(f"func must be callable, got {func!r}")


REPRODUCTIONS: Registry[Reproduction] = Registry("reproduction", check=_check_func)


def register_reproduction(name: str, func: Reproduction, help: str = "") -> None:
    """Register ``func`` as ``lrkit reproduce NAME``; ``help`` is one line."""
    REPRODUCTIONS.register(name, func, help)


def registered_reproductions() -> dict[str, str]:
    """Registered reproductions and their help, sorted by name."""
    known = REPRODUCTIONS.help()
    return {name: known[name] for name in sorted(known)}


def get_reproduction(name: str) -> Reproduction:
    """The reproduction registered as ``name``.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    return REPRODUCTIONS.get(name)
