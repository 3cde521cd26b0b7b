"""A tracking sequence: frames (paths or arrays), boxes (x, y, w, h), visibility and attributes."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from edgetrack.errors import DataError

FrameSource = SequenceABC[Path] | np.ndarray | Callable[[int], np.ndarray]


@dataclass
class Sequence:
    """One annotated video. Frames come back as RGB uint8 (H, W, 3).

    `frames` is a list of image paths, an array (N, H, W, 3), or a function index -> frame (used by
    procedurally rendered sequences). `boxes` is (N, 4) float x, y, w, h in pixels; rows of absent frames
    may be NaN or zero. `visible` is (N,) bool; attributes map names (e.g. 'occlusion') to per-sequence
    flags or per-frame arrays.
    """

    name: str
    frames: FrameSource
    boxes: np.ndarray
    visible: np.ndarray | None = None
    attributes: dict[str, object] = field(default_factory=dict)
    dataset: str = ""
    length: int | None = None

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        n = len(self)
        if self.visible is None:
            valid = np.all(np.isfinite(self.boxes), axis=1) & (self.boxes[:, 2] > 0) & (self.boxes[:, 3] > 0)
            self.visible = valid
        self.visible = np.asarray(self.visible, dtype=bool).reshape(-1)
        if len(self.boxes) not in (n, 1):  # some test splits annotate only the first frame
            raise DataError(f"sequence '{self.name}': {len(self.boxes)} boxes for {n} frames")

    def __len__(self) -> int:
        if self.length is not None:
            return self.length
        if callable(self.frames):
            return len(self.boxes)
        return len(self.frames)

    def frame(self, index: int) -> np.ndarray:
        """Frame `index` as RGB uint8 (H, W, 3)."""
        if not 0 <= index < len(self):
            raise DataError(f"sequence '{self.name}' has {len(self)} frames; frame {index} asked for")
        if callable(self.frames):
            return self.frames(index)
        if isinstance(self.frames, np.ndarray):
            return self.frames[index]
        return read_rgb(self.frames[index])

    @property
    def init_box(self) -> np.ndarray:
        return self.boxes[0]


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8, with a clear error when it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"cannot read image {path}: missing or not an image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
