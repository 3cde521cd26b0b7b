"""A ROS 2 node that tracks one object: sensor_msgs/Image in, vision_msgs/Detection2D out.

    python3 examples/ros2_node.py --ros-args -p init_box:="[120.0, 80.0, 40.0, 60.0]" \\
        -r image:=/camera/image_raw -r detection:=/tracker/detection
    python3 examples/ros2_node.py --ros-args -p model:=runs/quickstart/export   # box sent later on `init_box`

Parameters: `model` (folder or preset, default tiny), `backend` (auto), `device` (cpu), `init_box` (x,y,w,h in
pixels of the next frame, as a list or a "x,y,w,h" string). A sensor_msgs/RegionOfInterest on the `init_box`
topic (re)starts tracking on the next image. Images may be rgb8, bgr8, mono8, rgba8 or bgra8; no cv_bridge needed.
Needs a sourced ROS 2 (Humble or newer) with vision_msgs installed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from edgetrack import Tracker

try:
    import rclpy
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image, RegionOfInterest
    from vision_msgs.msg import Detection2D, ObjectHypothesisWithPose
except ImportError as _exc:  # the node class below still defines, so the pure functions import and test anywhere
    rclpy, Node, MISSING = None, object, _exc.name or "rclpy"
else:
    MISSING = None

Box = tuple[float, float, float, float]
#: encoding -> (channels, channel order to take for RGB)
ENCODINGS = {"rgb8": (3, (0, 1, 2)), "bgr8": (3, (2, 1, 0)), "rgba8": (4, (0, 1, 2)), "bgra8": (4, (2, 1, 0)),
             "mono8": (1, (0, 0, 0))}


def missing_message(module: str) -> str:
    """What to install when `module` cannot be imported."""
    if module.split(".")[0] == "vision_msgs":
        return "vision_msgs is missing: sudo apt install ros-$ROS_DISTRO-vision-msgs, then source ROS 2 again"
    return (f"this example needs ROS 2 ({module} is missing): install ROS 2 and run "
            "`source /opt/ros/$ROS_DISTRO/setup.bash` in this shell first")


def image_to_rgb(data: bytes | memoryview | np.ndarray, width: int, height: int, encoding: str,
                 step: int | None = None) -> np.ndarray:
    """A sensor_msgs/Image payload (rows `step` bytes apart) as an (H, W, 3) RGB uint8 array."""
    if encoding not in ENCODINGS:
        raise ValueError(f"image encoding '{encoding}' is not supported; publish one of {', '.join(ENCODINGS)}")
    channels, order = ENCODINGS[encoding]
    step = width * channels if step is None else step
    if step < width * channels:
        raise ValueError(f"step {step} is shorter than a row of {width} {encoding} pixels")
    buf = np.frombuffer(data, dtype=np.uint8)
    need = step * (height - 1) + width * channels if height > 0 else 0
    if buf.size < need:
        raise ValueError(f"image data holds {buf.size} bytes; {width}x{height} {encoding} with step {step} "
                         f"needs {need}")
    rows = np.lib.stride_tricks.as_strided(buf, (height, width, channels), (step, channels, 1))
    return np.ascontiguousarray(rows[:, :, list(order)])  # copies: the message buffer is not ours to keep


def parse_init_box(value: Any) -> Box | None:
    """The `init_box` parameter (list of 4 numbers or an "x,y,w,h" string) as a box; None when unset."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parts = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    if len(parts) == 0:
        return None
    try:
        x, y, w, h = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(f"init_box {value!r} is not x,y,w,h: give four numbers in pixels") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"init_box {value!r} needs a width and height > 0")
    return x, y, w, h


def fill_detection(det: Any, hypothesis: Any, box: Sequence[float], score: float) -> Any:
    """Write an (x, y, w, h) box and its score into a Detection2D; handles both vision_msgs layouts.

    vision_msgs 4 (Humble and newer) nests the centre as `center.position.x` and the score as
    `hypothesis.score`; older releases have `center.x` and a flat `score`.
    """
    x, y, w, h = (float(v) for v in box)
    centre = det.bbox.center
    point = centre.position if hasattr(centre, "position") else centre
    point.x, point.y = x + w / 2, y + h / 2
    det.bbox.size_x, det.bbox.size_y = w, h
    target = hypothesis.hypothesis if hasattr(hypothesis, "hypothesis") else hypothesis
    target.score = float(score)
    det.results = [hypothesis]
    return det


class TrackerNode(Node):  # type: ignore[misc, valid-type]
    """Subscribes to `image` and `init_box`, publishes one Detection2D per tracked image on `detection`."""

    def __init__(self) -> None:
        super().__init__("edgetrack_tracker")
        model = self._param("model", "tiny")
        self.tracker = Tracker.from_artifact(model, self._param("backend", "auto"), self._param("device", "cpu"))
        self.pending = parse_init_box(self._param("init_box", ""))
        self.started = False
        self.publisher = self.create_publisher(Detection2D, "detection", 10)
        self.create_subscription(Image, "image", self.on_image, qos_profile_sensor_data)
        self.create_subscription(RegionOfInterest, "init_box", self.on_init_box, 10)
        waiting = "" if self.pending else "; waiting for a box on the init_box topic"
        self.get_logger().info(f"tracking with {model}{waiting}")

    def _param(self, name: str, default: Any) -> Any:
        """Declare a parameter that accepts any type (init_box may be a list or a string)."""
        from rcl_interfaces.msg import ParameterDescriptor

        self.declare_parameter(name, default, ParameterDescriptor(dynamic_typing=True))
        return self.get_parameter(name).value

    def on_init_box(self, msg: Any) -> None:
        """Start again on the next image with this box."""
        self.pending = (float(msg.x_offset), float(msg.y_offset), float(msg.width), float(msg.height))

    def on_image(self, msg: Any) -> None:
        from edgetrack.errors import TrackingError

        try:
            rgb = image_to_rgb(msg.data, msg.width, msg.height, msg.encoding, msg.step)
            box, score = self._step(rgb)
        except (ValueError, TrackingError) as exc:
            self.get_logger().error(str(exc), throttle_duration_sec=5.0)
            self.pending = None  # a refused init box must not be retried on every frame
            return
        if box is not None:
            det = fill_detection(Detection2D(), ObjectHypothesisWithPose(), box, score)
            det.header = msg.header
            self.publisher.publish(det)

    def _step(self, rgb: np.ndarray) -> tuple[Box | None, float]:
        """Initialise on a pending box (score 1: the given box is the target) or track; (None, 0) before any box."""
        if self.pending is not None:
            box, self.pending = self.pending, None
            self.started = False
            self.tracker.initialize(rgb, box)
            self.started = True
            return box, 1.0
        if not self.started:
            return None, 0.0
        result = self.tracker.track(rgb)
        return result.box, result.score


def build_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        description="ROS 2 node: track one object in sensor_msgs/Image (topic `image`) and publish "
                    "vision_msgs/Detection2D (topic `detection`). Parameters via --ros-args -p NAME:=VALUE: "
                    "model (default tiny), backend (auto), device (cpu), init_box (x,y,w,h). A "
                    "sensor_msgs/RegionOfInterest on topic `init_box` (re)starts tracking.",
        epilog="example: python3 examples/ros2_node.py --ros-args -p init_box:=\"[120.0, 80.0, 40.0, 60.0]\" "
               "-r image:=/camera/image_raw")


def main(argv: Sequence[str] | None = None) -> int:
    """Spin the node until Ctrl-C; a missing ROS 2 or a bad parameter is one line on stderr and exit code 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    build_parser().parse_known_args(args)  # only --help is ours; everything else goes to ROS
    if MISSING is not None:
        print(f"error: {missing_message(MISSING)}", file=sys.stderr)
        return 2
    from edgetrack.errors import EdgetrackError

    rclpy.init(args=["ros2_node", *args])
    node = None
    try:
        node = TrackerNode()
        rclpy.spin(node)
    except (ValueError, EdgetrackError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
