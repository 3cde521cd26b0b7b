"""OpenCV's VitTrack: the one-stream layout and loop of the OSTrack family, differing in configuration only (stem,
head, processing constants), so its entry reuses OSTrack's hooks."""

from __future__ import annotations

from dataclasses import replace

from edgetrack.config.model import ModelConfig
from edgetrack.families import FAMILIES
from edgetrack.families.ostrack import OSTRACK
from edgetrack.models.presets import PRESETS

FAMILIES.add("vittrack", replace(OSTRACK, name="vittrack"))

# OpenCV's VitTrack (`cv2.TrackerVit`, object_tracking_vittrack_2023sep.onnx): OSTrack's layout at 48 wide, 3
# one-head blocks, a HardSwish conv stem and a centre head 48 -> 32 -> 16 -> 8 -> 4 with batch norm folded in.
# OpenCV feeds it BGR crops normalised with ImageNet's (R, G, B) constants; loading the file folds that channel
# order into the stem's first convolution, so here it takes RGB like every model with the constants reversed.
PRESETS.add(
    "vittrack",
    ModelConfig(
        name="vittrack", family="vittrack", template_size=128, search_size=256, stem="conv-hardswish",
        patch_size=16, embed_dim=48, depth=3, num_heads=1, mlp_ratio=4.0, norm_eps=1e-5, head_channels=32,
        head_norm="folded", min_score=0.2, integer_boxes=True,
        mean=(0.406, 0.456, 0.485), std=(0.225, 0.224, 0.229),
    ),
)
