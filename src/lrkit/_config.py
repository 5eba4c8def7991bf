"""Configs and one-line specs for lrkit's immutable values (schedules, batch schedules).

Every configurable class is a frozen dataclass with a unique ``config_name``. Its
config is ``{"name": config_name, **fields}`` with nested values converted
recursively, so it is plain JSON. A spec is the same thing written as a call::

    cosine(lr=0.1, total_steps=1000)
    warmup(cosine(lr=0.1, total_steps=1000), warmup_steps=100)

Specs are parsed with :mod:`ast`, never evaluated: only literals, lists, tuples,
names of registered classes and keyword/positional arguments are accepted.

:func:`parse_spec` and :func:`from_config` raise only :class:`ConfigError`, whatever
they are given: a spec longer than ``MAX_SPEC_LENGTH`` characters, or a spec or
config nested deeper than ``MAX_DEPTH`` levels, is refused with a message saying so.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import math
from typing import Any, ClassVar, TypeVar

__all__ = [
    "ConfigError",
    "Configurable",
    "fingerprint",
    "from_config",
    "parse_spec",
    "registered_names",
]

_REGISTRY: dict[str, type[Configurable]] = {}

MAX_DEPTH = 50
"""The deepest nesting of calls, lists and signs in a spec (of dicts and lists in a config)."""
MAX_SPEC_LENGTH = 100_000
"""The longest spec, in characters."""

T = TypeVar("T", bound="Configurable")


class ConfigError(ValueError):
    """A config or spec that cannot be turned into a value."""


class Configurable:
    """Mixin for frozen dataclasses that round-trip through a config and a spec.

    Subclasses set ``config_name`` (a short lower-case name, unique across lrkit)
    to be registered; abstract bases leave it empty.
    """

    config_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("config_name", "")
        if name:
            if name in _REGISTRY and _REGISTRY[name].__qualname__ != cls.__qualname__:
                raise TypeError(f"config name {name!r} is already used by {_REGISTRY[name]!r}")
            _REGISTRY[name] = cls

    def to_config(self) -> dict[str, Any]:
        """A plain, JSON-serialisable dict that :func:`from_config` turns back into ``self``."""
        if not dataclasses.is_dataclass(self):  # pragma: no cover - programming error
            raise TypeError(f"{type(self).__name__} is not a dataclass")
        out: dict[str, Any] = {"name": self.config_name}
        for field in dataclasses.fields(self):
            if field.init:
                out[field.name] = _to_plain(getattr(self, field.name))
        return out

    def to_spec(self) -> str:
        """Return the one-line spec, e.g. ``"cosine(lr=0.1, total_steps=1000)"``."""
        return _config_to_spec(self.to_config())


def _to_plain(value: Any) -> Any:
    if isinstance(value, Configurable):
        return value.to_config()
    if isinstance(value, (tuple, list)):
        return [_to_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    raise TypeError(f"cannot put {value!r} of type {type(value).__name__} in a config")


def _from_plain(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ConfigError(f"config nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return _build(value, depth)
    if isinstance(value, list):
        return [_from_plain(v, depth + 1) for v in value]
    return value


def shorten(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages (never raises)."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception:  # a repr that fails must not hide the real error
        text = f"<{type(value).__name__} object>"
    if isinstance(value, str):
        text = repr(text[:limit] + "...") if len(text) > limit else repr(text)
    elif len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _refuse_unexpected(what: str, exc: Exception) -> ConfigError:
    """The last line of defence: a fault no check foresaw becomes a ConfigError naming it."""
    if isinstance(exc, RecursionError):
        return ConfigError(f"{what} nests too deeply (at most {MAX_DEPTH} levels)")
    return ConfigError(f"{what} cannot be built: {type(exc).__name__}: {shorten(str(exc))}")


def registered_names() -> list[str]:
    """Names that :func:`from_config` and :func:`parse_spec` know, sorted."""
    return sorted(_REGISTRY)


def from_config(config: dict[str, Any]) -> Configurable:
    """Rebuild a value from the dict that its ``to_config()`` returned.

    Raises:
        ConfigError: ``config`` is not a dict with a known ``"name"``, a key is not a
            string, it nests deeper than ``MAX_DEPTH`` levels, or its fields do not
            fit that class (the message names the field). Nothing else escapes.
    """
    try:
        return _build(config, 0)
    except ConfigError:
        raise
    except Exception as exc:  # the last line of defence: see _refuse_unexpected
        raise _refuse_unexpected("config", exc) from exc


def _build(config: Any, depth: int) -> Configurable:
    if not isinstance(config, dict):
        raise ConfigError(f"config must be a dict with a 'name' key, got {shorten(config)}")
    bad_keys = [k for k in config if not isinstance(k, str)]
    if bad_keys:
        raise ConfigError(f"config keys must be strings, got {shorten(bad_keys[0])}")
    if "name" not in config:
        raise ConfigError(f"config has no 'name' key: {shorten(config)}")
    name = config["name"]
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown name {shorten(name)}; known: {', '.join(registered_names())}")
    kwargs = {k: _from_plain(v, depth + 1) for k, v in config.items() if k != "name"}
    return _construct(cls, [], kwargs)


def _construct(cls: type[Configurable], args: list[Any], kwargs: dict[str, Any]) -> Configurable:
    fields = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    unknown = sorted(set(kwargs) - set(fields))
    if unknown:
        raise ConfigError(
            f"{cls.config_name}: unknown argument {unknown[0]!r}; expected some of {fields}"
        )
    if len(args) > len(fields):
        raise ConfigError(f"{cls.config_name}: takes at most {len(fields)} arguments")
    try:
        return cls(*args, **kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ConfigError(f"{cls.config_name}: {exc}") from exc


def fingerprint(value: Configurable) -> str:
    """A short, stable hash of a value's config: equal configs give equal fingerprints.

    Whole floats hash as ints, so ``total_steps=1000`` and ``total_steps=1000.0``
    (equal values with equal configs) share a fingerprint.
    """
    text = json.dumps(_canonical(value.to_config()), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _canonical(value: Any) -> Any:
    """``value`` with whole floats as ints (``1000.0 == 1000`` in a config, so one text)."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2.0**53:
        return int(value)
    return value


def parse_spec(spec: str) -> Configurable:
    """Parse a one-line spec such as ``"step(lr=0.1, step_size=30)"``.

    Raises:
        ConfigError: the spec is not a call of a known name with literal arguments,
            is longer than ``MAX_SPEC_LENGTH`` characters, nests deeper than
            ``MAX_DEPTH`` levels, or its arguments are bad. Nothing else escapes.
    """
    if not isinstance(spec, str):
        raise ConfigError(f"spec must be a string, got {type(spec).__name__}")
    if len(spec) > MAX_SPEC_LENGTH:
        raise ConfigError(
            f"spec is {len(spec)} characters long, more than the {MAX_SPEC_LENGTH} allowed"
        )
    text = spec.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"cannot parse spec {shorten(spec)}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"spec nests too deeply (at most {MAX_DEPTH} levels)") from None
    except (ValueError, OverflowError) as exc:  # null bytes, surrogates, huge literals
        raise ConfigError(f"cannot parse spec {shorten(spec)}: {exc}") from None
    try:
        value = _eval_node(tree.body, text, 0)
    except ConfigError:
        raise
    except Exception as exc:  # the last line of defence: see _refuse_unexpected
        raise _refuse_unexpected(f"spec {shorten(spec)}", exc) from exc
    if not isinstance(value, Configurable):
        raise ConfigError(f"spec {shorten(spec)} must be a call such as 'constant(lr=0.1)'")
    return value


_CONSTANTS = {"True": True, "False": False, "None": None, "inf": math.inf}


def _eval_node(node: ast.AST, spec: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ConfigError(f"spec nests deeper than {MAX_DEPTH} levels: {shorten(spec)}")
    depth += 1
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, (int, float, str, bool))
    ):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _eval_node(node.operand, spec, depth)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval_node(elt, spec, depth) for elt in node.elts]
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if node.id in _REGISTRY:
            return _construct(_REGISTRY[node.id], [], {})
        raise ConfigError(
            f"unknown name {shorten(node.id)} in spec {shorten(spec)}; "
            f"known: {', '.join(registered_names())}"
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        cls = _REGISTRY.get(name)
        if cls is None:
            raise ConfigError(
                f"unknown name {shorten(name)} in spec {shorten(spec)}; "
                f"known: {', '.join(registered_names())}"
            )
        args = [_eval_node(a, spec, depth) for a in node.args]
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise ConfigError(f"'**' is not allowed in spec {shorten(spec)}")
            kwargs[kw.arg] = _eval_node(kw.value, spec, depth)
        return _construct(cls, args, kwargs)
    text = ast.get_source_segment(spec, node) or ast.dump(node)
    raise ConfigError(f"unsupported expression {shorten(text)} in spec {shorten(spec)}")


def _config_to_spec(config: Any) -> str:
    if isinstance(config, dict):
        args = ", ".join(f"{k}={_config_to_spec(v)}" for k, v in config.items() if k != "name")
        return f"{config['name']}({args})"
    if isinstance(config, list):
        return "[" + ", ".join(_config_to_spec(v) for v in config) + "]"
    if isinstance(config, float) and math.isinf(config):
        return "inf" if config > 0 else "-inf"
    return repr(config)
