"""One-stream ViT trackers with OSTrack's structure and key names, presets and checkpoint I/O."""

from edgetrack.models.factory import create_model, model_config, save_model
from edgetrack.models.head import HeadOutput
from edgetrack.models.presets import list_models
from edgetrack.models.tracker import TrackerModel

__all__ = ["HeadOutput", "TrackerModel", "create_model", "list_models", "model_config", "save_model"]
