"""edgetrack.cv2_compat: OpenCV's tracker contract, the same boxes as `Tracker` on the same frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgetrack import cv2_compat
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.errors import ConfigError, TrackingError
from edgetrack.runtime.tracker import Tracker

VITTRACK = Path(__file__).resolve().parents[3] / "shared" / "models" / "vittrack_2023sep.onnx"
needs_vittrack = pytest.mark.skipif(not VITTRACK.is_file(),
                                    reason="../shared/models (OpenCV's VitTrack file) is absent")


def _frames(n: int = 12) -> tuple[list[np.ndarray], np.ndarray]:
    seq = synthetic_sequence(7, length=n)
    return [seq.frame(i) for i in range(n)], seq.init_box


def _same_run(compat: cv2_compat.CompatTracker, tracker: Tracker, frames: list[np.ndarray], box: np.ndarray) -> None:
    assert compat.init(np.ascontiguousarray(frames[0][:, :, ::-1]), tuple(box)) is None
    tracker.initialize(frames[0], box)
    for frame in frames[1:]:
        ok, rect = compat.update(np.ascontiguousarray(frame[:, :, ::-1]))  # OpenCV code hands over BGR
        result = tracker.track(frame)
        assert isinstance(ok, bool) and all(isinstance(v, int) for v in rect)
        assert rect == tuple(int(round(v)) for v in result.box)
        assert compat.getTrackingScore() == pytest.approx(result.score)


def test_the_compat_tracker_gives_the_trackers_boxes_in_whole_pixels() -> None:
    frames, box = _frames()
    with cv2_compat.create("tiny") as compat, Tracker.from_artifact("tiny") as tracker:
        _same_run(compat, tracker, frames, box)


def test_bgra_and_grayscale_frames_are_what_opencv_code_passes() -> None:
    frames, box = _frames(3)
    bgr = frames[0][:, :, ::-1]
    assert np.array_equal(cv2_compat.bgr_to_rgb(np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])), frames[0])
    gray = frames[0][:, :, 0]
    assert cv2_compat.bgr_to_rgb(gray) is gray
    with cv2_compat.create("tiny") as compat:
        compat.init(gray, tuple(box))
        ok, rect = compat.update(frames[1][:, :, 0])
        assert rect[2] >= 1 and rect[3] >= 1


def test_a_score_threshold_turns_ok_false_but_keeps_the_box() -> None:
    frames, box = _frames(3)
    with cv2_compat.create("tiny", score_threshold=0.999) as compat:
        compat.init(frames[0][:, :, ::-1], tuple(box))
        ok, rect = compat.update(frames[1][:, :, ::-1])
        assert ok is False and compat.getTrackingScore() < 0.999 and rect[2] > 0


def test_bad_use_gets_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="score_threshold"):
        cv2_compat.create("tiny", score_threshold=1.5)
    with pytest.raises(ConfigError, match="torch backend"):
        cv2_compat.create("vittrack", weights="x.onnx", backend="onnxruntime")
    with cv2_compat.create("tiny") as compat, pytest.raises(TrackingError, match="before init"):
        compat.update(np.zeros((64, 64, 3), np.uint8))


@needs_vittrack
def test_opencvs_vittrack_file_drops_in_and_holds_on_a_black_frame() -> None:
    from edgetrack.models.factory import create_model

    frames, box = _frames(6)
    reference = Tracker.from_model(create_model("vittrack", checkpoint=VITTRACK))
    with cv2_compat.create("vittrack", weights=VITTRACK) as compat, reference:
        _same_run(compat, reference, frames, box)
        before = compat.update(frames[-1][:, :, ::-1])[1]
        ok, rect = compat.update(np.zeros_like(frames[0]))  # no target: VitTrack's 0.2 rule holds the box
        assert ok is False and rect == before
