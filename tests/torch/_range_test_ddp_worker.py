"""One rank of a DDP range test, for tests/torch/test_range_test_ddp.py (gloo, CPU).

Each rank sees different data; the recorded losses must be the mean over ranks, so
both ranks write the same curve, and each rank's model must be restored bit for bit.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import torch
    import torch.distributed as dist

    from lrkit.torch import range_test

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)  # the same initial model on every rank
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    gen = torch.Generator().manual_seed(100 + rank)  # different data on every rank
    x, y = torch.randn(64, 4, generator=gen), torch.randint(0, 3, (64,), generator=gen)
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    before = [p.detach().clone() for p in model.parameters()]
    local: list[float] = []

    def loss_fn(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = torch.nn.functional.cross_entropy(out, target)
        local.append(float(loss.detach()))
        return loss

    result = range_test(
        model, optimizer, loss_fn, batches, num_steps=12, end_lr=1.0, accumulation_steps=2
    )
    restored = all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    Path(args.out, f"rank{rank}.json").write_text(
        json.dumps({"losses": result.losses.tolist(), "local": local, "restored": restored})
    )
    del model, optimizer  # free DDP's reducer before its process group goes
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
