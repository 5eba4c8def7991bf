"""GradientNoiseScale on linear regression, where B_simple is known in closed form."""

from __future__ import annotations

import math

import pytest
import torch

from lrkit.torch import GradientNoiseScale, accumulate_gradients


def _half_mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((out.squeeze(-1) - y) ** 2).mean()


@pytest.mark.parametrize(("seed", "sigma"), [(0, 1.0), (1, 2.0)])
def test_estimate_within_20_percent_of_the_true_noise_scale(seed: int, sigma: float) -> None:
    """y = x.w* + noise, x with +-1 entries, loss (x.w - y)^2 / 2, at w = w* + delta.

    Per-example gradient g = x (x.delta - eps): G = delta and
    tr(Sigma) = E|g|^2 - |G|^2 = (d - 1)|delta|^2 + d sigma^2, so
    B_simple = (d - 1) + d sigma^2 / |delta|^2.
    """
    d = 10
    gen = torch.Generator().manual_seed(seed)
    w_star = torch.randn(d, generator=gen)
    delta = torch.randn(d, generator=gen)
    delta /= delta.norm()
    model = torch.nn.Linear(d, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_((w_star + delta)[None])
    true = (d - 1) + d * sigma**2
    gns = GradientNoiseScale(beta=0.995)
    state = gns.init()
    for _ in range(500):
        x = torch.randint(0, 2, (128, d), generator=gen).float() * 2 - 1
        y = x @ w_star + sigma * torch.randn(128, generator=gen)
        model.zero_grad()
        result = accumulate_gradients(
            model, _half_mse, x, y, micro_batch_size=16, measure_noise=True
        )
        assert result.small_batch == 16 and result.big_batch == 128
        state = gns.update_from(state, result)
    assert state.steps == 500
    assert abs(state.b_simple / true - 1) < 0.2
    assert state.critical_batch_size == state.b_simple


def test_update_is_pure_and_validates() -> None:
    gns = GradientNoiseScale(beta=0.5)
    s0 = gns.init()
    assert math.isnan(s0.b_simple)
    s1 = gns.update(s0, 2.0, 1.1, 10, 100)
    assert s0.steps == 0 and s1.steps == 1 and s1.b_simple == pytest.approx(10.0)
    assert gns.update(s0, 2.0, 1.1, 10, 100) == s1
    with pytest.raises(ValueError, match="small_batch"):
        gns.update(s0, 1.0, 1.0, 100, 100)
    with pytest.raises(ValueError, match="beta"):
        GradientNoiseScale(beta=1.0)


def test_single_micro_batch_leaves_the_state_alone() -> None:
    model = torch.nn.Linear(3, 1)
    x, y = torch.randn(8, 3), torch.randn(8)
    result = accumulate_gradients(model, _half_mse, x, y, measure_noise=True)
    gns = GradientNoiseScale()
    assert result.small_sq_norm is None and gns.update_from(gns.init(), result) == gns.init()


def test_negative_squared_norms_are_refused() -> None:
    gns = GradientNoiseScale(beta=0.5)
    with pytest.raises(ValueError, match=r"small_sq_norm must be >= 0, got -1\.0"):
        gns.update(gns.init(), -1.0, 1.0, 10, 100)
    with pytest.raises(ValueError, match=r"big_sq_norm must be >= 0, got -0\.5"):
        gns.update(gns.init(), 1.0, -0.5, 10, 100)
