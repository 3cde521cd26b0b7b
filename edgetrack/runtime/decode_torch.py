"""Batched torch decode of the head's maps: training losses and the in-graph (exported) post-process.

Same arithmetic as the numpy reference in `edgetrack.runtime.decode`: argmax of the (optionally windowed)
score map, then box = ((ix + off_x) / W, (iy + off_y) / H, w, h) as normalised (cx, cy, w, h).
"""

from __future__ import annotations

import torch
from torch import Tensor


def gather_at(maps: Tensor, index: Tensor) -> Tensor:
    """Values of (B, C, H, W) maps at flat cell indices (B,) -> (B, C)."""
    b, c = maps.shape[:2]
    return maps.flatten(2).gather(2, index.view(b, 1, 1).expand(b, c, 1)).squeeze(-1)


def box_at(index: Tensor, size_map: Tensor, offset_map: Tensor) -> Tensor:
    """Normalised (cx, cy, w, h) boxes (B, 4) read at flat cell indices (B,)."""
    h, w = size_map.shape[-2:]
    iy = torch.div(index, w, rounding_mode="floor").to(size_map.dtype)
    ix = (index % w).to(size_map.dtype)
    off = gather_at(offset_map, index)
    size = gather_at(size_map, index)
    return torch.stack([(ix + off[:, 0]) / w, (iy + off[:, 1]) / h, size[:, 0], size[:, 1]], dim=1)


def decode_torch(score_map: Tensor, size_map: Tensor, offset_map: Tensor,
                 window: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Boxes (B, 4) at the peak of score_map * window, and the raw score there (B,)."""
    response = score_map if window is None else score_map * window
    index = response.flatten(1).argmax(dim=1)
    return box_at(index, size_map, offset_map), gather_at(score_map, index)[:, 0]


def cxcywh_to_xyxy(box: Tensor) -> Tensor:
    cx, cy, w, h = box.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def xywh_to_xyxy(box: Tensor) -> Tensor:
    x, y, w, h = box.unbind(-1)
    return torch.stack([x, y, x + w, y + h], dim=-1)
