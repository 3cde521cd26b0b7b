"""The tracking loop against a fake backend with hand-made maps (OSTrack's inference steps 3-5), input checks, torch."""

from __future__ import annotations

import subprocess
import sys
from typing import ClassVar

import numpy as np
import pytest

from edgetrack.config.model import ModelConfig
from edgetrack.data.crops import preprocess
from edgetrack.errors import RegistryError, TrackingError
from edgetrack.runtime.backends.base import BACKENDS, Backend, available_backends, get_backend
from edgetrack.runtime.spec import ProcessingSpec
from edgetrack.runtime.tracker import Tracker

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SPEC = ProcessingSpec(template_size=64, search_size=128, template_factor=2.0, search_factor=4.0, feat_size=8,
                      mean=MEAN, std=STD)
H, W = 200, 300
INIT = (100.0, 80.0, 40.0, 20.0)


class FakeBackend(Backend):
    """Peak 0.9 at cell (iy 2, ix 5) with offset (0.25, 0.5) and size (0.3, 0.2); a higher raw corner."""

    name: ClassVar[str] = "fake"

    def __init__(self) -> None:
        self.calls: list[dict[str, np.ndarray]] = []

    @classmethod
    def is_available(cls) -> bool:
        return True

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.calls.append({k: v.copy() for k, v in inputs.items()})
        score = np.full((1, 1, 8, 8), 0.1, np.float32)
        score[0, 0, 0, 0] = 0.95  # Hann weight (0.117)^2 at the corner: loses to the windowed centre peak
        score[0, 0, 2, 5] = 0.9
        size = np.full((1, 2, 8, 8), 0.5, np.float32)
        size[0, :, 2, 5] = (0.3, 0.2)
        offset = np.zeros((1, 2, 8, 8), np.float32)
        offset[0, :, 2, 5] = (0.25, 0.5)
        return {"score_map": score, "size_map": size, "offset_map": offset}


def frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def started(first: np.ndarray | None = None) -> tuple[Tracker, FakeBackend]:
    backend = FakeBackend()
    tracker = Tracker(backend, SPEC)
    tracker.initialize(frame() if first is None else first, INIT)
    return tracker, backend


def test_two_frames_by_hand() -> None:
    tracker, backend = started()
    r1 = tracker.track(frame(1))
    # search side ceil(sqrt(800)*4) = 114, prev centre (120, 90), half side 57
    # box_norm = ((5 + 0.25)/8, (2 + 0.5)/8, 0.3, 0.2) = (0.65625, 0.3125, 0.3, 0.2), times 114 in frame pixels
    # cx = 74.8125 + 120 - 57 = 137.8125, cy = 35.625 + 90 - 57 = 68.625, w = 34.2, h = 22.8
    np.testing.assert_allclose(r1.box, [137.8125 - 17.1, 68.625 - 11.4, 34.2, 22.8], rtol=1e-6)
    assert r1.score == pytest.approx(0.9)  # raw score at the windowed peak
    t = r1.timings
    assert set(t) == {"pre", "infer", "post", "crop", "normalise", "decode", "map"} and min(t.values()) >= 0
    # the fine stages are the coarse ones split up
    assert t["crop"] + t["normalise"] <= t["pre"] + 1e-9 and t["decode"] + t["map"] == pytest.approx(t["post"])
    r2 = tracker.track(frame(2))
    # prev (120.7125, 57.225, 34.2, 22.8): side ceil(sqrt(779.76)*4) = 112, centre (137.8125, 68.625), half 56
    # cx = 73.5 + 137.8125 - 56 = 155.3125, cy = 35 + 68.625 - 56 = 47.625, w = 33.6, h = 22.4
    np.testing.assert_allclose(r2.box, [155.3125 - 16.8, 47.625 - 11.2, 33.6, 22.4], rtol=1e-6)
    assert tracker.box == pytest.approx(r2.box)


def test_backend_gets_the_shared_crops() -> None:
    tracker, backend = started()
    tracker.track(frame(1))
    template, _ = preprocess(frame(), INIT, 2.0, 64, MEAN, STD)
    search, _ = preprocess(frame(1), INIT, 4.0, 128, MEAN, STD)
    np.testing.assert_array_equal(backend.calls[0]["template"], template)
    np.testing.assert_array_equal(backend.calls[0]["search"], search)


def test_result_is_clipped_with_a_10_pixel_margin() -> None:
    backend = FakeBackend()
    tracker = Tracker(backend, SPEC)
    tracker.initialize(frame(), (280.0, 185.0, 40.0, 20.0))
    x, y, w, h = tracker.track(frame(1)).box
    # unclipped: side 114, centre (300, 195) -> cx 317.8125, cy 173.625, w 34.2, h 22.8
    # x1 = 300.7125 > W - 10 -> 290, x2 = min(W, 334.9125) = 300, w = max(10, 10) = 10; y is inside: unchanged
    np.testing.assert_allclose((x, y, w, h), [290.0, 173.625 - 11.4, 10.0, 22.8], rtol=1e-6)


@pytest.mark.parametrize("layout", ["gray", "gray1", "rgba"])
def test_grayscale_and_rgba_frames_are_converted(layout: str) -> None:
    gray = frame()[:, :, 0]
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    given = {"gray": gray, "gray1": gray[:, :, None],
             "rgba": np.concatenate([rgb, np.full((H, W, 1), 7, np.uint8)], axis=2)}[layout]
    ref, ref_backend = started(rgb)
    got, got_backend = started(given)
    assert ref.track(rgb).box == got.track(given).box
    for key in ("template", "search"):
        np.testing.assert_array_equal(got_backend.calls[0][key], ref_backend.calls[0][key])


def test_float_frames_are_on_the_0_255_scale() -> None:
    ref, ref_backend = started()
    got, got_backend = started(frame().astype(np.float32))
    ref.track(frame(1))
    got.track(frame(1).astype(np.float64))
    np.testing.assert_allclose(got_backend.calls[0]["search"], ref_backend.calls[0]["search"], atol=1e-6)


@pytest.mark.parametrize("box,match", [
    ((10, 10, 0, 5), "width, height > 0"),
    ((10, 10, -5, 5), "width, height > 0"),
    ((10, float("nan"), 5, 5), "finite"),
    ((10, 10, 5), "4 numbers"),
    ((W + 5, 10, 20, 20), "entirely outside"),
    ((-50, 10, 40, 20), "entirely outside"),
    ((10, -30, 20, 30), "entirely outside"),
])
def test_bad_initial_boxes(box: tuple[float, ...], match: str) -> None:
    with pytest.raises(TrackingError, match=match):
        Tracker(FakeBackend(), SPEC).initialize(frame(), box)


@pytest.mark.parametrize("bad,match", [
    (np.zeros((H, W, 2), np.uint8), r"\(H, W, 3\) RGB"),
    (np.zeros((H, W, 3), np.uint16), "uint8"),
    (np.zeros((0, W, 3), np.uint8), "empty"),
    (np.full((H, W, 3), np.nan, np.float32), "NaN"),
])
def test_bad_frames(bad: np.ndarray, match: str) -> None:
    with pytest.raises(TrackingError, match=match):
        Tracker(FakeBackend(), SPEC).initialize(bad, INIT)


def test_track_before_initialize() -> None:
    with pytest.raises(TrackingError, match="before initialize"):
        Tracker(FakeBackend(), SPEC).track(frame())


def test_frame_size_change() -> None:
    tracker, _ = started()
    with pytest.raises(TrackingError, match="frame size changed"):
        tracker.track(np.zeros((H, W + 1, 3), np.uint8))


def test_spec_from_model_config() -> None:
    spec = ProcessingSpec.from_model_config(ModelConfig(template_size=64, search_size=128))
    assert (spec.template_size, spec.search_size, spec.feat_size, spec.search_factor) == (64, 128, 8, 4.0)
    assert spec.mean == MEAN and spec.std == STD


def test_backend_registry_is_lazy_and_helpful() -> None:
    assert "torch" in BACKENDS
    assert get_backend("torch").name == "torch" and "torch" in available_backends()
    with pytest.raises(RegistryError, match="Did you mean 'torch'"):
        get_backend("torhc")


def test_runtime_imports_without_torch() -> None:
    code = ("import sys; import edgetrack.runtime, edgetrack.runtime.tracker, edgetrack.runtime.backends.base, "
            "edgetrack.runtime.backends.torch_backend; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_from_model_tracks_inside_the_frame() -> None:
    import torch

    from edgetrack.models.tracker import TrackerModel

    torch.manual_seed(0)
    model = TrackerModel(ModelConfig(template_size=64, search_size=128, embed_dim=64, depth=2, num_heads=2,
                                     head_channels=32))
    tracker = Tracker.from_model(model)
    tracker.initialize(frame(), INIT)
    for i in range(1, 4):
        result = tracker.track(frame(i))
        x, y, w, h = result.box
        assert 0 <= x and 0 <= y and w >= 10 and h >= 10 and x + w <= W + 1e-9 and y + h <= H + 1e-9
        assert 1e-4 <= result.score <= 1 - 1e-4


def test_tracker_is_importable_from_the_package_root() -> None:
    import edgetrack
    from edgetrack.runtime.tracker import Tracker as RuntimeTracker
    from edgetrack.runtime.tracker import TrackResult as Result

    assert edgetrack.Tracker is RuntimeTracker and edgetrack.TrackResult is Result
    with pytest.raises(AttributeError, match="no attribute 'Trackr'"):
        edgetrack.Trackr  # noqa: B018


def test_float_frames_on_the_0_1_scale_are_refused_with_the_fix() -> None:
    from edgetrack.runtime.tracker import to_rgb

    with pytest.raises(TrackingError, match=r"\[0, 1\].*frame \* 255"):
        to_rgb(np.full((8, 8, 3), 0.5, dtype=np.float32))
    assert to_rgb(np.full((8, 8, 3), 128.0, dtype=np.float32)).shape == (8, 8, 3)


def test_min_score_holds_the_box_when_the_windowed_peak_is_below_it() -> None:
    # FakeBackend's peak: raw 0.9 x Hann 0.75 x 0.75 = 0.506 windowed; 0.6 sits between the two

    held = Tracker(FakeBackend(), SPEC.replace(min_score=0.6))
    held.initialize(frame(), INIT)
    result = held.track(frame(1))
    assert result.box == INIT and result.score == pytest.approx(0.9)
    moved = Tracker(FakeBackend(), SPEC.replace(min_score=0.5))
    moved.initialize(frame(), INIT)
    assert moved.track(frame(1)).box != INIT


def test_min_score_outside_0_1_is_refused() -> None:
    from edgetrack.errors import ConfigError

    with pytest.raises(ConfigError, match="min_score"):
        SPEC.replace(min_score=1.5)


def test_integer_boxes_keep_whole_pixels_and_map_back_from_the_crop_origin() -> None:
    from edgetrack.data.crops import crop_geometry, map_box_back

    tracker = Tracker(FakeBackend(), SPEC.replace(integer_boxes=True))
    tracker.initialize(frame(), (100.6, 80.2, 40.9, 20.5))
    crop = crop_geometry((100, 80, 40, 20), SPEC.search_factor, SPEC.search_size, integer=True)
    # FakeBackend's peak decodes to (5.25 / 8, 2.5 / 8, 0.3, 0.2) in the crop
    expected = np.floor(map_box_back(np.array([5.25 / 8, 2.5 / 8, 0.3, 0.2]), crop))
    assert tracker.track(frame(1)).box == tuple(expected)
