"""The examples: the OpenCV loop tracks a synthetic clip; GStreamer and ROS 2 fail cleanly without their
packages; the frame conversions of both are checked byte for byte."""

from __future__ import annotations

import array
import importlib.util
import py_compile
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from edgetrack.eval.metrics import iou_xywh
from tests.unit.runtime.sample_video import box_arg, write_video

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
LINE = re.compile(r"frame (\d+): box ([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+) score (\S+)")


def load_example(name: str, monkeypatch: pytest.MonkeyPatch, absent: tuple[str, ...] = ()) -> ModuleType:
    """Import examples/<name>.py as a fresh module; `absent` modules fail to import as if not installed."""
    for module in absent:
        monkeypatch.setitem(sys.modules, module, None)  # None in sys.modules makes `import` raise ImportError
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def one_thread() -> Iterator[None]:
    # the tiny model is faster on one thread than on two contended ones
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def opencv_loop(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_example("opencv_loop", monkeypatch)


@pytest.fixture
def gst(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_example("gstreamer_appsink", monkeypatch, absent=("gi",))


@pytest.fixture
def ros(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_example("ros2_node", monkeypatch, absent=("rclpy",))


@pytest.mark.parametrize("name", ["opencv_loop", "gstreamer_appsink", "ros2_node"])
def test_example_compiles(name: str, tmp_path: Path) -> None:
    py_compile.compile(str(EXAMPLES / f"{name}.py"), cfile=str(tmp_path / f"{name}.pyc"), doraise=True)


def test_readme_names_every_example() -> None:
    text = (EXAMPLES / "README.md").read_text()
    for path in EXAMPLES.glob("*.py"):
        assert path.name in text


# --- OpenCV loop ------------------------------------------------------------------------------------------------

def test_opencv_loop_tracks_a_synthetic_clip(opencv_loop: ModuleType, one_thread: None, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    seq = write_video(tmp_path / "clip.avi", frames=30)
    gt = seq.boxes[:30]
    code = opencv_loop.main([str(tmp_path / "clip.avi"), "--init", box_arg(gt[0]), "--no-show",
                             "--out", str(tmp_path / "out.avi")])
    assert code == 0
    rows = [LINE.match(line) for line in capsys.readouterr().out.splitlines()]
    assert all(rows) and [int(r.group(1)) for r in rows] == list(range(30))
    assert rows[0].group(6) == "init" and all(0 <= float(r.group(6)) <= 1 for r in rows[1:])
    boxes = np.array([[float(v) for v in r.groups()[1:5]] for r in rows])
    iou = iou_xywh(boxes, gt)
    # the same clip and model as `edgetrack track`'s test: about 0.78 over 10 frames and 0.63 over 30, against
    # 0.27 for a box left where it started
    assert iou[:10].mean() > 0.5 and iou.mean() > 0.45
    cap = cv2.VideoCapture(str(tmp_path / "out.avi"))
    written = 0
    while cap.read()[0]:
        written += 1
    cap.release()
    assert written == 30


def test_opencv_loop_help(opencv_loop: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        opencv_loop.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--init", "--model", "--show", "--out", "camera index", "tiny"):
        assert option in text


@pytest.mark.parametrize(("args", "message"), [
    (["missing.avi", "--init", "1,2,3,4"], "error: source not found: missing.avi"),
    (["{clip}", "--init", "1,2,3"], "error: --init '1,2,3' is not a box"),
    (["{clip}", "--no-show"], "error: no display to draw the first box on; pass --init"),
    (["{clip}", "--init", "500,10,30,30"], "outside the 320x240 frame"),
])
def test_opencv_loop_errors_are_one_line(opencv_loop: ModuleType, tmp_path: Path, args: list[str], message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    clip = tmp_path / "clip.avi"
    write_video(clip, frames=2)
    code = opencv_loop.main([a.format(clip=clip) for a in args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1


def test_opencv_draw_and_format(opencv_loop: ModuleType) -> None:
    frame = np.zeros((60, 80, 3), np.uint8)
    opencv_loop.draw(frame, (10.0, 10.0, 20.0, 20.0), 0.9, 30.0)
    assert frame[25, 10].tolist() == list(opencv_loop.GREEN)  # the box's left edge, drawn in BGR
    assert opencv_loop.format_result(3, (1, 2, 3, 4), 0.5, 9.87) == "frame 3: box 1.00,2.00,3.00,4.00 score 0.500 " \
                                                                    "fps 9.9"


# --- GStreamer ----------------------------------------------------------------------------------------------------

def test_gstreamer_without_gi_is_one_message_and_code_2(gst: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert gst.main(["--max-frames", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: this example needs GStreamer's Python bindings") and len(err.splitlines()) == 1
    assert "Traceback" not in err


def _has_gstreamer() -> bool:
    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstVideo", "1.0")
    except (ImportError, ValueError):
        return False
    return True


@pytest.mark.skipif(not _has_gstreamer(), reason="needs PyGObject with GStreamer 1.x")
def test_gstreamer_tracks_the_test_pattern(monkeypatch: pytest.MonkeyPatch, one_thread: None,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    gst_live = load_example("gstreamer_appsink", monkeypatch)
    source = "videotestsrc num-buffers=4 pattern=ball ! video/x-raw,width=160,height=120"
    assert gst_live.main(["--source", source, "--init", "60,45,40,30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all(LINE.match(line) for line in lines)


def _padded(image: np.ndarray, stride: int) -> bytes:
    """Rows of `image` (H, W, C) as bytes, each padded with 0xAB to `stride` bytes."""
    height = image.shape[0]
    rows = np.full((height, stride), 0xAB, np.uint8)
    rows[:, : image.shape[1] * image.shape[2]] = image.reshape(height, -1)
    return rows.tobytes()


def test_gstreamer_default_stride_aligns_rows_to_4_bytes(gst: ModuleType) -> None:
    assert gst.default_stride(5, 3) == 16 and gst.default_stride(4, 3) == 12 and gst.default_stride(5, 4) == 20


def test_gstreamer_rgb_frame_with_row_padding(gst: ModuleType) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (3, 5, 3), dtype=np.uint8)
    data = _padded(rgb, 16)
    out = gst.frame_to_rgb(data, 5, 3)  # default stride: 15 bytes of pixels padded to 16
    assert out.dtype == np.uint8 and out.shape == (3, 5, 3) and np.array_equal(out, rgb)
    assert np.array_equal(gst.frame_to_rgb(data[:-1], 5, 3, stride=16), rgb)  # no padding after the last row
    assert out.flags.c_contiguous and out.flags.writeable  # a copy, safe after the buffer is unmapped


@pytest.mark.parametrize(("fmt", "channels"), [("BGR", [2, 1, 0]), ("RGBx", [0, 1, 2, 3]), ("BGRA", [2, 1, 0, 3]),
                                               ("xRGB", [3, 0, 1, 2])])
def test_gstreamer_channel_orders(gst: ModuleType, fmt: str, channels: list[int]) -> None:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    rgbx = np.concatenate([rgb, np.full((4, 6, 1), 7, np.uint8)], axis=2)
    packed = rgbx[:, :, channels[: len(fmt)]]
    stride = gst.default_stride(6, len(fmt)) + 8  # extra padding, as some decoders add
    assert np.array_equal(gst.frame_to_rgb(_padded(packed, stride), 6, 4, stride, fmt), rgb)


def test_gstreamer_refuses_short_buffers_and_unknown_formats(gst: ModuleType) -> None:
    with pytest.raises(gst.ExampleError, match="needs 47"):
        gst.frame_to_rgb(bytes(46), 5, 3, 16)
    with pytest.raises(gst.ExampleError, match="unsupported frame format NV12"):
        gst.frame_to_rgb(bytes(64), 4, 4, fmt="NV12")


def test_gstreamer_pipeline_strings(gst: ModuleType) -> None:
    default = gst.build_pipeline()
    assert default.startswith("videotestsrc") and "video/x-raw,format=RGB ! appsink name=sink" in default
    assert "emit-signals=true" in default and "drop=false" in default
    from_file = gst.build_pipeline(file=Path("/videos/a b.mp4"), drop=True)
    assert from_file.startswith('filesrc location="/videos/a b.mp4" ! decodebin ! videoconvert')
    assert "drop=true" in from_file


# --- ROS 2 --------------------------------------------------------------------------------------------------------

def test_ros2_without_rclpy_is_one_message_and_code_2(ros: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert ros.main(["--ros-args", "-p", "init_box:=[1.0,2.0,3.0,4.0]"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: this example needs ROS 2 (rclpy is missing)") and len(err.splitlines()) == 1
    assert "vision-msgs" in ros.missing_message("vision_msgs.msg")


def test_ros2_help_works_without_ros(ros: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        ros.main(["--help"])
    assert exit_info.value.code == 0 and "init_box" in capsys.readouterr().out


def test_ros2_rgb8_with_step_padding(ros: ModuleType) -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (3, 5, 3), dtype=np.uint8)
    data = array.array("B", _padded(rgb, 20))  # rclpy hands Image.data over as array('B')
    assert np.array_equal(ros.image_to_rgb(data, 5, 3, "rgb8", 20), rgb)
    assert np.array_equal(ros.image_to_rgb(rgb.tobytes(), 5, 3, "rgb8"), rgb)  # step defaults to a packed row


@pytest.mark.parametrize(("encoding", "make"), [
    ("bgr8", lambda rgb: rgb[:, :, ::-1]),
    ("rgba8", lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])),
    ("bgra8", lambda rgb: np.dstack([rgb[:, :, ::-1], np.zeros(rgb.shape[:2], np.uint8)])),
])
def test_ros2_colour_encodings(ros: ModuleType, encoding: str, make) -> None:  # noqa: ANN001
    rgb = np.random.default_rng(3).integers(0, 256, (4, 3, 3), dtype=np.uint8)
    packed = np.ascontiguousarray(make(rgb))
    step = packed.shape[1] * packed.shape[2] + 4
    assert np.array_equal(ros.image_to_rgb(_padded(packed, step), 3, 4, encoding, step), rgb)


def test_ros2_mono8_becomes_grey_rgb(ros: ModuleType) -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    out = ros.image_to_rgb(_padded(grey, 8), 4, 3, "mono8", 8)
    assert out.shape == (3, 4, 3) and np.array_equal(out, np.repeat(grey, 3, axis=2))


def test_ros2_refuses_bad_images(ros: ModuleType) -> None:
    with pytest.raises(ValueError, match="'16UC1' is not supported"):
        ros.image_to_rgb(bytes(32), 4, 4, "16UC1", 8)
    with pytest.raises(ValueError, match="needs 23"):
        ros.image_to_rgb(bytes(22), 3, 2, "rgb8", 14)
    with pytest.raises(ValueError, match="step 8 is shorter"):
        ros.image_to_rgb(bytes(64), 4, 2, "rgb8", 8)


def test_ros2_init_box_parameter(ros: ModuleType) -> None:
    assert ros.parse_init_box([120.0, 80.0, 40.0, 60.0]) == (120.0, 80.0, 40.0, 60.0)
    assert ros.parse_init_box("120, 80, 40, 60") == (120.0, 80.0, 40.0, 60.0)
    assert ros.parse_init_box("") is None and ros.parse_init_box([]) is None and ros.parse_init_box(None) is None
    with pytest.raises(ValueError, match="not x,y,w,h"):
        ros.parse_init_box("1,2,3")
    with pytest.raises(ValueError, match="width and height > 0"):
        ros.parse_init_box([1, 2, 0, 4])


def _detection(nested: bool) -> tuple[SimpleNamespace, SimpleNamespace]:
    """Stand-ins for Detection2D and ObjectHypothesisWithPose in the new (nested) or old vision_msgs layout."""
    centre = SimpleNamespace(position=SimpleNamespace(x=0.0, y=0.0), theta=0.0) if nested else \
        SimpleNamespace(x=0.0, y=0.0, theta=0.0)
    det = SimpleNamespace(bbox=SimpleNamespace(center=centre, size_x=0.0, size_y=0.0), results=[])
    hyp = SimpleNamespace(hypothesis=SimpleNamespace(class_id="", score=0.0)) if nested else \
        SimpleNamespace(id="", score=0.0)
    return det, hyp


@pytest.mark.parametrize("nested", [True, False], ids=["vision_msgs-4", "vision_msgs-3"])
def test_ros2_detection_holds_centre_size_and_score(ros: ModuleType, nested: bool) -> None:
    det, hyp = _detection(nested)
    ros.fill_detection(det, hyp, (10.0, 20.0, 30.0, 40.0), 0.75)
    centre = det.bbox.center.position if nested else det.bbox.center
    assert (centre.x, centre.y, det.bbox.size_x, det.bbox.size_y) == (25.0, 40.0, 30.0, 40.0)
    assert det.results == [hyp]
    assert (hyp.hypothesis.score if nested else hyp.score) == 0.75
