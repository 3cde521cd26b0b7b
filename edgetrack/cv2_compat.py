"""OpenCV's tracker contract over any edgetrack artifact, so code written for `cv2.TrackerVit` switches in one line.

    tracker = cv2.TrackerVit.create(params)                   # before
    tracker = edgetrack.cv2_compat.create("runs/quickstart/build")  # after: any artifact Tracker.from_artifact opens

    tracker.init(frame_bgr, (x, y, w, h))
    ok, (x, y, w, h) = tracker.update(frame_bgr)

As OpenCV's trackers: frames are BGR (grayscale and BGRA too), rects are integer (x, y, w, h), `init` returns None,
`update` returns `(ok, rect)` and `getTrackingScore()` the last score. `ok` is False on a frame whose response fell
below the model's `min_score` (VitTrack: 0.2, as `cv2.TrackerVit`), where the box is held, or whose score is below
`score_threshold`. Unlike OpenCV 5, which returns a zero rect there, the rect is then the held box. Boxes are
`Tracker`'s own, rounded to whole pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import numpy as np

from edgetrack.errors import ConfigError, TrackingError
from edgetrack.runtime.contract import BaseTracker


def bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    """An OpenCV frame (BGR, BGRA or grayscale) as the RGB frame edgetrack's trackers take."""
    frame = np.asarray(image)
    if frame.ndim == 3 and frame.shape[2] in (3, 4):
        return np.ascontiguousarray(frame[:, :, 2::-1])  # B, G, R -> R, G, B; a BGRA frame's alpha is dropped
    return frame  # grayscale: the tracker repeats it to three channels


def whole_rect(box: Sequence[float]) -> tuple[int, int, int, int]:
    """(x, y, w, h) rounded to whole pixels, at least 1 x 1, as OpenCV's `Rect`."""
    x, y, w, h = (int(round(float(v))) for v in box)
    return x, y, max(w, 1), max(h, 1)


class CompatTracker:
    """An edgetrack tracker behind OpenCV's `init(image, rect)` / `update(image) -> (ok, rect)`."""

    def __init__(self, tracker: BaseTracker, score_threshold: float = 0.0) -> None:
        if not 0.0 <= score_threshold < 1.0:
            raise ConfigError(f"score_threshold must be in [0, 1); got {score_threshold}")
        self.tracker = tracker
        self.score_threshold = score_threshold
        self._score = -1.0
        self._started = False

    def init(self, image: np.ndarray, boundingBox: Sequence[float]) -> None:  # noqa: N803 - OpenCV's name
        """Start tracking the target at `boundingBox` (x, y, w, h) in the BGR `image`."""
        self.tracker.initialize(bgr_to_rgb(image), boundingBox)
        self._score, self._started = 1.0, True

    def update(self, image: np.ndarray) -> tuple[bool, tuple[int, int, int, int]]:
        """Track into the next BGR frame: (ok, integer rect)."""
        if not self._started:
            raise TrackingError("update() called before init(image, boundingBox)")
        result = self.tracker.track(bgr_to_rgb(image))
        self._score = float(result.score)
        held = bool(getattr(self.tracker, "held", False))
        return (not held and self._score >= self.score_threshold), whole_rect(result.box)

    def getTrackingScore(self) -> float:  # noqa: N802 - OpenCV's name
        """The last frame's score (the raw peak of the score map); 1.0 right after `init`, -1 before."""
        return self._score

    def close(self) -> None:
        """Release the tracker's sessions and buffers now rather than at exit."""
        self.tracker.close()

    def __enter__(self) -> CompatTracker:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def create(artifact: str | Path = "tiny", weights: str | Path | None = None, backend: str = "auto",
           device: str = "cpu", score_threshold: float = 0.0) -> CompatTracker:
    """An OpenCV-style tracker for `artifact`: a build, export or model folder, or a preset name.

    With `weights`, `artifact` is a preset and `weights` a checkpoint it can load, such as OpenCV's own file:
    `create("vittrack", weights="object_tracking_vittrack_2023sep.onnx")` runs that network in edgetrack's loop
    (torch backend). For the fastest runtime, import and export it once (`edgetrack models import`, `export`,
    `build --target cpu`) and pass the build folder.
    """
    from edgetrack.runtime.tracker import Tracker

    if weights is None:
        return CompatTracker(Tracker.from_artifact(artifact, backend=backend, device=device), score_threshold)
    if backend not in ("auto", "torch"):
        raise ConfigError(f"a preset with weights runs on the torch backend; for {backend}, import and export it "
                          f"first (edgetrack models import {artifact} --checkpoint {weights} --out DIR)")
    from edgetrack.families import family_of
    from edgetrack.models.factory import create_model

    model = create_model(str(artifact), checkpoint=weights)
    tracker = family_of(model).hook("tracker")(model, device)
    return CompatTracker(tracker, score_threshold)
