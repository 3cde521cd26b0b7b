"""The one-stream OSTrack family (and its CompressTracker students): presets, model, compression, tracking loop."""

from __future__ import annotations

from edgetrack.config.model import ModelConfig
from edgetrack.families import FAMILIES, Family
from edgetrack.models.presets import PRESETS

OSTRACK = Family(
    name="ostrack",
    model_class="edgetrack.models.tracker:TrackerModel",
    compression="edgetrack.compress.task:make_compression",
    tracker="edgetrack.runtime.tracker:Tracker.from_model",
    candidate_elimination=((3, 6, 9), 0.7),  # OSTrack-256's, turned on by `create_model(..., ce=True)`
)
FAMILIES.add("ostrack", OSTRACK)

PRESETS.add("ostrack256", ModelConfig(name="ostrack256"))
PRESETS.add(
    "ostrack384",
    ModelConfig(name="ostrack384", template_size=192, search_size=384, search_factor=5.0),
)
# A small teacher for CPU work: a sixth of ViT-B's width, a third of its depth, half its input size. A
# convolutional stem of stride 8 in place of the 16x16 patch projection gives a 16x16 score map (OSTrack-256's
# size) for a 128-pixel search crop; 0.49 GMACs per frame.
PRESETS.add(
    "tiny",
    ModelConfig(
        name="tiny", template_size=64, search_size=128, stem="conv", patch_size=8, embed_dim=128, depth=4,
        num_heads=4, head_channels=64,
    ),
)
