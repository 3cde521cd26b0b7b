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
    flags or per-frame arrays. `annotation` is the file the boxes were read from, named in errors.
    """

    name: str
    frames: FrameSource
    boxes: np.ndarray
    visible: np.ndarray | None = None
    attributes: dict[str, object] = field(default_factory=dict)
    dataset: str = ""
    length: int | None = None
    annotation: Path | None = None

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

    def frame_file(self, index: int) -> Path | None:
        """The image file of frame `index`; None for frames held in memory or rendered."""
        if callable(self.frames) or isinstance(self.frames, np.ndarray) or not 0 <= index < len(self.frames):
            return None
        return Path(self.frames[index])

    @property
    def init_box(self) -> np.ndarray:
        return self.boxes[0]


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8, refusing one that is missing, truncated or not an image."""
    check_complete(path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"cannot read image {path}: missing, damaged or not an image; re-copy it or remove it "
                        "from the sequence")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


# A truncated JPEG decodes without an error (libjpeg fills the rest grey and only warns on stderr), so the
# file's end is checked instead: a complete JPEG ends with its EOI marker, a complete PNG with its IEND chunk.
_END_MARKERS = {b"\xff\xd8\xff": b"\xff\xd9", b"\x89PNG\r\n\x1a\n": b"\x00\x00\x00\x00IEND\xaeB`\x82"}
_PADDING = b"\x00 \t\r\n"  # some writers and copy tools pad a file's end; that is not damage
_TAIL = 4096


def check_complete(path: str | Path) -> None:
    """Refuse a JPEG or PNG file that does not end with its end marker (a cut-off copy); other files pass."""
    try:
        head, tail = _head_and_tail(Path(path))
    except OSError as err:
        raise DataError(f"cannot read image {path}: {err.strerror or err}") from None
    end = next((marker for magic, marker in _END_MARKERS.items() if head.startswith(magic)), None)
    if end is not None and not tail.endswith(end):
        raise DataError(f"{path} is truncated or damaged; re-copy it or remove it from the sequence")


def _head_and_tail(path: Path) -> tuple[bytes, bytes]:
    """The first 8 bytes of a file and its last bytes with trailing padding removed (two small reads)."""
    with path.open("rb") as handle:
        head = handle.read(8)
        size = handle.seek(0, 2)
        handle.seek(max(0, size - _TAIL))
        tail = handle.read().rstrip(_PADDING)
        if len(tail) < 12 and size > _TAIL:  # more padding than one read: look at the whole file (rare)
            handle.seek(0)
            tail = handle.read().rstrip(_PADDING)
    return head, tail
