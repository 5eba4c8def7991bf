"""The gradient noise scale B_simple and the critical batch size (McCandlish et al. 2018)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from ..schedules._base import check_fraction, check_non_negative, set_field
from ._accumulate import AccumulationResult

__all__ = ["GradientNoiseScale", "NoiseScaleState"]


@dataclass(frozen=True)
class NoiseScaleState:
    """EMAs of the two unbiased estimates; immutable (``update`` returns a new one).

    Attributes:
        steps: updates so far.
        grad_sq: EMA of the estimates of ``|G|^2`` (not bias-corrected: the
            correction cancels in the ratio).
        trace: EMA of the estimates of ``tr(Sigma)``.
    """

    steps: int = 0
    grad_sq: float = 0.0
    trace: float = 0.0

    @property
    def b_simple(self) -> float:
        """``B_simple = EMA[tr(Sigma)] / EMA[|G|^2]``; NaN until the denominator is > 0."""
        if self.steps == 0 or not self.grad_sq > 0.0:
            return math.nan
        return self.trace / self.grad_sq

    @property
    def critical_batch_size(self) -> float:
        """The critical batch size, estimated by ``B_simple`` (McCandlish et al. 2018)."""
        return self.b_simple


@dataclass(frozen=True)
class GradientNoiseScale:
    """Estimate the simple noise scale ``B_simple = tr(Sigma) / |G|^2`` during training.

    From the squared norms of gradients at two batch sizes ``Bs < Bb``, the unbiased
    estimates are (McCandlish et al. 2018, appendix A)::

        |G|^2     ~ (Bb |G_b|^2 - Bs |G_s|^2) / (Bb - Bs)
        tr(Sigma) ~ (|G_s|^2 - |G_b|^2) / (1/Bs - 1/Bb)

    Each is smoothed by an EMA with weight ``beta`` on the past, and ``B_simple`` is
    the ratio of the EMAs (the ratio of single estimates is biased). Beyond the
    critical batch ``B_crit ~ B_simple`` larger batches buy little speed-up, so it
    is a natural ``max_batch_size`` for :func:`lrkit.batch_size.increase_batch_instead`.

    :meth:`update_from` takes the norms that ``accumulate_gradients(...,
    measure_noise=True)`` measures (a micro-batch and the accumulated batch; under
    DDP this needs at least two micro-batches per rank). :meth:`update` takes any two
    batch sizes, for example one rank's gradient and the all-reduced one, measured
    by your own code.

    Args:
        beta: EMA weight on the past, in [0, 1).

    Raises:
        ValueError: ``beta`` outside [0, 1).

    Example:
        >>> gns = GradientNoiseScale(beta=0.0)
        >>> state = gns.update(gns.init(), small_sq_norm=2.0, big_sq_norm=1.1, small_batch=10,
        ...                    big_batch=100)
        >>> round(state.b_simple, 6)
        10.0
    """

    beta: float = 0.99

    def __post_init__(self) -> None:
        set_field(self, "beta", check_fraction("beta", self.beta, low_open=False))

    def init(self) -> NoiseScaleState:
        """The state before any update."""
        return NoiseScaleState()

    def update(
        self,
        state: NoiseScaleState,
        small_sq_norm: float,
        big_sq_norm: float,
        small_batch: int,
        big_batch: int,
    ) -> NoiseScaleState:
        """Fold one pair of gradient norms into the EMAs (pure: returns a new state).

        Raises:
            ValueError: ``small_batch`` not in ``[1, big_batch)``, or a norm negative or
                not finite.
        """
        gs = check_non_negative("small_sq_norm", small_sq_norm)
        gb = check_non_negative("big_sq_norm", big_sq_norm)
        if not (
            isinstance(small_batch, numbers.Integral) and isinstance(big_batch, numbers.Integral)
        ):
            raise TypeError(f"batch sizes must be ints, got {small_batch!r}, {big_batch!r}")
        if not 1 <= small_batch < big_batch:
            raise ValueError(
                f"need 1 <= small_batch < big_batch, got small_batch={small_batch!r}, "
                f"big_batch={big_batch!r}"
            )
        bs, bb = float(small_batch), float(big_batch)
        grad_sq = (bb * gb - bs * gs) / (bb - bs)
        trace = (gs - gb) / (1.0 / bs - 1.0 / bb)
        b = self.beta if state.steps else 0.0
        return NoiseScaleState(
            steps=state.steps + 1,
            grad_sq=b * state.grad_sq + (1.0 - b) * grad_sq,
            trace=b * state.trace + (1.0 - b) * trace,
        )

    def update_from(self, state: NoiseScaleState, result: AccumulationResult) -> NoiseScaleState:
        """Update from :func:`accumulate_gradients` run with ``measure_noise=True``.

        A result without the two norms (a single micro-batch on one process) leaves
        the state unchanged.
        """
        gs, gb = result.small_sq_norm, result.big_sq_norm
        bs, bb = result.small_batch, result.big_batch
        if gs is None or gb is None or bs is None or bb is None:
            return state
        return self.update(state, gs, gb, bs, bb)
