"""TensorRT backend on a machine without TensorRT: registration, clear errors, open_backend, tracker hooks."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from edgetrack.data.crops import Crop, crop_and_resize, crop_geometry, normalize
from edgetrack.errors import ArtifactError, EdgetrackError
from edgetrack.runtime import artifact
from edgetrack.runtime.artifact import open_backend
from edgetrack.runtime.backends.base import BACKENDS, Backend, available_backends, get_backend
from edgetrack.runtime.backends.tensorrt_backend import TensorRTBackend, device_index, unavailable_reason
from edgetrack.runtime.decode import decode, hann2d
from edgetrack.runtime.io_spec import IOSpec
from edgetrack.runtime.spec import ProcessingSpec
from edgetrack.runtime.tracker import Tracker
from tests.conftest import MICRO

TRT_MISSING = unavailable_reason() != ""
needs_no_trt = pytest.mark.skipif(not TRT_MISSING, reason="TensorRT and a GPU are usable on this machine")


def engine_json() -> dict:
    spec = IOSpec.from_model_config(MICRO)
    io = [{"name": t.name, "mode": mode, "shape": list(t.shape), "dtype": "float32"}
          for mode, group in (("input", spec.inputs), ("output", spec.outputs)) for t in group]
    return {"tensorrt_version": "10.3.0", "gpu": "Orin", "compute_capability": "8.7", "target": "jetson-orin-agx",
            "precision": "fp16", "typing": "strong", "onnx_file": "model.fp16.onnx", "onnx_sha256": "0" * 64,
            "io": io, "io_spec": spec.to_dict(), "builder": "edgetrack build", "built": "2025-01-01T00:00:00"}


def engine_folder(tmp_path: Path, info: dict | str | None = None, plan: bool = True) -> Path:
    folder = tmp_path / "engine"
    folder.mkdir()
    if plan:
        (folder / "model.engine").write_bytes(b"not a real plan")
    text = info if isinstance(info, str) else json.dumps(engine_json() if info is None else info)
    (folder / "engine.json").write_text(text)
    return folder


def test_registered_under_its_name() -> None:
    assert "tensorrt" in BACKENDS
    assert get_backend("tensorrt") is TensorRTBackend
    assert TensorRTBackend.name == "tensorrt"


@needs_no_trt
def test_not_available_without_tensorrt() -> None:
    assert TensorRTBackend.is_available() is False
    assert "tensorrt" not in available_backends()
    assert unavailable_reason()  # says why


@needs_no_trt
def test_open_backend_tensorrt_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="tensorrt backend cannot run here.*edgetrack\\[trt\\]"):
        open_backend(engine_folder(tmp_path), "tensorrt")


@needs_no_trt
def test_auto_on_an_engine_only_folder_explains_instead_of_asking_for_torch(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="tensorrt backend cannot run here"):
        open_backend(engine_folder(tmp_path), "auto")


@needs_no_trt
def test_constructor_without_tensorrt_is_an_edgetrack_error(tmp_path: Path) -> None:
    with pytest.raises(EdgetrackError, match="tensorrt"):
        TensorRTBackend(engine_folder(tmp_path))


def test_tensorrt_on_a_folder_without_engine_asks_for_a_build(tmp_path: Path) -> None:
    folder = engine_folder(tmp_path, plan=False)
    with pytest.raises(ArtifactError, match="no TensorRT engine.*edgetrack build"):
        open_backend(folder, "tensorrt")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", json.dumps({"gpu": "Orin"})])
def test_corrupt_engine_json_is_a_clear_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(ArtifactError, match="engine.json"):
        open_backend(engine_folder(tmp_path, text), "tensorrt")


def test_invalid_io_spec_in_engine_json_is_a_clear_error(tmp_path: Path) -> None:
    info = engine_json()
    info["io_spec"] = {**info["io_spec"], "feat_size": "sixteen"}
    with pytest.raises(ArtifactError, match="io_spec"):
        open_backend(engine_folder(tmp_path, info), "tensorrt")


@pytest.mark.parametrize(("trt_ok", "onnx", "torch", "picked"), [
    (True, True, True, "tensorrt"), (False, True, False, "onnxruntime"), (False, False, True, "torch"),
    (False, False, False, "tensorrt"),
])
def test_auto_prefers_tensorrt_when_usable(monkeypatch: pytest.MonkeyPatch, trt_ok: bool, onnx: bool, torch: bool,
                                            picked: str) -> None:
    monkeypatch.setattr(TensorRTBackend, "is_available", classmethod(lambda cls: trt_ok))
    assert artifact._auto(True, onnx, torch) == picked


def test_auto_without_engine_never_picks_tensorrt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TensorRTBackend, "is_available", classmethod(lambda cls: True))
    assert artifact._auto(False, False, True) == "torch"


@pytest.mark.parametrize(("device", "index"), [("cuda:1", 1), ("cuda", 0), ("cpu", 0), (2, 2)])
def test_device_index(device: str | int, index: int) -> None:
    assert device_index(device) == index


# --- tracker hooks, with a host-only stand-in for a device backend ---------------------------------------

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SPEC = ProcessingSpec(template_size=64, search_size=128, template_factor=2.0, search_factor=4.0, feat_size=8,
                      mean=MEAN, std=STD)


def maps(search: np.ndarray) -> dict[str, np.ndarray]:
    """Maps that depend on the search crop, so a wrong crop moves the box."""
    level = float(search.mean())
    score = np.full((1, 1, 8, 8), 0.1, np.float32)
    cell = int(abs(level) * 1000) % 64
    score[0, 0, cell // 8, cell % 8] = 0.9
    size = np.full((1, 2, 8, 8), 0.3 + 0.01 * (cell % 5), np.float32)
    offset = np.full((1, 2, 8, 8), 0.25, np.float32)
    return {"score_map": score, "size_map": size, "offset_map": offset}


class HostBackend(Backend):
    name: ClassVar[str] = "host"

    def __init__(self) -> None:
        self.inputs: list[set[str]] = []

    @classmethod
    def is_available(cls) -> bool:
        return True

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.inputs.append(set(inputs))
        return maps(inputs["search"])


class TemplateBackend(HostBackend):
    """Holds the template like the TensorRT backend does."""

    def __init__(self) -> None:
        super().__init__()
        self.templates: list[np.ndarray] = []

    def set_template(self, template: np.ndarray) -> None:
        self.templates.append(template.copy())


class DeviceStandIn(TemplateBackend):
    """`track_device` computed on the host the way the device path does it: crop given, decode with Hann."""

    def __init__(self) -> None:
        super().__init__()
        self.crops: list[Crop] = []

    def track_device(self, frame: np.ndarray, crop: Crop) -> tuple[np.ndarray, float, float]:
        self.crops.append(crop)
        search = normalize(crop_and_resize(frame, crop), MEAN, STD)[None]
        out = maps(search)
        box, score, _ = decode(out["score_map"], out["size_map"], out["offset_map"], hann2d(8))
        # as the device decode kernel: the windowed maximum of the score map
        return box, score, float((out["score_map"][0, 0] * hann2d(8)).max())


def frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(n)]


def run(backend: Backend, video: list[np.ndarray]) -> list[tuple]:
    tracker = Tracker(backend, SPEC)
    tracker.initialize(video[0], (60.0, 40.0, 30.0, 20.0))
    return [tuple(r.box) + (r.score,) for r in (tracker.track(f) for f in video[1:])]


def test_set_template_hook_passes_only_the_search_input() -> None:
    video = frames(5)
    plain, held = HostBackend(), TemplateBackend()
    assert run(held, video) == run(plain, video)
    assert len(held.templates) == 1 and held.templates[0].shape == (1, 3, 64, 64)
    assert all(keys == {"search"} for keys in held.inputs)
    assert all(keys == {"template", "search"} for keys in plain.inputs)


def test_device_hook_gives_the_host_path_results_with_the_shared_crop() -> None:
    video = frames(6)
    device = DeviceStandIn()
    assert run(device, video) == run(HostBackend(), video)
    assert device.inputs == []  # infer is not used when track_device is there
    assert len(device.crops) == 5 and all(c.out_size == SPEC.search_size for c in device.crops)
    assert device.crops[0] == crop_geometry((60.0, 40.0, 30.0, 20.0), SPEC.search_factor, SPEC.search_size)


def test_min_score_holds_the_same_frames_on_the_host_and_device_paths() -> None:
    """One rule: the windowed peak. The raw peak (0.9 on every frame here) would never hold a box."""

    video = frames(12)
    strict = SPEC.replace(min_score=0.5)

    def boxes(backend: Backend) -> list[tuple]:
        tracker = Tracker(backend, strict)
        tracker.initialize(video[0], (60.0, 40.0, 30.0, 20.0))
        return [tuple(tracker.track(f).box) for f in video[1:]]

    host, device = boxes(HostBackend()), boxes(DeviceStandIn())
    assert device == host
    held = sum(a == b for a, b in zip(host, host[1:], strict=False))
    assert 0 < held < len(host) - 1  # some frames held, some moved: the threshold is exercised both ways


def test_device_hook_is_skipped_for_float_frames() -> None:
    video = [f.astype(np.float32) for f in frames(3)]
    device = DeviceStandIn()
    assert run(device, video) == run(HostBackend(), video)
    assert device.crops == [] and all(keys == {"search"} for keys in device.inputs)


class FixedDevice(TemplateBackend):
    """A device path that always reports the crop's centre, a quarter of the crop wide: known by hand."""

    def track_device(self, frame: np.ndarray, crop: Crop) -> tuple[np.ndarray, float, float]:
        return np.array([0.5, 0.5, 0.25, 0.125]), 0.75, 0.75


def test_device_hook_result_is_mapped_back_to_frame_pixels_by_hand() -> None:
    video = frames(2)
    tracker = Tracker(FixedDevice(), SPEC)
    tracker.initialize(video[0], (60.0, 40.0, 30.0, 20.0))
    result = tracker.track(video[1])
    side = math.ceil(math.sqrt(30.0 * 20.0) * SPEC.search_factor)  # the search crop side, as OSTrack rounds it
    w, h = 0.25 * side, 0.125 * side
    expected = (75.0 - w / 2, 50.0 - h / 2, w, h)  # centred where the previous box was centred
    assert result.box == pytest.approx(expected, abs=1e-6) and result.score == 0.75


def test_listing_backends_imports_no_backend_package() -> None:
    code = ("import sys; from edgetrack.runtime.backends.base import BACKENDS; BACKENDS.names(); "
            "import edgetrack.runtime.backends.tensorrt_backend; "
            "print(sorted(m for m in ('tensorrt', 'onnxruntime', 'torch', 'cuda') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
