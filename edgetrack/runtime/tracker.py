"""OSTrack's tracking loop: fixed template, search crop around the previous box, decode, map back, clip.

Frames and boxes are checked as `runtime.frames` describes; the contract every tracker keeps is
`runtime.contract.BaseTracker`.

Backend hooks (optional; any `Backend` works without them, and then the loop is the plain host one):

- `set_template(array)`: called once at `initialize` with the template input; per frame the tracker then
  passes only `{"search": ...}` to `infer`, so a device backend keeps the template in its input buffer.
- `track_device(frame, crop) -> (normalised (cx, cy, w, h), raw score, windowed peak)`: used for uint8 frames instead of
  host preprocess + `infer` + decode. The tracker still computes the crop with `crop_geometry` (the one crop
  geometry) and does the map-back and clipping on the host. Timings: "pre" is frame checks and the crop
  geometry, "infer" the whole device step (upload, crop kernel, engine, decode), "post" map-back and clipping.

Timings (ms) per frame: "pre" (frame checks, crop, normalise), "infer", "post" (decode, map-back), and the finer
"crop", "normalise", "decode" and "map" inside them.

With `spec.min_score > 0` (VitTrack: 0.2, as `cv2.TrackerVit`) a frame whose windowed peak score falls below it
keeps the previous box, on every path: `track_device` backends report the windowed peak too (`decode_frame`).
With `spec.integer_boxes` (VitTrack) the box state is whole pixels and crops use `cv2.TrackerVit`'s origin.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.data.crops import (
    CLIP_MARGIN,
    Crop,
    clip_box,
    crop_and_resize,
    crop_geometry,
    map_box_back,
    normalize,
    preprocess,
)
from edgetrack.errors import ArtifactError, TrackingError
from edgetrack.runtime.backends.base import Backend
from edgetrack.runtime.contract import BaseTracker, TrackResult
from edgetrack.runtime.decode import decode_frame, hann2d
from edgetrack.runtime.frames import check_box, next_frame, to_rgb
from edgetrack.runtime.multi_target import MultiTarget
from edgetrack.runtime.spec import ProcessingSpec


def _looks_like_preset(text: str) -> bool:
    """A bare name like `tiny` (no folder separator, no file suffix) rather than a path."""
    return "/" not in text and "\\" not in text and not Path(text).suffix


def _is_preset_name(text: str) -> bool:
    """Whether `text` names a preset: a preset-like name that is no file or folder here, or a registered one."""
    from edgetrack.models.presets import list_models

    path = Path(text)
    if path.is_dir() or not _looks_like_preset(text):
        return False
    return not path.exists() or text in list_models()  # any other existing file gets open_backend's message


class Tracker(MultiTarget, BaseTracker):
    """`initialize(frame, box)` once, then `track(frame) -> TrackResult` per frame; any `Backend`. Several targets:
    `initialize_many(frame, boxes)`, then `track_many(frame)` (`runtime.multi_target`)."""

    def __init__(self, backend: Backend, spec: ProcessingSpec) -> None:
        self.backend = backend
        self.spec = spec
        self.window = hann2d(spec.feat_size)
        self._template: np.ndarray | None = None
        self._box: np.ndarray | None = None
        self._frame_shape: tuple[int, int] | None = None
        self.held = False  # whether the last frame kept the previous box (its peak fell below min_score)
        self._template_taken = False  # track_many set a target's template into a backend that holds one
        self._init_targets()

    @classmethod
    def from_model(cls, model: Any, device: str = "cpu") -> Tracker:
        """A tracker running a torch `TrackerModel` (its `cfg` gives the processing constants)."""
        from edgetrack.runtime.backends.torch_backend import make_torch_backend

        return cls(make_torch_backend(model, device=device), ProcessingSpec.from_model_config(model.cfg))

    @classmethod
    def from_artifact(cls, artifact: str | Path, backend: str = "auto", device: str = "cpu") -> BaseTracker:
        """A tracker for an artifact: a TensorRT engine, exported ONNX or torch model folder, or the name of a
        preset with bundled weights (`tiny`, torch backend).

        `backend="auto"` picks TensorRT for an engine folder where it can run, ONNX Runtime for an exported
        model, else torch for a model folder. A MixFormerV2 model or split export gives its
        `OnlineTemplateTracker`. Every one keeps the `BaseTracker` contract: `close()` it, or use `with`.
        """
        from edgetrack.runtime.artifact import open_backend
        from edgetrack.runtime.online_tracker import open_online_tracker

        path = Path(artifact)
        online = open_online_tracker(path, backend, device)
        if online is not None:
            return online
        if _is_preset_name(str(artifact)):
            if backend not in ("auto", "torch"):
                raise ArtifactError(f"preset '{artifact}' runs on the torch backend; for {backend}, export it first "
                                    f"(edgetrack export {artifact} --out DIR) and pass DIR")
            from edgetrack.models.factory import create_model

            return cls.from_model(create_model(str(artifact), pretrained=True), device=device)
        runner, spec = open_backend(path, backend, device)
        return cls(runner, spec)

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        """The current target box (x, y, w, h), or None before `initialize`."""
        return None if self._box is None else tuple(float(v) for v in self._box)  # type: ignore[return-value]

    def initialize(self, frame: np.ndarray, box: Sequence[float] | np.ndarray) -> None:
        """Crop and cache the template around `box` (x, y, w, h); it is never updated."""
        self._require_open()
        image = to_rgb(frame)
        height, width = image.shape[:2]
        self._template, b = self._start(image, box)
        set_template = getattr(self.backend, "set_template", None)
        if callable(set_template):
            set_template(self._template)
        self._box, self._frame_shape, self.held = b, (height, width), False

    def track(self, frame: np.ndarray) -> TrackResult:
        """Locate the target in `frame`, update the state, and return the box with per-stage timings."""
        self._require_open()
        if self._template is None or self._box is None:
            raise TrackingError("track() called before initialize(frame, box)")
        t0 = time.perf_counter()
        image = next_frame(frame, self._frame_shape)
        s = self.spec
        if self._template_taken:  # track_many gave a backend-held template to one of its targets
            self.backend.set_template(self._template)
            self._template_taken = False
        track_device = getattr(self.backend, "track_device", None)
        if callable(track_device) and image.dtype == np.uint8:
            crop = crop_geometry(self._box, s.search_factor, s.search_size, s.integer_boxes)
            t1 = time.perf_counter()
            box_norm, score, peak = track_device(image, crop)
            t2 = time.perf_counter()
            stages = {"crop": (t1 - t0) * 1e3, "normalise": 0.0}
        else:
            crop = crop_geometry(self._box, s.search_factor, s.search_size, s.integer_boxes)
            pixels = crop_and_resize(image, crop)
            tc = time.perf_counter()
            search = normalize(pixels, s.mean, s.std)[None]
            t1 = time.perf_counter()
            out = self.backend.infer(self._inputs(search))
            t2 = time.perf_counter()
            box_norm, score, peak = self._decode(out)
            stages = {"crop": (tc - t0) * 1e3, "normalise": (t1 - tc) * 1e3}
        td = time.perf_counter()
        self.held = bool(peak < s.min_score)
        self._box = self._next_box(self._box, box_norm, peak, crop, self._frame_shape)  # type: ignore[arg-type]
        t3 = time.perf_counter()
        timings = {"pre": (t1 - t0) * 1e3, "infer": (t2 - t1) * 1e3, "post": (t3 - t2) * 1e3, **stages,
                   "decode": (td - t2) * 1e3, "map": (t3 - td) * 1e3}
        return TrackResult(tuple(float(v) for v in self._box), score, timings)  # type: ignore[arg-type]

    def _start(self, image: np.ndarray, box: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(template input, first box state) of a target at `box` in the RGB `image`."""
        height, width = image.shape[:2]
        b = check_box(box, width, height)
        s = self.spec
        template, _ = preprocess(image, b, s.template_factor, s.template_size, s.mean, s.std, s.integer_boxes)
        return template, (np.floor(b) if s.integer_boxes else b)

    def _next_box(self, box: np.ndarray, box_norm: np.ndarray, peak: float, crop: Crop,
                  frame_shape: tuple[int, int]) -> np.ndarray:
        """The new box state: the decoded box mapped back and clipped, or the old `box` where the peak is too low."""
        s = self.spec
        if peak < s.min_score:  # no target in the response (cv2.TrackerVit: black frames): hold the box
            return box
        height, width = frame_shape
        mapped = map_box_back(box_norm, crop)
        return clip_box(np.floor(mapped) if s.integer_boxes else mapped, width, height, CLIP_MARGIN)

    def _release(self) -> None:
        self.backend.close()

    def _inputs(self, search: np.ndarray) -> dict[str, np.ndarray]:
        """Backend inputs for one frame; the template only when the backend does not hold it already."""
        if callable(getattr(self.backend, "set_template", None)):
            return {"search": search}
        return {"template": self._template, "search": search}  # type: ignore[dict-item]

    def _decode(self, out: dict[str, np.ndarray]) -> tuple[np.ndarray, float, float]:
        """(normalised box, raw peak score, windowed peak score) of one frame's outputs."""
        return decode_frame(out, self.window, f"backend '{self.backend.name}'")
