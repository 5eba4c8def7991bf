"""Find the learning rate with an LR range test, then train with a one-cycle schedule.

    python examples/range_test_then_train.py --task digits --epochs 10

``lrkit.torch.range_test`` sweeps the LR over one short run and leaves the model
and the optimizer exactly as it found them. Its ``one_cycle_max_lr()`` (the top of
the interval where the loss falls fast) becomes the peak of ``OneCycle``, which
``lrkit.torch.LRScheduler`` applies every optimizer step, together with the
matching momentum cycle (0.95 -> 0.85 -> 0.95). Exits with status 1 when the range
test gives no reliable answer (it says why), unless ``--fallback-lr`` is given.
"""

from __future__ import annotations

import argparse
import sys

import torch

import lrkit.torch
from lrkit.experiments import get_task
from lrkit.range_test import NoSuggestionError
from lrkit.schedules import OneCycle


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=["digits", "mnist1d"], default="digits")
    p.add_argument("--num-samples", type=int, default=None, help="default: the task's")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--sweep-steps", type=int, default=100, help="points of the range test")
    p.add_argument("--fallback-lr", type=float, default=None, help="max_lr without an answer")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def accuracy(model: torch.nn.Module, dataset: torch.utils.data.TensorDataset) -> float:
    x, y = dataset.tensors
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(1) == y).float().mean().item()
    model.train()
    return correct


def main() -> int:
    args = parse_args()
    torch.manual_seed(args.seed)
    task = get_task(args.task, num_samples=args.num_samples, seed=args.seed)
    model = task.model_fn()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    generator = torch.Generator().manual_seed(args.seed)
    loader = torch.utils.data.DataLoader(
        task.train_set, batch_size=args.batch_size, shuffle=True, generator=generator
    )

    # 1. The range test: 1e-7 -> 10, stops when the loss diverges; model restored after.
    result = lrkit.torch.range_test(
        model, optimizer, task.loss_fn, loader, num_steps=args.sweep_steps
    )
    print(f"range test: {len(result.lrs)} steps, {result.reason}")
    try:
        max_lr = result.one_cycle_max_lr()
        low, high = result.interval or (max_lr, max_lr)
        print(f"suggestion {result.suggestion:.3g}, interval [{low:.3g}, {high:.3g}]")
    except NoSuggestionError as exc:
        if args.fallback_lr is None:
            print(f"no reliable suggestion: {exc}", file=sys.stderr)
            return 1
        max_lr = args.fallback_lr
        print(f"no reliable suggestion; using --fallback-lr {max_lr}")
    print(f"one-cycle max_lr {max_lr:.3g}")

    # 2. Train with a one-cycle schedule peaking there, stepped once per optimizer step.
    cycle = OneCycle(max_lr=max_lr, total_steps=args.epochs * len(loader))
    scheduler = lrkit.torch.LRScheduler(optimizer, cycle, momentum=cycle.momentum())
    for epoch in range(args.epochs):
        total, count = 0.0, 0
        for x, y in loader:
            optimizer.zero_grad()
            loss = task.loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total, count = total + loss.item() * len(x), count + len(x)
        print(
            f"epoch {epoch:3d}  lr {optimizer.param_groups[0]['lr']:.4g}  "
            f"loss {total / count:.4f}  test accuracy {accuracy(model, task.test_set):.4f}"
        )
    print(f"final test accuracy {accuracy(model, task.test_set):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
