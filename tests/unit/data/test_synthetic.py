from __future__ import annotations

import numpy as np
import pytest

from edgetrack.data.sequence import Sequence
from edgetrack.data.synthetic import (
    MIN_VISIBLE,
    TEST_SEED_BASE,
    _Scene,
    _settle_first_frame,
    static_baseline,
    synthetic_sequence,
    synthetic_split,
)
from edgetrack.errors import DataError


@pytest.fixture(scope="module")
def test_split() -> list[Sequence]:
    return synthetic_split("synthetic-test")


def _scene(seed: int, length: int) -> _Scene:
    scene = _Scene(seed, length, (240, 320))
    _settle_first_frame(scene)  # as synthetic_sequence does, so frames match the sequence's
    return scene


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixel-inclusive IoU of (N, 4) x, y, w, h boxes."""
    iw = np.clip(np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    return inter / (a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter)


def test_same_seed_same_sequence_other_seed_differs() -> None:
    a, b, c = synthetic_sequence(3, 20), synthetic_sequence(3, 20), synthetic_sequence(4, 20)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    np.testing.assert_array_equal(a.visible, b.visible)
    assert all(np.array_equal(a.frame(i), b.frame(i)) for i in (0, 7, 19))
    assert not np.array_equal(a.frame(5), c.frame(5))
    assert not np.allclose(a.boxes[0], c.boxes[0])


def test_frames_shapes_and_boxes_inside_where_visible() -> None:
    seq = synthetic_sequence(11, 40, size=(120, 160))
    frame = seq.frame(0)
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8 and len(seq) == 40
    vis = seq.visible
    assert vis[0] and np.isfinite(seq.boxes[vis]).all() and np.isnan(seq.boxes[~vis]).all()
    b = seq.boxes[vis]
    assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all() and (b[:, 2:] >= 2).all()
    assert (b[:, 0] + b[:, 2] <= 160 + 1e-9).all() and (b[:, 1] + b[:, 3] <= 120 + 1e-9).all()


def test_target_is_drawn_inside_its_box() -> None:
    scene, seq = _scene(5, 10), synthetic_sequence(5, 10)
    with_target, fraction, _ = scene.render(0)
    without, _, _ = scene.render(0, with_target=False)
    assert fraction > 0.99 and np.array_equal(with_target, seq.frame(0))
    changed = np.abs(with_target.astype(int) - without).sum(axis=2) > 0
    x, y, w, h = seq.boxes[0]
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 0.3 * w * h  # the target is really there
    assert xs.min() >= x - 1 and xs.max() <= x + w + 1 and ys.min() >= y - 1 and ys.max() <= y + h + 1


def test_full_occlusion_really_hides_the_target(test_split: list[Sequence]) -> None:
    seq = next(s for s in test_split if s.attributes["full_occlusion"])
    scene = _scene(TEST_SEED_BASE + test_split.index(seq), 150)
    i = int(np.flatnonzero(~seq.visible & (scene.target.centres[:, 0] > 0) & (scene.target.centres[:, 0] < 320))[0])
    assert scene.fractions(i)[0] >= MIN_VISIBLE  # in view, so the occluder is what hides it
    with_target, _, _ = scene.render(i)
    without, _, _ = scene.render(i, with_target=False)
    w, h = scene.target.sizes[i]
    assert (np.abs(with_target.astype(int) - without).sum(axis=2) > 0).sum() < 0.1 * w * h


def test_test_split_is_fixed_and_disjoint_from_train(test_split: list[Sequence]) -> None:
    assert len(test_split) == 50 and {len(s) for s in test_split} == {150}
    train = synthetic_split("synthetic-train", num_sequences=5, length=10)
    assert len(train) == 5 and {len(s) for s in train} == {10}
    assert not {s.name for s in test_split} & {s.name for s in train}
    assert test_split[0].name == f"synth-{TEST_SEED_BASE:07d}"
    np.testing.assert_array_equal(test_split[3].boxes, synthetic_sequence(TEST_SEED_BASE + 3, 150).boxes)


def test_test_split_has_hard_cases(test_split: list[Sequence]) -> None:
    for flag, at_least in (("occlusion", 5), ("full_occlusion", 5), ("out_of_view", 5), ("illumination", 5),
                           ("motion_blur", 5), ("scale_change", 5), ("fast_motion", 5)):
        assert sum(bool(s.attributes[flag]) for s in test_split) >= at_least, flag
    assert all(1 <= s.attributes["num_distractors"] <= 3 for s in test_split)
    assert np.mean([(~s.visible).mean() for s in test_split]) > 0.05


def test_visibility_flags_agree_with_ground_truth(test_split: list[Sequence]) -> None:
    for seq in test_split:
        fraction = seq.attributes["visible_fraction"]
        np.testing.assert_array_equal(seq.visible, fraction >= MIN_VISIBLE)  # no box is too thin here
        assert fraction[0] > 0.99  # the first frame shows the whole target
        if (~seq.visible).any():
            assert seq.attributes["full_occlusion"] or seq.attributes["out_of_view"], seq.name
        else:
            assert not seq.attributes["full_occlusion"] and not seq.attributes["out_of_view"], seq.name


def test_targets_start_trackable_and_travel(test_split: list[Sequence]) -> None:
    sides = np.array([s.boxes[0, 2:] for s in test_split])
    assert (sides >= 15).all() and (sides <= 110).all() and 25 <= np.median(sides) <= 60
    travel, overlap = [], []
    for seq in test_split:
        boxes = seq.boxes[seq.visible]
        centres = boxes[:, :2] + boxes[:, 2:] / 2
        travel.append(np.linalg.norm(centres - centres[0], axis=1).max() / np.hypot(*boxes[0, 2:]))
        overlap.append(_iou(static_baseline(seq)[seq.visible], boxes).mean())
    assert min(travel) > 0.5 and np.median(travel) > 1.5  # measured in initial box diagonals
    assert np.mean(overlap) < 0.25  # a box left where it started rarely overlaps the target


def test_static_baseline_repeats_first_box() -> None:
    seq = synthetic_sequence(2, 15)
    base = static_baseline(seq)
    assert base.shape == (15, 4) and (base == seq.boxes[0]).all()


def test_unknown_split_suggests() -> None:
    with pytest.raises(DataError, match="Did you mean 'synthetic-test'"):
        synthetic_split("synthetic-tset")


def test_split_sizes_are_checked() -> None:
    with pytest.raises(DataError, match="synthetic-test is fixed"):
        synthetic_split("synthetic-test", length=20)
    with pytest.raises(DataError, match="not 0"):
        synthetic_split("synthetic-train", num_sequences=0)
    with pytest.raises(DataError, match="at least 2 frames"):
        synthetic_sequence(0, 1)
