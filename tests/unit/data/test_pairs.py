from __future__ import annotations

import numpy as np
import pytest
import torch

from edgetrack.data.labels import center_heatmap, gaussian_radius
from edgetrack.data.pairs import PairConfig, PairDataset, jitter_box, sample_frames
from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError
from edgetrack.runtime.spec import ProcessingSpec
from tests.conftest import MICRO


def moving_square(n: int = 30, seed: int = 0) -> Sequence:
    """A bright square moving right over a dark frame; boxes are exact."""
    frames = np.zeros((n, 96, 128, 3), dtype=np.uint8)
    boxes = np.zeros((n, 4))
    for i in range(n):
        x, y = 10 + 2 * i, 30
        frames[i, y:y + 20, x:x + 20] = 255
        boxes[i] = (x, y, 20, 20)
    vis = np.ones(n, dtype=bool)
    vis[5] = False
    return Sequence(f"square{seed}", frames, boxes, vis)


def test_gaussian_radius_and_heatmap_peak() -> None:
    r = gaussian_radius(4.0, 4.0, 0.7)
    # the three CornerNet cases for a 4x4 box; the third one is the binding (smallest) radius
    b3, a3, c3 = -2 * 0.7 * 8, 4 * 0.7, -0.3 * 16
    assert r == pytest.approx((b3 + np.sqrt(b3 * b3 - 4 * a3 * c3)) / 2)
    heat = center_heatmap(np.array([0.25, 0.25, 0.25, 0.25]), 16)
    assert heat.shape == (16, 16) and heat.max() == 1.0
    assert tuple(np.argwhere(heat == 1.0)[0]) == (6, 6)  # centre 0.375 * 16 = 6
    assert heat[6, 7] == pytest.approx(np.exp(-1 / (2 * (3 / 6) ** 2)))  # radius 1: sigma = 3/6
    assert center_heatmap(np.array([1.2, 0.2, 0.2, 0.2]), 16).sum() == 0  # centre outside the grid


def test_jitter_matches_formula() -> None:
    box = np.array([10.0, 20.0, 30.0, 40.0])
    out = jitter_box(box, np.random.default_rng(0), 0.25, 3.0)
    rng = np.random.default_rng(0)
    size = box[2:] * np.exp(rng.standard_normal(2) * 0.25)
    centre = box[:2] + box[2:] / 2 + np.sqrt(size.prod()) * 3.0 * (rng.random(2) - 0.5)
    np.testing.assert_allclose(out, np.r_[centre - size / 2, size])
    np.testing.assert_allclose(jitter_box(box, np.random.default_rng(1), 0.0, 0.0), box)


def test_frames_are_visible_and_within_gap() -> None:
    seq = moving_square()
    rng = np.random.default_rng(0)
    for _ in range(200):
        t, s = sample_frames(seq, rng, max_gap=4)
        assert 0 < s - t <= 4 and seq.visible[t] and seq.visible[s]


def test_pairs_are_deterministic_and_labels_match_crop() -> None:
    spec = ProcessingSpec.from_model_config(MICRO)
    ds = PairDataset([[moving_square()]], spec, PairConfig(flip_p=0.0, grayscale_p=0.0, brightness_jitter=0.0),
                     seed=3)
    a, b = ds[7], ds[7]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["search"], ds[8]["search"])
    assert a["template"].shape == (3, 32, 32) and a["search"].shape == (3, 64, 64)
    assert a["heatmap"].shape == (1, 4, 4)
    # the GT box region of the search crop is the bright square: its normalised value is the maximum
    x, y, w, h = (a["search_box"].numpy() * 64).round().astype(int)
    inside = a["search"][0, y + 2:y + h - 2, x + 2:x + w - 2]
    assert inside.numel() > 0 and torch.allclose(inside, a["search"][0].max())


def test_no_jitter_puts_target_at_crop_centre() -> None:
    cfg = PairConfig(search_center_jitter=0.0, search_scale_jitter=0.0, flip_p=0.0, grayscale_p=0.0)
    ds = PairDataset([[moving_square()]], ProcessingSpec.from_model_config(MICRO), cfg, seed=0)
    box = ds[0]["search_box"].numpy()
    np.testing.assert_allclose(box[:2] + box[2:] / 2, [0.5, 0.5], atol=0.02)
    np.testing.assert_allclose(box[2:], [0.25, 0.25], atol=0.02)  # search factor 4: box side = crop / 4


def test_empty_sources_and_bad_weights_are_refused() -> None:
    spec = ProcessingSpec.from_model_config(MICRO)
    with pytest.raises(DataError, match="non-empty"):
        PairDataset([[]], spec)
    with pytest.raises(DataError, match="weights"):
        PairDataset([[moving_square()]], spec, weights=[1.0, 2.0])


def _bright_box(sample: dict[str, torch.Tensor]) -> np.ndarray:
    """(x, y, w, h) of the bright square in a sample's search crop, normalised, from the pixels alone."""
    search = sample["search"][0].numpy()
    ys, xs = np.nonzero(search > search.max() - 1e-3)
    size = search.shape[-1]
    return np.array([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]) / size


def test_flip_moves_the_label_with_the_image() -> None:
    spec = ProcessingSpec.from_model_config(MICRO)
    base = PairConfig(grayscale_p=0.0, brightness_jitter=0.0, search_center_jitter=1.5, search_scale_jitter=0.0)
    plain = PairDataset([[moving_square()]], spec, base.replace(flip_p=0.0), seed=1)
    flipped = PairDataset([[moving_square()]], spec, base.replace(flip_p=1.0), seed=1)
    for i in range(4):
        a, b = plain[i], flipped[i]
        assert torch.equal(b["search"], a["search"].flip(-1))  # same pair, mirrored
        np.testing.assert_allclose(_bright_box(b), b["search_box"].numpy(), atol=2 / 64)
        x, y, w, h = a["search_box"].numpy()
        np.testing.assert_allclose(b["search_box"].numpy(), [1 - x - w, y, w, h], atol=1e-6)


def test_heatmap_peak_sits_at_the_search_box_centre() -> None:
    spec = ProcessingSpec.from_model_config(MICRO)
    ds = PairDataset([[moving_square()]], spec, PairConfig(flip_p=0.5, grayscale_p=0.0, brightness_jitter=0.0),
                     seed=2)
    feat = spec.feat_size
    for i in range(6):
        sample = ds[i]
        x, y, w, h = sample["search_box"].numpy() * feat
        iy, ix = np.unravel_index(int(sample["heatmap"][0].argmax()), (feat, feat))
        assert float(sample["heatmap"][0, iy, ix]) == 1.0
        assert (ix, iy) == (int(round(x + w / 2)), int(round(y + h / 2)))
        np.testing.assert_allclose(_bright_box(sample), sample["search_box"].numpy(), atol=2 / 64)
