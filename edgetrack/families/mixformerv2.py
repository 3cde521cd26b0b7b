"""MixFormerV2: asymmetric attention with prediction tokens, a distribution box head, an online template; exported
as two graphs (template encoder, search step) and tracked by the online-template loop."""

from __future__ import annotations

from edgetrack.config.model import ModelConfig
from edgetrack.families import FAMILIES, Family
from edgetrack.models.presets import PRESETS

FAMILIES.add("mixformerv2", Family(
    name="mixformerv2",
    model_class="edgetrack.models.mixformerv2:MixFormerV2Model",
    compression="edgetrack.compress.mixformerv2:make_compression",
    tracker="edgetrack.runtime.online_tracker:OnlineTemplateTracker.from_model",
    export="split",
    macs="edgetrack.models.profile:mixformer_macs",
    own_formats=("mixformerv2",),
    online_template=True,
))

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
