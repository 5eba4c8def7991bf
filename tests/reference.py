"""Independent reference formulas for the schedules, written plainly.

Scalar Python ``math`` only, one function per schedule, sharing no code with
``lrkit``: the tests check lrkit's vectorised closed forms against these at every
step. Where a formula can be written two ways, these use the other way (a loop
over cycles, a modulo instead of a floor, an if-chain instead of a mask).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

Ref = Callable[[float], float]


def constant(lr: float) -> Ref:
    return lambda t: lr


def inverse_time(
    lr: float, decay_rate: float, decay_steps: float = 1, staircase: bool = False
) -> Ref:
    def f(t: float) -> float:
        n = t / decay_steps
        if staircase:
            n = math.floor(n)
        return lr / (1 + decay_rate * n)

    return f


def exponential(
    lr: float, decay_rate: float, decay_steps: float = 1, staircase: bool = False
) -> Ref:
    def f(t: float) -> float:
        n = t / decay_steps
        if staircase:
            n = math.floor(n)
        return lr * math.exp(n * math.log(decay_rate))

    return f


def step(lr: float, step_size: float, gamma: float = 0.1) -> Ref:
    def f(t: float) -> float:
        drops = 0
        while (drops + 1) * step_size <= t:
            drops += 1
        return lr * gamma**drops

    return f


def multistep(lr: float, milestones: Sequence[float], gamma: float = 0.1) -> Ref:
    def f(t: float) -> float:
        return lr * gamma ** sum(1 for m in milestones if m <= t)

    return f


def polynomial(lr: float, total_steps: float, end_lr: float = 0.0, power: float = 1.0) -> Ref:
    def f(t: float) -> float:
        if t >= total_steps:
            return end_lr
        return end_lr + (lr - end_lr) * ((total_steps - t) / total_steps) ** power

    return f


def cosine(lr: float, total_steps: float, end_lr: float = 0.0) -> Ref:
    def f(t: float) -> float:
        if t >= total_steps:
            return end_lr
        return end_lr + 0.5 * (lr - end_lr) * (1 + math.cos(math.pi * t / total_steps))

    return f


def linear(lr: float, total_steps: float, end_lr: float = 0.0) -> Ref:
    def f(t: float) -> float:
        if t >= total_steps:
            return end_lr
        return lr + (end_lr - lr) * t / total_steps

    return f


def cosine_restarts(
    lr: float, period: float, period_mult: float = 1.0, end_lr: float = 0.0, peak_decay: float = 1.0
) -> Ref:
    def f(t: float) -> float:
        start, length, peak = 0.0, float(period), float(lr)
        while t >= start + length:
            start += length
            length *= period_mult
            peak *= peak_decay
        peak = max(peak, end_lr)
        return end_lr + 0.5 * (peak - end_lr) * (1 + math.cos(math.pi * (t - start) / length))

    return f


def cyclic(
    base_lr: float,
    max_lr: float,
    step_size: float,
    mode: str = "triangular",
    gamma: float = 1.0,
    step_size_down: float | None = None,
) -> Ref:
    up = step_size
    down = step_size if step_size_down is None else step_size_down

    def f(t: float) -> float:
        n_cycles = math.floor(t / (up + down))
        pos = t - n_cycles * (up + down)
        height = pos / up if pos < up else 1 - (pos - up) / down
        if mode == "triangular":
            amp = 1.0
        elif mode == "triangular2":
            amp = 0.5**n_cycles
        else:
            amp = gamma**t
        return base_lr + (max_lr - base_lr) * height * amp

    return f


def _ramp(anneal: str, a: float, b: float, frac: float) -> float:
    if anneal == "cos":
        return b + (a - b) * (1 + math.cos(math.pi * frac)) / 2
    return a + (b - a) * frac


def one_cycle(
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    anneal: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> Ref:
    start = max_lr / div_factor
    end = start / final_div_factor
    e1 = pct_start * total_steps - 1
    e2 = 2 * pct_start * total_steps - 2
    last = total_steps - 1

    def f(t: float) -> float:
        t = min(t, last)
        if t <= e1:
            return _ramp(anneal, start, max_lr, t / e1)
        if three_phase and t <= e2:
            return _ramp(anneal, max_lr, start, (t - e1) / (e2 - e1))
        if three_phase:
            return _ramp(anneal, start, end, (t - e2) / (last - e2))
        return _ramp(anneal, max_lr, end, (t - e1) / (last - e1))

    return f


def one_cycle_momentum(
    total_steps: int,
    pct_start: float = 0.3,
    anneal: str = "cos",
    three_phase: bool = False,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
) -> Ref:
    e1 = pct_start * total_steps - 1
    e2 = 2 * pct_start * total_steps - 2
    last = total_steps - 1

    def f(t: float) -> float:
        t = min(t, last)
        if t <= e1:
            return _ramp(anneal, max_momentum, base_momentum, t / e1)
        if three_phase and t <= e2:
            return _ramp(anneal, base_momentum, max_momentum, (t - e1) / (e2 - e1))
        if three_phase:
            return max_momentum
        return _ramp(anneal, base_momentum, max_momentum, (t - e1) / (last - e1))

    return f


def cyclic_momentum(
    base_lr: float,
    max_lr: float,
    step_size: float,
    mode: str = "triangular",
    gamma: float = 1.0,
    step_size_down: float | None = None,
    base_momentum: float = 0.8,
    max_momentum: float = 0.9,
) -> Ref:
    unit = cyclic(0.0, 1.0, step_size, mode, gamma, step_size_down)
    return lambda t: max_momentum - (max_momentum - base_momentum) * unit(t)


def warmup(inner: Ref, warmup_steps: float, start_lr: float = 0.0, shape: str = "linear") -> Ref:
    def f(t: float) -> float:
        if t >= warmup_steps:
            return inner(t - warmup_steps)
        target = inner(0.0)
        if shape == "linear":
            return start_lr + (target - start_lr) * t / warmup_steps
        return math.exp(
            math.log(start_lr) + (math.log(target) - math.log(start_lr)) * t / warmup_steps
        )

    return f


def join(pieces: Sequence[Ref], boundaries: Sequence[float]) -> Ref:
    def f(t: float) -> float:
        offset, k = 0.0, 0
        for i, b in enumerate(boundaries):
            if t >= b:
                offset, k = b, i + 1
        return pieces[k](t - offset)

    return f


def scale(inner: Ref, factor: float) -> Ref:
    return lambda t: factor * inner(t)


def clip(inner: Ref, min_lr: float = 0.0, max_lr: float = math.inf) -> Ref:
    return lambda t: min(max(inner(t), min_lr), max_lr)


# -- modern schedules (issue 10): written from the papers' and peers' definitions ----------


def cosine_wave(lr: float, total_steps: float, end_lr: float, num_cycles: float) -> Ref:
    """Hugging Face's ``0.5 * (1 + cos(pi * num_cycles * 2 * p))``, rescaled to [end_lr, lr]."""

    def f(t: float) -> float:
        p = min(t, total_steps) / total_steps
        return end_lr + (lr - end_lr) * 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * p))

    return f


def cosine_cycles(lr: float, total_steps: float, num_cycles: float, end_lr: float = 0.0) -> Ref:
    def f(t: float) -> float:
        if t >= total_steps:
            return end_lr
        period = total_steps / num_cycles
        u = (t - period * math.floor(t / period)) / period
        return end_lr + (lr - end_lr) * 0.5 * (1.0 + math.cos(math.pi * u))

    return f


def inverse_sqrt(lr: float, warmup_steps: float, timescale: float | None = None) -> Ref:
    s = warmup_steps if timescale is None else timescale

    def f(t: float) -> float:
        if t < warmup_steps:
            return lr * t / warmup_steps
        return lr / math.sqrt((t - warmup_steps) / s + 1.0)

    return f


def _decay_factor(shape: str, p: float, ratio: float) -> float:
    """The fraction of the way from the end value to the start, at progress p."""
    if shape == "linear":
        return 1.0 - p
    if shape == "cosine":
        return math.cos(math.pi * p / 2.0) ** 2
    if shape == "1-sqrt":
        return 1.0 - p**0.5
    if shape == "square":
        return (1.0 - p) * (1.0 + p)
    # exp: geometric from 1 to ratio, as a fraction of the way from ratio to 1
    return (math.exp(p * math.log(ratio)) - ratio) / (1.0 - ratio)


def _warm_factor(shape: str, p: float) -> float:
    if shape == "linear":
        return p
    if shape == "cosine":
        return math.sin(math.pi * p / 2.0) ** 2
    return 1.0 - (1.0 - p) ** 0.5


def wsd(
    lr: float,
    total_steps: float,
    warmup_steps: float,
    decay_steps: float,
    end_lr: float = 0.0,
    start_lr: float = 0.0,
    warmup_shape: str = "linear",
    decay_shape: str = "linear",
) -> Ref:
    def f(t: float) -> float:
        if t >= total_steps:
            return end_lr
        if t < warmup_steps:
            return start_lr + (lr - start_lr) * _warm_factor(warmup_shape, t / warmup_steps)
        start = total_steps - decay_steps
        if t < start:
            return lr
        p = (t - start) / decay_steps
        return end_lr + (lr - end_lr) * _decay_factor(decay_shape, p, end_lr / lr)

    return f


def cooldown(inner: Ref, start: float, length: float, shape: str, end_lr: float = 0.0) -> Ref:
    def f(t: float) -> float:
        if t < start:
            return inner(t)
        if t >= start + length:
            return end_lr
        peak = inner(start)
        return end_lr + (peak - end_lr) * _decay_factor(shape, (t - start) / length, end_lr / peak)

    return f


def shift(inner: Ref, offset: float) -> Ref:
    return lambda t: inner(t + offset)
