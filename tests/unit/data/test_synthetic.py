from __future__ import annotations

import numpy as np
import pytest

from edgetrack.data.synthetic import (
    TEST_SEED_BASE,
    _Scene,
    _settle_first_frame,
    static_baseline,
    synthetic_sequence,
    synthetic_split,
)
from edgetrack.errors import DataError


def test_same_seed_same_sequence_other_seed_differs() -> None:
    a, b, c = synthetic_sequence(3, 20), synthetic_sequence(3, 20), synthetic_sequence(4, 20)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    assert all(np.array_equal(a.frame(i), b.frame(i)) for i in (0, 7, 19))
    assert not np.array_equal(a.frame(5), c.frame(5))


def test_frames_shapes_and_boxes_inside_where_visible() -> None:
    seq = synthetic_sequence(11, 40, size=(120, 160))
    frame = seq.frame(0)
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    vis = seq.visible
    assert vis[0] and np.isfinite(seq.boxes[vis]).all() and np.isnan(seq.boxes[~vis]).all()
    b = seq.boxes[vis]
    assert (b[:, 0] >= 0).all() and (b[:, 1] >= 0).all()
    assert (b[:, 0] + b[:, 2] <= 160 + 1e-9).all() and (b[:, 1] + b[:, 3] <= 120 + 1e-9).all()


def test_target_is_drawn_inside_its_box() -> None:
    scene = _Scene(5, 10, (240, 320))
    _settle_first_frame(scene)
    seq = synthetic_sequence(5, 10)
    with_target, fraction, _ = scene.render(0)
    without, _, _ = scene.render(0, with_target=False)
    assert fraction > 0.99 and np.array_equal(with_target, seq.frame(0))
    changed = np.abs(with_target.astype(int) - without).sum(axis=2) > 0
    x, y, w, h = seq.boxes[0]
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 0.3 * w * h  # the target is really there
    assert xs.min() >= x - 1 and xs.max() <= x + w + 1 and ys.min() >= y - 1 and ys.max() <= y + h + 1


def test_test_split_is_fixed_and_disjoint_from_train() -> None:
    test = synthetic_split("synthetic-test")
    assert len(test) == 50 and {len(s) for s in test} == {150}
    train = synthetic_split("synthetic-train", num_sequences=5, length=10)
    assert len(train) == 5 and {len(s) for s in train} == {10}
    assert not {s.name for s in test} & {s.name for s in train}
    assert test[0].name == f"synth-{TEST_SEED_BASE:07d}"
    # the benchmark must contain hard cases
    assert sum(bool(s.attributes["occlusion"]) for s in test) >= 5
    assert sum(bool(s.attributes["out_of_view"]) for s in test) >= 3
    assert np.mean([(~s.visible).mean() for s in test]) > 0.05


def test_static_baseline_repeats_first_box() -> None:
    seq = synthetic_sequence(2, 15)
    base = static_baseline(seq)
    assert base.shape == (15, 4) and (base == seq.boxes[0]).all()


def test_unknown_split_suggests() -> None:
    with pytest.raises(DataError, match="Did you mean 'synthetic-test'"):
        synthetic_split("synthetic-tset")
