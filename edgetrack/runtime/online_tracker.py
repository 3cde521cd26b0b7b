"""MixFormerV2's tracking loop: a fixed template plus an online template replaced when the score head is confident.

Per frame: crop the search region around the previous box (the shared crop), run the search step on it with the
cached template memory, decode the distribution head (no window), map back and clip as OSTrack does. The score
gates the online template: a frame whose score exceeds `score_threshold` and the best score since the last update
makes its crop around the new box the candidate; every `update_interval` frames the candidate becomes the online
template, the template memory is recomputed once (the encoder graph), and the candidate resets to the template.
This is the original's one-online-template setting (its test settings for every benchmark it reports).

Two backends: `encoder` ({template, online_template} -> {memory}) and `step` ({search, memory} ->
{side_logits, score_logit}); any `Backend` runs either.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.data.crops import CLIP_MARGIN, clip_box, map_box_back, preprocess
from edgetrack.errors import ArtifactError, ConfigError, TrackingError
from edgetrack.runtime.backends.base import Backend
from edgetrack.runtime.contract import BaseTracker, TrackResult
from edgetrack.runtime.decode_distribution import decode_distribution
from edgetrack.runtime.frames import check_box, next_frame, to_rgb
from edgetrack.runtime.spec import ProcessingSpec

#: the original's test settings (experiments/mixformer2_vit_online/*.yaml, TEST.UPDATE_INTERVALS); other
#: datasets use 200, its sampling interval
UPDATE_INTERVALS = {
    "mixformerv2_b": {"lasot": 200, "got10k": 10, "trackingnet": 25, "vot20": 10, "vot20lt": 200},
    "mixformerv2_s": {"lasot": 200, "got10k": 15, "trackingnet": 25, "vot20": 10, "vot20lt": 200},
}
DEFAULT_UPDATE_INTERVAL = 200


@dataclass(frozen=True)
class OnlineSettings:
    """When the online template changes: at most every `update_interval` frames, from a frame scoring above
    `score_threshold` (0.5 in the original)."""

    update_interval: int = DEFAULT_UPDATE_INTERVAL
    score_threshold: float = 0.5

    def __post_init__(self) -> None:
        if self.update_interval < 1 or not 0.0 <= self.score_threshold < 1.0:
            raise ConfigError(f"online settings need update_interval >= 1 and 0 <= score_threshold < 1; got {self}")

    @classmethod
    def for_benchmark(cls, model_name: str, benchmark: str) -> OnlineSettings:
        """The original's interval for `benchmark` (lasot, got10k, trackingnet, vot20, vot20lt)."""
        table = UPDATE_INTERVALS.get(model_name, UPDATE_INTERVALS["mixformerv2_b"])
        return cls(update_interval=table.get(benchmark.lower(), DEFAULT_UPDATE_INTERVAL))


class OnlineTemplateTracker(BaseTracker):
    """`initialize(frame, box)` once, then `track(frame) -> TrackResult`; score is the sigmoid of the score head."""

    def __init__(self, encoder: Backend, step: Backend, spec: ProcessingSpec,
                 settings: OnlineSettings | None = None) -> None:
        self.encoder, self.step, self.spec = encoder, step, spec
        self.settings = settings or OnlineSettings()
        self._template: np.ndarray | None = None
        self._online: np.ndarray | None = None
        self._box: np.ndarray | None = None
        self.updates = 0  # template memory computations, the first included

    @classmethod
    def from_model(cls, model: Any, settings: OnlineSettings | None = None, device: str = "cpu"
                   ) -> OnlineTemplateTracker:
        """A tracker running a torch `MixFormerV2Model`, split into its two parts."""
        from edgetrack.export.mixformerv2 import (
            ENCODER_INPUTS,
            ENCODER_OUTPUTS,
            STEP_INPUTS,
            STEP_OUTPUTS,
            SearchStep,
            TemplateEncoder,
        )
        from edgetrack.runtime.backends.torch_module_backend import TorchModuleBackend

        encoder = TorchModuleBackend(TemplateEncoder(model), ENCODER_INPUTS, ENCODER_OUTPUTS, device)
        step = TorchModuleBackend(SearchStep(model), STEP_INPUTS, STEP_OUTPUTS, device)
        return cls(encoder, step, ProcessingSpec.from_model_config(model.cfg), settings)

    @classmethod
    def from_onnx(cls, folder: str | Path, settings: OnlineSettings | None = None, threads: int = 0,
                  precision: str = "fp32") -> OnlineTemplateTracker:
        """A tracker on ONNX Runtime for a MixFormerV2 split export (`precision`'s two graphs) or cpu build."""
        from edgetrack.export.mixformerv2 import ENCODER, STEP, load_spec
        from edgetrack.export.split_variants import graph_file
        from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

        folder = Path(folder)
        spec = ProcessingSpec.from_model_config(load_spec(folder))
        files = [graph_file(folder, g, precision) for g in (ENCODER, STEP)]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise ArtifactError(f"{folder} has no {precision} graphs ({', '.join(missing)}); export with "
                                f"--precision fp32,{precision}")
        return cls(*(OnnxRuntimeBackend(f, threads=threads) for f in files), spec, settings)

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        return None if self._box is None else tuple(float(v) for v in self._box)  # type: ignore[return-value]

    @property
    def online_template(self) -> np.ndarray | None:
        """The online template input now in use (None before `initialize`)."""
        return self._online

    def initialize(self, frame: np.ndarray, box: Sequence[float] | np.ndarray) -> None:
        """Crop the template around `box` (x, y, w, h); it is also the first online template."""
        self._require_open()
        image = to_rgb(frame)
        height, width = image.shape[:2]
        b = check_box(box, width, height)
        s = self.spec
        self._template, _ = preprocess(image, b, s.template_factor, s.template_size, s.mean, s.std)
        self._online = self._candidate = self._template
        self._best, self._frame_id, self.updates = -1.0, 0, 0
        self._box, self._frame_shape = b, (height, width)
        self._encode()

    def _release(self) -> None:
        self.encoder.close()
        self.step.close()

    def _encode(self) -> None:
        out = self.encoder.infer({"template": self._template, "online_template": self._online})
        self._memory = out["memory"]
        set_input = getattr(self.step, "set_input", None)
        # a backend that keeps inputs on its device (TensorRT) gets the memory once per update, not per frame
        self._step_inputs = {} if callable(set_input) else {"memory": self._memory}
        if callable(set_input):
            set_input("memory", self._memory)
        self.updates += 1

    def track(self, frame: np.ndarray) -> TrackResult:
        """Locate the target in `frame`, update the box and, when due, the online template."""
        self._require_open()
        if self._template is None or self._box is None:
            raise TrackingError("track() called before initialize(frame, box)")
        t0 = time.perf_counter()
        image = next_frame(frame, self._frame_shape)
        s = self.spec
        search, crop = preprocess(image, self._box, s.search_factor, s.search_size, s.mean, s.std)
        t1 = time.perf_counter()
        out = self.step.infer({"search": search, **self._step_inputs})
        t2 = time.perf_counter()
        box_norm, score = decode_distribution(out["side_logits"], out["score_logit"])
        height, width = self._frame_shape
        self._box = clip_box(map_box_back(box_norm, crop), width, height, CLIP_MARGIN)
        t3 = time.perf_counter()
        self._update_online(image, score)
        t4 = time.perf_counter()
        timings = {"pre": (t1 - t0) * 1e3, "infer": (t2 - t1) * 1e3, "post": (t3 - t2) * 1e3,
                   "update": (t4 - t3) * 1e3}
        return TrackResult(tuple(float(v) for v in self._box), score, timings)  # type: ignore[arg-type]

    def _update_online(self, image: np.ndarray, score: float) -> None:
        """Keep the best confident crop since the last update; install it every `update_interval` frames."""
        s, cfg = self.spec, self.settings
        self._frame_id += 1
        if score > cfg.score_threshold and score > self._best:
            self._candidate, _ = preprocess(image, self._box, s.template_factor, s.template_size, s.mean, s.std)
            self._best = score
        if self._frame_id % cfg.update_interval == 0:
            self._online = self._candidate
            self._encode()
            self._best, self._candidate = -1.0, self._template


def _open_split_engines(folder: Path, backend: str, device: str) -> OnlineTemplateTracker:
    """Both TensorRT engines of a MixFormerV2 split build, or one clear error saying what is missing."""
    from edgetrack.deploy.split import graph_dir
    from edgetrack.export.mixformerv2 import ENCODER, STEP, load_spec
    from edgetrack.runtime.backends.tensorrt_backend import TensorRTBackend, unavailable_reason
    from edgetrack.runtime.engine_info import ENGINE

    if backend not in ("auto", "tensorrt"):
        raise ArtifactError(f"{folder} holds MixFormerV2's TensorRT graphs: it runs on tensorrt, not {backend}; "
                            "open the export folder for onnxruntime")
    unbuilt = [graph_dir(folder, g).name for g in (ENCODER, STEP) if not (graph_dir(folder, g) / ENGINE).is_file()]
    if unbuilt:
        raise ArtifactError(f"{folder} is a deploy bundle whose engines are not built yet ({', '.join(unbuilt)}); "
                            "build them on the device first (see its README.md)")
    why = unavailable_reason()
    if why:
        raise ArtifactError(f"the tensorrt backend cannot run here: {why}. Open the export folder with onnxruntime, "
                            "or install TensorRT and cuda-python (pip install 'edgetrack[trt]') on an NVIDIA GPU")
    encoder, step = (TensorRTBackend(graph_dir(folder, g), device=device, device_processing=False)
                     for g in (ENCODER, STEP))
    return OnlineTemplateTracker(encoder, step, ProcessingSpec.from_model_config(load_spec(folder)))


def open_online_tracker(folder: Path, backend: str = "auto", device: str = "cpu") -> OnlineTemplateTracker | None:
    """The tracker of a MixFormerV2 split export (ONNX Runtime) or model folder (torch); None for other folders."""
    from edgetrack.deploy.split import is_split_build
    from edgetrack.export.mixformerv2 import ENCODER

    if not folder.is_dir():
        return None
    if is_split_build(folder):
        return _open_split_engines(folder, backend, device)
    if (folder / ENCODER).is_file():
        if backend not in ("auto", "onnxruntime"):
            raise ArtifactError(f"{folder} is a MixFormerV2 export: it runs on onnxruntime, not {backend}")
        from edgetrack.runtime.artifact import build_threads

        return OnlineTemplateTracker.from_onnx(folder, threads=build_threads(folder))
    if (folder / "model.safetensors").is_file() and (folder / "config.json").is_file() and _online_family(folder):
        from edgetrack.models.factory import create_model

        return OnlineTemplateTracker.from_model(create_model(folder), device=device)
    return None


def _online_family(folder: Path) -> bool:
    """Whether a model folder's family (read from its config.json) tracks with an online template."""
    from edgetrack.families import family
    from edgetrack.models.factory import model_config

    return family(model_config(folder).family).online_template


def tracker_for_model(model: Any, device: str = "cpu") -> BaseTracker:
    """The tracking loop of a torch model in memory, as its family registers it (`edgetrack.families`)."""
    from edgetrack.families import family_of

    return family_of(model).hook("tracker")(model, device=device)

