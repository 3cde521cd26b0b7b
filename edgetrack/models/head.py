"""OSTrack's center head: score, size and offset maps from the search feature map."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn


class HeadOutput(NamedTuple):
    """Raw maps; decoding into boxes happens in `edgetrack.runtime.decode`, never in the model."""

    score_map: Tensor  # (B, 1, H, W), sigmoid clamped to [1e-4, 1 - 1e-4]
    size_map: Tensor  # (B, 2, H, W), normalised (w, h), sigmoid clamped
    offset_map: Tensor  # (B, 2, H, W), sub-cell (dx, dy), raw


def conv_bn_relu(cin: int, cout: int, norm: str = "batch") -> nn.Sequential:
    """3x3 conv, batch norm, ReLU; with `norm="folded"` the norm lives in the conv's bias (VitTrack's files)."""
    if norm == "folded":
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True))
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CenterPredictor(nn.Module):
    """Three branches (ctr, offset, size) of four conv-BN-ReLU layers halving channels, then a 1x1 conv."""

    def __init__(self, in_channels: int, channels: int, norm: str = "batch") -> None:
        super().__init__()
        widths = [in_channels, channels, channels // 2, channels // 4, channels // 8]
        for branch, out in (("ctr", 1), ("offset", 2), ("size", 2)):
            for i in range(4):
                setattr(self, f"conv{i + 1}_{branch}", conv_bn_relu(widths[i], widths[i + 1], norm))
            setattr(self, f"conv5_{branch}", nn.Conv2d(widths[4], out, kernel_size=1))
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def _branch(self, name: str, x: Tensor) -> Tensor:
        for i in range(1, 6):
            x = getattr(self, f"conv{i}_{name}")(x)
        return x

    def forward(self, feat: Tensor) -> HeadOutput:
        # activations in fp32 whatever autocast chose for the convs: in bf16, 1 - 1e-4 rounds to exactly 1.0,
        # and the focal loss then takes log(0) at a confident peak (a no-op for fp32 models and exports)
        score = self._branch("ctr", feat).float().sigmoid().clamp(1e-4, 1 - 1e-4)
        size = self._branch("size", feat).float().sigmoid().clamp(1e-4, 1 - 1e-4)
        offset = self._branch("offset", feat).float()
        return HeadOutput(score, size, offset)
