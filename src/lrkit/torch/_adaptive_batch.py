"""Drive :class:`lrkit.batch_size.AdaptiveBatch` from gradients, on one process or many."""

from __future__ import annotations

from typing import Any

import torch

from .._config import fingerprint
from ..batch_size import AdaptiveBatch, AdaptiveBatchState, BatchDecision, BatchPiecewise
from ._accumulate import AccumulationResult
from ._noise_scale import GradientNoiseScale, NoiseScaleState

__all__ = ["AdaptiveBatchSize"]


class AdaptiveBatchSize:
    """Measure ``B_simple``, take the controller's decisions, and serve them to a loader.

    Each :meth:`step` folds one :func:`accumulate_gradients` result (run with
    ``measure_noise=True``) into a :class:`GradientNoiseScale` EMA and feeds the
    smoothed ``B_simple`` to the numpy controller. Under ``torch.distributed`` the
    two squared norms are first averaged over ranks with one all-reduce (each rank's
    first micro-batch is a different sample of ``|G_small|^2``; ``|G_big|^2`` is the
    same everywhere after DDP), so every rank holds the same float64 numbers and
    takes the same decision at the same update.

    It is a *batch source*: pass it as ``batch_size=`` to :class:`ScheduledLoader`,
    which reads :attr:`schedule` (the decisions so far, a
    :class:`~lrkit.batch_size.BatchPiecewise`) and, when a decision changes it,
    continues from the next unseen sample with the new size. No batch of the old
    size is handed out after a decision, also with prefetching workers (their
    prefetched batches are dropped).

    The LR coupling is a multiplier on your schedule: ``lr = schedule(t) * sizer.lr_factor``.
    A loop::

        sizer = AdaptiveBatchSize(AdaptiveBatch(batch_size=32 * world, max_batch_size="auto",
                                                granularity=16 * world, dataset_size=N))
        loader = ScheduledLoader(data, sizer)
        for x, y in loader:
            for g in opt.param_groups:
                g["lr"] = lr_schedule(loader.batch_time) * sizer.lr_factor
            opt.zero_grad()
            r = accumulate_gradients(model, loss_fn, x, y, micro_batch_size=16,
                                     global_batch_size=loader.batch_size, measure_noise=True)
            opt.step()
            sizer.step(r, time=loader.time)

    Resuming: save :meth:`state_dict` with the loader's; on resume call this
    :meth:`load_state_dict` *before* the loader's (the loader checks that its
    schedule, the decisions, matches).

    Args:
        controller: the decision rule and its limits.
        noise: the ``B_simple`` estimator (default ``GradientNoiseScale()``, beta 0.99:
            at small batches the single estimates are noisy, MNIST-1D at batch 32 needed
            0.995).
        group: the process group to average over; None: the default group when
            ``torch.distributed`` is initialised.

    Raises:
        TypeError: ``controller`` or ``noise`` of the wrong type.

    Example:
        >>> from lrkit.batch_size import AdaptiveBatch
        >>> sizer = AdaptiveBatchSize(AdaptiveBatch(batch_size=8, max_batch_size=64,
        ...                                         warmup_updates=0))
        >>> r = AccumulationResult(loss=1.0, samples=8, micro_batches=2, small_sq_norm=5.0,
        ...                        small_batch=4, big_sq_norm=3.0, big_batch=8)
        >>> decision = sizer.step(r, time=0.25)
        >>> round(sizer.b_simple, 6), decision.new_batch_size, sizer.schedule(0.3)
        (16.0, 16, 16)
    """

    def __init__(
        self,
        controller: AdaptiveBatch,
        *,
        noise: GradientNoiseScale | None = None,
        group: Any = None,
    ) -> None:
        if not isinstance(controller, AdaptiveBatch):
            raise TypeError(f"controller must be an AdaptiveBatch, got {controller!r}")
        noise = GradientNoiseScale() if noise is None else noise
        if not isinstance(noise, GradientNoiseScale):
            raise TypeError(f"noise must be a GradientNoiseScale, got {noise!r}")
        self.controller = controller
        self.noise = noise
        self.group = group
        self.state: AdaptiveBatchState = controller.init()
        self.noise_state: NoiseScaleState = noise.init()
        self._schedule = controller.schedule(self.state)

    @property
    def schedule(self) -> BatchPiecewise:
        """The batch schedule of the decisions so far (the same object until the next one)."""
        return self._schedule

    @property
    def batch_size(self) -> int:
        """The global batch in force."""
        return self.state.batch_size

    @property
    def lr_factor(self) -> float:
        """The LR multiplier of the coupling: 1, ``B / B0`` or ``sqrt(B / B0)``."""
        return self.controller.lr_factor(self.state)

    @property
    def b_simple(self) -> float:
        """The smoothed ``B_simple`` now (NaN before the first measurement)."""
        return self.noise_state.b_simple

    @property
    def decisions(self) -> tuple[BatchDecision, ...]:
        """Every decision so far; ``d.as_row()`` is a ``metrics.csv`` row."""
        return self.state.decisions

    def _reduced(self, result: AccumulationResult) -> AccumulationResult:
        dist = torch.distributed
        if not (dist.is_available() and dist.is_initialized()):
            return result
        if dist.get_world_size(self.group) == 1:
            return result
        if result.small_sq_norm is None or result.big_sq_norm is None:
            raise ValueError(
                "AdaptiveBatchSize under torch.distributed needs accumulate_gradients(..., "
                "measure_noise=True) with at least two micro-batches per rank"
            )
        both = torch.tensor([result.small_sq_norm, result.big_sq_norm], dtype=torch.float64)
        dist.all_reduce(both, group=self.group)
        both /= dist.get_world_size(self.group)
        small, big = both.tolist()
        return AccumulationResult(
            loss=result.loss,
            samples=result.samples,
            micro_batches=result.micro_batches,
            small_sq_norm=small,
            small_batch=result.small_batch,
            big_sq_norm=big,
            big_batch=result.big_batch,
        )

    def step(self, result: AccumulationResult, *, time: float) -> BatchDecision | None:
        """Fold one update's gradient norms in; return the decision taken now, if any.

        Args:
            result: what :func:`accumulate_gradients` returned for this update.
            time: the clock at which the next batch starts (``loader.time``).

        Raises:
            TypeError: ``result`` is not an :class:`AccumulationResult`.
            ValueError: under ``torch.distributed``, a result without the norms.
        """
        if not isinstance(result, AccumulationResult):
            raise TypeError(f"result must be an AccumulationResult, got {result!r}")
        self.noise_state = self.noise.update_from(self.noise_state, self._reduced(result))
        before = len(self.state.decisions)
        self.state = self.controller.update(self.state, self.noise_state.b_simple, time)
        if len(self.state.decisions) == before:
            return None
        self._schedule = self.controller.schedule(self.state)
        return self.state.decisions[-1]

    def state_dict(self) -> dict[str, Any]:
        """The controller's and the EMA's state, and a fingerprint of the configs."""
        return {
            "controller": fingerprint(self.controller),
            "noise": {"beta": self.noise.beta},
            "state": self.state.to_dict(),
            "noise_state": {
                "steps": self.noise_state.steps,
                "grad_sq": self.noise_state.grad_sq,
                "trace": self.noise_state.trace,
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`: the next decisions are those of an unbroken run.

        Raises:
            ValueError: a state of another controller or EMA, or a truncated one.
        """
        if not isinstance(state, dict) or not {
            "controller",
            "noise",
            "state",
            "noise_state",
        } <= set(state):
            raise ValueError(
                f"state must be a dict from AdaptiveBatchSize.state_dict(), got {state!r}"
            )
        if state["controller"] != fingerprint(self.controller):
            raise ValueError("cannot resume: the state belongs to another AdaptiveBatch config")
        if state["noise"] != {"beta": self.noise.beta}:
            raise ValueError(
                f"cannot resume: the state has noise {state['noise']!r}, "
                f"this one beta={self.noise.beta!r}"
            )
        self.state = AdaptiveBatchState.from_dict(state["state"])
        self.noise_state = NoiseScaleState(**state["noise_state"])
        self._schedule = self.controller.schedule(self.state)
