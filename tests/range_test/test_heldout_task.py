"""The held-out task of the range-test quality benchmark (``tabular``)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from lrkit.experiments import get_task  # noqa: E402


def test_tabular_task_is_deterministic_standardised_and_its_model_fits() -> None:
    a, b = get_task("tabular", num_samples=200), get_task("tabular", num_samples=200)
    assert a.name == "tabular" and a.num_classes == 4
    assert (len(a.train_set), len(a.val_set), len(a.test_set)) == (135, 15, 50)
    assert torch.equal(a.train_set.tensors[0], b.train_set.tensors[0])
    x, y = a.train_set.tensors
    x_all = torch.cat([x, a.val_set.tensors[0]])  # standardised over train+val
    np.testing.assert_allclose(x_all.mean(0).numpy(), 0.0, atol=1e-5)
    assert set(y.tolist()) <= {0, 1, 2, 3}
    torch.manual_seed(0)
    out = a.model_fn()(x[:8])
    assert out.shape == (8, 4)
    assert float(a.loss_fn(out, y[:8]).detach()) > 0


def test_tabular_task_refuses_too_few_samples() -> None:
    with pytest.raises(ValueError, match=r"num_samples.*12"):
        get_task("tabular", num_samples=12)
