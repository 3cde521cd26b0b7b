"""Named model presets; the one registry of model architectures. Each family module in `edgetrack.families`
registers its own presets here (imported at the end of this module, so that the registry is full once it is
imported)."""

from __future__ import annotations

from edgetrack.config.model import ModelConfig
from edgetrack.errors import ConfigError
from edgetrack.registry import Registry, suggest

PRESETS: Registry[ModelConfig] = Registry("model")

def preset_config(name: str) -> ModelConfig:
    """The registered config for `name` (RegistryError with a suggestion when unknown)."""
    return PRESETS.get(name)


def list_models(pattern: str = "*") -> list[str]:
    """Names of the registered presets matching a glob pattern."""
    return PRESETS.names(pattern)


def check_model_name(name: str, option: str = "--model") -> None:
    """Refuse a model argument that names nothing: a missing path, or an unknown preset (with a did-you-mean),
    before any work; a known preset without bundled weights is left to the stage that needs the weights."""
    from pathlib import Path

    if Path(name).exists() or name in PRESETS:
        return
    if "/" in name or "\\" in name or Path(name).suffix or name.startswith("."):
        raise ConfigError(f"{option} {name}: folder not found; pass a model, export or build folder, or a preset "
                          "name (tiny)")
    raise ConfigError(f"{option} {name}: unknown model.{suggest(name, PRESETS.names())} Presets: "
                      f"{', '.join(PRESETS.names())}; or pass a model folder")


def _register_family_presets() -> None:
    from edgetrack.families import load_families

    load_families()


_register_family_presets()
