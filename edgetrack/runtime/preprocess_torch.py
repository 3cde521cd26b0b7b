"""Torch twin of `edgetrack.data.crops.preprocess`: crop, bilinear resize and normalise on CPU or CUDA tensors.

The tap indices and weights come from the numpy reference's own `_axis_taps` (computed on the host, a few
hundred numbers), so the geometry lives in one place; only the gathers and blends run in torch, in the same
order as the reference, so results agree to float32 rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from edgetrack.data.crops import Crop, _axis_taps, crop_geometry
from edgetrack.errors import TrackingError


def _taps(start: int, side: int, out: int, limit: int, device: torch.device) -> tuple[Tensor, ...]:
    """(i0, i1, w0, w1) of one axis as tensors on `device`."""
    return tuple(torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in _axis_taps(start, side, out, limit))


def crop_and_resize_torch(frame: Tensor, crop: Crop) -> Tensor:
    """Bilinear crop of an (H, W, C) frame tensor -> float32 (out, out, C), zero outside the frame."""
    if frame.ndim != 3 or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise TrackingError(f"a frame tensor is (H, W, C) with H, W > 0; got shape {tuple(frame.shape)}")
    height, width = int(frame.shape[0]), int(frame.shape[1])
    ys0, ys1, wy0, wy1 = _taps(crop.y1, crop.side, crop.out_size, height, frame.device)
    xs0, xs1, wx0, wx1 = _taps(crop.x1, crop.side, crop.out_size, width, frame.device)
    wx0, wx1 = wx0[None, :, None], wx1[None, :, None]

    def row_blend(ys: Tensor) -> Tensor:
        rows = frame.index_select(0, ys)  # (out, W, C), still in the frame's dtype
        left = rows.index_select(1, xs0).float() * wx0
        return left + rows.index_select(1, xs1).float() * wx1

    return row_blend(ys0) * wy0[:, None, None] + row_blend(ys1) * wy1[:, None, None]


def normalize_torch(crop_float: Tensor, mean: Sequence[float] | Tensor, std: Sequence[float] | Tensor) -> Tensor:
    """(H, W, 3) RGB on the 0-255 scale -> (3, H, W) float32 `(x/255 - mean)/std`."""
    # as_tensor: a caller that passes tensors already on the device (a per-frame loop) pays no copy here
    m = torch.as_tensor(mean, dtype=torch.float32, device=crop_float.device).view(-1, 1, 1)
    s = torch.as_tensor(std, dtype=torch.float32, device=crop_float.device).view(-1, 1, 1)
    return (crop_float.permute(2, 0, 1) / 255.0 - m) / s


def preprocess_torch(frame: Tensor, box_xywh: Sequence[float] | np.ndarray, factor: float, out_size: int,
                     mean: Sequence[float], std: Sequence[float]) -> tuple[Tensor, Crop]:
    """Crop, resize and normalise an (H, W, 3) RGB frame tensor around a box -> ((1, 3, S, S) float32, Crop)."""
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise TrackingError(f"preprocess_torch takes an (H, W, 3) RGB frame; got shape {tuple(frame.shape)}")
    crop = crop_geometry(box_xywh, factor, out_size)
    return normalize_torch(crop_and_resize_torch(frame, crop), mean, std).unsqueeze(0).contiguous(), crop
