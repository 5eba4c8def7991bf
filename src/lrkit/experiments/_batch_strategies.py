"""Lab strategies that grow the batch instead of decaying the LR (Smith et al. 2018).

All four start from the paper's reference schedule scaled to the epoch budget: SGD
with momentum 0.9, the LR divided by 5 at 30%, 60% and 80% of the epochs
(60/120/160 of 200 in the paper), at the context's base batch ``B0``; each keeps
the noise scale ``lr * N / (B * (1 - m))`` of that schedule at every epoch
(:func:`lrkit.batch_size.increase_batch_instead`):

- ``decaying-lr``: the reference itself (constant batch), the baseline to compare with.
- ``increase-batch``: the batch grows 5x at each milestone instead, up to the
  training-set size.
- ``hybrid``: the same with the paper's cap of about N/10; past it the LR decays.
- ``higher-lr-batch``: LR and batch 5x larger from the start, then as ``hybrid``.
- ``higher-momentum``: LR 5x larger and momentum 0.98 (batch 25x larger), then as
  ``hybrid``.
"""

from __future__ import annotations

from ..batch_size import (
    BatchPlan,
    higher_lr_batch,
    higher_momentum,
    increase_batch_instead,
)
from ..schedules import MultiStepDecay
from ._strategies import SGD_LR, Strategy, StrategyContext, register_strategy

__all__ = ["FACTOR", "MOMENTUM", "batch_cap", "milestones", "reference_schedule"]

FACTOR = 5
MOMENTUM = 0.9
HIGH_MOMENTUM = 0.98


def milestones(epochs: int) -> tuple[float, ...]:
    """The paper's milestones (60/120/160 of 200 epochs) scaled to ``epochs`` (whole epochs)."""
    out: list[int] = []
    for frac in (0.3, 0.6, 0.8):
        m = max(1, round(frac * epochs))
        out.append(max(m, out[-1] + 1) if out else m)
    return tuple(out)


def reference_schedule(ctx: StrategyContext) -> MultiStepDecay:
    """The decaying-LR schedule the batch strategies are converted from (epoch clock)."""
    return MultiStepDecay(lr=ctx.lr or SGD_LR, milestones=milestones(ctx.epochs), gamma=1 / FACTOR)


def batch_cap(ctx: StrategyContext) -> int:
    """The paper's cap on the batch size, about N/10 (never below the base batch)."""
    return max(ctx.batch_size, ctx.train_size // 10)


def _strategy(name: str, plan: BatchPlan, description: str) -> Strategy:
    momentum = MOMENTUM if plan.momentum is None else plan.momentum
    return Strategy(
        name=name,
        optimizer="sgd",
        lr=plan.lr,
        optimizer_kwargs={"momentum": momentum},
        clock="epoch",
        batch_size=plan.batch_size,
        description=description,
    )


def _decaying_lr(ctx: StrategyContext) -> Strategy:
    ref = reference_schedule(ctx)
    return Strategy(
        name="decaying-lr",
        optimizer="sgd",
        lr=ref,
        optimizer_kwargs={"momentum": MOMENTUM},
        clock="epoch",
        batch_size=ctx.batch_size,
        description=(
            f"SGD momentum 0.9, lr {ref.lr:g} / 5 at epochs "
            f"{', '.join(f'{m:g}' for m in ref.milestones)}, batch {ctx.batch_size}"
        ),
    )


def _increase_batch(ctx: StrategyContext) -> Strategy:
    ref = reference_schedule(ctx)
    cap = max(ctx.batch_size, min(ctx.train_size, ctx.batch_size * FACTOR**3))
    plan = increase_batch_instead(ref, ctx.batch_size, cap, momentum=MOMENTUM)
    return _strategy(
        "increase-batch",
        plan,
        f"SGD momentum 0.9, lr {ref.lr:g}, batch {ctx.batch_size} x5 at epochs "
        f"{', '.join(f'{m:g}' for m in ref.milestones)} (cap {cap})",
    )


def _hybrid(ctx: StrategyContext) -> Strategy:
    ref, cap = reference_schedule(ctx), batch_cap(ctx)
    plan = increase_batch_instead(ref, ctx.batch_size, cap, momentum=MOMENTUM)
    return _strategy(
        "hybrid",
        plan,
        f"SGD momentum 0.9, lr {ref.lr:g}, batch {ctx.batch_size} x5 per milestone up to "
        f"{cap} (about N/10), then the LR decays",
    )


def _higher_lr_batch(ctx: StrategyContext) -> Strategy:
    ref, cap = reference_schedule(ctx), batch_cap(ctx)
    plan = higher_lr_batch(ref, ctx.batch_size, cap, FACTOR, momentum=MOMENTUM)
    return _strategy(
        "higher-lr-batch",
        plan,
        f"SGD momentum 0.9, lr {plan.lr(0):.3g} and batch {plan.batch_size(0)} (5x), "
        f"batch x5 per milestone up to {cap}, then the LR decays",
    )


def _higher_momentum(ctx: StrategyContext) -> Strategy:
    ref, cap = reference_schedule(ctx), batch_cap(ctx)
    plan = higher_momentum(ref, ctx.batch_size, cap, MOMENTUM, HIGH_MOMENTUM, factor=FACTOR)
    return _strategy(
        "higher-momentum",
        plan,
        f"SGD momentum 0.98, lr {plan.lr(0):.3g} and batch {plan.batch_size(0)} "
        f"(B ∝ lr / (1 - m)), batch x5 per milestone up to {cap}, then the LR decays",
    )


register_strategy(
    "decaying-lr", _decaying_lr, "SGD, LR / 5 at 30/60/80% of the epochs (the batch rows' baseline)"
)
register_strategy(
    "increase-batch", _increase_batch, "SGD, batch x5 where step decay would divide the LR"
)
register_strategy("hybrid", _hybrid, "SGD, batch x5 per milestone up to N/10, then LR decay")
register_strategy(
    "higher-lr-batch", _higher_lr_batch, "SGD, 5x LR and batch, then batch growth (Smith 2018)"
)
register_strategy(
    "higher-momentum", _higher_momentum, "SGD momentum 0.98, 5x LR, 25x batch, then growth"
)
