"""The optimizer registry: what the lab must know about an optimizer, in one entry.

Every ``torch.optim`` optimizer is registered by its lower-case class name
(``sgd``, ``adam``, ``adamw``, ``nadam``, ``radam``, ``adamax``, ``adagrad``,
``adadelta``, ``rmsprop``, ``rprop``, ``asgd``, ``adafactor``, ``muon``); the
LR-free family of the ``lrkit[lrfree]`` extra is registered too:

=====================  =========================================  ========  ============  ==========
name                   class                                      momentum  lr            train/eval
=====================  =========================================  ========  ============  ==========
``schedulefree-adamw`` ``schedulefree.AdamWScheduleFree``         betas[0]  an LR         yes
``schedulefree-sgd``   ``schedulefree.SGDScheduleFree``           momentum  an LR         yes
``prodigy``            ``prodigyopt.Prodigy``                     betas[0]  a multiplier  no
``dadapt-adam``        ``dadaptation.DAdaptAdam``                 betas[0]  a multiplier  no
``dadapt-sgd``         ``dadaptation.DAdaptSGD``                  momentum  a multiplier  no
=====================  =========================================  ========  ============  ==========

Any other optimizer is named ``package.module:Class``; its facts are read from its
signature (a ``betas`` or ``momentum`` argument) and its methods (``train`` and
``eval`` mean it needs them), and its ``lr`` is taken for a real LR. A plug-in
package registers entries (an :class:`OptimizerEntry`, or an optimizer class)
under the entry-point group ``lrkit.optimizers``.

The facts, used by ``compare``, ``find``, the ``--lr auto`` finder and the CLI help:

- ``momentum_key``: the param-group key a momentum schedule writes (``"momentum"``,
  ``"betas"`` for ``betas[0]``, or ``None`` when the optimizer has none);
- ``lr_is_multiplier``: the optimizer estimates its own step size and ``lr`` scales
  it (keep 1.0: ``--lr auto`` does, and says so);
- ``train_eval``: call ``optimizer.train()`` before training steps and
  ``optimizer.eval()`` before evaluating, as Schedule-Free's authors document, so
  that evaluation sees the averaged weights.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._registry import Registry

if TYPE_CHECKING:
    import torch

__all__ = [
    "OPTIMIZERS",
    "OptimizerEntry",
    "make_optimizer",
    "optimizer_entry",
    "register_optimizer",
    "registered_optimizers",
]

_MOMENTUM_KEYS = (None, "momentum", "betas")
_CLASS_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


@dataclass(frozen=True)
class OptimizerEntry:
    """How to build an optimizer and what the lab must know about it.

    Args:
        build: ``build(params, lr=..., **kwargs) -> torch.optim.Optimizer``; it
            imports its package when called.
        momentum_key: ``"momentum"``, ``"betas"`` (``betas[0]``) or ``None``.
        lr_is_multiplier: ``lr`` scales a step size the optimizer estimates itself.
        train_eval: needs ``optimizer.train()`` / ``optimizer.eval()`` around
            training and evaluation.
        refuse: when not empty, why the lab cannot use it (building raises
            ``ValueError`` with this reason).

    Raises:
        TypeError, ValueError: a bad field (named).

    Example:
        >>> entry = optimizer_entry("prodigy")
        >>> entry.momentum_key, entry.lr_is_multiplier, entry.train_eval
        ('betas', True, False)
    """

    build: Callable[..., Any]
    momentum_key: str | None = None
    lr_is_multiplier: bool = False
    train_eval: bool = False
    refuse: str = ""

    def __post_init__(self) -> None:
        if not callable(self.build):
            raise TypeError(f"build must be callable, got {self.build!r}")
        if self.momentum_key not in _MOMENTUM_KEYS:
            raise ValueError(
                f"momentum_key must be 'momentum', 'betas' or None, got {self.momentum_key!r}"
            )
        for field in ("lr_is_multiplier", "train_eval"):
            if not isinstance(getattr(self, field), bool):
                raise TypeError(f"{field} must be True or False, got {getattr(self, field)!r}")
        if not isinstance(self.refuse, str):
            raise TypeError(f"refuse must be a string, got {self.refuse!r}")


class _MissingPackage(ValueError):
    """An optional optimizer package is not installed."""


def _check_entry(entry: object) -> None:
    if not isinstance(entry, OptimizerEntry):
        raise TypeError(f"an optimizer entry must be an OptimizerEntry, got {entry!r}")


def _from_class(cls: Any) -> OptimizerEntry:
    """An entry for an optimizer class whose facts are read from its signature and methods."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    key = "betas" if "betas" in params else "momentum" if "momentum" in params else None
    train_eval = callable(getattr(cls, "train", None)) and callable(getattr(cls, "eval", None))
    return OptimizerEntry(cls, momentum_key=key, train_eval=train_eval)


def _adapt(name: str, obj: object) -> OptimizerEntry:
    if isinstance(obj, OptimizerEntry):
        return obj
    if inspect.isclass(obj):
        return _from_class(obj)
    raise TypeError(
        f"optimizer plug-in {name!r} must load an OptimizerEntry or an optimizer class, got {obj!r}"
    )


OPTIMIZERS: Registry[OptimizerEntry] = Registry(
    "optimizer", group="lrkit.optimizers", check=_check_entry, adapt=_adapt
)


def register_optimizer(name: str, entry: OptimizerEntry, help: str = "") -> None:
    """Register an optimizer under ``name`` (a lower-case word); again replaces it.

    ``register_optimizer("my-sgd", OptimizerEntry(torch.optim.SGD, "momentum"), "SGD")``
    makes ``optimizer = "my-sgd"`` usable in strategies and ``lrkit find``.
    """
    OPTIMIZERS.register(name, entry, help)


def registered_optimizers() -> dict[str, str]:
    """Registered optimizer names and their one-line help, in registration order."""
    return OPTIMIZERS.help()


def is_optimizer_spec(spec: object) -> bool:
    """Whether ``spec`` names a registered optimizer or looks like ``package.module:Class``."""
    return isinstance(spec, str) and (bool(_CLASS_PATH.fullmatch(spec)) or spec in OPTIMIZERS)


def optimizer_entry(spec: str) -> OptimizerEntry:
    """The entry for a registered name or a ``package.module:Class`` path.

    Raises:
        ValueError: an unknown name, a malformed path, or a class that cannot be imported.
    """
    if not isinstance(spec, str):
        raise TypeError(f"optimizer must be a name or 'package.module:Class', got {spec!r}")
    if ":" not in spec:
        return OPTIMIZERS.get(spec)
    if not _CLASS_PATH.fullmatch(spec):
        raise ValueError(f"optimizer {spec!r} must look like 'package.module:Class'")
    module_name, _, class_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure is the user's to fix
        raise ValueError(
            f"optimizer {spec!r}: cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    cls = getattr(module, class_name, None)
    if not inspect.isclass(cls):
        raise ValueError(f"optimizer {spec!r}: module {module_name!r} has no class {class_name!r}")
    return _from_class(cls)


def make_optimizer(
    spec: str,
    params: Iterable[Any],
    *,
    lr: float,
    options: Mapping[str, Any] | None = None,
) -> torch.optim.Optimizer:
    """Build the optimizer ``spec`` over ``params`` with ``lr`` and its other options.

    Raises:
        ValueError: an unknown or refused optimizer, a missing package (with the
            extra that installs it), or options the optimizer does not accept.

    Example:
        >>> import torch
        >>> opt = make_optimizer("nadam", [torch.nn.Parameter(torch.zeros(2))], lr=0.01)
        >>> type(opt).__name__, opt.param_groups[0]["lr"]
        ('NAdam', 0.01)
    """
    import torch

    entry = optimizer_entry(spec)
    if entry.refuse:
        raise ValueError(f"optimizer {spec!r} cannot be used by the lab: {entry.refuse}")
    try:
        optimizer = entry.build(params, lr=lr, **dict(options or {}))
    except _MissingPackage:
        raise
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"optimizer {spec!r}: bad optimizer_kwargs {dict(options or {})}: {exc}"
        ) from None
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(
            f"optimizer {spec!r} built a {type(optimizer).__name__}, not a torch.optim.Optimizer"
        )
    return optimizer


# -- built-ins -------------------------------------------------------------------------


def _torch(class_name: str) -> Callable[..., Any]:
    def build(params: Iterable[Any], **kwargs: Any) -> Any:
        import torch

        return getattr(torch.optim, class_name)(params, **kwargs)

    build.__qualname__ = build.__name__ = f"torch.optim.{class_name}"
    return build


# name, torch class, momentum key, help
_TORCH = (
    ("sgd", "SGD", "momentum", "torch.optim.SGD (momentum, nesterov, weight_decay)"),
    ("adam", "Adam", "betas", "torch.optim.Adam"),
    ("adamw", "AdamW", "betas", "torch.optim.AdamW (decoupled weight decay)"),
    ("nadam", "NAdam", "betas", "torch.optim.NAdam (Nesterov Adam)"),
    ("radam", "RAdam", "betas", "torch.optim.RAdam (rectified Adam)"),
    ("adamax", "Adamax", "betas", "torch.optim.Adamax"),
    ("adagrad", "Adagrad", None, "torch.optim.Adagrad"),
    ("adadelta", "Adadelta", None, "torch.optim.Adadelta"),
    ("rmsprop", "RMSprop", "momentum", "torch.optim.RMSprop"),
    ("rprop", "Rprop", None, "torch.optim.Rprop (full-batch sign method)"),
    ("asgd", "ASGD", None, "torch.optim.ASGD (averaged SGD)"),
    ("adafactor", "Adafactor", None, "torch.optim.Adafactor"),
    ("muon", "Muon", "momentum", "torch.optim.Muon (2-D weights only)"),
)
for _name, _cls, _key, _help in _TORCH:
    register_optimizer(_name, OptimizerEntry(_torch(_cls), momentum_key=_key), _help)
register_optimizer(
    "lbfgs",
    OptimizerEntry(_torch("LBFGS"), refuse="L-BFGS needs a closure, which the lab does not pass"),
    "torch.optim.LBFGS (refused: needs a closure)",
)
register_optimizer(
    "sparseadam",
    OptimizerEntry(_torch("SparseAdam"), momentum_key="betas", refuse="it needs sparse gradients"),
    "torch.optim.SparseAdam (refused: sparse gradients only)",
)


def _lrfree(package: str, class_name: str) -> Callable[..., Any]:
    def build(params: Iterable[Any], **kwargs: Any) -> Any:
        try:
            module = importlib.import_module(package)
        except ImportError:
            raise _MissingPackage(
                f"{package} is not installed: pip install 'lrkit[lrfree]' (or {package})"
            ) from None
        return getattr(module, class_name)(params, **kwargs)

    build.__qualname__ = build.__name__ = f"{package}.{class_name}"
    return build


register_optimizer(
    "schedulefree-adamw",
    OptimizerEntry(_lrfree("schedulefree", "AdamWScheduleFree"), "betas", train_eval=True),
    "Schedule-Free AdamW (schedulefree; train/eval calls)",
)
register_optimizer(
    "schedulefree-sgd",
    OptimizerEntry(_lrfree("schedulefree", "SGDScheduleFree"), "momentum", train_eval=True),
    "Schedule-Free SGD (schedulefree; train/eval calls)",
)
register_optimizer(
    "prodigy",
    OptimizerEntry(_lrfree("prodigyopt", "Prodigy"), "betas", lr_is_multiplier=True),
    "Prodigy (prodigyopt; lr is a multiplier, keep 1)",
)
register_optimizer(
    "dadapt-adam",
    OptimizerEntry(_lrfree("dadaptation", "DAdaptAdam"), "betas", lr_is_multiplier=True),
    "D-Adaptation Adam (dadaptation; lr is a multiplier, keep 1)",
)
register_optimizer(
    "dadapt-sgd",
    OptimizerEntry(_lrfree("dadaptation", "DAdaptSGD"), "momentum", lr_is_multiplier=True),
    "D-Adaptation SGD (dadaptation; lr is a multiplier, keep 1)",
)
