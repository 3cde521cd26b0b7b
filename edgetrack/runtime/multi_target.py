"""Several targets in one video, one batched network call per frame: `Tracker.initialize_many` / `track_many`.

Each target keeps its own template and box; per frame every target's search crop is cut around its own box, the
crops (and the templates) are stacked, and the backend runs them in one call when it takes a batch
(`Backend.max_batch`: the torch backend takes any number, ONNX Runtime any number for an export made with
`--dynamic-batch`, a TensorRT engine of such an export up to its profile's largest batch, else one). Otherwise the
targets run in as many calls as the backend needs, with the same result. Each target's box follows the single-target
loop exactly: the same crop, decode, `min_score` rule and map-back as `Tracker.track`.

Targets are numbered in the order they are added; `add_target`, `reset_target` (a new template and box for a target,
e.g. after a detector re-finds it) and `remove_target` work between any two frames. A result's "infer" timing is the
time of the call its target ran in (shared by the targets of that call); "batch" is that call's number of targets."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgetrack.data.crops import crop_and_resize, crop_geometry, normalize
from edgetrack.errors import TrackingError
from edgetrack.runtime.contract import TrackResult
from edgetrack.runtime.frames import next_frame, to_rgb


@dataclass
class Target:
    """One tracked target: its template input, box state and whether the last frame held the box."""

    template: np.ndarray
    box: np.ndarray
    held: bool = False


class MultiTarget:
    """The multi-target half of `Tracker` (it provides `spec`, `backend`, `_start`, `_next_box`, `_decode`)."""

    spec: Any
    backend: Any

    def _init_targets(self) -> None:
        self._targets: dict[int, Target] = {}
        self._next_target = 0
        self._targets_shape: tuple[int, int] | None = None

    @property
    def targets(self) -> list[int]:
        """The ids of the targets `track_many` follows, in the order of its results."""
        return list(self._targets)

    def target_box(self, target: int) -> tuple[float, float, float, float]:
        """The current box (x, y, w, h) of target `target`."""
        return tuple(float(v) for v in self._target(target).box)  # type: ignore[return-value]

    def initialize_many(self, frame: np.ndarray, boxes: Sequence[Sequence[float]] | np.ndarray) -> list[int]:
        """Start tracking every box of `boxes` (x, y, w, h each) in `frame`, forgetting earlier targets; their ids."""
        self._require_open()  # type: ignore[attr-defined]
        boxes = list(boxes)
        if not boxes:
            raise TrackingError("initialize_many() needs at least one box (x, y, w, h)")
        image = to_rgb(frame)
        self._init_targets()
        self._targets_shape = image.shape[:2]
        return [self._add(image, box) for box in boxes]

    def add_target(self, frame: np.ndarray, box: Sequence[float] | np.ndarray) -> int:
        """Follow one more target, at `box` in `frame` (a frame of the same video); its id."""
        self._require_open()  # type: ignore[attr-defined]
        if self._targets_shape is None:
            return self.initialize_many(frame, [box])[0]
        return self._add(next_frame(frame, self._targets_shape), box)

    def reset_target(self, target: int, frame: np.ndarray, box: Sequence[float] | np.ndarray) -> None:
        """Give target `target` a new template and box, taken from `frame` at `box`."""
        self._target(target)
        image = next_frame(frame, self._targets_shape)
        template, state = self._start(image, box)  # type: ignore[attr-defined]
        self._targets[target] = Target(template, state)

    def remove_target(self, target: int) -> None:
        """Stop following target `target`."""
        self._target(target)
        del self._targets[target]

    def track_many(self, frame: np.ndarray) -> list[TrackResult]:
        """Locate every target in the next `frame`: one result per target, in the order of `targets`."""
        self._require_open()  # type: ignore[attr-defined]
        if not self._targets:
            raise TrackingError("track_many() called with no targets: initialize_many(frame, boxes) first")
        image = next_frame(frame, self._targets_shape)
        ids = list(self._targets)
        size = self.backend.max_batch or len(ids)
        results: list[TrackResult] = []
        for start in range(0, len(ids), size):
            results += self._track_call(image, ids[start:start + size])
        return results

    def _add(self, image: np.ndarray, box: Sequence[float] | np.ndarray) -> int:
        template, state = self._start(image, box)  # type: ignore[attr-defined]
        target, self._next_target = self._next_target, self._next_target + 1
        self._targets[target] = Target(template, state)
        return target

    def _target(self, target: int) -> Target:
        if target not in self._targets:
            known = ", ".join(map(str, self._targets)) or "none"
            raise TrackingError(f"no target {target} (targets: {known})")
        return self._targets[target]

    def _track_call(self, image: np.ndarray, ids: list[int]) -> list[TrackResult]:
        """The targets `ids` through one backend call."""
        s = self.spec
        crops, searches, stages = [], [], []
        for target in ids:
            t0 = time.perf_counter()
            crop = crop_geometry(self._targets[target].box, s.search_factor, s.search_size, s.integer_boxes)
            pixels = crop_and_resize(image, crop)
            t1 = time.perf_counter()
            searches.append(normalize(pixels, s.mean, s.std)[None])
            crops.append(crop)
            stages.append({"crop": (t1 - t0) * 1e3, "normalise": (time.perf_counter() - t1) * 1e3})
        t2 = time.perf_counter()
        out = self._infer_stacked([self._targets[t].template for t in ids], searches)
        infer = (time.perf_counter() - t2) * 1e3
        results = []
        for row, (target, crop, timing) in enumerate(zip(ids, crops, stages, strict=True)):
            t3 = time.perf_counter()
            box_norm, score, peak = self._decode({k: v[row:row + 1] for k, v in out.items()})  # type: ignore[attr-defined]
            t4 = time.perf_counter()
            state = self._targets[target]
            state.held = bool(peak < s.min_score)
            state.box = self._next_box(state.box, box_norm, peak, crop, self._targets_shape)  # type: ignore[attr-defined]
            t5 = time.perf_counter()
            timings = {"pre": timing["crop"] + timing["normalise"], "infer": infer, "post": (t5 - t3) * 1e3,
                       **timing, "decode": (t4 - t3) * 1e3, "map": (t5 - t4) * 1e3, "batch": float(len(ids))}
            results.append(TrackResult(tuple(float(v) for v in state.box), score, timings))  # type: ignore[arg-type]
        return results

    def _infer_stacked(self, templates: list[np.ndarray], searches: list[np.ndarray]) -> dict[str, np.ndarray]:
        """One backend call on the stacked inputs; a backend holding its template gets it set for a single target."""
        set_template = getattr(self.backend, "set_template", None)
        if callable(set_template):  # the call overwrites the template the backend holds for `track`
            self._template_taken = True  # so `track` gives it back before its next frame
            if len(templates) == 1:
                set_template(templates[0])
                return self.backend.infer({"search": searches[0]})
        return self.backend.infer({"template": np.concatenate(templates), "search": np.concatenate(searches)})
