"""Learning-rate schedules as immutable values.

Every schedule is a frozen dataclass: ``schedule(t)`` returns float64 learning
rates in closed form for a time ``t >= 0`` (a number or a numpy array), with no
hidden state. Time is on a clock the caller chooses: optimizer steps by default,
or fractional epochs. A change "at ``b``" applies for ``t >= b``. Past the end
of a finite schedule the end value is held; no schedule returns a negative or
NaN learning rate.

Example:
    >>> from lrkit.schedules import parse, from_config
    >>> s = parse("constant(lr=0.1)")
    >>> s(10)
    0.1
    >>> from_config(s.to_config()) == s
    True
"""

from __future__ import annotations

from typing import Any

from .._config import ConfigError, fingerprint, parse_spec
from .._config import from_config as _from_config
from ._base import Schedule
from ._combinators import Clip, Join, Mirror, Scale, Shift, Warmup
from ._constant import Constant
from ._cyclic import Cyclic, OneCycle
from ._decay import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LinearDecay,
    MultiStepDecay,
    PolynomialDecay,
    StepDecay,
)
from ._end import end_of
from ._hf import HF_NAMES, from_hf
from ._plateau import PlateauDecision, PlateauState, ReduceOnPlateau
from ._restarts import CosineCycles, CosineRestarts
from ._rsqrt import InverseSqrt
from ._wsd import Cooldown, WarmupStableDecay, cooldown

__all__ = [
    "HF_NAMES",
    "Clip",
    "ConfigError",
    "Constant",
    "Cooldown",
    "CosineCycles",
    "CosineDecay",
    "CosineRestarts",
    "Cyclic",
    "ExponentialDecay",
    "InverseSqrt",
    "InverseTimeDecay",
    "Join",
    "LinearDecay",
    "Mirror",
    "MultiStepDecay",
    "OneCycle",
    "PlateauDecision",
    "PlateauState",
    "PolynomialDecay",
    "ReduceOnPlateau",
    "Scale",
    "Schedule",
    "Shift",
    "StepDecay",
    "Warmup",
    "WarmupStableDecay",
    "cooldown",
    "end_of",
    "fingerprint",
    "from_config",
    "from_hf",
    "parse",
]


def from_config(config: dict[str, Any]) -> Schedule:
    """Rebuild a schedule from ``schedule.to_config()``.

    Raises:
        ConfigError: unknown name, bad fields, or a config of something that is
            not a learning-rate schedule.
    """
    value = _from_config(config)
    if not isinstance(value, Schedule):
        raise ConfigError(f"{config.get('name')!r} is not a learning-rate schedule")
    return value


def parse(spec: str) -> Schedule:
    """Build a schedule from a one-line spec such as ``"cosine(lr=0.1, total_steps=1000)"``.

    Raises:
        ConfigError: the spec is malformed, names an unknown schedule, or its
            arguments are bad (the message names them).
    """
    value = parse_spec(spec)
    if not isinstance(value, Schedule):
        raise ConfigError(f"{spec!r} is not a learning-rate schedule")
    return value
