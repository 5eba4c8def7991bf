"""The schedules the oracle and config tests share: each with its reference formula."""

from __future__ import annotations

from typing import Any

import reference as ref
from lrkit.batch_size import AdamMatchedLR, BatchConstant, BatchMatchedLR, BatchStep
from lrkit.schedules import (
    Clip,
    Constant,
    Cooldown,
    CosineCycles,
    CosineDecay,
    CosineRestarts,
    Cyclic,
    ExponentialDecay,
    InverseSqrt,
    InverseTimeDecay,
    Join,
    LinearDecay,
    Mirror,
    MultiStepDecay,
    OneCycle,
    PolynomialDecay,
    Scale,
    Schedule,
    Shift,
    StepDecay,
    Warmup,
    WarmupStableDecay,
    cooldown,
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
    WarmupStableDecay: {
        "warmup_shape": ["linear", "cosine", "1-sqrt"],
        "decay_shape": ["linear", "cosine", "1-sqrt", "square", "exp"],
    },
    Cooldown: {"shape": ["linear", "cosine", "1-sqrt", "square", "exp"]},
    InverseSqrt: {},
    CosineCycles: {},
    Shift: {},
    AdamMatchedLR: {"batch_size": [BatchConstant(1), BatchStep(128, [10.0], 5, 1 << 40)]},
}

# Issue 10's schedules, over long ranges (every step up to a few thousand).
WSD_CASES: dict[str, tuple[Schedule, ref.Ref, int]] = {
    **{
        f"wsd_{decay}_{warm}": (
            WarmupStableDecay(
                3e-4,
                3000,
                200,
                decay_steps=600,
                end_lr=3e-6,
                start_lr=1e-6,
                warmup_shape=warm,
                decay_shape=decay,
            ),
            ref.wsd(3e-4, 3000, 200, 600, 3e-6, 1e-6, warm, decay),
            3000,
        )
        for decay in ("linear", "cosine", "1-sqrt", "square", "exp")
        for warm in ("linear", "cosine", "1-sqrt")
    },
    "wsd_fraction_to_zero": (
        WarmupStableDecay(0.1, 2500, decay_fraction=0.1, decay_shape="1-sqrt"),
        ref.wsd(0.1, 2500, 0, 250, decay_shape="1-sqrt"),
        2500,
    ),
    "wsd_default_fraction": (
        WarmupStableDecay(0.1, 1001, warmup_steps=37),
        ref.wsd(0.1, 1001, 37, 0.2 * 1001),
        1001,
    ),
    "wsd_drop": (
        WarmupStableDecay(0.1, 500, 50, decay_steps=0, end_lr=0.01),
        lambda t: 0.01 if t >= 500 else (0.1 * t / 50 if t < 50 else 0.1),
        500,
    ),
    **{
        f"cooldown_{shape}": (
            cooldown(Warmup(Constant(0.1), 100), 1500, 500, shape, end_lr=1e-4),
            ref.cooldown(ref.warmup(ref.constant(0.1), 100), 1500, 500, shape, 1e-4),
            2000,
        )
        for shape in ("linear", "cosine", "1-sqrt", "square", "exp")
    },
    "cooldown_of_a_cosine": (
        cooldown(CosineDecay(0.1, 3000), 1234.5, 400, "1-sqrt"),
        ref.cooldown(ref.cosine(0.1, 3000), 1234.5, 400, "1-sqrt"),
        1700,
    ),
    "inverse_sqrt": (InverseSqrt(0.01, 400), ref.inverse_sqrt(0.01, 400), 5000),
    "inverse_sqrt_timescale": (
        InverseSqrt(0.01, 100, timescale=1000),
        ref.inverse_sqrt(0.01, 100, 1000),
        5000,
    ),
    "inverse_sqrt_no_warmup": (
        InverseSqrt(0.01, 0, timescale=10_000),
        ref.inverse_sqrt(0.01, 0, 10_000),
        5000,
    ),
    "cosine_num_cycles": (
        CosineDecay(0.1, 2000, 0.001, num_cycles=1.5),
        ref.cosine_wave(0.1, 2000, 0.001, 1.5),
        2000,
    ),
    "cosine_cycles": (CosineCycles(0.1, 3000, 3), ref.cosine_cycles(0.1, 3000, 3), 3000),
    "cosine_cycles_fractional": (
        CosineCycles(0.1, 1000, 2.5, 0.01),
        ref.cosine_cycles(0.1, 1000, 2.5, 0.01),
        1000,
    ),
    "shift": (Shift(CosineDecay(0.1, 1000), 250), ref.shift(ref.cosine(0.1, 1000), 250), 750),
}
CASES.update(WSD_CASES)
