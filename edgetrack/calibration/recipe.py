"""Calibration recipes: which sequences, how many samples, which seed and jitter make a calibration set.

Recipes are YAML files; the named ones ship in `edgetrack/calibration/recipes/` (the repository's top-level
`calibration/` points there). `edgetrack calibrate --recipe NAME|FILE` and a pipeline's `calibrate.recipe` read
them; explicit settings override the recipe's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from edgetrack.config.base import FrozenConfig, build_config, read_yaml
from edgetrack.errors import ConfigError
from edgetrack.registry import suggest

RECIPE_DIR = Path(__file__).with_name("recipes")


class CalibrationRecipe(FrozenConfig):
    """A calibration set's provenance: data (a training split), samples, seed and the tracking-like jitter."""

    data: str = "synthetic-train"  # DATASET[:SPLIT], a training-set name as `compress` spells it, unlabeled:DIR
    data_root: str | None = None
    samples: int = Field(512, gt=0)
    seed: int = Field(0, ge=0)
    # the previous box as a tracker reports it: centre error N(0, centre_jitter * sqrt(wh)), size x exp(N(0, s))
    centre_jitter: float = Field(0.1, ge=0)
    scale_jitter: float = Field(0.05, ge=0)


def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def recipe_path(name_or_file: str | Path) -> Path:
    """The YAML file of a shipped recipe name, or the given file."""
    path = Path(name_or_file)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"calibration recipe file {path} does not exist")
        return path
    shipped = RECIPE_DIR / f"{name_or_file}.yaml"
    if not shipped.is_file():
        names = recipe_names()
        raise ConfigError(f"unknown calibration recipe '{name_or_file}'.{suggest(str(name_or_file), names)} "
                          f"Shipped: {', '.join(names)}; or pass a YAML file")
    return shipped


def load_recipe(name_or_file: str | Path | None, overrides: Mapping[str, Any] | None = None) -> CalibrationRecipe:
    """The recipe (defaults when None) with `overrides` (keys whose value is None are ignored) on top."""
    data = dict(read_yaml(recipe_path(name_or_file))) if name_or_file else {}
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return build_config(CalibrationRecipe, data)
