"""The one crop shared by training pairs, calibration samples and the runtime (OSTrack's model and inference).

Geometry follows OSTrack's `sample_target`: a square of side `ceil(sqrt(w*h) * factor)` centred on the box
centre, integer origin `round(centre - side/2)` (Python round), zero outside the image, resized to
`out_size` with bilinear interpolation on half-pixel centres (`src = (dst + 0.5) * side/out - 0.5`, source
coordinates clamped to the crop's edges, as OpenCV's INTER_LINEAR does).

Reference decisions:

- The resize is a float bilinear (no rounding to uint8). OpenCV's uint8 kernel differs from it by up to about
  one intensity level; with float input OpenCV agrees to rounding error.
- OSTrack's right/bottom quirk is NOT kept. When its crop passes the right (bottom) edge, OSTrack pads one
  pixel more than needed and drops the image's last column (row), so that column reads as zero. Here the crop
  is exactly frame pixels `[x1, x1 + side) x [y1, y1 + side)` with zeros only outside the image. Placement
  and scale are identical; only the image's last column/row inside such crops differs (at most one source
  pixel wide, blended into at most two output pixels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgetrack.errors import TrackingError

#: OSTrack's clipping margin (OSTrack's inference step 5), in frame pixels
CLIP_MARGIN = 10


@dataclass(frozen=True)
class Crop:
    """A square crop of `side` frame pixels with integer origin (x1, y1), resized to `out_size`.

    (cx, cy) is the centre of the box the crop was taken around; the map-back of OSTrack's inference step 4 uses it.
    """

    side: int
    x1: int
    y1: int
    out_size: int
    cx: float
    cy: float

    @property
    def resize_factor(self) -> float:
        """Output pixels per frame pixel (OSTrack's `resize_factor`)."""
        return self.out_size / self.side


def _as_box(box_xywh: Sequence[float] | np.ndarray) -> tuple[float, float, float, float]:
    values = np.asarray(box_xywh, dtype=np.float64).reshape(-1)
    if values.shape != (4,):
        raise TrackingError(f"a box has 4 numbers (x, y, w, h); got shape {np.shape(box_xywh)}")
    if not np.all(np.isfinite(values)):
        raise TrackingError(f"box {values.tolist()} has a NaN or infinite value")
    x, y, w, h = (float(v) for v in values)
    if w <= 0 or h <= 0:
        raise TrackingError(f"box {values.tolist()} has width or height <= 0; boxes are (x, y, w, h) in pixels")
    return x, y, w, h


def crop_geometry(box_xywh: Sequence[float] | np.ndarray, factor: float, out_size: int,
                  integer: bool = False) -> Crop:
    """The crop of `factor` times the box's geometric-mean size around its centre, resized to `out_size`.

    `integer=True` is `cv2.TrackerVit`'s geometry: the box is taken in whole pixels, the origin is
    `x + (w - side) / 2` in C's integer division, and the crop's centre (used to map boxes back) is its true
    centre, `origin + side / 2`.
    """
    x, y, w, h = _as_box(box_xywh)
    if not factor > 0 or out_size < 1:
        raise TrackingError(f"crop factor must be > 0 and output size >= 1; got {factor} and {out_size}")
    if integer:
        x, y, w, h = (float(math.floor(v)) for v in (x, y, w, h))
    side = math.ceil(math.sqrt(w * h) * factor)
    if side < 1:
        raise TrackingError(f"box {[x, y, w, h]} with factor {factor} gives an empty crop")
    if integer:
        x1, y1 = int(x) + int((w - side) / 2), int(y) + int((h - side) / 2)  # int() truncates toward zero, as C
        return Crop(side=side, x1=x1, y1=y1, out_size=int(out_size), cx=x1 + 0.5 * side, cy=y1 + 0.5 * side)
    cx, cy = x + 0.5 * w, y + 0.5 * h
    return Crop(side=side, x1=int(round(cx - 0.5 * side)), y1=int(round(cy - 0.5 * side)), out_size=int(out_size),
                cx=cx, cy=cy)


def _axis_taps(start: int, side: int, out: int, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frame indices and weights of the two bilinear taps for each output pixel along one axis.

    Taps falling outside the frame get weight 0 (zero padding) and a safe index 0.
    """
    src = (np.arange(out, dtype=np.float64) + 0.5) * (side / out) - 0.5
    src = np.clip(src, 0.0, side - 1.0)  # clamp to the crop's own edges, like OpenCV's border handling
    i0 = np.floor(src).astype(np.int64)
    frac = src - i0
    i1 = np.minimum(i0 + 1, side - 1)
    f0, f1 = start + i0, start + i1
    ok0, ok1 = (f0 >= 0) & (f0 < limit), (f1 >= 0) & (f1 < limit)
    w0 = np.where(ok0, 1.0 - frac, 0.0).astype(np.float32)
    w1 = np.where(ok1, frac, 0.0).astype(np.float32)
    return np.where(ok0, f0, 0), np.where(ok1, f1, 0), w0, w1


def crop_and_resize(frame: np.ndarray, crop: Crop) -> np.ndarray:
    """Bilinear crop of an (H, W, C) or (H, W) frame -> float32 (out, out, C) or (out, out), zero outside."""
    image = np.asarray(frame)
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise TrackingError(f"a frame is (H, W) or (H, W, C) with H, W > 0; got shape {image.shape}")
    fast = _crop_and_resize_cv2(image, crop)
    if fast is not None:
        return fast
    height, width = image.shape[:2]
    ys0, ys1, wy0, wy1 = _axis_taps(crop.y1, crop.side, crop.out_size, height)
    xs0, xs1, wx0, wx1 = _axis_taps(crop.x1, crop.side, crop.out_size, width)
    channels = image.shape[2] if image.ndim == 3 else 1
    # work on (rows, columns * channels) so every blend runs over long contiguous lines
    pixels = image.reshape(-1)
    lane = np.arange(channels)
    cols0, cols1 = ((xs[:, None] * channels + lane).ravel() for xs in (xs0, xs1))
    wc0, wc1 = np.repeat(wx0, channels), np.repeat(wx1, channels)

    def row_blend(ys: np.ndarray) -> np.ndarray:
        base = ys[:, None] * (width * channels)
        left = np.take(pixels, base + cols0).astype(np.float32)
        left *= wc0
        left += np.take(pixels, base + cols1).astype(np.float32) * wc1
        return left

    out = row_blend(ys0)
    out *= wy0[:, None]
    out += row_blend(ys1) * wy1[:, None]
    return out.reshape(crop.out_size, crop.out_size, channels) if image.ndim == 3 else out


def _crop_and_resize_cv2(image: np.ndarray, crop: Crop) -> np.ndarray | None:
    """The same crop through OpenCV's INTER_LINEAR on float pixels (its taps are ours), about ten times faster
    than the numpy blend; None where OpenCV is not installed, and the numpy blend runs."""
    try:
        import cv2
    except ImportError:
        return None
    height, width = image.shape[:2]
    x0, y0 = max(crop.x1, 0), max(crop.y1, 0)
    x1, y1 = min(crop.x1 + crop.side, width), min(crop.y1 + crop.side, height)
    shape = (crop.side, crop.side) + image.shape[2:]
    padded = np.zeros(shape, dtype=np.float32)
    if x1 > x0 and y1 > y0:
        padded[y0 - crop.y1:y1 - crop.y1, x0 - crop.x1:x1 - crop.x1] = image[y0:y1, x0:x1]
    out = cv2.resize(padded, (crop.out_size, crop.out_size), interpolation=cv2.INTER_LINEAR)
    return out.reshape((crop.out_size, crop.out_size) + image.shape[2:])


def normalize(crop_float: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """(H, W, 3) RGB in [0, 255] -> (3, H, W) float32 `(x/255 - mean)/std`."""
    m = np.asarray(mean, dtype=np.float64)
    s = np.asarray(std, dtype=np.float64)
    scale, shift = (1.0 / (255.0 * s)).astype(np.float32), (m / s).astype(np.float32)
    src = np.asarray(crop_float, dtype=np.float32)
    out = np.empty((3, *src.shape[:2]), dtype=np.float32)
    # one multiply-add per value, x * 1/(255 s) - m/s, a channel at a time: numpy broadcasts a length-3 last
    # axis several times slower than it streams one plane
    for c in range(3):
        np.multiply(src[:, :, c], scale[c], out=out[c])
        np.subtract(out[c], shift[c], out=out[c])
    return out


def preprocess(frame: np.ndarray, box_xywh: Sequence[float] | np.ndarray, factor: float, out_size: int,
               mean: Sequence[float], std: Sequence[float], integer: bool = False) -> tuple[np.ndarray, Crop]:
    """Crop, resize and normalise an RGB frame around a box -> ((1, 3, S, S) float32 input, Crop)."""
    crop = crop_geometry(box_xywh, factor, out_size, integer)
    return normalize(crop_and_resize(frame, crop), mean, std)[None], crop


def map_box_back(box_norm_cxcywh: Sequence[float] | np.ndarray, crop: Crop) -> np.ndarray:
    """Normalised (cx, cy, w, h) in the crop -> (x, y, w, h) in frame pixels (OSTrack's inference step 4).

    As OSTrack, the crop is taken to be centred on (crop.cx, crop.cy); the integer origin (crop.x1, crop.y1)
    differs from `centre - side/2` by at most half a frame pixel.
    """
    b = np.asarray(box_norm_cxcywh, dtype=np.float64).reshape(4)
    scale = crop.out_size / crop.resize_factor  # normalised -> crop pixels -> frame pixels (== side)
    half_side = 0.5 * crop.out_size / crop.resize_factor
    cx = b[0] * scale + (crop.cx - half_side)
    cy = b[1] * scale + (crop.cy - half_side)
    w, h = b[2] * scale, b[3] * scale
    return np.array([cx - 0.5 * w, cy - 0.5 * h, w, h])


def clip_box(box_xywh: Sequence[float] | np.ndarray, width: int, height: int, margin: int = CLIP_MARGIN) -> np.ndarray:
    """Clip (x, y, w, h) to a width x height frame, keeping `margin` pixels inside (OSTrack's inference step 5)."""
    x, y, w, h = np.asarray(box_xywh, dtype=np.float64).reshape(4)
    x1 = min(max(0.0, x), width - margin)
    x2 = max(min(float(width), x + w), margin)
    y1 = min(max(0.0, y), height - margin)
    y2 = max(min(float(height), y + h), margin)
    return np.array([x1, y1, max(float(margin), x2 - x1), max(float(margin), y2 - y1)])
