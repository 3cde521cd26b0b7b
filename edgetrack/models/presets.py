"""Named model presets; the one registry of model architectures."""

from __future__ import annotations

from edgetrack.config.model import ModelConfig
from edgetrack.errors import ConfigError
from edgetrack.registry import Registry, suggest

PRESETS: Registry[ModelConfig] = Registry("model")

#: OSTrack-256's candidate-elimination settings, turned on by `create_model(..., ce=True)`.
OSTRACK_CE_LOC = (3, 6, 9)
OSTRACK_CE_KEEP = 0.7

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

# MixFormerV2 (`edgetrack.models.mixformerv2`): ViT-B/16 with four prediction tokens, MLP distribution box head
# over 96 bins and an MLP score head; search factor 4.5 as its test settings (training used 5.0 for B).
PRESETS.add(
    "mixformerv2_b",
    ModelConfig(name="mixformerv2_b", family="mixformerv2", template_size=128, search_size=288, search_factor=4.5,
                depth=8, mlp_ratio=4.0, head_bins=96),
)
PRESETS.add(
    "mixformerv2_s",
    ModelConfig(name="mixformerv2_s", family="mixformerv2", template_size=112, search_size=224, search_factor=4.5,
                depth=4, mlp_ratio=1.0, head_bins=96),
)


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
