"""A 2-epoch PyTorch Lightning fit accepts lrkit.torch.LRScheduler and follows the schedule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from lrkit.schedules import Schedule  # noqa: E402
from lrkit.torch import LRScheduler  # noqa: E402


@dataclass(frozen=True)
class Wave(Schedule):
    """A test-only schedule: lr * (1.5 + sin(t / 3))."""

    config_name = "_test_h2_lightning_wave"
    lr: float = 0.1

    def _value(self, t: np.ndarray) -> np.ndarray:
        return self.lr * (1.5 + np.sin(t / 3.0))


class TinyModule(pl.LightningModule):
    def __init__(self, schedule: Schedule) -> None:
        super().__init__()
        self.net = torch.nn.Linear(4, 1)
        self.schedule = schedule
        self.seen: list[float] = []

    def training_step(self, batch, batch_idx):
        self.seen.append(self.trainer.optimizers[0].param_groups[0]["lr"])
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=1.0, momentum=0.9)
        sched = LRScheduler(opt, self.schedule)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


@pytest.mark.filterwarnings(
    # Lightning 2.6 still uses torch's LeafSpec, deprecated in recent torch; not about us.
    "ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning",
)
def test_two_epoch_fit_follows_the_schedule(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(48, 4, generator=g)
    data = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
    loader = torch.utils.data.DataLoader(data, batch_size=8)  # 6 steps an epoch
    module = TinyModule(Wave(lr=0.05))
    trainer = pl.Trainer(
        max_epochs=2,
        accelerator="cpu",
        devices=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(module, loader)
    assert len(module.seen) == 12
    np.testing.assert_array_equal(module.seen, Wave(lr=0.05)(np.arange(12.0)))
    sched = trainer.lr_scheduler_configs[0].scheduler
    assert isinstance(sched, LRScheduler) and sched.time == 12
