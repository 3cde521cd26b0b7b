"""A strip of frames from one sequence with several trackers' boxes drawn on it: what the numbers mean.

`frame_strip(seq, boxes, ...)` returns an RGB image; `edgetrack eval --strip NAME` writes one for a sequence
from the result files of every tracker it evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np

from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError

#: RGB colours of the trackers in drawing order; ground truth is white
COLOURS = ((0, 200, 255), (255, 80, 80), (80, 220, 80), (255, 200, 0), (200, 80, 255), (255, 140, 200))
GT_COLOUR = (255, 255, 255)


def strip_frames(n_frames: int, count: int) -> list[int]:
    """`count` frame indices spread evenly from the second frame to the last (frame 0 is the given box)."""
    if n_frames < 2:
        raise DataError("a strip needs a sequence of at least 2 frames")
    count = max(1, min(count, n_frames - 1))
    return [int(round(v)) for v in np.linspace(1, n_frames - 1, count)]


def _rect(image: np.ndarray, box: np.ndarray, colour: tuple[int, int, int], scale: float, width: int) -> None:
    if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        return
    x, y, w, h = (float(v) * scale for v in box)
    cv2.rectangle(image, (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h))), colour, width,
                  cv2.LINE_AA)


def _legend(width: int, labels: list[str]) -> np.ndarray:
    bar = np.full((22, width, 3), 24, np.uint8)
    x = 6
    for label, colour in [("ground truth", GT_COLOUR), *zip(labels, COLOURS, strict=False)]:
        cv2.rectangle(bar, (x, 6), (x + 14, 16), colour, 2)
        cv2.putText(bar, label, (x + 20, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (230, 230, 230), 1, cv2.LINE_AA)
        x += 34 + 8 * len(label)
    return bar


def frame_strip(seq: Sequence, boxes: Mapping[str, np.ndarray], frames: list[int] | None = None, count: int = 6,
                scale: float = 0.5) -> np.ndarray:
    """RGB image: the chosen frames side by side (scaled), ground truth and each tracker's box, a legend."""
    if len(boxes) > len(COLOURS):
        raise DataError(f"a strip draws at most {len(COLOURS)} trackers, not {len(boxes)}")
    frames = frames or strip_frames(len(seq), count)
    tiles = []
    for i in frames:
        image = np.ascontiguousarray(seq.frame(i))
        tile = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if seq.visible[i]:
            _rect(tile, seq.boxes[i], GT_COLOUR, scale, 1)
        for (_, b), colour in zip(boxes.items(), COLOURS, strict=False):
            if i < len(b):
                _rect(tile, b[i], colour, scale, 2)
        cv2.putText(tile, f"#{i}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    row = np.concatenate([np.pad(t, ((0, 0), (0, 2), (0, 0))) for t in tiles], axis=1)
    return np.concatenate([row, _legend(row.shape[1], list(boxes))], axis=0)


def write_strip(path: str | Path, image: np.ndarray) -> Path:
    """Save an RGB strip as PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise DataError(f"could not write {path}")
    return path
