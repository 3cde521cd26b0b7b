"""Frozen configs, YAML loading and `a.b=c` overrides with did-you-mean errors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from edgetrack.errors import ConfigError
from edgetrack.registry import closest

C = TypeVar("C", bound="FrozenConfig")


class FrozenConfig(BaseModel):
    """Base for every stage config: immutable, unknown keys rejected, no infinite or NaN numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=(), allow_inf_nan=False)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def replace(self: C, **changes: Any) -> C:
        """A copy with `changes` applied and validated."""
        return build_config(type(self), {**self.to_dict(), **changes})


def _nested_model(annotation: Any) -> type[FrozenConfig] | None:
    if isinstance(annotation, type) and issubclass(annotation, FrozenConfig):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _rest(value: Any) -> str:
    """'.a.b' for a value {"a": {"b": ...}} holding a single chain of keys, else ''."""
    rest = ""
    while isinstance(value, Mapping) and len(value) == 1:
        (key, value), = value.items()
        rest += f".{key}"
    return rest


def check_keys(cls: type[FrozenConfig], data: Mapping[str, Any], where: str = "") -> None:
    """Raise ConfigError for the first unknown key, suggesting the closest known one."""
    fields = cls.model_fields
    for key, value in data.items():
        path = f"{where}{key}"
        if key not in fields:
            rest = _rest(value)  # `--set trian.epochs=3` arrives as {"trian": {"epochs": 3}}
            close = closest(key, list(fields))
            hint = f" Did you mean '{where}{close}{rest}'?" if close else ""
            raise ConfigError(f"unknown config key '{path}{rest}'.{hint}")
        nested = _nested_model(fields[key].annotation)
        if nested is not None and isinstance(value, Mapping):
            check_keys(nested, value, f"{path}.")


def build_config(cls: type[C], data: Mapping[str, Any]) -> C:
    """Validate `data` into `cls`, with readable errors."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{cls.__name__} settings must be a mapping of keys to values, not a {type(data).__name__}")
    check_keys(cls, data)
    try:
        return cls.model_validate(dict(data))
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        where = f" for '{loc}'" if loc else ""
        raise ConfigError(f"invalid {cls.__name__}{where}: {first['msg']}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split 'a.b=c' into (['a', 'b'], value parsed as YAML)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override '{text}' is not of the form key=value (for example train.epochs=10)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a deep copy of `data` with each 'a.b=c' override set."""
    result = _deep_copy(data)
    for text in overrides:
        path, value = parse_override(text)
        node = result
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = value
    return result


def _deep_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from `path`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of keys to values, not {type(data).__name__}")
    return data


def load_config(cls: type[C], source: str | Path | Mapping[str, Any] | None = None,
                overrides: Iterable[str] = ()) -> C:
    """Build `cls` from a YAML file or mapping (defaults when None), then apply overrides."""
    if source is None:
        data: Mapping[str, Any] = {}
    elif isinstance(source, Mapping):
        data = source
    else:
        data = read_yaml(source)
    return build_config(cls, apply_overrides(data, overrides))
