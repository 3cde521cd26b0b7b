"""Feed a GStreamer pipeline's frames to the tracker through an appsink.

    python examples/gstreamer_appsink.py                                  # videotestsrc, box in the centre
    python examples/gstreamer_appsink.py --file clip.mp4 --init 120,80,40,60
    python examples/gstreamer_appsink.py --source "v4l2src device=/dev/video0" --init 300,200,80,80 --drop
    python examples/gstreamer_appsink.py --source "nvarguscamerasrc ! nvvidconv" --init 300,200,80,80 --drop

The pipeline always ends in `videoconvert ! video/x-raw,format=RGB ! appsink`, so any source works and frames
reach the tracker as RGB. Needs PyGObject with GStreamer 1.x (`apt install python3-gi gir1.2-gst-plugins-base-1.0
gstreamer1.0-plugins-good`, or `pip install PyGObject` beside a system GStreamer).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack import Tracker

Box = tuple[float, float, float, float]
CHANNELS = {"RGB": 3, "BGR": 3, "RGBx": 4, "BGRx": 4, "RGBA": 4, "BGRA": 4, "xRGB": 4, "ARGB": 4}
TEST_SOURCE = "videotestsrc num-buffers=300 pattern=ball ! video/x-raw,width=640,height=480,framerate=30/1"
MISSING_GST = ("this example needs GStreamer's Python bindings (PyGObject with Gst 1.0): on Ubuntu or Jetson "
               "`sudo apt install python3-gi gir1.2-gst-plugins-base-1.0 gstreamer1.0-plugins-good`")


class ExampleError(Exception):
    """A problem the user can fix; printed as one line."""


def default_stride(width: int, channels: int) -> int:
    """GStreamer's row stride for packed RGB formats: rows start on 4-byte boundaries."""
    return (width * channels + 3) // 4 * 4


def frame_to_rgb(data: bytes | memoryview | np.ndarray, width: int, height: int, stride: int | None = None,
                 fmt: str = "RGB") -> np.ndarray:
    """One video frame's bytes (rows `stride` bytes apart, padding included) as an (H, W, 3) RGB uint8 array."""
    if fmt not in CHANNELS:
        raise ExampleError(f"unsupported frame format {fmt}; use one of {', '.join(CHANNELS)}")
    channels = CHANNELS[fmt]
    stride = default_stride(width, channels) if stride is None else stride
    if stride < width * channels:
        raise ExampleError(f"stride {stride} is shorter than a row of {width} {fmt} pixels")
    buf = np.frombuffer(data, dtype=np.uint8)
    # the last row needs no padding after it, so the buffer may end right after the pixels
    need = stride * (height - 1) + width * channels
    if buf.size < need:
        raise ExampleError(f"frame buffer holds {buf.size} bytes; {width}x{height} {fmt} needs {need}")
    rows = np.lib.stride_tricks.as_strided(buf, (height, width, channels), (stride, channels, 1))
    start = 1 if fmt[0] in "xA" else 0  # xRGB / ARGB: the colour bytes follow the padding byte
    pixels = rows[:, :, start:start + 3]
    if fmt.startswith("BGR"):
        pixels = pixels[:, :, ::-1]
    return np.ascontiguousarray(pixels)  # a copy: GStreamer reuses the buffer once it is unmapped


def build_pipeline(source: str | None = None, file: Path | None = None, drop: bool = False) -> str:
    """The pipeline string: a source, conversion to RGB, and an appsink named `sink` that emits signals."""
    if file is not None:
        head = f'filesrc location="{file}" ! decodebin'
    else:
        head = source or TEST_SOURCE
    # drop=true keeps only the newest frame, so a live camera never queues up latency behind a slow model;
    # for a file keep every frame (drop=false): appsink then holds the decoder back instead
    sink = (f"appsink name=sink emit-signals=true sync=false max-buffers={1 if drop else 4} "
            f"drop={'true' if drop else 'false'}")
    return f"{head} ! videoconvert ! video/x-raw,format=RGB ! {sink}"


def import_gst() -> Any:
    """The `Gst` module, initialised; ExampleError with install hints when PyGObject or GStreamer is missing."""
    try:
        import gi

        gi.require_version("Gst", "1.0")
        from gi.repository import Gst
    except (ImportError, ValueError):  # ValueError: gi is there but the Gst typelib is not
        raise ExampleError(MISSING_GST) from None
    Gst.init(None)
    return Gst


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


def centre_box(width: int, height: int) -> Box:
    """A box of a quarter of the frame's size in its centre (for the test pattern, when --init is not given)."""
    return width * 3 / 8, height * 3 / 8, width / 4, height / 4


def sample_to_rgb(sample: Any) -> np.ndarray:
    """The RGB array of a `Gst.Sample` from the appsink (reads width, height and stride from its caps)."""
    caps = sample.get_caps().get_structure(0)
    width, height, fmt = caps.get_value("width"), caps.get_value("height"), caps.get_value("format")
    buffer = sample.get_buffer()
    ok, info = buffer.map(_gst().MapFlags.READ)
    if not ok:
        raise ExampleError("cannot map a GStreamer buffer for reading")
    try:
        return frame_to_rgb(info.data, width, height, _stride(sample, width, fmt), fmt)
    finally:
        buffer.unmap(info)


def _stride(sample: Any, width: int, fmt: str) -> int:
    """The stride from GstVideo's caps parsing where available, else GStreamer's default layout."""
    try:
        import gi

        gi.require_version("GstVideo", "1.0")
        from gi.repository import GstVideo

        info = GstVideo.VideoInfo.new_from_caps(sample.get_caps())
        return int(info.stride[0])
    except (ImportError, ValueError, AttributeError, TypeError):
        return default_stride(width, CHANNELS.get(fmt, 3))


def _gst() -> Any:
    from gi.repository import Gst

    return Gst


class FrameTracker:
    """The appsink callback: initialise on the first frame, then track and print one line per frame."""

    def __init__(self, tracker: Any, init: Box | None, max_frames: int = 0) -> None:
        self.tracker, self.init, self.max_frames = tracker, init, max_frames
        self.frames, self.error, self.start = 0, None, time.perf_counter()

    def on_sample(self, sink: Any) -> Any:
        Gst = _gst()
        sample = sink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.EOS
        try:
            self.handle(sample_to_rgb(sample))
        except Exception as exc:  # noqa: BLE001 - raised in GStreamer's thread: hand it to the main loop
            self.error = exc
            return Gst.FlowReturn.ERROR
        done = bool(self.max_frames) and self.frames >= self.max_frames
        return Gst.FlowReturn.EOS if done else Gst.FlowReturn.OK

    def handle(self, rgb: np.ndarray) -> None:
        if self.frames == 0:
            box = self.init or centre_box(rgb.shape[1], rgb.shape[0])
            self.tracker.initialize(rgb, box)
            line = f"frame 0: box {_fmt(box)} score init"
        else:
            result = self.tracker.track(rgb)
            fps = self.frames / max(time.perf_counter() - self.start, 1e-9)
            line = f"frame {self.frames}: box {_fmt(result.box)} score {result.score:.3f} fps {fps:.1f}"
        print(line, flush=True)
        self.frames += 1


def _fmt(box: Sequence[float]) -> str:
    return ",".join(f"{v:.2f}" for v in box)


def run(args: argparse.Namespace) -> int:
    """Build the pipeline, track every frame the appsink emits, and stop at end of stream or on an error."""
    Gst = import_gst()  # first, so a missing GStreamer is reported before the model loads
    from edgetrack.errors import EdgetrackError

    try:
        return track_pipeline(args, Gst)
    except EdgetrackError as exc:  # a bad box, model or frame: the library's message is already one line
        raise ExampleError(str(exc)) from None


def track_pipeline(args: argparse.Namespace, Gst: Any) -> int:
    """Run the pipeline to its end, tracking in the appsink callback."""
    init = parse_box(args.init) if args.init else None
    description = build_pipeline(args.source, args.file, args.drop)
    try:
        pipeline = Gst.parse_launch(description)
    except Exception as exc:  # noqa: BLE001 - GLib.Error: a missing element or a typo in the pipeline
        raise ExampleError(f"cannot build the pipeline '{description}': {exc}") from None
    handler = FrameTracker(Tracker.from_artifact(args.model, args.backend, args.device), init, args.max_frames)
    pipeline.get_by_name("sink").connect("new-sample", handler.on_sample)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        message = wait_for_end(pipeline, Gst)
    finally:
        pipeline.set_state(Gst.State.NULL)
    if handler.error is not None:
        raise handler.error
    if message is not None:
        raise ExampleError(message)
    return 0


def wait_for_end(pipeline: Any, Gst: Any) -> str | None:
    """Block until end of stream (None) or an error (its text)."""
    bus = pipeline.get_bus()
    kinds = Gst.MessageType.EOS | Gst.MessageType.ERROR
    msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE, kinds)
    if msg is None or msg.type == Gst.MessageType.EOS:
        return None
    error, debug = msg.parse_error()
    return f"GStreamer: {error.message}" + (f" ({debug.splitlines()[0]})" if debug else "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Track one object in frames from a GStreamer appsink; prints one "
                                     "line per frame.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--source", help="pipeline elements before the RGB conversion (default: a 640x480 "
                                        "videotestsrc ball, 300 frames)")
    where.add_argument("--file", type=Path, help="decode this video file (filesrc ! decodebin)")
    parser.add_argument("--model", "-m", default="tiny",
                        help="model folder, export folder or preset with bundled weights (default: tiny)")
    parser.add_argument("--init", help="first-frame box x,y,w,h in pixels (default: a box in the frame's centre)")
    parser.add_argument("--backend", default="auto", help="auto, torch or onnxruntime (default: auto)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ... (default: cpu)")
    parser.add_argument("--drop", action="store_true",
                        help="keep only the newest frame (live cameras: low latency when the model is slower)")
    parser.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; a problem the user can fix is one line on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        if args.file is not None and not args.file.is_file():
            raise ExampleError(f"video file not found: {args.file}")
        return run(args)
    except ExampleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
