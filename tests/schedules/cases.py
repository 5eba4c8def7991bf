"""The schedules the oracle and config tests share: each with its reference formula."""

from __future__ import annotations

from typing import Any

import reference as ref
from lrkit.batch_size import BatchConstant, BatchMatchedLR, BatchStep
from lrkit.schedules import (
    Clip,
    Constant,
    CosineDecay,
    CosineRestarts,
    Cyclic,
    ExponentialDecay,
    InverseTimeDecay,
    Join,
    LinearDecay,
    Mirror,
    MultiStepDecay,
    OneCycle,
    PolynomialDecay,
    Scale,
    Schedule,
    StepDecay,
    Warmup,
)

# (schedule, reference, the last interesting time: its end, last boundary or a few cycles)
CASES: dict[str, tuple[Schedule, ref.Ref, int]] = {
    "constant": (Constant(0.3), ref.constant(0.3), 50),
    "inverse_time": (InverseTimeDecay(0.1, 0.5, 10), ref.inverse_time(0.1, 0.5, 10), 300),
    "inverse_time_staircase": (
        InverseTimeDecay(0.1, 0.5, 7, staircase=True),
        ref.inverse_time(0.1, 0.5, 7, staircase=True),
        300,
    ),
    "exponential": (ExponentialDecay(0.1, 0.96, 10), ref.exponential(0.1, 0.96, 10), 500),
    "exponential_staircase": (
        ExponentialDecay(0.1, 0.5, 25, staircase=True),
        ref.exponential(0.1, 0.5, 25, staircase=True),
        500,
    ),
    "step": (StepDecay(0.1, 30, 0.5), ref.step(0.1, 30, 0.5), 300),
    "multistep": (
        MultiStepDecay(0.1, [30, 80, 81, 200], 0.1),
        ref.multistep(0.1, [30, 80, 81, 200], 0.1),
        200,
    ),
    "polynomial": (
        PolynomialDecay(0.1, 250, 0.001, 2.0),
        ref.polynomial(0.1, 250, 0.001, 2.0),
        250,
    ),
    "polynomial_sqrt": (PolynomialDecay(0.1, 99, 0.0, 0.5), ref.polynomial(0.1, 99, 0.0, 0.5), 99),
    "cosine": (CosineDecay(0.1, 300, 0.002), ref.cosine(0.1, 300, 0.002), 300),
    "cosine_to_zero": (CosineDecay(0.1, 101), ref.cosine(0.1, 101), 101),
    "linear_down": (LinearDecay(0.1, 200, 0.01), ref.linear(0.1, 200, 0.01), 200),
    "linear_up": (LinearDecay(0.01, 200, 0.1), ref.linear(0.01, 200, 0.1), 200),
    "restarts": (CosineRestarts(0.1, 20), ref.cosine_restarts(0.1, 20), 200),
    "restarts_growing": (
        CosineRestarts(0.1, 10, 2.0, 0.001, 0.5),
        ref.cosine_restarts(0.1, 10, 2.0, 0.001, 0.5),
        630,
    ),
    "restarts_mult3": (
        CosineRestarts(0.1, 7, 3.0, 0.0, 0.8),
        ref.cosine_restarts(0.1, 7, 3.0, 0.0, 0.8),
        7 * (1 + 3 + 9 + 27 + 81),
    ),
    "cyclic_triangular": (Cyclic(0.01, 0.1, 20), ref.cyclic(0.01, 0.1, 20), 400),
    "cyclic_triangular2": (
        Cyclic(0.01, 0.1, 20, mode="triangular2"),
        ref.cyclic(0.01, 0.1, 20, mode="triangular2"),
        400,
    ),
    "cyclic_exp_range": (
        Cyclic(0.01, 0.1, 20, mode="exp_range", gamma=0.99),
        ref.cyclic(0.01, 0.1, 20, mode="exp_range", gamma=0.99),
        400,
    ),
    "cyclic_uneven": (
        Cyclic(0.0, 0.1, 30, step_size_down=10),
        ref.cyclic(0.0, 0.1, 30, step_size_down=10),
        400,
    ),
    "cyclic_momentum": (
        Cyclic(0.01, 0.1, 20, mode="triangular2", step_size_down=13).momentum(),
        ref.cyclic_momentum(0.01, 0.1, 20, mode="triangular2", step_size_down=13),
        400,
    ),
    "one_cycle": (OneCycle(0.1, 200), ref.one_cycle(0.1, 200), 200),
    "one_cycle_linear": (
        OneCycle(0.1, 333, pct_start=0.25, anneal="linear"),
        ref.one_cycle(0.1, 333, pct_start=0.25, anneal="linear"),
        333,
    ),
    "one_cycle_three_phase": (
        OneCycle(0.1, 301, pct_start=0.2, three_phase=True, div_factor=10, final_div_factor=100),
        ref.one_cycle(0.1, 301, 0.2, "cos", 10, 100, three_phase=True),
        301,
    ),
    "one_cycle_momentum": (
        OneCycle(0.1, 200).momentum(),
        ref.one_cycle_momentum(200),
        200,
    ),
    "one_cycle_momentum_three_phase": (
        OneCycle(0.1, 301, pct_start=0.2, anneal="linear", three_phase=True).momentum(0.8, 0.99),
        ref.one_cycle_momentum(301, 0.2, "linear", True, 0.8, 0.99),
        301,
    ),
    "warmup_linear": (
        Warmup(CosineDecay(0.1, 200), 50),
        ref.warmup(ref.cosine(0.1, 200), 50),
        250,
    ),
    "warmup_exponential": (
        Warmup(StepDecay(0.1, 40), 30, start_lr=1e-5, shape="exponential"),
        ref.warmup(ref.step(0.1, 40), 30, start_lr=1e-5, shape="exponential"),
        200,
    ),
    "join": (
        Join([Constant(0.1), LinearDecay(0.1, 50, 0.01), CosineRestarts(0.01, 30)], [20, 70]),
        ref.join(
            [ref.constant(0.1), ref.linear(0.1, 50, 0.01), ref.cosine_restarts(0.01, 30)], [20, 70]
        ),
        200,
    ),
    "scale": (Scale(CosineDecay(0.1, 100), 8), ref.scale(ref.cosine(0.1, 100), 8), 100),
    "clip": (
        Clip(Cyclic(0.0, 0.1, 25), min_lr=0.02, max_lr=0.08),
        ref.clip(ref.cyclic(0.0, 0.1, 25), 0.02, 0.08),
        200,
    ),
    "nested": (
        Scale(Warmup(Join([OneCycle(1.0, 100), Constant(1e-4)], [100]), 10, 0.0), 0.5),
        ref.scale(
            ref.warmup(ref.join([ref.one_cycle(1.0, 100), ref.constant(1e-4)], [100]), 10), 0.5
        ),
        110,
    ),
}


# -- every schedule class, for the extreme-argument test (test_extremes.py) ----------------
#
# One line per class. Each field is drawn by its annotation (float: anything from 5e-324
# to 1e308, of either sign; bool; Schedule: one of INNER); a class lists here the values of
# its str fields and any field that needs its own strategy. A new schedule class adds
# its line here: test_extremes checks that every registered schedule class has one.
EXTREME: dict[type[Schedule], dict[str, Any]] = {
    Constant: {},
    InverseTimeDecay: {},
    ExponentialDecay: {},
    StepDecay: {},
    MultiStepDecay: {},
    PolynomialDecay: {},
    CosineDecay: {},
    LinearDecay: {},
    CosineRestarts: {},
    Cyclic: {"mode": ["triangular", "triangular2", "exp_range"]},
    OneCycle: {"anneal": ["cos", "linear"]},
    Warmup: {"shape": ["linear", "exponential"]},
    Join: {},
    Scale: {},
    Clip: {},
    Mirror: {},
    BatchMatchedLR: {"batch_size": [BatchConstant(1), BatchStep(128, [10.0], 5, 1 << 40)]},
}
