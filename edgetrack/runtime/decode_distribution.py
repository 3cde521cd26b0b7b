"""Numpy decode of MixFormerV2's distribution head: softmax over bins, expectation per side, sigmoid score.

Each of the four sides (token order left, right, top, bottom) has logits over `bins` bins; bin i sits at i / bins
of the search crop, so a side's coordinate is sum_i p_i * i / bins. The box is (l, t, r, b) -> (cx, cy, w, h),
normalised to the search crop; there is no window. `edgetrack.runtime.decode_distribution_torch` is the torch twin.
"""

from __future__ import annotations

import numpy as np

from edgetrack.errors import TrackingError


def side_coordinates(side_logits: np.ndarray) -> np.ndarray:
    """(1, 4, bins) or (4, bins) logits -> (4,) expected coordinates l, r, t, b in [0, 1)."""
    logits = np.asarray(side_logits, dtype=np.float64)
    if logits.ndim == 3 and logits.shape[0] == 1:
        logits = logits[0]
    if logits.ndim != 2 or logits.shape[0] != 4 or logits.shape[1] < 2:
        raise TrackingError(f"side logits must be (1, 4, bins) for one frame; got shape {np.shape(side_logits)}")
    if not np.all(np.isfinite(logits)):
        raise TrackingError("the box head's logits have NaN or infinite values; the model or backend output is broken")
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))  # stable softmax
    prob = shifted / shifted.sum(axis=1, keepdims=True)
    bins = logits.shape[1]
    return prob @ (np.arange(bins, dtype=np.float64) / bins)


def decode_distribution(side_logits: np.ndarray, score_logit: np.ndarray) -> tuple[np.ndarray, float]:
    """One frame's head outputs -> (normalised (cx, cy, w, h), score in (0, 1))."""
    left, right, top, bottom = side_coordinates(side_logits)
    box = np.array([(left + right) / 2, (top + bottom) / 2, right - left, bottom - top])
    logit = np.asarray(score_logit, dtype=np.float64).reshape(-1)
    if logit.shape != (1,) or not np.isfinite(logit[0]):
        raise TrackingError(f"score logit must be one finite number per frame; got {np.asarray(score_logit)!r}")
    return box, float(1.0 / (1.0 + np.exp(-logit[0])))
