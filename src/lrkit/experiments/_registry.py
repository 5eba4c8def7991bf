"""One registry type for the lab's tasks, strategies, optimizers, LR finders and reproductions.

A :class:`Registry` maps lower-case names to entries with a one-line help. The
built-in entries are registered by explicit ``register()`` calls in the modules
that define them; :func:`load_builtins` imports those modules (plain ``import``
statements, no module names held as strings). Third-party packages add entries
through ``importlib.metadata`` entry points, one group per registry
(``lrkit.tasks``, ``lrkit.strategies``, ``lrkit.optimizers``)::

    # the plug-in's pyproject.toml
    [project.entry-points."lrkit.tasks"]
    my-task = "my_package.tasks:make_task"

The entry point's name is the registry name, the object it loads is the entry, and
the first line of that object's docstring is its help. A plug-in that fails to
load raises, naming the entry point: it is never skipped silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["Registry", "load_builtins"]

T = TypeVar("T")

_NAME = re.compile(r"[a-z0-9][a-z0-9_\-.]*")


class Registry(Generic[T]):
    """Names to entries (with a one-line help), filled by ``register`` and entry points.

    Args:
        kind: what the entries are, for messages (``"task"``).
        group: the ``importlib.metadata`` entry-point group read on first look-up,
            or ``None`` for a registry without plug-ins.
        check: called on every entry before it is stored; raises ``TypeError`` for
            a bad one. Entry points go through it too.
        adapt: turns an object loaded from an entry point into an entry (default:
            the object itself).

    Example:
        >>> r: Registry[int] = Registry("number")
        >>> r.register("one", 1, "the first")
        >>> r.get("one"), r.help()
        (1, {'one': 'the first'})
        >>> r.get("two")
        Traceback (most recent call last):
        ...
        ValueError: unknown number 'two'; known: one
    """

    def __init__(
        self,
        kind: str,
        *,
        group: str | None = None,
        check: Callable[[object], None] | None = None,
        adapt: Callable[[str, object], T] | None = None,
    ) -> None:
        self.kind = kind
        self.group = group
        self._check = check
        self._adapt = adapt
        self._entries: dict[str, tuple[T, str]] = {}
        self._plugins_loaded = group is None

    def register(self, name: str, entry: T, help: str = "") -> None:
        """Add ``entry`` under ``name``; registering a name again replaces it.

        Raises:
            ValueError: ``name`` is not a lower-case word (letters, digits, ``-_.``).
            TypeError: ``help`` is not a string, or ``check`` refused the entry.
        """
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"{self.kind} name must be a lower-case word, got {name!r}")
        if not isinstance(help, str):
            raise TypeError(f"help must be a string, got {help!r}")
        if self._check is not None:
            self._check(entry)
        self._entries[name] = (entry, help)

    def _load(self) -> None:
        load_builtins()
        if self._plugins_loaded or self.group is None:
            return
        self._plugins_loaded = True  # set first: a plug-in may itself read the registry
        from importlib.metadata import entry_points

        for point in entry_points(group=self.group):
            try:
                obj = point.load()
            except Exception as exc:  # the plug-in's own import failed: say which one
                raise ImportError(
                    f"{self.kind} plug-in {point.name!r} ({point.value}, entry point group "
                    f"{self.group!r}) failed to load: {type(exc).__name__}: {exc}"
                ) from exc
            entry = obj if self._adapt is None else self._adapt(point.name, obj)
            doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
            self.register(point.name, entry, doc[0] if doc else f"from {point.value}")

    def get(self, name: str) -> T:
        """The entry called ``name``.

        Raises:
            ValueError: unknown name (the message lists the known ones).
        """
        self._load()
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(self._entries)}")
        return self._entries[name][0]

    def help(self) -> dict[str, str]:
        """Every name and its one-line help, in registration order."""
        self._load()
        return {name: help for name, (_, help) in self._entries.items()}

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(list(self._entries))

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"


_builtins_loaded = False


def load_builtins() -> None:
    """Import the modules that register built-ins (idempotent, on first look-up).

    They are imported here rather than by ``lrkit.experiments`` itself so that
    importing the package stays cheap; an import error is raised, never hidden.
    """
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True  # set first: these modules read registries while they load
    try:
        # One line per module that registers built-ins.
        from . import (  # noqa: F401
            _batch_strategies,
            _lr_finder,
            _smith2018,
            _you2019,
            tasks,
        )
        from .tasks import _range_test_tasks  # noqa: F401
    except BaseException:
        _builtins_loaded = False
        raise
