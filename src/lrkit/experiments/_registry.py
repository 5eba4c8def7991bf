"""Built-ins that live in modules of their own, registered before any registry is read.

Each module listed in :data:`PLUGINS` registers its tasks, strategies, LR finders
or reproductions at import time with the ``register_*`` functions. They are
imported lazily, on the first look-up, so that ``import lrkit.experiments`` stays
cheap; an import error is raised, never hidden.
"""

from __future__ import annotations

import importlib

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
    """Import every module of :data:`PLUGINS` (idempotent)."""
    global _loaded
    if _loaded:
        return
    for name in PLUGINS:
        importlib.import_module(name)
    _loaded = True
