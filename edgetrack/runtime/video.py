"""Frames in and out of the runtime: open a source string, read RGB frames, track them, draw and save results.

`open_source(text)` reads the string the way a user types it:

- an integer (`0`, `1`) is a camera index;
- a string containing `!` is a GStreamer pipeline ending in `appsink` (OpenCV must be built with GStreamer);
- `scheme://...` (rtsp, rtmp, http, https, udp, tcp) is a network stream read through FFmpeg;
- an existing folder is a sequence of images in natural order (`2.jpg` before `10.jpg`);
- an existing file is a video file.

OpenCV decodes BGR; frames leave this module as RGB uint8, the tracker's contract. A frame that cannot be
decoded is skipped with a warning and keeps its index, so results stay aligned with the source's frame numbers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import cv2
import numpy as np

from edgetrack.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
VIDEO_CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "XVID"}
MAX_FAILED_READS = 25  # consecutive failed reads before a live source counts as ended
LIVE_RETRY_S = 0.04  # pause between retries on a live source, so 25 tries wait about a second

Warn = Callable[[str], None]
_log = logging.getLogger(__name__)


class VideoError(DataError):
    """A frame source, video output or display window cannot be used."""


class Capture(Protocol):
    """The part of `cv2.VideoCapture` that the reader uses (a fake one is enough in tests)."""

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def get(self, prop: int) -> float: ...

    def release(self) -> None: ...


@dataclass
class FrameSource:
    """Frames of one source as `(index, RGB frame)`; `skipped` counts frames that could not be decoded."""

    kind: str  # camera, gstreamer, stream, images or video
    name: str
    fps: float | None
    length: int | None
    _frames: Callable[[FrameSource, Warn], Iterator[tuple[int, np.ndarray]]]
    _close: Callable[[], None] = lambda: None
    skipped: int = 0

    def frames(self, warn: Warn | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Iterate `(index, RGB uint8 frame)`; `warn` receives one message per skipped frame or gap."""
        return self._frames(self, warn or _log.warning)

    def close(self) -> None:
        self._close()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def to_rgb_frame(image: np.ndarray) -> np.ndarray:
    """An OpenCV frame (BGR, BGRA or grey) as RGB uint8."""
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def source_kind(text: str) -> str:
    """Which reader a source string needs: camera, gstreamer, stream, images or video."""
    if re.fullmatch(r"\d+", text.strip()):
        return "camera"
    if "!" in text:
        return "gstreamer"
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*)://", text)
    if match and match.group(1).lower() in STREAM_SCHEMES:
        return "stream"
    return "images" if Path(text).is_dir() else "video"


def open_source(text: str) -> FrameSource:
    """Open a video file, image folder, camera index, stream URL or GStreamer pipeline; see the module docstring."""
    kind = source_kind(text)
    if kind == "images":
        return image_folder_source(Path(text))
    if kind == "video" and not Path(text).is_file():
        raise VideoError(f"source not found: {text} is neither a file, a folder, a camera index (0, 1, ...), "
                         f"a stream URL ({', '.join(s + '://' for s in STREAM_SCHEMES[:3])}...) nor a GStreamer "
                         "pipeline (elements joined by '!')")
    return capture_source(_open_capture(text, kind), kind, text)


def _open_capture(text: str, kind: str) -> cv2.VideoCapture:
    """A `cv2.VideoCapture` for the source, with the backend each kind needs."""
    if kind == "gstreamer" and not cv2.videoio_registry.hasBackend(cv2.CAP_GSTREAMER):
        raise VideoError("this OpenCV build has no GStreamer support, so the pipeline cannot be opened; install an "
                         "OpenCV built with GStreamer (e.g. the system's python3-opencv on Jetson) or read the "
                         "stream with a URL or device index instead")
    if kind == "camera":
        cap = cv2.VideoCapture(int(text))
    elif kind == "gstreamer":
        cap = cv2.VideoCapture(text, cv2.CAP_GSTREAMER)
    elif kind == "stream":
        cap = cv2.VideoCapture(text, cv2.CAP_FFMPEG)
    else:
        cap = cv2.VideoCapture(text)
    if not cap.isOpened():
        cap.release()
        hints = {"camera": "check that the camera is connected and not used by another program",
                 "gstreamer": "test the pipeline with gst-launch-1.0 and end it with appsink",
                 "stream": "check the URL, the network and the credentials",
                 "video": "it is not a video that OpenCV's FFmpeg can decode"}
        raise VideoError(f"cannot open {kind} source {text}: {hints[kind]}")
    return cap


def capture_source(cap: Capture, kind: str, name: str) -> FrameSource:
    """Frames of an opened capture; a video file ends at its last frame, a live source after failed reads."""
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if kind == "video" else 0
    return FrameSource(kind, name, fps if 0 < fps < 1000 else None, count if count > 0 else None,
                       lambda src, warn: _read_capture(cap, src, warn), cap.release)


def _read_capture(cap: Capture, src: FrameSource, warn: Warn) -> Iterator[tuple[int, np.ndarray]]:
    index, failed = 0, 0
    live = src.kind != "video"
    while True:
        ok, image = cap.read()
        if ok and image is not None and image.size > 0:
            if failed:  # a gap followed by a good frame: those frames really were unreadable
                src.skipped += failed
                warn(f"skipped {failed} unreadable frame(s) before frame {index} of {src.name}")
            failed = 0
            yield index, to_rgb_frame(image)
            index += 1
            continue
        failed += 1
        index += 1
        if _ended(cap, src, failed):
            index -= failed
            if live:
                warn(f"{src.name} gave no frame in {failed} tries after frame {index - 1}; treating it as ended")
            elif src.length is not None and index < src.length:
                warn(f"read {index} of the {src.length} frames {src.name} announces: the file is truncated or "
                     "damaged after frame " + str(max(index - 1, 0)))
            return
        if live:
            time.sleep(LIVE_RETRY_S)


def _ended(cap: Capture, src: FrameSource, failed: int) -> bool:
    """True at the end of a file (position past the last frame) or after too many failed reads in a row."""
    if failed >= MAX_FAILED_READS:
        return True
    if src.kind == "video":
        position = cap.get(cv2.CAP_PROP_POS_FRAMES)
        return src.length is None or position >= src.length
    return False


def natural_key(path: Path) -> list[Any]:
    """Sort key that orders `frame2.jpg` before `frame10.jpg`."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def image_folder_source(folder: Path) -> FrameSource:
    """The image files of a folder, in natural order; an unreadable image is skipped with a warning."""
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                   key=natural_key)
    if not files:
        raise VideoError(f"no images in {folder}: expected files ending in {', '.join(IMAGE_SUFFIXES)}")
    return FrameSource("images", str(folder), None, len(files), lambda src, warn: _read_images(files, src, warn))


def _read_images(files: Sequence[Path], src: FrameSource, warn: Warn) -> Iterator[tuple[int, np.ndarray]]:
    for index, path in enumerate(files):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            src.skipped += 1
            warn(f"skipped unreadable image {path} (frame {index})")
            continue
        yield index, to_rgb_frame(image)


@dataclass(frozen=True)
class FrameResult:
    """One frame through the tracker: `score` is None on the initialisation frame, `timings` in ms."""

    index: int
    frame: np.ndarray
    box: tuple[float, float, float, float]
    score: float | None
    lost: bool
    timings: dict[str, float] = field(default_factory=dict)


def track_frames(tracker: Any, frames: Iterable[tuple[int, np.ndarray]], init_box: Sequence[float],
                 lost_below: float = 0.3) -> Iterator[FrameResult]:
    """Initialise on the first frame, then track the rest; a score below `lost_below` flags the target lost."""
    started = False
    for index, frame in frames:
        if not started:
            tracker.initialize(frame, init_box)
            started = True
            yield FrameResult(index, frame, tuple(float(v) for v in init_box), None, False)  # type: ignore[arg-type]
            continue
        result = tracker.track(frame)
        yield FrameResult(index, frame, result.box, result.score, result.score < lost_below, result.timings)
    if not started:
        raise VideoError("the source gave no frame to initialise the tracker on")


_GREEN, _RED, _YELLOW, _WHITE, _BLACK = (40, 220, 40), (230, 40, 40), (240, 200, 20), (255, 255, 255), (0, 0, 0)


def annotate(result: FrameResult, fps: float | None = None) -> np.ndarray:
    """A copy of the frame (RGB) with the box, the score and the FPS drawn on it; lost targets in red."""
    image = np.ascontiguousarray(result.frame).copy()
    x, y, w, h = (round(v) for v in result.box)
    colour = _YELLOW if result.score is None else (_RED if result.lost else _GREEN)
    thickness = max(1, round(min(image.shape[:2]) / 240))
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, thickness, cv2.LINE_AA)
    if result.score is None:
        label = "init"
    else:
        label = f"{'LOST? ' if result.lost else ''}score {result.score:.2f}"
    _text(image, label, (x, max(y - 4, 12)), colour)
    status = f"frame {result.index}" + (f"  {fps:.1f} FPS" if fps else "")
    _text(image, status, (4, 14), _WHITE)
    return image


def _text(image: np.ndarray, text: str, origin: tuple[int, int], colour: tuple[int, int, int]) -> None:
    """Text with a dark outline, readable on any background."""
    scale = max(0.4, min(image.shape[:2]) / 600)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, _BLACK, 3, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


class VideoSink:
    """Writes RGB frames to a video file; opened on the first frame, whose size every frame must have."""

    def __init__(self, path: Path, fps: float) -> None:
        codec = VIDEO_CODECS.get(path.suffix.lower())
        if codec is None:
            raise VideoError(f"cannot write video {path}: use one of {', '.join(VIDEO_CODECS)} as the suffix")
        if not path.parent.is_dir():
            raise VideoError(f"cannot write video {path}: folder {path.parent} does not exist")
        if not fps > 0:  # OpenCV reports a bad rate as a codec failure
            raise VideoError(f"cannot write video {path} at {fps} frames per second: give a rate above 0")
        self.path, self.fps, self.codec = path, fps, codec
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            height, width = frame.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self.codec), self.fps,
                                           (width, height))
            if not self._writer.isOpened():
                raise VideoError(f"OpenCV cannot encode {self.codec} video to {self.path}; try an .avi output "
                                 "(MJPG is available in every build)")
        self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self, keep: bool = True) -> None:
        """Finish the file; a video of no frames, or one the caller does not `keep` (a failed run), is removed."""
        if self._writer is None:
            return  # nothing was opened: a file already at the path is not this sink's to remove
        self._writer.release()
        self._writer = None
        if not keep or self.frames == 0:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def has_gui() -> bool:
    """True if this OpenCV can open windows (the opencv-python-headless wheel cannot)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() not in ("NONE", "NO")
    return False


class Display:
    """An OpenCV window showing annotated frames; `show` returns False once the user presses q or Esc."""

    def __init__(self, title: str = "edgetrack") -> None:
        if not has_gui():
            raise VideoError("--show needs OpenCV with GUI support, and this one is headless: pip install "
                             "opencv-python (instead of opencv-python-headless), or save the video with --out")
        self.title = title

    def show(self, frame: np.ndarray) -> bool:
        cv2.imshow(self.title, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        return (cv2.waitKey(1) & 0xFF) not in (ord("q"), 27)

    def close(self) -> None:
        cv2.destroyWindow(self.title)
