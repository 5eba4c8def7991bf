"""The public surface is explicit: a change to it shows up here and is deliberate."""

from __future__ import annotations

import lrkit
import lrkit.batch_size
import lrkit.range_test
import lrkit.schedules

EXPECTED = {
    lrkit: {"Schedule", "__version__", "batch_size", "range_test", "schedules"},
    lrkit.schedules: {
        "Clip", "ConfigError", "Constant", "Cooldown", "CosineCycles", "CosineDecay",
        "CosineRestarts", "Cyclic", "ExponentialDecay", "HF_NAMES", "InverseSqrt",
        "InverseTimeDecay", "Join", "LinearDecay", "Mirror", "MultiStepDecay", "OneCycle",
        "PlateauDecision", "PlateauState", "PolynomialDecay", "ReduceOnPlateau", "Scale",
        "Schedule", "Shift", "StepDecay", "Warmup", "WarmupStableDecay", "cooldown", "end_of",
        "fingerprint", "from_config", "from_hf", "parse",
    },
    lrkit.range_test: {
        "METHODS", "NoSuggestionError", "RangeTestResult", "StopRule", "StopState", "analyze",
        "fastai_curve", "local_fit", "minimum", "plot_range_test", "running_median",
        "steepest", "sweep_lrs", "valley",
        "SCHEDULES", "Race", "Rung", "lightning", "peak_lr", "race", "race_candidates",
        "schedule_shape", "Verdict",
    },
    lrkit.batch_size: {
        "CLOCKS", "LAST_BATCH", "BatchConstant", "BatchFromLR", "BatchLinear",
        "BatchMatchedLR", "BatchOnPlateau", "BatchPlan", "BatchPlateauState", "BatchSchedule",
        "BatchStep", "ConfigError",
        "clock_time", "count_updates", "epoch_batch_sizes", "equivalent_batch_size",
        "fingerprint", "from_config", "higher_lr_batch", "higher_momentum",
        "increase_batch_instead", "linear_scaling", "noise_scale", "parse", "round_batch",
        "sqrt_scaling",
        # adaptive batch growth and the Adam-aware conversion (issue 13)
        "LR_COUPLINGS", "AdamBatchFromLR", "AdamMatchedLR", "AdaptiveBatch",
        "AdaptiveBatchState", "BatchDecision", "BatchPiecewise", "adam_equivalent_batch_size",
        "increase_batch_instead_adam",
    },
}  # fmt: skip

TORCH_API = {
    "AccumulationResult", "GradientNoiseScale", "LRScheduler", "NoiseScaleState",
    "PlateauScheduler", "ScheduledBatchSampler", "ScheduledLoader", "accumulate_gradients",
    "grad_sq_norm", "range_test",
    "AdaptiveBatchSize",
}  # fmt: skip


def test_numpy_only_modules_export_exactly_their_documented_names():
    for module, names in EXPECTED.items():
        assert set(module.__all__) == names, module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_torch_integration_exports():
    import lrkit.torch

    assert set(lrkit.torch.__all__) == TORCH_API
    for name in TORCH_API:
        assert hasattr(lrkit.torch, name)


def test_every_exported_schedule_has_a_registered_spec_name():
    from lrkit._config import registered_names

    classes = [
        obj
        for obj in (getattr(lrkit.schedules, n) for n in lrkit.schedules.__all__)
        if isinstance(obj, type) and issubclass(obj, lrkit.Schedule) and obj is not lrkit.Schedule
    ]
    names = [cls.config_name for cls in classes]
    assert len(classes) == 21
    assert len(set(names)) == len(names)
    assert set(names) <= set(registered_names())
