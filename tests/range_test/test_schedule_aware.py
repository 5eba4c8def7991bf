"""Schedule-aware answers on synthetic curves, and Lightning's rule against Lightning."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrkit.range_test import NoSuggestionError, Race, Rung, analyze, lightning, peak_lr

LRS = np.logspace(-6, 1, 71)
X = np.log10(LRS)


def _curve(descent: float, edge: float) -> np.ndarray:
    """A descent centred at 10**descent and a blow-up that starts near 10**edge."""
    return 2.3 - 2.0 / (1 + np.exp(-3 * (X - descent))) + np.exp(4 * (X - edge))


def test_cosine_peak_is_twice_the_constant_lr() -> None:
    r = analyze(LRS, _curve(-4.0, 0.0))
    assert r.reliable and r.edge is not None
    peak = r.suggest(for_schedule="cosine")
    assert math.log10(peak) - math.log10(r.suggestion) == pytest.approx(0.3)
    for name in ("linear", "onecycle", "wsd"):
        assert r.suggest(for_schedule=name) == pytest.approx(peak)
    assert r.suggest(for_schedule="constant") == r.suggestion


def test_the_edge_caps_the_peak() -> None:
    r = analyze(LRS, _curve(-3.0, -2.3))
    assert r.reliable and r.edge is not None
    peak = r.suggest(for_schedule="cosine")
    assert r.suggestion <= peak <= r.edge
    # the cap, with explicit numbers: 10**min(-3 + 0.3, log10(edge) - margin)
    assert peak_lr(1e-3, 1.5e-3) == pytest.approx(1.5e-3)
    assert peak_lr(1e-3, 1.5e-3, margin=0.1) == pytest.approx(1.5e-3 / 10**0.1)
    assert peak_lr(1e-3, 1.0, shift=0.5) == pytest.approx(10**-2.5)
    assert peak_lr(1e-3, 1.1e-3, margin=0.5) == pytest.approx(1e-3)  # never below


def test_the_edge_is_where_the_curve_turns_up() -> None:
    r = analyze(LRS, _curve(-4.0, -1.0))
    # the fitted loss bottoms out and turns up between the descent and the blow-up
    assert -3.0 < math.log10(r.edge) < -0.5
    assert r.edge > r.interval[1]


def test_a_race_with_the_same_schedule_answers_instead() -> None:
    r = analyze(LRS, _curve(-4.0, 0.0))
    raced = Race((1e-4, 1e-3), (Rung(10, (1e-4, 1e-3), (0.1, 0.2)),), 1e-3, "cosine")
    import dataclasses

    v = dataclasses.replace(r, race=raced)
    assert v.suggest(for_schedule="cosine") == 1e-3
    assert v.suggest(for_schedule="constant") == r.suggestion
    assert type(v).from_dict(v.to_dict()) == v


def test_bad_schedule_and_peer_with_schedule() -> None:
    r = analyze(LRS, _curve(-4.0, 0.0))
    with pytest.raises(ValueError, match="for_schedule"):
        r.suggest(for_schedule="step")
    with pytest.raises(ValueError, match="lrkit's rule only"):
        r.suggest("valley", for_schedule="cosine")
    flat = analyze(LRS, np.full(len(LRS), 2.3))
    with pytest.raises(NoSuggestionError):
        flat.suggest(for_schedule="cosine")


def test_lightning_rule_matches_lightning() -> None:
    tuner = pytest.importorskip("lightning.pytorch.tuner.lr_finder")
    rng = np.random.default_rng(0)
    losses = _curve(-3.0, -0.5)[: len(LRS)] + 0.05 * rng.standard_normal(len(LRS))
    # Lightning's own smoothing, written out independently from its callback
    smooth, avg, best = [], 0.0, 0.0
    for i, loss in enumerate(losses):
        step = i + 1
        avg = 0.98 * avg + 0.02 * loss
        value = avg / (1 - 0.98 ** (step + 1))
        stop = step > 1 and value > 4 * best
        if value < best or step == 1:
            best = value
        smooth.append(value)
        if stop:
            break
    finder = tuner._LRFinder("exponential", 1e-6, 10.0, len(LRS))
    finder.results = {"lr": list(LRS[: len(smooth)]), "loss": smooth}
    assert lightning(LRS, losses) == pytest.approx(finder.suggestion())
    assert analyze(LRS, losses).suggest("lightning") == pytest.approx(finder.suggestion())
