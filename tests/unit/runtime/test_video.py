from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edgetrack.runtime import video
from edgetrack.runtime.tracker import TrackResult
from edgetrack.runtime.video import (
    Display,
    FrameResult,
    VideoError,
    VideoSink,
    annotate,
    capture_source,
    has_gui,
    open_source,
    source_kind,
    track_frames,
)
from tests.unit.runtime.sample_video import write_images, write_video


def test_source_kind_reads_the_string_like_a_user(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"")
    assert source_kind("0") == "camera" and source_kind(" 2 ") == "camera"
    assert source_kind("videotestsrc ! videoconvert ! appsink") == "gstreamer"
    assert source_kind("rtsp://10.0.0.2:554/stream") == "stream" and source_kind("HTTPS://cam/x.mjpg") == "stream"
    assert source_kind(str(tmp_path)) == "images"
    assert source_kind(str(tmp_path / "clip.mp4")) == "video"


def test_missing_source_names_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match=r"source not found: .*nope\.avi.*camera index"):
        open_source(str(tmp_path / "nope.avi"))


def test_file_that_is_not_a_video_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.avi"
    path.write_text("not a video")
    with pytest.raises(VideoError, match="cannot open video source"):
        open_source(str(path))


@pytest.mark.skipif(cv2.videoio_registry.hasBackend(cv2.CAP_GSTREAMER), reason="this OpenCV has GStreamer")
def test_gstreamer_pipeline_without_gstreamer_support_is_explained() -> None:
    with pytest.raises(VideoError, match="no GStreamer support"):
        open_source("videotestsrc num-buffers=1 ! videoconvert ! appsink")


def test_video_file_gives_rgb_frames_until_the_end(tmp_path: Path) -> None:
    seq = write_video(tmp_path / "v.avi", frames=12)
    with open_source(str(tmp_path / "v.avi")) as src:
        assert src.kind == "video" and src.length == 12 and src.fps == pytest.approx(25.0)
        frames = list(src.frames())
    assert [i for i, _ in frames] == list(range(12))
    first = frames[0][1].astype(np.float64)
    truth = seq.frame(0).astype(np.float64)
    assert first.shape == truth.shape and first.dtype == np.float64
    # MJPG is lossy, but far closer to the RGB original than to its channel-swapped (BGR) version
    assert np.abs(first - truth).mean() < 6 < np.abs(first - truth[:, :, ::-1]).mean()


def test_image_folder_natural_order_and_unreadable_image_skipped(tmp_path: Path) -> None:
    seq = write_images(tmp_path / "imgs", frames=11)
    (tmp_path / "imgs" / "5.png").write_bytes(b"broken")
    (tmp_path / "imgs" / "notes.txt").write_text("ignored")
    warnings: list[str] = []
    src = open_source(str(tmp_path / "imgs"))
    frames = list(src.frames(warn=warnings.append))
    assert [i for i, _ in frames] == [0, 1, 2, 3, 5, 6, 7, 8, 9, 10]
    assert src.skipped == 1 and len(warnings) == 1 and "5.png" in warnings[0] and "frame 4" in warnings[0]
    assert np.abs(frames[-1][1].astype(int) - seq.frame(10).astype(int)).max() == 0  # PNG is lossless, RGB order


def test_empty_image_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="no images in"):
        open_source(str(tmp_path))


class FakeCapture:
    """Plays a list of frames, where None is a frame that fails to decode; then reports the end."""

    def __init__(self, frames: list[np.ndarray | None], length: int) -> None:
        self.frames, self.length, self.position, self.released = frames, length, 0, False

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.position >= len(self.frames):
            return False, None
        frame = self.frames[self.position]
        self.position += 1
        return frame is not None, frame

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_COUNT: float(self.length),
                cv2.CAP_PROP_POS_FRAMES: float(self.position)}.get(prop, 0.0)

    def release(self) -> None:
        self.released = True


def _bgr(value: int) -> np.ndarray:
    frame = np.zeros((4, 6, 3), np.uint8)
    frame[..., 0] = value  # blue channel in OpenCV's order
    return frame


def test_corrupt_frames_in_a_file_are_skipped_with_their_index_kept() -> None:
    cap = FakeCapture([_bgr(1), None, None, _bgr(4), _bgr(5)], length=5)
    warnings: list[str] = []
    with capture_source(cap, "video", "clip.mp4") as src:
        frames = list(src.frames(warn=warnings.append))
    assert [i for i, _ in frames] == [0, 3, 4]
    assert frames[1][1][0, 0].tolist() == [0, 0, 4]  # BGR -> RGB
    assert src.skipped == 2 and warnings == ["skipped 2 unreadable frame(s) before frame 3 of clip.mp4"]
    assert cap.released


def test_live_source_ends_after_repeated_failed_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video, "LIVE_RETRY_S", 0.0)
    cap = FakeCapture([_bgr(1), _bgr(2)], length=0)
    warnings: list[str] = []
    src = capture_source(cap, "stream", "rtsp://cam")
    assert src.length is None
    assert [i for i, _ in src.frames(warn=warnings.append)] == [0, 1]
    assert len(warnings) == 1 and f"no frame in {video.MAX_FAILED_READS} tries after frame 1" in warnings[0]
    assert src.skipped == 0


class FakeTracker:
    def __init__(self, scores: list[float]) -> None:
        self.scores = scores
        self.init: tuple[int, list[float]] | None = None

    def initialize(self, frame: np.ndarray, box: list[float]) -> None:
        self.init = (int(frame[0, 0, 0]), list(box))

    def track(self, frame: np.ndarray) -> TrackResult:
        score = self.scores.pop(0)
        return TrackResult((1.0, 2.0, 3.0, 4.0), score, {"pre": 1.0, "infer": 2.0, "post": 0.5})


def test_track_frames_initialises_on_the_first_frame_and_flags_low_scores() -> None:
    frames = [(i, np.full((8, 8, 3), i, np.uint8)) for i in (2, 3, 5)]
    tracker = FakeTracker([0.9, 0.1])
    results = list(track_frames(tracker, frames, [1, 1, 4, 4], lost_below=0.3))
    assert tracker.init == (2, [1, 1, 4, 4])
    assert [(r.index, r.score, r.lost) for r in results] == [(2, None, False), (3, 0.9, False), (5, 0.1, True)]
    assert results[0].box == (1.0, 1.0, 4.0, 4.0) and results[2].timings["infer"] == 2.0


def test_track_frames_on_an_empty_source_says_so() -> None:
    with pytest.raises(VideoError, match="no frame to initialise"):
        list(track_frames(FakeTracker([]), [], [0, 0, 1, 1]))


def test_annotate_draws_lost_targets_in_red_without_touching_the_input() -> None:
    frame = np.zeros((60, 80, 3), np.uint8)
    ok = annotate(FrameResult(1, frame, (20, 20, 30, 20), 0.8, False), fps=12.0)
    lost = annotate(FrameResult(1, frame, (20, 20, 30, 20), 0.1, True))
    assert frame.max() == 0
    edge = (40, 20)  # a pixel on the box's left edge (row 40, column 20), below the label
    r, g, _ = ok[edge].astype(int)
    assert g > 100 and g > 3 * r  # green (anti-aliased, so not the exact colour)
    r, g, _ = lost[edge].astype(int)
    assert r > 100 and r > 3 * g  # red


def test_video_sink_writes_readable_frames(tmp_path: Path) -> None:
    path = tmp_path / "out.avi"
    with VideoSink(path, fps=10) as sink:
        for value in range(5):
            sink.write(np.full((48, 64, 3), value * 40, np.uint8))
    cap = cv2.VideoCapture(str(path))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5 and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 64
    cap.release()


def test_video_sink_refuses_unknown_suffix_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="use one of .avi"):
        VideoSink(tmp_path / "out.gif", fps=10)
    with pytest.raises(VideoError, match="does not exist"):
        VideoSink(tmp_path / "missing" / "out.avi", fps=10)


@pytest.mark.skipif(has_gui(), reason="this OpenCV has a GUI")
def test_display_on_headless_opencv_explains_the_fix() -> None:
    with pytest.raises(VideoError, match="opencv-python-headless"):
        Display()


def test_a_truncated_file_says_how_many_of_the_announced_frames_it_read() -> None:
    cap = FakeCapture([_bgr(i) for i in range(13)], length=30)  # the container announces 30
    warnings: list[str] = []
    with capture_source(cap, "video", "clip.mp4") as src:
        frames = list(src.frames(warn=warnings.append))
    assert len(frames) == 13
    assert warnings == ["read 13 of the 30 frames clip.mp4 announces: the file is truncated or damaged after frame 12"]
