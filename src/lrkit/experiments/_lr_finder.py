"""The range test in the lab: run it on a task, and let ``compare --lr auto`` use it.

:func:`task_range_test` runs :func:`lrkit.torch.range_test` on a lab task with a fresh
model (seeded), the strategy's optimizer and batch size. The ``auto`` LR finder
(``lrkit compare --lr auto``) gives every strategy the range test's answer for the way
it uses its base LR (:func:`register_lr_role`); strategies sharing an optimizer and
batch size share one test.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..range_test import SCHEDULES, NoSuggestionError, RangeTestResult
from ._compare import register_lr_finder
from ._optimizers import optimizer_entry
from ._registry import Registry
from ._strategies import Strategy, StrategyContext
from ._tasks import Task

if TYPE_CHECKING:
    pass

__all__ = ["auto_lr", "finder_strategy", "lr_role", "register_lr_role", "task_range_test"]


def _check_role(role: object) -> None:
    if not isinstance(role, str) or role not in SCHEDULES:
        raise TypeError(
            f"role must be one of {', '.join(map(repr, SCHEDULES))} (the schedules "
            f"RangeTestResult.suggest answers for), got {role!r}"
        )


LR_ROLES: Registry[str] = Registry("strategy LR role", check=_check_role)


def register_lr_role(strategy: str, role: str) -> None:
    """Declare how the registered strategy ``strategy`` uses its base LR ``ctx.lr``.

    ``role`` is a schedule of :meth:`RangeTestResult.suggest`'s ``for_schedule``:
    ``"constant"`` (the default for an undeclared strategy) when ``ctx.lr`` is the LR
    it trains at, or sets its own relation to it, such as one-cycle's and cyclic's
    ``max_lr = 2 * ctx.lr``; ``"cosine"``, ``"linear"``, ``"onecycle"`` or ``"wsd"``
    when ``ctx.lr`` is the *peak* of that decaying schedule. ``--lr auto`` then gives
    the strategy ``result.suggest(for_schedule=role)``.

    Raises:
        TypeError: ``role`` is not one of those schedules.
        ValueError: ``strategy`` is not a lower-case name.

    Example:
        >>> register_lr_role("my-cosine", "cosine")
        >>> lr_role("my-cosine"), lr_role("an-undeclared-one")
        ('cosine', 'constant')
    """
    LR_ROLES.register(strategy, role)


def lr_role(strategy: str) -> str:
    """How the registered strategy ``strategy`` uses ``ctx.lr`` (:func:`register_lr_role`)."""
    return LR_ROLES.get(strategy) if strategy in LR_ROLES else "constant"


def finder_strategy(
    optimizer: str = "sgd", batch_size: int = 64, optimizer_kwargs: Mapping[str, Any] | None = None
) -> Strategy:
    """A strategy for a stand-alone range test: ``sgd`` gets momentum 0.9 unless told otherwise."""
    from ..schedules import Constant

    kwargs = dict(optimizer_kwargs or {})
    if optimizer == "sgd":
        kwargs.setdefault("momentum", 0.9)
    return Strategy("range-test", optimizer, Constant(1e-3), kwargs, batch_size=batch_size)


def task_range_test(
    task: Task,
    strategy: Strategy,
    *,
    num_steps: int = 100,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    seed: int = 0,
    device: str = "cpu",
    **options: Any,
) -> RangeTestResult:
    """Run an LR range test on ``task`` with ``strategy``'s optimizer and first batch size.

    The model is built after ``torch.manual_seed(seed)`` (the caller's torch RNG is left
    as it was) and the batches are shuffled from ``seed``; so the same arguments give the
    same curve. ``options`` go to :func:`lrkit.torch.range_test`.

    Example:
        >>> from lrkit.experiments import get_task
        >>> task = get_task("digits", num_samples=300)
        >>> r = task_range_test(task, finder_strategy("adam", 32), num_steps=40)
        >>> len(r.lrs) <= 40
        True
    """
    import torch

    from ..torch import range_test
    from ._trainer import _make_optimizer, lab_loader

    dev = torch.device(device)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        torch.manual_seed(seed)
        model = task.model_fn().to(dev)
        optimizer = _make_optimizer(strategy, model)
        if optimizer_entry(strategy.optimizer).train_eval:
            optimizer.train()  # type: ignore[attr-defined]  # Schedule-Free: training mode
        loader = lab_loader(task.train_set, strategy.batch_size, seed=seed, device=dev)
        return range_test(
            model,
            optimizer,
            task.loss_fn,
            loader,
            start_lr=start_lr,
            end_lr=end_lr,
            num_steps=num_steps,
            device=dev,
            **options,
        )


def _describe(strategy: Strategy) -> str:
    options = ", ".join(f"{k} {v}" for k, v in strategy.optimizer_kwargs)
    batch = strategy.batch_size_at(0.0)
    return f"{strategy.optimizer}{f' ({options})' if options else ''}, batch {batch}"


_CACHE: dict[tuple[Any, ...], tuple[Task, RangeTestResult, str]] = {}


def auto_lr(task: Task, strategy: Strategy, ctx: StrategyContext, out: Path) -> tuple[float, str]:
    """The ``auto`` LR finder of :func:`lrkit.experiments.compare` (``--lr auto``).

    Runs :func:`task_range_test` (seed 0, 100 steps, 1e-7 to 10; shifted two decades up
    or down once if the curve runs off an end) for the strategy's optimizer and batch
    size, saves its plot as ``out/range_test_<optimizer>...png`` and returns
    ``result.suggest(for_schedule=lr_role(strategy.name))`` with a paragraph for the
    report: the constant-LR suggestion for a strategy that trains at ``ctx.lr``, the
    peak of its decay for one that decays from ``ctx.lr`` (see
    :func:`register_lr_role`). Strategies that share an optimizer and batch size share
    one test.

    An optimizer whose lr is a multiplier of its own step-size estimate (Prodigy,
    D-Adaptation: ``lr_is_multiplier`` in the optimizer registry) gets no range
    test: the finder returns 1.0 and says so in the report.

    Raises:
        NoSuggestionError: the range test found no reliable LR (the message says why
            and what to change); pass ``--lr`` explicitly in that case.
    """
    if optimizer_entry(strategy.optimizer).lr_is_multiplier:
        return 1.0, (
            f"### {strategy.name}: no range test\n\n`--lr auto` keeps lr = 1 for "
            f"{strategy.optimizer}: it estimates its own step size, and its lr is a multiplier "
            "of that estimate (its authors advise leaving it at 1)."
        )
    key = (id(task), strategy.optimizer, strategy.optimizer_kwargs, strategy.batch_size_at(0.0))
    cached = _CACHE.get(key)
    note = ""
    if cached is None or cached[0] is not task:
        result = _widening_range_test(task, strategy)
        parts = [strategy.optimizer, *(f"{k}{v}" for k, v in strategy.optimizer_kwargs)]
        parts.append(f"b{strategy.batch_size_at(0.0)}")
        stem = "range_test_" + "_".join(parts).replace(".", "p")
        plot = Path(out) / f"{stem}.png"
        _save_plot(result, plot)
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[key] = (task, result, plot.name)
        note = _note(result, strategy, plot.name)
    _, result, _ = _CACHE[key]
    if result.suggestion is None:
        raise NoSuggestionError(
            f"the range test for {strategy.name!r} ({_describe(strategy)}) found no reliable "
            f"learning rate: {result.reason}; give --lr explicitly"
        )
    role = lr_role(strategy.name)
    lr = result.suggest(for_schedule=role)
    if role != "constant":
        note += (
            f"\n\n`{strategy.name}` decays from its base LR ({role}): it gets the peak "
            f"answer, **{lr:.3g}** (the constant-LR suggestion was {result.suggestion:.3g})."
        ).lstrip("\n")
    return lr, note


def _widening_range_test(task: Task, strategy: Strategy) -> RangeTestResult:
    """The default sweep (1e-7 to 10); if it runs off an end, once more, shifted 2 decades.

    The result's :attr:`~lrkit.range_test.Verdict.shift` decides: a flat curve or a
    descent still steep at the last LR shifts the sweep up (1e-5 to 1e3: Adadelta, for
    one, needs LRs near 1); a descent already steep at the first LR, a loss that rose
    from the start, or a sweep that stopped before enough points shifts it down (1e-9
    to 0.1).
    """
    result = task_range_test(task, strategy)
    if result.verdict.shift < 0:
        return task_range_test(task, strategy, start_lr=1e-9, end_lr=0.1)
    if result.verdict.shift > 0:
        return task_range_test(task, strategy, start_lr=1e-5, end_lr=1e3)
    return result


def _note(result: RangeTestResult, strategy: Strategy, plot: str) -> str:
    lines = [f"### Range test: {_describe(strategy)}", ""]
    if result.suggestion is not None and result.interval is not None:
        low, high = result.interval
        lines.append(
            f"`--lr auto`: an LR range test from a fresh model (seed 0, {len(result.lrs)} of "
            f"{result.num_steps} steps from {result.lrs[0]:.3g}) suggests "
            f"**{result.suggestion:.3g}** (interval {low:.3g} to {high:.3g}; {result.reason}); "
            "every strategy with this optimizer and batch size uses it as its base LR."
        )
    else:
        lines.append(f"The range test found no reliable learning rate: {result.reason}.")
    if result.stop_reason:
        lines.append(f"The sweep stopped early: {result.stop_reason}.")
    lines += ["", f"![range test]({plot})"]
    return "\n".join(lines)


def _save_plot(result: RangeTestResult, path: Path) -> None:
    from ..plotting import plot_range_test, save_figure

    ax = plot_range_test(result, methods=("steepest", "valley"))
    save_figure(ax.figure, path)  # type: ignore[arg-type]


register_lr_finder("auto", auto_lr)
# The built-in strategies that decay from ctx.lr as their peak. The others train at
# ctx.lr, or (one-cycle, cyclic) set max_lr = 2 * ctx.lr, which is the measured
# cosine-peak relation already (docs/range_test.md).
register_lr_role("adamw-warmup-cosine", "cosine")
register_lr_role("wsd", "wsd")  # ctx.lr is the peak of its warm-up-stable-decay
