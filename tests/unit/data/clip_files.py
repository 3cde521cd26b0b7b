"""Small unlabeled clips on disk for tests: a textured square moving over a noisy background."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIZE = (96, 80)  # width, height
SQUARE = 20


def square_box(index: int) -> np.ndarray:
    """Where the square is in frame `index` (x, y, w, h)."""
    return np.array([10.0 + 3 * index, 20.0 + index, SQUARE, SQUARE])


def clip_frame(index: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng([seed, index])
    image = rng.integers(0, 60, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    x, y = (int(v) for v in square_box(index)[:2])
    pattern = np.random.default_rng(99).integers(150, 255, (SQUARE, SQUARE, 3), dtype=np.uint8)
    image[y:y + SQUARE, x:x + SQUARE] = pattern
    return image


def write_clip(folder: Path, frames: int = 8, init: str | None = None, seed: int = 0) -> Path:
    """NAME/img/00001.png ... and NAME/init.txt (the square's first box unless `init` is given)."""
    (folder / "img").mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        cv2.imwrite(str(folder / "img" / f"{i + 1:05d}.png"), clip_frame(i, seed))
    text = init if init is not None else ",".join(f"{v:g}" for v in square_box(0))
    (folder / "init.txt").write_text(text + "\n")
    return folder
