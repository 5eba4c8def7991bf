"""Short runs on the ``tiny-lm`` and ``diabetes`` builders: epoch cost and whether LR matters.

A plain PyTorch loop (no lrkit trainer), one thread, a few strategies x 3 seeds:

- tiny-lm: AdamW (weight decay 0.01), batch 32, 10 epochs of 1,024 windows (320 steps);
  a too-high constant LR, cosine without warm-up, warm-up (one epoch) + cosine, and a
  modest constant LR. Validation perplexity after each epoch.
- diabetes: batch 32, 50 epochs; Adam and SGD with momentum at a few LRs. Val and
  test R² at the end.

Run ``python benchmarks/task_builders.py`` (add ``--write`` to update its section of
``docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import torch

from lrkit.experiments.tasks._diabetes import evaluate_r2, make_diabetes
from lrkit.experiments.tasks._tiny_lm import make_tiny_lm, perplexity

SEEDS = (0, 1, 2)


def lr_factor(step: int, total: int, warmup: int, cosine: bool) -> float:
    if step < warmup:
        return (step + 1) / warmup
    if not cosine:
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def train(parts, make_optimizer, *, seed, epochs, batch_size, warmup=0, cosine=False, evaluate):
    torch.manual_seed(seed)
    model = parts.model_fn()
    optimizer = make_optimizer(model.parameters())
    base = [group["lr"] for group in optimizer.param_groups]
    n = len(parts.train_set)
    total = math.ceil(n / batch_size) * epochs
    generator = torch.Generator().manual_seed(seed)
    step, epoch_times, scores = 0, [], []
    for _ in range(epochs):
        start = time.perf_counter()
        for rows in torch.randperm(n, generator=generator).split(batch_size):
            for group, lr in zip(optimizer.param_groups, base, strict=True):
                group["lr"] = lr * lr_factor(step, total, warmup, cosine)
            x, y = parts.train_set[rows]
            loss = parts.loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        epoch_times.append(time.perf_counter() - start)
        scores.append(evaluate(model, parts.val_set))
    return model, epoch_times, scores


def mean_std(values):
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def tiny_lm_section() -> list[str]:
    parts = make_tiny_lm(seed=0)
    steps_per_epoch = math.ceil(len(parts.train_set) / 32)
    configs = [
        ("AdamW constant 3e-2 (too high)", 3e-2, 0, False),
        ("AdamW cosine 1e-2, no warm-up", 1e-2, 0, True),
        ("AdamW warm-up 1 epoch + cosine 1e-2", 1e-2, steps_per_epoch, True),
        ("AdamW constant 3e-3", 3e-3, 0, False),
    ]
    lines = [
        f"tiny-lm: {parts.description}; AdamW (wd 0.01), batch 32, 10 epochs "
        f"({10 * steps_per_epoch} steps), seeds {list(SEEDS)}.",
        "",
        "| strategy | val perplexity after epoch 1 | final val perplexity | s / epoch (median) |",
        "|---|---|---|---|",
    ]
    for name, lr, warmup, cosine in configs:
        first, final, times = [], [], []
        for seed in SEEDS:
            _, epoch_times, scores = train(
                parts,
                lambda p, lr=lr: torch.optim.AdamW(p, lr=lr, weight_decay=0.01),
                seed=seed,
                epochs=10,
                batch_size=32,
                warmup=warmup,
                cosine=cosine,
                evaluate=perplexity,
            )
            first.append(scores[0])
            final.append(scores[-1])
            times.extend(epoch_times)
        lines.append(
            f"| {name} | {mean_std(first)} | {mean_std(final)} | {statistics.median(times):.2f} |"
        )
    return lines


def diabetes_section() -> list[str]:
    parts = make_diabetes(seed=0)
    configs = [
        ("Adam 1e-3", lambda p: torch.optim.Adam(p, lr=1e-3)),
        ("Adam 1e-2", lambda p: torch.optim.Adam(p, lr=1e-2)),
        ("SGD momentum 0.9, 1e-2", lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9)),
        ("SGD momentum 0.9, 1e-1", lambda p: torch.optim.SGD(p, lr=1e-1, momentum=0.9)),
    ]
    lines = [
        f"diabetes: {parts.description}; batch 32, 50 epochs, constant LR, seeds {list(SEEDS)}.",
        "",
        "| optimizer | final val R² | final test R² | s / run (50 epochs + evaluations) |",
        "|---|---|---|---|",
    ]
    for name, make_optimizer in configs:
        val, test, seconds = [], [], []
        for seed in SEEDS:
            start = time.perf_counter()
            model, _, scores = train(
                parts, make_optimizer, seed=seed, epochs=50, batch_size=32, evaluate=evaluate_r2
            )
            seconds.append(time.perf_counter() - start)
            val.append(scores[-1])
            test.append(evaluate_r2(model, parts.test_set))
        lines.append(
            f"| {name} | {mean_std(val)} | {mean_std(test)} | {statistics.median(seconds):.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    lines = [*tiny_lm_section(), "", *diabetes_section()]
    load_after = os.getloadavg()[0]
    from _report import command_line, machine_line, write_section

    body = "\n".join(
        [
            "## Task builders: short runs on tiny-lm and diabetes",
            "",
            f"`{command_line()}`; {machine_line()}; load average {load_before:.1f} "
            f"before, {load_after:.1f} after (a shared machine: times are upper bounds).",
            "",
            *lines,
        ]
    )
    print(body)
    if args.write:
        write_section("task_builders", body)


if __name__ == "__main__":
    main()
