"""Grow the batch instead of decaying the LR, in a PyTorch Lightning fit (Smith et al. 2018).

    python examples/lightning_increase_batch.py --epochs 4

A step decay that halves the LR every epoch is converted by
``lrkit.batch_size.increase_batch_instead`` into a batch that doubles every epoch
(and, past ``--max-batch-size``, the LR decay that is left). ``ScheduledLoader``
follows the batch plan; Lightning's fit loop takes ``len(loader)`` batches an
epoch, and the next epoch starts at the next planned size. The LR follows
``plan.lr`` through ``lrkit.torch.LRScheduler`` on the epoch clock (Lightning
steps it at each epoch's end). One line per epoch: the batch size (the last batch
may be short), the number of steps, the LR, how many samples were read and how
many distinct ones.
"""

from __future__ import annotations

import argparse
import warnings

import lightning.pytorch as pl
import torch

from lrkit.batch_size import increase_batch_instead
from lrkit.schedules import MultiStepDecay
from lrkit.torch import LRScheduler, ScheduledLoader


class Blobs(torch.utils.data.Dataset):
    """Two Gaussian blobs in 8 dimensions; sample ``i`` is ``(x, label, i)``."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.y = torch.randint(0, 2, (n,), generator=g)
        self.x = torch.randn(n, 8, generator=g) + 1.5 * (2 * self.y[:, None] - 1)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.x[i], self.y[i], i


class Classifier(pl.LightningModule):
    def __init__(self, plan, momentum: float) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
        )
        self.plan, self.momentum = plan, momentum
        self.epochs: dict[int, dict[str, list]] = {}

    def training_step(self, batch, batch_idx):
        x, y, idx = batch
        row = self.epochs.setdefault(self.current_epoch, {"sizes": [], "idx": [], "lr": []})
        row["sizes"].append(len(idx))
        row["idx"].extend(idx.tolist())
        row["lr"].append(self.trainer.optimizers[0].param_groups[0]["lr"])
        return torch.nn.functional.cross_entropy(self.net(x), y)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=1.0, momentum=self.momentum)
        sched = LRScheduler(opt, self.plan.lr, unit="epoch")  # t = the epoch
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--num-samples", type=int, default=512)
    p.add_argument("--lr", type=float, default=0.1, help="the reference LR at --batch-size")
    p.add_argument("--batch-size", type=int, default=16, help="the first batch")
    p.add_argument("--max-batch-size", type=int, default=64, help="past it, decay the LR")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.epochs < 1:
        p.error(f"--epochs must be >= 1, got {args.epochs}")

    ref = MultiStepDecay(lr=args.lr, milestones=list(range(1, args.epochs)) or [1], gamma=0.5)
    plan = increase_batch_instead(ref, args.batch_size, args.max_batch_size, momentum=args.momentum)
    data = Blobs(args.num_samples, args.seed)
    loader = ScheduledLoader(data, plan.batch_size, seed=args.seed)
    model = Classifier(plan, args.momentum)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")  # a toy: no workers
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, loader)

    print(f"reference {ref.to_spec()}; plan: batch {plan.batch_size.to_spec()}")
    for epoch, row in sorted(model.epochs.items()):
        print(
            f"epoch {epoch}: batch {max(row['sizes'])} steps {len(row['sizes'])} "
            f"lr {row['lr'][0]:.6g} samples {len(row['idx'])} distinct {len(set(row['idx']))}"
        )
    with torch.no_grad():
        acc = (model.net(data.x).argmax(1) == data.y).float().mean().item()
    print(f"train accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
