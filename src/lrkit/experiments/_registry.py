"""Where colleagues' built-ins plug into the lab without editing the lab's modules.

Modules listed in :data:`PLUGINS` are imported (once, if they exist) before any
registry is read; each registers its tasks, strategies, LR finders or
reproductions at import time with the ``register_*`` functions. A module that is
missing is skipped; one that fails to import raises, so a bug is not hidden.
"""

from __future__ import annotations

import importlib
import importlib.util

__all__ = ["PLUGINS", "load_plugins"]

# Add one line per module that registers built-ins.
PLUGINS: tuple[str, ...] = (
    "lrkit.experiments._you2019",
    "lrkit.experiments._batch_strategies",
    "lrkit.experiments._smith2018",
    "lrkit.experiments._range_test_strategies",
    "lrkit.experiments._range_test_tasks",
)

_loaded = False


def load_plugins() -> None:
    """Import every module of :data:`PLUGINS` that exists (idempotent)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in PLUGINS:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
