"""OpenCV's trackers as baselines: `opencv:csrt`, `opencv:kcf`, ..., run through the same evaluation as ours.

A spec is `opencv:NAME` for the classical trackers, `opencv:vittrack=MODEL.onnx` and
`opencv:nanotrack=BACKBONE.onnx,HEAD.onnx` for the two learned ones, whose model files the user passes (none is
shipped or downloaded). The trackers come from OpenCV's contrib build (`opencv-contrib-python-headless`, the
one OpenCV package edgetrack depends on). They get BGR frames, as OpenCV expects, and integer boxes.

When a tracker reports failure for a frame, the previous box is kept: one-pass evaluation scores every frame,
and "still there" is the honest answer of a tracker that lost the target.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edgetrack.errors import ArtifactError, TrackingError
from edgetrack.registry import suggest
from edgetrack.runtime.contract import BaseTracker, TrackResult
from edgetrack.runtime.frames import check_box, next_frame, to_rgb

PREFIX = "opencv:"
CLASSICAL = ("csrt", "kcf", "mil", "mosse", "medianflow")
LEARNED = {"vittrack": 1, "nanotrack": 2}  # name -> model files it takes
NAMES = (*CLASSICAL, *LEARNED)


@dataclass(frozen=True)
class OpenCVSpec:
    """A parsed `opencv:NAME[=FILE[,FILE]]`."""

    name: str
    files: tuple[Path, ...] = ()

    @property
    def label(self) -> str:
        return f"opencv-{self.name}"


def is_opencv_spec(model: str) -> bool:
    return str(model).startswith(PREFIX)


def parse_spec(model: str) -> OpenCVSpec:
    """`opencv:csrt` or `opencv:vittrack=PATH.onnx` -> OpenCVSpec; unknown names and missing files are refused."""
    body = str(model)[len(PREFIX):]
    name, _, files = body.partition("=")
    name = name.strip().lower()
    if name not in NAMES:
        raise ArtifactError(f"unknown OpenCV tracker '{name}'.{suggest(name, list(NAMES))} "
                            f"Known: {', '.join(PREFIX + n for n in NAMES)}")
    paths = tuple(Path(f.strip()) for f in files.split(",") if f.strip())
    want = LEARNED.get(name, 0)
    if len(paths) != want:
        usage = {"vittrack": "opencv:vittrack=object_tracking_vittrack_2023sep.onnx",
                 "nanotrack": "opencv:nanotrack=nanotrack_backbone.onnx,nanotrack_head.onnx"}
        raise ArtifactError(f"opencv:{name} takes no model file" if want == 0 else
                            f"opencv:{name} needs {want} model file(s), got {len(paths)}; e.g. {usage[name]}")
    for p in paths:
        if not p.is_file():
            raise ArtifactError(f"model file for opencv:{name} not found: {p}")
    return OpenCVSpec(name, paths)


def _cv2() -> Any:
    import cv2

    # the DNN trackers warn once per tracker that the new graph engine ignores targets; that is not news to users
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is not None:
        logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    return cv2


def _missing(what: str) -> ArtifactError:
    import cv2

    return ArtifactError(f"this OpenCV ({cv2.__version__}) has no {what}: the trackers come with the contrib build. "
                         "pip uninstall opencv-python opencv-python-headless, then "
                         "pip install opencv-contrib-python-headless (only one OpenCV package may be installed)")


def _factory(spec: OpenCVSpec) -> Callable[[], Any]:
    """A function that makes a fresh OpenCV tracker object for `spec`."""
    cv2 = _cv2()
    if spec.name in ("mosse", "medianflow"):  # these two live only in the legacy namespace
        attr = {"mosse": "TrackerMOSSE_create", "medianflow": "TrackerMedianFlow_create"}[spec.name]
        make = getattr(getattr(cv2, "legacy", None), attr, None)
        if make is None:
            raise _missing(f"cv2.legacy.{attr}")
        return make
    if spec.name in CLASSICAL:
        cls = getattr(cv2, f"Tracker{spec.name.upper()}", None)
        if cls is None:
            raise _missing(f"cv2.Tracker{spec.name.upper()}")
        return cls.create
    if spec.name == "vittrack":
        if not hasattr(cv2, "TrackerVit"):
            raise _missing("cv2.TrackerVit")
        params = cv2.TrackerVit_Params()
        params.net = str(spec.files[0])
        return lambda: cv2.TrackerVit.create(params)
    if not hasattr(cv2, "TrackerNano"):
        raise _missing("cv2.TrackerNano")
    params = cv2.TrackerNano_Params()
    params.backbone, params.neckhead = str(spec.files[0]), str(spec.files[1])
    return lambda: cv2.TrackerNano.create(params)


class OpenCVTracker(BaseTracker):
    """`initialize(frame, box)` / `track(frame) -> TrackResult`, as `edgetrack.Tracker`, around an OpenCV tracker."""

    def __init__(self, spec: OpenCVSpec) -> None:
        self.spec = spec
        self._make = _factory(spec)
        try:
            self._make()  # fail at open, not at the first frame, when a model file is unusable
        except Exception as err:  # cv2.error carries OpenCV's own reason
            raise ArtifactError(f"OpenCV could not create {PREFIX}{spec.name}: {str(err).strip()}") from None
        self._tracker: Any = None
        self._box: np.ndarray | None = None
        self._frame_shape: tuple[int, int] | None = None

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        return None if self._box is None else tuple(float(v) for v in self._box)  # type: ignore[return-value]

    def _release(self) -> None:
        self._tracker = None  # OpenCV frees its network with the tracker object

    @contextlib.contextmanager
    def _model_errors(self) -> Iterator[None]:
        """OpenCV loads any ONNX file; one that is not this tracker's network fails only when run: say which."""
        try:
            yield
        except cv2.error as err:
            files = ", ".join(str(f) for f in self.spec.files) or "its built-in model"
            reason = str(err).strip().splitlines()[-1][:200]
            raise ArtifactError(f"OpenCV's {self.spec.name} tracker cannot run {files} ({reason}); pass the model "
                                "file(s) OpenCV publishes for this tracker") from None

    def initialize(self, frame: np.ndarray, box: Sequence[float] | np.ndarray) -> None:
        self._require_open()
        image = to_rgb(frame)
        h, w = image.shape[:2]
        b = check_box(box, w, h)
        self._tracker = self._make()
        with self._model_errors():
            self._tracker.init(_bgr(image), _int_rect(b))
        self._box, self._frame_shape = b, (h, w)

    def track(self, frame: np.ndarray) -> TrackResult:
        self._require_open()
        if self._tracker is None or self._box is None:
            raise TrackingError("track() called before initialize(frame, box)")
        t0 = time.perf_counter()
        image = next_frame(frame, self._frame_shape)
        bgr = _bgr(image)
        t1 = time.perf_counter()
        with self._model_errors():
            ok, rect = self._tracker.update(bgr)
        t2 = time.perf_counter()
        rect = np.asarray(rect, dtype=np.float64).reshape(-1)
        if ok and rect.shape == (4,) and np.all(np.isfinite(rect)) and rect[2] > 0 and rect[3] > 0:
            self._box = rect
        score = float(self._tracker.getTrackingScore()) if hasattr(self._tracker, "getTrackingScore") else -1.0
        if score < 0:  # trackers without a confidence (CSRT, KCF) report -1 there: their success flag instead
            score = float(ok)
        timings = {"pre": (t1 - t0) * 1e3, "infer": (t2 - t1) * 1e3, "post": 0.0}
        return TrackResult(self.box, score, timings)  # type: ignore[arg-type]


def _bgr(image: np.ndarray) -> np.ndarray:
    rgb = image if image.dtype == np.uint8 else np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _int_rect(box: np.ndarray) -> tuple[int, int, int, int]:
    x, y, w, h = (int(round(float(v))) for v in box)
    return x, y, max(w, 1), max(h, 1)


def open_opencv_tracker(model: str) -> OpenCVTracker:
    """The tracker for an `opencv:` spec."""
    return OpenCVTracker(parse_spec(model))
