"""The shared crop: OSTrack geometry, float bilinear with zero padding, normalisation, map-back and clipping."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgetrack.data.crops import Crop, clip_box, crop_and_resize, crop_geometry, map_box_back, normalize, preprocess
from edgetrack.errors import TrackingError


def random_frame(h: int = 90, w: int = 120, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_geometry_by_hand() -> None:
    crop = crop_geometry((10, 20, 30, 40), 2.0, 128)
    # side = ceil(sqrt(1200) * 2) = ceil(69.28) = 70; centre (25, 40); x1 = round(25 - 35) = -10, y1 = round(5) = 5
    assert (crop.side, crop.x1, crop.y1, crop.out_size) == (70, -10, 5, 128)
    assert (crop.cx, crop.cy) == (25.0, 40.0)
    assert crop.resize_factor == pytest.approx(128 / 70)


def test_geometry_uses_python_round() -> None:
    # centre 10.5 - side/2 (2/2 = 1) = 9.5 -> Python rounds half to even: 10; y: 11.5 - 1 = 10.5 -> 10
    crop = crop_geometry((10, 11, 1, 1), 2.0, 8)
    assert (crop.side, crop.x1, crop.y1) == (2, 10, 10)


@pytest.mark.parametrize("box", [(0, 0, 0, 5), (0, 0, 5, -1), (0, 0, float("nan"), 5), (1, 2, 3)])
def test_geometry_rejects_bad_boxes(box: tuple[float, ...]) -> None:
    with pytest.raises(TrackingError, match="box"):
        crop_geometry(box, 2.0, 64)


def test_identity_crop_returns_the_pixels() -> None:
    frame = random_frame()
    crop = Crop(side=40, x1=30, y1=20, out_size=40, cx=50.0, cy=40.0)
    out = crop_and_resize(frame, crop)
    assert out.dtype == np.float32 and out.shape == (40, 40, 3)
    np.testing.assert_array_equal(out, frame[20:60, 30:70].astype(np.float32))


def test_zero_padding_outside_the_frame() -> None:
    frame = random_frame()
    crop = Crop(side=50, x1=-10, y1=-20, out_size=50, cx=15.0, cy=5.0)
    out = crop_and_resize(frame, crop)
    assert not out[:20].any() and not out[:, :10].any()
    np.testing.assert_array_equal(out[20:, 10:], frame[:30, :40].astype(np.float32))


def test_right_bottom_edge_keeps_the_last_column_and_row() -> None:
    # the clean geometry: no OSTrack quirk, the image's last column/row stays visible
    frame = random_frame()
    crop = Crop(side=30, x1=100, y1=70, out_size=30, cx=115.0, cy=85.0)
    out = crop_and_resize(frame, crop)
    np.testing.assert_array_equal(out[:20, :20], frame[70:, 100:].astype(np.float32))
    assert not out[20:].any() and not out[:, 20:].any()


def test_crop_far_outside_is_zero() -> None:
    out = crop_and_resize(random_frame(), crop_geometry((5000, -3000, 40, 40), 4.0, 32))
    assert out.shape == (32, 32, 3) and not out.any()


@pytest.mark.parametrize("side,out", [(70, 128), (200, 64), (64, 32), (33, 256)])
def test_bilinear_matches_opencv_inside_the_frame(side: int, out: int) -> None:
    frame = random_frame(260, 300, seed=side)
    crop = Crop(side=side, x1=17, y1=9, out_size=out, cx=0.0, cy=0.0)
    ours = crop_and_resize(frame, crop)
    patch = frame[9:9 + side, 17:17 + side]
    ref_u8 = cv2.resize(patch, (out, out), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    assert np.abs(ours - ref_u8).max() <= 1.0  # OpenCV's uint8 kernel rounds
    ref_f = cv2.resize(patch.astype(np.float32), (out, out), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(ours, ref_f, atol=1e-3)


def test_bilinear_half_pixel_centres_by_hand() -> None:
    # 2 -> 4 upscale of one row [0, 100]: src = (d + 0.5)/2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamp -> 0, 25, 75, 100
    frame = np.array([[0, 100], [0, 100]], dtype=np.uint8)
    out = crop_and_resize(frame, Crop(side=2, x1=0, y1=0, out_size=4, cx=1.0, cy=1.0))
    np.testing.assert_allclose(out[0], [0, 25, 75, 100])
    assert out.shape == (4, 4)


def test_normalize_values_and_layout() -> None:
    crop = np.zeros((2, 2, 3), dtype=np.float32)
    crop[..., 0], crop[..., 1], crop[..., 2] = 255.0, 0.0, 127.5
    out = normalize(crop, (0.5, 0.25, 0.5), (0.5, 0.25, 0.25))
    assert out.shape == (3, 2, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0], [1.0, -1.0, 0.0], atol=1e-6)


def test_preprocess_shape_and_crop() -> None:
    tensor, crop = preprocess(random_frame(), (10, 20, 30, 40), 2.0, 64, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert tensor.shape == (1, 3, 64, 64) and tensor.dtype == np.float32
    assert crop == crop_geometry((10, 20, 30, 40), 2.0, 64)


def test_map_box_back_by_hand() -> None:
    crop = crop_geometry((100, 80, 40, 20), 4.0, 128)  # side ceil(sqrt(800) * 4) = 114, centre (120, 90)
    box = map_box_back((0.5, 0.25, 0.5, 0.1), crop)
    # crop pixels / resize_factor = normalised * 114; + centre - 57
    np.testing.assert_allclose(box, [57 + 63 - 28.5, 28.5 + 33 - 5.7, 57.0, 11.4])


def test_map_box_back_inverts_the_crop_of_a_centred_box() -> None:
    crop = crop_geometry((50.0, 60.0, 30.0, 20.0), 4.0, 256)
    side = crop.side
    box = map_box_back((0.5, 0.5, 30.0 / side, 20.0 / side), crop)
    np.testing.assert_allclose(box, [50.0, 60.0, 30.0, 20.0])


def test_map_box_back_is_about_the_box_centre_not_the_rounded_origin() -> None:
    """Centre 25.3, side 70: the crop starts at round(-9.7) = -10, but maps back about 25.3, as OSTrack."""
    crop = crop_geometry((10.3, 20.0, 30.0, 40.0), 2.0, 128)
    assert (crop.side, crop.x1, crop.cx) == (70, -10, 25.3)
    box = map_box_back((0.5, 0.5, 30.0 / 70, 40.0 / 70), crop)
    np.testing.assert_allclose(box, [10.3, 20.0, 30.0, 40.0])
    np.testing.assert_allclose(map_box_back((0.0, 0.0, 0.0, 0.0), crop), [25.3 - 35, 40.0 - 35, 0.0, 0.0])


def test_clip_box_by_hand() -> None:
    np.testing.assert_allclose(clip_box((-5, 10, 20, 30), 100, 80), [0, 10, 15, 30])
    np.testing.assert_allclose(clip_box((95, 75, 20, 20), 100, 80), [90, 70, 10, 10])  # x1 <= W-10, w >= 10
    np.testing.assert_allclose(clip_box((-50, -40, 20, 20), 100, 80), [0, 0, 10, 10])  # x2 >= 10
    np.testing.assert_allclose(clip_box((10, 10, 3, 2), 100, 80), [10, 10, 10, 10])


def test_opencv_resize_path_equals_the_numpy_blend(monkeypatch) -> None:
    from edgetrack.data import crops

    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (90, 130, 3), dtype=np.uint8)
    cases = (((40, 30, 20, 10), 4.0, 128), ((-20, -5, 60, 50), 2.0, 64), ((100, 70, 40, 30), 5.0, 96),
             ((10, 10, 3, 4), 4.0, 256))
    geometries = [crops.crop_geometry(box, factor, size) for box, factor, size in cases]
    fast = [crops.crop_and_resize(frame, c) for c in geometries]
    monkeypatch.setattr(crops, "_crop_and_resize_cv2", lambda *_: None)
    for c, got in zip(geometries, fast, strict=True):
        assert np.abs(got - crops.crop_and_resize(frame, c)).max() < 1e-3


def test_integer_geometry_is_cv2_trackervits() -> None:
    from edgetrack.data.crops import crop_geometry

    # side = ceil(sqrt(20 * 49) * 4) = 126; origin x + (w - side) / 2 in C: 196 + (-106 / 2) = 143, and for y
    # (49 - 126) / 2 = -38.5 truncates toward zero to -38 (Python's // would give -39)
    crop = crop_geometry((196.7, 149.2, 20.9, 49.5), 4.0, 256, integer=True)
    assert (crop.side, crop.x1, crop.y1) == (126, 143, 111)
    assert (crop.cx, crop.cy) == (143 + 63.0, 111 + 63.0)
    float_crop = crop_geometry((196.7, 149.2, 20.9, 49.5), 4.0, 256)
    assert float_crop.cx == pytest.approx(196.7 + 20.9 / 2)
