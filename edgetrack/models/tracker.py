"""The one-stream tracker model: backbone + center head, OSTrack's structure and key names."""

from __future__ import annotations

from torch import Tensor, nn

from edgetrack.config.model import ModelConfig
from edgetrack.models.backbone import ViTBackbone
from edgetrack.models.head import CenterPredictor, HeadOutput


class TrackerModel(nn.Module):
    """`forward(template, search) -> HeadOutput(score_map, size_map, offset_map)`.

    Inputs are normalised RGB crops: template (B, 3, T, T), search (B, 3, S, S).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = ViTBackbone(cfg)
        self.box_head = CenterPredictor(cfg.embed_dim, cfg.head_channels, cfg.head_norm)

    def forward(self, template: Tensor, search: Tensor, ce: bool | None = None) -> HeadOutput:
        return self.head(self.backbone(template, search, ce=ce))

    def head(self, tokens: Tensor) -> HeadOutput:
        """Run the head on the last `search_feat**2` tokens (already normed)."""
        n = self.cfg.search_feat
        search = tokens[:, -n * n:]
        feat = search.transpose(1, 2).reshape(search.shape[0], -1, n, n).contiguous()  # as OSTrack: same conv path
        return self.box_head(feat)
