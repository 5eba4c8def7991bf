"""AdamW on tiny-lm: does growing the batch by the squared factor match decaying the LR?

Malladi et al. (2022): Adam's dynamics are kept when the batch grows by ``k`` and
the LR by ``sqrt(k)``, so an LR cut by ``a`` should be matched by a batch ``a**2``
times larger at the same LR (:func:`lrkit.batch_size.increase_batch_instead_adam`).
Rows, each over ``--seeds`` seeds, the same epochs, AdamW:

- ``decaying-lr``: batch ``B0``, the LR halved every ``--step`` epochs;
- ``batch-x4`` (the square-root rule): the LR held, the batch x4 at each halving,
  up to the cap, the LR takes the rest;
- ``batch-x2`` (the SGD rule, for contrast): the batch x2 at each halving;
- ``fixed-batch``: batch ``B0``, the LR of ``--adaptive-lr`` (constant by default);
- ``adaptive``: the same LR schedule times ``sqrt(B / B0)``, the batch from
  :class:`~lrkit.torch.AdaptiveBatchSize` (``lr_coupling="sqrt"``, cap ``"auto"``).

Per epoch: validation perplexity and the updates so far. The report gives the
largest gap over epochs between each batch row's validation loss and decaying-lr's.

Run from the repository root (needs the tiny-lm task on this branch)::

    python benchmarks/tiny_lm_adam_batch.py [--epochs 8] [--seeds 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import command_line, machine_line, markdown_table, write_section
from lrkit.batch_size import (
    AdaptiveBatch,
    BatchConstant,
    increase_batch_instead,
    increase_batch_instead_adam,
)
from lrkit.schedules import Constant, StepDecay
from lrkit.torch import AdaptiveBatchSize, GradientNoiseScale, ScheduledLoader, accumulate_gradients

HERE = Path(__file__).resolve().parent
ROWS = ("decaying-lr", "batch-x4", "batch-x2", "fixed-batch", "adaptive")


def _tiny_lm(path: Path | None) -> Any:
    if path is None:
        from lrkit.experiments.tasks._tiny_lm import make_tiny_lm  # type: ignore[import-not-found]

        return make_tiny_lm
    spec = importlib.util.spec_from_file_location("_tiny_lm", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.make_tiny_lm


def _val_loss(model: Any, dataset: Any, loss_fn: Any) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(dataset), 128):
            x, y = dataset[start : start + 128]
            total += float(loss_fn(model(x), y)) * len(x)
            count += len(x)
    model.train()
    return total / count


def run(row: str, parts: Any, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    n = len(parts.train_set)
    b0 = args.batch_size
    ref = StepDecay(lr=args.lr, step_size=args.step, gamma=0.5)
    sizer = None
    if row == "decaying-lr":
        lr: Any = ref
        source: Any = BatchConstant(batch_size=b0)
    elif row == "batch-x4":
        plan = increase_batch_instead_adam(ref, b0, args.cap)
        lr, source = plan.lr, plan.batch_size
    elif row == "batch-x2":
        plan = increase_batch_instead(ref, b0, args.cap)
        lr, source = plan.lr, plan.batch_size
    elif row == "fixed-batch":
        lr, source = Constant(lr=args.lr), BatchConstant(batch_size=b0)
    else:
        lr = Constant(lr=args.lr)
        controller = AdaptiveBatch(
            batch_size=b0,
            max_batch_size="auto",
            dataset_size=n,
            max_fraction=min(1.0, args.cap / n),
            granularity=2,
            warmup_updates=args.warmup,
            cooldown_updates=args.cooldown,
            lr_coupling="sqrt",
            lr=lr,
        )
        sizer = source = AdaptiveBatchSize(controller, noise=GradientNoiseScale(beta=args.beta))
    torch.manual_seed(seed)
    model = parts.model_fn()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    loader = ScheduledLoader(parts.train_set, source, seed=seed)
    updates, curve = 0, []
    while loader.epoch < args.epochs:
        for x, y in loader:
            factor = 1.0 if sizer is None else sizer.lr_factor
            for g in opt.param_groups:
                g["lr"] = float(lr(loader.batch_time)) * factor
            opt.zero_grad()
            r = accumulate_gradients(
                model,
                parts.loss_fn,
                x,
                y,
                micro_batch_size=max(1, len(x) // 2) if sizer is not None else None,
                measure_noise=sizer is not None,
            )
            opt.step()
            if sizer is not None:
                sizer.step(r, time=loader.time)
            updates += 1
        curve.append([updates, _val_loss(model, parts.val_set, parts.loss_fn)])
    return {
        "curve": curve,
        "decisions": [] if sizer is None else [d.as_row() for d in sizer.decisions],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--cap", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--step", type=int, default=2, help="epochs between LR halvings")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--cooldown", type=int, default=10)
    parser.add_argument("--beta", type=float, default=0.9)
    parser.add_argument("--train-sequences", type=int, default=1024)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--tiny-lm-path", type=Path, help="the task module's file, if not built in")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    parts = _tiny_lm(args.tiny_lm_path)(seed=0, train_sequences=args.train_sequences)
    rows = [r for r in args.rows.split(",") if r]
    up0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    results: dict[str, list[dict[str, Any]]] = {r: [] for r in rows}
    for seed in range(args.seeds):
        for row in rows:
            res = run(row, parts, args, seed)
            results[row].append(res)
            steps = [(d["update"], d["new_batch_size"]) for d in res["decisions"]]
            print(
                f"{row} seed {seed}: updates {res['curve'][-1][0]}, val ppl "
                f"{math.exp(res['curve'][-1][1]):.3f}, decisions {steps}",
                flush=True,
            )
    up1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()

    def mean_curve(row: str) -> list[float]:
        return [statistics.mean(r["curve"][e][1] for r in results[row]) for e in range(args.epochs)]

    table = []
    for row in rows:
        curve = mean_curve(row)
        ppl = [math.exp(r["curve"][-1][1]) for r in results[row]]
        gap = ""
        if "decaying-lr" in results and row != "decaying-lr":
            base = mean_curve("decaying-lr")
            gap = f"{max(abs(a - b) for a, b in zip(curve, base, strict=True)):.3f}"
        table.append(
            [
                row,
                f"{statistics.mean(r['curve'][-1][0] for r in results[row]):.0f}",
                f"{statistics.mean(ppl):.3f}"
                + (f" ({min(ppl):.3f}-{max(ppl):.3f})" if len(ppl) > 1 else ""),
                gap,
            ]
        )
    per_epoch = [
        [e + 1, *(f"{math.exp(mean_curve(r)[e]):.3f}" for r in rows)] for e in range(args.epochs)
    ]
    lines = [
        "## AdamW on tiny-lm: the squared batch factor, and the adaptive controller",
        "",
        f"Command: `{command_line()}`; {machine_line()}.",
        f"Load: before `{up0}`; after `{up1}`.",
        "",
        f"tiny-lm ({parts.description}), AdamW (weight decay 0), lr {args.lr}, batch "
        f"{args.batch_size}, {args.epochs} epochs, {args.seeds} seeds; decaying-lr halves "
        f"the LR every {args.step} epochs; batch rows capped at {args.cap}; adaptive: "
        f"constant LR x sqrt(B / B0), factor 2, margin 1, warm-up {args.warmup}, cool-down "
        f"{args.cooldown} updates, EMA beta {args.beta}, cap auto (at most {args.cap}).",
        "",
        markdown_table(
            ["row", "updates", "val perplexity (range)", "largest gap in val loss to decaying-lr"],
            table,
        ),
        "",
        "Validation perplexity per epoch (mean of the seeds):",
        "",
        markdown_table(["epoch", *rows], per_epoch),
    ]
    if "adaptive" in results:
        lines += [
            "",
            "Decisions of adaptive, seed 0 (update, epoch, B_simple, old -> new, cap):",
            "",
        ]
        for d in results["adaptive"][0]["decisions"]:
            lines.append(
                f"- update {d['update']}, epoch {d['time']:.2f}: B_simple {d['b_simple']:.0f}, "
                f"{d['old_batch_size']} -> {d['new_batch_size']} (cap {d['max_batch_size']}), "
                f"lr {d['lr']:.2e}"
            )
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("tiny_lm_adam_batch", text, HERE.parent / "docs" / "batch_size.md")


if __name__ == "__main__":
    main()
