"""The one tracker contract: `initialize(frame, box)`, `track(frame) -> TrackResult`, `close()`, `with`.

Every tracker edgetrack gives out keeps it: OSTrack-style `Tracker`, MixFormerV2's `OnlineTemplateTracker`, the
OpenCV baselines, and (copied by source, standard library only) the JetPack 5 bundle's runtime. `close()` releases
what the tracker holds (ONNX Runtime sessions, TensorRT contexts, CUDA graphs and device buffers) at once instead
of at process exit; it is safe to call twice, and a closed tracker refuses to track.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import NamedTuple

import numpy as np

from edgetrack.errors import TrackingError


class TrackResult(NamedTuple):
    """One frame's result: (x, y, w, h) in frame pixels, raw peak score, and per-stage times in ms."""

    box: tuple[float, float, float, float]
    score: float
    timings: dict[str, float]


class BaseTracker(ABC):
    """Single-object tracking: one `initialize` per video, then one `track` per frame."""

    _closed: bool = False

    @abstractmethod
    def initialize(self, frame: np.ndarray, box: Sequence[float] | np.ndarray) -> None:
        """Start tracking the target at `box` (x, y, w, h in pixels) of `frame` (RGB)."""

    @abstractmethod
    def track(self, frame: np.ndarray) -> TrackResult:
        """Locate the target in the next `frame` of the same video."""

    @property
    @abstractmethod
    def box(self) -> tuple[float, float, float, float] | None:
        """The current target box (x, y, w, h), or None before `initialize`."""

    def close(self) -> None:
        """Release what the tracker holds; later calls do nothing."""
        if not self._closed:
            self._closed = True
            self._release()

    def _release(self) -> None:  # noqa: B027 - a hook with a default, not an abstract method
        """What `close` frees; trackers that hold nothing beyond Python objects keep this default."""

    def _require_open(self) -> None:
        if self._closed:
            raise TrackingError("this tracker was closed; open a new one (Tracker.from_artifact) to track again")

    def __enter__(self) -> BaseTracker:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
