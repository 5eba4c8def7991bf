"""Grow the batch instead of decaying the LR, data parallel (Smith et al. 2018).

Run on N processes (nccl with one GPU per process, else gloo on the CPU)::

    torchrun --nproc_per_node=2 examples/ddp_increase_batch.py --epochs 12

or as a plain script (world size 1, no process group)::

    python examples/ddp_increase_batch.py --epochs 12

A multi-step LR decay written on the epoch clock is converted by
``lrkit.batch_size.increase_batch_instead`` into a batch schedule (plus the LR
decay left over past ``--max-batch-size``). ``ScheduledLoader`` follows it and
splits every global batch across the ranks; ``accumulate_gradients`` runs each
rank's share in micro-batches of at most ``--micro-batch-size`` and weights them
so that DDP's average is the gradient of the global batch. Rank 0 prints one
line per epoch; at the end every rank prints its own per-epoch batch sizes and
update counts (they must agree).
"""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from lrkit.batch_size import increase_batch_instead
from lrkit.schedules import MultiStepDecay
from lrkit.torch import GradientNoiseScale, ScheduledLoader, accumulate_gradients


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--num-samples", type=int, default=5000, help="train + test samples")
    p.add_argument("--synthetic", action="store_true", help="Gaussian blobs instead of MNIST-1D")
    p.add_argument("--lr", type=float, default=0.1, help="the reference LR at --batch-size")
    p.add_argument("--batch-size", type=int, default=32, help="the reference (first) batch")
    p.add_argument("--max-batch-size", type=int, default=512, help="past it, decay the LR")
    p.add_argument("--micro-batch-size", type=int, default=64, help="per-rank forward cap")
    p.add_argument(
        "--milestones",
        type=str,
        default=None,
        help="comma-separated epochs of the reference decay (default: 1/2 and 3/4 of --epochs)",
    )
    p.add_argument("--gamma", type=float, default=0.2, help="the reference decay factor")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--noise-scale", action="store_true", help="estimate the critical batch")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.epochs < 1:
        p.error(f"--epochs must be >= 1, got {args.epochs}")
    return args


def setup() -> tuple[int, int, torch.device]:
    """Join the process group when launched by torchrun; else world size 1, no group."""
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) == 1:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return 0, 1, device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"]))
    if torch.cuda.is_available() and local_world <= torch.cuda.device_count():
        # one GPU per process; with fewer GPUs than processes, gloo on the CPU
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl")
        device = torch.device("cuda", local_rank)
    else:
        dist.init_process_group("gloo")
        device = torch.device("cpu")
    return dist.get_rank(), dist.get_world_size(), device


def make_data(args: argparse.Namespace) -> tuple[Any, ...]:
    """(train set, test inputs, test labels, model factory, loss)."""
    if args.synthetic:
        rng = np.random.default_rng(args.seed)
        centres = rng.normal(size=(10, 40)).astype(np.float32)
        y = rng.integers(0, 10, size=args.num_samples)
        x = centres[y] + 1.5 * rng.normal(size=(args.num_samples, 40)).astype(np.float32)
        split = int(0.8 * args.num_samples)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        train = torch.utils.data.TensorDataset(xt[:split], yt[:split])

        def model_fn() -> nn.Module:
            return nn.Sequential(nn.Linear(40, 64), nn.ReLU(), nn.Linear(64, 10))

        return train, xt[split:], yt[split:], model_fn, nn.CrossEntropyLoss()

    from lrkit.experiments import get_task

    task = get_task("mnist1d", num_samples=args.num_samples, seed=args.seed)
    x_test, y_test = task.test_set.tensors
    return task.train_set, x_test, y_test, task.model_fn, task.loss_fn


def main() -> None:
    args = parse_args()
    rank, world, device = setup()
    try:
        train(args, rank, world, device)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def train(args: argparse.Namespace, rank: int, world: int, device: torch.device) -> None:
    train_set, x_test, y_test, model_fn, loss_fn = make_data(args)

    # The reference schedule: an LR decay on the epoch clock, written for --batch-size.
    if args.milestones is None:
        halves = {max(1, args.epochs // 2), max(1, (3 * args.epochs) // 4)}
        milestones = tuple(float(m) for m in sorted(halves))
    else:
        milestones = tuple(float(m) for m in args.milestones.split(","))
    ref = MultiStepDecay(lr=args.lr, milestones=milestones, gamma=args.gamma)
    # Batches in multiples of the world size, so every rank gets the same share.
    max_batch = args.max_batch_size - args.max_batch_size % world
    plan = increase_batch_instead(
        ref, args.batch_size, max_batch, momentum=args.momentum, granularity=world
    )

    torch.manual_seed(args.seed)  # the same initial weights on every rank
    model: nn.Module = model_fn().to(device)
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    # rank and world size come from torch.distributed when it is initialised
    loader = ScheduledLoader(train_set, plan.batch_size, seed=args.seed)
    gns = GradientNoiseScale(beta=0.9)
    noise = gns.init()

    if rank == 0:
        print(f"world size {world} on {device}; reference {ref.to_spec()}")
        print(f"plan: batch {plan.batch_size.to_spec()}")
        cols = "epoch  batch      lr  updates    loss  test_acc"
        print(cols + ("  B_crit" if args.noise_scale else ""))
    batch_sizes: list[int] = []
    updates: list[int] = []
    for epoch in range(args.epochs):
        model.train()
        steps, sizes = 0, set()
        stats = torch.zeros(2, dtype=torch.float64)  # loss * samples, samples (this rank)
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            lr = plan.lr(loader.batch_time)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad()
            # measuring the noise under DDP needs two micro-batches on each rank
            measure = args.noise_scale and len(x) > args.micro_batch_size
            result = accumulate_gradients(
                model,
                loss_fn,
                x,
                y,
                micro_batch_size=args.micro_batch_size,
                global_batch_size=loader.batch_size,
                measure_noise=measure,
            )
            optimizer.step()
            noise = gns.update_from(noise, result)
            stats += torch.tensor([result.loss * result.samples, result.samples])
            steps += 1
            sizes.add(loader.batch_size)
        if world > 1:
            dist.all_reduce(stats)
        # the epoch's full batches (a short remainder batch excepted)
        batch_sizes.append(max(sizes))
        updates.append(steps)
        accuracy = evaluate(model, x_test, y_test, device)
        if rank == 0:
            line = (
                f"{epoch:5d}  {batch_sizes[-1]:5d}  {plan.lr(epoch):6.4f}  {steps:7d}  "
                f"{stats[0].item() / stats[1].item():6.4f}  {accuracy:8.4f}"
            )
            if args.noise_scale:
                b = noise.critical_batch_size
                line += f"  {'-' if math.isnan(b) else f'{b:6.0f}'}"
            print(line, flush=True)
    print(f"rank {rank}: batch sizes {batch_sizes}, updates {updates}", flush=True)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> float:
    net = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
    net.eval()
    pred = net(x.to(device)).argmax(1)
    return (pred == y.to(device)).float().mean().item()


if __name__ == "__main__":
    main()
