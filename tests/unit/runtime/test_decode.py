"""The numpy reference decode: Hann window, windowed argmax, raw score, box from offset and size maps."""

from __future__ import annotations

import numpy as np
import pytest

from edgetrack.errors import TrackingError
from edgetrack.runtime.decode import decode, hann2d


def maps(n: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.full((1, 1, n, n), 0.1, np.float32), np.full((1, 2, n, n), 0.5, np.float32),
            np.zeros((1, 2, n, n), np.float32))


def test_hann_n3_by_hand() -> None:
    # k = 1, 2, 3 over n + 1 = 4: 0.5 * (1 - cos(pi/2, pi, 3pi/2)) = 0.5, 1, 0.5
    np.testing.assert_allclose(hann2d(3), np.outer([0.5, 1.0, 0.5], [0.5, 1.0, 0.5]), atol=1e-7)


def test_hann_is_symmetric_and_positive() -> None:
    w = hann2d(16)
    assert w.shape == (16, 16) and w.min() > 0 and w.max() <= 1
    np.testing.assert_allclose(w, w[::-1, ::-1], atol=1e-7)
    np.testing.assert_allclose(w, w.T, atol=0)


def test_window_moves_the_peak_and_score_is_raw() -> None:
    score, size, offset = maps(3)
    score[0, 0, 0, 0] = 0.9  # windowed: 0.9 * 0.25 = 0.225
    score[0, 0, 1, 2] = 0.6  # windowed: 0.6 * 0.5 = 0.3 -> wins
    _, s, idx = decode(score, size, offset, hann2d(3))
    assert idx == (1, 2) and s == pytest.approx(0.6)
    _, s, idx = decode(score, size, offset)  # no window: the raw maximum
    assert idx == (0, 0) and s == pytest.approx(0.9)


def test_box_from_offset_and_size_by_hand() -> None:
    score, size, offset = maps(4)
    score[0, 0, 2, 1] = 0.8  # iy = 2, ix = 1
    offset[0, :, 2, 1] = (0.25, 0.75)
    size[0, :, 2, 1] = (0.3, 0.4)
    box, _, idx = decode(score, size, offset)
    assert idx == (2, 1)
    np.testing.assert_allclose(box, [(1 + 0.25) / 4, (2 + 0.75) / 4, 0.3, 0.4])


def test_rectangular_maps_use_their_own_width_and_height() -> None:
    score = np.zeros((2, 5), np.float32)
    score[1, 4] = 1.0
    offset = np.full((2, 2, 5), 0.5, np.float32)
    box, _, _ = decode(score, np.ones((2, 2, 5), np.float32), offset)
    np.testing.assert_allclose(box[:2], [4.5 / 5, 1.5 / 2])


def test_squeezed_and_batched_maps_agree() -> None:
    score, size, offset = maps(4)
    score[0, 0, 3, 0] = 0.7
    a = decode(score, size, offset)
    b = decode(score[0, 0], size[0], offset[0])
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]


def test_bad_maps_are_refused() -> None:
    score, size, offset = maps(4)
    with pytest.raises(TrackingError, match="size_map"):
        decode(score, size[:, :1], offset)
    with pytest.raises(TrackingError, match="window"):
        decode(score, size, offset, hann2d(5))
    with pytest.raises(TrackingError, match="score_map"):
        decode(np.zeros((2, 1, 4, 4)), size, offset)  # batch of 2 is not one frame
    score[0, 0, 0, 0] = np.nan
    with pytest.raises(TrackingError, match="NaN"):
        decode(score, size, offset)
