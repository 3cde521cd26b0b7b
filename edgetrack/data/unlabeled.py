"""Unlabeled clips: a user's own video with at most the target's box in the first frame.

Layout: `<root>/<NAME>/img/<frames>.jpg (or .png)` and `<root>/<NAME>/init.txt`, one `x,y,w,h` line (0-based
pixels) giving the target in the first frame. A root that itself holds `img/` and `init.txt` is one clip.
Frames are sorted by name, numbers by value. A clip without `init.txt` is refused: the target is the user's
choice, and guessing one (the most salient object, the frame centre) would train on whatever was guessed.
Hidden folders and archive leftovers (`.git`, `__MACOSX`) are skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgetrack.data.datasets.annotations import list_images, read_boxes
from edgetrack.data.datasets.base import sorted_names
from edgetrack.errors import DataError

LAYOUT = "<root>/<NAME>/{img/00001.jpg (or .png), ..., init.txt (one x,y,w,h line)}"
#: share of the first box's area that must lie inside the frame
MIN_INSIDE = 0.5


@dataclass(frozen=True)
class Clip:
    """One unlabeled clip: its frames in order, the first frame's box and the frame size (width, height)."""

    name: str
    frames: tuple[Path, ...]
    init_box: np.ndarray
    size: tuple[int, int]

    def content_hash(self) -> str:
        """sha256 over the first box and every frame's name and bytes: any edit of the clip changes it."""
        digest = hashlib.sha256(",".join(f"{v:.6g}" for v in self.init_box).encode())
        for path in self.frames:
            digest.update(path.name.encode() + b"\0")
            digest.update(path.read_bytes())
        return digest.hexdigest()


def read_clips(root: str | Path) -> list[Clip]:
    """Every clip under `root` (or `root` itself when it is one clip), checked, in natural order."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"unlabeled clips folder {root} does not exist or is not a folder; expected {LAYOUT}")
    if (root / "img").is_dir():
        return [read_clip(root)]
    try:
        names = [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))]
    except OSError as err:
        raise DataError(f"unlabeled clips folder {root} cannot be listed ({err.strerror})") from None
    if not names:
        raise DataError(f"unlabeled clips folder {root} holds no clip folders; expected {LAYOUT}")
    return [read_clip(root / name) for name in sorted_names(names)]


def read_clip(folder: Path) -> Clip:
    """One clip folder, refused with one line when it cannot be tracked (see the module docstring)."""
    img, init = folder / "img", folder / "init.txt"
    if not img.is_dir():
        raise DataError(f"clip {folder} has no img/ folder; expected {LAYOUT}")
    frames = tuple(list_images(img))
    if not frames:
        raise DataError(f"clip {folder}: {img} holds no .jpg or .png frames")
    if len(frames) < 2:
        raise DataError(f"clip {folder} has one frame; a clip needs at least two (the first gives the target, "
                        "the rest are tracked)")
    if not init.is_file():
        raise DataError(f"clip {folder} has no init.txt; write the target's box in the first frame as one line "
                        "x,y,w,h (0-based pixels), since the target cannot be guessed")
    box = _init_box(init)
    size = _frame_size(frames[0])
    _check_inside(box, size, init)
    return Clip(folder.name, frames, box, size)


def _init_box(path: Path) -> np.ndarray:
    boxes = read_boxes(path)
    if len(boxes) != 1:
        raise DataError(f"{path} has {len(boxes)} lines; it must hold exactly one box x,y,w,h (the first frame's)")
    box = boxes[0]
    if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise DataError(f"{path}: box {_text(box)} is not a box; width and height must be positive numbers")
    return box


def _frame_size(path: Path) -> tuple[int, int]:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DataError(f"cannot read image {path}: missing or not an image")
    return int(image.shape[1]), int(image.shape[0])


def _check_inside(box: np.ndarray, size: tuple[int, int], path: Path) -> None:
    x, y, w, h = box
    inside_w = max(0.0, min(x + w, size[0]) - max(x, 0.0))
    inside_h = max(0.0, min(y + h, size[1]) - max(y, 0.0))
    if inside_w * inside_h < MIN_INSIDE * w * h:
        raise DataError(f"{path}: box {_text(box)} lies outside the {size[0]}x{size[1]} first frame (less than "
                        f"{MIN_INSIDE:.0%} of it inside); boxes are x,y,w,h in 0-based pixels of the frames")


def _text(box: np.ndarray) -> str:
    return ",".join(f"{v:g}" for v in box)
