"""Tracking losses (OSTrack) and CompressTracker's prediction-guidance and feature-mimicking terms."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def fp32(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a loss in fp32 with autocast off: its logs and divisions are not safe in bf16 or fp16."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        cast = [a.float() if isinstance(a, Tensor) and a.is_floating_point() else a for a in args]
        cast = [[t.float() for t in a] if isinstance(a, list) else a for a in cast]
        tensors = [t for a in cast for t in (a if isinstance(a, list) else [a]) if isinstance(t, Tensor)]
        device = tensors[0].device.type if tensors else "cpu"
        with torch.autocast(device, enabled=False):
            return fn(*cast, **kwargs)

    return wrapper


@fp32
def focal_loss(pred: Tensor, target: Tensor, alpha: float = 2.0, beta: float = 4.0) -> Tensor:
    """CenterNet focal loss on heatmaps, normalised by the number of positive cells (target == 1)."""
    pred = pred.clamp(1e-6, 1 - 1e-6)
    pos = target.eq(1).float()
    neg_weight = (1 - target).pow(beta) * (1 - pos)
    pos_loss = (torch.log(pred) * (1 - pred).pow(alpha) * pos).sum()
    neg_loss = (torch.log(1 - pred) * pred.pow(alpha) * neg_weight).sum()
    num_pos = pos.sum()
    return -(pos_loss + neg_loss) / num_pos.clamp(min=1.0)


def giou(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Generalised IoU and IoU of (N, 4) xyxy boxes."""
    area_p = (pred[:, 2] - pred[:, 0]).clamp(min=0) * (pred[:, 3] - pred[:, 1]).clamp(min=0)
    area_t = (target[:, 2] - target[:, 0]).clamp(min=0) * (target[:, 3] - target[:, 1]).clamp(min=0)
    lt, rb = torch.max(pred[:, :2], target[:, :2]), torch.min(pred[:, 2:], target[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    union = area_p + area_t - inter
    iou = inter / union.clamp(min=1e-7)
    hull = (torch.max(pred[:, 2:], target[:, 2:]) - torch.min(pred[:, :2], target[:, :2])).clamp(min=0).prod(dim=1)
    return iou - (hull - union) / hull.clamp(min=1e-7), iou


@fp32
def box_losses(pred_xyxy: Tensor, target_xyxy: Tensor) -> dict[str, Tensor]:
    """Mean GIoU loss, mean L1 and mean IoU between predicted and target boxes (normalised xyxy)."""
    g, iou = giou(pred_xyxy, target_xyxy)
    return {"giou": (1 - g).mean(), "l1": F.l1_loss(pred_xyxy, target_xyxy), "iou": iou.detach().mean()}


@fp32
def feature_mimic(student: list[Tensor], teacher: list[Tensor], len_template: int, normalise: str = "none") -> Tensor:
    """Stage-wise MSE; template and search tokens are averaged separately, then summed, then averaged over stages.

    `normalise="layernorm"` compares the tokens after a parameter-free LayerNorm (each token standardised over
    its channels): the term then measures direction and pattern, not scale, so one weight transfers across
    teachers whose token norms differ (the raw MSE is ~100-500 on the tiny teacher, ~0.1 on OSTrack-256).
    """
    terms = []
    for s, t in zip(student, teacher, strict=True):
        t = t.detach()
        if normalise == "layernorm":
            s, t = F.layer_norm(s, s.shape[-1:]), F.layer_norm(t, t.shape[-1:])
        terms.append(F.mse_loss(s[:, :len_template], t[:, :len_template])
                     + F.mse_loss(s[:, len_template:], t[:, len_template:]))
    return torch.stack(terms).mean()
