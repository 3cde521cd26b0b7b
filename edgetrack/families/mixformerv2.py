"""MixFormerV2: asymmetric attention with prediction tokens, a distribution box head, an online template; exported
as two graphs (template encoder, search step) and tracked by the online-template loop."""

from __future__ import annotations

from edgetrack.families import FAMILIES, Family

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
