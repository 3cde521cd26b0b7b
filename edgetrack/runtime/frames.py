"""Frame and box checks shared by every tracker: what a frame may be, and an initial box that can be tracked.

Frames are RGB, (H, W, 3). Accepted and converted:

- grayscale (H, W) or (H, W, 1): the channel is repeated to RGB, so a mono camera works with an RGB model;
- RGBA (H, W, 4): alpha is dropped;
- dtype uint8 is the contract; floating frames are accepted as intensities on the same 0-255 scale and must be
  finite; a float frame whose values all lie in [0, 1] is refused (it is almost surely on the 0-1 scale, and
  would track worse without a word); other dtypes (uint16, int, bool) are refused, as their scale is ambiguous.

All frames of one sequence must have the size of the frame given to `initialize`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgetrack.errors import TrackingError


def to_rgb(frame: np.ndarray) -> np.ndarray:
    """An (H, W, 3) uint8 or float RGB view/copy of a frame; see the module docstring for what is accepted."""
    image = np.asarray(frame)
    if image.dtype != np.uint8 and not np.issubdtype(image.dtype, np.floating):
        raise TrackingError(f"frames must be uint8 (or float on the 0-255 scale); got dtype {image.dtype}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise TrackingError(f"frames must be (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA; got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise TrackingError(f"frame is empty: shape {image.shape}")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.shape[2] == 4:
        image = image[:, :, :3]
    if image.dtype != np.uint8:
        if not np.all(np.isfinite(image)):
            raise TrackingError("frame has NaN or infinite values")
        if float(image.max()) <= 1.0:
            raise TrackingError("float frame with all values in [0, 1]: edgetrack takes intensities on the 0-255 "
                                "scale; pass (frame * 255).astype(np.uint8), or frame * 255")
    return image


def next_frame(frame: np.ndarray, frame_shape: tuple[int, int] | None) -> np.ndarray:
    """`to_rgb(frame)`, refused when its size differs from the first frame's (H, W)."""
    image = to_rgb(frame)
    if image.shape[:2] != frame_shape:
        raise TrackingError(f"frame size changed from {frame_shape} to {image.shape[:2]} (H, W); "
                            "call initialize() again for a new video")
    return image


def check_box(box: Sequence[float] | np.ndarray, width: int, height: int) -> np.ndarray:
    """The box as float64 (x, y, w, h) if it has a positive finite size and overlaps the frame."""
    try:
        b = np.asarray(box, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TrackingError(f"the initial box must be 4 numbers (x, y, w, h); got {box!r}") from None
    if b.shape != (4,):
        raise TrackingError(f"the initial box must be 4 numbers (x, y, w, h); got shape {np.shape(box)}")
    if not np.all(np.isfinite(b)) or b[2] <= 0 or b[3] <= 0:
        raise TrackingError(f"the initial box {b.tolist()} needs finite values and width, height > 0 "
                            "(boxes are (x, y, w, h) in pixels, not (x1, y1, x2, y2) with x2 < x1)")
    if b[0] >= width or b[1] >= height or b[0] + b[2] <= 0 or b[1] + b[3] <= 0:
        raise TrackingError(f"the initial box {b.tolist()} lies entirely outside the {width}x{height} frame")
    return b
