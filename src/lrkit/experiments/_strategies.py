"""Strategies: an optimizer, an LR schedule (and momentum, batch-size plans) as one value.

A :class:`Strategy` is a frozen dataclass that round-trips through a plain dict
(``to_config``/``from_config``), so users write their own in TOML or JSON::

    [strategies.my-step]
    optimizer = "sgd"
    optimizer_kwargs = { momentum = 0.9, nesterov = true }
    lr = "step(lr=0.1, step_size=10, gamma=0.1)"   # a spec, or a config table
    clock = "epoch"
    batch_size = 64
    controller = "reduce_on_plateau(factor=0.1, patience=3)"   # optional: reactive

Built-in strategies are factories ``factory(ctx) -> Strategy`` registered by name
(:func:`register_strategy`) that size their schedule from a
:class:`StrategyContext` (epoch budget, batch size, training-set size, and an
optional base LR ``ctx.lr`` chosen by the user or by a range test).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._config import ConfigError, from_config, parse_spec
from ..schedules import Schedule
from ._optimizers import is_optimizer_spec
from ._registry import Registry

__all__ = [
    "STRATEGIES",
    "Strategy",
    "StrategyContext",
    "get_strategy",
    "load_strategies",
    "register_strategy",
    "registered_strategies",
]

CLOCKS = ("epoch", "step")


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        raise TypeError(f"optimizer_kwargs values must be numbers, bools or lists, got {value!r}")
    return value


def _as_schedule(name: str, value: Any) -> Schedule:
    if isinstance(value, str):
        value = parse_spec(value)
    elif isinstance(value, Mapping):
        value = from_config(dict(value))
    if not isinstance(value, Schedule):
        raise TypeError(f"{name} must be a Schedule, a spec or a config, got {value!r}")
    return value


def _as_batch_size(value: Any) -> Any:
    if isinstance(value, str):
        value = parse_spec(value)
    elif isinstance(value, Mapping):
        value = from_config(dict(value))
    if isinstance(value, bool):
        raise TypeError(f"batch_size must be an int or a batch-size schedule, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"batch_size must be >= 1, got {value!r}")
        return value
    from ..batch_size import BatchSchedule

    if isinstance(value, BatchSchedule):
        return value
    raise TypeError(f"batch_size must be an int or a BatchSchedule, got {value!r}")


@dataclass(frozen=True)
class Strategy:
    """How to train: optimizer, LR schedule, clock, batch size and optional momentum.

    Per optimizer update at time ``t`` the trainer sets each param group's
    ``lr = lr_schedule(t)`` (and the momentum, or Adam's ``beta1``, to
    ``momentum(t)`` when given), where ``t`` is fractional epochs
    ``samples_seen / train_size`` on the ``"epoch"`` clock or the number of updates
    done on the ``"step"`` clock. The size of every batch is ``batch_size`` at the
    batch's start (a :class:`~lrkit.torch.ScheduledLoader` reads the data).

    Args:
        name: label used in tables and file names (letters, digits, ``-``, ``_``, ``.``).
        optimizer: a name of the optimizer registry (every ``torch.optim``
            optimizer by its lower-case name, the LR-free ones such as
            ``schedulefree-adamw`` or ``prodigy``) or ``package.module:Class``.
        lr: the learning-rate schedule (a Schedule, a spec string or a config dict).
        optimizer_kwargs: the optimizer's other hyper-parameters, e.g.
            ``{"momentum": 0.9}``; stored as sorted ``(key, value)`` pairs so the
            strategy stays hashable.
        clock: ``"epoch"`` (default) or ``"step"``.
        batch_size: an int, or a :class:`~lrkit.batch_size.BatchSchedule` (a spec
            string or config dict is parsed into one).
        momentum: optional momentum schedule (SGD ``momentum``, RMSprop
            ``momentum``, Adam ``beta1``).
        controller: ``None``, or a reactive rule the trainer consults while it trains
            (:class:`~lrkit.schedules.ReduceOnPlateau`,
            :class:`~lrkit.batch_size.BatchOnPlateau`, or any type given a driver with
            :func:`~lrkit.experiments.register_controller`; a spec string or config
            dict is parsed). It scales the LR schedule and may change the batch size,
            from the validation loss (see ``lrkit.experiments._controllers``).
        description: one line for reports.

    Raises:
        ValueError, TypeError: a bad field, named in the message.

    Example:
        >>> from lrkit.schedules import Constant
        >>> s = Strategy("sgd-const", "sgd", Constant(0.1), {"momentum": 0.9})
        >>> s.optimizer_options
        {'momentum': 0.9}
        >>> Strategy.from_config(s.to_config()) == s
        True
    """

    name: str
    optimizer: str
    lr: Schedule
    optimizer_kwargs: Any = ()
    clock: str = "epoch"
    batch_size: Any = 64
    momentum: Schedule | None = None
    description: str = ""
    controller: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9][\w.\-]*", self.name):
            raise ValueError(f"name must be letters, digits, '-', '_' or '.', got {self.name!r}")
        if not is_optimizer_spec(self.optimizer):
            raise ValueError(
                "optimizer must be a registered name (lrkit compare --help lists them) or "
                f"'package.module:Class', got {self.optimizer!r}"
            )
        object.__setattr__(self, "lr", _as_schedule("lr", self.lr))
        kwargs = self.optimizer_kwargs
        if isinstance(kwargs, Mapping):
            kwargs = kwargs.items()
        try:
            pairs = tuple(sorted((str(k), _freeze(v)) for k, v in kwargs))
        except (TypeError, ValueError):
            bad = self.optimizer_kwargs
            raise TypeError(
                f"optimizer_kwargs must be a dict of hyper-parameters, got {bad!r}"
            ) from None
        if "lr" in dict(pairs):
            raise ValueError("optimizer_kwargs must not hold 'lr': the schedule sets it")
        object.__setattr__(self, "optimizer_kwargs", pairs)
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be 'epoch' or 'step', got {self.clock!r}")
        object.__setattr__(self, "batch_size", _as_batch_size(self.batch_size))
        if self.momentum is not None:
            object.__setattr__(self, "momentum", _as_schedule("momentum", self.momentum))
        if not isinstance(self.description, str):
            raise TypeError(f"description must be a string, got {self.description!r}")
        if self.controller is not None:
            from ._controllers import controller_driver

            rule = self.controller
            if isinstance(rule, str):
                rule = parse_spec(rule)
            elif isinstance(rule, Mapping):
                rule = from_config(dict(rule))
            object.__setattr__(self, "controller", rule)
            controller_driver(rule).check(self.batch_size)

    @property
    def optimizer_options(self) -> dict[str, Any]:
        """The optimizer's hyper-parameters (without ``lr``) as a dict."""
        return dict(self.optimizer_kwargs)

    def batch_size_at(self, epoch: float) -> int:
        """The batch size for the epoch starting at ``epoch`` (fractional epochs)."""
        if isinstance(self.batch_size, int):
            return self.batch_size
        value = self.batch_size(epoch)
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"batch_size({epoch}) must be an int >= 1, got {value!r}")
        return int(value)

    def to_config(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict; :meth:`from_config` rebuilds the strategy."""

        def plain(v: Any) -> Any:
            return [plain(x) for x in v] if isinstance(v, tuple) else v

        bs = self.batch_size
        config = {
            "name": self.name,
            "optimizer": self.optimizer,
            "optimizer_kwargs": {k: plain(v) for k, v in self.optimizer_kwargs},
            "lr": self.lr.to_config(),
            "clock": self.clock,
            "batch_size": bs if isinstance(bs, int) else bs.to_config(),
            "momentum": None if self.momentum is None else self.momentum.to_config(),
            "description": self.description,
        }
        if self.controller is not None:  # absent otherwise: older run keys stay the same
            config["controller"] = self.controller.to_config()
        return config

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, name: str | None = None) -> Strategy:
        """Build a strategy from a dict (as written by :meth:`to_config`, or by hand).

        ``lr``, ``momentum`` and ``batch_size`` may be specs (``"step(lr=0.1,
        step_size=10)"``) or config dicts; ``name`` fills in a missing ``"name"``.

        Raises:
            ValueError: unknown or missing keys, or a bad field (named).
        """
        if not isinstance(config, Mapping):
            raise ValueError(f"a strategy config must be a table/dict, got {config!r}")
        data = dict(config)
        if name is not None:
            data.setdefault("name", name)
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(
                f"strategy {data.get('name')!r}: unknown key {unknown[0]!r}; "
                f"expected some of {sorted(fields)}"
            )
        missing = [k for k in ("name", "optimizer", "lr") if k not in data]
        if missing:
            raise ValueError(f"strategy {data.get('name')!r}: missing key {missing[0]!r}")
        try:
            return cls(**data)
        except ConfigError as exc:
            raise ValueError(f"strategy {data.get('name')!r}: {exc}") from None


@dataclass(frozen=True)
class StrategyContext:
    """What a strategy factory may size its schedule by.

    Args:
        epochs: the epoch budget.
        batch_size: the base batch size.
        train_size: number of training examples.
        lr: a base LR chosen by the user or a range test; ``None`` means the
            strategy's own default.
        task: the task's name (factories may tune defaults per task).
    """

    epochs: int
    batch_size: int = 64
    train_size: int = 4000
    lr: float | None = None
    task: str = ""

    def __post_init__(self) -> None:
        for field in ("epochs", "batch_size", "train_size"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{field} must be an int >= 1, got {value!r}")
        if self.lr is not None and not (
            isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0
        ):
            raise ValueError(f"lr must be a number > 0 or None, got {self.lr!r}")

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer updates per epoch at the base batch size (last batch kept)."""
        return math.ceil(self.train_size / self.batch_size)

    def replace(self, **changes: Any) -> StrategyContext:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


StrategyFactory = Callable[[StrategyContext], Strategy]


def _check_factory(factory: object) -> None:
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {factory!r}")


STRATEGIES: Registry[StrategyFactory] = Registry(
    "strategy", group="lrkit.strategies", check=_check_factory
)


def register_strategy(name: str, factory: StrategyFactory, help: str = "") -> None:
    """Register a named strategy: ``factory(ctx) -> Strategy``; ``help`` is one line.

    Registering a name again replaces it. Plug-in packages register strategies under
    the entry-point group ``lrkit.strategies``.
    """
    STRATEGIES.register(name, factory, help)


def registered_strategies() -> dict[str, str]:
    """Registered strategy names and their help, in registration order."""
    return STRATEGIES.help()


def get_strategy(name: str, ctx: StrategyContext) -> Strategy:
    """Build the registered strategy ``name`` for the context ``ctx``.

    Raises:
        ValueError: unknown name (the message lists the known ones).

    Example:
        >>> get_strategy("adam", StrategyContext(epochs=10)).lr
        Constant(lr=0.01)
    """
    strategy = STRATEGIES.get(name)(ctx)
    if not isinstance(strategy, Strategy):
        raise TypeError(f"strategy factory {name!r} returned {type(strategy).__name__}")
    return strategy


def load_strategies(path: str | Path) -> list[Strategy]:
    """Read strategies from a TOML or JSON file.

    The file holds a table ``strategies`` mapping names to strategy tables (or a
    list of tables with a ``name`` each). See the module docstring for an example.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not TOML/JSON, malformed, or a bad strategy (named).
    """
    path = Path(path)
    text = path.read_text()
    if path.suffix.lower() == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: invalid TOML: {exc}") from None
    elif path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: invalid JSON: {exc}") from None
    else:
        raise ValueError(f"strategy file must end in .toml or .json, got {str(path)!r}")
    body = data.get("strategies") if isinstance(data, dict) else None
    if isinstance(body, Mapping):
        items = [(name, cfg) for name, cfg in body.items()]
    elif isinstance(body, list):
        items = [(None, cfg) for cfg in body]
    else:
        raise ValueError(f"{path}: expected a 'strategies' table or list")
    if not items:
        raise ValueError(f"{path}: no strategies defined")
    out = []
    for name, cfg in items:
        try:
            out.append(Strategy.from_config(cfg, name=name))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None
    return out


def _sgd(ctx: StrategyContext, name: str, lr: Schedule, description: str) -> Strategy:
    return Strategy(
        name=name,
        optimizer="sgd",
        lr=lr,
        optimizer_kwargs={"momentum": 0.9},
        batch_size=ctx.batch_size,
        description=description,
    )


# Defaults chosen by a short check on mnist1d (batch 64, 30 epochs, constant LR, one seed;
# the grid and its accuracies are in docs/lab.md): the best LR of a small grid each.
SGD_LR = 0.05  # SGD momentum 0.9; grid 0.01-0.2
# Decays start higher (grid 0.05, 0.1, 0.2; two seeds): they have less time at a large LR.
DECAY_LR = {"time-decay": 0.2, "exp-decay": 0.2, "step-decay": 0.1}
ADAPTIVE_LR = {"adagrad": 0.1, "adadelta": 10.0, "rmsprop": 0.01, "adam": 0.01}


def _constant(ctx: StrategyContext) -> Strategy:
    from ..schedules import Constant

    lr = ctx.lr or SGD_LR
    return _sgd(ctx, "constant", Constant(lr), f"SGD momentum 0.9, constant lr {lr:g}")


def _time_decay(ctx: StrategyContext) -> Strategy:
    from ..schedules import InverseTimeDecay

    lr = ctx.lr or DECAY_LR["time-decay"]
    # lr / (1 + rate * t) ends at lr / 10: the hyperbola front-loads its decay, and ending
    # at 1/100 leaves 1/10 of the LR after a tenth of the budget (76% vs 93% on mnist1d).
    rate = 9.0 / ctx.epochs
    return _sgd(
        ctx,
        "time-decay",
        InverseTimeDecay(lr=lr, decay_rate=rate, decay_steps=1.0),
        f"SGD momentum 0.9, lr {lr:g} / (1 + {rate:.3g} t), 1/10 at the end",
    )


def _exp_decay(ctx: StrategyContext) -> Strategy:
    from ..schedules import ExponentialDecay

    lr = ctx.lr or DECAY_LR["exp-decay"]
    return _sgd(
        ctx,
        "exp-decay",
        ExponentialDecay(lr=lr, decay_rate=0.01, decay_steps=float(ctx.epochs)),
        f"SGD momentum 0.9, lr {lr:g} * 0.01^(t/{ctx.epochs})",
    )


def _step_decay(ctx: StrategyContext) -> Strategy:
    from ..schedules import StepDecay

    lr = ctx.lr or DECAY_LR["step-decay"]
    step = ctx.epochs / 3  # two drops, at 1/3 and 2/3 of the budget
    step = int(step) if step.is_integer() else step
    return _sgd(
        ctx,
        "step-decay",
        StepDecay(lr=lr, step_size=step, gamma=0.1),
        f"SGD momentum 0.9, lr {lr:g} x 0.1 every {step:g} epochs",
    )


def _cyclic(ctx: StrategyContext) -> Strategy:
    from ..schedules import Cyclic

    max_lr = 2 * (ctx.lr or SGD_LR)
    cycles = max(1, round(ctx.epochs / 10))
    step = ctx.epochs / (2 * cycles)  # whole cycles: training ends at base_lr
    return _sgd(
        ctx,
        "cyclic",
        Cyclic(base_lr=max_lr / 4, max_lr=max_lr, step_size=step, mode="triangular2"),
        f"SGD momentum 0.9, triangular2 cycle {max_lr / 4:g}..{max_lr:g}, "
        f"step size {step:g} epochs",
    )


def _one_cycle(ctx: StrategyContext) -> Strategy:
    from ..schedules import OneCycle

    max_lr = 2 * (ctx.lr or SGD_LR)
    # OneCycle(total_steps=N) is torch's OneCycleLR: step N - 1, the last of N updates,
    # is at the minimum. On the epoch clock t runs over [0, E) and the cycle must end
    # where training ends, at t = E: N = E + 1 (with N = E the last epoch trained at
    # max_lr / 25e4).
    return _sgd(
        ctx,
        "one-cycle",
        OneCycle(max_lr=max_lr, total_steps=float(ctx.epochs + 1)),
        f"SGD momentum 0.9, one cycle up to {max_lr:g} over {ctx.epochs} epochs",
    )


def _adaptive(name: str) -> StrategyFactory:
    def factory(ctx: StrategyContext) -> Strategy:
        from ..schedules import Constant

        lr = ctx.lr or ADAPTIVE_LR[name]
        return Strategy(
            name=name,
            optimizer=name,
            lr=Constant(lr),
            batch_size=ctx.batch_size,
            description=f"{name} (torch defaults otherwise), constant lr {lr:g}",
        )

    return factory


# Modern and LR-free strategies. Defaults: AdamW 3e-3, weight decay 0.01, 5% linear
# warm-up then cosine to 0 at t = E; Schedule-Free AdamW at its authors' lr 0.0025
# with 5% warm-up (their warmup_steps, in optimizer steps); Prodigy and D-Adapt Adam at
# lr 1 (a multiplier of their own step-size estimate), as their authors advise.
ADAMW_LR = 3e-3
SCHEDULE_FREE_LR = 2.5e-3
WARMUP_FRACTION = 0.05


def _adamw_warmup_cosine(ctx: StrategyContext) -> Strategy:
    from ..schedules import CosineDecay, Warmup

    lr = ctx.lr or ADAMW_LR
    warm = WARMUP_FRACTION * ctx.epochs
    return Strategy(
        name="adamw-warmup-cosine",
        optimizer="adamw",
        lr=Warmup(CosineDecay(lr=lr, total_steps=ctx.epochs - warm), warmup_steps=warm),
        optimizer_kwargs={"weight_decay": 0.01},
        batch_size=ctx.batch_size,
        description=f"AdamW (wd 0.01), {warm:g}-epoch linear warm-up to {lr:g}, cosine to 0",
    )


def _schedule_free_adamw(ctx: StrategyContext) -> Strategy:
    from ..schedules import Constant

    lr = ctx.lr or SCHEDULE_FREE_LR
    warm = max(1, round(WARMUP_FRACTION * ctx.epochs * ctx.steps_per_epoch))
    return Strategy(
        name="schedule-free-adamw",
        optimizer="schedulefree-adamw",
        lr=Constant(lr),
        optimizer_kwargs={"warmup_steps": warm},
        batch_size=ctx.batch_size,
        description=f"Schedule-Free AdamW, lr {lr:g}, {warm} warm-up steps, no schedule",
    )


def _lr_free(name: str, optimizer: str, label: str) -> StrategyFactory:
    def factory(ctx: StrategyContext) -> Strategy:
        from ..schedules import Constant

        lr = ctx.lr or 1.0
        return Strategy(
            name=name,
            optimizer=optimizer,
            lr=Constant(lr),
            batch_size=ctx.batch_size,
            description=f"{label}, lr multiplier {lr:g} (its own step size)",
        )

    return factory


register_strategy("constant", _constant, "SGD momentum 0.9, constant LR 0.05 (the baseline)")
register_strategy("time-decay", _time_decay, "SGD, 0.2 / (1 + k t), ending at 1/10")
register_strategy("exp-decay", _exp_decay, "SGD, 0.2 * 0.01^(t/E), ending at 1/100")
register_strategy("step-decay", _step_decay, "SGD, 0.1 x 0.1 every E/3 epochs (1/100 at the end)")
register_strategy("cyclic", _cyclic, "SGD, triangular2 cycles 0.025..0.1, step about 5 epochs")
register_strategy("one-cycle", _one_cycle, "SGD, one cycle over the budget peaking at 0.1")
for _name in ("adagrad", "adadelta", "rmsprop", "adam"):
    register_strategy(_name, _adaptive(_name), f"{_name}, constant LR {ADAPTIVE_LR[_name]:g}")

register_strategy(
    "adamw-warmup-cosine", _adamw_warmup_cosine, "AdamW 3e-3, 5% warm-up, cosine to 0"
)
register_strategy(
    "schedule-free-adamw", _schedule_free_adamw, "Schedule-Free AdamW 0.0025 (lrkit[lrfree])"
)
register_strategy(
    "prodigy", _lr_free("prodigy", "prodigy", "Prodigy"), "Prodigy, lr 1 (lrkit[lrfree])"
)
register_strategy(
    "dadapt-adam",
    _lr_free("dadapt-adam", "dadapt-adam", "D-Adaptation Adam"),
    "D-Adaptation Adam, lr 1 (lrkit[lrfree])",
)


# Warm-up-stable-decay (Hägele et al. 2024): 5% linear warm-up, constant, then a 1-sqrt
# cooldown over the last 20% to 0, from 0.1 (step decay's start; better than 0.05 on
# mnist1d, tied on diabetes). Reactive strategies: the LR (and the batch) answer plateaus
# of the validation loss; patience E/10 epochs, threshold 1e-3 relative, the LR scale
# floored at 1/1000, from 0.1 (a rule can cut an LR that is too high, never raise one too
# low). Checked on diabetes and mnist1d, 3 seeds (docs/lab.md, "Reactive strategies").
WSD_LR = 0.1
PLATEAU_LR = 0.1


def _wsd(ctx: StrategyContext) -> Strategy:
    from ..schedules import WarmupStableDecay

    lr = ctx.lr or WSD_LR
    warm = WARMUP_FRACTION * ctx.epochs
    return _sgd(
        ctx,
        "wsd",
        WarmupStableDecay(
            lr=lr,
            total_steps=ctx.epochs,
            warmup_steps=warm,
            decay_fraction=0.2,
            decay_shape="1-sqrt",
        ),
        f"SGD momentum 0.9, {warm:g}-epoch warm-up to {lr:g}, constant, 1-sqrt cooldown "
        "over the last 20%",
    )


def _patience(ctx: StrategyContext) -> int:
    return max(1, ctx.epochs // 10)


def _plateau(ctx: StrategyContext) -> Strategy:
    from ..schedules import Constant, ReduceOnPlateau

    lr, patience = ctx.lr or PLATEAU_LR, _patience(ctx)
    rule = ReduceOnPlateau(factor=0.1, patience=patience, threshold=1e-3, min_lr=1e-3)
    return Strategy(
        name="plateau",
        optimizer="sgd",
        lr=Constant(lr),
        optimizer_kwargs={"momentum": 0.9},
        batch_size=ctx.batch_size,
        controller=rule,
        description=f"SGD momentum 0.9, lr {lr:g} x 0.1 when the validation loss has not "
        f"improved for {patience + 1} epochs (floor lr / 1000)",
    )


def _plateau_batch(ctx: StrategyContext) -> Strategy:
    from ..batch_size import BatchOnPlateau
    from ..schedules import Constant, ReduceOnPlateau

    lr, patience = ctx.lr or PLATEAU_LR, _patience(ctx)
    # the batch may grow 25x (two plateaus at factor 0.2), to at most a quarter of the set
    cap = max(ctx.batch_size, min(25 * ctx.batch_size, ctx.train_size // 4))
    plateau = ReduceOnPlateau(factor=0.2, patience=patience, threshold=1e-3, min_lr=1e-3)
    return Strategy(
        name="plateau-batch",
        optimizer="sgd",
        lr=Constant(lr),
        optimizer_kwargs={"momentum": 0.9},
        batch_size=ctx.batch_size,
        controller=BatchOnPlateau(plateau, batch_size=ctx.batch_size, max_batch_size=cap),
        description=f"SGD momentum 0.9, lr {lr:g}; on a validation-loss plateau "
        f"({patience + 1} epochs) the batch grows x5 up to {cap}, then the LR / 5",
    )


register_strategy("wsd", _wsd, "SGD 0.1, 5% warm-up, constant, 1-sqrt cooldown over the last 20%")
register_strategy(
    "plateau", _plateau, "SGD 0.1, LR x 0.1 on a validation-loss plateau (patience E/10)"
)
register_strategy(
    "plateau-batch",
    _plateau_batch,
    "SGD 0.1, batch x5 on a validation-loss plateau up to 25x, then LR / 5",
)

# Compare's default: the seed's strategies.
SEED_STRATEGIES = (
    "constant",
    "time-decay",
    "exp-decay",
    "step-decay",
    "cyclic",
    "one-cycle",
    "adagrad",
    "adadelta",
    "rmsprop",
    "adam",
)
