"""Batched torch twin of `edgetrack.runtime.decode_distribution`, for losses and in-graph export."""

from __future__ import annotations

import torch
from torch import Tensor


def side_probabilities(side_logits: Tensor) -> Tensor:
    """(B, 4, bins) logits -> probabilities over bins (fp32, whatever autocast chose)."""
    return side_logits.float().softmax(dim=-1)


def distribution_boxes(side_logits: Tensor) -> Tensor:
    """(B, 4, bins) logits (sides l, r, t, b) -> (B, 4) normalised (cx, cy, w, h)."""
    bins = side_logits.shape[-1]
    positions = torch.arange(bins, device=side_logits.device, dtype=torch.float32) / bins
    left, right, top, bottom = (side_probabilities(side_logits) * positions).sum(dim=-1).unbind(dim=-1)
    return torch.stack([(left + right) / 2, (top + bottom) / 2, right - left, bottom - top], dim=-1)


def distribution_scores(score_logit: Tensor) -> Tensor:
    """(B, 1) score logits -> (B,) scores in (0, 1)."""
    return score_logit.float().reshape(-1).sigmoid()
