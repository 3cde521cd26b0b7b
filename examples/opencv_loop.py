"""Track one object in a video file, camera or stream with a plain OpenCV capture loop.

    python examples/opencv_loop.py clip.mp4 --init 120,80,40,60
    python examples/opencv_loop.py 0 --model runs/quickstart/export          # camera 0, box drawn with the mouse
    python examples/opencv_loop.py rtsp://camera/stream --init 300,200,80,80 --no-show --out tracked.avi

Each frame prints one line: `frame N: box x,y,w,h score S fps F` (the first frame is the initial box).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgetrack import Tracker

Box = tuple[float, float, float, float]
GREEN, RED, WHITE = (40, 220, 40), (40, 40, 230), (255, 255, 255)  # BGR: drawing happens on OpenCV's frames


class ExampleError(Exception):
    """A problem the user can fix; printed as one line."""


def parse_box(text: str) -> Box:
    """`x,y,w,h` in pixels (commas or spaces) as four floats."""
    parts = text.replace(",", " ").split()
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or values[2] <= 0 or values[3] <= 0:
        raise ExampleError(f"--init '{text}' is not a box; give x,y,w,h in pixels with w, h > 0, e.g. 120,80,40,60")
    return values[0], values[1], values[2], values[3]


def open_capture(source: str) -> cv2.VideoCapture:
    """A capture for a camera index (`0`), a stream URL or a video file."""
    if source.isdigit():
        cap = cv2.VideoCapture(int(source))
    else:
        if "://" not in source and not Path(source).is_file():
            raise ExampleError(f"source not found: {source} (give a video file, a camera index or a stream URL)")
        cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        cap.release()
        raise ExampleError(f"OpenCV cannot open {source}")
    return cap


def read_frames(cap: cv2.VideoCapture) -> Iterator[np.ndarray]:
    """BGR frames until the source ends."""
    while True:
        ok, frame = cap.read()
        if not ok or frame is None:
            return
        yield frame


def display_available() -> bool:
    """True if OpenCV can open a window here: a GUI build and, on Linux, a display server."""
    gui = next((line.split(":", 1)[1].strip().upper() for line in cv2.getBuildInformation().splitlines()
                if line.strip().startswith("GUI:")), "NONE")
    if gui in ("NONE", "NO"):
        return False
    return not sys.platform.startswith("linux") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def select_box(frame_bgr: np.ndarray) -> Box:
    """Let the user drag the first box with the mouse (Enter or Space confirms)."""
    x, y, w, h = cv2.selectROI("select the target, then press Enter", frame_bgr, showCrosshair=True)
    cv2.destroyWindow("select the target, then press Enter")
    if w <= 0 or h <= 0:
        raise ExampleError("no box selected; drag a rectangle around the target and press Enter")
    return float(x), float(y), float(w), float(h)


def draw(frame_bgr: np.ndarray, box: Box, score: float | None, fps: float) -> np.ndarray:
    """The frame with the box, the score and the FPS drawn on it (in place; returned for chaining)."""
    x, y, w, h = (round(v) for v in box)
    colour = GREEN if score is None or score >= 0.3 else RED
    cv2.rectangle(frame_bgr, (x, y), (x + w, y + h), colour, 2)
    label = "init" if score is None else f"{score:.2f}"
    cv2.putText(frame_bgr, label, (x, max(y - 5, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    cv2.putText(frame_bgr, f"{fps:5.1f} FPS", (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, WHITE, 1, cv2.LINE_AA)
    return frame_bgr


def format_result(index: int, box: Box, score: float | None, fps: float) -> str:
    """One printed line per frame."""
    line = f"frame {index}: box {','.join(f'{v:.2f}' for v in box)}"
    return f"{line} score init" if score is None else f"{line} score {score:.3f} fps {fps:.1f}"


class Rate:
    """A smoothed frames-per-second of the whole loop (reading, tracking, drawing)."""

    def __init__(self) -> None:
        self.fps, self._last = 0.0, time.perf_counter()

    def tick(self) -> float:
        now = time.perf_counter()
        rate = 1.0 / max(now - self._last, 1e-9)
        self.fps = rate if self.fps == 0 else 0.9 * self.fps + 0.1 * rate
        self._last = now
        return self.fps


def run(args: argparse.Namespace) -> int:
    """The capture loop: initialise on the first frame, then track, draw, print and show each frame."""
    show = display_available() if args.show is None else args.show
    if show and not display_available():
        raise ExampleError("--show needs a display and an OpenCV build with GUI support (pip install opencv-python)")
    if args.init is None and not show:
        raise ExampleError("no display to draw the first box on; pass --init x,y,w,h")
    box = parse_box(args.init) if args.init else None
    cap = open_capture(args.source)  # before the model loads, so a wrong source fails at once
    try:
        tracker = Tracker.from_artifact(args.model, args.backend, args.device)
    except BaseException:
        cap.release()
        raise
    writer, rate, count = None, Rate(), 0
    try:
        for frame in read_frames(cap):
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)  # the tracker takes RGB; OpenCV decodes BGR
            if count == 0:
                box = box or select_box(frame)
                initialize(tracker, rgb, box)
                score = None
            else:
                result = tracker.track(rgb)
                box, score = result.box, result.score
            fps = rate.tick() if count else 0.0
            print(format_result(count, box, score, fps), flush=True)
            draw(frame, box, score, fps)
            if args.out is not None:
                writer = writer or open_writer(args.out, frame, cap)
                writer.write(frame)
            if show:
                cv2.imshow("edgetrack", frame)
                if (cv2.waitKey(1) & 0xFF) in (ord("q"), 27):
                    break
            count += 1
            if args.max_frames and count >= args.max_frames:
                break
    finally:
        cap.release()
        if writer is not None:
            writer.release()
        if show:
            cv2.destroyAllWindows()
    if count == 0:
        raise ExampleError(f"{args.source} gave no frame")
    return 0


def initialize(tracker: Any, rgb: np.ndarray, box: Box) -> None:
    """Start tracking; a refused box names the frame it was checked against."""
    from edgetrack.errors import TrackingError

    try:
        tracker.initialize(rgb, box)
    except TrackingError as exc:
        raise ExampleError(f"--init {','.join(f'{v:g}' for v in box)}: {exc}") from None


def open_writer(path: Path, frame: np.ndarray, cap: cv2.VideoCapture) -> cv2.VideoWriter:
    """An MJPG .avi or mp4v .mp4 writer at the source's frame rate (25 when it has none)."""
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    codec = "mp4v" if path.suffix.lower() in (".mp4", ".m4v", ".mov") else "MJPG"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (frame.shape[1], frame.shape[0]))
    if not writer.isOpened():
        raise ExampleError(f"cannot write {path}; try an .avi file")
    return writer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Track one object with edgetrack in an OpenCV capture loop; "
                                     "prints one line per frame and draws box, score and FPS.")
    parser.add_argument("source", help="video file, camera index (0, 1, ...) or stream URL (rtsp://...)")
    parser.add_argument("--model", "-m", default="tiny",
                        help="model folder, export folder (model.onnx + io_spec.json) or preset with bundled "
                             "weights (default: tiny)")
    parser.add_argument("--init", help="first-frame box x,y,w,h in pixels; without it, drag the box with the "
                                       "mouse (needs a display)")
    parser.add_argument("--backend", default="auto", help="auto, torch or onnxruntime (default: auto)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ... (default: cpu)")
    parser.add_argument("--show", action=argparse.BooleanOptionalAction, default=None,
                        help="show the annotated frames in a window, q quits (default: when a display exists)")
    parser.add_argument("--out", type=Path, help="also write the annotated video here (.avi or .mp4)")
    parser.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; a problem the user can fix is one line on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    from edgetrack.errors import EdgetrackError

    try:
        return run(args)
    except (ExampleError, EdgetrackError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the output was piped into `head` or similar: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
