"""Option helpers shared by commands: YAML config + `--set` overrides into one frozen config."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import typer

from edgetrack.config.base import FrozenConfig, apply_overrides, build_config, read_yaml

C = TypeVar("C", bound=FrozenConfig)

CONFIG_OPTION = typer.Option(None, "--config", "-c", help="YAML file with the stage's settings.")
SET_OPTION = typer.Option([], "--set", help="Override a setting: --set train.epochs=10 (repeatable).")
REPLACE_OPTION = typer.Option(False, "--replace", help="Replace --out even when it is not an earlier output of this "
                              "command (a file, another kind of edgetrack folder, a folder of other files). "
                              "Without it those are refused and left as they are.")


def resolve(cls: type[C], config: Path | None, sets: list[str], flags: dict[str, Any]) -> C:
    """Defaults < YAML file < explicit flags (those not None) < --set overrides."""
    data = read_yaml(config) if config else {}
    for dotted, value in flags.items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return build_config(cls, apply_overrides(data, sets))
