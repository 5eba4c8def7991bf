"""The validated range test: the race on a problem with a known answer, and its restore."""

from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from lrkit.torch import range_test  # noqa: E402


def _quadratic() -> tuple[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Loss (w - 2)**2 for a single weight w: plain GD gives w_k - 2 = (1 - 2 lr)**k (w_0 - 2)."""
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    x = torch.ones(8, 1, dtype=torch.float64)
    model.double()
    return model, [(x, torch.full((8, 1), 2.0, dtype=torch.float64))]


def test_the_race_picks_the_lr_an_exact_computation_picks() -> None:
    model, data = _quadratic()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    result = range_test(
        model,
        opt,
        nn.functional.mse_loss,
        data,
        start_lr=1e-4,
        end_lr=10.0,
        num_steps=80,
        validate=True,
        val_loader=data,
        race_steps=3,
        race_candidates=6,
        race_eta=2,
        race_backoff=0.25,
    )
    assert result.reliable and result.race is not None
    race = result.race
    assert len(race.candidates) == 6
    assert race.candidates[0] == pytest.approx(min(result.interval[0], result.suggestion))
    assert race.candidates[-1] == pytest.approx(result.edge)

    def exact(lr: float, steps: int) -> float:  # minus the validation loss after the run
        return -((1 - 2 * lr) ** (2 * steps)) * 4.0

    for rung in race.rungs:
        expected = [exact(lr, rung.steps) for lr in rung.lrs]
        finite = [e if abs(e) < 1e300 else -np.inf for e in expected]
        got = [s if np.isfinite(s) else -np.inf for s in rung.scores]
        assert got == pytest.approx(finite, rel=1e-9, abs=1e-12)
    last = race.rungs[-1]
    assert race.winner == max(last.lrs, key=lambda lr: exact(lr, last.steps))
    assert [len(r.lrs) for r in race.rungs] == [6, 3, 2]
    assert race.total_steps == 6 * 3 + 3 * 6 + 2 * 12
    # the weight is back where it started
    assert float(model.weight.detach()) == 0.0
    assert result.suggest(for_schedule="constant") == pytest.approx(race.winner / 10**0.25)


def test_validate_restores_everything() -> None:
    torch.manual_seed(0)
    x = torch.randn(128, 4)
    y = (x[:, 0] > 0).long()
    gen = torch.Generator().manual_seed(3)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True, generator=gen
    )
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for xb, yb in loader:  # some optimizer state to restore
        opt.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    params = [p.detach().clone() for p in model.parameters()]
    state = {k: {n: v.clone() for n, v in s.items()} for k, s in opt.state_dict()["state"].items()}
    rng = (torch.get_rng_state(), None, random.getstate(), gen.get_state())
    result = range_test(
        model,
        opt,
        nn.functional.cross_entropy,
        loader,
        num_steps=60,
        validate=True,
        race_loader=[(x[:64], y[:64])],
        val_metric=lambda out, t: float((out.argmax(1) == t).double().mean()),
        schedule="cosine",
        race_steps=4,
    )
    assert result.race is not None and result.race.schedule == "cosine"
    assert all(torch.equal(a, b) for a, b in zip(params, model.parameters(), strict=True))
    after = opt.state_dict()["state"]
    for k, s in state.items():
        for n, v in s.items():
            assert torch.equal(v, after[k][n])
    assert opt.param_groups[0]["lr"] == 1e-3
    assert torch.equal(rng[0], torch.get_rng_state())
    assert random.getstate() == rng[2]
    assert torch.equal(rng[3], gen.get_state())
    assert result.suggest(for_schedule="cosine") == result.race.suggestion


def test_validate_needs_a_val_loader_and_a_known_schedule() -> None:
    model, data = _quadratic()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="race_loader"):
        range_test(model, opt, nn.functional.mse_loss, data, validate=True)
    with pytest.raises(ValueError, match="schedule"):
        range_test(model, opt, nn.functional.mse_loss, data, schedule="step")
    with pytest.raises(ValueError, match="race_candidates"):
        range_test(model, opt, nn.functional.mse_loss, data, race_candidates=1)
    with pytest.raises(TypeError, match="validate"):
        range_test(model, opt, nn.functional.mse_loss, data, validate="yes")
