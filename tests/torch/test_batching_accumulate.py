"""Gradient accumulation equals the full-batch gradient, ragged micro-batches and uneven ranks."""

from __future__ import annotations

import pytest
import torch

from lrkit.torch import accumulate_gradients


def _setup() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4))
    return model, torch.randn(23, 6), torch.randint(0, 4, (23,))


def _grads(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.flatten() for p in model.parameters()])  # type: ignore[union-attr]


def _full(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    return _grads(model).clone()


@pytest.mark.parametrize("micro", [1, 4, 7, 22, 23, 100])
def test_accumulated_gradient_equals_full_batch(micro: int) -> None:
    model, x, y = _setup()
    full = _full(model, x, y)
    model.zero_grad()
    result = accumulate_gradients(
        model, torch.nn.functional.cross_entropy, x, y, micro_batch_size=micro
    )
    acc = _grads(model)
    assert result.micro_batches == -(-23 // micro) and result.samples == 23
    assert float((acc - full).norm() / full.norm()) < 1e-6
    assert result.loss == pytest.approx(torch.nn.functional.cross_entropy(model(x), y).item())


def test_uneven_rank_shares_average_to_the_global_gradient() -> None:
    """What DDP does (average over ranks) gives the global-batch gradient with our weights."""
    model, x, y = _setup()
    full = _full(model, x, y)
    shares = [slice(0, 12), slice(12, 23)]  # 12 and 11 samples: a batch not divisible by 2
    per_rank = []
    for share in shares:
        model.zero_grad()
        accumulate_gradients(
            model,
            torch.nn.functional.cross_entropy,
            x[share],
            y[share],
            micro_batch_size=5,
            global_batch_size=23,
            world_size=2,
        )
        per_rank.append(_grads(model).clone())
    averaged = (per_rank[0] + per_rank[1]) / 2
    assert float((averaged - full).norm() / full.norm()) < 1e-6


def test_bad_inputs() -> None:
    model, x, y = _setup()
    with pytest.raises(ValueError, match="same number"):
        accumulate_gradients(model, torch.nn.functional.cross_entropy, x, y[:5])
    with pytest.raises(ValueError, match="micro_batch_size"):
        accumulate_gradients(model, torch.nn.functional.cross_entropy, x, y, micro_batch_size=0)


def test_a_global_batch_smaller_than_this_ranks_share_is_refused() -> None:
    # 23 local samples in a "global" batch of 10 would scale the gradient by 2.3 silently.
    model, x, y = _setup()
    with pytest.raises(ValueError, match=r"global_batch_size must be >= the 23 samples.*got 10"):
        accumulate_gradients(model, torch.nn.functional.cross_entropy, x, y, global_batch_size=10)
