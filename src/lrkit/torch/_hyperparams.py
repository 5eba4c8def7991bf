"""Which param-group keys ``LRScheduler(hyperparams=...)`` may write, and how.

A key is a param-group entry (``"weight_decay"``) or an element of a tuple entry
(``"betas[1]"``). Every scheduled key is checked against the optimizer's groups
when the scheduler is built, so a typo is an error at construction, not a silent
no-op.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.optim import Optimizer

from .._config import _config_to_spec
from ..schedules import Schedule

__all__ = ["describe_hyper", "hyperparams_arg", "parse_key", "per_group_or_none", "set_key"]

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")


def parse_key(key: str) -> tuple[str, int | None]:
    """``"betas[1]"`` -> ``("betas", 1)``; ``"weight_decay"`` -> ``("weight_decay", None)``."""
    match = _KEY.match(key) if isinstance(key, str) else None
    if match is None:
        raise ValueError(
            f"hyperparams keys must be param-group keys such as 'weight_decay' or 'betas[1]', "
            f"got {key!r}"
        )
    return match.group(1), None if match.group(2) is None else int(match.group(2))


def _is_number(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and value.is_floating_point()
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def hyperparams_arg(
    hyperparams: Any, optimizer: Optimizer, momentum_keys: list[str]
) -> dict[str, Schedule | tuple[Schedule | None, ...]]:
    """Check ``hyperparams=`` against the param groups: each scheduled key exists, a number."""
    if hyperparams is None:
        return {}
    if not isinstance(hyperparams, Mapping):
        raise TypeError(f"hyperparams must be a dict of key -> schedule, got {hyperparams!r}")
    groups = optimizer.param_groups
    taken = {"betas[0]" if k == "betas" else k for k in momentum_keys}
    out: dict[str, Schedule | tuple[Schedule | None, ...]] = {}
    for key, value in hyperparams.items():
        name, index = parse_key(key)
        if name == "lr":
            raise ValueError("hyperparams must not hold 'lr': the schedule argument sets it")
        if key in taken:
            raise ValueError(f"hyperparams[{key!r}] is already written by momentum=")
        if isinstance(value, Schedule):
            checked: Schedule | tuple[Schedule | None, ...] = value
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            items = tuple(value)
            if len(items) != len(groups):
                raise ValueError(
                    f"hyperparams[{key!r}] has {len(items)} entries but the optimizer has "
                    f"{len(groups)} param groups"
                )
            for i, item in enumerate(items):
                if item is not None and not isinstance(item, Schedule):
                    raise TypeError(f"hyperparams[{key!r}][{i}] must be a Schedule or None")
            checked = items
        else:
            raise TypeError(
                f"hyperparams[{key!r}] must be a Schedule or a list with one per param group, "
                f"got {value!r}"
            )
        for i, (group, s) in enumerate(
            zip(groups, per_group_or_none(checked, len(groups)), strict=True)
        ):
            if s is None:
                continue
            where = f"param group {i} of {type(optimizer).__name__}"
            if name not in group:
                keys = sorted(k for k in group if k != "params")
                raise ValueError(
                    f"{where} has no key {name!r} (hyperparams[{key!r}]); its keys: {keys}"
                )
            current = group[name]
            if index is not None:
                if not isinstance(current, (tuple, list)) or index >= len(current):
                    raise ValueError(
                        f"{where} has {name}={current!r}, which has no element [{index}]"
                    )
                current = current[index]
            if not _is_number(current):
                raise ValueError(f"{where} has {key}={current!r}, not a number a schedule can set")
        out[key] = checked
    return out


def per_group_or_none(
    value: Schedule | tuple[Schedule | None, ...], n: int
) -> list[Schedule | None]:
    return [value] * n if isinstance(value, Schedule) else list(value)


def set_key(group: dict[str, Any], name: str, index: int | None, value: float) -> None:
    """Write ``value`` into ``group[name]`` (or its element ``index``), in place for tensors."""
    if index is None:
        if isinstance(group[name], torch.Tensor):
            group[name].fill_(value)
        else:
            group[name] = value
        return
    items = group[name]
    if isinstance(items[index], torch.Tensor):
        items[index].fill_(value)
    else:
        new = list(items)
        new[index] = value
        group[name] = type(items)(new) if isinstance(items, tuple) else new


def describe_hyper(state: dict[str, Any]) -> str:
    if not state:
        return "none"
    parts = []
    for key, entry in state.items():
        specs = ["-" if c is None else _config_to_spec(c) for c in entry["configs"]]
        parts.append(
            f"{key}: " + (specs[0] if len(set(specs)) == 1 else "[" + ", ".join(specs) + "]")
        )
    return "{" + "; ".join(parts) + "}"
