"""One config system: frozen pydantic models, YAML files, `--set a.b=c` overrides."""

from edgetrack.config.base import FrozenConfig, apply_overrides, build_config, load_config, read_yaml
from edgetrack.config.model import ModelConfig

__all__ = ["FrozenConfig", "ModelConfig", "apply_overrides", "build_config", "load_config", "read_yaml"]
