"""The torch crop+resize+normalise matches the numpy reference of data/crops.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgetrack.data.crops import crop_geometry, preprocess
from edgetrack.errors import TrackingError
from edgetrack.runtime.preprocess_torch import preprocess_torch

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
H, W = 90, 130


def frame(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def random_boxes(n: int, seed: int = 1) -> list[tuple[float, float, float, float]]:
    """Boxes inside, partly outside and far outside the frame, from sub-pixel to several frames wide."""
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(n):
        w, h = np.exp(rng.uniform(np.log(0.3), np.log(400), 2))
        x, y = rng.uniform(-1.5 * W, 1.5 * W), rng.uniform(-1.5 * H, 1.5 * H)
        boxes.append((float(x), float(y), float(w), float(h)))
    return boxes


@pytest.mark.parametrize("out_size", [16, 64, 127])
def test_matches_numpy_reference_for_random_boxes(out_size: int) -> None:
    image = frame()
    tensor = torch.from_numpy(image)
    for box in random_boxes(150, seed=out_size):
        ref, ref_crop = preprocess(image, box, 4.0, out_size, MEAN, STD)
        got, crop = preprocess_torch(tensor, box, 4.0, out_size, MEAN, STD)
        assert crop == ref_crop
        assert got.shape == (1, 3, out_size, out_size) and got.dtype == torch.float32
        np.testing.assert_allclose(got.numpy(), ref, atol=1e-3, rtol=0)


def test_tiny_and_huge_crops_and_edges() -> None:
    image = frame(3)
    tensor = torch.from_numpy(image)
    cases = [(0.0, 0.0, 0.3, 0.3), (W - 1.0, H - 1.0, 0.5, 0.5), (-50.0, -40.0, 2 * W, 2 * H),
             (W - 5.0, 10.0, 30.0, 20.0), (-10.0, H - 3.0, 12.0, 9.0), (10.0, 10.0, 5000.0, 3000.0)]
    for box in cases:
        ref, _ = preprocess(image, box, 2.0, 32, MEAN, STD)
        got, _ = preprocess_torch(tensor, box, 2.0, 32, MEAN, STD)
        np.testing.assert_allclose(got.numpy(), ref, atol=1e-3, rtol=0)


def test_outside_pixels_are_zero_before_normalisation() -> None:
    """A crop far outside the frame is all padding: every value equals (0 - mean) / std."""
    got, _ = preprocess_torch(torch.from_numpy(frame()), (10 * W, 10 * H, 5.0, 5.0), 2.0, 16, MEAN, STD)
    expected = (-np.asarray(MEAN) / np.asarray(STD)).astype(np.float32)
    np.testing.assert_allclose(got[0].amax(dim=(1, 2)).numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(got[0].amin(dim=(1, 2)).numpy(), expected, atol=1e-6)


def test_float_frames_on_the_255_scale() -> None:
    image = frame(5)
    box = (20.0, 15.0, 30.0, 25.0)
    ref, _ = preprocess(image.astype(np.float32), box, 4.0, 48, MEAN, STD)
    got, _ = preprocess_torch(torch.from_numpy(image.astype(np.float32)), box, 4.0, 48, MEAN, STD)
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-3, rtol=0)


def test_geometry_is_the_shared_one() -> None:
    _, crop = preprocess_torch(torch.from_numpy(frame()), (20.0, 15.0, 30.0, 25.0), 4.0, 48, MEAN, STD)
    assert crop == crop_geometry((20.0, 15.0, 30.0, 25.0), 4.0, 48)


def test_rejects_non_rgb_frames() -> None:
    with pytest.raises(TrackingError, match="RGB"):
        preprocess_torch(torch.zeros(10, 10, dtype=torch.uint8), (1.0, 1.0, 3.0, 3.0), 2.0, 8, MEAN, STD)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU visible to torch")
def test_cuda_tensor_matches_numpy_reference() -> None:
    image = frame(7)
    tensor = torch.from_numpy(image).cuda()
    for box in random_boxes(50, seed=7):
        ref, _ = preprocess(image, box, 4.0, 64, MEAN, STD)
        got, _ = preprocess_torch(tensor, box, 4.0, 64, MEAN, STD)
        assert got.device.type == "cuda"
        np.testing.assert_allclose(got.cpu().numpy(), ref, atol=1e-3, rtol=0)
