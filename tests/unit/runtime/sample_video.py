"""Small videos and image folders written from a synthetic sequence, for source and `edgetrack track` tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgetrack.data.sequence import Sequence
from edgetrack.data.synthetic import TEST_SEED_BASE, synthetic_sequence

# synthetic-test's fourth sequence: the target stays in view and the bundled tiny model follows it
# (mean IoU about 0.63 over 30 frames, against 0.27 for a box that stays put), so IoU checks mean something
SEED = TEST_SEED_BASE + 3


def sample_sequence() -> Sequence:
    return synthetic_sequence(SEED, 150)


def write_video(path: Path, frames: int = 30, fps: float = 25.0) -> Sequence:
    """An MJPG video (the codec every OpenCV build has) of the sequence's first `frames` frames."""
    seq = sample_sequence()
    height, width = seq.frame(0).shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for i in range(frames):
        writer.write(cv2.cvtColor(seq.frame(i), cv2.COLOR_RGB2BGR))
    writer.release()
    return seq


def write_images(folder: Path, frames: int = 8) -> Sequence:
    """PNG frames named 1.png .. N.png, so only a natural sort puts 10.png after 9.png."""
    seq = sample_sequence()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(frames):
        cv2.imwrite(str(folder / f"{i + 1}.png"), cv2.cvtColor(seq.frame(i), cv2.COLOR_RGB2BGR))
    return seq


def box_arg(box: np.ndarray) -> str:
    return ",".join(f"{v:.2f}" for v in box)
