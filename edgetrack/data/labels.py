"""CenterNet Gaussian heatmap labels on the search feature grid (OSTrack's training target)."""

from __future__ import annotations

import math

import numpy as np


def gaussian_radius(w: float, h: float, min_overlap: float = 0.7) -> float:
    """CornerNet's radius: the smallest of the three corner-shift cases keeping IoU >= min_overlap."""
    b1 = h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + math.sqrt(max(b1 * b1 - 4 * c1, 0.0))) / 2
    b2 = 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    r2 = (b2 + math.sqrt(max(b2 * b2 - 16 * c2, 0.0))) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    r3 = (b3 + math.sqrt(max(b3 * b3 - 4 * a3 * c3, 0.0))) / 2
    return min(r1, r2, r3)


def gaussian_kernel(radius: int) -> np.ndarray:
    """(2r+1)^2 Gaussian with sigma = diameter / 6, peak 1."""
    d = 2 * radius + 1
    sigma = d / 6
    y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]
    g = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    g[g < np.finfo(g.dtype).eps * g.max()] = 0
    return g


def center_heatmap(box_xywh_norm: np.ndarray, feat: int, min_overlap: float = 0.7) -> np.ndarray:
    """(feat, feat) float32 heatmap with value 1 at the box centre's cell (rounded, as OSTrack).

    The box is normalised (x, y, w, h) in the search crop; a centre outside the grid leaves the map empty.
    """
    x, y, w, h = (float(v) * feat for v in box_xywh_norm)
    cx, cy = int(round(x + w / 2)), int(round(y + h / 2))
    radius = max(int(gaussian_radius(w, h, min_overlap)), 0)
    heat = np.zeros((feat, feat), dtype=np.float32)
    if not (0 <= cx < feat and 0 <= cy < feat):
        return heat
    g = gaussian_kernel(radius)
    left, right = min(cx, radius), min(feat - cx, radius + 1)
    top, bottom = min(cy, radius), min(feat - cy, radius + 1)
    patch = g[radius - top:radius + bottom, radius - left:radius + right]
    heat[cy - top:cy + bottom, cx - left:cx + right] = patch
    return heat
